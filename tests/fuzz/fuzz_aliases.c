/*
 * fuzz_aliases.c - an aliases file and recipients made of arbitrary
 * bytes: the input up to the first NUL is parsed as example.com's
 * aliases file (users alice and bob; "+" separates suffixes, "." is
 * dropped), and each line after it is expanded, alone and all together,
 * as the queue expands a message's recipients.  The expansion must stay
 * within its cap, name a destination only once (a command once per alias
 * that names it), and fail only with a reason.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alias.h"
#include "conf.h"
#include "err.h"
#include "xmalloc.h"

#define CAP	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* check - the invariants of an expansion's output */
static void
check(const struct alias_dests *out)
{
	size_t	i, j;

	if (out->n > CAP)
		abort();
	for (i = 0; i < out->n; i++) {
		if (out->v[i].addr == NULL || out->v[i].orig == NULL ||
		    (out->v[i].kind == AK_FAILED) != (out->v[i].error != NULL))
			abort();
		/* an address once; a command once per alias naming it */
		for (j = 0; j < i; j++)
			if (strcasecmp(out->v[i].addr, out->v[j].addr) == 0 &&
			    (out->v[i].kind != AK_PIPE || out->v[j].kind !=
			    AK_PIPE || out->v[i].via == NULL || out->v[j].via ==
			    NULL || strcasecmp(out->v[i].via, out->v[j].via) ==
			    0))
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		*users[] = { "alice", "bob" };
	struct conf		*c = xcalloc(1, sizeof(*c));
	struct domain		 d[2];
	struct alias_dests	 all, one;
	struct err		 e;
	const uint8_t		*nul = memchr(data, '\0', size);
	size_t			 alen = nul != NULL ? (size_t)(nul - data) : size;
	char			*rest, *line, *p;

	conf_defaults(c);
	memset(d, 0, sizeof(d));
	(void)snprintf(d[0].name, sizeof(d[0].name), "example.com");
	d[0].users = users;
	d[0].nusers = 2;
	(void)snprintf(d[0].suffix_sep, sizeof(d[0].suffix_sep), "+");
	(void)snprintf(d[0].drop_chars, sizeof(d[0].drop_chars), ".");
	(void)snprintf(d[1].name, sizeof(d[1].name), "example.net");
	c->domains = d;
	c->ndomains = 2;
	if (conf_parse_aliases(&d[0], (const char *)data, alen, "aliases",
	    &e) == -1) {
		if (strncmp(e.msg, "aliases", 7) != 0)
			abort();
		free(c);
		return 0;
	}
	memset(&all, 0, sizeof(all));
	rest = xstrndup(nul != NULL ? (const char *)nul + 1 : "",
	    nul != NULL ? size - alen - 1 : 0);
	for (p = rest; (line = strsep(&p, "\n")) != NULL;) {
		if (strlen(line) > 320)
			continue;
		memset(&one, 0, sizeof(one));
		if (alias_expand(c, NULL, line, &one, CAP, &e) == -1 &&
		    e.msg[0] == '\0')
			abort();
		check(&one);
		alias_dests_free(&one);
		if (alias_expand(c, NULL, line, &all, CAP, &e) == -1 &&
		    e.msg[0] == '\0')
			abort();
		check(&all);
	}
	alias_dests_free(&all);
	free(rest);
	for (size_t i = 0; i < d[0].naliases; i++) {
		for (size_t j = 0; j < d[0].aliases[i].ntargets; j++)
			free(d[0].aliases[i].targets[j]);
		free(d[0].aliases[i].targets);
		free(d[0].aliases[i].local);
	}
	free(d[0].aliases);
	free(c);
	return 0;
}
