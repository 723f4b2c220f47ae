/*
 * fuzz_dmarc.c - a DMARC record of arbitrary bytes: when it parses, its
 * fields hold only the values the RFC allows; and a walk over a domain
 * taken from the input names at most DMARC_WALK_MAX suffixes of it, each
 * one label shorter than the one before (after the first jump).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mauth/dmarc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmarc_record	 r;
	struct err		 e;
	const char		*n[DMARC_WALK_MAX];
	char			 d[256];
	size_t			 k, i, dl;

	if (dmarc_record_parse((const char *)data, size, &r, &e) == 0) {
		if (r.p > DMARC_REJECT || r.sp > DMARC_REJECT ||
		    r.np > DMARC_REJECT || r.psd > DMARC_PSD_N ||
		    strlen(r.fo) >= sizeof(r.fo) ||
		    strlen(r.rua) >= sizeof(r.rua))
			abort();
	}
	dl = size < sizeof(d) - 1 ? size : sizeof(d) - 1;
	memcpy(d, data, dl);
	d[dl] = '\0';
	k = dmarc_walk_names(d, n);
	if (k > DMARC_WALK_MAX || (k > 0 && n[0] != d))
		abort();
	for (i = 1; i < k; i++)
		if (n[i] <= n[i - 1] || n[i] > d + strlen(d) ||
		    n[i][-1] != '.')
			abort();
	return 0;
}
