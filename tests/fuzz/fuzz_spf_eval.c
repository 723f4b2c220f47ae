/*
 * fuzz_spf_eval.c - check_host() fed answers made of the input: each
 * lookup takes the next line ("0" answers, "1" NXDOMAIN, "2" a DNS
 * error, then names split by '|'; A and AAAA answers take their
 * addresses from the bytes).  The check must end within a bounded number
 * of lookups (the RFC's limits), with a result in range.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mauth/spf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define STEPS_MAX	(SPF_DNS_MECHS_MAX * (SPF_MX_MAX + 2) + 8)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 buf[65536];
	struct spf_eval		 ev;
	struct spf_query	 q;
	struct spf_answer	 a;
	struct in6_addr		 ip;
	struct err		 e;
	char			*p, *line, *name;
	size_t			 n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;
	int			 steps = 0;

	memcpy(buf, data, n);
	buf[n] = '\0';
	p = buf;
	memset(&ip, 0, sizeof(ip));
	ip.s6_addr[10] = ip.s6_addr[11] = 0xff;
	ip.s6_addr[12] = 192;
	ip.s6_addr[15] = 3;
	if (spf_eval_init(&ev, &ip, true, "user", "example.test", "helo.test",
	    "mx.test", 1700000000, &e) == -1)
		abort();
	while (spf_eval_next(&ev, &q)) {
		if (++steps > STEPS_MAX)
			abort();
		memset(&a, 0, sizeof(a));
		a.status = SPF_DNS_NXDOMAIN;
		if ((line = strsep(&p, "\n")) != NULL && line[0] != '\0') {
			a.status = line[0] == '0' ? SPF_DNS_OK :
			    line[0] == '2' ? SPF_DNS_TEMP : SPF_DNS_NXDOMAIN;
			line++;
			while (a.n < SPF_ANS_MAX &&
			    (name = strsep(&line, "|")) != NULL) {
				a.names[a.n] = name;
				memcpy(&a.addrs[a.n], name, strlen(name) < 16 ?
				    strlen(name) : 16);
				if (q.type == SPF_Q_A && name[0] & 1)
					a.addrs[a.n] = ip;
				a.n++;
			}
		}
		spf_eval_answer(&ev, &a);
	}
	spf_eval_free(&ev);
	if (ev.result > SPF_PERMERROR || ev.top != NULL)
		abort();
	return 0;
}
