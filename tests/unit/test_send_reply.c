/*
 * test_send_reply.c - the reply parser of "postern send" (ctl_send.h):
 * single and multi-line replies, partial input, malformed lines, the
 * line and line-count limits at their edges, and byte-at-a-time feeding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_send.h"
#include "buf.h"
#include "err.h"
#include "xmalloc.h"

struct rcase {
	const char		*name;
	const char		*in;
	enum send_reply_result	 want;
	int			 code;
	size_t			 nlines;
	const char		*first;		/* text of line 0 */
	const char		*last;		/* text of the last line */
	size_t			 used;		/* 0: strlen(in) */
	const char		*why;		/* substring of e.msg for BAD */
};

static const struct rcase cases[] = {
	{ "one line", "220 mail.example.test ESMTP\r\n", SEND_REPLY_OK, 220,
	  1, "mail.example.test ESMTP", "mail.example.test ESMTP", 0, NULL },
	{ "bare code", "250\r\n", SEND_REPLY_OK, 250, 1, "", "", 0, NULL },
	{ "code and space", "250 \r\n", SEND_REPLY_OK, 250, 1, "", "", 0,
	  NULL },
	{ "multi-line", "250-mail.example.test\r\n250-PIPELINING\r\n"
	  "250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n", SEND_REPLY_OK, 250, 4,
	  "mail.example.test", "STARTTLS", 0, NULL },
	{ "empty continuation", "250-\r\n250 ok\r\n", SEND_REPLY_OK, 250, 2,
	  "", "ok", 0, NULL },
	{ "trailing next reply", "235 2.7.0 ok\r\n250 more\r\n",
	  SEND_REPLY_OK, 235, 1, "2.7.0 ok", "2.7.0 ok", 14, NULL },
	{ "lowest code", "200 x\r\n", SEND_REPLY_OK, 200, 1, "x", "x", 0,
	  NULL },
	{ "highest code", "559 x\r\n", SEND_REPLY_OK, 559, 1, "x", "x", 0,
	  NULL },
	{ "control chars shown as ?", "550 a\x1b[31mb\x7f\tc\r\n",
	  SEND_REPLY_OK, 550, 1, "a?[31mb? c", "a?[31mb? c", 0, NULL },
	{ "8-bit kept", "250 caf\xc3\xa9\r\n", SEND_REPLY_OK, 250, 1,
	  "caf\xc3\xa9", "caf\xc3\xa9", 0, NULL },

	{ "empty", "", SEND_REPLY_MORE, 0, 0, NULL, NULL, 0, NULL },
	{ "no CRLF yet", "220 hello", SEND_REPLY_MORE, 0, 0, NULL, NULL, 0,
	  NULL },
	{ "CR without LF yet", "220 hello\r", SEND_REPLY_MORE, 0, 0, NULL,
	  NULL, 0, NULL },
	{ "continuation pending", "250-a\r\n250-b\r\n", SEND_REPLY_MORE, 0,
	  0, NULL, NULL, 0, NULL },
	{ "last line partial", "250-a\r\n250 b", SEND_REPLY_MORE, 0, 0,
	  NULL, NULL, 0, NULL },

	{ "bare LF", "220 hello\n", SEND_REPLY_BAD, 0, 0, NULL, NULL, 0,
	  "bare LF" },
	{ "bare CR", "220 he\rllo\r\n", SEND_REPLY_BAD, 0, 0, NULL, NULL, 0,
	  "bare CR" },
	{ "NUL", "220 he\0llo\r\n", SEND_REPLY_BAD, 0, 0, NULL, NULL, 0,
	  "NUL" },
	{ "no code", "hello\r\n", SEND_REPLY_BAD, 0, 0, NULL, NULL, 0,
	  "code" },
	{ "short code", "25\r\n", SEND_REPLY_BAD, 0, 0, NULL, NULL, 0,
	  "code" },
	{ "empty line", "\r\n", SEND_REPLY_BAD, 0, 0, NULL, NULL, 0,
	  "code" },
	{ "1yz code", "150 x\r\n", SEND_REPLY_BAD, 0, 0, NULL, NULL, 0,
	  "code" },
	{ "6yz code", "600 x\r\n", SEND_REPLY_BAD, 0, 0, NULL, NULL, 0,
	  "code" },
	{ "x6z code", "260 x\r\n", SEND_REPLY_BAD, 0, 0, NULL, NULL, 0,
	  "code" },
	{ "letter in code", "2a0 x\r\n", SEND_REPLY_BAD, 0, 0, NULL, NULL, 0,
	  "code" },
	{ "no separator", "250x\r\n", SEND_REPLY_BAD, 0, 0, NULL, NULL, 0,
	  "hyphen" },
	{ "four digits", "2500 x\r\n", SEND_REPLY_BAD, 0, 0, NULL, NULL, 0,
	  "hyphen" },
	{ "code changes", "250-a\r\n251 b\r\n", SEND_REPLY_BAD, 0, 0, NULL,
	  NULL, 0, "changes" },
	{ "bad continuation", "250-a\r\nfoo\r\n", SEND_REPLY_BAD, 0, 0,
	  NULL, NULL, 0, "code" },
	{ "bare LF in second line", "250-a\r\n250 b\n", SEND_REPLY_BAD, 0,
	  0, NULL, NULL, 0, "bare LF" },
};

/* check_case - one table row, whole input at once */
static void
check_case(const struct rcase *c)
{
	struct send_reply	*r = xmalloc(sizeof(*r));
	struct err		 e;
	size_t			 used = 12345, len = strlen(c->in);
	enum send_reply_result	 got;

	/* "NUL" has an embedded NUL: measure it by its CRLF */
	if (strcmp(c->name, "NUL") == 0)
		len = 12;
	memset(&e, 0, sizeof(e));
	got = send_reply_parse(c->in, len, r, &used, &e);
	if (got != c->want)
		fail_msg("%s: result %d, want %d (%s)", c->name, got, c->want,
		    e.msg);
	if (got == SEND_REPLY_OK) {
		assert_int_equal(r->code, c->code);
		assert_int_equal(r->nlines, c->nlines);
		assert_string_equal(r->text[0], c->first);
		assert_string_equal(r->text[r->nlines - 1], c->last);
		assert_int_equal(used, c->used ? c->used : len);
	} else if (got == SEND_REPLY_BAD) {
		if (strstr(e.msg, c->why) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", c->name,
			    e.msg, c->why);
	}
	free(r);
}

static void
test_table(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

/*
 * test_bytewise - each OK case fed one byte more at a time: MORE until
 * the last byte of the reply, then the same result as all at once.
 */
static void
test_bytewise(void **state)
{
	struct send_reply	*r = xmalloc(sizeof(*r));
	struct err		 e;
	size_t			 i, n, len, used, want;
	enum send_reply_result	 got;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].want != SEND_REPLY_OK)
			continue;
		len = strlen(cases[i].in);
		want = cases[i].used ? cases[i].used : len;
		for (n = 0; n < want; n++)
			assert_int_equal(send_reply_parse(cases[i].in, n, r,
			    &used, &e), SEND_REPLY_MORE);
		got = send_reply_parse(cases[i].in, want, r, &used, &e);
		assert_int_equal(got, SEND_REPLY_OK);
		assert_int_equal(used, want);
		assert_int_equal(r->code, cases[i].code);
	}
	free(r);
}

/* line_of - "NNN" sep and text of n bytes, CRLF: a line of 4 + n + 2 */
static void
line_of(struct buf *b, const char *code, char sep, size_t n)
{
	size_t	i;

	assert_int_equal(buf_printf(b, "%s%c", code, sep), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(buf_add(b, "x", 1), 0);
	assert_int_equal(buf_add(b, "\r\n", 2), 0);
}

/* test_line_limit - 512 octets with CRLF pass, 513 do not */
static void
test_line_limit(void **state)
{
	struct send_reply	*r = xmalloc(sizeof(*r));
	struct err		 e;
	struct buf		 b;
	size_t			 used;

	(void)state;
	buf_init(&b, 1 << 20);
	line_of(&b, "250", ' ', SEND_REPLY_TEXT_MAX);
	assert_int_equal(buf_avail(&b), 512);
	assert_int_equal(send_reply_parse(buf_ptr(&b), buf_avail(&b), r,
	    &used, &e), SEND_REPLY_OK);
	assert_int_equal(used, 512);
	assert_int_equal(strlen(r->text[0]), SEND_REPLY_TEXT_MAX);

	buf_reset(&b);
	line_of(&b, "250", ' ', SEND_REPLY_TEXT_MAX + 1);
	assert_int_equal(send_reply_parse(buf_ptr(&b), buf_avail(&b), r,
	    &used, &e), SEND_REPLY_BAD);
	assert_non_null(strstr(e.msg, "longer than 512"));

	/* overlong without any CRLF: refused once 512 bytes are in */
	buf_reset(&b);
	line_of(&b, "250", ' ', 2000);
	assert_int_equal(send_reply_parse(buf_ptr(&b), 511, r, &used, &e),
	    SEND_REPLY_MORE);
	assert_int_equal(send_reply_parse(buf_ptr(&b), 512, r, &used, &e),
	    SEND_REPLY_BAD);

	/* the same in a continuation line */
	buf_reset(&b);
	line_of(&b, "250", '-', 3);
	line_of(&b, "250", ' ', SEND_REPLY_TEXT_MAX + 1);
	assert_int_equal(send_reply_parse(buf_ptr(&b), buf_avail(&b), r,
	    &used, &e), SEND_REPLY_BAD);
	buf_release(&b);
	free(r);
}

/* test_line_count - SEND_REPLY_LINES_MAX lines pass, one more does not */
static void
test_line_count(void **state)
{
	struct send_reply	*r = xmalloc(sizeof(*r));
	struct err		 e;
	struct buf		 b;
	size_t			 i, used;

	(void)state;
	buf_init(&b, 1 << 20);
	for (i = 0; i + 1 < SEND_REPLY_LINES_MAX; i++)
		line_of(&b, "250", '-', SEND_REPLY_TEXT_MAX);
	line_of(&b, "250", ' ', 2);
	assert_int_equal(send_reply_parse(buf_ptr(&b), buf_avail(&b), r,
	    &used, &e), SEND_REPLY_OK);
	assert_int_equal(r->nlines, SEND_REPLY_LINES_MAX);
	assert_int_equal(used, buf_avail(&b));
	assert_string_equal(r->text[SEND_REPLY_LINES_MAX - 1], "xx");

	/* the 64th line ends in '-': refused without waiting for a 65th */
	buf_reset(&b);
	for (i = 0; i < SEND_REPLY_LINES_MAX; i++)
		line_of(&b, "250", '-', 1);
	assert_int_equal(send_reply_parse(buf_ptr(&b), buf_avail(&b), r,
	    &used, &e), SEND_REPLY_BAD);
	assert_non_null(strstr(e.msg, "more than"));
	/* one line less is still waiting for more */
	assert_int_equal(send_reply_parse(buf_ptr(&b), buf_avail(&b) - 7, r,
	    &used, &e), SEND_REPLY_MORE);
	buf_release(&b);
	free(r);
}

/* test_stream - two replies back to back are parsed one after the other */
static void
test_stream(void **state)
{
	static const char	 in[] = "250-a\r\n250 b\r\n354 go\r\n";
	struct send_reply	*r = xmalloc(sizeof(*r));
	struct err		 e;
	size_t			 used, off = 0;

	(void)state;
	assert_int_equal(send_reply_parse(in, sizeof(in) - 1, r, &used, &e),
	    SEND_REPLY_OK);
	assert_int_equal(r->code, 250);
	assert_int_equal(r->nlines, 2);
	off += used;
	assert_int_equal(send_reply_parse(in + off, sizeof(in) - 1 - off, r,
	    &used, &e), SEND_REPLY_OK);
	assert_int_equal(r->code, 354);
	assert_string_equal(r->text[0], "go");
	off += used;
	assert_int_equal(off, sizeof(in) - 1);
	assert_int_equal(send_reply_parse(in + off, 0, r, &used, &e),
	    SEND_REPLY_MORE);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_bytewise),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_line_count),
		cmocka_unit_test(test_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
