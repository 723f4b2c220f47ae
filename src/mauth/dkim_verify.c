/*
 * dkim_verify.c - DKIM verification's message side, RFC 6376 6.1.
 *
 * Runs where the message streams (the session), on hostile input, with
 * no DNS and no key: each DKIM-Signature field of the header (the first
 * DKIM_VERIFY_MAX from the top, 6.1's "MAY limit") is parsed and checked
 * (dkim_sig.c), its canonical header block hashed at once (the header is
 * whole before the body starts), and its body hashed as the body passes,
 * each signature with its own canonicalisation and l=.  What comes out
 * is small and fixed per signature (d, s, a, the digest, b=, whether the
 * body hash matched), which is all the key check needs.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "bounds.h"
#include "buf.h"
#include "mauth/dkim_hdr.h"
#include "mauth/dkim_verify.h"

/* start_one - parse one signature field and hash what it covers */
static void
start_one(struct dkim_vsig *s, const struct dkim_field *v, size_t n,
    const struct dkim_field *f)
{
	const char	*colon = memchr(f->p, ':', f->len), *val;
	size_t		 vlen;
	struct buf	 blk;
	struct err	 e;
	unsigned int	 mdlen;

	val = colon + 1;
	vlen = f->len - (size_t)(val - f->p);
	if (vlen >= 2 && val[vlen - 2] == '\r' && val[vlen - 1] == '\n')
		vlen -= 2;
	if (dkim_sig_parse(val, vlen, &s->sig, &e) == -1) {
		(void)snprintf(s->why, sizeof(s->why), "%s", e.msg);
		return;
	}
	buf_init(&blk, LIM_HEADER_BYTES + LIM_DKIM_SIG_FIELD);
	if (dkim_header_block(s->sig.hcanon, v, n, s->sig.h, strlen(s->sig.h),
	    &blk, &e) == -1 || dkim_sig_append(s->sig.hcanon, f->p, f->len,
	    &blk, &e) == -1) {
		(void)snprintf(s->why, sizeof(s->why), "%s", e.msg);
		goto out;
	}
	if (EVP_Digest(buf_ptr(&blk), buf_avail(&blk), s->digest, &mdlen,
	    EVP_sha256(), NULL) != 1 || dkim_bh_init(&s->bh, s->sig.bcanon,
	    s->sig.has_l ? s->sig.l : UINT64_MAX, &e) == -1) {
		(void)snprintf(s->why, sizeof(s->why), "digest failed");
		goto out;
	}
	s->usable = true;
out:
	buf_release(&blk);
}

/* dkim_verify_start - every signature's header side */
int
dkim_verify_start(struct dkim_verify *vf, const char *hdr, size_t hlen,
    size_t max, struct err *e)
{
	struct dkim_field		 v[LIM_DKIM_FIELDS];
	size_t				 n, used, i;

	memset(vf, 0, sizeof(*vf));
	if (max > DKIM_VERIFY_MAX)
		max = DKIM_VERIFY_MAX;
	if (dkim_fields_split(hdr, hlen, v, LIM_DKIM_FIELDS, &n, &used,
	    e) == -1)
		return -1;
	for (i = 0; i < n && vf->n < max; i++)
		if (dkim_field_is(&v[i], "DKIM-Signature"))
			start_one(&vf->v[vf->n++], v, n, &v[i]);
	return 0;
}

/* dkim_verify_body - every usable signature's body hash */
void
dkim_verify_body(struct dkim_verify *vf, const void *p, size_t len)
{
	size_t	i;

	for (i = 0; i < vf->n; i++)
		if (vf->v[i].usable)
			dkim_bh_update(&vf->v[i].bh, p, len);
}

/* dkim_verify_end - bh= against the body hash of each */
void
dkim_verify_end(struct dkim_verify *vf)
{
	struct dkim_vsig	*s;
	struct err		 e;
	char			 got[64];
	size_t			 i;

	for (i = 0; i < vf->n; i++) {
		s = &vf->v[i];
		if (!s->usable)
			continue;
		if (dkim_bh_final(&s->bh, got, sizeof(got), &e) == -1) {
			s->usable = false;
			(void)snprintf(s->why, sizeof(s->why), "%s", e.msg);
		} else if (s->sig.has_l && s->sig.l > s->bh.body.length) {
			/* 3.5: l= MUST NOT be larger than the body */
			s->usable = false;
			(void)snprintf(s->why, sizeof(s->why), "l= is larger "
			    "than the body");
		} else if (strcmp(got, s->sig.bh) != 0) {
			(void)snprintf(s->why, sizeof(s->why),
			    "body hash did not verify");
		} else {
			s->body_ok = true;
			s->partial = s->sig.has_l && s->sig.l < s->bh.body.length;
		}
		dkim_bh_free(&s->bh);
	}
}

/* dkim_verify_free - the contexts still open */
void
dkim_verify_free(struct dkim_verify *vf)
{
	size_t	i;

	for (i = 0; i < vf->n; i++)
		dkim_bh_free(&vf->v[i].bh);
}
