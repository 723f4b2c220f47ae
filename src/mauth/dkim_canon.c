/*
 * dkim_canon.c - DKIM canonicalisation, RFC 6376 3.4.
 *
 * Pure code shared by the signer and the verifier: it never sees a key,
 * does no I/O and allocates nothing.  The body is canonicalised as a
 * stream (any chunking gives the same bytes), so a message is read once
 * and never held whole: trailing empty lines are counted, not stored,
 * and a relaxed whitespace run is one flag.  Canonical bytes leave in
 * chunks of DKIM_BODY_BUF through the caller's emit function, cut at the
 * l= limit when there is one (3.5 "l=": the count is of canonical bytes).
 *
 * Bodies come in SMTP form (CRLF line ends); a CR or LF that is not part
 * of a CRLF is an ordinary byte here, as it is for every other signer
 * that follows the RFC's grammar.
 */
#include <string.h>

#include "dkim_canon.h"

/* body_flush - hand the gathered bytes to emit, cut at the limit */
static void
body_flush(struct dkim_body *b)
{
	uint64_t	start = b->length - b->nbuf, n = b->nbuf;

	if (b->nbuf == 0)
		return;
	if (start < b->limit) {
		if (b->limit - start < n)
			n = b->limit - start;
		b->emit(b->arg, b->buf, (size_t)n);
	}
	b->nbuf = 0;
}

/* body_put - one canonical byte out */
static inline void
body_put(struct dkim_body *b, unsigned char c)
{
	if (b->nbuf == sizeof(b->buf))
		body_flush(b);
	b->buf[b->nbuf++] = c;
	b->length++;
}

/* body_content - a content byte: held line ends and space go first */
static inline void
body_content(struct dkim_body *b, unsigned char c)
{
	for (; b->crlfs > 0; b->crlfs--) {
		body_put(b, '\r');
		body_put(b, '\n');
	}
	if (b->wsp) {
		body_put(b, ' ');
		b->wsp = false;
	}
	body_put(b, c);
	b->line = b->any = true;
}

/* dkim_body_init - an empty body of this canonicalisation */
void
dkim_body_init(struct dkim_body *b, enum dkim_canon canon, uint64_t limit,
    dkim_emit_fn *emit, void *arg)
{
	memset(b, 0, sizeof(*b));
	b->canon = canon;
	b->limit = limit;
	b->emit = emit;
	b->arg = arg;
}

/*
 * dkim_body_update - 3.4.3 simple: only trailing empty lines go;
 * 3.4.4 relaxed: also whitespace at line ends, and runs of it as one SP
 */
void
dkim_body_update(struct dkim_body *b, const void *data, size_t len)
{
	const unsigned char	*p = data;
	bool			 relaxed = b->canon == DKIM_CANON_RELAXED;
	size_t			 i;

	for (i = 0; i < len; i++) {
		unsigned char	c = p[i];

		if (b->cr) {
			b->cr = false;
			if (c == '\n') {	/* a line ends */
				b->wsp = false;
				b->line = false;
				b->crlfs++;
				continue;
			}
			body_content(b, '\r');
		}
		if (c == '\r')
			b->cr = true;
		else if (relaxed && (c == ' ' || c == '\t'))
			b->wsp = true;
		else
			body_content(b, c);
	}
}

/* dkim_body_final - the last line terminated, the empty tail dropped */
uint64_t
dkim_body_final(struct dkim_body *b)
{
	if (b->cr) {
		b->cr = false;
		body_content(b, '\r');
	}
	b->wsp = false;
	/*
	 * Content: one CRLF ends the last line (added if it had none).
	 * None: simple makes the body one CRLF, relaxed leaves it empty
	 * (3.4.3, 3.4.4 and erratum 1384 to RFC 4871).
	 */
	if (b->any || b->canon == DKIM_CANON_SIMPLE) {
		body_put(b, '\r');
		body_put(b, '\n');
	}
	b->crlfs = 0;
	body_flush(b);
	return b->length;
}

/*
 * dkim_header_canon - 3.4.1 simple: unchanged; 3.4.2 relaxed: name in
 * lower case, unfolded, whitespace runs as one SP, none at the end of the
 * value, none around the colon
 */
size_t
dkim_header_canon(enum dkim_canon canon, const char *f, size_t len,
    char *out, size_t outsz)
{
	const char	*colon;
	size_t		 i, n = 0, end;
	bool		 wsp = false, any = false;

	if (len >= 2 && f[len - 2] == '\r' && f[len - 1] == '\n')
		len -= 2;
	if (outsz < len + 3 ||
	    (colon = memchr(f, ':', len)) == NULL)
		return 0;
	if (canon == DKIM_CANON_SIMPLE) {
		memcpy(out, f, len);
		n = len;
		goto crlf;
	}
	end = (size_t)(colon - f);
	while (end > 0 && (f[end - 1] == ' ' || f[end - 1] == '\t'))
		end--;
	for (i = 0; i < end; i++)
		out[n++] = (f[i] >= 'A' && f[i] <= 'Z') ?
		    (char)(f[i] - 'A' + 'a') : f[i];
	out[n++] = ':';
	for (i = (size_t)(colon - f) + 1; i < len; i++) {
		/* unfold: a CRLF goes, a lone CR or LF is content */
		if ((f[i] == '\r' && i + 1 < len && f[i + 1] == '\n') ||
		    (f[i] == '\n' && i > 0 && f[i - 1] == '\r'))
			continue;
		if (f[i] == ' ' || f[i] == '\t') {
			wsp = true;
			continue;
		}
		if (wsp && any)
			out[n++] = ' ';
		wsp = false;
		any = true;
		out[n++] = f[i];
	}
crlf:
	out[n++] = '\r';
	out[n++] = '\n';
	out[n] = '\0';
	return n;
}
