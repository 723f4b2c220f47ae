/*
 * line.h - bounded, strict CRLF line finder (STYLE.md pattern B).
 */
#ifndef POSTERN_LINE_H
#define POSTERN_LINE_H

#include <stddef.h>

enum line_result {
	LINE_MORE,	/* no complete line yet, still under the limit */
	LINE_OK,	/* *len bytes of text; drop *used bytes from the buffer */
	LINE_TOO_LONG,	/* limit reached and no CRLF in sight */
	LINE_BARE_LF,	/* LF not preceded by CR; *used covers through the LF */
	LINE_BARE_CR,	/* CR inside the line, not part of CRLF; *used as above */
	LINE_NUL,	/* NUL byte inside the line; *used as above */
};

/*
 * line_find - find one CRLF-terminated line at the start of buf.
 * max is the longest text accepted, not counting CRLF.  For LINE_OK,
 * LINE_BARE_LF, LINE_BARE_CR and LINE_NUL, *len is the length of the text
 * before the line end (CRLF or LF) and *used the bytes through the LF.
 */
enum line_result line_find(const char *buf, size_t avail, size_t max,
	    size_t *len, size_t *used);

#endif
