/*
 * dkim_verify.h - the message side of DKIM verification (RFC 6376 6):
 * while a message streams in, each signature's header digest and body
 * hash are computed, with no DNS and no key; the key check that follows
 * (dkim_crypto_verify) needs only the digest.  No I/O.
 */
#ifndef POSTERN_DKIM_VERIFY_H
#define POSTERN_DKIM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "mauth/dkim_crypto.h"
#include "mauth/dkim_sig.h"

#define DKIM_VERIFY_MAX	8	/* signatures looked at per message */

struct dkim_vsig {
	bool		 usable;	/* parsed; digests under way */
	char		 why[256];	/* permerror or fail reason, or "" */
	struct dkim_sig	 sig;
	struct dkim_bh	 bh;
	unsigned char	 digest[DKIM_DIGEST_LEN];
	bool		 body_ok;	/* bh= matched (after dkim_verify_end) */
	bool		 partial;	/* l= shorter than the body */
};

struct dkim_verify {
	struct dkim_vsig v[DKIM_VERIFY_MAX];
	size_t		 n;
};

/*
 * dkim_verify_start - the header (hlen bytes, up to the empty line): the
 * first max (at most DKIM_VERIFY_MAX) DKIM-Signature fields from the top,
 * each parsed and its header digest computed; one that does not parse is
 * kept with its reason.  -1 only when the header itself cannot be split.
 */
int	dkim_verify_start(struct dkim_verify *, const char *hdr, size_t hlen,
	    size_t max, struct err *);
/* dkim_verify_body - the next bytes of the body */
void	dkim_verify_body(struct dkim_verify *, const void *, size_t);
/* dkim_verify_end - the body ended: each bh= compared */
void	dkim_verify_end(struct dkim_verify *);
/* dkim_verify_free - release the digest contexts */
void	dkim_verify_free(struct dkim_verify *);

#endif
