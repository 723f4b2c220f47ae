/*
 * test_authres.c - the Authentication-Results field we write (every
 * method, quoting of hostile values, "none") and the authserv-id read
 * from received ones (comments, folding, quoting, case, look-alikes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mauth/authres.h"

/* build - the field as a string */
static const char *
build(const struct authres *a)
{
	static struct buf	out;

	buf_release(&out);
	buf_init(&out, 4096);
	assert_int_equal(authres_build(a, &out), 0);
	assert_int_equal(buf_add(&out, "", 1), 0);
	return buf_ptr(&out);
}

static void
test_build(void **state)
{
	struct authres	a;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.authserv_id = "mx.example.net";
	assert_string_equal(build(&a),
	    "Authentication-Results: mx.example.net; none\r\n");

	a.spf = "pass";
	a.mailfrom = "alice@example.com";
	a.ndkim = 2;
	a.dkim[0] = (struct authres_dkim){ "pass", NULL, "example.com", "s1",
	    "ab/d+f=h" };
	a.dkim[1] = (struct authres_dkim){ "fail", "body hash mismatch",
	    "example.com", "s2", NULL };
	a.dmarc = "pass";
	a.header_from = "example.com";
	a.policy = "reject";
	assert_string_equal(build(&a),
	    "Authentication-Results: mx.example.net;\r\n"
	    "\tspf=pass smtp.mailfrom=alice@example.com;\r\n"
	    "\tdkim=pass header.d=example.com header.s=s1 header.b=\"ab/d+f=h\";"
	    "\r\n"
	    "\tdkim=fail reason=\"body hash mismatch\" header.d=example.com "
	    "header.s=s2;\r\n"
	    "\tdmarc=pass header.from=example.com policy.dmarc=reject\r\n");

	/* hostile values stay inside their quotes, on one line */
	memset(&a, 0, sizeof(a));
	a.authserv_id = "mx.example.net";
	a.spf = "none";
	a.helo = "x; dkim=pass\r\n\"\\";
	a.dkim_none = true;
	assert_string_equal(build(&a),
	    "Authentication-Results: mx.example.net;\r\n"
	    "\tspf=none smtp.helo=\"x; dkim=pass??\\\"\\\\\";\r\n"
	    "\tdkim=none\r\n");
}

static void
test_cap(void **state)
{
	struct authres	a;
	struct buf	out;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.authserv_id = "mx.example.net";
	a.spf = "pass";
	buf_init(&out, 20);
	assert_int_equal(authres_build(&a, &out), -1);
	buf_release(&out);
}

static const struct {
	const char	*v;
	bool		 is;
} ids[] = {
	{ " mx.example.net; spf=pass", true },
	{ "MX.Example.NET;spf=pass", true },
	{ "\r\n\tmx.example.net 1; none", true },
	{ " (comment (nested)) mx.example.net; none", true },
	{ " \"mx.example.net\"; none", true },
	{ " mx.example.net(c); none", true },
	{ " mx.example.net.evil; none", false },
	{ " evil.mx.example.net; none", false },
	{ " (unclosed mx.example.net; none", false },
	{ " \"mx.example.net; none", false },
	{ "", false },
	{ " ; none", false },
};

static void
test_id(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (authres_id_is(ids[i].v, strlen(ids[i].v),
		    "mx.example.net") != ids[i].is)
			fail_msg("%s", ids[i].v);
}

/* forged-looking mail: SPF fail, or DMARC fail under p=reject, as our
 * own field says it; never from inside a quoted value */
static void
test_forged(void **state)
{
	struct authres	a;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.authserv_id = "mx.example.net";
	a.spf = "fail";
	a.mailfrom = "x@example.com";
	assert_true(authres_forged(build(&a)));
	a.dmarc = "pass";
	assert_true(authres_forged(build(&a)));
	a.spf = "softfail";
	assert_false(authres_forged(build(&a)));
	a.dmarc = "fail";
	a.header_from = "example.com";
	a.policy = "reject";
	assert_true(authres_forged(build(&a)));
	a.policy = "quarantine";
	assert_false(authres_forged(build(&a)));
	a.policy = NULL;
	assert_false(authres_forged(build(&a)));
	/* values that look like it stay quoted */
	a.policy = "none";
	a.header_from = "a policy.dmarc=reject";
	a.mailfrom = "\r\n\tspf=fail;";
	assert_false(authres_forged(build(&a)));
	a.spf = NULL;
	a.dmarc = NULL;
	a.helo = "h\r\n\tdmarc=fail policy.dmarc=reject";
	assert_false(authres_forged(build(&a)));
	assert_false(authres_forged(""));
	assert_true(authres_forged("Received: x\r\nAuthentication-Results: "
	    "h;\r\n\tdkim=none;\r\n\tdmarc=fail header.from=e.com "
	    "policy.dmarc=reject\r\n"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_forged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
