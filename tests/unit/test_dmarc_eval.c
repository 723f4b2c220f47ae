/*
 * test_dmarc_eval.c - DMARC for one message over a table of DNS answers:
 * pass by SPF and by DKIM, fail with p=none, quarantine and reject, sp
 * and np found through the tree walk, relaxed and strict alignment,
 * organizational domains from psd=y and psd=n, t=y, several records,
 * no record, and DNS errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mauth/dmarc_eval.h"

static const struct {
	const char	*name;		/* the TXT owner, or "!name": exists */
	const char	*txt;		/* NULL: SERVFAIL */
} zone[] = {
	{ "_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; np=none" },
	{ "!example.com", "" }, { "!mail.example.com", "" },
	{ "_dmarc.none.test", "v=DMARC1; p=none" },
	{ "_dmarc.q.test", "v=DMARC1; p=quarantine" },
	{ "_dmarc.strict.test", "v=DMARC1; p=reject; aspf=s; adkim=s" },
	{ "!strict.test", "" },
	{ "_dmarc.testing.test", "v=DMARC1; p=reject; t=y" },
	{ "_dmarc.two.test", "v=DMARC1; p=reject" },
	{ "_dmarc.two.test", "v=DMARC1; p=none" },
	{ "_dmarc.broken.test", NULL },
	/* a public suffix that says so, and an org below a psd=n */
	{ "_dmarc.suffix", "v=DMARC1; p=reject; psd=y" },
	{ "!shop.suffix", "" },
	{ "_dmarc.corp.example.net", "v=DMARC1; p=reject; psd=n" },
	{ "_dmarc.example.net", "v=DMARC1; p=none" },
	{ "!hr.corp.example.net", "" },
	/* an intermediate name's record is not the policy (4.10.1) */
	{ "_dmarc.mail.inter.test", "v=DMARC1; p=none" },
	{ "_dmarc.inter.test", "v=DMARC1; p=reject; sp=reject" },
	{ "!a.mail.inter.test", "" },
	/* a valid record beside a broken one: none there */
	{ "_dmarc.mixed.test", "v=DMARC1; p=reject" },
	{ "_dmarc.mixed.test", "v=DMARC1; p=block" },
};

/* lookup - the table's answer */
static void
lookup(const struct dmarc_query *q, struct dmarc_answer *a)
{
	size_t	i;
	char	key[300];

	memset(a, 0, sizeof(*a));
	a->status = DMARC_DNS_NXDOMAIN;
	if (q->type == DMARC_Q_EXISTS)
		(void)snprintf(key, sizeof(key), "!%s", q->name);
	else
		(void)snprintf(key, sizeof(key), "%s", q->name);
	for (i = 0; i < sizeof(zone) / sizeof(zone[0]); i++) {
		if (strcmp(zone[i].name, key) != 0)
			continue;
		if (zone[i].txt == NULL) {
			a->status = DMARC_DNS_TEMP;
			return;
		}
		a->status = DMARC_DNS_OK;
		if (key[0] != '!' && a->n < DMARC_TXT_MAX)
			a->txt[a->n++] = zone[i].txt;
	}
}

/* run - evaluate; the number of lookups in *nq */
static enum dmarc_result
run(struct dmarc_eval *ev, const char *author, const char *spf,
    const char *dkim, int *nq)
{
	const char		*d[1] = { dkim };
	struct dmarc_query	 q;
	struct dmarc_answer	 a;

	*nq = 0;
	dmarc_eval_init(ev, author, spf, d, dkim != NULL ? 1 : 0);
	while (dmarc_eval_next(ev, &q)) {
		assert_true(++*nq < 64);
		lookup(&q, &a);
		dmarc_eval_answer(ev, &a);
	}
	return ev->result;
}

static const struct {
	const char		*author, *spf, *dkim;
	enum dmarc_result	 want;
	enum dmarc_policy	 policy;	/* when it fails */
	const char		*org;		/* the author's */
} cases[] = {
	/* pass by SPF, by DKIM, relaxed from a subdomain */
	{ "example.com", "example.com", NULL, DMARC_R_PASS, 0, "example.com" },
	{ "example.com", NULL, "example.com", DMARC_R_PASS, 0, "example.com" },
	{ "example.com", "bounce.example.com", NULL, DMARC_R_PASS, 0,
	    "example.com" },
	{ "mail.example.com", NULL, "example.com", DMARC_R_PASS, 0,
	    "example.com" },
	/* fail: p at the domain, sp below, np below for a missing name */
	{ "example.com", "other.test", NULL, DMARC_R_FAIL, DMARC_REJECT,
	    "example.com" },
	{ "mail.example.com", NULL, NULL, DMARC_R_FAIL, DMARC_QUARANTINE,
	    "example.com" },
	{ "ghost.example.com", NULL, NULL, DMARC_R_FAIL, DMARC_NONE,
	    "example.com" },
	{ "none.test", NULL, NULL, DMARC_R_FAIL, DMARC_NONE, "none.test" },
	{ "q.test", NULL, NULL, DMARC_R_FAIL, DMARC_QUARANTINE, "q.test" },
	/* strict: a subdomain does not align */
	{ "strict.test", "mail.strict.test", "mail.strict.test", DMARC_R_FAIL,
	    DMARC_REJECT, "strict.test" },
	{ "strict.test", "strict.test", NULL, DMARC_R_PASS, 0, "strict.test" },
	/* t=y: the next less strict policy */
	{ "testing.test", NULL, NULL, DMARC_R_FAIL, DMARC_QUARANTINE,
	    "testing.test" },
	/* no record, two records, a DNS error */
	{ "nothing.test", NULL, NULL, DMARC_R_NONE, 0, "nothing.test" },
	{ "two.test", NULL, NULL, DMARC_R_NONE, 0, "two.test" },
	{ "broken.test", "broken.test", NULL, DMARC_R_TEMPERROR, 0, NULL },
	/* psd=y: the org is one below the suffix; shop.suffix's policy is
	 * the suffix's np/sp (reject: sp defaults to p) */
	{ "a.shop.suffix", NULL, NULL, DMARC_R_FAIL, DMARC_REJECT,
	    "shop.suffix" },
	{ "a.shop.suffix", NULL, "other.suffix", DMARC_R_FAIL, DMARC_REJECT,
	    "shop.suffix" },
	{ "a.shop.suffix", NULL, "b.shop.suffix", DMARC_R_PASS, 0,
	    "shop.suffix" },
	/* psd=n: corp.example.net is its own org, example.net's mail does
	 * not align with it */
	{ "hr.corp.example.net", "example.net", NULL, DMARC_R_FAIL,
	    DMARC_REJECT, "corp.example.net" },
	{ "hr.corp.example.net", "x.corp.example.net", NULL, DMARC_R_PASS, 0,
	    "corp.example.net" },
	{ "a.mail.inter.test", NULL, NULL, DMARC_R_FAIL, DMARC_REJECT,
	    "inter.test" },
	{ "mixed.test", NULL, NULL, DMARC_R_NONE, 0, "mixed.test" },
};

static void
test_cases(void **state)
{
	struct dmarc_eval	ev;
	size_t			i;
	int			nq;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (run(&ev, cases[i].author, cases[i].spf, cases[i].dkim,
		    &nq) != cases[i].want)
			fail_msg("case %zu (%s): %s (%s)", i, cases[i].author,
			    dmarc_result_name(ev.result), ev.reason);
		if (cases[i].want == DMARC_R_FAIL &&
		    ev.applied != cases[i].policy)
			fail_msg("case %zu (%s): policy %s", i,
			    cases[i].author, dmarc_policy_name(ev.applied));
		if (cases[i].org != NULL &&
		    strcmp(ev.author_org, cases[i].org) != 0)
			fail_msg("case %zu (%s): org %s", i, cases[i].author,
			    ev.author_org);
	}
}

/* a domain that cannot align costs no lookup; a 9-label author domain
 * walks at most DMARC_WALK_MAX names */
static void
test_lookups(void **state)
{
	struct dmarc_eval	ev;
	int			nq;

	(void)state;
	assert_int_equal(run(&ev, "example.com", "other.test", NULL, &nq),
	    DMARC_R_FAIL);
	assert_int_equal(nq, 2);	/* _dmarc.example.com, _dmarc.com */
	assert_int_equal(run(&ev, "a.b.c.d.e.f.g.example.com", NULL, NULL,
	    &nq), DMARC_R_FAIL);
	assert_true(nq <= DMARC_WALK_MAX + 1);
	assert_string_equal(ev.policy_domain, "example.com");
	assert_string_equal(dmarc_result_name(DMARC_R_TEMPERROR),
	    "temperror");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_lookups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
