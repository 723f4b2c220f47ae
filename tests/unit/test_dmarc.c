/*
 * test_dmarc.c - RFC 9989: records with their defaults, retired and
 * unknown tags, the tree walk's names (short, 8 labels, longer), policy
 * and organizational domain from a walk's answers (psd=n, psd=y, the
 * fewest labels, nothing found), p/sp/np, and alignment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mauth/dmarc.h"

/* parse - a record that must parse */
static struct dmarc_record
parse(const char *s)
{
	struct dmarc_record	r;
	struct err		e;

	if (dmarc_record_parse(s, strlen(s), &r, &e) == -1)
		fail_msg("%s: %s", s, e.msg);
	return r;
}

static void
test_records(void **state)
{
	struct dmarc_record	r;
	struct err		e;

	(void)state;
	r = parse("v=DMARC1; p=quarantine; fo=1; rua=mailto:a@example.com; "
	    "ruf=mailto:f@example.com");
	assert_int_equal(r.p, DMARC_QUARANTINE);
	assert_int_equal(r.sp, DMARC_QUARANTINE);
	assert_int_equal(r.np, DMARC_QUARANTINE);
	assert_true(r.p_given);
	assert_false(r.adkim_strict);
	assert_false(r.aspf_strict);
	assert_false(r.testing);
	assert_int_equal(r.psd, DMARC_PSD_U);
	assert_string_equal(r.fo, "1");
	assert_string_equal(r.rua, "mailto:a@example.com");
	assert_string_equal(r.ruf, "mailto:f@example.com");

	r = parse("v=DMARC1;P=Reject;SP=none;np=quarantine;adkim=s;aspf=s;"
	    "t=y;psd=n;fo=d:s;pct=10;rf=afrf;ri=3600;xfuture=1;");
	assert_int_equal(r.p, DMARC_REJECT);
	assert_int_equal(r.sp, DMARC_NONE);
	assert_int_equal(r.np, DMARC_QUARANTINE);
	assert_true(r.adkim_strict && r.aspf_strict && r.testing);
	assert_int_equal(r.psd, DMARC_PSD_N);
	assert_string_equal(r.fo, "d:s");

	/* np defaults to sp, sp to p; bad values are ignored */
	r = parse("v=DMARC1; p=reject; sp=quarantine; fo=x; psd=maybe");
	assert_int_equal(r.np, DMARC_QUARANTINE);
	assert_string_equal(r.fo, "0");
	assert_int_equal(r.psd, DMARC_PSD_U);
	/* no p, or a bad one: none, and said so */
	r = parse("v=DMARC1; rua=mailto:x@example.com");
	assert_int_equal(r.p, DMARC_NONE);
	assert_false(r.p_given);
	r = parse("v=DMARC1; p=block; rua=mailto:x@example.com");
	assert_int_equal(r.p, DMARC_NONE);
	assert_false(r.p_given);
	/* no valid p and no report address: not a usable record (4.10.1) */
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=block", 17, &r, &e),
	    -1);
	/* lenient: empty and malformed parts are skipped, the first of a
	 * repeated tag counts */
	r = parse("v=DMARC1; p=reject;; 1x=2; junk; sp=none; p=none;");
	assert_int_equal(r.p, DMARC_REJECT);
	assert_int_equal(r.sp, DMARC_NONE);
	r = parse("v=DMARC1;p=quarantine;rua=mailto:caf\xc3\xa9@example.com");
	assert_int_equal(r.p, DMARC_QUARANTINE);
	assert_true(dmarc_record_is("v=DMARC1", 8));
	assert_false(dmarc_record_is("v=DMARC10; p=none", 17));

	/* not DMARC records */
	assert_int_equal(dmarc_record_parse("v=spf1 -all", 11, &r, &e), -1);
	assert_int_equal(dmarc_record_parse("p=reject; v=DMARC1", 18, &r, &e),
	    -1);
	assert_int_equal(dmarc_record_parse("v=dmarc1; p=reject", 18, &r, &e),
	    -1);
	assert_int_equal(dmarc_record_parse("", 0, &r, &e), -1);
}

static void
test_walk_names(void **state)
{
	const char	*n[DMARC_WALK_MAX];
	const char	*d8 = "a.b.c.d.e.f.example.com";
	const char	*d10 = "x.y.a.b.c.d.e.f.example.com";

	(void)state;
	assert_int_equal(dmarc_walk_names("mail.example.com", n), 3);
	assert_string_equal(n[0], "mail.example.com");
	assert_string_equal(n[1], "example.com");
	assert_string_equal(n[2], "com");
	assert_int_equal(dmarc_walk_names("com", n), 1);
	assert_int_equal(dmarc_walk_names("", n), 0);
	/* 8 labels: every one, 8 queries */
	assert_int_equal(dmarc_walk_names(d8, n), 8);
	assert_string_equal(n[1], "b.c.d.e.f.example.com");
	assert_string_equal(n[7], "com");
	/* 10 labels: the domain, then straight to its last 7 */
	assert_int_equal(dmarc_walk_names(d10, n), 8);
	assert_string_equal(n[0], d10);
	assert_string_equal(n[1], "b.c.d.e.f.example.com");
	assert_string_equal(n[2], "c.d.e.f.example.com");
	assert_string_equal(n[7], "com");
}

/* walk - steps for domain with records at the names given */
static size_t
walk(const char *domain, struct dmarc_step *s, const char *const *with,
    const enum dmarc_psd *psd)
{
	const char	*n[DMARC_WALK_MAX];
	size_t		 k = dmarc_walk_names(domain, n), i, j;

	for (i = 0; i < k; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].name = n[i];
		for (j = 0; with[j] != NULL; j++)
			if (strcmp(with[j], n[i]) == 0) {
				s[i].found = true;
				s[i].rec = parse("v=DMARC1; p=reject; "
				    "sp=quarantine; np=none");
				s[i].rec.psd = psd[j];
			}
	}
	return k;
}

static void
test_org_domain(void **state)
{
	struct dmarc_step	 s[DMARC_WALK_MAX];
	const char		*d = "a.b.mail.example.co.uk";
	size_t			 n;

	(void)state;
	/* the fewest labels wins */
	n = walk(d, s, (const char *const[]){ "b.mail.example.co.uk",
	    "example.co.uk", NULL }, (enum dmarc_psd[]){ DMARC_PSD_U,
	    DMARC_PSD_U });
	assert_string_equal(dmarc_org_domain(d, s, n), "example.co.uk");
	/* b.mail.example.co.uk's record is intermediate: the org's is the
	 * policy (index 3 of the walk) */
	assert_int_equal(dmarc_policy_step(s, n, "example.co.uk"), 3);
	/* an intermediate name's record is not the policy: the org's is */
	n = walk(d, s, (const char *const[]){ "mail.example.co.uk",
	    "example.co.uk", NULL }, (enum dmarc_psd[]){ DMARC_PSD_U,
	    DMARC_PSD_U });
	assert_string_equal(s[dmarc_policy_step(s, n, dmarc_org_domain(d, s,
	    n))].name, "example.co.uk");
	/* psd=n stops the walk at once */
	n = walk(d, s, (const char *const[]){ "mail.example.co.uk",
	    "example.co.uk", NULL }, (enum dmarc_psd[]){ DMARC_PSD_N,
	    DMARC_PSD_U });
	assert_string_equal(dmarc_org_domain(d, s, n), "mail.example.co.uk");
	/* psd=y: the name one label below it */
	n = walk(d, s, (const char *const[]){ "co.uk", NULL },
	    (enum dmarc_psd[]){ DMARC_PSD_Y });
	assert_string_equal(dmarc_org_domain(d, s, n), "example.co.uk");
	assert_string_equal(s[dmarc_policy_step(s, n, "example.co.uk")].name,
	    "co.uk");
	/* psd=y on the domain itself does not count */
	n = walk("co.uk", s, (const char *const[]){ "co.uk", NULL },
	    (enum dmarc_psd[]){ DMARC_PSD_Y });
	assert_string_equal(dmarc_org_domain("co.uk", s, n), "co.uk");
	/* nothing found: the domain is its own, and there is no policy */
	n = walk(d, s, (const char *const[]){ NULL }, NULL);
	assert_string_equal(dmarc_org_domain(d, s, n), d);
	assert_int_equal(dmarc_policy_step(s, n, d), -1);
}

static void
test_applies(void **state)
{
	struct dmarc_record	r = parse("v=DMARC1; p=reject; sp=quarantine;"
	    " np=none");

	(void)state;
	assert_int_equal(dmarc_applies(&r, "Example.com", "example.com",
	    false), DMARC_REJECT);
	assert_int_equal(dmarc_applies(&r, "a.example.com", "example.com",
	    false), DMARC_QUARANTINE);
	assert_int_equal(dmarc_applies(&r, "a.example.com", "example.com",
	    true), DMARC_NONE);
	assert_string_equal(dmarc_policy_name(DMARC_QUARANTINE), "quarantine");
}

static void
test_aligned(void **state)
{
	(void)state;
	assert_true(dmarc_aligned(true, "Example.com", "example.com",
	    "example.com", "example.com"));
	assert_false(dmarc_aligned(true, "mail.example.com", "example.com",
	    "example.com", "example.com"));
	assert_true(dmarc_aligned(false, "mail.example.com", "example.com",
	    "example.com", "example.com"));
	assert_false(dmarc_aligned(false, "example.net", "example.net",
	    "example.com", "example.com"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_walk_names),
		cmocka_unit_test(test_org_domain),
		cmocka_unit_test(test_applies),
		cmocka_unit_test(test_aligned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
