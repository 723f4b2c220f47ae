/*
 * test_spf.c - SPF records and macros: RFC 7208 7.4's examples for
 * IPv4 and IPv6, URL-encoding, the 253-byte cut, and records that parse
 * or are permerrors (every grammar rule of 4.6, 5 and 6 at its edge).
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

#include "mauth/spf_macro.h"
#include "mauth/spf_record.h"

/* ctx - RFC 7208 7.4's sender and address */
static void
ctx(struct spf_macro_ctx *c, bool v6)
{
	memset(c, 0, sizeof(*c));
	c->local = "strong-bad";
	c->sender_domain = "email.example.com";
	c->domain = "email.example.com";
	c->helo = "mx.example.org";
	c->receiver = "mail.example.net";
	c->now = 1700000000;
	c->family = v6 ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(AF_INET, "192.0.2.3", &c->ip4), 1);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::cb01", &c->ip6), 1);
}

static const struct {
	const char	*in;
	const char	*want;
	bool		 v6;
} macros[] = {
	{ "%{s}", "strong-bad@email.example.com", false },
	{ "%{o}", "email.example.com", false },
	{ "%{d}", "email.example.com", false },
	{ "%{d4}", "email.example.com", false },
	{ "%{d3}", "email.example.com", false },
	{ "%{d2}", "example.com", false },
	{ "%{d1}", "com", false },
	{ "%{dr}", "com.example.email", false },
	{ "%{d2r}", "example.email", false },
	{ "%{l}", "strong-bad", false },
	{ "%{l-}", "strong.bad", false },
	{ "%{lr}", "strong-bad", false },
	{ "%{lr-}", "bad.strong", false },
	{ "%{l1r-}", "strong", false },
	{ "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com",
	    false },
	{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com", false },
	{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com", false },
	{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	    "3.2.0.192.in-addr.strong.lp._spf.example.com", false },
	{ "%{d2}.trusted-domains.example.net",
	    "example.com.trusted-domains.example.net", false },
	{ "%{ir}.%{v}._spf.%{d2}", "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"
	    ".0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com", true },
	/* escapes, explanation letters, URL-encoding */
	{ "a%%b%_c%-d", "a%b c%20d", false },
	{ "%{c} %{r} %{t} %{h} %{p}",
	    "192.0.2.3 mail.example.net 1700000000 mx.example.org unknown",
	    false },
	{ "%{c}", "2001:db8::cb01", true },
	{ "%{S}", "strong-bad%40email.example.com", false },
	{ "%{L+}", "strong-bad", false },
};

static void
test_macros(void **state)
{
	struct spf_macro_ctx	c;
	struct err		e;
	char			out[SPF_MACRO_OUT];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		ctx(&c, macros[i].v6);
		if (spf_macro_expand(macros[i].in, strlen(macros[i].in), &c,
		    true, false, out, sizeof(out), &e) == -1)
			fail_msg("%s: %s", macros[i].in, e.msg);
		assert_string_equal(out, macros[i].want);
	}
}

static const struct {
	const char	*in;
	bool		 exp;
} bad_macros[] = {
	{ "%", true }, { "%x", true }, { "%{", true }, { "%{d", true },
	{ "%{x}", true }, { "%{d0}", true }, { "%{d2q}", true },
	{ "%{c}", false }, { "%{r}", false }, { "%{t}", false },
	{ "a b", false }, { "a\tb", true }, { "\x01", true }, { "%{d99999}", true },
};

static void
test_bad_macros(void **state)
{
	struct spf_macro_ctx	c;
	struct err		e;
	char			out[64];
	size_t			i;

	(void)state;
	ctx(&c, false);
	for (i = 0; i < sizeof(bad_macros) / sizeof(bad_macros[0]); i++) {
		if (spf_macro_expand(bad_macros[i].in,
		    strlen(bad_macros[i].in), &c, bad_macros[i].exp, false,
		    out, sizeof(out), &e) != -1)
			fail_msg("accepted %s", bad_macros[i].in);
		assert_int_equal(spf_macro_check(bad_macros[i].in,
		    strlen(bad_macros[i].in), bad_macros[i].exp, &e), -1);
	}
	/* too long for out */
	assert_int_equal(spf_macro_expand("%{s}%{s}%{s}", 12, &c, false,
	    false, out, sizeof(out), &e), -1);
}

/* 7.3: a domain over 253 bytes loses whole labels on the left */
static void
test_cut(void **state)
{
	struct spf_macro_ctx	c;
	struct err		e;
	char			local[64], spec[64], out[SPF_MACRO_OUT];

	(void)state;
	ctx(&c, false);
	memset(local, 'a', 60);
	local[60] = '\0';
	/* 61 * 4 + "x.example.com" = 257 bytes: the first label goes */
	c.local = local;
	(void)snprintf(spec, sizeof(spec), "%%{l}.%%{l}.%%{l}.%%{l}.x.%%{o}");
	assert_int_equal(spf_macro_expand(spec, strlen(spec), &c, false, true,
	    out, sizeof(out), &e), 0);
	assert_true(strlen(out) <= 253);
	assert_int_equal(strlen(out), 61 * 3 + 2 + strlen(c.sender_domain));
	assert_int_equal(out[60], '.');
	/* without domain truncation the whole string stays */
	assert_int_equal(spf_macro_expand(spec, strlen(spec), &c, false, false,
	    out, sizeof(out), &e), 0);
	assert_int_equal(strlen(out), 61 * 4 + 2 + strlen(c.sender_domain));
}

static void
test_record(void **state)
{
	const char		*s = "v=spf1 +a mx/24 -ip4:192.0.2.0/24 "
	    "~ip6:2001:db8::/32 ?include:_spf.example.com "
	    "a:mail.example.com//64 mx:%{d}/20//48 ptr exists:%{i}.x.example "
	    "ip4:198.51.100.7 redirect=_spf.example.net exp=explain.%{d} "
	    "foo-bar=%{l} -all  ";
	struct spf_record	 r;
	struct err		 e;
	char			 a[INET6_ADDRSTRLEN];

	(void)state;
	if (spf_record_parse(s, strlen(s), &r, &e) == -1)
		fail_msg("%s", e.msg);
	assert_int_equal(r.n, 11);
	assert_int_equal(r.t[0].mech, SPF_MECH_A);
	assert_int_equal(r.t[0].qual, SPF_QUAL_PASS);
	assert_null(r.t[0].domain);
	assert_int_equal(r.t[1].mech, SPF_MECH_MX);
	assert_int_equal(r.t[1].cidr4, 24);
	assert_int_equal(r.t[1].cidr6, 128);
	assert_int_equal(r.t[2].qual, SPF_QUAL_FAIL);
	assert_int_equal(r.t[2].cidr4, 24);
	assert_string_equal(inet_ntop(AF_INET, &r.t[2].ip4, a, sizeof(a)),
	    "192.0.2.0");
	assert_int_equal(r.t[3].qual, SPF_QUAL_SOFTFAIL);
	assert_int_equal(r.t[3].cidr6, 32);
	assert_int_equal(r.t[4].qual, SPF_QUAL_NEUTRAL);
	assert_int_equal(r.t[4].mech, SPF_MECH_INCLUDE);
	assert_int_equal(r.t[4].domainlen, strlen("_spf.example.com"));
	assert_memory_equal(r.t[4].domain, "_spf.example.com",
	    r.t[4].domainlen);
	assert_int_equal(r.t[5].cidr4, 32);
	assert_int_equal(r.t[5].cidr6, 64);
	assert_int_equal(r.t[5].domainlen, strlen("mail.example.com"));
	assert_int_equal(r.t[6].cidr4, 20);
	assert_int_equal(r.t[6].cidr6, 48);
	assert_int_equal(r.t[6].domainlen, 4);
	assert_int_equal(r.t[7].mech, SPF_MECH_PTR);
	assert_int_equal(r.t[8].mech, SPF_MECH_EXISTS);
	assert_int_equal(r.t[9].cidr4, 32);
	assert_int_equal(r.t[10].mech, SPF_MECH_ALL);
	assert_int_equal(r.t[10].qual, SPF_QUAL_FAIL);
	assert_memory_equal(r.redirect, "_spf.example.net", r.redirectlen);
	assert_memory_equal(r.exp, "explain.%{d}", r.explen);
	assert_string_equal(spf_qual_name(r.t[3].qual), "softfail");
}

static const struct {
	const char	*in;
	int		 n;		/* terms; -1: permerror */
} records[] = {
	{ "v=spf1", 0 },
	{ "V=SPF1 ALL", 1 },
	{ "v=spf1 -all", 1 },
	{ "v=spf1 Include:example.com", 1 },
	{ "v=spf1 a:xn--bcher-kva.example", 1 },
	{ "v=spf1 a:example.com.", 1 },
	{ "v=spf1 a:foo.1-2", 1 },	/* hyphen in the top label */
	{ "v=spf1 a/0//0", 1 },
	{ "v=spf1 ip6:::1/128", 1 },
	{ "v=spf1 x-unknown=anything", 0 },
	{ "v=spf10", -1 },
	{ "v=spf1x", -1 },
	{ "spf1 all", -1 },
	{ "v=spf1 alll", -1 },
	{ "v=spf1 all:x.com", -1 },
	{ "v=spf1 include", -1 },
	{ "v=spf1 include:", -1 },
	{ "v=spf1 exists", -1 },
	{ "v=spf1 a:localhost", -1 },	/* no "." toplabel */
	{ "v=spf1 a:example.123", -1 },	/* top label all digits */
	{ "v=spf1 a:example.-com", -1 },
	{ "v=spf1 a/33", -1 },
	{ "v=spf1 a//129", -1 },
	{ "v=spf1 a/024", -1 },
	{ "v=spf1 a/", -1 },
	{ "v=spf1 ip4:192.0.2.1/33", -1 },
	{ "v=spf1 ip4:192.0.2", -1 },
	{ "v=spf1 ip4:", -1 },
	{ "v=spf1 ip4:2001:db8::1", -1 },
	{ "v=spf1 ip6:192.0.2.1", -1 },
	{ "v=spf1 ip6:::1/129", -1 },
	{ "v=spf1 - all", -1 },
	{ "v=spf1 -", -1 },
	{ "v=spf1 redirect=a.com redirect=b.com", -1 },
	{ "v=spf1 exp=a.com exp=b.com", -1 },
	{ "v=spf1 redirect=", -1 },
	{ "v=spf1 -redirect=a.com", -1 },
	{ "v=spf1 1x=y", -1 },
	{ "v=spf1 a:%{c}.example.com", -1 },	/* exp-only letter */
	{ "v=spf1 exists:%{i", -1 },
	{ "v=spf1 foo=%", -1 },
	{ "v=spf1\tall", -1 },
};

static void
test_records(void **state)
{
	struct spf_record	r;
	struct err		e;
	size_t			i;
	int			rc;

	(void)state;
	for (i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		r.n = 9999;
		rc = spf_record_parse(records[i].in, strlen(records[i].in),
		    &r, &e);
		if (records[i].n == -1) {
			if (rc != -1)
				fail_msg("accepted: %s", records[i].in);
			assert_int_equal(r.n, 9999);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: %s", records[i].in, e.msg);
		assert_int_equal(r.n, records[i].n);
	}
}

/* SPF_TERMS_MAX directives parse, one more is a permerror */
static void
test_max(void **state)
{
	static char		buf[SPF_TERMS_MAX * 8 + 16];
	static struct spf_record r;
	struct err		e;
	size_t			n, i;

	(void)state;
	n = (size_t)snprintf(buf, sizeof(buf), "v=spf1");
	for (i = 0; i < SPF_TERMS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " a");
	assert_int_equal(spf_record_parse(buf, n, &r, &e), 0);
	assert_int_equal(r.n, SPF_TERMS_MAX);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, " a");
	assert_int_equal(spf_record_parse(buf, n, &r, &e), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_macros),
		cmocka_unit_test(test_bad_macros),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
