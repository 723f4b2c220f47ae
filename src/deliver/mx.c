/*
 * mx.c - where to deliver a domain's mail: MX, then A/AAAA of each host.
 *
 * RFC 5321 5.1: the MX records are tried in order of preference, lowest
 * first, and hosts of equal preference in random order (so load spreads);
 * a domain without MX records is its own implicit MX of preference 0.
 * RFC 7505: a single MX whose host is "." (a null MX) says the domain
 * accepts no mail: permanent failure with status 5.1.10.
 *
 * The plan is made in three pure steps, so they can be tested without
 * DNS: mx_plan_build() orders the hosts of the MX answer, the address
 * answers of each host go through mx_addrset_from_result() and
 * mx_host_set_addrs(), and mx_plan_finish() drops the hosts without an
 * address and decides whether anything is left to try.  mx_resolve() is
 * the asynchronous glue around them: one MX query, then the A and AAAA
 * queries of all hosts at once.
 *
 * Bounds: at most DNS_MAX_RR records of an answer are looked at (dns.c),
 * MX_MAX_HOSTS hosts are kept (the best ones) and MX_MAX_ADDRS addresses
 * per host.  Failure classes: NXDOMAIN of the domain is permanent
 * (5.1.2); SERVFAIL, a timeout, a bogus DNSSEC answer or malformed records
 * are temporary (4.4.3); no host with an address is permanent (5.4.4)
 * unless one of the address lookups failed temporarily (4.4.3).
 *
 * Address literals (RFC 5321 4.1.3) are routed without DNS by
 * mx_plan_literal(): the literal is its own single host with its one
 * address.  "[a.b.c.d]" is IPv4, "[IPv6:...]" (tag in any case) IPv6, both
 * read by inet_pton(3); an IPv4-mapped IPv6 address is the IPv4 address
 * it maps.  A general literal ("[tag:content]"), a malformed address, or
 * one that cannot be a mail server (unspecified or 0.0.0.0/8, multicast,
 * the limited broadcast 255.255.255.255, reserved 240.0.0.0/4, IPv6
 * site-local and IPv4-compatible (both deprecated), IPv6 link-local, which
 * needs an interface a mail address cannot name) fails for good (5.1.2),
 * and so does a family outbound_ip_family excludes (5.4.4): no retry
 * could help.
 * Loopback and private addresses are allowed: the admin's network, the
 * admin's choice (and the tests' peers).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "err.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"
#include "deliver/dns.h"
#include "deliver/mx.h"

#define ESC_TEMP	"4.4.3"		/* directory server failure */
#define ESC_NODOMAIN	"5.1.2"		/* bad destination system address */
#define ESC_NULLMX	"5.1.10"	/* RFC 7505 3: null MX */
#define ESC_NOROUTE	"5.4.4"		/* unable to route */

#define LIT_V6_TAG	"IPv6"		/* RFC 5321 4.1.3, case-insensitive */
#define LIT_V6_TAG_LEN	(sizeof(LIT_V6_TAG) - 1)
#define LIT_SHOW	64		/* octets of a literal in a message */

/* one address query of one host */
struct mx_sub {
	struct mx_req		*req;
	size_t			 host;
	int			 fam;		/* 0: A, 1: AAAA */
	int			 qid;		/* outstanding query, or 0 */
	struct mx_addrset	*set;		/* its answer, until combined */
};

struct mx_req {
	struct dns		*dns;
	enum ip_family_pref	 fam;
	mx_cb			 cb;
	void			*arg;
	int			 mx_qid;	/* outstanding MX query, or 0 */
	size_t			 pending;	/* address queries out */
	struct event		*later;		/* a plan made at once */
	struct mx_sub		*subs;		/* 2 per host of the plan */
	size_t			 nsubs;
	struct mx_plan		*plan;
};

static const struct {
	const char		*name;
	enum ip_family_pref	 fam;
} mx_families[] = {
	{ "both",	FAM_BOTH_V6_FIRST },
	{ "ipv6-first",	FAM_BOTH_V6_FIRST },
	{ "ipv4-first",	FAM_BOTH_V4_FIRST },
	{ "ipv4",	FAM_V4_ONLY },
	{ "ipv6",	FAM_V6_ONLY },
};

/* plan_fail - the plan ends here; always returns -1 */
static int
plan_fail(struct mx_plan *p, bool temp, const char *status, const char *why)
{
	p->ok = false;
	p->nhosts = 0;
	(void)str_copy(p->status, status, sizeof(p->status));
	return err_set(&p->err, temp, 0, "%s: %s", p->domain, why);
}

/* default_rand - uniform in [0, upper) */
static uint32_t
default_rand(void *arg, uint32_t upper)
{
	(void)arg;
	return arc4random_uniform(upper);
}

/* mx_plan_build - stage 1: the MX answer to an ordered host list */
int
mx_plan_build(struct mx_plan *p, const char *domain,
    const struct dns_result *mx, mx_rand_fn rnd, void *rand_arg)
{
	char		 why[200];
	uint16_t	 order[DNS_MAX_RR];
	size_t		 n = 0, i, j;
	uint16_t	 t;

	memset(p, 0, sizeof(*p));
	if (rnd == NULL)
		rnd = default_rand;
	if (str_copy(p->domain, domain, sizeof(p->domain)) == -1 ||
	    domain[0] == '\0')
		return plan_fail(p, false, ESC_NODOMAIN, "bad domain name");
	if (mx->bogus) {
		/* a long reason is cut short: it is only for the log */
		(void)snprintf(why, sizeof(why), "MX lookup: DNSSEC validation "
		    "failed: %s", mx->why != NULL ? mx->why : "bogus");
		return plan_fail(p, true, ESC_TEMP, why);
	}
	if (mx->timeout)
		return plan_fail(p, true, ESC_TEMP, "MX lookup timed out");
	if (mx->nxdomain || mx->rcode == DNS_R_NXDOMAIN)
		return plan_fail(p, false, ESC_NODOMAIN, "no such domain");
	if (mx->rcode != DNS_R_NOERROR) {
		(void)snprintf(why, sizeof(why),
		    "MX lookup failed (rcode %d%s%s)", mx->rcode,
		    mx->why != NULL ? ": " : "",
		    mx->why != NULL ? mx->why : "");
		return plan_fail(p, true, ESC_TEMP, why);
	}
	p->mx_secure = mx->secure;
	p->nbad = mx->nbad;
	if (mx->nmx == 0) {
		if (mx->nbad > 0)
			return plan_fail(p, true, ESC_TEMP,
			    "malformed MX records");
		/* RFC 5321 5.1: no MX, the domain is its own implicit MX */
		p->implicit = true;
		memcpy(p->hosts[0].name, p->domain, sizeof(p->domain));
		p->hosts[0].pref = 0;
		p->nhosts = 1;
		p->ok = true;
		return 0;
	}
	for (i = 0; i < mx->nmx && i < DNS_MAX_RR; i++) {
		if (strcmp(mx->mx[i].host, ".") != 0)
			order[n++] = (uint16_t)i;
	}
	if (n == 0) {
		/*
		 * RFC 7505 3: a null MX is a single record "0 ."; a domain
		 * with nothing but "." hosts does not take mail either.
		 */
		return plan_fail(p, false, ESC_NULLMX,
		    "domain does not accept mail (null MX)");
	}
	/* Fisher-Yates, then a stable sort: equal preferences stay shuffled */
	for (i = n - 1; i > 0; i--) {
		j = rnd(rand_arg, (uint32_t)i + 1);
		if (j > i)
			j = i;
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (i = 1; i < n; i++) {
		t = order[i];
		for (j = i; j > 0 && mx->mx[order[j - 1]].pref >
		    mx->mx[t].pref; j--)
			order[j] = order[j - 1];
		order[j] = t;
	}
	for (i = 0; i < n && p->nhosts < MX_MAX_HOSTS; i++) {
		const struct dns_mx	*r = &mx->mx[order[i]];

		/* the same host twice: keep its best preference only */
		for (j = 0; j < p->nhosts; j++)
			if (strcasecmp(p->hosts[j].name, r->host) == 0)
				break;
		if (j < p->nhosts)
			continue;
		memcpy(p->hosts[p->nhosts].name, r->host, sizeof(r->host));
		p->hosts[p->nhosts].pref = r->pref;
		p->nhosts++;
	}
	p->ok = true;
	return 0;
}

/* mx_addrset_from_result - classify one A/AAAA answer, keep its addresses */
void
mx_addrset_from_result(struct mx_addrset *s, const struct dns_result *r)
{
	size_t	i;
	int	af = r->qtype == DNS_T_AAAA ? AF_INET6 : AF_INET;

	memset(s, 0, sizeof(*s));
	s->secure = r->secure;
	if (r->bogus || r->timeout) {
		s->status = MXL_TEMP;
		return;
	}
	if (r->nxdomain || r->rcode == DNS_R_NXDOMAIN) {
		s->status = MXL_NOADDR;
		return;
	}
	if (r->rcode != DNS_R_NOERROR) {
		s->status = MXL_TEMP;
		return;
	}
	for (i = 0; i < r->naddr && s->n < MX_MAX_ADDRS; i++)
		if (r->addr[i].ss_family == af)
			s->addr[s->n++] = r->addr[i];
	if (s->n > 0)
		s->status = MXL_OK;
	else
		s->status = r->nbad > 0 ? MXL_TEMP : MXL_NOADDR;
}

/* mx_host_set_addrs - stage 2: a host's addresses in the order to try */
void
mx_host_set_addrs(struct mx_host *h, const struct mx_addrset *v4,
    const struct mx_addrset *v6, enum ip_family_pref fam)
{
	const struct mx_addrset	*first, *second;
	size_t			 n1, n2, half = MX_MAX_ADDRS / 2, i;

	switch (fam) {
	case FAM_V4_ONLY:
		first = v4;
		second = NULL;
		break;
	case FAM_V6_ONLY:
		first = v6;
		second = NULL;
		break;
	case FAM_BOTH_V4_FIRST:
		first = v4;
		second = v6;
		break;
	case FAM_BOTH_V6_FIRST:
	default:
		first = v6;
		second = v4;
		break;
	}
	n1 = first != NULL && first->status == MXL_OK ? first->n : 0;
	n2 = second != NULL && second->status == MXL_OK ? second->n : 0;
	if (n1 > MX_MAX_ADDRS)
		n1 = MX_MAX_ADDRS;
	if (n2 > MX_MAX_ADDRS)
		n2 = MX_MAX_ADDRS;
	/* both families keep a share: the first what the second leaves */
	if (n1 > MX_MAX_ADDRS - (n2 < half ? n2 : half))
		n1 = MX_MAX_ADDRS - (n2 < half ? n2 : half);
	if (n2 > MX_MAX_ADDRS - n1)
		n2 = MX_MAX_ADDRS - n1;
	h->naddrs = 0;
	for (i = 0; i < n1; i++)
		h->addrs[h->naddrs++] = first->addr[i];
	for (i = 0; i < n2; i++)
		h->addrs[h->naddrs++] = second->addr[i];
	h->addr_temp = (first != NULL && first->status == MXL_TEMP) ||
	    (second != NULL && second->status == MXL_TEMP);
	h->secure = (first == NULL || first->status == MXL_NONE ||
	    first->secure) && (second == NULL || second->status == MXL_NONE ||
	    second->secure) && (first != NULL || second != NULL);
}

/* mx_plan_finish - stage 3: drop hosts without addresses, classify failure */
int
mx_plan_finish(struct mx_plan *p)
{
	size_t	i, n = 0;
	bool	temp = false;

	if (!p->ok)
		return -1;
	for (i = 0; i < p->nhosts; i++) {
		if (p->hosts[i].naddrs == 0) {
			temp |= p->hosts[i].addr_temp;
			p->nskipped++;
			continue;
		}
		if (n != i)
			p->hosts[n] = p->hosts[i];
		n++;
	}
	p->nhosts = n;
	if (n > 0)
		return 0;
	if (temp)
		return plan_fail(p, true, ESC_TEMP, "address lookup of the "
		    "mail servers failed");
	if (p->implicit)
		return plan_fail(p, false, ESC_NOROUTE, "no MX and no address "
		    "record for the domain");
	return plan_fail(p, false, ESC_NOROUTE, "no mail server of the domain "
	    "has an address");
}

/* lit_v4_refused - why an IPv4 address is no mail server, or NULL */
static const char *
lit_v4_refused(const struct in_addr *a)
{
	uint32_t	h = ntohl(a->s_addr);

	if (h == 0)
		return "the unspecified address is not a destination";
	if ((h >> 24) == 0)
		return "0.0.0.0/8 (this network) is not a destination";
	if ((h >> 28) == 0xe)
		return "a multicast address is not a destination";
	if (h == 0xffffffffU)
		return "the broadcast address is not a destination";
	if ((h >> 28) == 0xf)
		return "240.0.0.0/4 is reserved, not a destination";
	return NULL;
}

/* lit_v6_refused - why an IPv6 address is no mail server, or NULL */
static const char *
lit_v6_refused(const struct in6_addr *a)
{
	if (IN6_IS_ADDR_UNSPECIFIED(a))
		return "the unspecified address is not a destination";
	if (IN6_IS_ADDR_MULTICAST(a))
		return "a multicast address is not a destination";
	if (IN6_IS_ADDR_LINKLOCAL(a))
		return "a link-local address is not a destination (a mail "
		    "address cannot name its interface)";
	if (IN6_IS_ADDR_SITELOCAL(a))
		return "a site-local address (fec0::/10, deprecated by RFC "
		    "3879) is not a destination";
	if (IN6_IS_ADDR_V4COMPAT(a))
		return "an IPv4-compatible address (deprecated by RFC 4291) "
		    "is not a destination";
	return NULL;
}

/*
 * lit_fail - a literal's plan ends here, for good; always returns -1.  A
 * literal too long to be an address is cut short in the message, so the
 * reason always fits in it (the longest address literal is 52 octets).
 */
static int
lit_fail(struct mx_plan *p, const char *lit, const char *status,
    const char *why)
{
	(void)plan_fail(p, false, status, why);
	return err_set(&p->err, false, 0, "%.*s%s: %s", LIT_SHOW, lit,
	    strlen(lit) > LIT_SHOW ? "..." : "", why);
}

/* mx_plan_literal - an address literal's plan: one host, one address */
int
mx_plan_literal(struct mx_plan *p, const char *domain,
    enum ip_family_pref fam)
{
	char			 text[INET6_ADDRSTRLEN];
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;
	struct mx_host		*h;
	const char		*in, *colon, *why;
	size_t			 len, n;
	bool			 v6;

	memset(p, 0, sizeof(*p));
	memset(&ss, 0, sizeof(ss));
	p->literal = true;
	if (str_copy(p->domain, domain, sizeof(p->domain)) == -1)
		return lit_fail(p, domain, ESC_NODOMAIN,
		    "address literal too long");
	len = strlen(domain);
	if (len < 3 || domain[0] != '[' || domain[len - 1] != ']')
		return lit_fail(p, p->domain, ESC_NODOMAIN,
		    "not an address literal");
	in = domain + 1;
	n = len - 2;
	/* a tag is an Ldh-str before ":"; IPv4 has no colon at all */
	if ((colon = memchr(in, ':', n)) != NULL) {
		if ((size_t)(colon - in) != LIT_V6_TAG_LEN ||
		    strncasecmp(in, LIT_V6_TAG, LIT_V6_TAG_LEN) != 0)
			return lit_fail(p, p->domain, ESC_NODOMAIN,
			    colon == in ? "an IPv6 address literal needs the "
			    "\"IPv6:\" tag" : "general address literals are "
			    "not supported (only IPv4 and \"IPv6:\")");
		memcpy(p->domain + 1, LIT_V6_TAG, LIT_V6_TAG_LEN);
		in = colon + 1;
		n -= LIT_V6_TAG_LEN + 1;
	}
	v6 = colon != NULL;
	if (n == 0 || n >= sizeof(text))
		goto bad;
	memcpy(text, in, n);
	text[n] = '\0';
	if (v6) {
		if (inet_pton(AF_INET6, text, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			/* ::ffff:a.b.c.d is reached over IPv4 */
			struct in_addr	a4;

			memcpy(&a4, &s6->sin6_addr.s6_addr[12], sizeof(a4));
			memset(&ss, 0, sizeof(ss));
			s4->sin_family = AF_INET;
			s4->sin_addr = a4;
		}
	} else {
		if (inet_pton(AF_INET, text, &s4->sin_addr) != 1)
			goto bad;
		s4->sin_family = AF_INET;
	}
	why = ss.ss_family == AF_INET ? lit_v4_refused(&s4->sin_addr) :
	    lit_v6_refused(&s6->sin6_addr);
	if (why != NULL)
		return lit_fail(p, p->domain, ESC_NODOMAIN, why);
	if (ss.ss_family == AF_INET6 && fam == FAM_V4_ONLY)
		return lit_fail(p, p->domain, ESC_NOROUTE,
		    "an IPv6 destination, and outbound_ip_family is ipv4");
	if (ss.ss_family == AF_INET && fam == FAM_V6_ONLY)
		return lit_fail(p, p->domain, ESC_NOROUTE,
		    "an IPv4 destination, and outbound_ip_family is ipv6");
	h = &p->hosts[0];
	memcpy(h->name, p->domain, sizeof(p->domain));
	h->naddrs = 1;
	h->addrs[0] = ss;
	p->nhosts = 1;
	p->ok = true;
	return 0;
bad:
	return lit_fail(p, p->domain, ESC_NODOMAIN, v6 ?
	    "address literal is not a valid IPv6 address" :
	    "address literal is not a valid IPv4 address");
}

/* mx_family_parse - a family preference by name */
int
mx_family_parse(const char *s, enum ip_family_pref *fam)
{
	size_t	i;

	for (i = 0; i < sizeof(mx_families) / sizeof(mx_families[0]); i++)
		if (strcmp(s, mx_families[i].name) == 0) {
			*fam = mx_families[i].fam;
			return 0;
		}
	return -1;
}

/* --- asynchronous resolution -------------------------------------------- */

/* mx_req_free - cancel what is outstanding and free the request */
static void
mx_req_free(struct mx_req *req)
{
	size_t	i;

	if (req->mx_qid != 0)
		dns_cancel(req->dns, req->mx_qid);
	if (req->subs != NULL) {
		for (i = 0; i < req->nsubs; i++) {
			if (req->subs[i].qid != 0)
				dns_cancel(req->dns, req->subs[i].qid);
			free(req->subs[i].set);
		}
		free(req->subs);
	}
	if (req->later != NULL)
		event_free(req->later);
	free(req->plan);
	free(req);
}

/* mx_done - the plan is final: tell the owner, then forget the request */
static void
mx_done(struct mx_req *req)
{
	req->cb(req->arg, req->plan);
	mx_req_free(req);
}

/* mx_later - deliver a plan made without a query (failed, or a literal) */
static void
mx_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	mx_done(arg);
}

/* mx_host_ready - both lookups of a host are in: order its addresses */
static void
mx_host_ready(struct mx_req *req, size_t host)
{
	struct mx_sub	*v4 = &req->subs[2 * host];
	struct mx_sub	*v6 = &req->subs[2 * host + 1];

	if (v4->qid != 0 || v6->qid != 0)
		return;
	mx_host_set_addrs(&req->plan->hosts[host], v4->set, v6->set, req->fam);
	free(v4->set);
	free(v6->set);
	v4->set = v6->set = NULL;
}

/* mx_addr_answer - an A or AAAA answer for one host */
static void
mx_addr_answer(void *arg, const struct dns_result *res)
{
	struct mx_sub	*sub = arg;
	struct mx_req	*req = sub->req;

	sub->qid = 0;
	sub->set = xmalloc(sizeof(*sub->set));
	mx_addrset_from_result(sub->set, res);
	mx_host_ready(req, sub->host);
	if (--req->pending > 0)
		return;
	(void)mx_plan_finish(req->plan);
	mx_done(req);
}

/* mx_start_addrs - ask A and/or AAAA of every host of the plan at once */
static void
mx_start_addrs(struct mx_req *req)
{
	struct mx_plan	*p = req->plan;
	struct mx_sub	*sub;
	size_t		 i;
	int		 f, id;
	bool		 want[2];

	want[0] = req->fam != FAM_V6_ONLY;
	want[1] = req->fam != FAM_V4_ONLY;
	req->nsubs = 2 * p->nhosts;
	req->subs = xcalloc(req->nsubs, sizeof(*req->subs));
	for (i = 0; i < p->nhosts; i++) {
		for (f = 0; f < 2; f++) {
			sub = &req->subs[2 * i + f];
			sub->req = req;
			sub->host = i;
			sub->fam = f;
			if (!want[f])
				continue;
			id = dns_query(req->dns, p->hosts[i].name,
			    f == 0 ? DNS_T_A : DNS_T_AAAA, mx_addr_answer, sub);
			if (id == -1) {
				/* could not even ask: as good as SERVFAIL */
				sub->set = xcalloc(1, sizeof(*sub->set));
				sub->set->status = MXL_TEMP;
				continue;
			}
			sub->qid = id;
			req->pending++;
		}
	}
	for (i = 0; i < p->nhosts; i++)
		mx_host_ready(req, i);
	if (req->pending == 0) {
		(void)mx_plan_finish(p);
		mx_done(req);
	}
}

/* mx_answer - the MX answer of the domain */
static void
mx_answer(void *arg, const struct dns_result *res)
{
	struct mx_req	*req = arg;
	char		 domain[DNS_NAME_SIZE];

	req->mx_qid = 0;
	memcpy(domain, req->plan->domain, sizeof(domain));
	if (mx_plan_build(req->plan, domain, res, NULL, NULL) == -1) {
		mx_done(req);
		return;
	}
	mx_start_addrs(req);
}

/* mx_resolve - start the MX lookup; the plan comes to cb */
struct mx_req *
mx_resolve(struct dns *dns, const char *domain, enum ip_family_pref fam,
    mx_cb cb, void *arg)
{
	struct mx_req	*req;
	struct timeval	 now = { 0, 0 };
	int		 id;

	req = xcalloc(1, sizeof(*req));
	req->dns = dns;
	req->fam = fam;
	req->cb = cb;
	req->arg = arg;
	req->plan = xcalloc(1, sizeof(*req->plan));
	if (domain[0] == '[') {
		/* RFC 5321 4.1.3: the address is given, nothing to look up */
		(void)mx_plan_literal(req->plan, domain, fam);
		goto later;
	}
	if (str_copy(req->plan->domain, domain, sizeof(req->plan->domain)) ==
	    -1 || domain[0] == '\0') {
		(void)plan_fail(req->plan, false, ESC_NODOMAIN,
		    "bad domain name");
		goto later;
	}
	if ((id = dns_query(dns, domain, DNS_T_MX, mx_answer, req)) == -1) {
		if (errno == EINVAL)
			(void)plan_fail(req->plan, false, ESC_NODOMAIN,
			    "bad domain name");
		else
			(void)plan_fail(req->plan, true, ESC_TEMP,
			    "cannot start the MX lookup");
		goto later;
	}
	req->mx_qid = id;
	return req;
later:
	if ((req->later = evtimer_new(dns_base(dns), mx_later, req)) == NULL ||
	    evtimer_add(req->later, &now) == -1)
		fatalx("mx: cannot schedule a timer");
	return req;
}

/* mx_cancel - stop a request: cb will not run */
void
mx_cancel(struct mx_req *req)
{
	if (req != NULL)
		mx_req_free(req);
}
