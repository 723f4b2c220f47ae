/*
 * line.c - bounded, strict CRLF line finder (STYLE.md pattern B).
 *
 * Pure: no allocation, no I/O, no globals; used by every process that
 * reads a line protocol (the smtp session, IPC-free readers, tests).
 * The search window is never more than max + 2 bytes, so a peer that
 * never sends LF costs a bounded scan per call.  Only CRLF ends a line
 * (RFC 5321 2.3.8); a bare LF, a bare CR or a NUL inside the line is
 * reported, with the line's extent, so the caller can skip it and stay
 * in step.  It never reports such a line as LINE_OK.
 */
#include <stdint.h>
#include <string.h>

#include "line.h"

/*
 * line_find - find one CRLF-terminated line at the start of buf.
 * max is the longest text accepted, not counting CRLF.
 */
enum line_result
line_find(const char *buf, size_t avail, size_t max, size_t *len,
    size_t *used)
{
	size_t		 limit, window, end, text;
	const char	*lf;

	limit = max > SIZE_MAX - 2 ? SIZE_MAX : max + 2;
	window = avail < limit ? avail : limit;
	if (window == 0)
		return LINE_MORE;
	if ((lf = memchr(buf, '\n', window)) == NULL)
		return avail >= limit ? LINE_TOO_LONG : LINE_MORE;
	end = (size_t)(lf - buf);
	*used = end + 1;
	if (end == 0 || buf[end - 1] != '\r') {
		*len = end;
		return LINE_BARE_LF;
	}
	text = end - 1;
	*len = text;
	if (memchr(buf, '\r', text) != NULL)
		return LINE_BARE_CR;
	if (memchr(buf, '\0', text) != NULL)
		return LINE_NUL;
	return LINE_OK;
}
