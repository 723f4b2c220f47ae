/*
 * dkim_crypto.h - DKIM's hashes and signatures on OpenSSL: the body hash,
 * signing a header digest (the key holder's one operation), verifying
 * one against a key record.  No I/O.
 */
#ifndef POSTERN_DKIM_CRYPTO_H
#define POSTERN_DKIM_CRYPTO_H

#include <stddef.h>

#include <openssl/evp.h>

#include "err.h"
#include "mauth/dkim_canon.h"
#include "mauth/dkim_sig.h"

#define DKIM_DIGEST_LEN		32	/* SHA-256 */
#define DKIM_SIG_MAX		512	/* RSA-4096 */
#define DKIM_RSA_MIN_BITS	1024	/* RFC 8301 3.2: smaller is invalid */

/* a streaming body hash */
struct dkim_bh {
	EVP_MD_CTX		*ctx;
	struct dkim_body	 body;
};

/* dkim_bh_init - SHA-256 of the canonical body, cut at limit (l=) */
int	dkim_bh_init(struct dkim_bh *, enum dkim_canon, uint64_t limit,
	    struct err *);
/* dkim_bh_update - the next bytes of the body */
void	dkim_bh_update(struct dkim_bh *, const void *, size_t);
/* dkim_bh_final - the hash in base64 (45 bytes with the NUL) */
int	dkim_bh_final(struct dkim_bh *, char *b64, size_t b64sz,
	    struct err *);
/* dkim_bh_free - release; safe on a zeroed or finished one */
void	dkim_bh_free(struct dkim_bh *);

/*
 * dkim_crypto_sign - sign a header digest: RSASSA-PKCS1-v1_5 with SHA-256
 * (RFC 6376 3.3.1) or Ed25519 over the digest (RFC 8463 3); *siglen
 * bytes into sig (DKIM_SIG_MAX)
 */
int	dkim_crypto_sign(EVP_PKEY *, const unsigned char *digest,
	    unsigned char *sig, size_t *siglen, struct err *);
/*
 * dkim_crypto_verify - does b64sig sign digest under key k for alg?
 * 1 yes, 0 no, -1 the key is unusable (does not decode, wrong type for
 * alg, RSA under DKIM_RSA_MIN_BITS) with the reason in e
 */
int	dkim_crypto_verify(const struct dkim_key *k, enum dkim_alg alg,
	    const unsigned char *digest, const char *b64sig, struct err *);

#endif
