/*
 * fuzz_dkim_tag.c - dkim_tags_parse() on arbitrary bytes: every tag it
 * returns lies inside the input, has a grammatical name, a value that
 * starts and ends with a VALCHAR, and no name twice.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mauth/dkim_tag.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*s = (const char *)data;
	struct dkim_tags	 t;
	struct err		 e;
	char			 nows[256];
	size_t			 i, j;

	if (dkim_tags_parse(s, size, &t, &e) == -1)
		return 0;
	if (t.n == 0 || t.n > DKIM_TAGS_MAX)
		abort();
	for (i = 0; i < t.n; i++) {
		const struct dkim_tag	*g = &t.v[i];

		if (g->name < s || g->name + g->namelen > s + size ||
		    g->value < s || g->value + g->valuelen > s + size ||
		    g->namelen == 0)
			abort();
		if (memchr(g->name, '=', g->namelen) != NULL ||
		    memchr(g->name, ';', g->namelen) != NULL)
			abort();
		if (g->valuelen > 0 && ((unsigned char)g->value[0] < 0x21 ||
		    (unsigned char)g->value[g->valuelen - 1] < 0x21 ||
		    memchr(g->value, ';', g->valuelen) != NULL))
			abort();
		if (dkim_tags_get(&t, "") != NULL)
			abort();
		for (j = 0; j < i; j++)
			if (t.v[j].namelen == g->namelen &&
			    memcmp(t.v[j].name, g->name, g->namelen) == 0)
				abort();
		(void)dkim_tag_nows(g, nows, sizeof(nows));
	}
	return 0;
}
