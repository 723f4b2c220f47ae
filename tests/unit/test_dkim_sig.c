/*
 * test_dkim_sig.c - DKIM-Signature values (RFC 6376 6.1.1's checks, RFC
 * 8301's end of rsa-sha1, RFC 8463's algorithm) and key records (3.6.1:
 * types, h=, s=, t= flags, revocation).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mauth/dkim_sig.h"

#define SIG_OK	"v=1; a=rsa-sha256; d=Example.COM; s=sel; c=relaxed/simple;" \
		" h=From : To; bh=YmgK; b=Ym ZG\r\n Vm; t=100; x=200; l=5"

static void
test_sig(void **state)
{
	struct dkim_sig	s;
	struct err	e;

	(void)state;
	assert_int_equal(dkim_sig_parse(SIG_OK, strlen(SIG_OK), &s, &e), 0);
	assert_int_equal(s.alg, DKIM_ALG_RSA_SHA256);
	assert_string_equal(s.d, "example.com");
	assert_string_equal(s.s, "sel");
	assert_string_equal(s.i, "@example.com");
	assert_string_equal(s.b, "YmZGVm");
	assert_string_equal(s.bh, "YmgK");
	assert_int_equal(s.hcanon, DKIM_CANON_RELAXED);
	assert_int_equal(s.bcanon, DKIM_CANON_SIMPLE);
	assert_true(s.has_l && s.l == 5 && s.t == 100 && s.x == 200);
	assert_false(dkim_sig_expired(&s, 200 + DKIM_CLOCK_SKEW));
	assert_true(dkim_sig_expired(&s, 201 + DKIM_CLOCK_SKEW));
}

static const struct {
	const char	*in;
	bool		 ok;
} sigs[] = {
	{ "v=1; a=ed25519-sha256; d=x.example; s=s; h=from; bh=a; b=b", true },
	{ "v=1; a=RSA-SHA256; c=Relaxed/SIMPLE; q=dns/txt:x/y; d=x.example; "
	    "s=s; h=from; bh=a; b=b", true },
	{ "v=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=a; b=b; "
	    "t=100; x=100", false },
	{ "v=1; a=rsa-sha256; d=x.example; s=s; h=to:FROM; bh=a; b=b; "
	    "i=user@sub.x.example; c=simple", true },
	{ "v=1; a=rsa-sha1; d=x.example; s=s; h=from; bh=a; b=b", false },
	{ "v=1; a=rsa-md5; d=x.example; s=s; h=from; bh=a; b=b", false },
	{ "v=2; a=rsa-sha256; d=x.example; s=s; h=from; bh=a; b=b", false },
	{ "a=rsa-sha256; d=x.example; s=s; h=from; bh=a; b=b", false },
	{ "v=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=a", false },
	{ "v=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=a; b=", false },
	{ "v=1; a=rsa-sha256; d=x.example; s=s; h=to:subject; bh=a; b=b",
	    false },
	{ "v=1; a=rsa-sha256; d=x.example; s=s; h=from-x; bh=a; b=b",
	    false },
	{ "v=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=a; b=b; "
	    "i=u@y.example", false },
	{ "v=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=a; b=b; "
	    "i=u@notx.example", false },
	{ "v=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=a; b=b; "
	    "c=relaxed/fancy", false },
	{ "v=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=a; b=b; "
	    "q=http", false },
	{ "v=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=a; b=b; "
	    "t=200; x=100", false },
	{ "v=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=a; b=b; "
	    "l=1234567890123", false },
	{ "v=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=a; b=b; l=-1",
	    false },
	{ "v=1; a=rsa-sha256; d=; s=s; h=from; bh=a; b=b", false },
	{ "v=1; a=rsa-sha256; d=a@b.example; s=s; h=from; bh=a; b=b", false },
	{ "v=1; a=rsa-sha256; d=a..example; s=s; h=from; bh=a; b=b", false },
	{ "v=1; a=rsa-sha256; d=x.example; s=s/1; h=from; bh=a; b=b", false },
	{ "v=1; a=rsa-sha256; d=x.example; s=a.b_c-1; h=from; bh=a; b=b",
	    true },
};

static void
test_sigs(void **state)
{
	struct dkim_sig	s;
	struct err	e;
	size_t		i;
	int		rc;

	(void)state;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		rc = dkim_sig_parse(sigs[i].in, strlen(sigs[i].in), &s, &e);
		if ((rc == 0) != sigs[i].ok)
			fail_msg("%s: %s", sigs[i].in, rc == 0 ? "accepted" :
			    e.msg);
	}
}

static const struct {
	const char	*in;
	int		 want;	/* -1 invalid, 0 rsa, 1 ed25519, 2 revoked */
	bool		 testing;
} keys[] = {
	{ "v=DKIM1; k=rsa; p=MIIB", 0, false },
	{ "p=MIIB", 0, false },
	{ "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
	    1, false },
	{ "v=DKIM1; p=", 2, false },
	{ "v=DKIM1; h=sha1:sha256; s=email; t=y:s; p=MII B", 0, true },
	{ "v=DKIM1; s=*; p=MIIB", 0, false },
	{ "v=DKIM2; p=MIIB", -1, false },
	{ "k=rsa; v=DKIM1; p=MIIB", -1, false },
	{ "v=DKIM1; k=dsa; p=MIIB", -1, false },
	{ "v=DKIM1; h=sha1; p=MIIB", -1, false },
	{ "v=DKIM1; s=tlsrpt; p=MIIB", -1, false },
	{ "v=DKIM1; k=rsa", -1, false },
	{ "v=DKIM1; p=MIIB; p=MIIB", -1, false },
};

static void
test_keys(void **state)
{
	struct dkim_key	k;
	struct err	e;
	size_t		i;
	int		rc;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		rc = dkim_key_parse(keys[i].in, strlen(keys[i].in), &k, &e);
		if (keys[i].want == -1) {
			if (rc != -1)
				fail_msg("accepted: %s", keys[i].in);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: %s", keys[i].in, e.msg);
		assert_int_equal(k.revoked, keys[i].want == 2);
		assert_int_equal(k.ed25519, keys[i].want == 1);
		assert_int_equal(k.testing, keys[i].testing);
	}
	assert_int_equal(dkim_key_parse(keys[4].in, strlen(keys[4].in), &k,
	    &e), 0);
	assert_true(k.strict);
	assert_string_equal(k.p, "MIIB");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sig),
		cmocka_unit_test(test_sigs),
		cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
