/*
 * fuzz_senders.c - conf_parse_senders() on arbitrary bytes for a domain
 * with two users, then every grant looked up for an address made of the
 * input, which must agree with what the table holds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "err.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	*users[] = { "alice", "bob" };
	struct domain	 d;
	struct err	 e;
	size_t		 i, j;

	memset(&d, 0, sizeof(d));
	(void)snprintf(d.name, sizeof(d.name), "example.com");
	d.users = users;
	d.nusers = 2;
	if (conf_parse_senders(&d, (const char *)data, size, "senders",
	    &e) == -1) {
		if (e.msg[0] == '\0' || strncmp(e.msg, "senders", 7) != 0)
			abort();
		return 0;
	}
	for (i = 0; i < d.nsenders; i++) {
		if (d.senders[i].user[0] == '\0' || d.senders[i].lineno == 0)
			abort();
		for (j = 0; j < d.senders[i].naddrs; j++) {
			const char	*g = d.senders[i].addrs[j];
			char		 a[600];

			if (g[0] == '@')
				(void)snprintf(a, sizeof(a), "x%s", g);
			else
				(void)snprintf(a, sizeof(a), "%s", g);
			if (!domain_sender_granted(&d, d.senders[i].user, a))
				abort();
		}
	}
	for (i = 0; i < d.nsenders; i++) {
		for (j = 0; j < d.senders[i].naddrs; j++)
			free(d.senders[i].addrs[j]);
		free(d.senders[i].addrs);
		free(d.senders[i].user);
	}
	free(d.senders);
	return 0;
}
