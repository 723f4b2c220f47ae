/*
 * test_check_from.c - the author domain DMARC judges: the domain of the
 * one address in From (RFC 5322 3.6.2), never one hidden in a display
 * name, a quoted string or a comment; anything ambiguous is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mauth/author.h"

static const struct {
	const char	*from;
	const char	*want;		/* NULL: refused */
} cases[] = {
	{ "alice@Example.COM", "example.com" },
	{ "Alice <alice@example.com>", "example.com" },
	{ "\"Alice Smith\" <alice@example.com>", "example.com" },
	{ "<alice@example.com>", "example.com" },
	{ " alice@example.com (Alice)", "example.com" },
	{ "\"a@b\"@example.com", "example.com" },
	{ "\"quoted \\\" <x@evil.example>\" <ceo@victim.example>",
	    "victim.example" },
	/* the forgeries: the shown address must win */
	{ "\"<x@attacker.example>\" <ceo@victim.example>", "victim.example" },
	{ "ceo@victim.example (x@attacker.example)", "victim.example" },
	{ "(<x@attacker.example>) ceo@victim.example", "victim.example" },
	{ "(nested (x@attacker.example)) <ceo@victim.example>",
	    "victim.example" },
	/* ambiguous or not one address: refused */
	{ "a@x.example, b@y.example", NULL },
	{ "group: a@x.example;", NULL },
	{ "<a@x.example> <b@y.example>", NULL },
	{ "<a@x.example> trailing@y.example", NULL },
	{ "a@b@x.example", NULL },
	{ "nobody", NULL },
	{ "\"unterminated <a@x.example>", NULL },
	{ "(unterminated a@x.example", NULL },
	{ "a@[192.0.2.1]", NULL },
	{ "a@", NULL },
	{ "a@.example", NULL },
};

static void
test_cases(void **state)
{
	char	hdr[512], out[256];
	size_t	i;
	int	rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(hdr, sizeof(hdr), "To: x@y.example\r\nFrom: %s"
		    "\r\nSubject: s\r\n", cases[i].from);
		rc = author_domain(hdr, strlen(hdr), out, sizeof(out));
		if (cases[i].want == NULL) {
			if (rc != -1)
				fail_msg("accepted %s as %s", cases[i].from,
				    out);
			continue;
		}
		if (rc != 0)
			fail_msg("refused %s", cases[i].from);
		assert_string_equal(out, cases[i].want);
	}
}

/* no From, or two: DMARC cannot apply */
static void
test_count(void **state)
{
	const char	*none = "To: a@b.example\r\n";
	const char	*two = "From: a@b.example\r\nFrom: c@d.example\r\n";
	char		 out[256];

	(void)state;
	assert_int_equal(author_domain(none, strlen(none), out,
	    sizeof(out)), -1);
	assert_int_equal(author_domain(two, strlen(two), out,
	    sizeof(out)), -1);
}

/* the whole address, for the submission check of From */
static void
test_address(void **state)
{
	static const struct {
		const char	*from;
		const char	*want;
	} a[] = {
		{ "Alice <Alice@Example.COM>", "Alice@example.com" },
		{ "alice@example.com (Alice)", "alice@example.com" },
		{ "\"a@b\"@example.com", "\"a@b\"@example.com" },
		{ "\"<x@attacker.example>\" <ceo@victim.example>",
		    "ceo@victim.example" },
		{ "ceo (x@attacker.example) @victim.example",
		    "ceo@victim.example" },
		{ "(c) ceo@victim.example", "ceo@victim.example" },
		{ "alice@ example.com", "alice@example.com" },
		{ "<alice @ example.com>", "alice@example.com" },
		{ "a@x.example, b@y.example", NULL },
		{ "@example.com", NULL },
		{ "<@example.com>", NULL },
	};
	char	hdr[512], out[256];
	size_t	i;
	int	rc;

	(void)state;
	for (i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
		(void)snprintf(hdr, sizeof(hdr), "Subject: s\r\nFrom: %s\r\n",
		    a[i].from);
		rc = author_address(hdr, strlen(hdr), out, sizeof(out));
		if (a[i].want == NULL) {
			if (rc != -1)
				fail_msg("accepted %s as %s", a[i].from, out);
			continue;
		}
		if (rc != 0)
			fail_msg("refused %s", a[i].from);
		assert_string_equal(out, a[i].want);
	}
	/* too small an output */
	(void)snprintf(hdr, sizeof(hdr), "From: alice@example.com\r\n");
	assert_int_equal(author_address(hdr, strlen(hdr), out, 10), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
