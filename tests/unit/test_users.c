/*
 * test_users.c - users files (parse table with file:line errors, edits,
 * atomic save and reload) and the auth process built on them (auth_check
 * on a temporary config directory, auth_main over a socketpair: answers,
 * canonical names, throttling, exit status).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/passwd.h"
#include "auth/users.h"
#include "conf.h"
#include "err.h"
#include "ipc.h"
#include "msg.h"
#include "msgtypes.h"
#include "ticket.h"

/* known hashes, cheap to check (ln=10); see test_passwd.c */
#define H_HORSE	"$scrypt$ln=10,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$" \
		"NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E"
#define H_EMPTY	"$scrypt$ln=10,r=2,p=1$" \
		"ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM$aWd8p4GNvY7cO1RIvNBf" \
		"MHIn1m/QTc9qVdL6mcyD6bxMZ/B0xekleGxUR9F0gHxd"

/* parse table: text, then the names expected in order or the error */
static const struct {
	const char	*text;
	const char	*names;		/* space-separated, sorted */
	const char	*err;		/* NULL: must parse */
} cases[] = {
	{ "", "", NULL },
	{ "\n\n", "", NULL },
	{ "# only a comment\n", "", NULL },
	{ "alice h1\n", "alice", NULL },
	{ "alice h1", "alice", NULL },			/* no final LF */
	{ "alice h1\r\nbob h2\r\n", "alice bob", NULL },	/* CRLF */
	{ "  \talice\t \th1  \t\n", "alice", NULL },	/* blanks around */
	{ "Alice h1\nBOB h2\n", "alice bob", NULL },	/* lower-cased */
	{ "zed h\nadam h\nmia h\n", "adam mia zed", NULL },	/* sorted */
	{ "# users\n\n   # indented comment\nbob h\n", "bob", NULL },
	{ "first.last h\n", "first.last", NULL },
	{ "a!#$%&'*+-/=?^_`{|}~z h\n", "a!#$%&'*+-/=?^_`{|}~z", NULL },
	{ "a h\n", "a", NULL },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa h\n",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    NULL },					/* 64 octets */
	/* errors, each naming file:line */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa h\n",
	    NULL, "users:1: invalid user name" },	/* 65 octets */
	{ "alice\n", NULL, "users:1: no password hash" },
	{ "alice   \n", NULL, "users:1: no password hash" },
	{ "alice\t\r\n", NULL, "users:1: no password hash" },
	{ "bob h\nalice\n", NULL, "users:2: no password hash" },
	{ "alice h1 h2\n", NULL, "users:1: extra field" },
	{ "alice h1 # comment\n", NULL, "users:1: extra field" },
	{ "# c\n\nbob h\nal..ice h\n", NULL, "users:4: invalid user name" },
	{ ".alice h\n", NULL, "users:1: invalid user name" },
	{ "alice. h\n", NULL, "users:1: invalid user name" },
	{ "a\"b h\n", NULL, "users:1: invalid user name" },
	{ "a@b h\n", NULL, "users:1: invalid user name" },
	{ "a(b) h\n", NULL, "users:1: invalid user name" },
	{ "\xc3\xa9t\xc3\xa9 h\n", NULL, "users:1: invalid user name" },
	{ "alice h\x01x\n", NULL, "users:1: control character" },
	{ "alice h\x7f\n", NULL, "users:1: control character" },
	{ "alice h1\nbob h2\nALICE h3\n", NULL,
	    "users:3: duplicate user \"alice\"" },
	{ "b h\na h\nb h\na h\n", NULL, "users:3: duplicate user \"b\"" },
	{ "alice h1\rbob\n", NULL, "users:1: control character" },
};

static void
test_parse_table(void **state)
{
	struct users	 u;
	struct err	 e;
	char		 names[1024];
	size_t		 i, j, off;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&e, 0, sizeof(e));
		u.v = NULL;
		u.n = 12345;
		if (cases[i].err != NULL) {
			if (users_parse(&u, cases[i].text, strlen(cases[i].text),
			    "users", &e) != -1)
				fail_msg("case %zu parsed", i);
			if (strstr(e.msg, cases[i].err) == NULL)
				fail_msg("case %zu: \"%s\" lacks \"%s\"", i,
				    e.msg, cases[i].err);
			/* output untouched on failure */
			assert_int_equal(u.n, 12345);
			continue;
		}
		if (users_parse(&u, cases[i].text, strlen(cases[i].text),
		    "users", &e) != 0)
			fail_msg("case %zu: %s", i, e.msg);
		names[0] = '\0';
		for (j = 0, off = 0; j < u.n; j++)
			off += (size_t)snprintf(names + off, sizeof(names) - off,
			    "%s%s", j > 0 ? " " : "", u.v[j].name);
		if (strcmp(names, cases[i].names) != 0)
			fail_msg("case %zu: names \"%s\", want \"%s\"", i, names,
			    cases[i].names);
		users_free(&u);
	}
}

static void
test_parse_limits(void **state)
{
	struct users	 u;
	struct err	 e;
	char		 text[LIM_CONF_LINE + 64];
	size_t		 n;

	(void)state;
	/* a line of exactly LIM_CONF_LINE octets is read ... */
	memcpy(text, "alice ", 6);
	memset(text + 6, 'h', LIM_CONF_LINE - 6);
	n = LIM_CONF_LINE;
	text[n++] = '\n';
	assert_int_equal(users_parse(&u, text, n, "users", &e), 0);
	assert_int_equal(u.n, 1);
	assert_int_equal(strlen(u.v[0].hash), LIM_CONF_LINE - 6);
	users_free(&u);
	/* ... one more is refused, naming the line */
	memcpy(text, "bob h\nalice ", 12);
	memset(text + 12, 'h', LIM_CONF_LINE - 5);
	n = 12 + LIM_CONF_LINE - 5;
	assert_int_equal(users_parse(&u, text, n, "f", &e), -1);
	assert_non_null(strstr(e.msg, "f:2: line longer than"));
	/* a NUL byte */
	memcpy(text, "bob h\nal\0ce h\n", 14);
	assert_int_equal(users_parse(&u, text, 14, "f", &e), -1);
	assert_non_null(strstr(e.msg, "f:2: NUL byte"));
	/* the length given is what is parsed */
	assert_int_equal(users_parse(&u, "bob h\ngarbage", 6, "f", &e), 0);
	assert_int_equal(u.n, 1);
	users_free(&u);
}

static void
test_name_valid(void **state)
{
	(void)state;
	assert_true(users_name_valid("a"));
	assert_true(users_name_valid("a.b.c"));
	assert_true(users_name_valid("A+tag"));
	assert_false(users_name_valid(""));
	assert_false(users_name_valid("."));
	assert_false(users_name_valid("a..b"));
	assert_false(users_name_valid("a b"));
	assert_false(users_name_valid("a\tb"));
	assert_false(users_name_valid("a,b"));
	assert_false(users_name_valid("a:b"));
	assert_false(users_name_valid("[a]"));
	assert_false(users_name_valid("a\\b"));
}

static void
test_set_find_remove(void **state)
{
	struct users	 u = { NULL, 0 };
	size_t		 i;

	(void)state;
	assert_null(users_find(&u, "x"));
	assert_int_equal(users_remove(&u, "x"), -1);
	assert_int_equal(users_set(&u, "mia", "h-mia"), 0);
	assert_int_equal(users_set(&u, "Zed", "h-zed"), 0);
	assert_int_equal(users_set(&u, "adam", "h-adam"), 0);
	assert_int_equal(users_set(&u, "bob", "h-bob"), 0);
	assert_int_equal(u.n, 4);
	for (i = 1; i < u.n; i++)
		assert_true(strcmp(u.v[i - 1].name, u.v[i].name) < 0);
	assert_string_equal(u.v[3].name, "zed");
	assert_string_equal(users_find(&u, "ZED"), "h-zed");
	assert_string_equal(users_find(&u, "adam"), "h-adam");
	assert_null(users_find(&u, "ada"));
	assert_null(users_find(&u, "adamm"));
	/* replace keeps one entry */
	assert_int_equal(users_set(&u, "BOB", "h-bob2"), 0);
	assert_int_equal(u.n, 4);
	assert_string_equal(users_find(&u, "bob"), "h-bob2");
	/* invalid names and hashes are refused, nothing changes */
	assert_int_equal(users_set(&u, "a b", "h"), -1);
	assert_int_equal(users_set(&u, "", "h"), -1);
	assert_int_equal(users_set(&u, "x", ""), -1);
	assert_int_equal(users_set(&u, "x", "h h"), -1);
	assert_int_equal(users_set(&u, "x", "h\nother h"), -1);
	assert_int_equal(u.n, 4);
	/* remove first, middle, last */
	assert_int_equal(users_remove(&u, "adam"), 0);
	assert_int_equal(users_remove(&u, "Mia"), 0);
	assert_int_equal(users_remove(&u, "zed"), 0);
	assert_int_equal(users_remove(&u, "zed"), -1);
	assert_int_equal(u.n, 1);
	assert_string_equal(u.v[0].name, "bob");
	assert_int_equal(users_remove(&u, "bob"), 0);
	assert_int_equal(u.n, 0);
	assert_null(users_find(&u, "bob"));
	users_free(&u);
	users_free(NULL);
}

/* read_all - the contents of path */
static char *
read_all(const char *path)
{
	static char	 buf[8192];
	FILE		*fp = fopen(path, "r");
	size_t		 n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* count_entries - files in dir, dot-files included, . and .. not */
static int
count_entries(const char *dir)
{
	DIR		*dp = opendir(dir);
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

static void
test_save_load(void **state)
{
	char		 dir[] = "/tmp/test_users.XXXXXX", path[256], bad[300];
	struct users	 u = { NULL, 0 }, v;
	struct err	 e;
	struct stat	 st;
	struct group	*gr;
	size_t		 i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/users", dir);
	/* a missing file is an empty list */
	v.n = 99;
	assert_int_equal(users_load(&v, path, &e), 0);
	assert_int_equal(v.n, 0);
	/* save, then the bytes, the mode and no temporary left behind */
	assert_int_equal(users_set(&u, "zed", "hz"), 0);
	assert_int_equal(users_set(&u, "Alice", H_HORSE), 0);
	assert_int_equal(users_save(&u, path, &e), 0);
	assert_string_equal(read_all(path), "alice " H_HORSE "\nzed hz\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	if (geteuid() == 0 && (gr = getgrnam("postern")) != NULL) {
		assert_int_equal(st.st_uid, 0);
		assert_int_equal(st.st_gid, gr->gr_gid);
	}
	assert_int_equal(count_entries(dir), 1);
	/* load gives the same list */
	assert_int_equal(users_load(&v, path, &e), 0);
	assert_int_equal(v.n, u.n);
	for (i = 0; i < u.n; i++) {
		assert_string_equal(v.v[i].name, u.v[i].name);
		assert_string_equal(v.v[i].hash, u.v[i].hash);
	}
	users_free(&v);
	/* overwrite with fewer entries; a looser mode is put back to 0640 */
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(users_remove(&u, "zed"), 0);
	assert_int_equal(users_save(&u, path, &e), 0);
	assert_string_equal(read_all(path), "alice " H_HORSE "\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(count_entries(dir), 1);
	/* an empty list saves as an empty file */
	assert_int_equal(users_remove(&u, "alice"), 0);
	assert_int_equal(users_save(&u, path, &e), 0);
	assert_string_equal(read_all(path), "");
	assert_int_equal(users_load(&v, path, &e), 0);
	assert_int_equal(v.n, 0);
	users_free(&v);
	/* a file with an error is refused, naming the path and line */
	{
		FILE	*fp = fopen(path, "w");

		assert_non_null(fp);
		fputs("bob h\n\nbob h2\n", fp);
		fclose(fp);
	}
	assert_int_equal(users_load(&v, path, &e), -1);
	snprintf(bad, sizeof(bad), "%s:3: duplicate user", path);
	assert_non_null(strstr(e.msg, bad));
	/* a directory is not a users file */
	assert_int_equal(users_load(&v, dir, &e), -1);
	assert_non_null(strstr(e.msg, "not a regular file"));
	/* saving into a missing folder fails and leaves nothing */
	snprintf(bad, sizeof(bad), "%s/nope/users", dir);
	assert_int_equal(users_save(&u, bad, &e), -1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(count_entries(dir), 0);
	assert_int_equal(rmdir(dir), 0);
	users_free(&u);
}

/* a config directory with two domains, built by hand */
struct fixture {
	char		 dir[64];
	struct domain	 domains[3];
	struct conf	 conf;
};

static void
write_file(const char *path, const char *text)
{
	FILE	*fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static int
setup_conf(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	char		 p[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_auth.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(p, sizeof(p), "%s/domains", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/domains/example.com", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/domains/example.com/users", f->dir);
	write_file(p, "# users\nalice " H_HORSE "\nnopw " H_EMPTY "\n"
	    "broken $scrypt$ln=10,r=1,p=1$junk$junk\n");
	snprintf(p, sizeof(p), "%s/domains/example.org", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/domains/other.net", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/domains/other.net/users", f->dir);
	write_file(p, "alice " H_EMPTY "\n");
	snprintf(f->conf.dir, sizeof(f->conf.dir), "%s", f->dir);
	snprintf(f->domains[0].name, sizeof(f->domains[0].name), "example.com");
	snprintf(f->domains[1].name, sizeof(f->domains[1].name), "example.org");
	snprintf(f->domains[2].name, sizeof(f->domains[2].name), "other.net");
	f->conf.domains = f->domains;
	f->conf.ndomains = 3;
	*state = f;
	return 0;
}

static int
teardown_conf(void **state)
{
	struct fixture	*f = *state;
	char		 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
test_auth_check(void **state)
{
	struct fixture	*f = *state;
	struct authdb	*db;
	struct err	 e;

	db = auth_load(&f->conf, &e);
	if (db == NULL)
		fail_msg("auth_load: %s", e.msg);
	assert_int_equal(auth_check(db, "alice@example.com", "correct horse"),
	    AUTH_OK);
	assert_int_equal(auth_check(db, "ALICE@Example.COM", "correct horse"),
	    AUTH_OK);
	assert_int_equal(auth_check(db, "alice@example.com", "Correct horse"),
	    AUTH_FAIL);
	assert_int_equal(auth_check(db, "alice@example.com", ""), AUTH_FAIL);
	/* the same name in another domain is another user */
	assert_int_equal(auth_check(db, "alice@other.net", "correct horse"),
	    AUTH_FAIL);
	assert_int_equal(auth_check(db, "alice@other.net", ""), AUTH_OK);
	assert_int_equal(auth_check(db, "nopw@example.com", ""), AUTH_OK);
	/* unknown users and domains, odd shapes */
	assert_int_equal(auth_check(db, "bob@example.com", "correct horse"),
	    AUTH_FAIL);
	assert_int_equal(auth_check(db, "alice@example.org", "correct horse"),
	    AUTH_FAIL);
	assert_int_equal(auth_check(db, "alice@example.net", "correct horse"),
	    AUTH_FAIL);
	assert_int_equal(auth_check(db, "alice", "correct horse"), AUTH_FAIL);
	assert_int_equal(auth_check(db, "", "correct horse"), AUTH_FAIL);
	assert_int_equal(auth_check(db, "@example.com", "x"), AUTH_FAIL);
	assert_int_equal(auth_check(db, "alice@", "correct horse"), AUTH_FAIL);
	assert_int_equal(auth_check(db, "alice@example.com@", "correct horse"),
	    AUTH_FAIL);
	assert_int_equal(auth_check(db, "x@alice@example.com",
	    "correct horse"), AUTH_FAIL);
	assert_int_equal(auth_check(db, "alice@example.com ", "correct horse"),
	    AUTH_FAIL);
	/* a malformed stored hash fails (and is logged) */
	assert_int_equal(auth_check(db, "broken@example.com", "junk"),
	    AUTH_FAIL);
	auth_free(db);
	auth_free(NULL);
}

static void
test_auth_load_error(void **state)
{
	struct fixture	*f = *state;
	struct err	 e;
	char		 p[256];

	snprintf(p, sizeof(p), "%s/domains/example.org/users", f->dir);
	write_file(p, "carol " H_HORSE "\ncarol\n");
	assert_null(auth_load(&f->conf, &e));
	snprintf(p, sizeof(p), "example.org/users:2: no password hash");
	assert_non_null(strstr(e.msg, p));
}

/* ask - one M_AUTH_REQ over sock; returns the result, fills canon */
static int
ask(int sock, uint64_t reqid, const char *user, const char *pw,
    const char *client, char *canon, size_t canonsz)
{
	struct ipc_auth_res	 res;
	struct msg		 m;
	struct err		 e;

	ipc_auth_req_put(&m, &(struct ipc_auth_req){ .reqid = reqid,
	    .user = user, .password = pw, .client = client });
	assert_int_equal(msg_send(sock, &m), 0);
	msg_free(&m);
	assert_int_equal(msg_recv(sock, &m), 1);
	assert_int_equal(ipc_auth_res_get(&m, &res, &e), 0);
	assert_int_equal(res.reqid, reqid);
	/* a success carries auth's ticket for the user, nothing else does */
	if (res.result == AUTH_OK)
		assert_int_equal(ticket_check(res.user, res.issued,
		    res.ticket, ticket_now(), 60), TICKET_OK);
	else
		assert_string_equal(res.ticket, "");
	snprintf(canon, canonsz, "%s", res.user);
	msg_free(&m);
	return (int)res.result;
}

static void
test_auth_main(void **state)
{
	struct fixture	*f = *state;
	struct authdb	*db;
	struct err	 e;
	char		 canon[400];
	int		 a[2], b[2], socks[2], status, i;
	pid_t		 pid;

	assert_non_null(db = auth_load(&f->conf, &e));
	assert_int_equal(msg_socketpair(a), 0);
	assert_int_equal(msg_socketpair(b), 0);
	ticket_init();
	if ((pid = fork()) == 0) {
		close(a[0]);
		close(b[0]);
		socks[0] = a[1];
		socks[1] = b[1];
		auth_main(db, socks, 2);
	}
	assert_true(pid > 0);
	auth_free(db);
	close(a[1]);
	close(b[1]);

	assert_int_equal(ask(a[0], 7, "Alice@EXAMPLE.com", "correct horse",
	    "192.0.2.1", canon, sizeof(canon)), AUTH_OK);
	assert_string_equal(canon, "alice@example.com");
	assert_int_equal(ask(b[0], 8, "alice@other.net", "", "192.0.2.2",
	    canon, sizeof(canon)), AUTH_OK);
	assert_string_equal(canon, "alice@other.net");
	/* five failures from one address, over both sockets ... */
	for (i = 0; i < 5; i++) {
		assert_int_equal(ask(i % 2 ? a[0] : b[0], 100 + (uint64_t)i,
		    i < 3 ? "alice@example.com" : "who@example.com", "guess",
		    "198.51.100.7", canon, sizeof(canon)), AUTH_FAIL);
		assert_string_equal(canon, "");
	}
	/* ... and it is refused even the right password */
	assert_int_equal(ask(a[0], 200, "alice@example.com", "correct horse",
	    "198.51.100.7", canon, sizeof(canon)), AUTH_FAIL);
	assert_string_equal(canon, "");
	/* other addresses are not affected; a success does not reset it */
	assert_int_equal(ask(a[0], 201, "alice@example.com", "correct horse",
	    "198.51.100.8", canon, sizeof(canon)), AUTH_OK);
	assert_int_equal(ask(b[0], 202, "alice@example.com", "correct horse",
	    "198.51.100.7", canon, sizeof(canon)), AUTH_FAIL);
	/* four failures are not enough */
	for (i = 0; i < 4; i++)
		assert_int_equal(ask(a[0], 300, "alice@example.com", "guess",
		    "203.0.113.9", canon, sizeof(canon)), AUTH_FAIL);
	assert_int_equal(ask(a[0], 301, "alice@example.com", "correct horse",
	    "203.0.113.9", canon, sizeof(canon)), AUTH_OK);
	/* hostile strings in the log fields are harmless */
	assert_int_equal(ask(b[0], 302, "x\ny@example.com user=admin", "pw",
	    "a b\nc", canon, sizeof(canon)), AUTH_FAIL);

	/* the process exits 0 once every peer has closed */
	close(a[0]);
	assert_int_equal(ask(b[0], 400, "alice@example.com", "correct horse",
	    "192.0.2.3", canon, sizeof(canon)), AUTH_OK);
	close(b[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_auth_main_malformed(void **state)
{
	struct fixture	*f = *state;
	struct authdb	*db;
	struct err	 e;
	struct msg	 m;
	int		 sv[2], status;
	pid_t		 pid;

	assert_non_null(db = auth_load(&f->conf, &e));
	assert_int_equal(msg_socketpair(sv), 0);
	if ((pid = fork()) == 0) {
		close(sv[0]);
		auth_main(db, &sv[1], 1);
	}
	auth_free(db);
	close(sv[1]);
	/* a request missing its client field: a broken sibling, fatal */
	msg_init(&m, M_AUTH_REQ);
	msg_add_u64(&m, 1);
	msg_add_str(&m, "alice@example.com");
	msg_add_str(&m, "pw");
	assert_int_equal(msg_send(sv[0], &m), 0);
	msg_free(&m);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	close(sv[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_set_find_remove),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test_setup_teardown(test_auth_check, setup_conf,
		    teardown_conf),
		cmocka_unit_test_setup_teardown(test_auth_load_error,
		    setup_conf, teardown_conf),
		cmocka_unit_test_setup_teardown(test_auth_main, setup_conf,
		    teardown_conf),
		cmocka_unit_test_setup_teardown(test_auth_main_malformed,
		    setup_conf, teardown_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
