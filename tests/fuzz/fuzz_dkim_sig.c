/*
 * fuzz_dkim_sig.c - a signature value and a key record of arbitrary
 * bytes: what parses holds only what the RFCs allow (an algorithm of
 * two, From signed, i= within d=, x= not before t=).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mauth/dkim_sig.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dkim_sig	 s;
	struct dkim_key		 k;
	struct err		 e;
	const char		*at;

	if (dkim_sig_parse((const char *)data, size, &s, &e) == 0) {
		if (s.alg > DKIM_ALG_ED25519_SHA256 || s.d[0] == '\0' ||
		    s.b[0] == '\0' || strcasestr(s.h, "from") == NULL ||
		    (at = strrchr(s.i, '@')) == NULL ||
		    strcasestr(at, s.d) == NULL ||
		    (s.has_t && s.has_x && s.x < s.t))
			abort();
	}
	if (dkim_key_parse((const char *)data, size, &k, &e) == 0 &&
	    k.revoked != (k.p[0] == '\0'))
		abort();
	return 0;
}
