/*
 * spf.c - SPF's check_host() (RFC 7208 4) as a resumable state machine.
 *
 * Pure: it never looks anything up.  spf_eval_next() names the one
 * lookup it needs, the caller does it (asynchronously, on libunbound)
 * and spf_eval_answer() resumes; so a check never blocks a loop, and a
 * unit test drives it with a table of answers.  Every limit of 4.6.4 is
 * kept: at most 10 terms that query DNS (include, a, mx, ptr, exists,
 * redirect), at most 2 void lookups, at most 10 names per mx and per
 * ptr; include and redirect nest through frames, whose depth the first
 * limit bounds.  A DNS failure is a temperror and ends the check (never
 * a silent pass); any doubt about a record is a permerror (4.6).  The
 * explanation of a fail (exp=, 6.2) is fetched last and never counted.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mauth/spf.h"
#include "mauth/spf_macro.h"
#include "mauth/spf_record.h"
#include "strutil.h"
#include "xmalloc.h"

enum phase {
	PH_RECORD,	/* the domain's TXT is asked for */
	PH_TERMS,	/* evaluating rec.t[t] and on */
	PH_MECH,	/* the term's first lookup is asked for */
	PH_ADDRS,	/* mx/ptr: the addresses of names[ni] are asked for */
	PH_INCLUDE,	/* a child frame is running for rec.t[t] */
};

struct spf_frame {
	struct spf_frame	*up;
	char			 domain[LIM_DOMAIN + 1];
	bool			 include;	/* a child of include */
	bool			 redirected;	/* reached through redirect= */
	enum phase		 ph;
	char			 text[SPF_TXT_MAX];
	struct spf_record	 rec;
	size_t			 t;
	char			 target[LIM_DOMAIN + 1];
	char			 names[SPF_MX_MAX][LIM_DOMAIN + 1];
	size_t			 nnames, ni;
};

/* spf_result_name - RFC 8601 2.7.2's words */
const char *
spf_result_name(enum spf_result r)
{
	static const char *const names[] = { "none", "neutral", "pass",
	    "fail", "softfail", "temperror", "permerror" };

	return names[r];
}

/* finish - the result of the whole check */
static void
finish(struct spf_eval *ev, enum spf_result r, const char *why)
{
	ev->result = r;
	(void)snprintf(ev->reason, sizeof(ev->reason), "%.*s",
	    (int)sizeof(ev->reason) - 1, why);
	ev->done = true;
}

/* domain_ok - 4.3: a multi-label name, labels of 1..63 bytes */
static bool
domain_ok(const char *d)
{
	size_t	label = 0, dots = 0, n = strlen(d);

	if (n == 0 || n > 253)
		return false;
	for (; *d != '\0'; d++) {
		if (*d == '.') {
			if (label == 0)
				return false;
			label = 0;
			dots++;
		} else if (++label > 63 || (unsigned char)*d <= ' ') {
			return false;
		}
	}
	return dots > 0 && (label > 0 || dots > 1);
}

/* frame_new - a check_host() of domain on top */
static int
frame_new(struct spf_eval *ev, const char *domain, bool include,
    bool redirected)
{
	struct spf_frame	*f;

	f = xcalloc(1, sizeof(*f));
	if (str_copy(f->domain, domain, sizeof(f->domain)) == -1) {
		free(f);
		return -1;
	}
	str_lower(f->domain);
	f->include = include;
	f->redirected = redirected;
	f->ph = PH_RECORD;
	f->up = ev->top;
	ev->top = f;
	ev->depth++;
	return 0;
}

/* frame_pop - drop the top frame */
static void
frame_pop(struct spf_eval *ev)
{
	struct spf_frame	*f = ev->top;

	ev->top = f->up;
	ev->depth--;
	free(f);
}

/* spf_eval_init - the inputs of check_host() */
int
spf_eval_init(struct spf_eval *ev, const struct in6_addr *ip, bool v4,
    const char *local, const char *domain, const char *helo,
    const char *receiver, unsigned long long now, struct err *e)
{
	memset(ev, 0, sizeof(*ev));
	ev->ip = *ip;
	ev->v4 = v4;
	ev->now = now;
	if (str_copy(ev->local, local[0] != '\0' ? local : "postmaster",
	    sizeof(ev->local)) == -1 || str_copy(ev->sender_domain, domain,
	    sizeof(ev->sender_domain)) == -1 || str_copy(ev->helo, helo,
	    sizeof(ev->helo)) == -1 || str_copy(ev->receiver, receiver,
	    sizeof(ev->receiver)) == -1)
		return err_set(e, false, 0, "SPF: input too long");
	str_lower(ev->sender_domain);
	if (!domain_ok(ev->sender_domain)) {
		finish(ev, SPF_NONE, "not a domain name");
		return 0;
	}
	(void)frame_new(ev, ev->sender_domain, false, false);
	return 0;
}

/* spf_eval_free - the frames */
void
spf_eval_free(struct spf_eval *ev)
{
	while (ev->top != NULL)
		frame_pop(ev);
}

/* ctx - the macro context of frame f */
static void
ctx(const struct spf_eval *ev, const struct spf_frame *f,
    struct spf_macro_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->local = ev->local;
	c->sender_domain = ev->sender_domain;
	c->domain = f->domain;
	c->helo = ev->helo;
	c->receiver = ev->receiver;
	c->now = ev->now;
	c->ptr = "unknown";
	c->family = ev->v4 ? AF_INET : AF_INET6;
	if (ev->v4)
		memcpy(&c->ip4, &ev->ip.s6_addr[12], 4);
	else
		c->ip6 = ev->ip;
}

/* in_net - is the client's address in addr/bits (addr v4-mapped or v6)? */
static bool
in_net(const struct spf_eval *ev, const struct in6_addr *a, int bits,
    bool v4)
{
	int	i, full;

	if (v4 != ev->v4)
		return false;
	if (v4)
		bits += 96;
	full = bits / 8;
	for (i = 0; i < full; i++)
		if (a->s6_addr[i] != ev->ip.s6_addr[i])
			return false;
	if (bits % 8 == 0)
		return true;
	return ((a->s6_addr[full] ^ ev->ip.s6_addr[full]) &
	    (0xff << (8 - bits % 8))) == 0;
}

/* ask - the lookup the next spf_eval_next returns */
static void
ask(struct spf_eval *ev, enum spf_qtype type, const char *name)
{
	ev->q.type = type;
	(void)snprintf(ev->q.name, sizeof(ev->q.name), "%s", name);
}

/* addr_type - A or AAAA, as the client's address */
static enum spf_qtype
addr_type(const struct spf_eval *ev)
{
	return ev->v4 ? SPF_Q_A : SPF_Q_AAAA;
}

/* reverse - the PTR name of the client's address */
static void
reverse(const struct spf_eval *ev, char *out, size_t outsz)
{
	const unsigned char	*b = ev->ip.s6_addr;
	size_t			 n = 0;
	int			 i;

	if (ev->v4) {
		(void)snprintf(out, outsz, "%u.%u.%u.%u.in-addr.arpa", b[15],
		    b[14], b[13], b[12]);
		return;
	}
	for (i = 15; i >= 0; i--)
		n += (size_t)snprintf(out + n, outsz - n, "%x.%x.", b[i] & 15,
		    b[i] >> 4);
	(void)snprintf(out + n, outsz - n, "ip6.arpa");
}

static void	matched(struct spf_eval *);

/* frame_result - frame f decided r: up to its include, or the end */
static void
frame_result(struct spf_eval *ev, enum spf_result r, const char *why)
{
	struct spf_frame	*f = ev->top, *p;
	struct spf_macro_ctx	 c;
	struct err		 e;
	char			 name[LIM_DOMAIN + 1];

	if (r == SPF_TEMPERROR || r == SPF_PERMERROR) {
		finish(ev, r, why);
		return;
	}
	if (!f->include) {
		finish(ev, r, why);
		/* 6.2: the explanation of a fail, from this record */
		if (r == SPF_FAIL && f->rec.exp != NULL) {
			ctx(ev, f, &c);
			if (spf_macro_expand(f->rec.exp, f->rec.explen, &c, false,
			    true, name, sizeof(name), &e) == 0 &&
			    domain_ok(name)) {
				ev->done = false;
				ev->want_exp = true;
				ask(ev, SPF_Q_TXT, name);
			}
		}
		return;
	}
	frame_pop(ev);
	p = ev->top;
	/* 5.2: include matches on pass; an error is the whole check's */
	if (r == SPF_PASS) {
		p->ph = PH_TERMS;
		matched(ev);
		return;
	}
	if (r == SPF_NONE) {
		finish(ev, SPF_PERMERROR, "include of a domain without SPF");
		return;
	}
	p->t++;
	p->ph = PH_TERMS;
}

/* qual_result - the result a matching term's qualifier gives */
static enum spf_result
qual_result(enum spf_qual q)
{
	switch (q) {
	case SPF_QUAL_FAIL:
		return SPF_FAIL;
	case SPF_QUAL_SOFTFAIL:
		return SPF_SOFTFAIL;
	case SPF_QUAL_NEUTRAL:
		return SPF_NEUTRAL;
	default:
		return SPF_PASS;
	}
}

/* matched - the current term of the top frame matches */
static void
matched(struct spf_eval *ev)
{
	struct spf_frame	*f = ev->top;
	const struct spf_term	*t = &f->rec.t[f->t];
	char			 why[320];

	(void)snprintf(why, sizeof(why), "matched term %zu of %s", f->t + 1,
	    f->domain);
	frame_result(ev, qual_result(t->qual), why);
}

/* target - the term's domain-spec expanded, or the frame's domain */
static int
target(struct spf_eval *ev, const char *spec, size_t len)
{
	struct spf_frame	*f = ev->top;
	struct spf_macro_ctx	 c;
	struct err		 e;

	if (spec == NULL)
		return str_copy(f->target, f->domain, sizeof(f->target));
	ctx(ev, f, &c);
	if (spf_macro_expand(spec, len, &c, false, true, f->target,
	    sizeof(f->target), &e) == -1)
		return -1;
	str_lower(f->target);
	return 0;
}

/* dns_term - one more term that queries DNS; false past the limit */
static bool
dns_term(struct spf_eval *ev)
{
	if (++ev->dns_mechs > SPF_DNS_MECHS_MAX) {
		finish(ev, SPF_PERMERROR, "more than 10 DNS-querying terms");
		return false;
	}
	return true;
}

/* step_term - evaluate the top frame's current term; true: a lookup */
static bool
step_term(struct spf_eval *ev)
{
	struct spf_frame	*f = ev->top;
	const struct spf_term	*t;
	struct in6_addr		 a;
	char			 name[LIM_DOMAIN + 1];

	if (f->t == f->rec.n) {
		if (f->rec.redirect == NULL) {
			frame_result(ev, SPF_NEUTRAL, "no term matched");
			return false;
		}
		if (!dns_term(ev))
			return false;
		if (target(ev, f->rec.redirect, f->rec.redirectlen) == -1 ||
		    !domain_ok(f->target)) {
			finish(ev, SPF_PERMERROR, "bad redirect target");
			return false;
		}
		/* 6.1: the redirect's result replaces this record's */
		(void)snprintf(name, sizeof(name), "%s", f->target);
		(void)snprintf(f->domain, sizeof(f->domain), "%s", name);
		f->redirected = true;
		f->ph = PH_RECORD;
		return false;
	}
	t = &f->rec.t[f->t];
	switch (t->mech) {
	case SPF_MECH_ALL:
		matched(ev);
		return false;
	case SPF_MECH_IP4:
		memset(&a, 0, sizeof(a));
		a.s6_addr[10] = a.s6_addr[11] = 0xff;
		memcpy(&a.s6_addr[12], &t->ip4, 4);
		if (in_net(ev, &a, t->cidr4, true))
			matched(ev);
		else
			f->t++;
		return false;
	case SPF_MECH_IP6:
		if (in_net(ev, &t->ip6, t->cidr6, false))
			matched(ev);
		else
			f->t++;
		return false;
	default:
		break;
	}
	if (!dns_term(ev))
		return false;
	if (target(ev, t->domain, t->domainlen) == -1 ||
	    !domain_ok(f->target)) {
		finish(ev, SPF_PERMERROR, "domain-spec does not expand to a "
		    "domain name");
		return false;
	}
	switch (t->mech) {
	case SPF_MECH_INCLUDE:
		f->ph = PH_INCLUDE;
		(void)frame_new(ev, f->target, true, false);
		return false;
	case SPF_MECH_A:
		ask(ev, addr_type(ev), f->target);
		break;
	case SPF_MECH_EXISTS:
		ask(ev, SPF_Q_A, f->target);
		break;
	case SPF_MECH_MX:
		ask(ev, SPF_Q_MX, f->target);
		break;
	default:	/* ptr */
		reverse(ev, name, sizeof(name));
		ask(ev, SPF_Q_PTR, name);
		break;
	}
	f->ph = PH_MECH;
	return true;
}

/* spf_eval_next - the next lookup, or false when done */
bool
spf_eval_next(struct spf_eval *ev, struct spf_query *q)
{
	struct spf_frame	*f;

	while (!ev->done) {
		if (ev->want_exp) {
			*q = ev->q;
			return true;
		}
		f = ev->top;
		switch (f->ph) {
		case PH_RECORD:
			ask(ev, SPF_Q_TXT, f->domain);
			*q = ev->q;
			return true;
		case PH_TERMS:
			if (step_term(ev)) {
				*q = ev->q;
				return true;
			}
			break;
		case PH_ADDRS:
			ask(ev, addr_type(ev), f->names[f->ni]);
			*q = ev->q;
			return true;
		default:	/* PH_MECH, PH_INCLUDE: an answer is due */
			*q = ev->q;
			return true;
		}
	}
	return false;
}

/* answer_record - the TXT of a frame's domain: exactly one v=spf1 */
static void
answer_record(struct spf_eval *ev, const struct spf_answer *a)
{
	struct spf_frame	*f = ev->top;
	struct err		 e;
	const char		*rec = NULL;
	size_t			 i, n = 0;

	if (a->status == SPF_DNS_TEMP) {
		finish(ev, SPF_TEMPERROR, "DNS error looking up the record");
		return;
	}
	for (i = 0; a->status == SPF_DNS_OK && i < a->n; i++)
		if (spf_record_is_spf(a->names[i], strlen(a->names[i]))) {
			rec = a->names[i];
			n++;
		}
	if (n > 1) {
		finish(ev, SPF_PERMERROR, "more than one SPF record");
		return;
	}
	if (n == 0) {
		if (f->include || f->redirected) {
			finish(ev, SPF_PERMERROR, f->include ?
			    "include of a domain without SPF" :
			    "redirect to a domain without SPF");
			return;
		}
		finish(ev, SPF_NONE, "no SPF record");
		return;
	}
	if (str_copy(f->text, rec, sizeof(f->text)) == -1 ||
	    spf_record_parse(f->text, strlen(f->text), &f->rec, &e) == -1) {
		finish(ev, SPF_PERMERROR, strlen(rec) >= sizeof(f->text) ?
		    "record too long" : e.msg);
		return;
	}
	f->t = 0;
	f->ph = PH_TERMS;
}

/* void_lookup - a lookup with no answer; false past the limit */
static bool
void_lookup(struct spf_eval *ev, const struct spf_answer *a)
{
	if (a->status == SPF_DNS_OK && a->n > 0)
		return true;
	if (++ev->voids > SPF_VOID_MAX) {
		finish(ev, SPF_PERMERROR, "more than 2 void lookups");
		return false;
	}
	return true;
}

/* any_addr - does an answer hold an address in the term's network? */
static bool
any_addr(struct spf_eval *ev, const struct spf_answer *a)
{
	const struct spf_term	*t = &ev->top->rec.t[ev->top->t];
	size_t			 i;

	for (i = 0; a->status == SPF_DNS_OK && i < a->n; i++)
		if (in_net(ev, &a->addrs[i], ev->v4 ? t->cidr4 : t->cidr6,
		    ev->v4))
			return true;
	return false;
}

/* names_from - keep the answer's names (mx, ptr) for their lookups */
static void
names_from(struct spf_frame *f, const struct spf_answer *a)
{
	size_t	i;

	f->nnames = 0;
	for (i = 0; i < a->n && f->nnames < SPF_PTR_MAX; i++)
		if (str_copy(f->names[f->nnames], a->names[i],
		    sizeof(f->names[0])) == 0) {
			str_lower(f->names[f->nnames]);
			f->nnames++;
		}
	f->ni = 0;
}

/* next_term - no match: on to the next term */
static void
next_term(struct spf_frame *f)
{
	f->t++;
	f->ph = PH_TERMS;
}

/* sub_or_same - is name target, or a name below it? */
static bool
sub_or_same(const char *name, const char *target)
{
	size_t	n = strlen(name), t = strlen(target);

	if (n == t)
		return strcasecmp(name, target) == 0;
	return n > t && name[n - t - 1] == '.' &&
	    strcasecmp(name + n - t, target) == 0;
}

/* answer_mech - the first lookup of a, exists, mx or ptr */
static void
answer_mech(struct spf_eval *ev, const struct spf_answer *a)
{
	struct spf_frame	*f = ev->top;
	enum spf_mech		 m = f->rec.t[f->t].mech;

	if (a->status == SPF_DNS_TEMP) {
		if (m == SPF_MECH_PTR) {	/* 5.5: no match */
			next_term(f);
			return;
		}
		finish(ev, SPF_TEMPERROR, "DNS error in a mechanism");
		return;
	}
	if (!void_lookup(ev, a))
		return;
	switch (m) {
	case SPF_MECH_A:
		if (any_addr(ev, a))
			matched(ev);
		else
			next_term(f);
		return;
	case SPF_MECH_EXISTS:
		if (a->status == SPF_DNS_OK && a->n > 0)
			matched(ev);
		else
			next_term(f);
		return;
	case SPF_MECH_MX:
		if (a->status == SPF_DNS_OK && a->n > SPF_MX_MAX) {
			finish(ev, SPF_PERMERROR, "mx with more than 10 names");
			return;
		}
		break;
	default:
		break;
	}
	if (a->status != SPF_DNS_OK || a->n == 0) {
		next_term(f);
		return;
	}
	names_from(f, a);
	f->ph = f->nnames > 0 ? PH_ADDRS : PH_TERMS;
	if (f->nnames == 0)
		f->t++;
}

/* answer_addrs - the addresses of one mx or ptr name */
static void
answer_addrs(struct spf_eval *ev, const struct spf_answer *a)
{
	struct spf_frame	*f = ev->top;
	bool			 ptr = f->rec.t[f->t].mech == SPF_MECH_PTR;
	size_t			 i;

	if (a->status == SPF_DNS_TEMP && !ptr) {
		finish(ev, SPF_TEMPERROR, "DNS error looking up an mx host");
		return;
	}
	if (ptr) {
		/* 5.5: a name whose addresses include the client's, at or
		 * below the target, validates and matches */
		for (i = 0; a->status == SPF_DNS_OK && i < a->n; i++)
			if (memcmp(&a->addrs[i], &ev->ip, sizeof(ev->ip)) == 0 &&
			    sub_or_same(f->names[f->ni], f->target)) {
				matched(ev);
				return;
			}
	} else if (any_addr(ev, a)) {
		matched(ev);
		return;
	}
	if (++f->ni == f->nnames)
		next_term(f);
}

/* answer_exp - the explanation's TXT, expanded; failures ignored */
static void
answer_exp(struct spf_eval *ev, const struct spf_answer *a)
{
	struct spf_macro_ctx	c;
	struct err		e;

	ev->want_exp = false;
	ev->done = true;
	if (a->status != SPF_DNS_OK || a->n != 1)
		return;
	ctx(ev, ev->top, &c);
	if (spf_macro_expand(a->names[0], strlen(a->names[0]), &c, true,
	    false, ev->explanation, sizeof(ev->explanation), &e) == -1)
		ev->explanation[0] = '\0';
	str_sanitize(ev->explanation);
}

/* spf_eval_answer - resume with the answer to the last query */
void
spf_eval_answer(struct spf_eval *ev, const struct spf_answer *a)
{
	if (ev->want_exp) {
		answer_exp(ev, a);
		return;
	}
	if (ev->done || ev->top == NULL)
		return;
	switch (ev->top->ph) {
	case PH_RECORD:
		answer_record(ev, a);
		break;
	case PH_MECH:
		answer_mech(ev, a);
		break;
	case PH_ADDRS:
		answer_addrs(ev, a);
		break;
	default:
		break;
	}
}
