/*
 * test_mta_proto.c - the pure parts of the outbound SMTP client: reply
 * assembly, enhanced status codes, EHLO keywords, dot-stuffing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/mta_proto.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static void
test_reply_lines(void **state)
{
	static const struct {
		const char		*line;
		enum mta_reply_status	 want;
		int			 code;
		const char		*esc;
	} cases[] = {
		{ "250 ok", MR_DONE, 250, "" },
		{ "250", MR_DONE, 250, "" },
		{ "250-first", MR_MORE, 250, "" },
		{ "250 2.1.0 Sender ok", MR_DONE, 250, "2.1.0" },
		{ "451 4.7.1 greylisted", MR_DONE, 451, "4.7.1" },
		{ "550 5.1.1 no such user", MR_DONE, 550, "5.1.1" },
		{ "550 4.1.1 wrong class", MR_DONE, 550, "" },
		{ "550 5.123.456 long", MR_DONE, 550, "5.123.456" },
		{ "550 5.1234.1 too long", MR_DONE, 550, "" },
		{ "550 5.1.1x", MR_DONE, 550, "" },
		{ "354 go ahead", MR_DONE, 354, "" },
		{ "220 mx ESMTP", MR_DONE, 220, "" },
		{ "25", MR_BAD, 0, "" },
		{ "", MR_BAD, 0, "" },
		{ "abc ok", MR_BAD, 0, "" },
		{ "150 too low", MR_BAD, 0, "" },
		{ "650 too high", MR_BAD, 0, "" },
		{ "260 second digit", MR_BAD, 0, "" },
		{ "250_bad separator", MR_BAD, 0, "" },
		{ "2500 four digits", MR_BAD, 0, "" },
	};
	struct mta_reply	r;
	size_t			i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		mta_reply_init(&r);
		assert_int_equal(mta_reply_add(&r, cases[i].line,
		    strlen(cases[i].line)), cases[i].want);
		if (cases[i].want != MR_BAD) {
			assert_int_equal(r.code, cases[i].code);
			assert_string_equal(r.esc, cases[i].esc);
		}
	}
}

static void
test_reply_multiline(void **state)
{
	struct mta_reply	r;
	char			line[64];

	(void)state;
	mta_reply_init(&r);
	assert_int_equal(mta_reply_add(&r, "250-mx.example says hi", 22),
	    MR_MORE);
	assert_int_equal(mta_reply_add(&r, "250-PIPELINING", 14), MR_MORE);
	assert_int_equal(mta_reply_add(&r, "250 SIZE 1000", 13), MR_DONE);
	assert_int_equal(r.nlines, 3);
	assert_string_equal(r.text, "mx.example says hi\nPIPELINING\nSIZE 1000");
	assert_string_equal(r.first, "mx.example says hi");
	mta_reply_line(&r, line, sizeof(line));
	assert_string_equal(line, "250 mx.example says hi");
	/* the code may not change inside one reply */
	mta_reply_init(&r);
	assert_int_equal(mta_reply_add(&r, "250-a", 5), MR_MORE);
	assert_int_equal(mta_reply_add(&r, "251 b", 5), MR_BAD);
	/* NUL inside a line */
	mta_reply_init(&r);
	assert_int_equal(mta_reply_add(&r, "250 a\0b", 7), MR_BAD);
	/* unprintable text and quotes are masked for logs */
	mta_reply_init(&r);
	assert_int_equal(mta_reply_add(&r, "550 a\"b\x01\x80", 9), MR_DONE);
	mta_reply_line(&r, line, sizeof(line));
	assert_string_equal(line, "550 a?b??");
	/* a short output buffer truncates, stays terminated */
	mta_reply_line(&r, line, 6);
	assert_string_equal(line, "550 a");
	mta_reply_init(&r);
	assert_int_equal(mta_reply_add(&r, "221", 3), MR_DONE);
	mta_reply_line(&r, line, sizeof(line));
	assert_string_equal(line, "221");
}

static void
test_reply_limits(void **state)
{
	struct mta_reply	 r;
	char			*big;
	size_t			 i;

	(void)state;
	/* at most MTA_REPLY_MAX_LINES lines */
	mta_reply_init(&r);
	for (i = 0; i < MTA_REPLY_MAX_LINES; i++)
		assert_int_equal(mta_reply_add(&r, "250-x", 5), MR_MORE);
	assert_int_equal(mta_reply_add(&r, "250 x", 5), MR_BAD);
	/* text beyond MTA_REPLY_TEXT_MAX is dropped, not overflowed */
	big = malloc(MTA_REPLY_LINE_MAX + 1);
	assert_non_null(big);
	memcpy(big, "250-", 4);
	memset(big + 4, 'a', MTA_REPLY_LINE_MAX - 4);
	mta_reply_init(&r);
	for (i = 0; i < 5; i++)
		assert_int_equal(mta_reply_add(&r, big, MTA_REPLY_LINE_MAX),
		    MR_MORE);
	assert_int_equal(r.textlen, MTA_REPLY_TEXT_MAX - 1);
	assert_int_equal(strlen(r.text), MTA_REPLY_TEXT_MAX - 1);
	assert_int_equal(strlen(r.first), MTA_REPLY_LINE_MAX - 4);
	free(big);
}

static void
test_esc(void **state)
{
	static const struct {
		const char	*text;
		char		 cls;
		int		 rc;
		const char	*want;
	} cases[] = {
		{ "2.0.0", '2', 0, "2.0.0" },
		{ "2.0.0 ok", '2', 0, "2.0.0" },
		{ "4.4.1 later", '4', 0, "4.4.1" },
		{ "5.999.999", '5', 0, "5.999.999" },
		{ "5.1000.1", '5', -1, "" },
		{ "5.1.1000", '5', -1, "" },
		{ "5.1.", '5', -1, "" },
		{ "5..1", '5', -1, "" },
		{ "5.1", '5', -1, "" },
		{ "4.1.1", '5', -1, "" },
		{ "5.1.1.", '5', -1, "" },
		{ "x.1.1", '5', -1, "" },
		{ "", '5', -1, "" },
	};
	char	out[16];
	size_t	i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		out[0] = '\0';
		assert_int_equal(mta_esc_parse(cases[i].text,
		    strlen(cases[i].text), cases[i].cls, out), cases[i].rc);
		if (cases[i].rc == 0)
			assert_string_equal(out, cases[i].want);
	}
}

static void
test_ehlo(void **state)
{
	static const struct {
		const char	*text;
		unsigned	 flags;
		uint64_t	 size;
	} cases[] = {
		{ "mx says hi", 0, 0 },
		/* the greeting line is not a keyword */
		{ "STARTTLS", 0, 0 },
		{ "mx\nSTARTTLS\nPIPELINING\n8BITMIME\nSMTPUTF8\n"
		    "ENHANCEDSTATUSCODES\nSIZE 10485760",
		    MTA_EXT_STARTTLS | MTA_EXT_PIPELINING | MTA_EXT_8BITMIME |
		    MTA_EXT_SMTPUTF8 | MTA_EXT_ENHSTATUS | MTA_EXT_SIZE,
		    10485760 },
		{ "mx\nstarttls\nsize", MTA_EXT_STARTTLS | MTA_EXT_SIZE, 0 },
		{ "mx\nSIZE 0", MTA_EXT_SIZE, 0 },
		{ "mx\nSIZE=100", MTA_EXT_SIZE, 100 },
		{ "mx\nSIZE 99999999999999999999999", MTA_EXT_SIZE, 0 },
		{ "mx\nSTARTTLSX\nSIZED 5\nAUTH PLAIN", 0, 0 },
		{ "mx\n\n\nPIPELINING", MTA_EXT_PIPELINING, 0 },
		{ "mx\nPIPELINING\n", MTA_EXT_PIPELINING, 0 },
	};
	struct mta_ext	x;
	size_t		i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		mta_ehlo_parse(cases[i].text, strlen(cases[i].text), &x);
		assert_int_equal(x.flags, cases[i].flags);
		assert_int_equal(x.size_max, cases[i].size);
	}
}

/* stuff - the whole body in pieces of step bytes, plus the end */
static size_t
stuff(const char *in, size_t n, size_t step, char *out)
{
	struct mta_dot	d;
	size_t		o = 0, i, k;

	mta_dot_init(&d);
	for (i = 0; i < n; i += k) {
		k = n - i < step ? n - i : step;
		o += mta_dot_stuff(&d, in + i, k, out + o);
	}
	o += mta_dot_end(&d, out + o);
	return o;
}

/* stuff_clean - as stuff(), each piece first through mta_dot_clean() as
 * body_fill() does it, the rest through mta_dot_stuff() */
static size_t
stuff_clean(const char *in, size_t n, size_t step, char *out)
{
	struct mta_dot	d;
	size_t		o = 0, i, k, c;

	mta_dot_init(&d);
	for (i = 0; i < n; i += k) {
		k = n - i < step ? n - i : step;
		c = mta_dot_clean(&d, in + i, k);
		assert_true(c <= k);
		memcpy(out + o, in + i, c);
		o += c;
		o += mta_dot_stuff(&d, in + i + c, k - c, out + o);
	}
	o += mta_dot_end(&d, out + o);
	return o;
}

static void
test_dot(void **state)
{
	static const struct {
		const char	*in;
		const char	*want;
	} cases[] = {
		{ "", ".\r\n" },
		{ "a\r\n", "a\r\n.\r\n" },
		{ "a", "a\r\n.\r\n" },
		{ "a\r", "a\r\n.\r\n" },
		{ "a\n", "a\n\r\n.\r\n" },
		{ "\n", "\n\r\n.\r\n" },
		{ "\r\n", "\r\n.\r\n" },
		{ ".\r\n", "..\r\n.\r\n" },
		{ ".", "..\r\n.\r\n" },
		{ "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n" },
		{ "a\r\n..x\r\n", "a\r\n...x\r\n.\r\n" },
		{ "a.b\r\n.", "a.b\r\n..\r\n.\r\n" },
		/* a bare LF still starts a line for stuffing */
		{ "a\n.\r\n", "a\n..\r\n.\r\n" },
		{ "a\r.b\r\n", "a\r.b\r\n.\r\n" },
	};
	char	out[128];
	size_t	i, step, n;

	(void)state;
	for (i = 0; i < NELEM(cases); i++)
		for (step = 1; step <= 4; step++) {
			n = stuff(cases[i].in, strlen(cases[i].in), step, out);
			out[n] = '\0';
			assert_string_equal(out, cases[i].want);
			n = stuff_clean(cases[i].in, strlen(cases[i].in), step,
			    out);
			out[n] = '\0';
			assert_string_equal(out, cases[i].want);
		}
}

/* mta_dot_clean: everything up to a line's leading dot, whatever the
 * dots inside lines; the state at the piece's start counts */
static void
test_dot_clean(void **state)
{
	struct mta_dot	d;

	(void)state;
	mta_dot_init(&d);
	assert_int_equal(mta_dot_clean(&d, "a.b\r\nc.\r\n", 9), 9);
	assert_true(d.bol);
	assert_int_equal(mta_dot_clean(&d, ".x", 2), 0);
	assert_int_equal(d.total, 9);
	assert_int_equal(mta_dot_clean(&d, "", 0), 0);
	mta_dot_init(&d);
	assert_int_equal(mta_dot_clean(&d, "ab\r\n.c", 6), 4);
	assert_int_equal(mta_dot_clean(&d, "ab", 2), 2);
	assert_false(d.bol);
	assert_int_equal(mta_dot_clean(&d, ".c\n.", 4), 3);
	assert_true(d.bol);
	assert_int_equal(mta_dot_clean(&d, ".", 1), 0);
	assert_int_equal(d.total, 9);
}

static void
test_dot_worst_case(void **state)
{
	char		in[64], out[2 * 64 + 5];
	struct mta_dot	d;
	size_t		o;

	(void)state;
	/* every byte a '.' after LF: within MTA_DOT_ROOM(n) */
	memset(in, '.', sizeof(in));
	mta_dot_init(&d);
	o = mta_dot_stuff(&d, in, 1, out);
	assert_int_equal(o, 2);
	memset(in, '\n', sizeof(in));
	for (size_t i = 1; i < sizeof(in); i += 2)
		in[i] = '.';
	mta_dot_init(&d);
	o = mta_dot_stuff(&d, in, sizeof(in), out);
	assert_true(o <= MTA_DOT_ROOM(sizeof(in)));
	assert_int_equal(o, sizeof(in) + sizeof(in) / 2);
	assert_int_equal(d.total, sizeof(in));
	/* ".\n.\n...": a line start first; odd length: the bound exactly */
	for (size_t n = 1; n < sizeof(in); n++) {
		for (size_t i = 0; i < n; i++)
			in[i] = i % 2 == 0 ? '.' : '\n';
		mta_dot_init(&d);
		o = mta_dot_stuff(&d, in, n, out);
		assert_true(o <= MTA_DOT_ROOM(n));
		assert_int_equal(o, n + (n + 1) / 2);
	}
}

/* ref_stuff - the rule byte by byte, as RFC 5321 4.5.2 says it */
static size_t
ref_stuff(const char *in, size_t n, char *out)
{
	size_t	i, o = 0;
	bool	bol = true;

	for (i = 0; i < n; i++) {
		if (bol && in[i] == '.')
			out[o++] = '.';
		out[o++] = in[i];
		bol = in[i] == '\n';
	}
	if (n > 0 && !(n >= 2 && in[n - 2] == '\r' && in[n - 1] == '\n')) {
		if (in[n - 1] != '\r')
			out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

static void
test_dot_against_reference(void **state)
{
	static const char	 alpha[] = ".\r\na";
	char			 in[300], got[600], want[600];
	size_t			 n, step, a, b;
	unsigned		 seed = 12345;
	int			 round;

	(void)state;
	for (round = 0; round < 3000; round++) {
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % sizeof(in);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alpha[(seed >> 16) % 4];
		}
		seed = seed * 1103515245u + 12345u;
		step = 1 + (seed >> 16) % 40;
		a = stuff(in, n, step, got);
		b = ref_stuff(in, n, want);
		assert_int_equal(a, b);
		assert_memory_equal(got, want, a);
		a = stuff_clean(in, n, step, got);
		assert_int_equal(a, b);
		assert_memory_equal(got, want, a);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_lines),
		cmocka_unit_test(test_reply_multiline),
		cmocka_unit_test(test_reply_limits),
		cmocka_unit_test(test_esc),
		cmocka_unit_test(test_ehlo),
		cmocka_unit_test(test_dot),
		cmocka_unit_test(test_dot_clean),
		cmocka_unit_test(test_dot_worst_case),
		cmocka_unit_test(test_dot_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
