/*
 * fuzz_dkim_verify.c - a received message of arbitrary bytes through
 * the verifier's message side: every signature field found is either
 * usable or carries a reason, the body is fed in two pieces, and
 * everything opened is released.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mauth/dkim_verify.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dkim_verify	 vf;
	const char			*m = (const char *)data;
	struct err			 e;
	size_t				 hlen, i, half;
	const uint8_t			*end;

	end = memmem(data, size, "\r\n\r\n", 4);
	hlen = end != NULL ? (size_t)(end - data) + 2 : size;
	if (dkim_verify_start(&vf, m, hlen, DKIM_VERIFY_MAX, &e) == -1)
		return 0;
	if (vf.n > DKIM_VERIFY_MAX)
		abort();
	if (end != NULL) {
		half = (size - hlen - 2) / 2;
		dkim_verify_body(&vf, m + hlen + 2, half);
		dkim_verify_body(&vf, m + hlen + 2 + half,
		    size - hlen - 2 - half);
	}
	dkim_verify_end(&vf);
	for (i = 0; i < vf.n; i++)
		if (!vf.v[i].usable && vf.v[i].why[0] == '\0')
			abort();
		else if (vf.v[i].body_ok && !vf.v[i].usable)
			abort();
	dkim_verify_free(&vf);
	return 0;
}
