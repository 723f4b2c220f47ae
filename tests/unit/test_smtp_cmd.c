/*
 * test_smtp_cmd.c - MAIL/RCPT/EHLO argument parsers: paths, routes,
 * postmaster, parameters (SIZE, BODY, SMTPUTF8, AUTH, unknown,
 * duplicates), UTF-8 gating, the path limit, and the exact reply lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "smtp/smtp_cmd.h"

#define BAD_SENDER	"501 5.1.7 Bad sender address syntax"
#define BAD_RCPT	"501 5.1.3 Bad recipient address syntax"
#define MAIL_SYNTAX	"501 5.5.4 Syntax: MAIL FROM:<address>"
#define RCPT_SYNTAX	"501 5.5.4 Syntax: RCPT TO:<address>"
#define PARAM_SYNTAX	"501 5.5.4 Syntax error in parameters"
#define BAD_DOMAIN	"501 5.5.4 Invalid domain name"

struct mail_case {
	const char	*arg;
	const char	*reply;		/* NULL: accepted */
	const char	*addr;		/* formatted mailbox, "" for <> */
	bool		 route;
	bool		 has_size;
	unsigned long long size;
	enum body_type	 body;
	bool		 utf8;
};

static const struct mail_case mails[] = {
	{ "FROM:<a@b.c>", NULL, "a@b.c", false, false, 0, BODY_7BIT, false },
	{ "from:<A@B.C>", NULL, "A@b.c", false, false, 0, BODY_7BIT, false },
	{ "FROM: <a@b.c>", NULL, "a@b.c", false, false, 0, BODY_7BIT, false },
	{ " FROM:  <a@b.c>  ", NULL, "a@b.c", false, false, 0, BODY_7BIT,
	    false },
	{ "FROM:<>", NULL, "", false, false, 0, BODY_7BIT, false },
	{ "FROM:<> SIZE=100", NULL, "", false, true, 100, BODY_7BIT, false },
	{ "FROM:<@r1.x,@[1.2.3.4]:a@b>", NULL, "a@b", true, false, 0,
	    BODY_7BIT, false },
	{ "FROM:<@r1:a@b>", NULL, "a@b", true, false, 0, BODY_7BIT, false },
	{ "FROM:<\"a b>c\"@x>", NULL, "\"a b>c\"@x", false, false, 0,
	    BODY_7BIT, false },
	{ "FROM:<\"a\\\">\"@x> SIZE=1", NULL, "\"a\\\">\"@x", false, true, 1,
	    BODY_7BIT, false },
	{ "FROM:<a@[IPv6:::1]>", NULL, "a@[IPv6:::1]", false, false, 0,
	    BODY_7BIT, false },
	/* parameters */
	{ "FROM:<a@b> SIZE=0", NULL, "a@b", false, true, 0, BODY_7BIT, false },
	{ "FROM:<a@b> size=12345", NULL, "a@b", false, true, 12345, BODY_7BIT,
	    false },
	{ "FROM:<a@b> SIZE=18446744073709551615", NULL, "a@b", false, true,
	    18446744073709551615ULL, BODY_7BIT, false },
	{ "FROM:<a@b> SIZE=00000000000000000001", NULL, "a@b", false, true, 1,
	    BODY_7BIT, false },
	{ "FROM:<a@b> BODY=8BITMIME", NULL, "a@b", false, false, 0,
	    BODY_8BITMIME, false },
	{ "FROM:<a@b> body=8bitmime", NULL, "a@b", false, false, 0,
	    BODY_8BITMIME, false },
	{ "FROM:<a@b> BODY=7BIT", NULL, "a@b", false, false, 0, BODY_7BIT,
	    false },
	{ "FROM:<a@b> SMTPUTF8", NULL, "a@b", false, false, 0, BODY_7BIT,
	    true },
	{ "FROM:<a@b> smtputf8 BODY=8BITMIME SIZE=5", NULL, "a@b", false,
	    true, 5, BODY_8BITMIME, true },
	{ "FROM:<a@b> AUTH=<>", NULL, "a@b", false, false, 0, BODY_7BIT,
	    false },
	{ "FROM:<a@b> AUTH=joe+40example.com", NULL, "a@b", false, false, 0,
	    BODY_7BIT, false },
	{ "FROM:<a@b>   SIZE=1    BODY=7BIT   ", NULL, "a@b", false, true, 1,
	    BODY_7BIT, false },
	/* UTF-8 needs SMTPUTF8 on the same command, wherever it is */
	{ "FROM:<d\xc3\xa9j\xc3\xa0@\xc3\xa9t\xc3\xa9.fr> SMTPUTF8", NULL,
	    "d\xc3\xa9j\xc3\xa0@\xc3\xa9t\xc3\xa9.fr", false, false, 0,
	    BODY_7BIT, true },
	{ "FROM:<d\xc3\xa9j\xc3\xa0@x> BODY=8BITMIME SMTPUTF8", NULL,
	    "d\xc3\xa9j\xc3\xa0@x", false, false, 0, BODY_8BITMIME, true },
	{ "FROM:<d\xc3\xa9j\xc3\xa0@x>", BAD_SENDER, NULL, false, false, 0,
	    BODY_7BIT, false },
	{ "FROM:<a@\xc3\xa9t\xc3\xa9.fr> BODY=8BITMIME", BAD_SENDER, NULL,
	    false, false, 0, BODY_7BIT, false },
	/* missing FROM: */
	{ "", MAIL_SYNTAX, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM", MAIL_SYNTAX, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:", MAIL_SYNTAX, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:   ", MAIL_SYNTAX, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM <a@b>", MAIL_SYNTAX, NULL, false, false, 0, BODY_7BIT, false },
	{ "TO:<a@b>", MAIL_SYNTAX, NULL, false, false, 0, BODY_7BIT, false },
	{ "FRO:<a@b>", MAIL_SYNTAX, NULL, false, false, 0, BODY_7BIT, false },
	/* bad paths */
	{ "FROM:a@b", BAD_SENDER, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<a@b", BAD_SENDER, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<a@b>x", BAD_SENDER, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<a@b>>", BAD_SENDER, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<<a@b>>", BAD_SENDER, NULL, false, false, 0, BODY_7BIT,
	    false },
	{ "FROM:<a>", BAD_SENDER, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<a@>", BAD_SENDER, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<a@b.>", BAD_SENDER, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<a b@c>", BAD_SENDER, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<\"a@b>", BAD_SENDER, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<postmaster>", BAD_SENDER, NULL, false, false, 0, BODY_7BIT,
	    false },
	{ "FROM:<@r:>", BAD_SENDER, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<@r,a@b>", BAD_SENDER, NULL, false, false, 0, BODY_7BIT,
	    false },
	{ "FROM:<@r,:a@b>", BAD_SENDER, NULL, false, false, 0, BODY_7BIT,
	    false },
	{ "FROM:<@:a@b>", BAD_SENDER, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<r:a@b>", BAD_SENDER, NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<@-r:a@b>", BAD_SENDER, NULL, false, false, 0, BODY_7BIT,
	    false },
	{ "FROM:<a@b>\tSIZE=1", BAD_SENDER, NULL, false, false, 0, BODY_7BIT,
	    false },
	/* parameter errors */
	{ "FROM:<a@b> SIZE", "501 5.5.4 Invalid SIZE parameter", NULL, false,
	    false, 0, BODY_7BIT, false },
	{ "FROM:<a@b> SIZE=-1", "501 5.5.4 Invalid SIZE parameter", NULL,
	    false, false, 0, BODY_7BIT, false },
	{ "FROM:<a@b> SIZE=1k", "501 5.5.4 Invalid SIZE parameter", NULL,
	    false, false, 0, BODY_7BIT, false },
	{ "FROM:<a@b> SIZE=18446744073709551616",
	    "501 5.5.4 Invalid SIZE parameter", NULL, false, false, 0,
	    BODY_7BIT, false },
	{ "FROM:<a@b> SIZE=99999999999999999999",
	    "501 5.5.4 Invalid SIZE parameter", NULL, false, false, 0,
	    BODY_7BIT, false },
	{ "FROM:<a@b> SIZE=000000000000000000001",
	    "501 5.5.4 Invalid SIZE parameter", NULL, false, false, 0,
	    BODY_7BIT, false },
	{ "FROM:<a@b> SIZE=1 SIZE=1", "501 5.5.4 Duplicate parameter SIZE",
	    NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<a@b> BODY=7BIT body=8BITMIME",
	    "501 5.5.4 Duplicate parameter body", NULL, false, false, 0,
	    BODY_7BIT, false },
	{ "FROM:<a@b> SMTPUTF8 SMTPUTF8",
	    "501 5.5.4 Duplicate parameter SMTPUTF8", NULL, false, false, 0,
	    BODY_7BIT, false },
	{ "FROM:<a@b> AUTH=<> AUTH=<>", "501 5.5.4 Duplicate parameter AUTH",
	    NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<a@b> BODY=BINARYMIME", "501 5.5.4 Invalid BODY parameter",
	    NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<a@b> BODY", "501 5.5.4 Invalid BODY parameter", NULL, false,
	    false, 0, BODY_7BIT, false },
	{ "FROM:<a@b> SMTPUTF8=yes", "501 5.5.4 SMTPUTF8 takes no value",
	    NULL, false, false, 0, BODY_7BIT, false },
	{ "FROM:<a@b> AUTH", "501 5.5.4 AUTH parameter needs a value", NULL,
	    false, false, 0, BODY_7BIT, false },
	{ "FROM:<a@b> RET=HDRS", "555 5.5.4 Unsupported parameter RET", NULL,
	    false, false, 0, BODY_7BIT, false },
	{ "FROM:<a@b> SIZE=1 X-Foo=bar",
	    "555 5.5.4 Unsupported parameter X-Foo", NULL, false, false, 0,
	    BODY_7BIT, false },
	{ "FROM:<a@b> SIZE=", PARAM_SYNTAX, NULL, false, false, 0, BODY_7BIT,
	    false },
	{ "FROM:<a@b> =1", PARAM_SYNTAX, NULL, false, false, 0, BODY_7BIT,
	    false },
	{ "FROM:<a@b> -X=1", PARAM_SYNTAX, NULL, false, false, 0, BODY_7BIT,
	    false },
	{ "FROM:<a@b> X_Y=1", PARAM_SYNTAX, NULL, false, false, 0, BODY_7BIT,
	    false },
	{ "FROM:<a@b> SIZE=1=2", PARAM_SYNTAX, NULL, false, false, 0,
	    BODY_7BIT, false },
	{ "FROM:<a@b> AUTH=a\x01", PARAM_SYNTAX, NULL, false, false, 0,
	    BODY_7BIT, false },
	{ "FROM:<a@b> A B C D E F G H I J K L M N O P Q", PARAM_SYNTAX, NULL,
	    false, false, 0, BODY_7BIT, false },
};

static void
check_mail(size_t i, const struct mail_case *c)
{
	struct mail_args	a, before;
	struct err		e;
	char			fmt[400];
	int			rc;

	memset(&a, 0x5a, sizeof(a));
	before = a;
	memset(&e, 0, sizeof(e));
	rc = smtp_cmd_parse_mail(c->arg, strlen(c->arg), &a, &e);
	if (c->reply != NULL) {
		if (rc != -1)
			fail_msg("mail %zu (%s): accepted", i, c->arg);
		if (strcmp(e.msg, c->reply) != 0)
			fail_msg("mail %zu (%s): reply '%s'", i, c->arg, e.msg);
		assert_int_equal(e.code, 0);
		assert_false(e.temp);
		assert_memory_equal(&a, &before, sizeof(a));
		return;
	}
	if (rc != 0)
		fail_msg("mail %zu (%s): %s", i, c->arg, e.msg);
	assert_int_equal(a.null_sender, c->addr[0] == '\0');
	if (!a.null_sender) {
		assert_int_equal(addr_format(&a.mb, fmt, sizeof(fmt)), 0);
		assert_string_equal(fmt, c->addr);
	}
	assert_int_equal(a.had_route, c->route);
	assert_int_equal(a.has_size, c->has_size);
	if (c->has_size)
		assert_true(a.size == c->size);
	assert_int_equal(a.body, c->body);
	assert_int_equal(a.smtputf8, c->utf8);
}

static void
test_mail(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(mails) / sizeof(mails[0]); i++)
		check_mail(i, &mails[i]);
}

struct rcpt_case {
	const char	*arg;
	bool		 utf8;
	const char	*reply;
	const char	*local;
	const char	*domain;
	bool		 postmaster;
	bool		 route;
};

static const struct rcpt_case rcpts[] = {
	{ "TO:<a@b.c>", false, NULL, "a", "b.c", false, false },
	{ "to:<A@B.C>", false, NULL, "A", "b.c", false, false },
	{ "TO: <a@b.c> ", false, NULL, "a", "b.c", false, false },
	{ "TO:<postmaster>", false, NULL, "postmaster", "", true, false },
	{ "TO:<PostMaster>", false, NULL, "postmaster", "", true, false },
	{ "TO:<@x.y:Postmaster>", false, NULL, "postmaster", "", true, true },
	{ "TO:<postmaster@Example.com>", false, NULL, "postmaster",
	    "example.com", false, false },
	{ "TO:<@a,@b:u@c>", false, NULL, "u", "c", false, true },
	{ "TO:<\xc3\xa9@x>", true, NULL, "\xc3\xa9", "x", false, false },
	{ "TO:<\xc3\xa9@x>", false, BAD_RCPT, NULL, NULL, false, false },
	{ "TO:<>", false, BAD_RCPT, NULL, NULL, false, false },
	{ "TO:<postmaste>", false, BAD_RCPT, NULL, NULL, false, false },
	{ "TO:<postmasters>", false, BAD_RCPT, NULL, NULL, false, false },
	{ "TO:<a@b", false, BAD_RCPT, NULL, NULL, false, false },
	{ "TO:a@b", false, BAD_RCPT, NULL, NULL, false, false },
	{ "TO:<a@b>x", false, BAD_RCPT, NULL, NULL, false, false },
	{ "TO:<@:a@b>", false, BAD_RCPT, NULL, NULL, false, false },
	{ "TO:", false, RCPT_SYNTAX, NULL, NULL, false, false },
	{ "", false, RCPT_SYNTAX, NULL, NULL, false, false },
	{ "FROM:<a@b>", false, RCPT_SYNTAX, NULL, NULL, false, false },
	{ "T0:<a@b>", false, RCPT_SYNTAX, NULL, NULL, false, false },
	{ "TO:<a@b> NOTIFY=NEVER", false,
	    "555 5.5.4 Unsupported parameter NOTIFY", NULL, NULL, false,
	    false },
	{ "TO:<a@b> ORCPT=rfc822;a@b", false,
	    "555 5.5.4 Unsupported parameter ORCPT", NULL, NULL, false,
	    false },
	{ "TO:<a@b> SIZE=", false, PARAM_SYNTAX, NULL, NULL, false, false },
};

static void
test_rcpt(void **state)
{
	struct rcpt_args	a, before;
	struct err		e;
	size_t			i;
	int			rc;

	(void)state;
	for (i = 0; i < sizeof(rcpts) / sizeof(rcpts[0]); i++) {
		const struct rcpt_case *c = &rcpts[i];

		memset(&a, 0x5a, sizeof(a));
		before = a;
		memset(&e, 0, sizeof(e));
		rc = smtp_cmd_parse_rcpt(c->arg, strlen(c->arg), c->utf8, &a,
		    &e);
		if (c->reply != NULL) {
			if (rc != -1)
				fail_msg("rcpt %zu (%s): accepted", i, c->arg);
			if (strcmp(e.msg, c->reply) != 0)
				fail_msg("rcpt %zu: reply '%s'", i, e.msg);
			assert_memory_equal(&a, &before, sizeof(a));
			continue;
		}
		if (rc != 0)
			fail_msg("rcpt %zu (%s): %s", i, c->arg, e.msg);
		assert_string_equal(a.mb.local, c->local);
		assert_string_equal(a.mb.domain, c->domain);
		assert_int_equal(a.postmaster, c->postmaster);
		assert_int_equal(a.had_route, c->route);
	}
}

/* the path, brackets included, is at most LIM_PATH (256) octets */
static void
test_path_limit(void **state)
{
	char			arg[600], dom[300];
	struct mail_args	m;
	struct rcpt_args	r;
	struct err		e;
	size_t			dl, i;
	int			n;

	(void)state;
	/* "<" + 64 + "@" + dl + ">" = dl + 67 */
	for (dl = 180; dl <= 200; dl++) {
		for (i = 0; i < dl; i++)
			dom[i] = i % 50 == 49 ? '.' : 'd';
		dom[dl] = '\0';
		n = snprintf(arg, sizeof(arg), "FROM:<%064d@%s>", 0, dom);
		assert_true(n > 0);
		if (dl + 67 <= LIM_PATH)
			assert_int_equal(smtp_cmd_parse_mail(arg, (size_t)n, &m,
			    &e), 0);
		else {
			assert_int_equal(smtp_cmd_parse_mail(arg, (size_t)n, &m,
			    &e), -1);
			assert_string_equal(e.msg, BAD_SENDER);
		}
		n = snprintf(arg, sizeof(arg), "TO:<%064d@%s>", 0, dom);
		assert_int_equal(smtp_cmd_parse_rcpt(arg, (size_t)n, false, &r,
		    &e), dl + 67 <= LIM_PATH ? 0 : -1);
	}
	/* the local part limit still applies inside a short path */
	n = snprintf(arg, sizeof(arg), "FROM:<%065d@x>", 0);
	assert_int_equal(smtp_cmd_parse_mail(arg, (size_t)n, &m, &e), -1);
	assert_string_equal(e.msg, BAD_SENDER);
}

/* only len bytes are read; NULs inside are syntax errors */
static void
test_exact_len(void **state)
{
	struct mail_args	m;
	struct rcpt_args	r;
	struct err		e;

	(void)state;
	assert_int_equal(smtp_cmd_parse_mail("FROM:<a@b>JUNK", 10, &m, &e), 0);
	assert_int_equal(smtp_cmd_parse_mail("FROM:<a@b> SIZE=12", 17, &m, &e),
	    0);
	assert_true(m.size == 1);
	assert_int_equal(smtp_cmd_parse_mail("FROM:<a@b>\0", 11, &m, &e), -1);
	assert_int_equal(smtp_cmd_parse_mail("FROM:<a\0@b>", 11, &m, &e), -1);
	assert_int_equal(smtp_cmd_parse_rcpt("TO:<a@b>", 7, false, &r, &e),
	    -1);
	assert_int_equal(smtp_cmd_parse_rcpt("TO:<a@b>>", 8, false, &r, &e),
	    0);
	/* e may be NULL */
	assert_int_equal(smtp_cmd_parse_mail("x", 1, &m, NULL), -1);
	assert_int_equal(smtp_cmd_parse_rcpt("x", 1, false, &r, NULL), -1);
}

static const struct {
	const char	*arg;
	const char	*out;		/* NULL: refused */
} helos[] = {
	{ "mail.example.com", "mail.example.com" },
	{ "Mail.Example.COM", "Mail.Example.COM" },
	{ "localhost", "localhost" },
	{ "[127.0.0.1]", "[127.0.0.1]" },
	{ "[IPv6:::1]", "[IPv6:::1]" },
	{ "host.example extra words", "host.example" },
	{ "  host.example", "host.example" },
	{ "", NULL },
	{ " ", NULL },
	{ "host_name", NULL },
	{ "host.", NULL },
	{ ".host", NULL },
	{ "-host", NULL },
	{ "[127.0.0.1", NULL },
	{ "[1.2.3]", NULL },
	{ "[::1]", NULL },
	{ "h\xc3\xa9", NULL },
	{ "a\tb", NULL },
};

static void
test_helo(void **state)
{
	char		out[LIM_DOMAIN + 1];
	struct err	e;
	size_t		i;
	int		rc;

	(void)state;
	for (i = 0; i < sizeof(helos) / sizeof(helos[0]); i++) {
		memset(out, 0, sizeof(out));
		rc = smtp_cmd_parse_helo(helos[i].arg, strlen(helos[i].arg),
		    out, sizeof(out), &e);
		if (helos[i].out == NULL) {
			if (rc != -1)
				fail_msg("helo %zu (%s) accepted", i,
				    helos[i].arg);
			assert_string_equal(e.msg, BAD_DOMAIN);
		} else {
			if (rc != 0)
				fail_msg("helo %zu (%s) refused", i,
				    helos[i].arg);
			assert_string_equal(out, helos[i].out);
		}
	}
	/* out too small */
	assert_int_equal(smtp_cmd_parse_helo("abcd", 4, out, 4, &e), -1);
	assert_int_equal(smtp_cmd_parse_helo("abcd", 4, out, 5, &e), 0);
	assert_string_equal(out, "abcd");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_path_limit),
		cmocka_unit_test(test_exact_len),
		cmocka_unit_test(test_helo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
