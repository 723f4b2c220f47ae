/*
 * passwd.c - password hashing with scrypt (RFC 7914) through OpenSSL 3's
 * EVP_KDF "SCRYPT".
 *
 * Stored form, one PHC-style string, base64 with the standard alphabet and
 * no padding:
 *
 *	$scrypt$ln=15,r=8,p=1$<salt>$<key>
 *
 * New hashes use N = 2^15, r = 8, p = 1, a 16-byte salt from RAND_bytes and
 * a 32-byte key: 32 MiB and a few tens of milliseconds per check.
 *
 * A stored string is parsed strictly (fields in this order, decimal
 * without leading zeros, canonical base64) and must stay within bounds:
 * ln in [10, 20], r in [1, 32], p in [1, 16], salt 8..32 bytes, key
 * 16..48 bytes.  The bounds alone would allow 128 * r * N = 4 GiB, so the
 * memory is capped too: r * 2^ln must not exceed 2^21, which keeps
 * scrypt's V array (128 * r * N bytes) at 256 MiB or less: ln=16 still
 * allows every r up to 32, ln=20 only r <= 2.  OpenSSL is given that cap plus 1 MiB for
 * its small extra buffers as maxmem.  scrypt also needs N < 2^(16 r), so
 * r = 1 allows ln <= 15 only; that is checked here rather than left to the
 * KDF.  A string out of bounds is PASSWD_ERROR: an edited users file
 * cannot make the auth process allocate gigabytes.
 *
 * Key material is wiped with OPENSSL_cleanse; comparison is CRYPTO_memcmp.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "b64.h"
#include "err.h"
#include "passwd.h"

/* parameters of new hashes */
#define PASSWD_LN	15
#define PASSWD_R	8
#define PASSWD_P	1
#define PASSWD_SALTLEN	16
#define PASSWD_KEYLEN	32

/* accepted bounds of stored hashes */
#define PASSWD_LN_MIN	10
#define PASSWD_LN_MAX	20
#define PASSWD_R_MAX	32
#define PASSWD_P_MAX	16
/* r * 2^ln <= 2^21: scrypt's V array (128 * r * N bytes) <= 256 MiB */
#define PASSWD_RN_LOG2_MAX	21
#define PASSWD_MAXMEM	((uint64_t)256 * 1024 * 1024 + 1024 * 1024)

#define PHC_PREFIX	"$scrypt$"

/* b64_len - characters of unpadded base64 for n bytes */
static size_t
b64_len(size_t n)
{
	return (n * 4 + 2) / 3;
}

/* b64_encode_nopad - unpadded base64 of len bytes into out */
static int
b64_encode_nopad(const void *in, size_t len, char *out, size_t outsz)
{
	size_t	n;

	if (b64_encode(in, len, out, outsz) == -1)
		return -1;
	n = strlen(out);
	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
	return 0;
}

/*
 * b64_decode_nopad - decode exactly len characters of canonical unpadded
 * base64 into out, which holds outsz bytes.
 */
static int
b64_decode_nopad(const char *in, size_t len, unsigned char *out,
    size_t outsz, size_t *outlen)
{
	char	 padded[PASSWD_HASH_MAX + 4];
	char	 again[PASSWD_HASH_MAX + 4];
	size_t	 i, n;

	if (len == 0 || len % 4 == 1 || len + 3 >= sizeof(padded))
		return -1;
	for (i = 0; i < len; i++)
		if (in[i] == '=')
			return -1;
	memcpy(padded, in, len);
	for (n = len; n % 4 != 0; n++)
		padded[n] = '=';
	padded[n] = '\0';
	if (b64_decode(padded, n, out, outsz, outlen) == -1)
		return -1;
	/* canonical: the unused low bits of the last character are zero */
	if (b64_encode_nopad(out, *outlen, again, sizeof(again)) == -1 ||
	    strlen(again) != len || memcmp(again, in, len) != 0)
		return -1;
	return 0;
}

/*
 * phc_uint - read "NAME=" then a decimal number of at most two digits,
 * no leading zero, from *sp; advance past it.
 */
static int
phc_uint(const char **sp, const char *name, unsigned *out)
{
	const char	*s = *sp;
	size_t		 nlen = strlen(name);
	unsigned	 v = 0;
	int		 digits = 0;

	if (strncmp(s, name, nlen) != 0 || s[nlen] != '=')
		return -1;
	s += nlen + 1;
	if (s[0] == '0')
		return -1;
	while (*s >= '0' && *s <= '9') {
		if (++digits > 2)
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
		s++;
	}
	if (digits == 0)
		return -1;
	*out = v;
	*sp = s;
	return 0;
}

/* passwd_parse_phc - parse and bound-check a hash string (pure, no KDF) */
int
passwd_parse_phc(const char *phc, struct passwd_phc *out, struct err *e)
{
	struct passwd_phc	 t;
	const char		*s, *dollar;
	size_t			 plen = strlen(PHC_PREFIX);

	memset(&t, 0, sizeof(t));
	if (strnlen(phc, PASSWD_HASH_MAX) >= PASSWD_HASH_MAX)
		return err_set(e, false, 0, "password hash too long");
	if (strncmp(phc, PHC_PREFIX, plen) != 0)
		return err_set(e, false, 0,
		    "password hash is not \"" PHC_PREFIX "...\"");
	s = phc + plen;
	if (phc_uint(&s, "ln", &t.ln) == -1 || *s++ != ',' ||
	    phc_uint(&s, "r", &t.r) == -1 || *s++ != ',' ||
	    phc_uint(&s, "p", &t.p) == -1 || *s++ != '$')
		return err_set(e, false, 0,
		    "password hash: parameters are not \"ln=L,r=R,p=P\"");
	if (t.ln < PASSWD_LN_MIN || t.ln > PASSWD_LN_MAX ||
	    t.r < 1 || t.r > PASSWD_R_MAX || t.p < 1 || t.p > PASSWD_P_MAX)
		return err_set(e, false, 0, "password hash: parameters out of "
		    "bounds (ln %d..%d, r 1..%d, p 1..%d)", PASSWD_LN_MIN,
		    PASSWD_LN_MAX, PASSWD_R_MAX, PASSWD_P_MAX);
	if (((uint64_t)t.r << t.ln) > ((uint64_t)1 << PASSWD_RN_LOG2_MAX))
		return err_set(e, false, 0,
		    "password hash: ln=%u,r=%u needs more than 256 MiB",
		    t.ln, t.r);
	if (t.ln >= 16 * t.r)
		return err_set(e, false, 0,
		    "password hash: scrypt needs ln < 16*r");
	if ((dollar = strchr(s, '$')) == NULL ||
	    b64_decode_nopad(s, (size_t)(dollar - s), t.salt,
	    sizeof(t.salt), &t.saltlen) == -1 ||
	    t.saltlen < PASSWD_SALT_MIN)
		return err_set(e, false, 0, "password hash: bad salt");
	s = dollar + 1;
	if (b64_decode_nopad(s, strlen(s), t.hash, sizeof(t.hash),
	    &t.hashlen) == -1 || t.hashlen < PASSWD_KEY_MIN) {
		OPENSSL_cleanse(&t, sizeof(t));
		return err_set(e, false, 0, "password hash: bad key");
	}
	*out = t;
	OPENSSL_cleanse(&t, sizeof(t));
	return 0;
}

/* passwd_kdf - scrypt(password, salt) with 2^ln, r, p into key[keylen] */
static int
passwd_kdf(const char *password, const unsigned char *salt, size_t saltlen,
    unsigned ln, unsigned r, unsigned p, unsigned char *key, size_t keylen,
    struct err *e)
{
	EVP_KDF		*kdf = NULL;
	EVP_KDF_CTX	*ctx = NULL;
	OSSL_PARAM	 params[7], *q = params;
	uint64_t	 n = (uint64_t)1 << ln, maxmem = PASSWD_MAXMEM;
	uint32_t	 r32 = r, p32 = p;
	int		 rc = -1;

	if ((kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL)) == NULL) {
		err_set(e, true, 0, "scrypt is not available in OpenSSL");
		goto out;
	}
	if ((ctx = EVP_KDF_CTX_new(kdf)) == NULL) {
		err_set(e, true, 0, "scrypt: out of memory");
		goto out;
	}
	/* OSSL_PARAM wants void *; the KDF only reads these buffers */
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)(uintptr_t)password, strlen(password));
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(uintptr_t)salt, saltlen);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM,
	    &maxmem);
	*q = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, key, keylen, params) != 1) {
		OPENSSL_cleanse(key, keylen);
		err_set(e, true, 0, "scrypt failed (ln=%u, r=%u, p=%u)",
		    ln, r, p);
		goto out;
	}
	rc = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* passwd_hash - hash password with a fresh random salt into out */
int
passwd_hash(const char *password, char *out, size_t outsz, struct err *e)
{
	unsigned char	 salt[PASSWD_SALTLEN], key[PASSWD_KEYLEN];
	char		 salt64[PASSWD_SALTLEN * 2], key64[PASSWD_KEYLEN * 2];
	int		 n, rc = -1;

	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		err_set(e, true, 0, "no random bytes for a salt");
		goto out;
	}
	if (passwd_kdf(password, salt, sizeof(salt), PASSWD_LN, PASSWD_R,
	    PASSWD_P, key, sizeof(key), e) == -1)
		goto out;
	if (b64_encode_nopad(salt, sizeof(salt), salt64,
	    sizeof(salt64)) == -1 ||
	    b64_encode_nopad(key, sizeof(key), key64, sizeof(key64)) == -1 ||
	    strlen(salt64) != b64_len(sizeof(salt)) ||
	    strlen(key64) != b64_len(sizeof(key))) {
		err_set(e, false, 0, "password hash: base64 failed");
		goto out;
	}
	n = snprintf(out, outsz, PHC_PREFIX "ln=%d,r=%d,p=%d$%s$%s",
	    PASSWD_LN, PASSWD_R, PASSWD_P, salt64, key64);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			OPENSSL_cleanse(out, outsz);
		err_set(e, false, 0, "password hash: no room for the result");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(key64, sizeof(key64));
	return rc;
}

/* passwd_verify - does password match the stored hash string phc? */
enum passwd_result
passwd_verify(const char *password, const char *phc, struct err *e)
{
	struct passwd_phc	 ph;
	unsigned char		 key[PASSWD_KEY_MAX];
	enum passwd_result	 res = PASSWD_ERROR;

	if (passwd_parse_phc(phc, &ph, e) == -1)
		return PASSWD_ERROR;
	if (passwd_kdf(password, ph.salt, ph.saltlen, ph.ln, ph.r, ph.p,
	    key, ph.hashlen, e) == -1)
		goto out;
	res = CRYPTO_memcmp(key, ph.hash, ph.hashlen) == 0 ?
	    PASSWD_OK : PASSWD_MISMATCH;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(&ph, sizeof(ph));
	return res;
}
