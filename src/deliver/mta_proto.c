/*
 * mta_proto.c - pure helpers of the outbound SMTP client: reply lines in,
 * structured replies out; EHLO keywords; enhanced status codes; the
 * dot-stuffing of the body.
 *
 * Runs in the deliver process on bytes from remote hosts (hostile): every
 * function is bounded by its input length and its fixed-size output, and
 * never allocates.  Limits: MTA_REPLY_LINE_MAX per line (the caller's
 * line finder), MTA_REPLY_TEXT_MAX kept per reply, MTA_REPLY_MAX_LINES
 * lines per reply.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "deliver/mta_proto.h"

/* mta_reply_init - empty reply */
void
mta_reply_init(struct mta_reply *r)
{
	r->code = 0;
	r->nlines = 0;
	r->esc[0] = '\0';
	r->first[0] = '\0';
	r->text[0] = '\0';
	r->textlen = 0;
}

/* copy_text - append up to n bytes to dst (size dsz), keep it terminated */
static size_t
copy_text(char *dst, size_t dlen, size_t dsz, const char *src, size_t n)
{
	if (dlen + 1 >= dsz)
		return dlen;
	if (n > dsz - 1 - dlen)
		n = dsz - 1 - dlen;
	memcpy(dst + dlen, src, n);
	dst[dlen + n] = '\0';
	return dlen + n;
}

/* mta_reply_add - one line of a (possibly multi-line) reply */
enum mta_reply_status
mta_reply_add(struct mta_reply *r, const char *line, size_t len)
{
	int		 code;
	bool		 last;
	const char	*text;
	size_t		 tlen;

	if (len < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return MR_BAD;
	if (line[0] < '2' || line[0] > '5' || line[1] > '5')
		return MR_BAD;
	if (memchr(line, '\0', len) != NULL)
		return MR_BAD;		/* the kept text is a C string */
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (len == 3)
		last = true;
	else if (line[3] == ' ')
		last = true;
	else if (line[3] == '-')
		last = false;
	else
		return MR_BAD;
	if (r->nlines > 0 && code != r->code)
		return MR_BAD;
	if (r->nlines >= MTA_REPLY_MAX_LINES)
		return MR_BAD;
	text = len > 4 ? line + 4 : "";
	tlen = len > 4 ? len - 4 : 0;
	if (r->nlines == 0) {
		r->code = code;
		(void)copy_text(r->first, 0, sizeof(r->first), text, tlen);
		if (mta_esc_parse(text, tlen, line[0], r->esc) == -1)
			r->esc[0] = '\0';
	} else
		r->textlen = copy_text(r->text, r->textlen, sizeof(r->text),
		    "\n", 1);
	r->textlen = copy_text(r->text, r->textlen, sizeof(r->text), text,
	    tlen);
	r->nlines++;
	return last ? MR_DONE : MR_MORE;
}

/* mta_reply_line - "CODE text" of the first line, printable */
void
mta_reply_line(const struct mta_reply *r, char *out, size_t outsz)
{
	size_t	i, n = 0;
	int	k;

	if (outsz == 0)
		return;
	k = r->nlines > 0 && r->first[0] != '\0' ? 4 : 3;
	if (r->nlines == 0 || outsz < 5) {
		out[0] = '\0';
		return;
	}
	out[0] = (char)('0' + r->code / 100);
	out[1] = (char)('0' + r->code / 10 % 10);
	out[2] = (char)('0' + r->code % 10);
	out[3] = ' ';
	n = (size_t)k;
	for (i = 0; r->first[i] != '\0' && n + 1 < outsz; i++) {
		unsigned char c = (unsigned char)r->first[i];

		out[n++] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ?
		    '?' : (char)c;
	}
	out[n] = '\0';
}

/* digits - count 1..3 digits at p (within n); 0 when none or more than 3 */
static size_t
digits(const char *p, size_t n)
{
	size_t	i = 0;

	while (i < n && i < 4 && isdigit((unsigned char)p[i]))
		i++;
	return i >= 1 && i <= 3 ? i : 0;
}

/* mta_esc_parse - "c.sss.ddd" at the start of text */
int
mta_esc_parse(const char *text, size_t len, char cls, char out[16])
{
	size_t	pos, d;

	if (len < 5 || text[0] != cls || text[1] != '.')
		return -1;
	pos = 2;
	if ((d = digits(text + pos, len - pos)) == 0)
		return -1;
	pos += d;
	if (pos >= len || text[pos] != '.')
		return -1;
	pos++;
	if ((d = digits(text + pos, len - pos)) == 0)
		return -1;
	pos += d;
	if (pos < len && text[pos] != ' ')
		return -1;
	memcpy(out, text, pos);		/* pos <= 9 */
	out[pos] = '\0';
	return 0;
}

/* keyword_is - does the line [p, p+n) start with keyword kw (then end/space) */
static bool
keyword_is(const char *p, size_t n, const char *kw, const char **param,
    size_t *plen)
{
	size_t	k = strlen(kw);

	if (n < k || strncasecmp(p, kw, k) != 0)
		return false;
	if (n > k && p[k] != ' ' && p[k] != '=')
		return false;
	*param = n > k ? p + k + 1 : p + n;
	*plen = n > k ? n - k - 1 : 0;
	return true;
}

/* parse_size - SIZE's parameter: decimal, may be empty or 0 (no limit) */
static uint64_t
parse_size(const char *p, size_t n)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < n && isdigit((unsigned char)p[i]); i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;	/* absurd: treat as no limit given */
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	return v;
}

/* mta_ehlo_parse - the extensions announced in an EHLO reply's text */
void
mta_ehlo_parse(const char *text, size_t len, struct mta_ext *x)
{
	static const struct {
		const char	*kw;
		unsigned	 flag;
	} kws[] = {
		{ "STARTTLS", MTA_EXT_STARTTLS },
		{ "SIZE", MTA_EXT_SIZE },
		{ "8BITMIME", MTA_EXT_8BITMIME },
		{ "SMTPUTF8", MTA_EXT_SMTPUTF8 },
		{ "PIPELINING", MTA_EXT_PIPELINING },
		{ "ENHANCEDSTATUSCODES", MTA_EXT_ENHSTATUS },
	};
	const char	*p = text, *end = text + len, *nl, *param;
	size_t		 n, plen, i;
	bool		 first = true;

	x->flags = 0;
	x->size_max = 0;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		/* the first line is the greeting ("host says hi"), not a key */
		if (!first) {
			for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
				if (!keyword_is(p, n, kws[i].kw, &param, &plen))
					continue;
				x->flags |= kws[i].flag;
				if (kws[i].flag == MTA_EXT_SIZE)
					x->size_max = parse_size(param, plen);
			}
		}
		first = false;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

/* mta_dot_init - a body about to start */
void
mta_dot_init(struct mta_dot *d)
{
	d->bol = true;
	d->last[0] = d->last[1] = '\0';
	d->total = 0;
}

/* dot_next - the first '.' in [q, end) that starts a line, or NULL; a
 * line starts after a LF, or at in itself if the state says so.  It
 * looks for dots, not line ends: a base64 part, the bulk of most large
 * messages, has none at all */
static const char *
dot_next(const struct mta_dot *d, const char *in, const char *q,
    const char *end)
{
	while ((q = memchr(q, '.', (size_t)(end - q))) != NULL) {
		if (q == in ? d->bol : q[-1] == '\n')
			return q;
		q++;
	}
	return NULL;
}

/* dot_seen - the state after n more input bytes (n > 0) */
static void
dot_seen(struct mta_dot *d, const char *in, size_t n)
{
	d->bol = in[n - 1] == '\n';
	d->last[0] = n >= 2 ? in[n - 2] : d->last[1];
	d->last[1] = in[n - 1];
	d->total += n;
}

/*
 * mta_dot_stuff - copy with a '.' added before each line's leading '.':
 * a run at a time between such dots (memchr, memcpy), the state kept
 * across calls
 */
size_t
mta_dot_stuff(struct mta_dot *d, const char *in, size_t n, char *out)
{
	const char	*p = in, *q = in, *end = in + n;
	size_t		 o = 0;

	if (n == 0)
		return 0;
	while ((q = dot_next(d, in, q, end)) != NULL) {
		memcpy(out + o, p, (size_t)(q - p));
		o += (size_t)(q - p);
		out[o++] = '.';
		p = q++;	/* the line's own dot goes with the next run */
	}
	memcpy(out + o, p, (size_t)(end - p));
	o += (size_t)(end - p);
	dot_seen(d, in, n);
	return o;
}

/* mta_dot_clean - how many bytes at the start of p need no stuffing (up
 * to the first '.' that starts a line); the state moves past them */
size_t
mta_dot_clean(struct mta_dot *d, const char *p, size_t n)
{
	const char	*q;
	size_t		 c;

	if (n == 0)
		return 0;
	q = dot_next(d, p, p, p + n);
	c = q != NULL ? (size_t)(q - p) : n;
	if (c > 0)
		dot_seen(d, p, c);
	return c;
}

/* mta_dot_end - CRLF if the body lacks a final one, then ".\r\n" */
size_t
mta_dot_end(const struct mta_dot *d, char *out)
{
	size_t	o = 0;

	if (d->total > 0 && !(d->total >= 2 && d->last[0] == '\r' &&
	    d->last[1] == '\n')) {
		if (d->last[1] != '\r')
			out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o++] = '.';
	out[o++] = '\r';
	out[o++] = '\n';
	return o;
}
