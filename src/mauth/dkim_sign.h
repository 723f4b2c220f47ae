/*
 * dkim_sign.h - a DKIM-Signature field assembled around a signature
 * made elsewhere (RFC 6376 5): the field up to "b=" and the digest to
 * sign, then the field completed with the signature.  Pure.
 */
#ifndef POSTERN_DKIM_SIGN_H
#define POSTERN_DKIM_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "mauth/dkim_sig.h"

struct dkim_sign_req {
	const char	*d;		/* signing domain */
	const char	*s;		/* selector */
	enum dkim_alg	 alg;
	uint64_t	 t;		/* signature time (t=) */
	const char	*bh;		/* the relaxed body hash, base64 */
};

/*
 * dkim_sign_prepare - for the message header hdr (hlen bytes, up to the
 * empty line): the field "DKIM-Signature: v=1; a=...; c=relaxed/relaxed;
 * d=; s=; t=; h=; bh=; b=" folded under 78 columns into field, with h=
 * from dkim_sign_hlist, and the SHA-256 digest of the relaxed header
 * block it covers (digest: 32 bytes)
 */
int	dkim_sign_prepare(const char *hdr, size_t hlen,
	    const struct dkim_sign_req *, struct buf *field,
	    unsigned char *digest, struct err *);
/* dkim_sign_finish - the signature's base64 after "b=", folded, CRLF */
int	dkim_sign_finish(struct buf *field, const unsigned char *sig,
	    size_t siglen, struct err *);

#endif
