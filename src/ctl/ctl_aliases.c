/*
 * ctl_aliases.c - what an address resolves to, and why:
 *
 *	postern [-C DIR] aliases-resolve ADDR
 *
 * Loads the configuration as `serve` would (users, aliases, domain.conf,
 * srs_secrets when readable) and expands ADDR as the queue does for a
 * message (alias.c), printing each step: user, alias and its line, chain,
 * catch-all, suffix or characters dropped, SRS verified, pipe, another
 * domain, loop, depth limit; then what is left: each destination, local,
 * remote (with the SRS sender it would get when forwarded mail comes from
 * outside) or failed.  Reads only; the running server is not asked.
 *
 * Exit codes: 0 the address resolves to one destination or more, 1 it
 * does not (unknown user, loop, every branch failed) or the configuration
 * does not load (one line on stderr), 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alias.h"
#include "bounds.h"
#include "conf.h"
#include "ctl.h"
#include "err.h"
#include "srs.h"
#include "xmalloc.h"

/* print_step - one line of the trace, indented by depth */
static void
print_step(void *arg, unsigned depth, const char *addr, const char *what)
{
	(void)arg;
	printf("%*s%s: %s\n", (int)(2 * depth), "", addr, what);
}

/* print_dest - one destination of the result */
static bool
print_dest(const struct alias_dest *d, const struct srs *srs, time_t now)
{
	const char	*at;
	char		 out[LIM_PATH + 1];
	struct err	 e;

	switch (d->kind) {
	case AK_LOCAL:
		printf("  local   %s\n", d->addr);
		return true;
	case AK_REMOTE:
		printf("  remote  %s", d->addr);
		if (d->via != NULL && srs->n > 0 &&
		    (at = strrchr(d->via, '@')) != NULL &&
		    srs_forward(srs, "sender@elsewhere.example", at + 1, now,
		    out, sizeof(out), &e) == SRS_OK)
			printf("  (forwarded by %s: a sender from elsewhere "
			    "becomes %s)", d->via, out);
		printf("\n");
		return true;
	case AK_PIPE:
		printf("  pipe    %s  (for %s)\n", d->addr, d->via != NULL ?
		    d->via : d->orig);
		return true;
	case AK_FAILED:
	default:
		printf("  failed  %s: %s\n", d->addr, d->error != NULL ?
		    d->error : "cannot be delivered");
		return false;
	}
}

/* ctl_aliases_resolve - postern [-C DIR] aliases-resolve ADDR */
int
ctl_aliases_resolve(const char *confdir, int argc, char **argv)
{
	struct conf		*c = xcalloc(1, sizeof(*c));
	struct srs		*srs = xcalloc(1, sizeof(*srs));
	struct alias_opts	 o = { 0 };
	struct alias_dests	 out;
	struct err		 e;
	size_t			 i;
	bool			 any = false;
	int			 rc = 1;

	memset(&out, 0, sizeof(out));
	if (argc != 2 || argv[1][0] == '\0' || strlen(argv[1]) > LIM_PATH) {
		fprintf(stderr, "usage: postern [-C DIR] aliases-resolve "
		    "ADDR\n");
		rc = 2;
		goto done;
	}
	if (conf_load(c, confdir, &e) == -1) {
		fprintf(stderr, "postern: %s\n", e.msg);
		goto done;
	}
	if (srs_load(srs, confdir, &e) == -1) {
		fprintf(stderr, "postern: %s (SRS addresses are not "
		    "verified)\n", e.msg);
		srs->n = 0;
	}
	o.srs = srs;
	o.now = time(NULL);
	o.trace = print_step;
	if (alias_expand(c, &o, argv[1], &out, LIM_RECIPIENTS_MAX * 10,
	    &e) == -1)
		printf("%s\n", e.msg);
	printf("result:\n");
	for (i = 0; i < out.n; i++)
		if (print_dest(&out.v[i], srs, o.now))
			any = true;
	if (out.n == 0)
		printf("  nothing (every target was already there)\n");
	rc = any ? 0 : 1;
	conf_free(c);
done:
	alias_dests_free(&out);
	explicit_bzero(srs, sizeof(*srs));
	free(srs);
	free(c);
	return rc;
}
