/*
 * check_dns.c - waited-for DNS lookups for `postern check` (check_dns.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "err.h"
#include "xmalloc.h"
#include "check_dns.h"

struct wait {
	struct cans	*out;
	bool		 done;
};

/* cdns_open - a resolver as serve's deliver process makes it */
int
cdns_open(struct cdns *c, const struct conf *conf, struct err *e)
{
	const char	*ta = conf->dnssec_trust_anchor;
	const char	*fwd = conf->dns_resolver[0] != '\0' ?
			    conf->dns_resolver : NULL;

	memset(c, 0, sizeof(*c));
	if ((c->base = event_base_new()) == NULL)
		return err_set(e, false, 0, "event_base_new failed");
	if (strcmp(ta, CONF_TA_NONE) == 0 || access(ta, R_OK) != 0)
		ta = NULL;
	if ((c->dns = dns_new(c->base, fwd, ta, e)) == NULL &&
	    (ta == NULL || (c->dns = dns_new(c->base, fwd, NULL, e)) == NULL))
		return -1;
	if (dns_set_bogus_fallback(c->dns, e) == -1)
		return -1;
	c->validating = ta != NULL;
	dns_set_timeout(c->dns, 10000);
	return 0;
}

/* cdns_close - the resolver and its loop */
void
cdns_close(struct cdns *c)
{
	dns_free(c->dns);
	if (c->base != NULL)
		event_base_free(c->base);
	memset(c, 0, sizeof(*c));
}

/* copy - the answer into the caller's */
static void
copy(void *arg, const struct dns_result *r)
{
	struct wait	*w = arg;
	struct cans	*o = w->out;
	size_t		 i;

	w->done = true;
	o->rcode = r->rcode;
	o->nxdomain = r->nxdomain;
	o->timeout = r->timeout;
	o->secure = r->secure;
	o->ok = r->rcode == DNS_R_NOERROR && !r->timeout && !r->bogus;
	switch (r->qtype) {
	case DNS_T_MX:
		o->n = r->nmx;
		o->mx = xcalloc(o->n + 1, sizeof(*o->mx));
		if (o->n > 0)
			memcpy(o->mx, r->mx, o->n * sizeof(*o->mx));
		break;
	case DNS_T_A:
	case DNS_T_AAAA:
		o->n = r->naddr;
		o->addr = xcalloc(o->n + 1, sizeof(*o->addr));
		if (o->n > 0)
			memcpy(o->addr, r->addr, o->n * sizeof(*o->addr));
		break;
	case DNS_T_PTR:
	case DNS_T_CNAME:
		o->n = r->nname;
		o->name = xcalloc(o->n + 1, sizeof(*o->name));
		if (o->n > 0)
			memcpy(o->name, r->name, o->n * sizeof(*o->name));
		break;
	case DNS_T_TXT:
		o->n = r->ntxt;
		o->txt = xcalloc(o->n + 1, sizeof(*o->txt));
		o->txtlen = xcalloc(o->n + 1, sizeof(*o->txtlen));
		for (i = 0; i < o->n; i++) {
			o->txt[i] = xmalloc(r->txt[i].len + 1);
			memcpy(o->txt[i], r->txt[i].text, r->txt[i].len);
			o->txt[i][r->txt[i].len] = '\0';
			o->txtlen[i] = r->txt[i].len;
		}
		break;
	default:
		break;
	}
}

/* cdns_lookup - one lookup, waited for */
int
cdns_lookup(struct cdns *c, const char *name, int type, struct cans *out)
{
	struct wait	w = { out, false };

	memset(out, 0, sizeof(*out));
	if (dns_query(c->dns, name, type, copy, &w) == -1)
		return -1;
	while (!w.done)
		if (event_base_loop(c->base, EVLOOP_ONCE) == -1)
			return -1;
	return 0;
}

/* cans_free - what an answer holds */
void
cans_free(struct cans *a)
{
	size_t	i;

	for (i = 0; a->txt != NULL && i < a->n; i++)
		free(a->txt[i]);
	free(a->txt);
	free(a->txtlen);
	free(a->mx);
	free(a->addr);
	free(a->name);
	memset(a, 0, sizeof(*a));
}

/* cans_addr_text - an address record as text */
void
cans_addr_text(const struct cans *a, size_t i, char *out, size_t sz)
{
	const struct sockaddr_storage	*ss = &a->addr[i];

	if (ss->ss_family == AF_INET)
		(void)inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    (const void *)ss)->sin_addr, out, (socklen_t)sz);
	else
		(void)inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    (const void *)ss)->sin6_addr, out, (socklen_t)sz);
}
