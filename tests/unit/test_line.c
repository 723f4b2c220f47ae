/*
 * test_line.c - line_find(): strict CRLF, bounded window, the edges of max.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "line.h"

struct line_case {
	const char		*in;
	size_t			 inlen;		/* 0: strlen(in) */
	size_t			 max;
	enum line_result	 want;
	size_t			 len;		/* unless MORE/TOO_LONG */
	size_t			 used;
};

#define S(x)	x, sizeof(x) - 1

static const struct line_case cases[] = {
	/* complete lines */
	{ S("HELO x\r\n"), 510, LINE_OK, 6, 8 },
	{ S("\r\n"), 510, LINE_OK, 0, 2 },
	{ S("a\r\nb\r\n"), 510, LINE_OK, 1, 3 },
	{ S("QUIT\r\nextra"), 510, LINE_OK, 4, 6 },
	/* incomplete */
	{ S(""), 510, LINE_MORE, 0, 0 },
	{ S("HELO"), 510, LINE_MORE, 0, 0 },
	{ S("HELO\r"), 510, LINE_MORE, 0, 0 },
	/* bare LF, bare CR, NUL: extent reported so the caller can skip */
	{ S("\n"), 510, LINE_BARE_LF, 0, 1 },
	{ S("abc\n"), 510, LINE_BARE_LF, 3, 4 },
	{ S("abc\nde\r\n"), 510, LINE_BARE_LF, 3, 4 },
	{ S("a\rb\r\n"), 510, LINE_BARE_CR, 3, 5 },
	{ S("\r\r\n"), 510, LINE_BARE_CR, 1, 3 },
	{ S("a\0b\r\n"), 510, LINE_NUL, 3, 5 },
	{ S("\0\r\n"), 510, LINE_NUL, 1, 3 },
	{ S("a\r\0\r\n"), 510, LINE_BARE_CR, 3, 5 },
	/* limit edges: max 4 */
	{ S("abcd\r\n"), 4, LINE_OK, 4, 6 },
	{ S("abcde\r\n"), 4, LINE_TOO_LONG, 0, 0 },
	{ S("abcde"), 4, LINE_MORE, 0, 0 },
	{ S("abcdef"), 4, LINE_TOO_LONG, 0, 0 },
	{ S("abcd\r"), 4, LINE_MORE, 0, 0 },
	{ S("abcde\n"), 4, LINE_BARE_LF, 5, 6 },
	{ S("abcdef\n"), 4, LINE_TOO_LONG, 0, 0 },
	/* max 0: only empty lines */
	{ S("\r\n"), 0, LINE_OK, 0, 2 },
	{ S("a\r\n"), 0, LINE_TOO_LONG, 0, 0 },
	{ S("\r"), 0, LINE_MORE, 0, 0 },
	{ S("ab"), 0, LINE_TOO_LONG, 0, 0 },
};

static void
test_table(void **state)
{
	size_t	i, len, used;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct line_case	*c = &cases[i];
		enum line_result	 r;

		len = used = 12345;
		r = line_find(c->in, c->inlen, c->max, &len, &used);
		if (r != c->want)
			fail_msg("case %zu: got %d want %d", i, r, c->want);
		if (r == LINE_MORE || r == LINE_TOO_LONG)
			continue;
		if (len != c->len || used != c->used)
			fail_msg("case %zu: len %zu used %zu", i, len, used);
	}
}

/* the real limits: 510 text octets, 512 with CRLF */
static void
test_cmd_limit(void **state)
{
	char	buf[600];
	size_t	len, used;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	memcpy(buf + 510, "\r\n", 2);
	assert_int_equal(line_find(buf, 512, 510, &len, &used), LINE_OK);
	assert_int_equal(len, 510);
	assert_int_equal(used, 512);
	assert_int_equal(line_find(buf, 511, 510, &len, &used), LINE_MORE);
	memset(buf, 'x', sizeof(buf));
	memcpy(buf + 511, "\r\n", 2);
	assert_int_equal(line_find(buf, 513, 510, &len, &used),
	    LINE_TOO_LONG);
	assert_int_equal(line_find(buf, 511, 510, &len, &used), LINE_MORE);
	assert_int_equal(line_find(buf, 512, 510, &len, &used),
	    LINE_TOO_LONG);
}

/* the scan never looks past max + 2 octets */
static void
test_window(void **state)
{
	char	*buf;
	size_t	 len, used, n = 1 << 20;

	(void)state;
	buf = malloc(n);
	assert_non_null(buf);
	memset(buf, 'x', n);
	memcpy(buf + n - 2, "\r\n", 2);
	assert_int_equal(line_find(buf, n, 510, &len, &used), LINE_TOO_LONG);
	assert_int_equal(line_find(buf, n, n - 2, &len, &used), LINE_OK);
	assert_int_equal(len, n - 2);
	/* a huge max does not overflow the window */
	assert_int_equal(line_find(buf, n, SIZE_MAX, &len, &used), LINE_OK);
	assert_int_equal(line_find(buf, n - 1, SIZE_MAX, &len, &used),
	    LINE_MORE);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_cmd_limit),
		cmocka_unit_test(test_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
