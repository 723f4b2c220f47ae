/*
 * dkim_hdr.c - DKIM's header side, RFC 6376 3.7 and 5.4.
 *
 * Pure and shared by signer and verifier; used on received messages, so
 * every loop is bounded by the input and the caller's field array, and
 * the output goes into a capped buf.  Field names are compared in ASCII
 * case-insensitively (5.4.2), selected from the bottom of the header up.
 */
#include <string.h>
#include <strings.h>

#include "bounds.h"
#include "mauth/dkim_hdr.h"
#include "mauth/dkim_tag.h"

/* the fields signed when present (RFC 6376 5.4.1's list, shortened) */
static const char *const signed_names[] = {
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "List-Unsubscribe",
	"List-Unsubscribe-Post",
};

/* dkim_fields_split - fields up to the empty line; each with its folds */
int
dkim_fields_split(const char *msg, size_t len, struct dkim_field *v,
    size_t max, size_t *n, size_t *hlen, struct err *e)
{
	const char	*lf, *colon;
	size_t		 i = 0, k = 0, end;

	while (i < len) {
		lf = memchr(msg + i, '\n', len - i);
		end = lf == NULL ? len : (size_t)(lf - msg) + 1;
		if (end - i <= 2 && (msg[i] == '\n' || (msg[i] == '\r' &&
		    end - i == 2)))
			break;			/* the empty line */
		if (msg[i] == ' ' || msg[i] == '\t') {
			if (k == 0)
				return err_set(e, false, 0, "header starts "
				    "with a continuation line");
			v[k - 1].len = end - (size_t)(v[k - 1].p - msg);
		} else {
			colon = memchr(msg + i, ':', end - i);
			if (colon == NULL)
				return err_set(e, false, 0, "header line "
				    "without a colon");
			if (k == max)
				return err_set(e, false, 0, "more than %zu "
				    "header fields", max);
			v[k].p = msg + i;
			v[k].len = end - i;
			v[k].namelen = (size_t)(colon - (msg + i));
			while (v[k].namelen > 0 &&
			    (v[k].p[v[k].namelen - 1] == ' ' ||
			    v[k].p[v[k].namelen - 1] == '\t'))
				v[k].namelen--;
			k++;
		}
		i = end;
	}
	*n = k;
	*hlen = i;
	return 0;
}

/* dkim_field_is - compare names, ASCII case-insensitively */
bool
dkim_field_is(const struct dkim_field *f, const char *name)
{
	size_t	n = strlen(name);

	return f->namelen == n && strncasecmp(f->p, name, n) == 0;
}

/* append_field - one field canonicalised onto out */
static int
append_field(enum dkim_canon c, const char *p, size_t len, struct buf *out,
    bool crlf, struct err *e)
{
	char	*w;
	size_t	 n;

	if ((w = buf_reserve(out, len + 3)) == NULL)
		return err_set(e, false, 0, "header block too large");
	if ((n = dkim_header_canon(c, p, len, w, len + 3)) == 0)
		return err_set(e, false, 0, "header field without a colon");
	buf_commit(out, crlf ? n : n - 2);
	return 0;
}

/* dkim_header_block - the hashed header fields, in h= order */
int
dkim_header_block(enum dkim_canon c, const struct dkim_field *v, size_t n,
    const char *hl, size_t hllen, struct buf *out, struct err *e)
{
	unsigned char	 used[(LIM_DKIM_FIELDS + 7) / 8];
	size_t		 i = 0, j, s, nl;

	if (n > LIM_DKIM_FIELDS)
		return err_set(e, false, 0, "more than %d header fields",
		    LIM_DKIM_FIELDS);
	memset(used, 0, sizeof(used));
	while (i < hllen) {
		while (i < hllen && (hl[i] == ' ' || hl[i] == '\t' ||
		    hl[i] == '\r' || hl[i] == '\n'))
			i++;
		s = i;
		while (i < hllen && hl[i] != ':')
			i++;
		nl = i - s;
		while (nl > 0 && (hl[s + nl - 1] == ' ' ||
		    hl[s + nl - 1] == '\t' || hl[s + nl - 1] == '\r' ||
		    hl[s + nl - 1] == '\n'))
			nl--;
		if (i < hllen)
			i++;	/* ':' */
		if (nl == 0)
			return err_set(e, false, 0, "h= has an empty name");
		for (j = n; j-- > 0;)
			if ((used[j / 8] & (1u << (j % 8))) == 0 &&
			    v[j].namelen == nl &&
			    strncasecmp(v[j].p, hl + s, nl) == 0)
				break;
		if (j == (size_t)-1)
			continue;		/* none left: oversigned */
		used[j / 8] |= (unsigned char)(1u << (j % 8));
		if (append_field(c, v[j].p, v[j].len, out, true, e) == -1)
			return -1;
	}
	return 0;
}

/* dkim_sig_append - the signature field itself, b= emptied, no CRLF */
int
dkim_sig_append(enum dkim_canon c, const char *f, size_t len,
    struct buf *out, struct err *e)
{
	struct dkim_tags	 t;
	const struct dkim_tag	*b;
	const char		*colon, *vs, *ve;
	char			 tmp[LIM_DKIM_SIG_FIELD];
	size_t			 vlen, n;

	if (len >= 2 && f[len - 2] == '\r' && f[len - 1] == '\n')
		len -= 2;
	if ((colon = memchr(f, ':', len)) == NULL)
		return err_set(e, false, 0, "signature field without colon");
	vs = colon + 1;
	vlen = len - (size_t)(vs - f);
	if (dkim_tags_parse(vs, vlen, &t, e) == -1)
		return -1;
	if ((b = dkim_tags_get(&t, "b")) == NULL)
		return err_set(e, false, 0, "signature without b=");
	/* delete from after "b=" to the ';' that ends the tag, or the end */
	vs = (const char *)memchr(b->name, '=',
	    (size_t)(f + len - b->name)) + 1;
	ve = memchr(vs, ';', (size_t)(f + len - vs));
	if (ve == NULL)
		ve = f + len;
	n = (size_t)(vs - f);
	if (n + (size_t)(f + len - ve) > sizeof(tmp))
		return err_set(e, false, 0, "signature field too long");
	memcpy(tmp, f, n);
	memcpy(tmp + n, ve, (size_t)(f + len - ve));
	n += (size_t)(f + len - ve);
	return append_field(c, tmp, n, out, false, e);
}

/* dkim_sign_hlist - every signed name present, once more than present */
int
dkim_sign_hlist(const struct dkim_field *v, size_t n, struct buf *out)
{
	size_t	i, j, k, count;
	bool	first = true;

	for (i = 0; i < sizeof(signed_names) / sizeof(signed_names[0]); i++) {
		for (count = 0, j = 0; j < n; j++)
			if (dkim_field_is(&v[j], signed_names[i]))
				count++;
		if (count == 0 && i > 0)
			continue;
		for (k = 0; k <= count; k++) {
			if (buf_printf(out, "%s%s", first ? "" : ":",
			    signed_names[i]) == -1)
				return -1;
			first = false;
		}
	}
	return 0;
}
