/*
 * smtp_sasl.c - pure SASL decoders for the AUTH exchange: PLAIN (RFC 4616)
 * and the LOGIN mechanism's base64 fields, and the "*" cancel line
 * (RFC 4954 4).
 *
 * Runs in the unprivileged smtp process on hostile input; no I/O, no
 * allocation, no globals; fuzzed by tests/fuzz/fuzz_smtp_sasl.c.  It only
 * decodes: checking the password is the auth process's job.  Decoded
 * secrets live on the stack only for the call and are wiped.  Bounds:
 * the user name must fit usz (SMTP_SASL_USER_MAX), the password psz
 * (SMTP_SASL_PASS_MAX), both with their NUL; the base64 text at most
 * LIM_AUTH_LINE octets.  Failures set e->msg to the reply line: 501 for
 * anything malformed (bad base64, wrong field count, empty or over-long
 * fields, NUL in a LOGIN field), 535 when authzid names someone else (we
 * do not let one user act for another).
 */
#include <string.h>

#include "b64.h"
#include "err.h"
#include "bounds.h"
#include "smtp_sasl.h"

#define MSG_DECODE	"501 5.5.2 Cannot decode response"
#define MSG_INVALID	"535 5.7.8 Authentication credentials invalid"
#define DEC_MAX		(LIM_AUTH_LINE / 4 * 3)

/* smtp_sasl_decode - base64 into dec; -1 if malformed or too long */
static int
smtp_sasl_decode(const char *b64, size_t len, unsigned char *dec,
    size_t decsz, size_t *declen)
{
	if (len > LIM_AUTH_LINE)
		return -1;
	return b64_decode(b64, len, dec, decsz, declen);
}

/*
 * smtp_sasl_plain - decode base64 "authzid NUL authcid NUL passwd" into
 * user and pass (see smtp_sasl.h).
 */
int
smtp_sasl_plain(const char *b64, size_t len, char *user, size_t usz,
    char *pass, size_t psz, struct err *e)
{
	unsigned char		 dec[DEC_MAX];
	const unsigned char	*zid, *cid, *pw, *nul1, *nul2;
	size_t			 declen = 0, zlen, clen, plen;
	int			 rc = -1;

	if (smtp_sasl_decode(b64, len, dec, sizeof(dec), &declen) == -1) {
		err_set(e, false, 0, MSG_DECODE);
		goto out;
	}
	zid = dec;
	if ((nul1 = memchr(dec, '\0', declen)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', declen -
	    (size_t)(nul1 + 1 - dec))) == NULL) {
		err_set(e, false, 0, MSG_DECODE);
		goto out;
	}
	cid = nul1 + 1;
	pw = nul2 + 1;
	zlen = (size_t)(nul1 - zid);
	clen = (size_t)(nul2 - cid);
	plen = declen - (size_t)(pw - dec);
	/* RFC 4616 2: authcid and passwd are 1*SAFE, without NUL */
	if (clen == 0 || plen == 0 || memchr(pw, '\0', plen) != NULL ||
	    clen >= usz || plen >= psz) {
		err_set(e, false, 0, MSG_DECODE);
		goto out;
	}
	if (zlen != 0 && (zlen != clen || memcmp(zid, cid, clen) != 0)) {
		err_set(e, false, 0, MSG_INVALID);
		goto out;
	}
	memcpy(user, cid, clen);
	user[clen] = '\0';
	memcpy(pass, pw, plen);
	pass[plen] = '\0';
	rc = 0;
out:
	explicit_bzero(dec, sizeof(dec));
	return rc;
}

/* smtp_sasl_field - decode one base64 LOGIN field (no NUL, not empty) */
int
smtp_sasl_field(const char *b64, size_t len, char *out, size_t outsz,
    struct err *e)
{
	unsigned char	dec[DEC_MAX];
	size_t		declen = 0;
	int		rc = -1;

	if (smtp_sasl_decode(b64, len, dec, sizeof(dec), &declen) == -1 ||
	    declen == 0 || declen >= outsz ||
	    memchr(dec, '\0', declen) != NULL) {
		err_set(e, false, 0, MSG_DECODE);
		goto out;
	}
	memcpy(out, dec, declen);
	out[declen] = '\0';
	rc = 0;
out:
	explicit_bzero(dec, sizeof(dec));
	return rc;
}

/* smtp_sasl_is_cancel - is the line exactly "*" (RFC 4954 4) */
int
smtp_sasl_is_cancel(const char *line, size_t len)
{
	return len == 1 && line[0] == '*';
}
