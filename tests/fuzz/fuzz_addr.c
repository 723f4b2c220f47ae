/*
 * fuzz_addr.c - addr_parse_mailbox() and the domain/literal checks on
 * arbitrary bytes.  A parsed mailbox must respect the limits, format, and
 * parse again to itself (the parser's output is in its own language).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailbox	 mb, again;
	struct err	 e;
	char		 fmt[LIM_LOCAL_PART + LIM_DOMAIN + 2];
	const char	*s;
	size_t		 len, i;
	bool		 utf8;

	if (size < 1)
		return 0;
	utf8 = data[0] & 1;
	s = (const char *)data + 1;
	len = size - 1;

	(void)addr_domain_valid(s, len, utf8);
	(void)addr_literal_valid(s, len);
	if (addr_parse_mailbox(s, len, utf8, &mb, &e) == -1) {
		if (e.msg[0] == '\0')
			abort();
		return 0;
	}
	if (strlen(mb.local) == 0 || strlen(mb.local) > LIM_LOCAL_PART ||
	    strlen(mb.domain) == 0 || strlen(mb.domain) > LIM_DOMAIN)
		abort();
	for (i = 0; mb.domain[i] != '\0'; i++)
		if (mb.domain[i] >= 'A' && mb.domain[i] <= 'Z' &&
		    strncmp(mb.domain, "[IPv6:", 6) != 0)
			abort();
	if (mb.quoted != (mb.local[0] == '"'))
		abort();
	if (mb.literal != (mb.domain[0] == '['))
		abort();
	if (!mb.literal && !addr_domain_valid(mb.domain, strlen(mb.domain),
	    utf8))
		abort();
	if (mb.literal && !addr_literal_valid(mb.domain, strlen(mb.domain)))
		abort();
	if (addr_format(&mb, fmt, sizeof(fmt)) == -1)
		abort();
	if (addr_parse_mailbox(fmt, strlen(fmt), utf8, &again, NULL) == -1 ||
	    strcmp(again.local, mb.local) != 0 ||
	    strcmp(again.domain, mb.domain) != 0 ||
	    again.quoted != mb.quoted || again.literal != mb.literal)
		abort();
	/* what parses without UTF-8 parses with it */
	if (!utf8 && addr_parse_mailbox(s, len, true, &again, NULL) == -1)
		abort();
	return 0;
}
