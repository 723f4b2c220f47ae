/*
 * test_alias.c - recipient expansion through users and aliases: users,
 * nested aliases, catch-all, remote targets, pipes, loops, depth limit,
 * deduplication, postmaster, and the output cap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"
#include "srs.h"
#include "xmalloc.h"
#include "alias.h"

static const char aliases_com[] =
    "sales: alice, bob\n"
    "info: sales\n"
    "fwd: someone@remote.org\n"
    "loop1: loop2\n"
    "loop2: loop1\n"
    "self: self\n"
    "pipe: | /usr/bin/foo --bar\n"
    "mixed: alice, carol@example.net, | /bin/x\n"
    "dup: alice, Alice, alice@EXAMPLE.COM\n"
    "d1: x1, x2\n"
    "x1: alice\n"
    "x2: x1\n"
    "a1: a2\na2: a3\na3: a4\na4: a5\na5: a6\na6: a7\na7: a8\na8: alice\n"
    "b1: b2\nb2: b3\nb3: b4\nb4: b5\nb5: b6\nb6: b7\nb7: b8\nb8: b9\n"
    "b9: alice\n"
    "ext: info@example.net\n";

/* domains sorted by name, as conf_load leaves them */
static struct conf *
make_conf(void)
{
	static const char	*users_com[] = { "alice", "bob" };
	static const char	*users_net[] = { "carol" };
	struct conf		*c = xcalloc(1, sizeof(*c));
	struct err		 e;
	struct domain		*d;
	size_t			 i;

	conf_defaults(c);
	(void)snprintf(c->hostname, sizeof(c->hostname), "mx.example.com");
	c->ndomains = 4;
	c->domains = xcalloc(c->ndomains, sizeof(*c->domains));
	/* empty.org, example.com, example.net, example.org */
	d = &c->domains[0];
	(void)snprintf(d->name, sizeof(d->name), "empty.org");
	d = &c->domains[1];
	(void)snprintf(d->name, sizeof(d->name), "example.com");
	d->nusers = 2;
	d->users = xcalloc(2, sizeof(*d->users));
	for (i = 0; i < 2; i++)
		d->users[i] = xstrdup(users_com[i]);
	if (conf_parse_aliases(d, aliases_com, strlen(aliases_com),
	    "aliases", &e) == -1)
		fail_msg("aliases: %s", e.msg);
	(void)snprintf(d->suffix_sep, sizeof(d->suffix_sep), "+");
	(void)snprintf(d->drop_chars, sizeof(d->drop_chars), ".");
	d = &c->domains[2];
	(void)snprintf(d->name, sizeof(d->name), "example.net");
	d->nusers = 1;
	d->users = xcalloc(1, sizeof(*d->users));
	d->users[0] = xstrdup(users_net[0]);
	if (conf_parse_aliases(d, "*: carol\n", 9, "aliases", &e) == -1)
		fail_msg("aliases: %s", e.msg);
	(void)snprintf(d->suffix_sep, sizeof(d->suffix_sep), "-");
	d = &c->domains[3];
	(void)snprintf(d->name, sizeof(d->name), "example.org");
	if (conf_parse_aliases(d, "*: ghost\n", 9, "aliases", &e) == -1)
		fail_msg("aliases: %s", e.msg);
	return c;
}

static int
setup(void **state)
{
	*state = make_conf();
	return 0;
}

static int
teardown(void **state)
{
	conf_free(*state);
	free(*state);
	return 0;
}

/*
 * expected results: "L:addr", "R:addr", "F:addr" separated by spaces, in
 * order
 */
static void
check(const struct conf *c, const char *rcpt, const char *want)
{
	struct alias_dests	 out;
	struct err		 e;
	char			 got[2048];
	size_t			 i, n = 0;

	memset(&out, 0, sizeof(out));
	assert_int_equal(alias_expand(c, NULL, rcpt, &out, 100, &e), 0);
	got[0] = '\0';
	for (i = 0; i < out.n; i++) {
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%c:%s",
		    i ? " " : "", "LRFP"[out.v[i].kind], out.v[i].addr);
		assert_string_equal(out.v[i].orig, rcpt);
		if (out.v[i].kind == AK_FAILED)
			assert_non_null(out.v[i].error);
		else
			assert_null(out.v[i].error);
	}
	if (strcmp(got, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", rcpt, got, want);
	alias_dests_free(&out);
}

static void
test_table(void **state)
{
	static const struct {
		const char	*rcpt;
		const char	*want;
	} cases[] = {
		{ "alice@example.com",	"L:alice@example.com" },
		{ "Alice@EXAMPLE.com",	"L:alice@example.com" },
		{ "sales@example.com",
		    "L:alice@example.com L:bob@example.com" },
		{ "INFO@example.com",
		    "L:alice@example.com L:bob@example.com" },
		{ "fwd@example.com",	"R:someone@remote.org" },
		{ "X.Y@Remote.ORG",	"R:X.Y@remote.org" },
		{ "loop1@example.com",	"F:loop1@example.com" },
		{ "self@example.com",	"F:self@example.com" },
		{ "pipe@example.com",	"P:| /usr/bin/foo --bar" },
		{ "mixed@example.com",
		    "L:alice@example.com L:carol@example.net P:| /bin/x" },
		{ "dup@example.com",	"L:alice@example.com" },
		{ "d1@example.com",	"L:alice@example.com" },
		{ "a1@example.com",	"L:alice@example.com" },
		{ "b1@example.com",	"F:alice@example.com" },
		{ "nobody@example.com",	"F:nobody@example.com" },
		{ "anything@example.net", "L:carol@example.net" },
		{ "carol@example.net",	"L:carol@example.net" },
		{ "ext@example.com",	"L:carol@example.net" },
		{ "ghost@example.org",	"F:ghost@example.org" },
		{ "who@example.org",	"F:ghost@example.org" },
		{ "postmaster",		"L:postmaster@example.com" },
		{ "PostMaster",		"L:postmaster@example.com" },
		{ "postmaster@empty.org", "L:postmaster@empty.org" },
		{ "Postmaster@example.net", "L:carol@example.net" },
		{ "someone@empty.org",	"F:someone@empty.org" },
		{ "foo",		"F:foo" },
		{ "\"john doe\"@example.net", "L:carol@example.net" },
		{ "\"a@b\"@remote.org",	"R:\"a@b\"@remote.org" },
		{ "@example.com",	"F:@example.com" },
		{ "x@",			"F:x@" },
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(*state, cases[i].rcpt, cases[i].want);
}

/* normalisation: example.com cuts at "+" and drops ".", example.net
 * cuts at "-", example.org does neither; exact names first */
static void
test_normalise(void **state)
{
	static const struct {
		const char	*rcpt;
		const char	*want;
		const char	*via;	/* of the first destination */
	} cases[] = {
		{ "alice+news@example.com", "L:alice@example.com", NULL },
		{ "Alice+News@example.com", "L:alice@example.com", NULL },
		{ "a.lice@example.com",	"L:alice@example.com", NULL },
		{ "a.l.i.c.e+x.y@example.com", "L:alice@example.com", NULL },
		{ "sales+x@example.com",
		    "L:alice@example.com L:bob@example.com", "sales@example.com" },
		{ "fwd+x@example.com",	"R:someone@remote.org",
		    "fwd@example.com" },
		/* example.net cuts at "-", not "+": the suffix is not kept */
		{ "ext+x@example.com",	"L:carol@example.net",
		    "info@example.net" },
		{ "carol-x@example.net", "L:carol@example.net", NULL },
		{ "carol+x@example.net", "L:carol@example.net",
		    "carol+x@example.net" },
		{ "nobody+x@example.com", "F:nobody+x@example.com", NULL },
		{ "+alice@example.com",	"F:+alice@example.com", NULL },
		{ ".@example.com",	"F:.@example.com", NULL },
		{ "SRS0+alice@example.com", "F:srs0+alice@example.com", NULL },
		{ "postmaster+x@example.com", "F:postmaster+x@example.com",
		    NULL },
		{ "alice+x@remote.org",	"R:alice+x@remote.org", NULL },
	};
	struct alias_dests	 out;
	struct err		 e;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check(*state, cases[i].rcpt, cases[i].want);
		memset(&out, 0, sizeof(out));
		assert_int_equal(alias_expand(*state, NULL, cases[i].rcpt,
		    &out, 100, &e), 0);
		if (cases[i].via == NULL)
			assert_null(out.v[0].via);
		else
			assert_string_equal(out.v[0].via, cases[i].via);
		alias_dests_free(&out);
	}
}

struct trace_buf {
	char	text[4096];
	size_t	n;
};

static void
trace(void *arg, unsigned depth, const char *addr, const char *what)
{
	struct trace_buf	*t = arg;

	t->n += (size_t)snprintf(t->text + t->n, sizeof(t->text) - t->n,
	    "%u %s: %s\n", depth, addr, what);
}

/* the trace tells each step, as aliases-resolve prints it */
static void
test_trace(void **state)
{
	static const struct {
		const char	*rcpt;
		const char	*want;
	} cases[] = {
		{ "sales+x@example.com",
		    "0 sales+x@example.com: suffix \"+x\" dropped: "
		    "sales@example.com\n"
		    "1 sales@example.com: alias (domains/example.com/aliases:1)\n"
		    "2 alice+x@example.com: suffix \"+x\" dropped: "
		    "alice@example.com\n"
		    "3 alice@example.com: user of example.com: its mailbox\n"
		    "2 bob+x@example.com: suffix \"+x\" dropped: "
		    "bob@example.com\n"
		    "3 bob@example.com: user of example.com: its mailbox\n" },
		{ "who@example.net",
		    "0 who@example.net: no user or alias: the catch-all "
		    "(domains/example.net/aliases:1)\n"
		    "1 carol@example.net: user of example.net: its mailbox\n" },
		{ "loop1@example.com",
		    "0 loop1@example.com: alias (domains/example.com/aliases:4)\n"
		    "1 loop2@example.com: alias (domains/example.com/aliases:5)\n"
		    "2 loop1@example.com: alias (domains/example.com/aliases:4)\n"
		    "2 loop1@example.com: alias loop: already being expanded\n" },
		{ "pipe@example.com",
		    "0 pipe@example.com: alias (domains/example.com/aliases:7)\n"
		    "1 | /usr/bin/foo --bar: pipe: the message goes to this "
		    "command's standard input\n" },
		{ "fwd@example.com",
		    "0 fwd@example.com: alias (domains/example.com/aliases:3)\n"
		    "1 someone@remote.org: another domain: delivered to its MX\n" },
		{ "nobody@example.com",
		    "0 nobody@example.com: no such user or alias in "
		    "example.com\n" },
		{ "a.lice@example.com",
		    "0 a.lice@example.com: characters \".\" dropped: "
		    "alice@example.com\n"
		    "1 alice@example.com: user of example.com: its mailbox\n" },
	};
	struct alias_opts	 o = { 0 };
	struct alias_dests	 out;
	struct trace_buf	 t;
	struct err		 e;
	size_t			 i;

	o.trace = trace;
	o.trace_arg = &t;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&out, 0, sizeof(out));
		t.n = 0;
		t.text[0] = '\0';
		assert_int_equal(alias_expand(*state, &o, cases[i].rcpt, &out,
		    100, &e), 0);
		if (strcmp(t.text, cases[i].want) != 0)
			fail_msg("%s: got\n%s\nwant\n%s", cases[i].rcpt, t.text,
			    cases[i].want);
		alias_dests_free(&out);
	}
}

/* via: the innermost alias that gave the destination, NULL for none */
static void
test_via(void **state)
{
	static const struct {
		const char	*rcpt;
		const char	*via;	/* of the first destination */
	} cases[] = {
		{ "alice@example.com",	NULL },
		{ "fwd@example.com",	"fwd@example.com" },
		{ "Fwd@Example.COM",	"fwd@example.com" },
		{ "info@example.com",	"sales@example.com" },
		{ "anything@example.net", "anything@example.net" },
		{ "ext@example.com",	"info@example.net" },
		{ "X.Y@Remote.ORG",	NULL },
	};
	struct alias_dests	 out;
	struct err		 e;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&out, 0, sizeof(out));
		assert_int_equal(alias_expand(*state, NULL, cases[i].rcpt, &out, 100,
		    &e), 0);
		assert_true(out.n > 0);
		if (cases[i].via == NULL)
			assert_null(out.v[0].via);
		else
			assert_string_equal(out.v[0].via, cases[i].via);
		alias_dests_free(&out);
	}
}

static void
test_dedup_across(void **state)
{
	struct alias_dests	out;
	struct err		e;

	memset(&out, 0, sizeof(out));
	assert_int_equal(alias_expand(*state, NULL, "alice@example.com", &out, 100,
	    &e), 0);
	assert_int_equal(alias_expand(*state, NULL, "sales@example.com", &out, 100,
	    &e), 0);
	assert_int_equal(alias_expand(*state, NULL, "ALICE@example.com", &out, 100,
	    &e), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0].addr, "alice@example.com");
	assert_string_equal(out.v[0].orig, "alice@example.com");
	assert_string_equal(out.v[1].addr, "bob@example.com");
	assert_string_equal(out.v[1].orig, "sales@example.com");
	alias_dests_free(&out);
	alias_dests_free(&out);
	alias_dests_free(NULL);
}

static void
test_cap(void **state)
{
	struct alias_dests	out;
	struct err		e;

	memset(&out, 0, sizeof(out));
	assert_int_equal(alias_expand(*state, NULL, "sales@example.com", &out, 2,
	    &e), 0);
	assert_int_equal(out.n, 2);
	alias_dests_free(&out);
	memset(&e, 0, sizeof(e));
	assert_int_equal(alias_expand(*state, NULL, "sales@example.com", &out, 1,
	    &e), -1);
	assert_false(e.temp);
	assert_true(e.msg[0] != '\0');
	assert_int_equal(out.n, 1);
	alias_dests_free(&out);
}

static void
test_postmaster_fallbacks(void **state)
{
	struct conf	*c = *state;
	char		 saved[sizeof(c->hostname)];

	memcpy(saved, c->hostname, sizeof(saved));
	/* the host name itself is a local domain */
	(void)snprintf(c->hostname, sizeof(c->hostname), "example.net");
	check(c, "postmaster", "L:carol@example.net");
	/* neither: the first local domain */
	(void)snprintf(c->hostname, sizeof(c->hostname), "host.elsewhere.io");
	check(c, "postmaster", "L:postmaster@empty.org");
	memcpy(c->hostname, saved, sizeof(saved));
}

/* expand rcpt with SRS secrets: one destination, its kind and address */
static void
check_srs(const struct conf *c, const struct alias_opts *o, const char *rcpt,
    enum alias_kind kind, const char *addr)
{
	struct alias_dests	 out;
	struct err		 e;

	memset(&out, 0, sizeof(out));
	assert_int_equal(alias_expand(c, o, rcpt, &out, 100, &e), 0);
	assert_int_equal(out.n, 1);
	if (out.v[0].kind != kind || strcmp(out.v[0].addr, addr) != 0)
		fail_msg("%s: got %c:%s (%s), want %c:%s", rcpt,
		    "LRFP"[out.v[0].kind], out.v[0].addr,
		    out.v[0].error != NULL ? out.v[0].error : "",
		    "LRFP"[kind], addr);
	assert_string_equal(out.v[0].orig, rcpt);
	alias_dests_free(&out);
}

/* SRS addresses of local domains: recognised before users, aliases and
 * the catch-all, reversed to the original sender (its case kept), or
 * failed when forged, altered or expired; plain ones without secrets */
static void
test_srs(void **state)
{
	struct srs		 srs;
	struct alias_opts	 o = { 0 };
	struct err		 e;
	char			 a[LIM_PATH + 1], b[LIM_PATH + 1];
	const time_t		 now = 1700000000;
	const char		 sec[] = "alias-test-secret-0123456789\n";

	memset(&srs, 0, sizeof(srs));
	assert_int_equal(srs_secrets_parse(&srs, sec, strlen(sec), "s", &e),
	    0);
	o.srs = &srs;
	o.now = now;
	/* example.net has a catch-all: SRS still comes first */
	assert_int_equal(srs_forward(&srs, "Bob.Smith@Ext.ORG", "example.net",
	    now, a, sizeof(a), &e), SRS_OK);
	check_srs(*state, &o, a, AK_REMOTE, "Bob.Smith@ext.org");
	/* an SRS1 address reverses to the first forwarder's SRS0 */
	assert_int_equal(srs_forward(&srs, "SRS0=abcd=AA=x.org=u@fwd.org",
	    "example.com", now, b, sizeof(b), &e), SRS_OK);
	check_srs(*state, &o, b, AK_REMOTE, "SRS0=abcd=AA=x.org=u@fwd.org");
	/* altered: the hash no longer matches; the catch-all is not used */
	a[strlen("SRS0=")] = a[strlen("SRS0=")] == 'A' ? 'B' : 'A';
	check_srs(*state, &o, a, AK_FAILED, a);
	/* expired: 22 days later */
	assert_int_equal(srs_forward(&srs, "bob@ext.org", "example.com", now,
	    a, sizeof(a), &e), SRS_OK);
	o.now = now + 22 * 86400;
	check_srs(*state, &o, a, AK_FAILED, a);
	o.now = now + 20 * 86400;
	check_srs(*state, &o, a, AK_REMOTE, "bob@ext.org");
	/* no secrets: a plain address (example.net's catch-all takes it) */
	srs.n = 0;
	assert_int_equal(srs_forward(&(struct srs){ .n = 1, .maxage = 21,
	    .secret = { "another-secret-0123456789" } }, "bob@ext.org",
	    "example.net", now, a, sizeof(a), &e), SRS_OK);
	check_srs(*state, &o, a, AK_LOCAL, "carol@example.net");
	check_srs(*state, NULL, a, AK_LOCAL, "carol@example.net");
	/* an SRS address of another domain is simply remote */
	check_srs(*state, &o, "SRS0=abcd=AA=x.org=u@fwd.org", AK_REMOTE,
	    "SRS0=abcd=AA=x.org=u@fwd.org");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_srs),
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_trace),
		cmocka_unit_test(test_via),
		cmocka_unit_test(test_dedup_across),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_postmaster_fallbacks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
