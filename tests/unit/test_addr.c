/*
 * test_addr.c - RFC 5321 mailbox/domain syntax: tables of good and bad
 * addresses, the length limits at their edges, UTF-8, address literals,
 * normalisation and formatting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "err.h"

struct good {
	const char	*in;
	bool		 utf8;
	const char	*local;
	const char	*domain;
	bool		 quoted;
	bool		 literal;
};

static const struct good goods[] = {
	{ "user@example.com", false, "user", "example.com", false, false },
	{ "User.Name@Example.COM", false, "User.Name", "example.com",
	    false, false },
	{ "a@b", false, "a", "b", false, false },	/* single label */
	{ "x@localhost", false, "x", "localhost", false, false },
	{ "!#$%&'*+-/=?^_`{|}~@x.y", false, "!#$%&'*+-/=?^_`{|}~", "x.y",
	    false, false },
	{ "a.b.c@d-e.f1", false, "a.b.c", "d-e.f1", false, false },
	{ "a@1.2.3.4", false, "a", "1.2.3.4", false, false },
	{ "a@0-0.9a", false, "a", "0-0.9a", false, false },
	{ "\"john doe\"@x.org", false, "\"john doe\"", "x.org", true, false },
	{ "\"\"@x.org", false, "\"\"", "x.org", true, false },
	{ "\"a@b\"@x", false, "\"a@b\"", "x", true, false },
	{ "\"a\\\"b\"@x", false, "\"a\\\"b\"", "x", true, false },
	{ "\"a\\\\\"@x", false, "\"a\\\\\"", "x", true, false },
	{ "\"a.\"@x", false, "\"a.\"", "x", true, false },
	{ "u@[1.2.3.4]", false, "u", "[1.2.3.4]", false, true },
	{ "u@[255.255.255.255]", false, "u", "[255.255.255.255]", false, true },
	{ "u@[IPv6:::1]", false, "u", "[IPv6:::1]", false, true },
	{ "u@[ipv6:2001:DB8::A]", false, "u", "[IPv6:2001:db8::a]",
	    false, true },
	{ "u@[IPv6:::ffff:1.2.3.4]", false, "u", "[IPv6:::ffff:1.2.3.4]",
	    false, true },
	/* UTF-8 (RFC 6531) */
	{ "d\xc3\xa9j\xc3\xa0@\xc3\xa9t\xc3\xa9.fr", true,
	    "d\xc3\xa9j\xc3\xa0", "\xc3\xa9t\xc3\xa9.fr", false, false },
	{ "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf"
	    "\xe5\x91\x8a", true, "\xe7\x94\xa8\xe6\x88\xb7",
	    "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", false, false },
	{ "\xf0\x9f\x98\x80@X.\xc3\x89", true, "\xf0\x9f\x98\x80",
	    "x.\xc3\x89", false, false },	/* only ASCII lower-cased */
	{ "\"\xc3\xa9 x\"@x", true, "\"\xc3\xa9 x\"", "x", true, false },
	{ "\xef\xbf\xbd@x", true, "\xef\xbf\xbd", "x", false, false },
	{ "\xf4\x8f\xbf\xbf@x", true, "\xf4\x8f\xbf\xbf", "x", false, false },
};

static const struct {
	const char	*in;
	bool		 utf8;
} bads[] = {
	{ "", false },
	{ "@", false },
	{ "user", false },
	{ "user@", false },
	{ "@example.com", false },
	{ ".user@x", false },
	{ "user.@x", false },
	{ "us..er@x", false },
	{ "us er@x", false },
	{ "us(er@x", false },
	{ "us,er@x", false },
	{ "us\"er@x", false },
	{ "user@@x", false },
	{ "a@b@c", false },
	{ "user@.x", false },
	{ "user@x.", false },
	{ "user@x..y", false },
	{ "user@-x.y", false },
	{ "user@x-.y", false },
	{ "user@x.-y", false },
	{ "user@x_y", false },
	{ "user@x y", false },
	{ "user@x\ty", false },
	{ "\"unterminated@x", false },
	{ "\"a\"b@x", false },
	{ "\"a\"@", false },
	{ "\"a\x01\"@x", false },
	{ "\"a\\\x01\"@x", false },
	{ "\"a\\", false },
	{ "a\x7f@x", false },
	{ "u@[1.2.3]", false },
	{ "u@[1.2.3.256]", false },
	{ "u@[01.2.3.4]", false },
	{ "u@[1.2.3.4", false },
	{ "u@1.2.3.4]", false },
	{ "u@[]", false },
	{ "u@[IPv6:]", false },
	{ "u@[IPv6:1.2.3.4]", false },
	{ "u@[IPv6:12345::]", false },
	{ "u@[IPv6:::1", false },
	{ "u@[::1]", false },
	{ "u@[x-tag:foo]", false },
	{ "u@[ 1.2.3.4]", false },
	/* UTF-8 without SMTPUTF8 */
	{ "d\xc3\xa9j\xc3\xa0@x", false },
	{ "u@\xc3\xa9t\xc3\xa9.fr", false },
	{ "\"\xc3\xa9\"@x", false },
	/* ill-formed UTF-8 even with SMTPUTF8 */
	{ "\x80@x", true },
	{ "\xc3@x", true },
	{ "\xc0\xaf@x", true },			/* overlong */
	{ "\xc1\xbf@x", true },
	{ "\xe0\x80\xaf@x", true },		/* overlong */
	{ "\xed\xa0\x80@x", true },		/* surrogate */
	{ "\xf4\x90\x80\x80@x", true },		/* > U+10FFFF */
	{ "\xf5\x80\x80\x80@x", true },
	{ "\xff@x", true },
	{ "a@\xc3", true },
	{ "a@x.\xe2\x82", true },
	{ "\"\\\xc3\xa9\"@x", true },		/* quoted-pair is ASCII only */
};

static void
test_good(void **state)
{
	struct mailbox	mb;
	struct err	e;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		const struct good *g = &goods[i];

		memset(&mb, 0x55, sizeof(mb));
		if (addr_parse_mailbox(g->in, strlen(g->in), g->utf8, &mb,
		    &e) != 0)
			fail_msg("good %zu (%s): %s", i, g->in, e.msg);
		assert_string_equal(mb.local, g->local);
		assert_string_equal(mb.domain, g->domain);
		assert_int_equal(mb.quoted, g->quoted);
		assert_int_equal(mb.literal, g->literal);
		/* what is good without UTF-8 stays good with it */
		if (!g->utf8)
			assert_int_equal(addr_parse_mailbox(g->in,
			    strlen(g->in), true, &mb, NULL), 0);
	}
}

static void
test_bad(void **state)
{
	struct mailbox	mb, before;
	struct err	e;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		memset(&mb, 0x55, sizeof(mb));
		memset(&e, 0, sizeof(e));
		before = mb;
		if (addr_parse_mailbox(bads[i].in, strlen(bads[i].in),
		    bads[i].utf8, &mb, &e) != -1)
			fail_msg("bad %zu accepted: %s", i, bads[i].in);
		assert_true(e.msg[0] != '\0');
		/* output untouched on failure */
		assert_memory_equal(&mb, &before, sizeof(mb));
		/* e may be NULL */
		assert_int_equal(addr_parse_mailbox(bads[i].in,
		    strlen(bads[i].in), bads[i].utf8, &mb, NULL), -1);
	}
}

/* len is honoured: no NUL needed, nothing read past it */
static void
test_exact_len(void **state)
{
	struct mailbox	mb;
	char		in[] = "a@example.comXYZ";

	(void)state;
	assert_int_equal(addr_parse_mailbox(in, 13, false, &mb, NULL), 0);
	assert_string_equal(mb.domain, "example.com");
	assert_int_equal(addr_parse_mailbox(in, 16, false, &mb, NULL), 0);
	assert_string_equal(mb.domain, "example.comxyz");
	assert_int_equal(addr_parse_mailbox("a@b\0c", 5, false, &mb, NULL), -1);
	assert_int_equal(addr_parse_mailbox("a\0@b", 4, false, &mb, NULL), -1);
	assert_int_equal(addr_parse_mailbox("u@[1.2.3.4\0]", 12, false, &mb,
	    NULL), -1);
}

/* build "local@domain" with a local part of ll octets and a domain of dl */
static void
build(char *out, size_t outsz, size_t ll, size_t dl, bool quoted)
{
	size_t	i, o = 0;

	assert_true(ll + dl + 2 < outsz);
	for (i = 0; i < ll; i++)
		out[o++] = quoted && (i == 0 || i == ll - 1) ? '"' : 'l';
	out[o++] = '@';
	/* labels of 63 octets separated by dots */
	for (i = 0; i < dl; i++)
		out[o++] = (i % 64 == 63) ? '.' : 'd';
	if (out[o - 1] == '.')
		out[o - 1] = 'e';
	out[o] = '\0';
}

static void
test_limits(void **state)
{
	char		in[1024];
	struct mailbox	mb;

	(void)state;
	build(in, sizeof(in), 64, 10, false);
	assert_int_equal(addr_parse_mailbox(in, strlen(in), false, &mb, NULL),
	    0);
	assert_int_equal(strlen(mb.local), 64);
	build(in, sizeof(in), 65, 10, false);
	assert_int_equal(addr_parse_mailbox(in, strlen(in), false, &mb, NULL),
	    -1);
	build(in, sizeof(in), 64, 10, true);
	assert_int_equal(addr_parse_mailbox(in, strlen(in), false, &mb, NULL),
	    0);
	assert_true(mb.quoted);
	build(in, sizeof(in), 65, 10, true);
	assert_int_equal(addr_parse_mailbox(in, strlen(in), false, &mb, NULL),
	    -1);
	build(in, sizeof(in), 5, 255, false);
	assert_int_equal(addr_parse_mailbox(in, strlen(in), false, &mb, NULL),
	    0);
	assert_int_equal(strlen(mb.domain), 255);
	build(in, sizeof(in), 5, 256, false);
	assert_int_equal(addr_parse_mailbox(in, strlen(in), false, &mb, NULL),
	    -1);
	build(in, sizeof(in), 64, 255, false);
	assert_int_equal(addr_parse_mailbox(in, strlen(in), false, &mb, NULL),
	    0);
}

static void
test_domain_valid(void **state)
{
	char	label[70], dom[300];
	size_t	i;

	(void)state;
	assert_true(addr_domain_valid("example.com", 11, false));
	assert_true(addr_domain_valid("a", 1, false));
	assert_true(addr_domain_valid("a-b.c", 5, false));
	assert_true(addr_domain_valid("xn--bcher-kva.example", 21, false));
	assert_false(addr_domain_valid("", 0, false));
	assert_false(addr_domain_valid(".", 1, false));
	assert_false(addr_domain_valid("a.", 2, false));
	assert_false(addr_domain_valid(".a", 2, false));
	assert_false(addr_domain_valid("a..b", 4, false));
	assert_false(addr_domain_valid("-a", 2, false));
	assert_false(addr_domain_valid("a-", 2, false));
	assert_false(addr_domain_valid("[1.2.3.4]", 9, false));
	assert_false(addr_domain_valid("\xc3\xa9", 2, false));
	assert_true(addr_domain_valid("\xc3\xa9", 2, true));
	assert_false(addr_domain_valid("a\0b", 3, false));
	/* label of 63 ok, 64 not */
	memset(label, 'a', sizeof(label));
	assert_true(addr_domain_valid(label, 63, false));
	assert_false(addr_domain_valid(label, 64, false));
	memcpy(dom, label, 63);
	dom[63] = '.';
	memcpy(dom + 64, label, 64);
	assert_false(addr_domain_valid(dom, 128, false));
	assert_true(addr_domain_valid(dom, 127, false));
	/* total 255 ok, 256 not: "a.a.a...." */
	for (i = 0; i < sizeof(dom); i++)
		dom[i] = i % 2 ? '.' : 'a';
	assert_true(addr_domain_valid(dom, 255, false));
	assert_false(addr_domain_valid(dom, 257, false));
}

static void
test_literal_valid(void **state)
{
	(void)state;
	assert_true(addr_literal_valid("[127.0.0.1]", 11));
	assert_true(addr_literal_valid("[IPv6:fe80::1]", 14));
	assert_true(addr_literal_valid("[IPV6:FE80::1]", 14));
	assert_false(addr_literal_valid("[127.0.0.1", 10));
	assert_false(addr_literal_valid("127.0.0.1", 9));
	assert_false(addr_literal_valid("[IPv6:127.0.0.1]", 16));
	assert_false(addr_literal_valid("[fe80::1]", 9));
	assert_false(addr_literal_valid("[]", 2));
	assert_false(addr_literal_valid("[IPv6:]", 7));
	assert_false(addr_literal_valid("[1.2.3.4 ]", 10));
}

static void
test_format(void **state)
{
	struct mailbox	mb;
	char		out[LIM_LOCAL_PART + LIM_DOMAIN + 2];
	char		small[8];

	(void)state;
	assert_int_equal(addr_parse_mailbox("Joe@EXAMPLE.org", 15, false, &mb,
	    NULL), 0);
	assert_int_equal(addr_format(&mb, out, sizeof(out)), 0);
	assert_string_equal(out, "Joe@example.org");
	assert_int_equal(addr_format(&mb, small, sizeof(small)), -1);
	assert_string_equal(small, "");
	assert_int_equal(addr_format(&mb, out, 16), 0);
	assert_int_equal(addr_format(&mb, out, 15), -1);
	/* no domain: just the local part (RCPT TO:<postmaster>) */
	memset(&mb, 0, sizeof(mb));
	memcpy(mb.local, "postmaster", 11);
	assert_int_equal(addr_format(&mb, out, sizeof(out)), 0);
	assert_string_equal(out, "postmaster");
}

static void
test_lower(void **state)
{
	char	s[] = "AbC.\xc3\x89-Z09";

	(void)state;
	addr_lower(s);
	assert_string_equal(s, "abc.\xc3\x89-z09");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_exact_len),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_domain_valid),
		cmocka_unit_test(test_literal_valid),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_lower),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
