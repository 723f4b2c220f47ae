/*
 * test_senders.c - a domain's senders file: grants of addresses and whole
 * domains, case, line numbers kept for the load's user check (which
 * test_send_as.py shows), errors naming file and line, and
 * the limits (addresses a line, line length).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "conf.h"
#include "err.h"
#include "xmalloc.h"

static char	*users[] = { "alice", "bob" };

static void
mkdomain(struct domain *d)
{
	memset(d, 0, sizeof(*d));
	(void)snprintf(d->name, sizeof(d->name), "example.com");
	d->users = users;
	d->nusers = 2;
}

static void
drop(struct domain *d)
{
	size_t	i, j;

	for (i = 0; i < d->nsenders; i++) {
		for (j = 0; j < d->senders[i].naddrs; j++)
			free(d->senders[i].addrs[j]);
		free(d->senders[i].addrs);
		free(d->senders[i].user);
	}
	free(d->senders);
	d->senders = NULL;
	d->nsenders = 0;
}

static int
parse(struct domain *d, const char *text, struct err *e)
{
	memset(e, 0, sizeof(*e));
	return conf_parse_senders(d, text, strlen(text), "senders", e);
}

static void
test_grants(void **state)
{
	struct domain	d;
	struct err	e;

	(void)state;
	mkdomain(&d);
	assert_int_equal(parse(&d, "# c\n\nAlice: Press@Other.TEST, "
	    "@Brand.Test\nbob:x@y.test\n", &e), 0);
	assert_int_equal(d.nsenders, 2);
	assert_true(domain_sender_granted(&d, "alice", "Press@other.test"));
	assert_true(domain_sender_granted(&d, "ALICE", "press@other.test"));
	assert_true(domain_sender_granted(&d, "alice", "any@brand.test"));
	assert_true(domain_sender_granted(&d, "alice", "any@BRAND.test"));
	assert_false(domain_sender_granted(&d, "alice", "any@sub.brand.test"));
	assert_false(domain_sender_granted(&d, "alice", "other@other.test"));
	assert_false(domain_sender_granted(&d, "alice", "x@y.test"));
	assert_true(domain_sender_granted(&d, "bob", "x@y.test"));
	assert_false(domain_sender_granted(&d, "bob", "any@brand.test"));
	assert_false(domain_sender_granted(&d, "carol", "x@y.test"));
	assert_int_equal(d.senders[0].lineno, 3);
	assert_int_equal(d.senders[1].lineno, 4);
	/* a second parse replaces the table; an empty file empties it */
	assert_int_equal(parse(&d, "", &e), 0);
	assert_int_equal(d.nsenders, 0);
	assert_false(domain_sender_granted(&d, "bob", "x@y.test"));
	drop(&d);
}

static void
test_errors(void **state)
{
	static const struct {
		const char	*text;
		const char	*msg;
	} cases[] = {
		{ "alice press@x.test\n", "senders:1: missing \":\"" },
		{ "\n : a@b.test\n", "senders:2: empty user" },
		{ "alice: a@b.test,\n", "senders:1: empty address" },
		{ "alice: , a@b.test\n", "senders:1: empty address" },
		{ "alice:\n", "senders:1: empty address" },
		{ "alice: not an address\n", "senders:1: bad address" },
		{ "alice: @\n", "senders:1: bad domain" },
		{ "alice: @-x..test\n", "senders:1: bad domain" },
		{ "alice: a@b.test\n#\nalice: c@d.test\n",
		    "senders:3: second line for \"alice\"" },
	};
	struct domain	d;
	struct err	e;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mkdomain(&d);
		assert_int_equal(parse(&d, "alice: keep@x.test\n", &e), 0);
		assert_int_equal(parse(&d, cases[i].text, &e), -1);
		if (strncmp(e.msg, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("case %zu: \"%s\"", i, e.msg);
		/* a failed parse leaves the table as it was */
		assert_int_equal(d.nsenders, 1);
		assert_true(domain_sender_granted(&d, "alice", "keep@x.test"));
		drop(&d);
	}
}

static void
test_limits(void **state)
{
	struct domain	d;
	struct err	e;
	struct buf	b;
	int		i;

	(void)state;
	mkdomain(&d);
	buf_init(&b, 64 * 1024);
	assert_int_equal(buf_addstr(&b, "alice: a0@x.test"), 0);
	for (i = 1; i < LIM_SENDER_GRANTS; i++)
		assert_int_equal(buf_printf(&b, ",@d%d.test", i), 0);
	assert_true(buf_avail(&b) < LIM_CONF_LINE);
	assert_int_equal(buf_add(&b, "\n", 2), 0);
	assert_int_equal(parse(&d, buf_ptr(&b), &e), 0);
	assert_int_equal(d.senders[0].naddrs, LIM_SENDER_GRANTS);
	assert_true(domain_sender_granted(&d, "alice", "z@d255.test"));
	/* one more address is refused */
	b.len -= 2;
	assert_int_equal(buf_add(&b, ",@e.test\n", 10), 0);
	assert_int_equal(parse(&d, buf_ptr(&b), &e), -1);
	assert_non_null(strstr(e.msg, "more than 256 addresses"));
	/* a line past LIM_CONF_LINE is refused by the line reader */
	buf_reset(&b);
	assert_int_equal(buf_addstr(&b, "alice: a@"), 0);
	for (i = 0; i < LIM_CONF_LINE; i++)
		assert_int_equal(buf_add(&b, "x", 1), 0);
	assert_int_equal(buf_add(&b, ".test\n", 7), 0);
	assert_int_equal(parse(&d, buf_ptr(&b), &e), -1);
	assert_non_null(strstr(e.msg, "senders:1:"));
	buf_release(&b);
	drop(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grants),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
