/*
 * dkim_crypto.c - the cryptography of DKIM: SHA-256 body hashes,
 * rsa-sha256 (RFC 6376 3.3) and ed25519-sha256 (RFC 8463) over the
 * SHA-256 digest of the canonical header block.
 *
 * No I/O and no policy.  The signer gets an EVP_PKEY from whoever holds
 * keys and signs only a 32-byte digest, so the process that holds keys
 * never sees a message.  The verifier takes the key record's p= as
 * published: SubjectPublicKeyInfo DER for RSA (3.6.1), the raw 32-byte
 * key for Ed25519 (RFC 8463 4.2); an RSA key under 1024 bits is not a
 * usable key (RFC 8301 3.2).
 */
#include <string.h>

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "b64.h"
#include "mauth/dkim_crypto.h"

/* bh_emit - canonical bytes into the digest */
static void
bh_emit(void *arg, const void *p, size_t n)
{
	(void)EVP_DigestUpdate(arg, p, n);
}

/* dkim_bh_init - a digest context and a canonicaliser feeding it */
int
dkim_bh_init(struct dkim_bh *h, enum dkim_canon c, uint64_t limit,
    struct err *e)
{
	memset(h, 0, sizeof(*h));
	if ((h->ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		dkim_bh_free(h);
		return err_set(e, true, 0, "SHA-256 unavailable");
	}
	dkim_body_init(&h->body, c, limit, bh_emit, h->ctx);
	return 0;
}

/* dkim_bh_update - more body */
void
dkim_bh_update(struct dkim_bh *h, const void *p, size_t n)
{
	dkim_body_update(&h->body, p, n);
}

/* dkim_bh_final - end the body, the digest in base64 */
int
dkim_bh_final(struct dkim_bh *h, char *b64, size_t b64sz, struct err *e)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen;

	(void)dkim_body_final(&h->body);
	if (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1 ||
	    b64_encode(md, mdlen, b64, b64sz) == -1)
		return err_set(e, true, 0, "body hash failed");
	return 0;
}

/* dkim_bh_free - the digest context */
void
dkim_bh_free(struct dkim_bh *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

/* dkim_crypto_sign - RSA PKCS#1 v1.5 of the digest, or Ed25519 over it */
int
dkim_crypto_sign(EVP_PKEY *k, const unsigned char *digest,
    unsigned char *sig, size_t *siglen, struct err *e)
{
	EVP_PKEY_CTX	*pc = NULL;
	EVP_MD_CTX	*mc = NULL;
	size_t		 n = DKIM_SIG_MAX;
	int		 rc = -1;

	if (EVP_PKEY_get_id(k) == EVP_PKEY_ED25519) {
		if ((mc = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit(mc, NULL, NULL, NULL, k) != 1 ||
		    EVP_DigestSign(mc, sig, &n, digest, DKIM_DIGEST_LEN) != 1)
			goto fail;
	} else if (EVP_PKEY_get_id(k) == EVP_PKEY_RSA) {
		if (EVP_PKEY_get_size(k) > DKIM_SIG_MAX ||
		    (pc = EVP_PKEY_CTX_new(k, NULL)) == NULL ||
		    EVP_PKEY_sign_init(pc) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) != 1 ||
		    EVP_PKEY_sign(pc, sig, &n, digest, DKIM_DIGEST_LEN) != 1)
			goto fail;
	} else {
		err_set(e, false, 0, "not an RSA or Ed25519 key");
		goto out;
	}
	*siglen = n;
	rc = 0;
	goto out;
fail:
	err_set(e, true, 0, "signing failed");
out:
	EVP_PKEY_CTX_free(pc);
	EVP_MD_CTX_free(mc);
	return rc;
}

/* public_key - the record's p= as an EVP_PKEY of the right type */
static EVP_PKEY *
public_key(const struct dkim_key *k, enum dkim_alg alg, struct err *e)
{
	unsigned char		 der[DKIM_B64_MAX];
	const unsigned char	*p = der;
	size_t			 n;
	EVP_PKEY		*pk;

	if (k->revoked) {
		err_set(e, false, 0, "key revoked");
		return NULL;
	}
	if (k->ed25519 != (alg == DKIM_ALG_ED25519_SHA256)) {
		err_set(e, false, 0, "key type does not match a=");
		return NULL;
	}
	if (b64_decode(k->p, strlen(k->p), der, sizeof(der), &n) == -1) {
		err_set(e, false, 0, "p= is not base64");
		return NULL;
	}
	if (k->ed25519) {
		if (n != 32 || (pk = EVP_PKEY_new_raw_public_key(
		    EVP_PKEY_ED25519, NULL, der, n)) == NULL) {
			err_set(e, false, 0, "not an Ed25519 public key");
			return NULL;
		}
		return pk;
	}
	if ((pk = d2i_PUBKEY(NULL, &p, (long)n)) == NULL ||
	    EVP_PKEY_get_id(pk) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pk);
		err_set(e, false, 0, "not an RSA public key");
		return NULL;
	}
	if (EVP_PKEY_get_bits(pk) < DKIM_RSA_MIN_BITS) {
		err_set(e, false, 0, "RSA key of %d bits (RFC 8301: at "
		    "least %d)", EVP_PKEY_get_bits(pk), DKIM_RSA_MIN_BITS);
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}

/* dkim_crypto_verify - 1 good, 0 bad signature, -1 unusable key */
int
dkim_crypto_verify(const struct dkim_key *k, enum dkim_alg alg,
    const unsigned char *digest, const char *b64sig, struct err *e)
{
	unsigned char	 sig[DKIM_B64_MAX];
	size_t		 n;
	EVP_PKEY	*pk;
	EVP_PKEY_CTX	*pc = NULL;
	EVP_MD_CTX	*mc = NULL;
	int		 rc = 0;

	if ((pk = public_key(k, alg, e)) == NULL)
		return -1;
	if (b64_decode(b64sig, strlen(b64sig), sig, sizeof(sig), &n) == -1) {
		err_set(e, false, 0, "b= is not base64");
		goto out;
	}
	if (alg == DKIM_ALG_ED25519_SHA256) {
		if ((mc = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestVerifyInit(mc, NULL, NULL, NULL, pk) == 1 &&
		    EVP_DigestVerify(mc, sig, n, digest, DKIM_DIGEST_LEN) == 1)
			rc = 1;
	} else {
		if ((pc = EVP_PKEY_CTX_new(pk, NULL)) != NULL &&
		    EVP_PKEY_verify_init(pc) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
		    EVP_PKEY_verify(pc, sig, n, digest, DKIM_DIGEST_LEN) == 1)
			rc = 1;
	}
	if (rc == 0)
		err_set(e, false, 0, "signature does not verify");
out:
	EVP_PKEY_CTX_free(pc);
	EVP_MD_CTX_free(mc);
	EVP_PKEY_free(pk);
	return rc;
}
