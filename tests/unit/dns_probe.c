/*
 * dns_probe.c - test driver for src/deliver: prints the MX plan of a
 * domain, or the answer to one query, as resolved through dns.c and mx.c
 * on a real event loop (tests/integration/test_dns.py runs it against
 * tests/integration/dnsserver.py on loopback).
 *
 *   dns_probe [options] DOMAIN          the plan, one line per host:
 *                                         PREF HOST ADDR...
 *                                       or: error temp|perm STATUS TEXT
 *   dns_probe [options] --query TYPE NAME
 *                                       rcode N nxdomain B secure B bogus B
 *                                       timeout B nbad N, then one line per
 *                                       record: TYPE DATA
 * Options: --resolver ADDR[:PORT]  --trust-anchor FILE  --timeout MS
 *          --family both|ipv6-first|ipv4-first|ipv4|ipv6
 *          --bogus-fallback     a bogus answer is asked again without
 *                          validation (dns_set_bogus_fallback), as the
 *                          deliver process does
 *          --parallel N    N requests for DOMAIN at once, every second one
 *                          cancelled at once; the first plan is printed
 *          --free-in-callback   (--query) ask twice, free the resolver in
 *                          the first callback: the second never answers
 * A summary goes to stderr: "plan implicit=B mx_secure=B skipped=N ...
 * secure=B,B..." (one flag per host), and for --query an answer that
 * failed validation and came from the non-validating lookup adds a line
 * "unvalidated WHY".
 * Exit 0 when a result was printed, 1 on a setup failure, 2 on bad usage.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "err.h"
#include "strutil.h"
#include "xmalloc.h"
#include "deliver/dns.h"
#include "deliver/mx.h"

#define PROBE_MAX_PARALLEL	64

struct probe {
	struct event_base	*base;
	struct dns		*dns;
	size_t			 outstanding;
	size_t			 completed;
	bool			 printed;
	bool			 free_in_cb;
	bool			 freed;
	bool			 fallback;
};

static const struct {
	const char	*name;
	int		 type;
} probe_types[] = {
	{ "A", DNS_T_A }, { "AAAA", DNS_T_AAAA }, { "MX", DNS_T_MX },
	{ "TXT", DNS_T_TXT }, { "PTR", DNS_T_PTR }, { "CNAME", DNS_T_CNAME },
	{ "TLSA", DNS_T_TLSA },
};

static void
usage(void)
{
	fprintf(stderr, "usage: dns_probe [--resolver ADDR[:PORT]] "
	    "[--trust-anchor FILE] [--bogus-fallback] [--timeout MS] "
	    "[--family F] [--parallel N] DOMAIN\n"
	    "       dns_probe [options] [--free-in-callback] --query TYPE "
	    "NAME\n");
	exit(2);
}

static const char *
type_name(int type)
{
	size_t	i;

	for (i = 0; i < sizeof(probe_types) / sizeof(probe_types[0]); i++)
		if (probe_types[i].type == type)
			return probe_types[i].name;
	return "TYPE";
}

static void
addr_text(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
	const void	*a;

	if (ss->ss_family == AF_INET)
		a = &((const struct sockaddr_in *)ss)->sin_addr;
	else
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (inet_ntop(ss->ss_family, a, out, (socklen_t)outsz) == NULL)
		(void)str_copy(out, "?", outsz);
}

static void
probe_done(struct probe *pr)
{
	if (--pr->outstanding == 0)
		event_base_loopbreak(pr->base);
}

/* plan_cb - print the first plan; count the others */
static void
plan_cb(void *arg, const struct mx_plan *p)
{
	struct probe	*pr = arg;
	char		 a[INET6_ADDRSTRLEN];
	size_t		 i, j;

	pr->completed++;
	if (!pr->printed) {
		pr->printed = true;
		if (!p->ok)
			printf("error %s %s %s\n", p->err.temp ? "temp" : "perm",
			    p->status, p->err.msg);
		for (i = 0; p->ok && i < p->nhosts; i++) {
			printf("%u %s", p->hosts[i].pref, p->hosts[i].name);
			for (j = 0; j < p->hosts[i].naddrs; j++) {
				addr_text(&p->hosts[i].addrs[j], a, sizeof(a));
				printf(" %s", a);
			}
			printf("\n");
		}
		fprintf(stderr, "plan implicit=%d mx_secure=%d skipped=%zu "
		    "nbad=%zu secure=", p->implicit, p->mx_secure,
		    p->nskipped, p->nbad);
		for (i = 0; p->ok && i < p->nhosts; i++)
			fprintf(stderr, "%s%d", i > 0 ? "," : "",
			    p->hosts[i].secure);
		fprintf(stderr, "\n");
	}
	probe_done(pr);
}

/* query_cb - print one answer */
static void
query_cb(void *arg, const struct dns_result *r)
{
	struct probe	*pr = arg;
	char		 a[INET6_ADDRSTRLEN];
	size_t		 i, j;

	printf("rcode %d nxdomain %d secure %d bogus %d timeout %d nbad %zu\n",
	    r->rcode, r->nxdomain, r->secure, r->bogus, r->timeout, r->nbad);
	if (r->unvalidated)
		fprintf(stderr, "unvalidated %s\n", r->why);
	else if (r->bogus)
		fprintf(stderr, "bogus %s\n", r->why);
	for (i = 0; i < r->nmx; i++)
		printf("MX %u %s\n", r->mx[i].pref, r->mx[i].host);
	for (i = 0; i < r->naddr; i++) {
		addr_text(&r->addr[i], a, sizeof(a));
		printf("%s %s\n", r->addr[i].ss_family == AF_INET ? "A" :
		    "AAAA", a);
	}
	for (i = 0; i < r->ntxt; i++)
		printf("TXT %s\n", r->txt[i].text);
	for (i = 0; i < r->nname; i++)
		printf("%s %s\n", type_name(r->qtype), r->name[i].name);
	if (r->qtype == DNS_T_TLSA)
		for (i = 0; i < r->nraw; i++) {
			printf("TLSA ");
			for (j = 0; j < r->raw[i].len; j++)
				printf("%02x", r->raw[i].data[j]);
			printf("\n");
		}
	fflush(stdout);
	if (pr->free_in_cb && !pr->freed) {
		/* the other query is still outstanding: it must never answer */
		dns_free(pr->dns);
		pr->freed = true;
		event_base_loopbreak(pr->base);
		return;
	}
	probe_done(pr);
}

int
main(int argc, char **argv)
{
	struct probe		 pr;
	struct err		 e;
	struct mx_req		*reqs[PROBE_MAX_PARALLEL];
	const char		*resolver = NULL, *ta = NULL, *qtype = NULL;
	unsigned long long	 timeout = 0, parallel = 1;
	enum ip_family_pref	 fam = FAM_BOTH_V6_FIRST;
	int			 i, type = -1;
	size_t			 k;

	memset(&pr, 0, sizeof(pr));
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--free-in-callback") == 0) {
			pr.free_in_cb = true;
			continue;
		}
		if (strcmp(argv[i], "--bogus-fallback") == 0) {
			pr.fallback = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--resolver") == 0)
			resolver = argv[++i];
		else if (strcmp(argv[i], "--trust-anchor") == 0)
			ta = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0) {
			if (str_to_ull(argv[++i], 1, 600000, &timeout) == -1)
				usage();
		} else if (strcmp(argv[i], "--parallel") == 0) {
			if (str_to_ull(argv[++i], 1, PROBE_MAX_PARALLEL,
			    &parallel) == -1)
				usage();
		} else if (strcmp(argv[i], "--family") == 0) {
			if (mx_family_parse(argv[++i], &fam) == -1)
				usage();
		} else if (strcmp(argv[i], "--query") == 0)
			qtype = argv[++i];
		else
			usage();
	}
	if (i != argc - 1)
		usage();
	if (qtype != NULL) {
		for (k = 0; k < sizeof(probe_types) / sizeof(probe_types[0]);
		    k++)
			if (strcasecmp(qtype, probe_types[k].name) == 0)
				type = probe_types[k].type;
		if (type == -1)
			usage();
	}
	if ((pr.base = event_base_new()) == NULL) {
		fprintf(stderr, "dns_probe: event_base_new failed\n");
		return 1;
	}
	if ((pr.dns = dns_new(pr.base, resolver, ta, &e)) == NULL) {
		fprintf(stderr, "dns_probe: %s\n", e.msg);
		event_base_free(pr.base);
		return 1;
	}
	if (pr.fallback && dns_set_bogus_fallback(pr.dns, &e) == -1) {
		fprintf(stderr, "dns_probe: %s\n", e.msg);
		dns_free(pr.dns);
		event_base_free(pr.base);
		return 1;
	}
	if (timeout > 0)
		dns_set_timeout(pr.dns, (unsigned)timeout);
	if (type != -1) {
		for (k = 0; k < (pr.free_in_cb ? 2u : 1u); k++) {
			if (dns_query(pr.dns, argv[i], type, query_cb, &pr) ==
			    -1) {
				printf("error query not started\n");
				goto out;
			}
			pr.outstanding++;
		}
	} else {
		for (k = 0; k < parallel; k++) {
			reqs[k] = mx_resolve(pr.dns, argv[i], fam, plan_cb, &pr);
			pr.outstanding++;
		}
		for (k = 1; k < parallel; k += 2) {
			mx_cancel(reqs[k]);
			pr.outstanding--;
		}
	}
	event_base_dispatch(pr.base);
	if (type == -1)
		fprintf(stderr, "completed %zu\n", pr.completed);
	if (!pr.freed && dns_pending(pr.dns) != 0)
		fprintf(stderr, "dns_probe: %zu queries still pending\n",
		    dns_pending(pr.dns));
out:
	if (!pr.freed)
		dns_free(pr.dns);
	event_base_free(pr.base);
	return 0;
}
