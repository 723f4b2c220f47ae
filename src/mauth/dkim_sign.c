/*
 * dkim_sign.c - the signer's side of RFC 6376 5.4-5.6, without the key.
 *
 * Pure: the process holding keys signs the 32-byte digest this module
 * computes and hands back the signature, which dkim_sign_finish() puts
 * after "b=".  Always relaxed/relaxed (what survives forwarding and list
 * footers best), h= oversigned (dkim_sign_hlist), no l= (a length limit
 * lets anyone append content).  The field is folded at most 78 columns
 * wide with CRLF TAB; with relaxed header canonicalisation the folding is
 * not part of what is signed.
 */
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"
#include "bounds.h"
#include "mauth/dkim_hdr.h"
#include "mauth/dkim_sign.h"

#define FOLD_AT	76	/* fold before a word would pass this column */

/* col - the column the field's last line has reached */
static size_t
col(const struct buf *b)
{
	const char	*p = buf_ptr(b), *nl;
	size_t		 n = buf_avail(b);

	for (nl = p + n; nl > p && nl[-1] != '\n'; nl--)
		;
	return (size_t)(p + n - nl);
}

/* word - append w, folding first if it would pass FOLD_AT */
static int
word(struct buf *b, const char *w, size_t n, const char *sep)
{
	if (col(b) + strlen(sep) + n > FOLD_AT && col(b) > 1)
		return buf_printf(b, "\r\n\t%.*s", (int)n, w);
	return buf_printf(b, "%s%.*s", sep, (int)n, w);
}

/* dkim_sign_prepare - the field up to b= and the digest to sign */
int
dkim_sign_prepare(const char *hdr, size_t hlen,
    const struct dkim_sign_req *r, struct buf *field, unsigned char *digest,
    struct err *e)
{
	struct dkim_field v[LIM_DKIM_FIELDS];
	struct buf	 hl, blk;
	char		 tag[LIM_DOMAIN + 8];
	const char	*p, *c;
	size_t		 n, used, wl;
	unsigned int	 mdlen;
	int		 rc = -1;

	buf_init(&hl, LIM_DKIM_SIG_FIELD);
	buf_init(&blk, LIM_HEADER_BYTES + LIM_DKIM_SIG_FIELD);
	if (dkim_fields_split(hdr, hlen, v, LIM_DKIM_FIELDS, &n, &used,
	    e) == -1)
		goto out;
	if (dkim_sign_hlist(v, n, &hl) == -1 || buf_add(&hl, "", 1) == -1) {
		err_set(e, false, 0, "h= too long");
		goto out;
	}
	if (buf_printf(field, "DKIM-Signature: v=1; a=%s; c=relaxed/relaxed;",
	    r->alg == DKIM_ALG_ED25519_SHA256 ? "ed25519-sha256" :
	    "rsa-sha256") == -1)
		goto toolong;
	(void)snprintf(tag, sizeof(tag), "d=%s;", r->d);
	if (word(field, tag, strlen(tag), " ") == -1)
		goto toolong;
	(void)snprintf(tag, sizeof(tag), "s=%s;", r->s);
	if (word(field, tag, strlen(tag), " ") == -1)
		goto toolong;
	(void)snprintf(tag, sizeof(tag), "t=%llu;", (unsigned long long)r->t);
	if (word(field, tag, strlen(tag), " ") == -1)
		goto toolong;
	/* h=: the names one word each, folding between them */
	for (p = buf_ptr(&hl), c = "h="; *p != '\0'; c = ":") {
		wl = strcspn(p, ":");
		(void)snprintf(tag, sizeof(tag), "%s%.*s%s", c, (int)wl, p,
		    p[wl] == '\0' ? ";" : "");
		if (word(field, tag, strlen(tag), c[0] == 'h' ? " " : "") ==
		    -1)
			goto toolong;
		p += wl + (p[wl] == ':');
	}
	if (buf_printf(field, "\r\n\tbh=%s;\r\n\tb=", r->bh) == -1)
		goto toolong;
	if (dkim_header_block(DKIM_CANON_RELAXED, v, n, buf_ptr(&hl),
	    strlen(buf_ptr(&hl)), &blk, e) == -1)
		goto out;
	if (dkim_sig_append(DKIM_CANON_RELAXED, buf_ptr(field),
	    buf_avail(field), &blk, e) == -1)
		goto out;
	if (EVP_Digest(buf_ptr(&blk), buf_avail(&blk), digest, &mdlen,
	    EVP_sha256(), NULL) != 1) {
		err_set(e, true, 0, "SHA-256 failed");
		goto out;
	}
	rc = 0;
	goto out;
toolong:
	err_set(e, false, 0, "signature field too long");
out:
	buf_release(&hl);
	buf_release(&blk);
	return rc;
}

/* dkim_sign_finish - b= in lines of at most FOLD_AT columns */
int
dkim_sign_finish(struct buf *field, const unsigned char *sig, size_t siglen,
    struct err *e)
{
	char	b64[DKIM_B64_MAX];
	size_t	i, n, len;

	if (b64_encode(sig, siglen, b64, sizeof(b64)) == -1)
		return err_set(e, false, 0, "signature too long");
	len = strlen(b64);
	for (i = 0; i < len; i += n) {
		n = FOLD_AT - col(field);
		if (n > len - i)
			n = len - i;
		if (n == 0) {
			if (buf_addstr(field, "\r\n\t ") == -1)
				return err_set(e, false, 0, "field too long");
			continue;
		}
		if (buf_add(field, b64 + i, n) == -1)
			return err_set(e, false, 0, "field too long");
	}
	if (buf_addstr(field, "\r\n") == -1)
		return err_set(e, false, 0, "field too long");
	return 0;
}
