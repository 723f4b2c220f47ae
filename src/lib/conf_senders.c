/*
 * conf_senders.c - a domain's senders file: more addresses a user of the
 * domain may send as, beyond its own and the aliases that reach it.
 *
 *   # domains/example.com/senders
 *   alice: sales@example.org, @example.net
 *
 * One line a user of the domain (its local part, which must be a user of
 * the users file: conf_domain.c checks it at load), then a comma-separated list: a full address, or
 * "@domain" for any address of that domain.  Pure parsing (fuzzed with
 * the aliases parser); the lookup runs in the smtp process at MAIL and at
 * the end of DATA.  Errors name file and line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "conf.h"
#include "conf_domain.h"
#include "conf_read.h"
#include "err.h"
#include "strutil.h"
#include "xmalloc.h"

/* grant_free - one line's strings */
static void
grant_free(struct sender_grant *g)
{
	size_t	i;

	for (i = 0; i < g->naddrs; i++)
		free(g->addrs[i]);
	free(g->addrs);
	free(g->user);
}

/* conf_senders_free - release d's senders table */
void
conf_senders_free(struct domain *d)
{
	size_t	i;

	for (i = 0; i < d->nsenders; i++)
		grant_free(&d->senders[i]);
	free(d->senders);
	d->senders = NULL;
	d->nsenders = 0;
}

/* grant_addr - one "addr" or "@domain" of a line, lower-cased domain */
static int
grant_addr(struct sender_grant *g, const char *t, char *why, size_t whysz)
{
	struct mailbox	mb;
	char		out[LIM_PATH + 1];

	if (t[0] == '@') {
		if (!addr_domain_valid(t + 1, strlen(t + 1), false)) {
			(void)snprintf(why, whysz, "bad domain \"%.64s\"", t);
			return -1;
		}
		(void)snprintf(out, sizeof(out), "%s", t);
	} else if (addr_parse_mailbox(t, strlen(t), true, &mb, NULL) == -1 ||
	    addr_format(&mb, out, sizeof(out)) == -1) {
		(void)snprintf(why, whysz, "bad address \"%.64s\"", t);
		return -1;
	}
	if (g->naddrs >= LIM_SENDER_GRANTS) {
		(void)snprintf(why, whysz, "more than %d addresses",
		    LIM_SENDER_GRANTS);
		return -1;
	}
	g->addrs = xreallocarray(g->addrs, g->naddrs + 1, sizeof(*g->addrs));
	g->addrs[g->naddrs++] = xstrdup(out);
	return 0;
}

/* grant_line - "user: a, @d" into g */
static int
grant_line(struct sender_grant *g, char *s, char *why, size_t whysz)
{
	char	*colon = strchr(s, ':'), *user, *end;

	if (colon == NULL) {
		(void)snprintf(why, whysz, "missing \":\" in \"%.64s\"", s);
		return -1;
	}
	*colon = '\0';
	user = str_trim(s);
	addr_lower(user);
	if (*user == '\0') {
		(void)snprintf(why, whysz, "empty user");
		return -1;
	}
	g->user = xstrdup(user);
	for (s = colon + 1;; s = end + 1) {
		if ((end = strchr(s, ',')) != NULL)
			*end = '\0';
		s = str_trim(s);
		if (*s == '\0') {
			(void)snprintf(why, whysz, "empty address");
			return -1;
		}
		if (grant_addr(g, s, why, whysz) == -1)
			return -1;
		if (end == NULL)
			return 0;
	}
}

/* conf_parse_senders - parse a senders file; d's table replaced on success */
int
conf_parse_senders(struct domain *d, const char *text, size_t len,
    const char *fname, struct err *e)
{
	struct conf_read	*l;
	struct sender_grant	*v = NULL;
	char			 why[200], *s;
	size_t			 n = 0, i;
	enum conf_read_result	 r;
	int			 rc = -1;

	l = xmalloc(sizeof(*l));
	conf_read_init(l, text, len, fname);
	while ((r = conf_read_next(l, &s, e)) == CONF_READ_LINE) {
		if (*s == '\0')
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		memset(&v[n], 0, sizeof(v[n]));
		v[n].lineno = l->lineno;
		n++;
		if (grant_line(&v[n - 1], s, why, sizeof(why)) == -1) {
			err_set(e, false, 0, "%s:%u: %s", fname, l->lineno,
			    why);
			goto out;
		}
		for (i = 0; i + 1 < n; i++)
			if (strcmp(v[i].user, v[n - 1].user) == 0) {
				err_set(e, false, 0, "%s:%u: second line for "
				    "\"%.64s\"", fname, l->lineno, v[i].user);
				goto out;
			}
	}
	if (r == CONF_READ_ERROR)
		goto out;
	conf_senders_free(d);
	d->senders = v;
	d->nsenders = n;
	v = NULL;
	n = 0;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		grant_free(&v[i]);
	free(v);
	free(l);
	return rc;
}

/*
 * domain_sender_granted - may user (a local part of d) send as addr
 * (local@domain, domain in lower case) by d's senders file?
 */
bool
domain_sender_granted(const struct domain *d, const char *user,
    const char *addr)
{
	const char	*at = strrchr(addr, '@');
	size_t		 i, j;

	for (i = 0; i < d->nsenders; i++) {
		if (strcasecmp(d->senders[i].user, user) != 0)
			continue;
		for (j = 0; j < d->senders[i].naddrs; j++) {
			const char	*g = d->senders[i].addrs[j];

			if (g[0] == '@' ? at != NULL &&
			    strcasecmp(g + 1, at + 1) == 0 :
			    strcasecmp(g, addr) == 0)
				return true;
		}
	}
	return false;
}
