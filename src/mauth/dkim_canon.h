/*
 * dkim_canon.h - DKIM canonicalisation (RFC 6376 3.4): header fields one
 * at a time, the body as a stream.  Pure: no I/O, no allocation.
 */
#ifndef POSTERN_DKIM_CANON_H
#define POSTERN_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dkim_canon {
	DKIM_CANON_SIMPLE,
	DKIM_CANON_RELAXED,
};

#define DKIM_BODY_BUF	4096	/* canonical bytes gathered per emit */

/* where canonical body bytes go (a digest update, usually) */
typedef void	 dkim_emit_fn(void *arg, const void *, size_t);

struct dkim_body {
	enum dkim_canon	 canon;
	dkim_emit_fn	*emit;
	void		*arg;
	uint64_t	 limit;		/* bytes passed to emit at most (l=) */
	uint64_t	 length;	/* canonical bytes so far, uncut */
	size_t		 crlfs;		/* line ends held back */
	bool		 wsp;		/* relaxed: a whitespace run held back */
	bool		 cr;		/* a CR held back: CRLF or content? */
	bool		 any;		/* some line had content */
	bool		 line;		/* the current line has content */
	size_t		 nbuf;
	unsigned char	 buf[DKIM_BODY_BUF];
};

/*
 * dkim_body_init - start a body; limit is UINT64_MAX for the whole body,
 * or the l= value: emit then sees only the first limit bytes
 */
void	dkim_body_init(struct dkim_body *, enum dkim_canon, uint64_t limit,
	    dkim_emit_fn *, void *arg);
/* dkim_body_update - the next len bytes of the body as it travels (CRLF) */
void	dkim_body_update(struct dkim_body *, const void *, size_t);
/*
 * dkim_body_final - end of body: trailing empty lines dropped, the last
 * line terminated; returns the canonical length (before any limit cut)
 */
uint64_t dkim_body_final(struct dkim_body *);

/*
 * dkim_header_canon - one header field, name to the end of its last line
 * (the final CRLF optional), into out: "name:value\r\n" (relaxed) or the
 * field as it is with its CRLF (simple).  out needs len + 3 bytes;
 * returns the length written (NUL-terminated), or 0 if out is too small
 * or the field has no colon.
 */
size_t	dkim_header_canon(enum dkim_canon, const char *field, size_t len,
	    char *out, size_t outsz);

#endif
