/*
 * dkim_probe.c - a test tool: sign a message with the mauth modules
 * exactly as the signer will, so that real verifiers (dkimpy,
 * opendkim-testmsg) can check the signatures in
 * tests/integration/test_dkim_sign.py.
 *
 *	dkim_probe sign KEY.pem DOMAIN SELECTOR TIME < message > signed
 *	dkim_probe verify KEYS NOW < message
 *
 * The message is read whole from stdin (CRLF line ends).  sign writes
 * the signed message, the DKIM-Signature field first, to stdout.  verify
 * verifies every signature as the verifier will, the key records coming
 * from KEYS ("SELECTOR._domainkey.DOMAIN TXT-DATA" lines), and prints a
 * line per signature: "d=D s=S result=R why=TEXT" with R pass, fail,
 * neutral (key missing) or permerror.  Exit 0, or 1 with the reason on
 * stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "buf.h"
#include "mauth/dkim_crypto.h"
#include "mauth/dkim_sign.h"
#include "mauth/dkim_verify.h"

#define MSG_MAX	(16 * 1024 * 1024)

/* fail - print and exit 1 */
static void __attribute__((noreturn))
fail(const char *what, const char *why)
{
	fprintf(stderr, "dkim_probe: %s: %s\n", what, why);
	exit(1);
}

/* key_txt - the record of name in the KEYS file, or NULL */
static char *
key_txt(const char *path, const char *name)
{
	static char	 line[4096];
	FILE		*fp;
	size_t		 n = strlen(name);

	if ((fp = fopen(path, "r")) == NULL)
		fail(path, "cannot open");
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, name, n) == 0 && line[n] == ' ') {
			fclose(fp);
			return line + n + 1;
		}
	}
	fclose(fp);
	return NULL;
}

/* verify - every signature of msg, one line each */
static int
verify(const char *keys, unsigned long long now, const char *msg, size_t n,
    size_t hlen)
{
	static struct dkim_verify	 vf;
	struct dkim_key			 k;
	struct err			 e;
	char				 name[600], *txt;
	const char			*res, *why;
	size_t				 i;
	int				 rc;

	if (dkim_verify_start(&vf, msg, hlen, DKIM_VERIFY_MAX, &e) == -1)
		fail("header", e.msg);
	if (hlen + 2 <= n)
		dkim_verify_body(&vf, msg + hlen + 2, n - hlen - 2);
	dkim_verify_end(&vf);
	for (i = 0; i < vf.n; i++) {
		const struct dkim_vsig	*s = &vf.v[i];

		res = "permerror";
		why = s->why;
		if (s->usable && !s->body_ok) {
			res = "fail";
		} else if (s->usable && dkim_sig_expired(&s->sig, now)) {
			why = "signature expired";
		} else if (s->usable) {
			(void)snprintf(name, sizeof(name), "%s._domainkey.%s",
			    s->sig.s, s->sig.d);
			if ((txt = key_txt(keys, name)) == NULL) {
				res = "neutral";
				why = "no key";
			} else if (dkim_key_parse(txt, strlen(txt), &k,
			    &e) == -1) {
				why = e.msg;
			} else if ((rc = dkim_crypto_verify(&k, s->sig.alg,
			    s->digest, s->sig.b, &e)) == 1) {
				res = "pass";
				why = "";
			} else {
				res = rc == 0 ? "fail" : "permerror";
				why = e.msg;
			}
		}
		printf("d=%s s=%s result=%s why=%s\n", s->usable ? s->sig.d :
		    "-", s->usable ? s->sig.s : "-", res, why);
	}
	dkim_verify_free(&vf);
	return 0;
}

int
main(int argc, char **argv)
{
	static char		 msg[MSG_MAX];
	struct dkim_sign_req	 r;
	struct dkim_bh		 bh;
	struct buf		 field;
	struct err		 e;
	unsigned char		 digest[DKIM_DIGEST_LEN], sig[DKIM_SIG_MAX];
	char			 b64[64];
	const char		*end;
	size_t			 n, hlen, siglen;
	FILE			*fp;
	EVP_PKEY		*k;

	if (!(argc == 6 && strcmp(argv[1], "sign") == 0) &&
	    !(argc == 4 && strcmp(argv[1], "verify") == 0))
		fail("usage", "dkim_probe sign KEY.pem DOMAIN SELECTOR TIME | "
		    "verify KEYS NOW");
	n = fread(msg, 1, sizeof(msg) - 1, stdin);
	msg[n] = '\0';
	/* the header ends at the first empty line, or with the message */
	if (n >= 2 && memcmp(msg, "\r\n", 2) == 0)
		hlen = 0;
	else if ((end = strstr(msg, "\r\n\r\n")) != NULL)
		hlen = (size_t)(end - msg) + 2;
	else
		hlen = n;
	if (argc == 4)
		return verify(argv[2], strtoull(argv[3], NULL, 10), msg, n,
		    hlen);
	if ((fp = fopen(argv[2], "r")) == NULL)
		fail(argv[2], "cannot open");
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (k == NULL)
		fail(argv[2], "not a key");
	if (dkim_bh_init(&bh, DKIM_CANON_RELAXED, UINT64_MAX, &e) == -1)
		fail("body hash", e.msg);
	if (hlen + 2 <= n)
		dkim_bh_update(&bh, msg + hlen + 2, n - hlen - 2);
	if (dkim_bh_final(&bh, b64, sizeof(b64), &e) == -1)
		fail("body hash", e.msg);
	dkim_bh_free(&bh);
	r.d = argv[3];
	r.s = argv[4];
	r.t = strtoull(argv[5], NULL, 10);
	r.bh = b64;
	r.alg = EVP_PKEY_get_id(k) == EVP_PKEY_ED25519 ?
	    DKIM_ALG_ED25519_SHA256 : DKIM_ALG_RSA_SHA256;
	buf_init(&field, 65536);
	if (dkim_sign_prepare(msg, hlen, &r, &field, digest, &e) == -1)
		fail("prepare", e.msg);
	if (dkim_crypto_sign(k, digest, sig, &siglen, &e) == -1)
		fail("sign", e.msg);
	if (dkim_sign_finish(&field, sig, siglen, &e) == -1)
		fail("finish", e.msg);
	fwrite(buf_ptr(&field), 1, buf_avail(&field), stdout);
	fwrite(msg, 1, n, stdout);
	buf_release(&field);
	EVP_PKEY_free(k);
	return 0;
}
