/*
 * fuzz_srs.c - the SRS codec on arbitrary input: the input as an address
 * to reverse and as a sender to forward (whose result must reverse to
 * what it stands for), and as a secrets file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "err.h"
#include "srs.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct srs	 s, t;
	struct err	 e;
	char		 in[1024], out[LIM_PATH + 1], back[LIM_PATH + 1];
	time_t		 now = 1796428800;

	memset(&s, 0, sizeof(s));
	s.maxage = SRS_MAXAGE;
	memcpy(s.secret[0], "fuzzing-secret-0123", 20);
	s.n = 1;
	t = s;
	(void)srs_secrets_parse(&t, (const char *)data, size, "f", &e);
	if (t.n == 0 || t.n > SRS_MAX_SECRETS)
		abort();
	if (size >= sizeof(in) || memchr(data, '\0', size) != NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (srs_reverse(&s, in, now, out, sizeof(out), &e) == SRS_OK &&
	    strlen(out) > LIM_PATH)
		abort();
	if (srs_forward(&s, in, "fwd.test", now, out, sizeof(out), &e) ==
	    SRS_OK && strcmp(out, in) != 0) {
		if (srs_reverse(&s, out, now, back, sizeof(back), &e) != SRS_OK)
			abort();
	}
	return 0;
}
