/*
 * fuzz_dkim_canon.c - the body canonicaliser on arbitrary bytes: any
 * chunking gives the same canonical body, relaxed output has no
 * whitespace before a CRLF (nor a tab at all) and no run of two, both end in exactly one
 * CRLF unless empty; the header canonicaliser never writes past its
 * buffer and its relaxed output has a lower-case name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mauth/dkim_canon.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct sink {
	unsigned char	*p;
	size_t		 n, cap;
};

static void
sink_emit(void *arg, const void *p, size_t n)
{
	struct sink	*s = arg;

	if (s->n + n > s->cap)
		abort();
	memcpy(s->p + s->n, p, n);
	s->n += n;
}

/* run - canonicalise in chunks of step bytes into s (cap 2 * size + 2) */
static uint64_t
run(enum dkim_canon c, const uint8_t *d, size_t size, size_t step,
    struct sink *s)
{
	struct dkim_body	b;
	size_t			i, n;

	s->n = 0;
	dkim_body_init(&b, c, UINT64_MAX, sink_emit, s);
	for (i = 0; i < size; i += n) {
		n = size - i < step ? size - i : step;
		dkim_body_update(&b, d + i, n);
	}
	return dkim_body_final(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink	 a, b;
	enum dkim_canon	 c;
	size_t		 i, step;
	char		*h;

	if (size < 1)
		return 0;
	c = data[0] & 1 ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	step = (data[0] >> 1) + 1;
	data++;
	size--;
	a.cap = b.cap = 2 * size + 2;
	a.p = malloc(a.cap);
	b.p = malloc(b.cap);
	if (a.p == NULL || b.p == NULL)
		abort();
	if (run(c, data, size, size > 0 ? size : 1, &a) != a.n ||
	    run(c, data, size, step, &b) != b.n || a.n != b.n ||
	    memcmp(a.p, b.p, a.n) != 0)
		abort();
	if (a.n > 0 && (a.n < 2 || a.p[a.n - 2] != '\r' ||
	    a.p[a.n - 1] != '\n'))
		abort();
	if (a.n >= 4 && memcmp(a.p + a.n - 4, "\r\n\r\n", 4) == 0)
		abort();
	if (c == DKIM_CANON_RELAXED && memchr(a.p, '\t', a.n) != NULL)
		abort();
	if (c == DKIM_CANON_RELAXED)
		for (i = 0; i + 1 < a.n; i++)
			if ((a.p[i] == ' ' || a.p[i] == '\t') &&
			    (a.p[i + 1] == ' ' || a.p[i + 1] == '\t' ||
			    (a.p[i + 1] == '\r' && i + 2 < a.n &&
			    a.p[i + 2] == '\n')))
				abort();
	if (c == DKIM_CANON_SIMPLE && a.n == 0)
		abort();
	free(a.p);
	free(b.p);

	if ((h = malloc(size + 3)) == NULL)
		abort();
	i = dkim_header_canon(c, (const char *)data, size, h, size + 3);
	if (i > size + 2 || (i > 0 && (h[i] != '\0' || h[i - 1] != '\n')))
		abort();
	if (i > 0 && c == DKIM_CANON_RELAXED)
		for (step = 0; step < i && h[step] != ':'; step++)
			if (h[step] >= 'A' && h[step] <= 'Z')
				abort();
	free(h);
	return 0;
}
