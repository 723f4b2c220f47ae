/*
 * ctl_user.c - the user admin verbs of the postern binary:
 *
 *	postern [-C DIR] user-add ADDR [--password-stdin]
 *	postern [-C DIR] user-remove ADDR
 *	postern [-C DIR] user-list [DOMAIN]
 *	postern [-C DIR] authenticate ADDR --password=P | --password P
 *
 * They run as the administrator and read and write DIR/domains/DOMAIN/users
 * directly (users.c; the daemon sees changes at its next reload).  ADDR is
 * local@domain, split at the last '@' and lower-cased; DIR/domains/DOMAIN/
 * must exist (postern init makes it).  user-add asks for the password
 * twice on /dev/tty with echo off, or reads one line from standard input
 * with --password-stdin (the trailing LF, or CRLF, is dropped); an empty
 * password, one with a NUL byte, or one longer than PASSWORD_MAX bytes is
 * refused.  Adding a user that exists replaces its password, and says so.
 *
 * Exit codes: 0 done, 1 failed (one line on stderr saying why), 2 usage.
 * Password buffers are wiped before they go out of scope.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "addr.h"
#include "auth/passwd.h"
#include "auth/users.h"
#include "bounds.h"
#include "ctl.h"
#include "err.h"
#include "strutil.h"
#include "xmalloc.h"

/* longest password accepted, in bytes */
#define PASSWORD_MAX	1024

/* one user address and where its domain's users file is */
struct target {
	char	 local[LIM_LOCAL_PART + 1];	/* lower case */
	char	 domain[LIM_DOMAIN + 1];	/* lower case */
	char	 addr[LIM_LOCAL_PART + 1 + LIM_DOMAIN + 1];
	char	 path[PATH_MAX];		/* DIR/domains/DOMAIN/users */
};

static volatile sig_atomic_t	 tty_signal;

/*
 * domain_aliases_file - a domain folder made by hand has no aliases file,
 * which serve refuses (a lost file must not pass for "no aliases"): make
 * an empty one, and say so
 */
static int
domain_aliases_file(const char *dir)
{
	char	path[PATH_MAX];
	int	fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/aliases", dir) >=
	    sizeof(path))
		return 0;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) == -1) {
		if (errno == EEXIST)
			return 0;
		fprintf(stderr, "postern: %s: %s\n", path, strerror(errno));
		return -1;
	}
	(void)fchmod(fd, 0644);
	(void)fsync(fd);
	(void)close(fd);
	printf("created %s (empty: no aliases yet)\n", path);
	return 0;
}

/*
 * domain_dir - check that domain (lower case) names a folder of
 * DIR/domains/; print why not.
 */
static int
domain_dir(const char *confdir, const char *domain)
{
	char		dir[PATH_MAX];
	struct stat	st;

	if (!addr_domain_valid(domain, strlen(domain), false)) {
		fprintf(stderr, "postern: \"%s\" is not a domain name\n",
		    domain);
		return -1;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/domains/%s", confdir,
	    domain) >= sizeof(dir)) {
		fprintf(stderr, "postern: %s/domains/%s: path too long\n",
		    confdir, domain);
		return -1;
	}
	if (stat(dir, &st) == -1) {
		if (errno != ENOENT) {
			fprintf(stderr, "postern: %s: %s\n", dir,
			    strerror(errno));
			return -1;
		}
	} else if (S_ISDIR(st.st_mode))
		return domain_aliases_file(dir);
	fprintf(stderr, "postern: unknown domain %s: %s/ is not a folder "
	    "(run \"postern init %s\" first)\n", domain, dir, domain);
	return -1;
}

/* parse_target - split ADDR, check it and its domain folder */
static int
parse_target(const char *confdir, const char *arg, struct target *t)
{
	const char	*at = strrchr(arg, '@');
	size_t		 llen;

	memset(t, 0, sizeof(*t));
	if (at == NULL || at == arg || at[1] == '\0') {
		fprintf(stderr, "postern: \"%s\" is not an address "
		    "local@domain\n", arg);
		return -1;
	}
	llen = (size_t)(at - arg);
	if (llen >= sizeof(t->local) ||
	    str_copy(t->domain, at + 1, sizeof(t->domain)) == -1) {
		fprintf(stderr, "postern: \"%s\" is too long\n", arg);
		return -1;
	}
	memcpy(t->local, arg, llen);
	t->local[llen] = '\0';
	str_lower(t->local);
	str_lower(t->domain);
	if (!users_name_valid(t->local)) {
		fprintf(stderr, "postern: \"%s\" is not a valid user name (a "
		    "dot-atom of at most %d characters)\n", t->local,
		    LIM_LOCAL_PART);
		return -1;
	}
	if (domain_dir(confdir, t->domain) == -1)
		return -1;
	(void)snprintf(t->addr, sizeof(t->addr), "%s@%s", t->local,
	    t->domain);
	if ((size_t)snprintf(t->path, sizeof(t->path), "%s/domains/%s/users",
	    confdir, t->domain) >= sizeof(t->path)) {
		fprintf(stderr, "postern: %s/domains/%s/users: path too long\n",
		    confdir, t->domain);
		return -1;
	}
	return 0;
}

/*
 * read_line - one line from fd into buf (NUL-terminated, LF or CRLF
 * dropped).  Returns 0, or -1 with a message in e.
 */
static int
read_line(int fd, char *buf, size_t bufsz, struct err *e)
{
	size_t	n = 0;
	bool	toolong = false, nul = false;
	ssize_t	r;
	char	c;

	for (;;) {
		r = read(fd, &c, 1);
		if (r == -1 && errno == EINTR && tty_signal == 0)
			continue;
		if (r == -1) {
			explicit_bzero(buf, bufsz);
			return err_set(e, false, errno, "reading the password: "
			    "%s", strerror(errno));
		}
		if (r == 0 || c == '\n')
			break;
		if (c == '\0')
			nul = true;
		if (n + 1 < bufsz)
			buf[n++] = c;
		else
			toolong = true;
	}
	c = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (r == 0 && n == 0 && !toolong)
		return err_set(e, false, 0, "no password given");
	if (toolong || nul) {
		explicit_bzero(buf, bufsz);
		if (toolong)
			return err_set(e, false, 0, "password longer than %d "
			    "bytes", PASSWORD_MAX);
		return err_set(e, false, 0, "password with a NUL byte");
	}
	return 0;
}

/* on_tty_signal - remember the signal; the read returns EINTR */
static void
on_tty_signal(int sig)
{
	tty_signal = sig;
}

/*
 * read_tty_password - ask for the password of addr twice on /dev/tty with
 * echo off.  The terminal is restored, even on ^C (which is then
 * re-raised).
 */
static int
read_tty_password(const char *addr, char *pw, size_t pwsz, struct err *e)
{
	static const int	 sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				    SIGTSTP };
	struct sigaction	 sa, old[sizeof(sigs) / sizeof(sigs[0])];
	struct termios		 saved, quiet;
	char			 again[PASSWORD_MAX + 2];
	size_t			 i;
	int			 fd, rc = -1;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return err_set(e, false, errno, "cannot open /dev/tty (%s); "
		    "use --password-stdin", strerror(errno));
	if (tcgetattr(fd, &saved) == -1) {
		err_set(e, false, errno, "/dev/tty: %s", strerror(errno));
		close(fd);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tty_signal;	/* no SA_RESTART: read gets EINTR */
	sigemptyset(&sa.sa_mask);
	tty_signal = 0;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, &old[i]);
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) == -1) {
		err_set(e, false, errno, "/dev/tty: %s", strerror(errno));
		goto out;
	}
	dprintf(fd, "Password for %s: ", addr);
	if (read_line(fd, pw, pwsz, e) == -1)
		goto out;
	dprintf(fd, "Again: ");
	if (read_line(fd, again, sizeof(again), e) == -1)
		goto out;
	if (strcmp(pw, again) != 0) {
		err_set(e, false, 0, "the passwords do not match");
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(again, sizeof(again));
	if (tty_signal != 0)
		dprintf(fd, "\n");
	(void)tcsetattr(fd, TCSAFLUSH, &saved);
	close(fd);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &old[i], NULL);
	if (rc == -1)
		explicit_bzero(pw, pwsz);
	if (tty_signal != 0)
		(void)raise(tty_signal);
	return rc;
}

/* ctl_user_add - add a user, or replace the password of one */
int
ctl_user_add(const char *confdir, int argc, char **argv)
{
	struct target	 t;
	struct users	 u = { NULL, 0 };
	struct err	 e;
	char		 pw[PASSWORD_MAX + 2], hash[PASSWD_HASH_MAX];
	const char	*addr = NULL;
	bool		 from_stdin = false, existed, bad = false;
	int		 i, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--password-stdin") == 0)
			from_stdin = true;
		else if (argv[i][0] != '-' && addr == NULL)
			addr = argv[i];
		else
			bad = true;
	}
	if (addr == NULL || bad) {
		fprintf(stderr, "usage: postern user-add ADDR "
		    "[--password-stdin]\n");
		return 2;
	}
	if (parse_target(confdir, addr, &t) == -1)
		return 1;
	memset(&e, 0, sizeof(e));
	if ((from_stdin ? read_line(STDIN_FILENO, pw, sizeof(pw), &e) :
	    read_tty_password(t.addr, pw, sizeof(pw), &e)) == -1) {
		fprintf(stderr, "postern: %s\n", e.msg);
		goto out;
	}
	if (pw[0] == '\0') {
		fprintf(stderr, "postern: empty password refused\n");
		goto out;
	}
	if (passwd_hash(pw, hash, sizeof(hash), &e) == -1 ||
	    users_load(&u, t.path, &e) == -1) {
		fprintf(stderr, "postern: %s\n", e.msg);
		goto out;
	}
	existed = users_find(&u, t.local) != NULL;
	if (users_set(&u, t.local, hash) == -1) {
		fprintf(stderr, "postern: cannot add %s\n", t.addr);
		goto out;
	}
	if (users_save(&u, t.path, &e) == -1) {
		fprintf(stderr, "postern: %s\n", e.msg);
		goto out;
	}
	if (existed)
		printf("user %s existed: password replaced\n", t.addr);
	else
		printf("user %s added\n", t.addr);
	rc = 0;
out:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(hash, sizeof(hash));
	users_free(&u);
	return rc;
}

/* ctl_user_remove - remove a user; 1 if there is no such user */
int
ctl_user_remove(const char *confdir, int argc, char **argv)
{
	struct target	 t;
	struct users	 u = { NULL, 0 };
	struct err	 e;
	int		 rc = 1;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: postern user-remove ADDR\n");
		return 2;
	}
	if (parse_target(confdir, argv[1], &t) == -1)
		return 1;
	if (users_load(&u, t.path, &e) == -1) {
		fprintf(stderr, "postern: %s\n", e.msg);
		goto out;
	}
	if (users_remove(&u, t.local) == -1) {
		fprintf(stderr, "postern: no user %s\n", t.addr);
		goto out;
	}
	if (users_save(&u, t.path, &e) == -1) {
		fprintf(stderr, "postern: %s\n", e.msg);
		goto out;
	}
	printf("user %s removed\n", t.addr);
	rc = 0;
out:
	users_free(&u);
	return rc;
}

/* cmp_str - qsort strings */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list_domain - append "local@domain" of every user of domain to *v */
static int
list_domain(const char *confdir, const char *domain, char ***v, size_t *n)
{
	char		 path[PATH_MAX];
	struct users	 u = { NULL, 0 };
	struct err	 e;
	size_t		 i;

	if ((size_t)snprintf(path, sizeof(path), "%s/domains/%s/users",
	    confdir, domain) >= sizeof(path)) {
		fprintf(stderr, "postern: %s/domains/%s/users: path too long\n",
		    confdir, domain);
		return -1;
	}
	if (users_load(&u, path, &e) == -1) {
		fprintf(stderr, "postern: %s\n", e.msg);
		return -1;
	}
	*v = xreallocarray(*v, *n + u.n + 1, sizeof(**v));
	for (i = 0; i < u.n; i++)
		xasprintf(&(*v)[(*n)++], "%s@%s", u.v[i].name, domain);
	users_free(&u);
	return 0;
}

/* ctl_user_list - print the users of one domain or of all, sorted */
int
ctl_user_list(const char *confdir, int argc, char **argv)
{
	char		 dir[PATH_MAX], domain[LIM_DOMAIN + 1];
	char		**v = NULL;
	size_t		 n = 0, i;
	DIR		*dp = NULL;
	struct dirent	*de;
	struct stat	 st;
	int		 rc = 1;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: postern user-list [DOMAIN]\n");
		return 2;
	}
	if (argc == 2) {
		if (str_copy(domain, argv[1], sizeof(domain)) == -1) {
			fprintf(stderr, "postern: \"%s\" is not a domain "
			    "name\n", argv[1]);
			return 1;
		}
		str_lower(domain);
		if (domain_dir(confdir, domain) == -1 ||
		    list_domain(confdir, domain, &v, &n) == -1)
			goto out;
	} else {
		if ((size_t)snprintf(dir, sizeof(dir), "%s/domains",
		    confdir) >= sizeof(dir)) {
			fprintf(stderr, "postern: %s/domains: path too long\n",
			    confdir);
			goto out;
		}
		if ((dp = opendir(dir)) == NULL) {
			fprintf(stderr, "postern: %s: %s\n", dir,
			    strerror(errno));
			goto out;
		}
		while ((errno = 0, de = readdir(dp)) != NULL) {
			if (de->d_name[0] == '.' ||
			    fstatat(dirfd(dp), de->d_name, &st, 0) == -1 ||
			    !S_ISDIR(st.st_mode))
				continue;
			if (list_domain(confdir, de->d_name, &v, &n) == -1)
				goto out;
		}
		if (errno != 0) {
			fprintf(stderr, "postern: %s: %s\n", dir,
			    strerror(errno));
			goto out;
		}
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_str);
	for (i = 0; i < n; i++)
		printf("%s\n", v[i]);
	rc = fflush(stdout) == EOF ? 1 : 0;
out:
	if (dp != NULL)
		closedir(dp);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

/* ctl_authenticate - check a password: "ok" and 0, or a message and 1 */
int
ctl_authenticate(const char *confdir, int argc, char **argv)
{
	struct target		 t;
	struct users		 u = { NULL, 0 };
	struct err		 e;
	const char		*addr = NULL, *pw = NULL, *hash;
	int			 i, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--password=", 11) == 0 && pw == NULL)
			pw = argv[i] + 11;
		else if (strcmp(argv[i], "--password") == 0 && pw == NULL &&
		    i + 1 < argc)
			pw = argv[++i];
		else if (argv[i][0] != '-' && addr == NULL)
			addr = argv[i];
		else
			break;
	}
	if (i < argc || addr == NULL || pw == NULL) {
		fprintf(stderr, "usage: postern authenticate ADDR "
		    "--password=P\n");
		return 2;
	}
	if (parse_target(confdir, addr, &t) == -1)
		return 1;
	memset(&e, 0, sizeof(e));
	if (users_load(&u, t.path, &e) == -1) {
		fprintf(stderr, "postern: %s\n", e.msg);
		goto out;
	}
	if ((hash = users_find(&u, t.local)) == NULL) {
		fprintf(stderr, "authentication failed for %s\n", t.addr);
		goto out;
	}
	switch (passwd_verify(pw, hash, &e)) {
	case PASSWD_OK:
		printf("ok\n");
		rc = 0;
		break;
	case PASSWD_MISMATCH:
		fprintf(stderr, "authentication failed for %s\n", t.addr);
		break;
	case PASSWD_ERROR:
	default:
		fprintf(stderr, "authentication failed for %s: %s: %s\n",
		    t.addr, t.path, e.msg);
		break;
	}
out:
	users_free(&u);
	return rc;
}
