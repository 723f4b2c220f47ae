/*
 * test_conf_domain.c - the domain table of the config directory: aliases
 * (every form, every error, the local-part bound); conf_load on a
 * directory with two domains (names kept, hashes never) and its errors,
 * each naming file and line; the domain lookups; conf_free.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"

/* ---------------------------------------------------------------- helpers */

static char *
tmpdir(void)
{
	char	*d = strdup("/tmp/test_conf_domain.XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void
put(const char *dir, const char *name, const char *text)
{
	char	 path[4096];
	FILE	*fp;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
mkdirf(const char *dir, const char *name)
{
	char	path[4096];

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(mkdir(path, 0755), 0);
}

struct errcase {
	const char	*text;
	const char	*want;		/* a substring of the message */
};

/* ---------------------------------------------------------------- aliases */

static void
test_aliases(void **state)
{
	static const char	 text[] =
	    "# aliases\n"
	    "postmaster: alice\n"
	    "Info: alice, Bob@Other.EXAMPLE  # two\n"
	    "\n"
	    "   *: catch@gmail.example\n"
	    "run: | /usr/local/bin/filter --a,--b\n"
	    "both: carol, | /bin/cat\n"
	    "lit: x@[192.0.2.1]\n";
	struct domain		 d;
	struct conf		 c;
	const struct alias	*a;
	struct err		 e;

	(void)state;
	memset(&d, 0, sizeof(d));
	assert_int_equal(conf_parse_aliases(&d, text, strlen(text), "aliases",
	    &e), 0);
	assert_int_equal(d.naliases, 6);
	assert_true(d.catchall);
	assert_non_null(a = domain_alias(&d, "postmaster"));
	assert_int_equal(a->ntargets, 1);
	assert_string_equal(a->targets[0], "alice");
	assert_non_null(a = domain_alias(&d, "INFO"));
	assert_string_equal(a->local, "info");
	assert_int_equal(a->ntargets, 2);
	assert_string_equal(a->targets[0], "alice");
	assert_string_equal(a->targets[1], "Bob@other.example");
	assert_non_null(a = domain_alias(&d, "run"));
	assert_int_equal(a->ntargets, 1);
	assert_string_equal(a->targets[0], "| /usr/local/bin/filter --a,--b");
	assert_non_null(a = domain_alias(&d, "both"));
	assert_int_equal(a->ntargets, 2);
	assert_string_equal(a->targets[1], "| /bin/cat");
	assert_non_null(a = domain_alias(&d, "lit"));
	assert_string_equal(a->targets[0], "x@[192.0.2.1]");
	assert_null(domain_alias(&d, "*"));		/* not the catch-all */
	assert_null(domain_alias(&d, "nobody"));
	assert_true(domain_accepts(&d, "nobody"));	/* catch-all */

	/* a failed parse leaves d as it was */
	assert_int_equal(conf_parse_aliases(&d, "a b c", 5, "aliases", &e),
	    -1);
	assert_int_equal(d.naliases, 6);
	/* a new parse replaces the old entries */
	assert_int_equal(conf_parse_aliases(&d, "x: y", 4, "aliases", &e), 0);
	assert_int_equal(d.naliases, 1);
	assert_false(d.catchall);
	assert_false(domain_accepts(&d, "nobody"));
	assert_true(domain_accepts(&d, "X"));
	assert_int_equal(conf_parse_aliases(&d, "", 0, "aliases", &e), 0);
	assert_int_equal(d.naliases, 0);
	assert_false(domain_accepts(&d, "x"));

	/* conf_free releases a domain table */
	memset(&c, 0, sizeof(c));
	c.domains = calloc(1, sizeof(*c.domains));
	assert_non_null(c.domains);
	c.ndomains = 1;
	assert_int_equal(conf_parse_aliases(&c.domains[0], text, strlen(text),
	    "aliases", &e), 0);
	conf_free(&c);
	assert_null(c.domains);
	assert_int_equal(c.ndomains, 0);
	conf_free(&c);
	conf_free(NULL);
}

static const struct errcase alias_errs[] = {
	{ "alice", "aliases:1: missing \":\"" },
	{ "\n\nfoo:", "aliases:3: empty target" },
	{ "foo: a,,b", "aliases:1: empty target" },
	{ "foo: a,", "aliases:1: empty target" },
	{ "foo: ,a", "aliases:1: empty target" },
	{ "foo: a b", "aliases:1: bad target \"a b\"" },
	{ "foo: x@", "aliases:1: bad address" },
	{ "foo: x@bad_domain", "aliases:1: bad address" },
	{ "foo: |", "aliases:1: empty command" },
	{ "foo: |   ", "aliases:1: empty command" },
	{ "a..b: x", "aliases:1: bad local part \"a..b\"" },
	{ ".a: x", "aliases:1: bad local part" },
	{ ": x", "aliases:1: bad local part \"\"" },
	{ "a b: x", "aliases:1: bad local part" },
	{ "a@b: x", "aliases:1: bad local part \"a@b\"" },
	{ "a: x\nb: y\nA: z", "aliases:3: duplicate alias \"a\" (first on line 1)" },
	{ "*: x\n*: y", "aliases:2: duplicate alias \"*\"" },
	{ "a: x\n\x02", "aliases:2: control character" },
};

static void
test_alias_errors(void **state)
{
	struct domain	 d;
	struct err	 e;
	char		 text[256];
	size_t		 i;

	(void)state;
	memset(&d, 0, sizeof(d));
	for (i = 0; i < sizeof(alias_errs) / sizeof(alias_errs[0]); i++) {
		const char	*t = alias_errs[i].text;

		memset(&e, 0, sizeof(e));
		if (conf_parse_aliases(&d, t, strlen(t), "aliases", &e) != -1)
			fail_msg("accepted: %s", t);
		if (strstr(e.msg, alias_errs[i].want) == NULL)
			fail_msg("\"%s\" does not contain \"%s\"", e.msg,
			    alias_errs[i].want);
		assert_int_equal(d.naliases, 0);
	}
	/* a local part of 64 octets is fine, 65 is not */
	(void)snprintf(text, sizeof(text), "%.64s: x", "llllllllllllllll"
	    "llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll");
	assert_int_equal(conf_parse_aliases(&d, text, strlen(text), "aliases",
	    &e), 0);
	(void)snprintf(text, sizeof(text), "%.65s: x", "llllllllllllllll"
	    "llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll");
	assert_int_equal(conf_parse_aliases(&d, text, strlen(text), "aliases",
	    &e), -1);
	assert_int_equal(conf_parse_aliases(&d, "", 0, "aliases", &e), 0);
}

/* ------------------------------------------------------------- conf_load */

static const char *const hashes[] = {
	"$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
	"$scrypt$ln=15,r=8,p=1$b3RoZXJzYWx0$c2VjcmV0c2VjcmV0",
};

/* does any string of the domain table contain s? */
static bool
table_has(const struct conf *c, const char *s)
{
	size_t	i, j, k;

	for (i = 0; i < c->ndomains; i++) {
		const struct domain	*d = &c->domains[i];

		for (j = 0; j < d->nusers; j++)
			if (strstr(d->users[j], s) != NULL)
				return true;
		for (j = 0; j < d->naliases; j++)
			for (k = 0; k < d->aliases[j].ntargets; k++)
				if (strstr(d->aliases[j].targets[k], s))
					return true;
	}
	return false;
}

static void
make_confdir(const char *dir)
{
	char	users[512];

	put(dir, "postern.conf", "# test\nhostname = MX.Test.Example\n"
	    "data_dir = /var/tmp/postern-test\nmax_errors = 4\n");
	mkdirf(dir, "domains");
	mkdirf(dir, "domains/Example.COM");
	(void)snprintf(users, sizeof(users), "# users\nCarol %s\n\n"
	    "alice %s\n  bob\t%s\n", hashes[0], hashes[1], hashes[0]);
	put(dir, "domains/Example.COM/users", users);
	put(dir, "domains/Example.COM/aliases",
	    "postmaster: alice\nsales: bob, x@elsewhere.example\n");
	mkdirf(dir, "domains/other.example");
	put(dir, "domains/other.example/aliases", "*: alice@example.com\n");
	mkdirf(dir, "domains/.hidden_not_a_domain");
	put(dir, "domains/README", "not a folder: skipped\n");
}

static void
test_load(void **state)
{
	const struct domain	*d, *o;
	struct conf		 c;
	struct err		 e;
	char			*dir = tmpdir();

	(void)state;
	make_confdir(dir);
	memset(&e, 0, sizeof(e));
	if (conf_load(&c, dir, &e) == -1)
		fail_msg("conf_load: %s", e.msg);
	assert_string_equal(c.hostname, "mx.test.example");
	assert_int_equal(c.max_errors, 4);
	assert_true(strstr(c.dir, "/tmp/test_conf_domain.") != NULL);
	assert_int_equal(c.ndomains, 2);
	assert_string_equal(c.domains[0].name, "example.com");
	assert_string_equal(c.domains[1].name, "other.example");

	assert_non_null(d = conf_domain(&c, "EXAMPLE.com"));
	assert_ptr_equal(d, conf_domain(&c, "example.com"));
	assert_null(conf_domain(&c, "example.org"));
	assert_null(conf_domain(&c, "hidden_not_a_domain"));
	assert_int_equal(d->nusers, 3);
	assert_string_equal(d->users[0], "alice");
	assert_string_equal(d->users[1], "bob");
	assert_string_equal(d->users[2], "carol");
	assert_true(domain_has_user(d, "alice"));
	assert_true(domain_has_user(d, "ALICE"));
	assert_true(domain_has_user(d, "Carol"));
	assert_false(domain_has_user(d, "dave"));
	assert_false(domain_has_user(d, "postmaster"));
	assert_false(domain_has_user(d, ""));
	assert_true(domain_accepts(d, "Bob"));
	assert_true(domain_accepts(d, "postmaster"));	/* alias */
	assert_true(domain_accepts(d, "SALES"));
	assert_false(domain_accepts(d, "dave"));
	assert_false(d->catchall);

	assert_non_null(o = conf_domain(&c, "other.example"));
	assert_int_equal(o->nusers, 0);
	assert_false(domain_has_user(o, "alice"));
	assert_true(o->catchall);
	assert_true(domain_accepts(o, "anyone"));
	assert_null(domain_alias(o, "anyone"));

	/* the hashes are never kept */
	assert_false(table_has(&c, "$"));
	assert_false(table_has(&c, hashes[0]));
	assert_false(table_has(&c, hashes[1]));
	assert_false(table_has(&c, "c2FsdHNhbHQ"));
	conf_free(&c);
	assert_null(c.domains);
	tutil_rm_rf(dir);
	free(dir);
}

struct loaderr {
	const char	*file;		/* relative to the config dir */
	const char	*text;		/* NULL: make it a folder */
	const char	*want;
};

static const struct loaderr loaderrs[] = {
	{ "postern.conf", "hostname = x\nnope = 1\n",
	    "postern.conf:2: unknown key \"nope\"" },
	{ "postern.conf", "data_dir = /CONFDIR/data\n",
	    "inside the config directory" },
	{ "domains/example.com/aliases", "a: b\nc d\n",
	    "domains/example.com/aliases:2: missing \":\"" },
	{ "domains/example.com/users", "alice $h\nbad..name $h\n",
	    "domains/example.com/users:2: bad user name \"bad..name\"" },
	{ "domains/example.com/users", "alice $h\nAlice $h\n",
	    "domains/example.com/users: duplicate user \"alice\"" },
	{ "domains/example.com/users", "d\xc3\xa9j\xc3\xa0 $h\n",
	    "domains/example.com/users:1: bad user name" },
	{ "domains/bad_name", NULL, "domains/bad_name: folder name is not" },
	{ "domains/EXAMPLE.com", NULL, "domains/example.com: there twice" },
	{ "domains/example.com/users/x", NULL, "users: not a regular file" },
};

static void
test_load_errors(void **state)
{
	struct conf	 c;
	struct err	 e;
	char		*dir, text[512], *p;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(loaderrs) / sizeof(loaderrs[0]); i++) {
		const struct loaderr	*t = &loaderrs[i];

		dir = tmpdir();
		put(dir, "postern.conf", "hostname = mx.example.com\n");
		mkdirf(dir, "domains");
		mkdirf(dir, "domains/example.com");
		put(dir, "domains/example.com/aliases", "");
		if (t->text == NULL) {
			if (strstr(t->file, "users/") != NULL)
				mkdirf(dir, "domains/example.com/users");
			mkdirf(dir, t->file);
			if (strncmp(t->file, "domains/", 8) == 0 &&
			    strchr(t->file + 8, '/') == NULL) {
				(void)snprintf(text, sizeof(text),
				    "%s/aliases", t->file);
				put(dir, text, "");
			}
		} else if ((p = strstr(t->text, "/CONFDIR")) != NULL) {
			(void)snprintf(text, sizeof(text), "%.*s%s%s",
			    (int)(p - t->text), t->text, dir, p + 8);
			put(dir, t->file, text);
		} else
			put(dir, t->file, t->text);
		memset(&c, 0xa5, sizeof(c));
		memset(&e, 0, sizeof(e));
		if (conf_load(&c, dir, &e) != -1)
			fail_msg("loaded despite %s", t->file);
		if (strstr(e.msg, t->want) == NULL)
			fail_msg("\"%s\" does not contain \"%s\"", e.msg,
			    t->want);
		assert_int_equal(c.max_errors, 0xa5a5a5a5);	/* untouched */
		tutil_rm_rf(dir);
		free(dir);
	}
	/* no postern.conf, no directory */
	dir = tmpdir();
	assert_int_equal(conf_load(&c, dir, &e), -1);
	assert_non_null(strstr(e.msg, "postern.conf: missing"));
	(void)snprintf(text, sizeof(text), "%s/none", dir);
	assert_int_equal(conf_load(&c, text, &e), -1);
	assert_non_null(strstr(e.msg, "No such file"));
	/* no domains/ at all is fine */
	put(dir, "postern.conf", "");
	assert_int_equal(conf_load(&c, dir, &e), 0);
	assert_int_equal(c.ndomains, 0);
	assert_null(conf_domain(&c, "example.com"));
	conf_free(&c);
	/* a domain without its aliases file: an error, not "no aliases" */
	mkdirf(dir, "domains");
	mkdirf(dir, "domains/example.com");
	assert_int_equal(conf_load(&c, dir, &e), -1);
	assert_non_null(strstr(e.msg, "domains/example.com/aliases: missing "
	    "(an empty file means no aliases)"));
	put(dir, "domains/example.com/aliases", "");
	assert_int_equal(conf_load(&c, dir, &e), 0);
	assert_int_equal(c.ndomains, 1);
	conf_free(&c);
	tutil_rm_rf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_alias_errors),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
