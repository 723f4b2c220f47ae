/*
 * fuzz_authres.c - arbitrary bytes as a received field's value (the
 * authserv-id reader must not read past it) and as every value of the
 * field we build, which must stay one field: no bare CR or LF, every
 * line after the first folded, and no value escaping its quotes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mauth/authres.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct authres	 a;
	struct buf	 out;
	char		*v;
	const char	*p;
	size_t		 n, i;

	(void)authres_id_is((const char *)data, size, "mx.example.net");
	if ((v = malloc(size + 1)) == NULL)
		abort();
	memcpy(v, data, size);
	v[size] = '\0';
	memset(&a, 0, sizeof(a));
	a.authserv_id = "mx.example.net";
	a.spf = "pass";
	a.mailfrom = a.helo = a.header_from = v;
	a.ndkim = 1;
	a.dkim[0] = (struct authres_dkim){ "fail", v, v, v, v };
	a.dmarc = "fail";
	buf_init(&out, 1 << 20);
	if (authres_build(&a, &out) == -1)
		abort();
	p = buf_ptr(&out);
	n = buf_avail(&out);
	if (n < 2 || p[n - 2] != '\r' || p[n - 1] != '\n')
		abort();
	for (i = 0; i + 2 < n; i++) {
		if (p[i] == '\n' && p[i + 1] != '\t')
			abort();
		if ((p[i] == '\r') != (p[i + 1] == '\n'))
			abort();
	}
	buf_release(&out);
	free(v);
	return 0;
}
