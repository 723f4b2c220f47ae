/*
 * fuzz_spf.c - an SPF record of arbitrary bytes: parsed, every term's
 * strings inside the input and its lengths in range; every domain-spec
 * and modifier expanded with a fixed context into a bounded result that
 * is at most 253 bytes when it names a domain.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mauth/spf_macro.h"
#include "mauth/spf_record.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spf_record r;
	struct spf_macro_ctx	 c;
	const char		*s = (const char *)data;
	struct err		 e;
	char			 out[SPF_MACRO_OUT];
	size_t			 i;

	memset(&c, 0, sizeof(c));
	c.local = "some.one-x";
	c.sender_domain = c.domain = "sub.example.com";
	c.helo = "helo.example.org";
	c.family = size & 1 ? AF_INET6 : AF_INET;
	(void)inet_pton(AF_INET, "192.0.2.3", &c.ip4);
	(void)inet_pton(AF_INET6, "2001:db8::1", &c.ip6);
	/* the input as explanation text too */
	if (spf_macro_expand(s, size, &c, true, false, out, sizeof(out),
	    &e) == 0 && strlen(out) >= sizeof(out))
		abort();
	if (spf_record_parse(s, size, &r, &e) == -1)
		return 0;
	if (r.n > SPF_TERMS_MAX)
		abort();
	for (i = 0; i < r.n; i++) {
		const struct spf_term	*t = &r.t[i];

		if (t->cidr4 < 0 || t->cidr4 > 32 || t->cidr6 < 0 ||
		    t->cidr6 > 128)
			abort();
		if (t->domain == NULL)
			continue;
		if (t->domain < s || t->domain + t->domainlen > s + size)
			abort();
		if (spf_macro_expand(t->domain, t->domainlen, &c, false, true,
		    out, sizeof(out), &e) == 0 && strlen(out) > 253)
			abort();
	}
	if (r.redirect != NULL && spf_macro_expand(r.redirect, r.redirectlen,
	    &c, false, true, out, sizeof(out), &e) == 0 && strlen(out) > 253)
		abort();
	return 0;
}
