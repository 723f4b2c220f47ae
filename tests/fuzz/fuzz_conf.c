/*
 * fuzz_conf.c - postern.conf and aliases parsing on arbitrary bytes: both
 * parsers run on every input, must never crash or leak, and a successful
 * parse must leave a consistent result (bounds held, lookups work).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf	 c;
	struct err		 e;
	struct domain		*d;
	const char		*text = (const char *)data;
	size_t			 i;

	conf_defaults(&c);
	if (conf_parse(&c, text, size, "postern.conf", &e) == 0) {
		if (c.max_recipients < LIM_RECIPIENTS_MIN ||
		    c.max_recipients > LIM_RECIPIENTS_MAX ||
		    c.max_message_size > LIM_MESSAGE_SIZE_MAX ||
		    c.smtp_listen.n > LIM_LISTEN ||
		    c.submission_listen.n > LIM_LISTEN ||
		    c.submissions_listen.n > LIM_LISTEN ||
		    c.retry_min > c.retry_max || c.data_dir[0] != '/')
			abort();
	}

	/* the aliases of one domain, freed through conf_free() */
	memset(&c, 0, sizeof(c));
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return 0;
	c.domains = d;
	c.ndomains = 1;
	if (conf_parse_aliases(d, text, size, "aliases", &e) == 0) {
		for (i = 0; i < d->naliases; i++) {
			if (d->aliases[i].ntargets == 0)
				abort();
			if (strcmp(d->aliases[i].local, "*") != 0 &&
			    domain_alias(d, d->aliases[i].local) !=
			    &d->aliases[i])
				abort();
			if (!domain_accepts(d, d->aliases[i].local))
				abort();
		}
		(void)domain_accepts(d, "postmaster");
		(void)domain_has_user(d, "postmaster");
	}
	conf_free(&c);
	return 0;
}
