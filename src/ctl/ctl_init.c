/*
 * ctl_init.c - a new config directory:
 *
 *	postern [-C DIR] init DOMAIN [--hostname H] [--listen-base PORT]
 *	    [--data-dir D]
 *
 * Runs as the administrator, before any daemon.  Writes
 *	DIR/postern.conf			0644, every key with its default
 *	DIR/domains/DOMAIN/users		0640, empty
 *	DIR/domains/DOMAIN/aliases		0644, commented examples
 *	DIR/domains/DOMAIN/dkim/pYYYY.pem	0640, an RSA-2048 DKIM key
 *						(unless the domain has one)
 *	DIR/srs_secrets				0640, a random SRS secret
 *						(unless there is one)
 *	DIR/certs/H/fullchain.pem, privkey.pem	self-signed, unless present
 * The embedded default runs as is, as a local test server: hostname
 * mail.DOMAIN, listeners on loopback and unprivileged ports (2525 for MX
 * mail, 2587 submission, 2465 submissions; PORT, PORT+1, PORT+2 with
 * --listen-base), data in /var/lib/postern unless --data-dir says where.
 * An existing postern.conf is never overwritten.  It is written last, and
 * existing users and aliases files are kept, so a failed init can simply
 * be run again.  The generated text is parsed by conf_parse() before it is
 * written: init cannot leave a file the daemon refuses.
 *
 * Then it runs the pre-flight checks that need no published record
 * (ctl_check_preflight: the host name resolves, not to loopback, to this
 * machine's public addresses, each with its PTR back; outbound port 25
 * with --dial; skipped for a test name), prints the records to publish (as `postern dns`) and the next
 * three steps.  --dns-resolver (a test knob) is written as dns_resolver.
 *
 * Exit codes: 0 done, 1 failed (one line on stderr saying why), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "b64.h"
#include "bounds.h"
#include "buf.h"
#include "cert.h"
#include "conf.h"
#include "ctl.h"
#include "ctl_dkim.h"
#include "err.h"
#include "strutil.h"
#include "xmalloc.h"

#define INIT_USAGE	"usage: postern [-C DIR] init DOMAIN [--hostname H]" \
			" [--listen-base PORT] [--data-dir D] [--dial]" \
			" [--dns-resolver HOST:PORT]"
/* the embedded default's ports: unprivileged, easy to tell apart */
#define INIT_PORT_SMTP		2525
#define INIT_PORT_SUBMISSION	2587
#define INIT_PORT_SUBMISSIONS	2465
#define INIT_DATA_DIR	"/var/lib/postern"
#define INIT_CONF_MAX	(64 * 1024)	/* the generated postern.conf */

struct init_opts {
	char			 dir[PATH_MAX];		/* absolute */
	char			 domain[LIM_DOMAIN + 1];
	char			 hostname[LIM_DOMAIN + 1];
	char			 data_dir[PATH_MAX];
	char			 listen[3][64];		/* smtp, 587, 465 */
	unsigned long long	 base;			/* 0: the default */
	char			 dns_resolver[80];	/* "": the system's */
	bool			 dial;			/* pre-flight: port 25 */
};

/* the keys init sets; every other key is written commented out */
enum init_key { IK_HOSTNAME, IK_SMTP, IK_SUBMISSION, IK_SUBMISSIONS,
	IK_DATA_DIR, IK_DNS_RESOLVER, IK_N };

static const char *const init_keys[IK_N] = {
	"hostname", "smtp_listen", "submission_listen", "submissions_listen",
	"data_dir", "dns_resolver",
};

#define ALIASES_TEXT \
    "# aliases of %s: \"local: target, target\", one a line.\n" \
    "# A target is a user of this domain (a bare name), a full address\n" \
    "# (someone@elsewhere.example) or \"| command\" (the rest of the line).\n" \
    "# \"*\" is the catch-all: it takes the mail of every unknown name.\n" \
    "#\n" \
    "# postmaster: you\n" \
    "# abuse: you\n" \
    "# info: you, partner@elsewhere.example\n" \
    "# *: you@gmail.example\n"

/* mkdir_p - mkdir -p path, each new folder with mode */
static int
mkdir_p(const char *path, mode_t mode, struct err *e)
{
	char	 p[PATH_MAX], *s, c;

	if (str_copy(p, path, sizeof(p)) == -1)
		return err_set(e, false, 0, "%s: path too long", path);
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			return err_set(e, false, errno, "mkdir %s: %s", p,
			    strerror(errno));
		*s = c;
		if (c == '\0')
			return 0;
	}
}

/* path_join - dst = a/b, or -1 if it does not fit */
static int
path_join(char *dst, size_t dstsz, const char *a, const char *b,
    struct err *e)
{
	if ((size_t)snprintf(dst, dstsz, "%s/%s", a, b) >= dstsz)
		return err_set(e, false, 0, "%s/%s: path too long", a, b);
	return 0;
}

/* absolute - p made absolute against the working directory */
static int
absolute(const char *p, char *out, size_t outsz, struct err *e)
{
	char	cwd[PATH_MAX];

	if (p[0] == '/') {
		if (str_copy(out, p, outsz) == -1)
			return err_set(e, false, 0, "%s: path too long", p);
		return 0;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return err_set(e, false, errno, "getcwd: %s", strerror(errno));
	return path_join(out, outsz, strcmp(cwd, "/") == 0 ? "" : cwd, p, e);
}

/* inside - is path dir itself or below it (lexically)? */
static bool
inside(const char *path, const char *dir)
{
	size_t	n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/' || n == 1);
}

/* opt_value - the value of --name=V or --name V; NULL if none */
static const char *
opt_value(const char *name, int argc, char **argv, int *i)
{
	const char	*a = argv[*i];
	size_t		 n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

/* parse_args - the command line into o; 2 for usage, 1 for bad values */
static int
parse_args(struct init_opts *o, int argc, char **argv, struct err *e)
{
	const char	*domain = NULL, *host = NULL, *data = NULL, *base = NULL;
	const char	*v, *dns = NULL;
	int		 i;

	for (i = 1; i < argc; i++) {
		if ((v = opt_value("--hostname", argc, argv, &i)) != NULL)
			host = v;
		else if ((v = opt_value("--listen-base", argc, argv,
		    &i)) != NULL)
			base = v;
		else if ((v = opt_value("--data-dir", argc, argv, &i)) != NULL)
			data = v;
		else if ((v = opt_value("--dns-resolver", argc, argv,
		    &i)) != NULL)
			dns = v;
		else if (strcmp(argv[i], "--dial") == 0)
			o->dial = true;
		else if (argv[i][0] == '-' || domain != NULL) {
			err_set(e, false, 0, "%s", INIT_USAGE);
			return 2;
		} else
			domain = argv[i];
	}
	if (domain == NULL) {
		err_set(e, false, 0, "%s", INIT_USAGE);
		return 2;
	}
	if (str_copy(o->domain, domain, sizeof(o->domain)) == -1 ||
	    !addr_domain_valid(domain, strlen(domain), false)) {
		err_set(e, false, 0, "\"%.64s\" is not a domain name", domain);
		return 1;
	}
	addr_lower(o->domain);
	if (host == NULL) {
		if ((size_t)snprintf(o->hostname, sizeof(o->hostname),
		    "mail.%s", o->domain) >= sizeof(o->hostname) ||
		    !addr_domain_valid(o->hostname, strlen(o->hostname),
		    false)) {
			err_set(e, false, 0, "mail.%s is too long for a host"
			    " name; give one with --hostname", o->domain);
			return 1;
		}
	} else if (str_copy(o->hostname, host, sizeof(o->hostname)) == -1 ||
	    !addr_domain_valid(host, strlen(host), false)) {
		err_set(e, false, 0, "\"%.64s\" is not a host name", host);
		return 1;
	}
	addr_lower(o->hostname);
	if (base != NULL && str_to_ull(base, 1, 65533, &o->base) == -1) {
		err_set(e, false, 0, "--listen-base must be a port from 1 to"
		    " 65533, not \"%.16s\"", base);
		return 1;
	}
	if (absolute(data != NULL ? data : INIT_DATA_DIR, o->data_dir,
	    sizeof(o->data_dir), e) == -1)
		return 1;
	if (dns != NULL && str_copy(o->dns_resolver, dns,
	    sizeof(o->dns_resolver)) == -1) {
		err_set(e, false, 0, "--dns-resolver: too long");
		return 1;
	}
	return 0;
}

/* set_listen - the loopback listeners of the embedded default */
static void
set_listen(struct init_opts *o)
{
	unsigned long long	 port[3];
	size_t			 i;

	if (o->base == 0) {
		port[0] = INIT_PORT_SMTP;
		port[1] = INIT_PORT_SUBMISSION;
		port[2] = INIT_PORT_SUBMISSIONS;
	} else
		for (i = 0; i < 3; i++)
			port[i] = o->base + i;
	for (i = 0; i < 3; i++)
		(void)snprintf(o->listen[i], sizeof(o->listen[i]),
		    "127.0.0.1:%llu [::1]:%llu", port[i], port[i]);
}

/* add_comment - text as "# " lines wrapped at 76 columns */
static void
add_comment(struct buf *b, const char *text)
{
	const char	*s = text, *brk;
	size_t		 n;

	while (*s != '\0') {
		n = strlen(s);
		if (n > 74) {
			for (brk = s + 74; brk > s && *brk != ' '; brk--)
				;
			n = brk > s ? (size_t)(brk - s) : n;
		}
		(void)buf_printf(b, "# %.*s\n", (int)n, s);
		s += n;
		s += strspn(s, " ");
	}
}

/* conf_text - the whole postern.conf; -1 if it would not parse */
static int
conf_text(const struct init_opts *o, struct buf *b, struct err *e)
{
	const char	*active[IK_N], *name, *help;
	char		 def[256];
	struct conf	*c;
	size_t		 i, k;
	int		 rc;

	active[IK_HOSTNAME] = o->hostname;
	active[IK_SMTP] = o->listen[0];
	active[IK_SUBMISSION] = o->listen[1];
	active[IK_SUBMISSIONS] = o->listen[2];
	active[IK_DATA_DIR] = o->data_dir;
	/* only when given: a test knob (the pre-flight asks it) */
	active[IK_DNS_RESOLVER] = o->dns_resolver[0] != '\0' ?
	    o->dns_resolver : NULL;
	(void)buf_printf(b,
	    "# postern.conf - written by \"postern init %s\".\n"
	    "#\n"
	    "# One \"key = value\" a line; \"#\" starts a comment.  Every key"
	    " is below with\n"
	    "# its default, commented out: uncomment a line to change it."
	    "  Sizes take\n"
	    "# K, M, G suffixes (25M), durations s, m, h, d (90s, 5m, 4h,"
	    " 5d).\n"
	    "#\n"
	    "# As written, this is a local test server: loopback addresses,"
	    " unprivileged\n"
	    "# ports and a self-signed certificate in certs/%s/.\n"
	    "# For a real deployment, listen on the standard ports,\n"
	    "#     smtp_listen = *:25\n"
	    "#     submission_listen = *:587\n"
	    "#     submissions_listen = *:465\n"
	    "# and replace the certificate with one from a CA (acme.sh,"
	    " certbot or uacme\n"
	    "# can write certs/%s/fullchain.pem and privkey.pem).\n",
	    o->domain, o->hostname, o->hostname);
	for (i = 0; conf_key_doc(i, &name, &help, def, sizeof(def)) == 0;
	    i++) {
		(void)buf_addstr(b, "\n");
		add_comment(b, help);
		for (k = 0; k < IK_N; k++)
			if (strcmp(name, init_keys[k]) == 0)
				break;
		if (k < IK_N && active[k] == NULL)
			k = IK_N;
		if (k < IK_N)
			(void)buf_printf(b, "%s = %s\n", name, active[k]);
		if (k == IK_N ||
		    (def[0] != '\0' && strcmp(def, active[k]) != 0))
			(void)buf_printf(b, "#%s = %s\n", name, def);
	}
	if (buf_avail(b) >= INIT_CONF_MAX - 1)
		return err_set(e, false, 0, "postern.conf: generated text too"
		    " long");
	c = xmalloc(sizeof(*c));
	conf_defaults(c);
	rc = conf_parse(c, buf_ptr(b), buf_avail(b), "postern.conf", e);
	free(c);
	return rc;
}

enum write_result { WR_WRITTEN, WR_KEPT, WR_ERROR };

/* write_new - create path with exactly mode; keep (or refuse) an old one */
static enum write_result
write_new(const char *path, mode_t mode, const char *text, size_t len,
    bool keep, struct err *e)
{
	ssize_t	 r;
	size_t	 off = 0;
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, mode)) == -1) {
		if (errno == EEXIST && keep)
			return WR_KEPT;
		err_set(e, false, errno, "%s: %s", path, errno == EEXIST ?
		    "already exists, not overwriting it" : strerror(errno));
		return WR_ERROR;
	}
	if (fchmod(fd, mode) == -1)
		goto fail;
	while (off < len) {
		if ((r = write(fd, text + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)r;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return WR_WRITTEN;
fail:
	err_set(e, false, errno, "%s: %s", path, strerror(errno));
	if (fd != -1)
		(void)close(fd);
	(void)unlink(path);
	return WR_ERROR;
}

/* write_dkim - an RSA key named for the year, unless the domain has one */
static int
write_dkim(const struct init_opts *o, struct err *e)
{
	struct ctl_dkim_key	*keys, k;
	char			 sel[16];
	size_t			 n;
	int			 rc = -1;
	time_t			 now = time(NULL);
	struct tm		 tm;

	keys = xcalloc(DKIM_KEYS_MAX, sizeof(*keys));
	if (ctl_dkim_keys(o->dir, o->domain, keys, DKIM_KEYS_MAX, &n, e) ==
	    -1)
		goto out;
	if (n == 0) {
		(void)gmtime_r(&now, &tm);
		(void)snprintf(sel, sizeof(sel), "p%04d", tm.tm_year + 1900);
		if (ctl_dkim_keygen(o->dir, o->domain, sel, false, 2048, &k,
		    e) == -1)
			goto out;
	}
	rc = 0;
out:
	free(keys);
	return rc;
}

#define SRS_TEXT \
	"# SRS secrets (srs.h): the envelope sender of mail an alias forwards\n" \
	"# to another domain is rewritten under that domain, signed with the\n" \
	"# first secret; bounces to it are verified with any.  To rotate, put\n" \
	"# a new secret first and keep the old one below it for 21 days.\n" \
	"# One secret a line, 16 to 256 printable characters.\n"

/* write_srs - srs_secrets with one random secret, unless there is one */
static int
write_srs(const struct init_opts *o, struct err *e)
{
	unsigned char	 raw[32];
	char		 b64[64], text[sizeof(SRS_TEXT) + sizeof(b64) + 2];
	char		 path[PATH_MAX];
	int		 n, rc;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return err_set(e, false, errno, "getrandom: %s",
		    strerror(errno));
	if (b64_encode(raw, sizeof(raw), b64, sizeof(b64)) < 0 ||
	    path_join(path, sizeof(path), o->dir, "srs_secrets", e) == -1)
		return err_set(e, false, 0, "srs_secrets: cannot be made");
	n = snprintf(text, sizeof(text), "%s%s\n", SRS_TEXT, b64);
	rc = write_new(path, 0640, text, (size_t)n, true, e) == WR_ERROR ?
	    -1 : 0;
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(b64, sizeof(b64));
	explicit_bzero(text, sizeof(text));
	return rc;
}

/* write_domain - domains/DOMAIN/ with users, aliases and dkim/ */
static int
write_domain(const struct init_opts *o, struct err *e)
{
	char	 dom[PATH_MAX], path[PATH_MAX], *text = NULL;
	int	 rc = -1;

	if ((size_t)snprintf(dom, sizeof(dom), "%s/domains/%s", o->dir,
	    o->domain) >= sizeof(dom))
		return err_set(e, false, 0, "%s/domains/%s: path too long",
		    o->dir, o->domain);
	if (mkdir_p(dom, 0755, e) == -1)
		return -1;
	if (path_join(path, sizeof(path), dom, "users", e) == -1 ||
	    write_new(path, 0640, "", 0, true, e) == WR_ERROR)
		goto out;
	(void)xasprintf(&text, ALIASES_TEXT, o->domain);
	if (path_join(path, sizeof(path), dom, "aliases", e) == -1 ||
	    write_new(path, 0644, text, strlen(text), true, e) == WR_ERROR)
		goto out;
	if (path_join(path, sizeof(path), dom, "dkim", e) == -1)
		goto out;
	if (mkdir(path, 0750) == -1 && errno != EEXIST) {
		err_set(e, false, errno, "mkdir %s: %s", path, strerror(errno));
		goto out;
	}
	if (write_dkim(o, e) == -1)
		goto out;
	rc = 0;
out:
	free(text);
	return rc;
}

/* write_cert - certs/H/ self-signed, unless a certificate is there */
static int
write_cert(const struct init_opts *o, bool *made, struct err *e)
{
	char	 dir[PATH_MAX], chain[PATH_MAX];

	*made = false;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/certs/%s", o->dir,
	    o->hostname) >= sizeof(dir) ||
	    path_join(chain, sizeof(chain), dir, "fullchain.pem", e) == -1)
		return err_set(e, false, 0, "%s/certs/%s: path too long",
		    o->dir, o->hostname);
	if (access(chain, F_OK) == 0)
		return 0;
	if (cert_selfsigned(dir, o->hostname, e) == -1)
		return -1;
	*made = true;
	return 0;
}

/* print_next - the pre-flight, the records to publish, what is left */
static void
print_next(const struct init_opts *o, bool made_cert)
{
	char	*dns_argv[3] = { (char *)(uintptr_t)"dns",
	    (char *)(uintptr_t)o->domain, NULL };

	printf("postern: %s is ready for %s (host name %s)\n"
	    "  wrote postern.conf, srs_secrets and domains/%s/ (users, "
	    "aliases, a DKIM key in dkim/)\n",
	    o->dir, o->domain, o->hostname, o->domain);
	if (made_cert)
		printf("  and a self-signed certificate in certs/%s/\n",
		    o->hostname);
	printf("\n");
	(void)ctl_check_preflight(o->dir, o->dial);
	printf("\nRecords to publish in the zone of %s (postern dns %s prints "
	    "them again):\n\n", o->domain, o->domain);
	fflush(stdout);
	(void)ctl_dns(o->dir, 2, dns_argv);
	printf("\n"
	    "Next:\n"
	    "  1. postern -C %s user-add you@%s\n"
	    "  2. postern -C %s serve\n"
	    "     (MX mail on %s, submission on %s and %s; for the world set\n"
	    "     smtp_listen = *:25, submission_listen = *:587,"
	    " submissions_listen = *:465\n"
	    "     and put a CA's certificate in certs/%s/)\n"
	    "  3. postern -C %s check %s   (once the records are published)\n",
	    o->dir, o->domain, o->dir, o->listen[0], o->listen[1],
	    o->listen[2], o->hostname, o->dir, o->domain);
}

/* init_run - check, then write everything, postern.conf last */
static int
init_run(struct init_opts *o, const char *confdir, bool *made_cert,
    struct err *e)
{
	struct buf	 text;
	struct stat	 st;
	char		 conf[PATH_MAX];
	int		 rc = -1;

	buf_init(&text, INIT_CONF_MAX);
	if (absolute(confdir, o->dir, sizeof(o->dir), e) == -1 ||
	    path_join(conf, sizeof(conf), o->dir, "postern.conf", e) == -1)
		goto out;
	if (lstat(conf, &st) == 0) {
		err_set(e, false, EEXIST, "%s already exists; init does not"
		    " overwrite it", conf);
		goto out;
	}
	if (inside(o->data_dir, o->dir)) {
		err_set(e, false, 0, "the data directory %s must be outside"
		    " the config directory %s", o->data_dir, o->dir);
		goto out;
	}
	set_listen(o);
	if (conf_text(o, &text, e) == -1 || mkdir_p(o->dir, 0755, e) == -1 ||
	    write_domain(o, e) == -1 || write_srs(o, e) == -1 ||
	    write_cert(o, made_cert, e) == -1)
		goto out;
	if (write_new(conf, 0644, buf_ptr(&text), buf_avail(&text), false,
	    e) == WR_ERROR)
		goto out;
	rc = 0;
out:
	buf_release(&text);
	return rc;
}

/* ctl_init - postern [-C DIR] init DOMAIN [options] */
int
ctl_init(const char *confdir, int argc, char **argv)
{
	struct init_opts	*o;
	struct err		 e;
	bool			 made_cert = false;
	int			 rc;

	o = xcalloc(1, sizeof(*o));
	memset(&e, 0, sizeof(e));
	if ((rc = parse_args(o, argc, argv, &e)) == 2)
		fprintf(stderr, "%s\n", e.msg);
	else if (rc == 0 && init_run(o, confdir, &made_cert, &e) == -1)
		rc = 1;
	if (rc == 1)
		fprintf(stderr, "postern: %s\n", e.msg);
	else if (rc == 0)
		print_next(o, made_cert);
	free(o);
	return rc;
}
