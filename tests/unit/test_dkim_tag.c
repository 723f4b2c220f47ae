/*
 * test_dkim_tag.c - RFC 6376 3.2 tag lists: a real DKIM-Signature value
 * folded over lines, key records, trailing ";", whitespace trimming, and
 * every way a list is invalid (duplicates, bad names, stray line breaks,
 * bytes outside VALCHAR, too many tags).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mauth/dkim_tag.h"

/* value - tag name's value as a string, or NULL */
static const char *
value(const struct dkim_tags *t, const char *name)
{
	static char		 buf[512];
	const struct dkim_tag	*g = dkim_tags_get(t, name);

	if (g == NULL)
		return NULL;
	(void)snprintf(buf, sizeof(buf), "%.*s", (int)g->valuelen, g->value);
	return buf;
}

static void
test_signature(void **state)
{
	const char	*s = " v=1; a=rsa-sha256; d=example.net; s=brisbane;\r\n"
	    "\tc=relaxed/simple; q=dns/txt; i=@eng.example.net;\r\n"
	    "\tt=1117574938; x=1118006938;\r\n"
	    "\th=from:to:subject:date;\r\n"
	    "\tbh=MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=;\r\n"
	    "\tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZ\r\n"
	    "\t VoG4ZHRNiYzR";
	struct dkim_tags	 t;
	struct err		 e;
	char			 b[128];

	(void)state;
	assert_int_equal(dkim_tags_parse(s, strlen(s), &t, &e), 0);
	assert_int_equal(t.n, 12);
	assert_string_equal(value(&t, "v"), "1");
	assert_string_equal(value(&t, "h"), "from:to:subject:date");
	assert_string_equal(value(&t, "i"), "@eng.example.net");
	assert_null(dkim_tags_get(&t, "l"));
	assert_null(dkim_tags_get(&t, "V"));	/* names are case-sensitive */
	assert_int_equal(dkim_tag_nows(dkim_tags_get(&t, "b"), b,
	    sizeof(b)), 0);
	assert_string_equal(b, "dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD0"
	    "0lszZVoG4ZHRNiYzR");
	assert_int_equal(dkim_tag_nows(dkim_tags_get(&t, "b"), b, 10), -1);
}

struct tag_case {
	const char	*in;
	int		 ntags;		/* -1: invalid */
	const char	*name;		/* checked when valid */
	const char	*want;
};

static const struct tag_case cases[] = {
	{ "v=DKIM1; k=rsa; p=MIGf", 3, "p", "MIGf" },
	{ "v=DKIM1; p=", 2, "p", "" },		/* revoked key */
	{ "v=1;", 1, "v", "1" },
	{ "v=1 ; ", 1, "v", "1" },
	{ "  a_1 \t=\t x  y \t ", 1, "a_1", "x  y" },
	{ "n=a=b", 1, "n", "a=b" },			/* '=' is a VALCHAR */
	{ "x=\r\n y", 1, "x", "y" },
	{ "x=a\r\n b", 1, "x", "a\r\n b" },
	{ "", -1, NULL, NULL },
	{ ";", -1, NULL, NULL },
	{ "v=1;;", -1, NULL, NULL },
	{ "v=1; v=2", -1, NULL, NULL },
	{ "1v=1", -1, NULL, NULL },
	{ "_v=1", -1, NULL, NULL },
	{ "v", -1, NULL, NULL },
	{ "v 1", -1, NULL, NULL },
	{ "v=1\r\nk=rsa", -1, NULL, NULL },		/* CRLF without WSP */
	{ "v=1\n k=rsa", -1, NULL, NULL },		/* bare LF */
	{ "v=1\r", -1, NULL, NULL },
	{ "v=caf\xc3\xa9", -1, NULL, NULL },
	{ "v=a\x01", -1, NULL, NULL },
	{ "v=a \x7f", -1, NULL, NULL },
};

static void
test_cases(void **state)
{
	struct dkim_tags	t;
	struct err		e;
	size_t			i;
	int			rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t.n = 99;
		rc = dkim_tags_parse(cases[i].in, strlen(cases[i].in), &t, &e);
		if (cases[i].ntags == -1) {
			if (rc != -1)
				fprintf(stderr, "case %zu accepted\n", i);
			assert_int_equal(rc, -1);
			assert_int_equal(t.n, 99);	/* untouched */
			assert_true(e.msg[0] != '\0');
			continue;
		}
		if (rc != 0)
			fprintf(stderr, "case %zu: %s\n", i, e.msg);
		assert_int_equal(rc, 0);
		assert_int_equal(t.n, cases[i].ntags);
		assert_string_equal(value(&t, cases[i].name), cases[i].want);
	}
}

/* DKIM_TAGS_MAX tags parse; one more does not */
static void
test_max(void **state)
{
	char			buf[1024];
	struct dkim_tags	t;
	struct err		e;
	size_t			n = 0;
	int			i;

	(void)state;
	for (i = 0; i < DKIM_TAGS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "t%d=x;", i);
	assert_int_equal(dkim_tags_parse(buf, n, &t, &e), 0);
	assert_int_equal(t.n, DKIM_TAGS_MAX);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "z=1");
	assert_int_equal(dkim_tags_parse(buf, n, &t, &e), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
