/*
 * test_spf_eval.c - check_host() driven by a table of DNS answers: every
 * result (pass, fail, softfail, neutral, none, temperror, permerror),
 * every mechanism, include and redirect, macros in targets, the
 * explanation of a fail, and the limits of RFC 7208 4.6.4 at their edges
 * (10 DNS-querying terms, 2 void lookups, 10 mx names).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>

#include "mauth/spf.h"

struct rr {
	enum spf_qtype		 type;
	const char		*name;
	enum spf_dns_status	 status;
	const char		*data[12];	/* NULL-terminated */
};

#define TXT(n, ...)	{ SPF_Q_TXT, n, SPF_DNS_OK, { __VA_ARGS__, NULL } }
#define A(n, ...)	{ SPF_Q_A, n, SPF_DNS_OK, { __VA_ARGS__, NULL } }
#define AAAA(n, ...)	{ SPF_Q_AAAA, n, SPF_DNS_OK, { __VA_ARGS__, NULL } }
#define MX(n, ...)	{ SPF_Q_MX, n, SPF_DNS_OK, { __VA_ARGS__, NULL } }
#define PTR(n, ...)	{ SPF_Q_PTR, n, SPF_DNS_OK, { __VA_ARGS__, NULL } }
#define FAIL(t, n)	{ t, n, SPF_DNS_TEMP, { NULL } }

static const struct rr zone[] = {
	TXT("pass.test", "v=spf1 ip4:192.0.2.0/24 -all"),
	TXT("fail.test", "v=spf1 ip4:192.0.2.99 -all exp=why.%{d}"),
	TXT("why.fail.test", "%{i} is not one of %{d}'s servers"),
	TXT("soft.test", "v=spf1 ~all"),
	TXT("neutral.test", "v=spf1 ?all"),
	TXT("empty.test", "v=spf1"),
	TXT("other.test", "google-site-verification=x"),
	TXT("two.test", "v=spf1 -all", "v=spf1 +all"),
	TXT("syntax.test", "v=spf1 a:bad..example -all"),
	FAIL(SPF_Q_TXT, "servfail.test"),
	TXT("atemp.test", "v=spf1 a:broken.test -all"),
	FAIL(SPF_Q_A, "broken.test"),
	TXT("a.test", "v=spf1 a/24 -all"),
	A("a.test", "192.0.2.200"),
	TXT("a6.test", "v=spf1 a//64 -all"),
	AAAA("a6.test", "2001:db8:1:2::99"),
	TXT("mx.test", "v=spf1 mx -all"),
	MX("mx.test", "mx1.mx.test", "mx2.mx.test"),
	A("mx1.mx.test", "198.51.100.1"),
	A("mx2.mx.test", "192.0.2.3"),
	TXT("inc.test", "v=spf1 include:_spf.pass.test -all"),
	TXT("_spf.pass.test", "v=spf1 ip4:192.0.2.3"),
	TXT("incfail.test", "v=spf1 include:fail.test ~all"),
	TXT("incnone.test", "v=spf1 include:nothing.test -all"),
	TXT("redir.test", "v=spf1 redirect=pass.test"),
	TXT("redirnone.test", "v=spf1 redirect=nothing.test"),
	TXT("exists.test", "v=spf1 exists:%{ir}.%{l1r-}.lp.%{d} -all"),
	A("3.2.0.192.strong.lp.exists.test", "127.0.0.2"),
	TXT("ptr.test", "v=spf1 ptr -all"),
	PTR("3.2.0.192.in-addr.arpa", "host.ptr.test", "other.example"),
	A("host.ptr.test", "192.0.2.3"),
	TXT("macro.test", "v=spf1 a:%{d2}.hosts.example -all"),
	A("macro.test.hosts.example", "192.0.2.3"),
	/* 10 DNS-querying terms pass; 11 are a permerror */
	TXT("ten.test", "v=spf1 a:n1.test a:n2.test a:n3.test a:n4.test "
	    "a:n5.test a:n6.test a:n7.test a:n8.test a:n9.test ip4:192.0.2.3 "
	    "-all"),
	TXT("eleven.test", "v=spf1 a:n10.test include:ten.test -all"),
	A("n1.test", "10.0.0.1"), A("n2.test", "10.0.0.1"),
	A("n3.test", "10.0.0.1"), A("n4.test", "10.0.0.1"),
	A("n5.test", "10.0.0.1"), A("n6.test", "10.0.0.1"),
	A("n7.test", "10.0.0.1"), A("n8.test", "10.0.0.1"),
	A("n9.test", "10.0.0.1"), A("n10.test", "10.0.0.1"),
	/* void lookups: two are fine, three are not */
	TXT("void2.test", "v=spf1 a:no1.test a:no2.test ip4:192.0.2.3 -all"),
	TXT("void3.test", "v=spf1 a:no1.test a:no2.test a:no3.test "
	    "ip4:192.0.2.3 -all"),
	/* an mx of 11 names */
	TXT("mx11.test", "v=spf1 mx -all"),
	MX("mx11.test", "m1.test", "m2.test", "m3.test", "m4.test", "m5.test",
	    "m6.test", "m7.test", "m8.test", "m9.test", "m10.test", "m11.test"),
	/* an include loop ends at the term limit */
	TXT("loop.test", "v=spf1 include:loop.test -all"),
};

/* lookup - the zone's answer (NXDOMAIN when absent) */
static void
lookup(const struct spf_query *q, struct spf_answer *a)
{
	size_t	i, j;

	memset(a, 0, sizeof(*a));
	a->status = SPF_DNS_NXDOMAIN;
	for (i = 0; i < sizeof(zone) / sizeof(zone[0]); i++) {
		if (zone[i].type != q->type || strcmp(zone[i].name, q->name))
			continue;
		a->status = zone[i].status;
		for (j = 0; zone[i].data[j] != NULL; j++) {
			a->names[j] = zone[i].data[j];
			if (q->type == SPF_Q_A) {
				a->addrs[j].s6_addr[10] = 0xff;
				a->addrs[j].s6_addr[11] = 0xff;
				assert_int_equal(inet_pton(AF_INET,
				    zone[i].data[j], &a->addrs[j].s6_addr[12]), 1);
			} else if (q->type == SPF_Q_AAAA) {
				assert_int_equal(inet_pton(AF_INET6,
				    zone[i].data[j], &a->addrs[j]), 1);
			}
		}
		a->n = j;
		return;
	}
}

/* check - run check_host() for local@domain from ip; the result */
static enum spf_result
check(const char *ip, const char *domain, struct spf_eval *ev)
{
	struct in6_addr		a;
	struct spf_query	q;
	struct spf_answer	ans;
	struct err		e;
	bool			v4 = strchr(ip, ':') == NULL;
	int			steps = 0;

	memset(&a, 0, sizeof(a));
	if (v4) {
		a.s6_addr[10] = a.s6_addr[11] = 0xff;
		assert_int_equal(inet_pton(AF_INET, ip, &a.s6_addr[12]), 1);
	} else {
		assert_int_equal(inet_pton(AF_INET6, ip, &a), 1);
	}
	assert_int_equal(spf_eval_init(ev, &a, v4, "strong-bad", domain,
	    "helo.example", "mx.example.net", 1700000000, &e), 0);
	while (spf_eval_next(ev, &q)) {
		assert_true(++steps < 100);
		lookup(&q, &ans);
		spf_eval_answer(ev, &ans);
	}
	spf_eval_free(ev);
	return ev->result;
}

static const struct {
	const char		*ip;
	const char		*domain;
	enum spf_result		 want;
} cases[] = {
	{ "192.0.2.3", "pass.test", SPF_PASS },
	{ "198.51.100.9", "pass.test", SPF_FAIL },
	{ "192.0.2.3", "soft.test", SPF_SOFTFAIL },
	{ "192.0.2.3", "neutral.test", SPF_NEUTRAL },
	{ "192.0.2.3", "empty.test", SPF_NEUTRAL },
	{ "192.0.2.3", "nothing.test", SPF_NONE },
	{ "192.0.2.3", "other.test", SPF_NONE },
	{ "192.0.2.3", "localhost", SPF_NONE },
	{ "192.0.2.3", "two.test", SPF_PERMERROR },
	{ "192.0.2.3", "syntax.test", SPF_PERMERROR },
	{ "192.0.2.3", "servfail.test", SPF_TEMPERROR },
	{ "192.0.2.3", "atemp.test", SPF_TEMPERROR },
	{ "192.0.2.77", "a.test", SPF_PASS },
	{ "192.0.3.77", "a.test", SPF_FAIL },
	{ "2001:db8:1:2::1", "a6.test", SPF_PASS },
	{ "2001:db8:1:3::1", "a6.test", SPF_FAIL },
	{ "192.0.2.3", "a6.test", SPF_FAIL },
	{ "192.0.2.3", "mx.test", SPF_PASS },
	{ "192.0.2.4", "mx.test", SPF_FAIL },
	{ "192.0.2.3", "inc.test", SPF_PASS },
	{ "198.51.100.9", "inc.test", SPF_FAIL },
	{ "192.0.2.3", "incfail.test", SPF_SOFTFAIL },
	{ "192.0.2.3", "incnone.test", SPF_PERMERROR },
	{ "192.0.2.3", "redir.test", SPF_PASS },
	{ "192.0.2.3", "redirnone.test", SPF_PERMERROR },
	{ "192.0.2.3", "exists.test", SPF_PASS },
	{ "192.0.2.4", "exists.test", SPF_FAIL },
	{ "192.0.2.3", "ptr.test", SPF_PASS },
	{ "192.0.2.4", "ptr.test", SPF_FAIL },
	{ "192.0.2.3", "macro.test", SPF_PASS },
	{ "192.0.2.3", "ten.test", SPF_PASS },
	{ "192.0.2.3", "eleven.test", SPF_PERMERROR },
	{ "192.0.2.3", "void2.test", SPF_PASS },
	{ "192.0.2.3", "void3.test", SPF_PERMERROR },
	{ "192.0.2.3", "mx11.test", SPF_PERMERROR },
	{ "192.0.2.3", "loop.test", SPF_PERMERROR },
};

static void
test_results(void **state)
{
	struct spf_eval	ev;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (check(cases[i].ip, cases[i].domain, &ev) != cases[i].want)
			fail_msg("%s from %s: %s (%s), want %s", cases[i].domain,
			    cases[i].ip, spf_result_name(ev.result), ev.reason,
			    spf_result_name(cases[i].want));
}

/* 6.2: the explanation of a fail, expanded, from the record's exp= */
static void
test_explanation(void **state)
{
	struct spf_eval	ev;

	(void)state;
	assert_int_equal(check("198.51.100.9", "fail.test", &ev), SPF_FAIL);
	assert_string_equal(ev.explanation,
	    "198.51.100.9 is not one of fail.test's servers");
	/* none for a pass, and none from an include's record */
	assert_int_equal(check("192.0.2.99", "fail.test", &ev), SPF_PASS);
	assert_string_equal(ev.explanation, "");
	assert_int_equal(check("192.0.2.3", "incfail.test", &ev),
	    SPF_SOFTFAIL);
	assert_string_equal(ev.explanation, "");
	assert_string_equal(spf_result_name(SPF_TEMPERROR), "temperror");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_explanation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
