/*
 * alias.c - expansion of recipients through users and aliases (alias.h).
 * In lib: the queue delivers with it and smtp checks senders with it.
 *
 * Pure: reads the struct conf it is given (users and aliases loaded by
 * conf_load), allocates only its output.  Runs in the queue process's
 * event loop at commit time; the smtp process has already refused
 * recipients of local domains that nothing accepts, so failures here come
 * from the aliases themselves (loops, nesting deeper than ALIAS_MAX_DEPTH)
 * or from a reload in between.
 *
 * Loops and diamonds: an alias being expanded is on a stack; meeting it
 * again is a loop and that branch fails.  An alias already expanded in
 * this call is skipped (its destinations are already in the output), so
 * expansion work is linear in the number of aliases, never exponential.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "bounds.h"
#include "conf.h"
#include "err.h"
#include "srs.h"
#include "xmalloc.h"
#include "alias.h"

struct expand {
	const struct conf	*conf;
	const struct alias_opts	*opts;		/* NULL: none */
	const char		*orig;
	struct alias_dests	*out;
	size_t			 max;
	bool			 overflow;
	char			**stack;	/* aliases being expanded */
	size_t			 nstack;
	char			**done;		/* aliases already expanded */
	size_t			 ndone;
};

/* note - tell the trace, if any, what addr is */
static void __attribute__((format(printf, 4, 5)))
note(const struct expand *x, unsigned depth, const char *addr,
    const char *fmt, ...)
{
	char	what[512];
	va_list	ap;

	if (x->opts == NULL || x->opts->trace == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	x->opts->trace(x->opts->trace_arg, depth, addr, what);
}

/* strv_has - is s (case-insensitive) in v? */
static bool
strv_has(char **v, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcasecmp(v[i], s) == 0)
			return true;
	return false;
}

/* add_dest - append a destination unless its address is already there */
static void
add_dest(struct expand *x, enum alias_kind kind, const char *addr,
    const char *error)
{
	struct alias_dests	*o = x->out;
	struct alias_dest	*d;
	size_t			 i;

	/* a command runs once per alias that names it: each is told its
	 * own RECIPIENT */
	for (i = 0; i < o->n; i++)
		if (strcasecmp(o->v[i].addr, addr) == 0 && (kind != AK_PIPE ||
		    (o->v[i].via != NULL && x->nstack > 0 &&
		    strcasecmp(o->v[i].via, x->stack[x->nstack - 1]) == 0)))
			return;
	if (o->n >= x->max) {
		x->overflow = true;
		return;
	}
	o->v = xreallocarray(o->v, o->n + 1, sizeof(*o->v));
	d = &o->v[o->n++];
	d->kind = kind;
	d->addr = xstrdup(addr);
	d->orig = xstrdup(x->orig);
	d->via = x->nstack > 0 ? xstrdup(x->stack[x->nstack - 1]) : NULL;
	d->error = error != NULL ? xstrdup(error) : NULL;
}

/* catchall - the domain's "*" alias, or NULL */
static const struct alias *
catchall(const struct domain *d)
{
	size_t	i;

	if (!d->catchall)
		return NULL;
	for (i = 0; i < d->naliases; i++)
		if (strcmp(d->aliases[i].local, "*") == 0)
			return &d->aliases[i];
	return NULL;
}

/*
 * postmaster_domain - the domain of "postmaster" given without one: the
 * host name's parent domain or the host name if local, else the first
 * local domain, else the host name's parent domain
 */
static const char *
postmaster_domain(const struct conf *c)
{
	const char	*host = c->hostname, *dot = strchr(host, '.');
	const char	*parent;

	parent = dot != NULL && dot[1] != '\0' ? dot + 1 : host;

	if (conf_domain(c, parent) != NULL)
		return parent;
	if (conf_domain(c, host) != NULL)
		return host;
	if (c->ndomains > 0)
		return c->domains[0].name;
	return parent;
}

static void	expand_addr(struct expand *, const char *, unsigned);

/*
 * expand_srs - full (an SRS local part of local domain d): the address it
 * stands for, expanded, or why not.  True if SRS applies here.
 */
static bool
expand_srs(struct expand *x, const char *full, const char *local,
    unsigned depth)
{
	const struct srs	*srs = x->opts != NULL ? x->opts->srs : NULL;
	char			 orig[LIM_PATH + 1], *why;
	struct err		 e;

	if (srs == NULL || srs->n == 0 || !srs_is_srs(local))
		return false;
	if (srs_reverse(srs, full, x->opts->now, orig, sizeof(orig), &e) !=
	    SRS_OK) {
		xasprintf(&why, "bounce address not valid: %s", e.msg);
		note(x, depth, full, "SRS address: %s", why);
		add_dest(x, AK_FAILED, full, why);
		free(why);
		return true;
	}
	note(x, depth, full, "SRS address, verified: a bounce for %s", orig);
	expand_addr(x, orig, depth + 1);
	return true;
}

/*
 * local_target - target t of an alias of domain d as a full address, the
 * suffix (or "") kept where t is local and its domain cuts it off again
 */
static char *
local_target(const struct expand *x, const struct domain *d, const char *t,
    const char *suffix)
{
	const struct domain	*td = d;
	const char		*at = strrchr(t, '@');
	char			*out, *dom;

	if (at != NULL) {
		dom = xstrdup(at + 1);
		addr_lower(dom);
		td = conf_domain(x->conf, dom);
		free(dom);
	}
	if (td == NULL || suffix[0] == '\0' ||
	    strchr(td->suffix_sep, suffix[0]) == NULL)
		suffix = "";
	if (at == NULL)
		xasprintf(&out, "%s%s@%s", t, suffix, d->name);
	else
		xasprintf(&out, "%.*s%s%s", (int)(at - t), t, suffix, at);
	return out;
}

/* expand_alias - the targets of alias a of domain d, found for key; the
 * recipient's suffix (or "") goes to the local ones */
static void
expand_alias(struct expand *x, const struct domain *d, const struct alias *a,
    const char *key, const char *suffix, unsigned depth)
{
	char	*t;
	size_t	 i;

	if (strv_has(x->stack, x->nstack, key)) {
		note(x, depth, key, "alias loop: already being expanded");
		add_dest(x, AK_FAILED, key, "alias loop");
		return;
	}
	if (strv_has(x->done, x->ndone, key)) {
		note(x, depth, key, "expanded already for this message");
		return;
	}
	x->stack = xreallocarray(x->stack, x->nstack + 1, sizeof(*x->stack));
	x->stack[x->nstack++] = xstrdup(key);
	for (i = 0; i < a->ntargets && !x->overflow; i++) {
		if (a->targets[i][0] == '|') {
			note(x, depth + 1, a->targets[i], "pipe: the message "
			    "goes to this command's standard input");
			add_dest(x, AK_PIPE, a->targets[i], NULL);
			continue;
		}
		t = local_target(x, d, a->targets[i], suffix);
		expand_addr(x, t, depth + 1);
		free(t);
	}
	x->done = xreallocarray(x->done, x->ndone + 1, sizeof(*x->done));
	x->done[x->ndone++] = x->stack[--x->nstack];
}

/* expand_local - full (local@d, lower case) of local domain d */
static void
expand_local(struct expand *x, const struct domain *d, const char *local,
    const char *full, unsigned depth)
{
	const struct alias	*a;
	char			 base[LIM_LOCAL_PART + 1];
	char			 suffix[LIM_LOCAL_PART + 1], *nfull;

	if (domain_has_user(d, local)) {
		note(x, depth, full, "user of %s: its mailbox", d->name);
		add_dest(x, AK_LOCAL, full, NULL);
		return;
	}
	if ((a = domain_alias(d, local)) != NULL) {
		note(x, depth, full, "alias (domains/%s/aliases:%u)", d->name,
		    a->lineno);
		expand_alias(x, d, a, full, "", depth);
		return;
	}
	if (domain_normalise(d, local, base, sizeof(base), suffix,
	    sizeof(suffix)) && (domain_has_user(d, base) ||
	    (a = domain_alias(d, base)) != NULL)) {
		xasprintf(&nfull, "%s@%s", base, d->name);
		if (suffix[0] != '\0')
			note(x, depth, full, "suffix \"%s\" dropped: %s",
			    suffix, nfull);
		else
			note(x, depth, full, "characters \"%s\" dropped: %s",
			    d->drop_chars, nfull);
		if (a == NULL) {
			note(x, depth + 1, nfull, "user of %s: its mailbox",
			    d->name);
			add_dest(x, AK_LOCAL, nfull, NULL);
		} else {
			note(x, depth + 1, nfull, "alias (domains/%s/aliases:"
			    "%u)", d->name, a->lineno);
			expand_alias(x, d, a, nfull, suffix, depth + 1);
		}
		free(nfull);
		return;
	}
	if ((a = catchall(d)) != NULL) {
		note(x, depth, full, "no user or alias: the catch-all "
		    "(domains/%s/aliases:%u)", d->name, a->lineno);
		expand_alias(x, d, a, full, "", depth);
		return;
	}
	if (strcmp(local, "postmaster") == 0) {
		note(x, depth, full, "postmaster, neither user nor alias: "
		    "delivered here (RFC 5321 4.5.1)");
		add_dest(x, AK_LOCAL, full, NULL);
		return;
	}
	note(x, depth, full, "no such user or alias in %s", d->name);
	add_dest(x, AK_FAILED, full, "no such user");
}

/* expand_addr - one address at the given alias depth */
static void
expand_addr(struct expand *x, const char *addr, unsigned depth)
{
	const struct domain	*d;
	const char		*at = strrchr(addr, '@');
	char			*local = NULL, *domain = NULL, *full = NULL;

	if (depth > ALIAS_MAX_DEPTH) {
		note(x, depth, addr, "aliases nested deeper than %d",
		    ALIAS_MAX_DEPTH);
		add_dest(x, AK_FAILED, addr, "aliases nested too deep");
		return;
	}
	if (at == NULL) {
		if (strcasecmp(addr, "postmaster") != 0) {
			add_dest(x, AK_FAILED, addr, "address without domain");
			return;
		}
		xasprintf(&full, "postmaster@%s", postmaster_domain(x->conf));
		expand_addr(x, full, depth);
		free(full);
		return;
	}
	local = xstrndup(addr, (size_t)(at - addr));
	domain = xstrdup(at + 1);
	addr_lower(domain);
	if (local[0] == '\0' || domain[0] == '\0') {
		add_dest(x, AK_FAILED, addr, "malformed address");
		goto out;
	}
	if ((d = conf_domain(x->conf, domain)) == NULL) {
		xasprintf(&full, "%s@%s", local, domain);
		note(x, depth, full, "another domain: delivered to its MX");
		add_dest(x, AK_REMOTE, full, NULL);
		goto out;
	}
	/* before lowering: the original sender's local part keeps its case */
	xasprintf(&full, "%s@%s", local, d->name);
	if (expand_srs(x, full, local, depth))
		goto out;
	free(full);
	addr_lower(local);
	xasprintf(&full, "%s@%s", local, d->name);
	expand_local(x, d, local, full, depth);
out:
	free(full);
	free(domain);
	free(local);
}

/* alias_expand - expand rcpt and append its destinations to out */
int
alias_expand(const struct conf *c, const struct alias_opts *opts,
    const char *rcpt, struct alias_dests *out, size_t max, struct err *e)
{
	struct expand	x;
	size_t		i;
	int		rc = 0;

	memset(&x, 0, sizeof(x));
	x.conf = c;
	x.opts = opts;
	x.orig = rcpt;
	x.out = out;
	x.max = max;
	expand_addr(&x, rcpt, 0);
	if (x.overflow)
		rc = err_set(e, false, 0, "more than %zu recipients after "
		    "alias expansion", max);
	for (i = 0; i < x.ndone; i++)
		free(x.done[i]);
	free(x.done);
	free(x.stack);
	return rc;
}

/* alias_dests_free - release a destination list */
void
alias_dests_free(struct alias_dests *o)
{
	size_t	i;

	if (o == NULL)
		return;
	for (i = 0; i < o->n; i++) {
		free(o->v[i].addr);
		free(o->v[i].orig);
		free(o->v[i].via);
		free(o->v[i].error);
	}
	free(o->v);
	o->v = NULL;
	o->n = 0;
}
