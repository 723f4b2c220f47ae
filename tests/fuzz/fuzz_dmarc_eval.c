/*
 * fuzz_dmarc_eval.c - DMARC for one message fed answers made of the
 * input, one line per lookup ("0" answers, "1" NXDOMAIN, "2" a DNS
 * error, then TXT strings split by '|').  The evaluation must end within
 * its bounded walks, with a result and a policy in range.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mauth/dmarc_eval.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 buf[65536];
	static struct dmarc_eval ev;
	const char		*dkim[2] = { "mail.b.example.com", "x.test" };
	struct dmarc_query	 q;
	struct dmarc_answer	 a;
	char			*p = buf, *line, *t;
	size_t			 n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;
	int			 steps = 0;

	memcpy(buf, data, n);
	buf[n] = '\0';
	dmarc_eval_init(&ev, "a.b.c.example.com", "b.example.com", dkim, 2);
	while (dmarc_eval_next(&ev, &q)) {
		if (++steps > DMARC_WALK_MAX * (DMARC_AUTH_MAX + 1) + 2)
			abort();
		memset(&a, 0, sizeof(a));
		a.status = DMARC_DNS_NXDOMAIN;
		if ((line = strsep(&p, "\n")) != NULL && line[0] != '\0') {
			a.status = line[0] == '0' ? DMARC_DNS_OK :
			    line[0] == '2' ? DMARC_DNS_TEMP :
			    DMARC_DNS_NXDOMAIN;
			line++;
			while (a.n < DMARC_TXT_MAX &&
			    (t = strsep(&line, "|")) != NULL)
				a.txt[a.n++] = t;
		}
		dmarc_eval_answer(&ev, &a);
	}
	if (ev.result > DMARC_R_TEMPERROR || ev.applied > DMARC_REJECT)
		abort();
	return 0;
}
