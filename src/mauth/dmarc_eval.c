/*
 * dmarc_eval.c - DMARC for one message, RFC 9989, as a state machine.
 *
 * Pure; the caller does every lookup (asynchronously) between
 * dmarc_eval_next() and dmarc_eval_answer().  Steps:
 *   1. the DNS tree walk for the author domain (dmarc_walk_names) until
 *      the organizational domain is known (a psd= tag, or the top); the
 *      policy is the author domain's record, else the organizational
 *      domain's, else a public suffix domain's (4.10.1);
 *   2. alignment of each authenticated domain (SPF's, each passing DKIM
 *      d=): equal names align; under relaxed alignment a domain below the
 *      author's organizational domain gets a walk of its own and aligns
 *      if its organizational domain is the same; a domain not below it
 *      cannot align and costs no lookup;
 *   3. a fail takes p (at the author domain), np for an author domain
 *      that does not exist (one more lookup), else sp; t=y asks for the
 *      next less strict policy (RFC 9989's replacement of pct=0).
 * A DNS failure anywhere is a temperror, never a pass.  Several strings
 * beginning v=DMARC1 at one name count as none there, even when only
 * one of them parses.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mauth/dmarc_eval.h"
#include "strutil.h"

enum {
	PH_AUTHOR,	/* walking the author domain */
	PH_ALIGN,	/* walking auth[ai] */
	PH_EXISTS,	/* asking whether the author domain exists */
	PH_DONE,
};

/* dmarc_result_name - RFC 8601 2.7's words */
const char *
dmarc_result_name(enum dmarc_result r)
{
	static const char *const names[] = { "none", "pass", "fail",
	    "temperror" };

	return names[r];
}

/* below - is name the domain org or a name under it? */
static bool
below(const char *name, const char *org)
{
	size_t	n = strlen(name), o = strlen(org);

	if (n == o)
		return strcasecmp(name, org) == 0;
	return n > o && name[n - o - 1] == '.' &&
	    strcasecmp(name + n - o, org) == 0;
}

/* walk_start - a tree walk of domain */
static void
walk_start(struct dmarc_walk *w, const char *domain)
{
	memset(w, 0, sizeof(*w));
	(void)snprintf(w->domain, sizeof(w->domain), "%s", domain);
	w->n = dmarc_walk_names(w->domain, w->names);
}

/* done - the result */
static void
done(struct dmarc_eval *ev, enum dmarc_result r, const char *why)
{
	ev->result = r;
	ev->phase = PH_DONE;
	(void)snprintf(ev->reason, sizeof(ev->reason), "%s", why);
}

/* dmarc_eval_init - the message's identifiers */
void
dmarc_eval_init(struct dmarc_eval *ev, const char *author,
    const char *spf_domain, const char *const *dkim_d, size_t ndkim)
{
	size_t	i;

	memset(ev, 0, sizeof(*ev));
	(void)snprintf(ev->author, sizeof(ev->author), "%s", author);
	str_lower(ev->author);
	if (spf_domain != NULL) {
		(void)snprintf(ev->auth[ev->nauth], sizeof(ev->auth[0]), "%s",
		    spf_domain);
		ev->auth_spf[ev->nauth++] = true;
	}
	for (i = 0; i < ndkim && ev->nauth < DMARC_AUTH_MAX; i++)
		(void)snprintf(ev->auth[ev->nauth++], sizeof(ev->auth[0]),
		    "%s", dkim_d[i]);
	for (i = 0; i < ev->nauth; i++)
		str_lower(ev->auth[i]);
	walk_start(&ev->w, ev->author);
	if (ev->w.n == 0)
		done(ev, DMARC_R_NONE, "no author domain");
	ev->phase = ev->w.n == 0 ? PH_DONE : PH_AUTHOR;
}

/* mark - the authenticated domain ai aligns */
static void
mark(struct dmarc_eval *ev, size_t ai)
{
	if (ev->auth_spf[ai])
		ev->spf_aligned = true;
	else
		ev->dkim_aligned = true;
}

/* apply - the policy of a fail, np/sp/p and t=y */
static void
apply(struct dmarc_eval *ev, bool nxdomain)
{
	enum dmarc_policy	p = dmarc_applies(&ev->policy, ev->author,
				    ev->policy_domain, nxdomain);

	if (ev->policy.testing && p > DMARC_NONE)
		p = (enum dmarc_policy)(p - 1);
	ev->applied = p;
}

/* decide - every alignment known: pass, or the policy a fail asks for */
static void
decide(struct dmarc_eval *ev)
{
	if (ev->spf_aligned || ev->dkim_aligned) {
		done(ev, DMARC_R_PASS, ev->dkim_aligned ? "DKIM aligned" :
		    "SPF aligned");
		return;
	}
	if (strcasecmp(ev->policy_domain, ev->author) != 0) {
		/* sp or np: does the author domain exist? */
		ev->phase = PH_EXISTS;
		return;
	}
	apply(ev, false);
	done(ev, DMARC_R_FAIL, "neither SPF nor DKIM aligned");
}

/* next_align - the next authenticated domain to judge */
static void
next_align(struct dmarc_eval *ev)
{
	bool	strict;

	for (; ev->ai < ev->nauth; ev->ai++) {
		strict = ev->auth_spf[ev->ai] ? ev->policy.aspf_strict :
		    ev->policy.adkim_strict;
		if ((ev->auth_spf[ev->ai] ? ev->spf_aligned :
		    ev->dkim_aligned))
			continue;		/* that kind aligned already */
		if (strcasecmp(ev->auth[ev->ai], ev->author) == 0) {
			mark(ev, ev->ai);
			continue;
		}
		if (strict || !below(ev->auth[ev->ai], ev->author_org))
			continue;		/* cannot align */
		if (strcasecmp(ev->auth[ev->ai], ev->author_org) == 0) {
			mark(ev, ev->ai);
			continue;
		}
		walk_start(&ev->w, ev->auth[ev->ai]);
		ev->phase = PH_ALIGN;
		return;
	}
	decide(ev);
}

/* walk_end - the walk is over: its organizational domain is known */
static void
walk_end(struct dmarc_eval *ev)
{
	struct dmarc_walk	*w = &ev->w;
	const char		*org = dmarc_org_domain(w->domain, w->steps, w->i);
	int			 ps;

	if (ev->phase == PH_AUTHOR) {
		(void)snprintf(ev->author_org, sizeof(ev->author_org), "%s",
		    org);
		if ((ps = dmarc_policy_step(w->steps, w->i, org)) == -1) {
			done(ev, DMARC_R_NONE, "no DMARC record");
			return;
		}
		ev->have_policy = true;
		ev->policy = w->steps[ps].rec;
		(void)snprintf(ev->policy_domain, sizeof(ev->policy_domain),
		    "%s", w->steps[ps].name);
		ev->ai = 0;
		next_align(ev);
		return;
	}
	if (strcasecmp(org, ev->author_org) == 0)
		mark(ev, ev->ai);
	ev->ai++;
	next_align(ev);
}

/* dmarc_eval_next - the next lookup */
bool
dmarc_eval_next(struct dmarc_eval *ev, struct dmarc_query *q)
{
	while (ev->phase != PH_DONE) {
		if (ev->phase == PH_EXISTS) {
			ev->q.type = DMARC_Q_EXISTS;
			(void)snprintf(ev->q.name, sizeof(ev->q.name), "%s",
			    ev->author);
			*q = ev->q;
			return true;
		}
		if (ev->w.i == ev->w.n || ev->w.stop) {
			walk_end(ev);
			continue;
		}
		ev->q.type = DMARC_Q_TXT;
		(void)snprintf(ev->q.name, sizeof(ev->q.name), "_dmarc.%s",
		    ev->w.names[ev->w.i]);
		*q = ev->q;
		return true;
	}
	return false;
}

/* dmarc_eval_answer - one walk step, or the existence of the author */
void
dmarc_eval_answer(struct dmarc_eval *ev, const struct dmarc_answer *a)
{
	struct dmarc_step	*s;
	struct dmarc_record	 r;
	struct err		 e;
	size_t			 i, found = 0;

	if (ev->phase == PH_DONE)
		return;
	if (a->status == DMARC_DNS_TEMP) {
		done(ev, DMARC_R_TEMPERROR, "DNS error");
		return;
	}
	if (ev->phase == PH_EXISTS) {
		apply(ev, a->status == DMARC_DNS_NXDOMAIN);
		done(ev, DMARC_R_FAIL, "neither SPF nor DKIM aligned");
		return;
	}
	s = &ev->w.steps[ev->w.i];
	s->name = ev->w.names[ev->w.i];
	/* 4.10: exactly one string beginning v=DMARC1, and it parses */
	for (i = 0; a->status == DMARC_DNS_OK && i < a->n; i++)
		if (dmarc_record_is(a->txt[i], strlen(a->txt[i]))) {
			found++;
			if (dmarc_record_parse(a->txt[i], strlen(a->txt[i]),
			    &r, &e) == 0)
				s->rec = r;
			else
				found = DMARC_TXT_MAX + 1;
		}
	s->found = found == 1;
	ev->w.i++;
	/* a psd= of n, or of y above the walk's start, settles the org */
	if (s->found && (s->rec.psd == DMARC_PSD_N ||
	    (s->rec.psd == DMARC_PSD_Y && ev->w.i > 1)))
		ev->w.stop = true;
}
