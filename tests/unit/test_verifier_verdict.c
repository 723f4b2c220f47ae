/*
 * test_verifier_verdict.c - the inbound checks' policy (verifier_verdict):
 * a DMARC failure under p=reject is 550 5.7.1 with dmarc_reject and
 * accepted without it, but 451 4.7.0 when an SPF or DKIM lookup failed
 * for now (it might have passed); a DMARC temperror is 451 only when the
 * policy could refuse; quarantine and none are accepted; at MAIL FROM an
 * SPF fail is 550 5.7.23 with the domain's explanation made printable, a
 * temperror 451 4.7.24, both only with spf_reject; every other result is
 * accepted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "msgtypes.h"
#include "verify/check.h"
#include "verify/verifier.h"

/* dmarc_case - a check after DATA with this DMARC outcome */
static struct check *
dmarc_case(const char *dmarc, const char *policy, enum spf_result spf,
    const char *dkim)
{
	struct check	*c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->spf = spf;
	(void)snprintf(c->spf_domain, sizeof(c->spf_domain), "bounce.test");
	c->dmarc_done = true;
	c->dmarc = dmarc;
	c->dmarc_policy = policy;
	(void)snprintf(c->dmarc_domain, sizeof(c->dmarc_domain), "author.test");
	if (dkim != NULL) {
		c->ndkim = 1;
		c->dkim[0].result = dkim;
	}
	return c;
}

/* judge - the verdict on c (freed), its reply in reply: one iff refused */
static uint32_t
judge(const struct conf *cf, struct check *c, bool spf_only, char *reply)
{
	uint32_t	v = verifier_verdict(cf, c, spf_only, reply, 512);

	free(c);
	assert_true((v == V_ACCEPT) == (reply[0] == '\0'));
	return v;
}

/* test_dmarc - the end of DATA: only a p=reject failure refuses */
static void
test_dmarc(void **state)
{
	struct conf	cf;
	char		r[512];

	(void)state;
	conf_defaults(&cf);
	assert_true(cf.dmarc_reject);	/* the default */
	assert_int_equal(judge(&cf, dmarc_case("fail", "reject", SPF_FAIL,
	    "fail"), false, r), V_PERM);
	assert_true(strncmp(r, "550 5.7.1 ", 10) == 0);
	assert_non_null(strstr(r, "author.test"));
	/* a lookup that failed for now could have made it pass */
	assert_int_equal(judge(&cf, dmarc_case("fail", "reject",
	    SPF_TEMPERROR, NULL), false, r), V_TEMP);
	assert_true(strncmp(r, "451 4.7.0 ", 10) == 0);
	assert_int_equal(judge(&cf, dmarc_case("fail", "reject", SPF_FAIL,
	    "temperror"), false, r), V_TEMP);
	/* the policy could not be fetched: it may say reject */
	assert_int_equal(judge(&cf, dmarc_case("temperror", "none", SPF_PASS,
	    NULL), false, r), V_TEMP);
	assert_true(strncmp(r, "451 4.7.0 ", 10) == 0);
	/* only reject refuses */
	assert_int_equal(judge(&cf, dmarc_case("fail", "quarantine", SPF_FAIL,
	    NULL), false, r), V_ACCEPT);
	assert_int_equal(judge(&cf, dmarc_case("fail", "none", SPF_FAIL,
	    NULL), false, r), V_ACCEPT);
	assert_int_equal(judge(&cf, dmarc_case("pass", "reject", SPF_FAIL,
	    "pass"), false, r), V_ACCEPT);
	assert_int_equal(judge(&cf, dmarc_case("none", "none", SPF_TEMPERROR,
	    "temperror"), false, r), V_ACCEPT);
	assert_int_equal(judge(&cf, dmarc_case("permerror", "none", SPF_FAIL,
	    NULL), false, r), V_ACCEPT);
	/* dmarc_reject = no: recorded, never refused */
	cf.dmarc_reject = false;
	assert_int_equal(judge(&cf, dmarc_case("fail", "reject", SPF_FAIL,
	    "fail"), false, r), V_ACCEPT);
	assert_int_equal(judge(&cf, dmarc_case("temperror", "none", SPF_PASS,
	    NULL), false, r), V_ACCEPT);
	conf_free(&cf);
}

/* spf_case - a check at MAIL FROM */
static struct check *
spf_case(enum spf_result spf, const char *exp)
{
	struct check	*c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->spf = spf;
	(void)snprintf(c->spf_domain, sizeof(c->spf_domain), "bounce.test");
	(void)snprintf(c->spf_explanation, sizeof(c->spf_explanation), "%s",
	    exp);
	return c;
}

/* test_spf_at_mail - MAIL FROM: fail and temperror refuse, only with
 * spf_reject */
static void
test_spf_at_mail(void **state)
{
	struct conf	cf;
	char		r[512];

	(void)state;
	conf_defaults(&cf);
	assert_false(cf.spf_reject);	/* the default */
	assert_int_equal(judge(&cf, spf_case(SPF_FAIL, ""), true, r),
	    V_ACCEPT);
	cf.spf_reject = true;
	assert_int_equal(judge(&cf, spf_case(SPF_FAIL, ""), true, r), V_PERM);
	assert_true(strncmp(r, "550 5.7.23 ", 11) == 0);
	assert_non_null(strstr(r, "bounce.test"));
	/* the domain's explanation, hostile text: one printable line */
	assert_int_equal(judge(&cf, spf_case(SPF_FAIL, "go\r\naway\x01"), true,
	    r), V_PERM);
	assert_string_equal(r, "550 5.7.23 go??away?");
	assert_int_equal(judge(&cf, spf_case(SPF_TEMPERROR, ""), true, r),
	    V_TEMP);
	assert_true(strncmp(r, "451 4.7.24 ", 11) == 0);
	assert_int_equal(judge(&cf, spf_case(SPF_SOFTFAIL, ""), true, r),
	    V_ACCEPT);
	assert_int_equal(judge(&cf, spf_case(SPF_PERMERROR, ""), true, r),
	    V_ACCEPT);
	assert_int_equal(judge(&cf, spf_case(SPF_NONE, ""), true, r),
	    V_ACCEPT);
	conf_free(&cf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dmarc),
		cmocka_unit_test(test_spf_at_mail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
