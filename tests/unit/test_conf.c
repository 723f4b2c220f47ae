/*
 * test_conf.c - postern.conf: the defaults; every key type at the edges of
 * its bounds (tables); listen lists in all their forms; errors naming file
 * and line; the self-signed certificate; and "postern init", whose output
 * must load and whose second run must refuse.  The domain table (aliases,
 * users, conf_load on a directory, lookups) is test_conf_domain.c's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "ctl/cert.h"
#include "ctl/ctl.h"
#include "err.h"
#include "srs.h"

/* ---------------------------------------------------------------- helpers */

static char *
tmpdir(void)
{
	char	*d = strdup("/tmp/test_conf.XXXXXX");

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

static mode_t
mode_of(const char *dir, const char *name)
{
	char		path[4096];
	struct stat	st;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) == -1)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static int
parse(struct conf *c, const char *text, struct err *e)
{
	conf_defaults(c);
	memset(e, 0, sizeof(*e));
	return conf_parse(c, text, strlen(text), "postern.conf", e);
}

/* run ctl_init with its chatter on stdout thrown away */
static int
run_init(const char *dir, int argc, const char **argv)
{
	char	*av[16];
	int	 i, rc, out, null;

	for (i = 0; i < argc; i++)
		av[i] = (char *)(uintptr_t)argv[i];
	av[argc] = NULL;
	fflush(stdout);
	out = dup(1);
	null = open("/dev/null", O_WRONLY);
	dup2(null, 1);
	close(null);
	rc = ctl_init(dir, argc, av);
	fflush(stdout);
	dup2(out, 1);
	close(out);
	return rc;
}

/* --------------------------------------------------------------- defaults */

static void
test_defaults(void **state)
{
	struct conf	c;

	(void)state;
	conf_defaults(&c);
	assert_true(c.hostname[0] != '\0');
	assert_int_equal(c.smtp_listen.n, 2);
	assert_string_equal(c.smtp_listen.addr[0].host, "0.0.0.0");
	assert_string_equal(c.smtp_listen.addr[0].port, "25");
	assert_string_equal(c.smtp_listen.addr[1].host, "::");
	assert_string_equal(c.smtp_listen.addr[1].port, "25");
	assert_int_equal(c.submission_listen.n, 2);
	assert_string_equal(c.submission_listen.addr[1].port, "587");
	assert_int_equal(c.submissions_listen.n, 2);
	assert_string_equal(c.submissions_listen.addr[0].port, "465");
	assert_string_equal(c.data_dir, "/var/lib/postern");
	assert_string_equal(c.user, "postern");
	assert_true(c.max_message_size == DEF_MESSAGE_SIZE);
	assert_int_equal(c.max_recipients, DEF_RECIPIENTS);
	assert_int_equal(c.max_line_length, DEF_TEXT_LINE);
	assert_int_equal(c.max_errors, DEF_MAX_ERRORS);
	assert_int_equal(c.max_hops, DEF_MAX_HOPS);
	assert_int_equal(c.idle_timeout, DEF_IDLE_TIMEOUT);
	assert_int_equal(c.session_timeout, DEF_SESSION_TIMEOUT);
	assert_int_equal(c.max_sessions, DEF_MAX_SESSIONS);
	assert_int_equal(c.max_sessions_per_ip, DEF_MAX_SESSIONS_PER_IP);
	assert_int_equal(c.auth_max_failures, DEF_AUTH_MAX_FAILURES);
	assert_int_equal(c.auth_fail_delay_ms, DEF_AUTH_FAIL_DELAY_MS);
	assert_int_equal(c.smtp_workers, 0);
	assert_false(c.log_syslog);
	assert_int_equal(c.bare_lf, BARE_LF_REJECT);
	assert_int_equal(c.sync_method, SYNC_AUTO);
	assert_int_equal(c.retry_min, 300);
	assert_int_equal(c.retry_max, 14400);
	assert_int_equal(c.queue_lifetime, 5 * 86400);
	assert_string_equal(c.suffix_separators, "+");
	assert_string_equal(c.drop_characters, "");
	assert_null(c.domains);
	assert_int_equal(c.ndomains, 0);
}

/* every documented default, written back as "key = default", parses to
 * the defaults themselves */
static void
test_key_doc(void **state)
{
	struct conf	 a, b;
	struct err	 e;
	const char	*name, *help;
	char		 def[256], text[8192];
	size_t		 i, off = 0, n = 0;

	(void)state;
	for (i = 0; conf_key_doc(i, &name, &help, def, sizeof(def)) == 0;
	    i++) {
		assert_true(strlen(help) > 0);
		if (def[0] == '\0')
			continue;
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "%s = %s\n", name, def);
		n++;
	}
	assert_true(i >= 23);
	/* hostname is computed; the source addresses, dns_resolver and
	 * drop_characters are empty by default */
	assert_true(n == i - 5);
	assert_int_equal(conf_key_doc(i, &name, &help, def, sizeof(def)), -1);
	conf_defaults(&a);
	assert_int_equal(parse(&b, text, &e), 0);
	assert_string_equal(a.hostname, b.hostname);
	assert_memory_equal(&a.smtp_listen, &b.smtp_listen,
	    sizeof(a.smtp_listen));
	assert_memory_equal(&a.submission_listen, &b.submission_listen,
	    sizeof(a.submission_listen));
	assert_memory_equal(&a.submissions_listen, &b.submissions_listen,
	    sizeof(a.submissions_listen));
	assert_string_equal(a.data_dir, b.data_dir);
	assert_string_equal(a.user, b.user);
	assert_true(a.max_message_size == b.max_message_size);
	assert_int_equal(a.max_recipients, b.max_recipients);
	assert_int_equal(a.idle_timeout, b.idle_timeout);
	assert_int_equal(a.session_timeout, b.session_timeout);
	assert_int_equal(a.retry_min, b.retry_min);
	assert_int_equal(a.retry_max, b.retry_max);
	assert_int_equal(a.queue_lifetime, b.queue_lifetime);
	assert_int_equal(a.log_syslog, b.log_syslog);
	assert_int_equal(a.bare_lf, b.bare_lf);
	assert_int_equal(a.sync_method, b.sync_method);
	assert_int_equal(a.delay_warning, b.delay_warning);
	assert_string_equal(a.outbound_ip_family, b.outbound_ip_family);
	assert_int_equal(a.outbound_smtp_port, b.outbound_smtp_port);
	assert_int_equal(a.outbound_max_per_domain, b.outbound_max_per_domain);
	/* the documented default is the root key; without it, none */
	if (access(CONF_TA_DEFAULT, R_OK) == 0)
		assert_string_equal(a.dnssec_trust_anchor,
		    b.dnssec_trust_anchor);
	else
		assert_string_equal(b.dnssec_trust_anchor, CONF_TA_DEFAULT);
}

/* the outbound keys: accepted and refused values */
static void
test_outbound_keys(void **state)
{
	static const struct {
		const char	*text;
		int		 rc;
	} cases[] = {
		{ "dns_resolver = 127.0.0.1:5353\n", 0 },
		{ "dns_resolver = [::1]:53\n", 0 },
		{ "dns_resolver =\n", 0 },
		{ "dns_resolver = 127.0.0.1\n", -1 },
		{ "dns_resolver = [::1]\n", -1 },
		{ "dns_resolver = 127.0.0.1:0\n", -1 },
		{ "dns_resolver = 127.0.0.1:65536\n", -1 },
		{ "dns_resolver = ns.example:53\n", -1 },
		{ "outbound_ip_family = ipv4\n", 0 },
		{ "outbound_ip_family = ipv6-first\n", 0 },
		{ "outbound_ip_family = both\n", -1 },
		{ "outbound_source_ipv4 = 192.0.2.1\n", 0 },
		{ "outbound_source_ipv4 = ::1\n", -1 },
		{ "outbound_source_ipv6 = 2001:db8::1\n", 0 },
		{ "outbound_source_ipv6 = 192.0.2.1\n", -1 },
		{ "outbound_smtp_port = 2525\n", 0 },
		{ "outbound_smtp_port = 0\n", -1 },
		{ "outbound_max_per_domain = 0\n", -1 },
		{ "delay_warning = 0\n", 0 },
		{ "delay_warning = 4h\n", 0 },
		{ "outbound_plain_fallback = yes\n", 0 },
		/* parsing is pure: whether the file exists is conf_load's */
		{ "dnssec_trust_anchor = none\n", 0 },
		{ "dnssec_trust_anchor = /etc/postern/anchors.key\n", 0 },
		{ "dnssec_trust_anchor = root.key\n", -1 },
		{ "dnssec_trust_anchor = None\n", -1 },
		{ "dnssec_trust_anchor =\n", -1 },
	};
	struct conf	c;
	struct err	e;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(&c, cases[i].text, &e) != cases[i].rc)
			fail_msg("%s: expected %d", cases[i].text, cases[i].rc);
	}
	assert_int_equal(parse(&c, "dns_resolver = [::1]:5353\n"
	    "outbound_smtp_port = 2525\n", &e), 0);
	assert_string_equal(c.dns_resolver, "[::1]:5353");
	assert_int_equal(c.outbound_smtp_port, 2525);
}

/*
 * dnssec_trust_anchor: the root key when it is there, else none; a file
 * that was asked for must exist when the directory is loaded
 */
static void
test_trust_anchor(void **state)
{
	struct conf	 c;
	struct err	 e;
	char		*dir = tmpdir(), text[600], path[512];

	(void)state;
	conf_defaults(&c);
	if (access(CONF_TA_DEFAULT, R_OK) == 0)
		assert_string_equal(c.dnssec_trust_anchor, CONF_TA_DEFAULT);
	else
		assert_string_equal(c.dnssec_trust_anchor, CONF_TA_NONE);

	/* a missing file: an error that names the key, the file and why */
	(void)snprintf(path, sizeof(path), "%s/anchors.key", dir);
	(void)snprintf(text, sizeof(text), "dnssec_trust_anchor = %s\n",
	    path);
	put(dir, "postern.conf", text);
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_load(&c, dir, &e), -1);
	assert_non_null(strstr(e.msg, "dnssec_trust_anchor"));
	assert_non_null(strstr(e.msg, path));
	assert_non_null(strstr(e.msg, "No such file"));
	assert_non_null(strstr(e.msg, "none"));

	/* there: loaded as given */
	put(dir, "anchors.key", "sec.test. IN DS 1 13 2 "
	    "0000000000000000000000000000000000000000000000000000000000000000"
	    "\n");
	assert_int_equal(conf_load(&c, dir, &e), 0);
	assert_string_equal(c.dnssec_trust_anchor, path);
	conf_free(&c);

	/* none: no file needed */
	put(dir, "postern.conf", "dnssec_trust_anchor = none\n");
	assert_int_equal(conf_load(&c, dir, &e), 0);
	assert_string_equal(c.dnssec_trust_anchor, CONF_TA_NONE);
	conf_free(&c);
	tutil_rm_rf(dir);
	free(dir);
}

/* -------------------------------------------------------- numeric values */

#define OFF(f)	offsetof(struct conf, f)

struct numcase {
	const char		*text;
	size_t			 off;	/* field; (size_t)-1 if it must fail */
	unsigned long long	 want;
};

#define BAD	((size_t)-1)

static const struct numcase numcases[] = {
	/* unsigned with bounds, at each edge */
	{ "max_recipients = 99", BAD, 0 },
	{ "max_recipients = 100", OFF(max_recipients), 100 },
	{ "max_recipients = 1000", OFF(max_recipients), 1000 },
	{ "max_recipients = 1001", BAD, 0 },
	{ "max_recipients = -1", BAD, 0 },
	{ "max_recipients = +500", BAD, 0 },
	{ "max_recipients = 1e3", BAD, 0 },
	{ "max_recipients = 500x", BAD, 0 },
	{ "max_recipients = 0500", OFF(max_recipients), 500 },
	{ "max_recipients=500", OFF(max_recipients), 500 },
	{ "  max_recipients\t=\t500  ", OFF(max_recipients), 500 },
	{ "max_recipients = 99999999999999999999999", BAD, 0 },
	{ "max_recipients =", BAD, 0 },
	{ "max_line_length = 997", BAD, 0 },
	{ "max_line_length = 998", OFF(max_line_length), 998 },
	{ "max_line_length = 65536", OFF(max_line_length), 65536 },
	{ "max_line_length = 65537", BAD, 0 },
	{ "max_errors = 0", BAD, 0 },
	{ "max_errors = 1", OFF(max_errors), 1 },
	{ "max_errors = 1000", OFF(max_errors), 1000 },
	{ "max_errors = 1001", BAD, 0 },
	{ "max_hops = 0", BAD, 0 },
	{ "max_hops = 1", OFF(max_hops), 1 },
	{ "max_hops = 1000", OFF(max_hops), 1000 },
	{ "max_hops = 1001", BAD, 0 },
	{ "max_sessions = 0", BAD, 0 },
	{ "max_sessions = 1", OFF(max_sessions), 1 },
	{ "max_sessions = 1000000", OFF(max_sessions), 1000000 },
	{ "max_sessions = 1000001", BAD, 0 },
	{ "max_sessions_per_ip = 0", BAD, 0 },
	{ "max_sessions_per_ip = 1", OFF(max_sessions_per_ip), 1 },
	{ "auth_max_failures = 0", BAD, 0 },
	{ "auth_max_failures = 1", OFF(auth_max_failures), 1 },
	{ "auth_max_failures = 100", OFF(auth_max_failures), 100 },
	{ "auth_max_failures = 101", BAD, 0 },
	{ "auth_fail_delay_ms = 0", OFF(auth_fail_delay_ms), 0 },
	{ "auth_fail_delay_ms = 60000", OFF(auth_fail_delay_ms), 60000 },
	{ "auth_fail_delay_ms = 60001", BAD, 0 },
	{ "auth_fail_delay = 10", BAD, 0 },
	{ "smtp_workers = 0", OFF(smtp_workers), 0 },
	{ "smtp_workers = 64", OFF(smtp_workers), 64 },
	{ "smtp_workers = 65", BAD, 0 },
	/* sizes */
	{ "max_message_size = 25M", OFF(max_message_size), 25ULL << 20 },
	{ "max_message_size = 25m", OFF(max_message_size), 25ULL << 20 },
	{ "max_message_size = 1023", BAD, 0 },
	{ "max_message_size = 1024", OFF(max_message_size), 1024 },
	{ "max_message_size = 1K", OFF(max_message_size), 1024 },
	{ "max_message_size = 100k", OFF(max_message_size), 102400 },
	{ "max_message_size = 2G", OFF(max_message_size), 1ULL << 31 },
	{ "max_message_size = 2048M", OFF(max_message_size), 1ULL << 31 },
	{ "max_message_size = 2147483648", OFF(max_message_size), 1ULL << 31 },
	{ "max_message_size = 2147483649", BAD, 0 },
	{ "max_message_size = 2049M", BAD, 0 },
	{ "max_message_size = 3G", BAD, 0 },
	{ "max_message_size = 25MB", BAD, 0 },
	{ "max_message_size = 25 M", BAD, 0 },
	{ "max_message_size = M", BAD, 0 },
	{ "max_message_size = 25T", BAD, 0 },
	{ "max_message_size = 18446744073709551615K", BAD, 0 },
	{ "max_message_size = 17179869184G", BAD, 0 },
	/* durations */
	{ "idle_timeout = 0", BAD, 0 },
	{ "idle_timeout = 1", OFF(idle_timeout), 1 },
	{ "idle_timeout = 30s", OFF(idle_timeout), 30 },
	{ "idle_timeout = 5m", OFF(idle_timeout), 300 },
	{ "idle_timeout = 4h", OFF(idle_timeout), 14400 },
	{ "idle_timeout = 1d", OFF(idle_timeout), 86400 },
	{ "idle_timeout = 86400", OFF(idle_timeout), 86400 },
	{ "idle_timeout = 86401", BAD, 0 },
	{ "idle_timeout = 2d", BAD, 0 },
	{ "idle_timeout = 5x", BAD, 0 },
	{ "idle_timeout = m", BAD, 0 },
	{ "idle_timeout = 5mm", BAD, 0 },
	{ "session_timeout = 7d", OFF(session_timeout), 7 * 86400 },
	{ "session_timeout = 604801", BAD, 0 },
	{ "queue_lifetime = 5d", OFF(queue_lifetime), 5 * 86400 },
	{ "queue_lifetime = 90d", OFF(queue_lifetime), 90 * 86400 },
	{ "queue_lifetime = 91d", BAD, 0 },
	{ "queue_lifetime = 0", BAD, 0 },
	{ "retry_min = 1", OFF(retry_min), 1 },
	{ "retry_min = 4h", OFF(retry_min), 14400 },	/* = retry_max */
	{ "retry_min = 14401", BAD, 0 },		/* > retry_max */
	{ "retry_min = 1d\nretry_max = 1d", OFF(retry_min), 86400 },
	{ "retry_min = 1d\nretry_max = 1d", OFF(retry_max), 86400 },
	{ "retry_max = 7d", OFF(retry_max), 7 * 86400 },
	{ "retry_max = 8d", BAD, 0 },
	{ "retry_max = 299", BAD, 0 },			/* < retry_min */
	/* comments */
	{ "max_errors = 5 # five", OFF(max_errors), 5 },
	{ "max_errors = 5\t# five", OFF(max_errors), 5 },
	{ "max_errors = 5# five", BAD, 0 },
	{ "# max_errors = 5\n  # indented\n\nmax_errors = 6",
	    OFF(max_errors), 6 },
	{ "max_errors = 5\r\nmax_hops = 7\r\n", OFF(max_hops), 7 },
	{ "\xef\xbb\xbfmax_errors = 5", OFF(max_errors), 5 },
};

static void
test_numbers(void **state)
{
	struct conf	 c;
	struct err	 e;
	size_t		 i;
	int		 rc;

	(void)state;
	for (i = 0; i < sizeof(numcases) / sizeof(numcases[0]); i++) {
		const struct numcase	*t = &numcases[i];
		unsigned long long	 got;

		rc = parse(&c, t->text, &e);
		if (t->off == BAD) {
			if (rc != -1)
				fail_msg("accepted: %s", t->text);
			assert_non_null(strstr(e.msg, "postern.conf:"));
			continue;
		}
		if (rc != 0)
			fail_msg("refused: %s (%s)", t->text, e.msg);
		if (t->off == OFF(max_message_size))
			got = c.max_message_size;
		else
			got = *(const unsigned *)(const void *)
			    ((const char *)&c + t->off);
		if (got != t->want)
			fail_msg("%s: got %llu, want %llu", t->text, got,
			    t->want);
	}
}

/* ---------------------------------------------- strings, bools, enums */

static void
test_strings(void **state)
{
	struct conf	c;
	struct err	e;
	char		text[256];

	(void)state;
	assert_int_equal(parse(&c, "hostname = Mail.Example.COM", &e), 0);
	assert_string_equal(c.hostname, "mail.example.com");
	assert_int_equal(parse(&c, "hostname = localhost", &e), 0);
	assert_string_equal(c.hostname, "localhost");
	assert_int_equal(parse(&c, "hostname = bad_host.example", &e), -1);
	assert_non_null(strstr(e.msg, "postern.conf:1: hostname"));
	assert_int_equal(parse(&c, "hostname = -x.example", &e), -1);
	assert_int_equal(parse(&c, "hostname = a..b", &e), -1);
	assert_int_equal(parse(&c, "hostname = a b", &e), -1);
	assert_int_equal(parse(&c, "hostname =", &e), -1);
	assert_non_null(strstr(e.msg, "needs a value"));

	assert_int_equal(parse(&c, "user = _postern", &e), 0);
	assert_string_equal(c.user, "_postern");
	assert_int_equal(parse(&c, "user = mail-1.x", &e), 0);
	assert_int_equal(parse(&c, "user = -x", &e), -1);
	assert_int_equal(parse(&c, "user = a b", &e), -1);
	assert_int_equal(parse(&c, "user = a/b", &e), -1);
	(void)snprintf(text, sizeof(text), "user = %.63s",
	    "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu");
	assert_int_equal(parse(&c, text, &e), 0);		/* 63 */
	(void)snprintf(text, sizeof(text), "user = %.64s",
	    "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu");
	assert_int_equal(parse(&c, text, &e), -1);		/* 64 */

	assert_int_equal(parse(&c, "data_dir = /srv/postern data", &e), 0);
	assert_string_equal(c.data_dir, "/srv/postern data");
	assert_int_equal(parse(&c, "data_dir = srv/postern", &e), -1);
	assert_non_null(strstr(e.msg, "absolute"));
}

static void
test_bools_enums(void **state)
{
	static const struct {
		const char	*v;
		int		 want;	/* -1: refused */
	} b[] = {
		{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
		{ "on", 1 }, { "off", 0 }, { "YES", 1 }, { "Off", 0 },
		{ "1", -1 }, { "0", -1 }, { "maybe", -1 }, { "y", -1 },
		{ "yes please", -1 },
	};
	struct conf	 c;
	struct err	 e;
	char		 text[64];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		(void)snprintf(text, sizeof(text), "log_syslog = %s", b[i].v);
		if (b[i].want == -1) {
			assert_int_equal(parse(&c, text, &e), -1);
			continue;
		}
		assert_int_equal(parse(&c, text, &e), 0);
		assert_int_equal(c.log_syslog, b[i].want);
	}
	assert_int_equal(parse(&c, "bare_lf = normalize", &e), 0);
	assert_int_equal(c.bare_lf, BARE_LF_NORMALIZE);
	assert_int_equal(parse(&c, "bare_lf = reject", &e), 0);
	assert_int_equal(c.bare_lf, BARE_LF_REJECT);
	assert_int_equal(parse(&c, "bare_lf = accept", &e), -1);
	assert_non_null(strstr(e.msg, "reject or normalize"));
	assert_int_equal(parse(&c, "bare_lf =", &e), -1);
}

static void
test_sync_method(void **state)
{
	static const struct {
		const char	*v;
		int		 want;	/* -1: refused */
	} t[] = {
		{ "filesystem", SYNC_FILESYSTEM }, { "file", SYNC_FILE },
		{ "auto", SYNC_AUTO }, { "AUTO", -1 }, { "automatic", -1 },
		{ "FILE", -1 }, { "Filesystem", -1 }, { "files", -1 },
		{ "fs", -1 }, { "syncfs", -1 }, { "fsync", -1 },
		{ "file system", -1 }, { "filesystemx", -1 }, { "0", -1 },
		{ "", -1 },
	};
	struct conf	 c;
	struct err	 e;
	char		 text[64];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		(void)snprintf(text, sizeof(text), "sync_method = %s", t[i].v);
		if (t[i].want == -1) {
			assert_int_equal(parse(&c, text, &e), -1);
			assert_non_null(strstr(e.msg, "sync_method"));
			continue;
		}
		assert_int_equal(parse(&c, text, &e), 0);
		assert_int_equal(c.sync_method, t[i].want);
	}
	assert_int_equal(parse(&c, "sync_method = bogus", &e), -1);
	assert_non_null(strstr(e.msg, "auto, filesystem or file"));
	/* the key appears once, and a second setting is a duplicate */
	assert_int_equal(parse(&c, "sync_method = file\n"
	    "sync_method = filesystem\n", &e), -1);
}

/* ------------------------------------------------------------- listeners */

struct listencase {
	const char	*v;
	int		 n;		/* -1: refused */
	const char	*first;		/* "host port" of the first, or NULL */
	const char	*last;		/* of the last */
};

static const struct listencase listencases[] = {
	{ "127.0.0.1:2525", 1, "127.0.0.1 2525", NULL },
	{ "[::1]:2525", 1, "::1 2525", NULL },
	{ "*:25", 2, "0.0.0.0 25", ":: 25" },
	{ "[::]:25", 1, ":: 25", NULL },
	{ "0.0.0.0:25", 1, "0.0.0.0 25", NULL },
	{ "", 0, NULL, NULL },
	{ " , ,", 0, NULL, NULL },
	{ "127.0.0.1:2525 [::1]:2525", 2, "127.0.0.1 2525", "::1 2525" },
	{ "127.0.0.1:2525,[::1]:2525", 2, "127.0.0.1 2525", "::1 2525" },
	{ "127.0.0.1:2525 , [::1]:2525,", 2, "127.0.0.1 2525", "::1 2525" },
	{ "[2001:DB8:0::1]:587", 1, "2001:db8::1 587", NULL },
	{ "[::ffff:192.0.2.1]:25", 1, "::ffff:192.0.2.1 25", NULL },
	{ "192.0.2.1:025", 1, "192.0.2.1 25", NULL },
	{ "192.0.2.1:1", 1, "192.0.2.1 1", NULL },
	{ "192.0.2.1:65535", 1, "192.0.2.1 65535", NULL },
	{ "192.0.2.1:0", -1, NULL, NULL },
	{ "192.0.2.1:65536", -1, NULL, NULL },
	{ "192.0.2.1:", -1, NULL, NULL },
	{ "192.0.2.1:x", -1, NULL, NULL },
	{ "192.0.2.1:+25", -1, NULL, NULL },
	{ "192.0.2.1", -1, NULL, NULL },
	{ ":25", -1, NULL, NULL },
	{ "256.0.0.1:25", -1, NULL, NULL },
	{ "192.0.2:25", -1, NULL, NULL },
	{ "localhost:25", -1, NULL, NULL },
	{ "::1:25", -1, NULL, NULL },
	{ "[::1]25", -1, NULL, NULL },
	{ "[::1]", -1, NULL, NULL },
	{ "[::1:25", -1, NULL, NULL },
	{ "[]:25", -1, NULL, NULL },
	{ "[192.0.2.1]:25", -1, NULL, NULL },
	{ "[fe80::1%eth0]:25", -1, NULL, NULL },
	{ "[*]:25", -1, NULL, NULL },
	{ "*", -1, NULL, NULL },
	{ "192.0.2.1:25 192.0.2.1:25", -1, NULL, NULL },
	{ "[::1]:25 [0:0::1]:25", -1, NULL, NULL },
	{ "*:25 0.0.0.0:25", -1, NULL, NULL },
	{ "192.0.2.1:25 192.0.2.1:26", 2, "192.0.2.1 25", "192.0.2.1 26" },
	/* LIM_LISTEN (8) addresses, and one more */
	{ "10.0.0.1:1 10.0.0.2:1 10.0.0.3:1 10.0.0.4:1 10.0.0.5:1 10.0.0.6:1"
	  " 10.0.0.7:1 10.0.0.8:1", 8, "10.0.0.1 1", "10.0.0.8 1" },
	{ "10.0.0.1:1 10.0.0.2:1 10.0.0.3:1 10.0.0.4:1 10.0.0.5:1 10.0.0.6:1"
	  " 10.0.0.7:1 10.0.0.8:1 10.0.0.9:1", -1, NULL, NULL },
	{ "*:1 *:2 *:3 *:4", 8, "0.0.0.0 1", ":: 4" },
	{ "*:1 *:2 *:3 *:4 *:5", -1, NULL, NULL },
};

static void
check_addr(const struct listen_addr *a, const char *want)
{
	char	got[80];

	(void)snprintf(got, sizeof(got), "%s %s", a->host, a->port);
	assert_string_equal(got, want);
}

static void
test_listen(void **state)
{
	static const char *const keys[] = { "smtp_listen",
	    "submission_listen", "submissions_listen" };
	const struct listen_list	*l;
	struct conf			 c;
	struct err			 e;
	char				 text[512];
	size_t				 i, k;

	(void)state;
	for (i = 0; i < sizeof(listencases) / sizeof(listencases[0]); i++) {
		const struct listencase	*t = &listencases[i];

		for (k = 0; k < 3; k++) {
			(void)snprintf(text, sizeof(text), "\n%s = %s\n",
			    keys[k], t->v);
			if (parse(&c, text, &e) == -1) {
				if (t->n != -1)
					fail_msg("refused: %s (%s)", t->v,
					    e.msg);
				assert_non_null(strstr(e.msg,
				    "postern.conf:2: "));
				assert_non_null(strstr(e.msg, keys[k]));
				continue;
			}
			if (t->n == -1)
				fail_msg("accepted: %s", t->v);
			l = k == 0 ? &c.smtp_listen : k == 1 ?
			    &c.submission_listen : &c.submissions_listen;
			assert_int_equal(l->n, t->n);
			if (t->first != NULL)
				check_addr(&l->addr[0], t->first);
			if (t->last != NULL)
				check_addr(&l->addr[l->n - 1], t->last);
		}
	}
	/* the other lists keep their defaults */
	assert_int_equal(parse(&c, "smtp_listen = [::1]:2525", &e), 0);
	assert_int_equal(c.submission_listen.n, 2);
	assert_string_equal(c.submission_listen.addr[0].port, "587");
}

/* ------------------------------------------------------ errors and lines */

struct errcase {
	const char	*text;
	const char	*want;		/* a substring of the message */
};

static const struct errcase errcases[] = {
	{ "foo = 1", "postern.conf:1: unknown key \"foo\"" },
	{ "\n# comment\nmax_errors = 5\nfoo = 1\n",
	    "postern.conf:4: unknown key \"foo\"" },
	{ "Max_errors = 5", "postern.conf:1: unknown key \"Max_errors\"" },
	{ "max_errors 5", "postern.conf:1: missing \"=\"" },
	{ "max_errors", "postern.conf:1: missing \"=\"" },
	{ "= 5", "postern.conf:1: missing key" },
	{ "max_errors = 5\nmax_hops = 6\nmax_errors = 6\n",
	    "postern.conf:3: duplicate key \"max_errors\" (first set on line 1)" },
	{ "max_errors = 5\nmax_recipients = 99\n",
	    "postern.conf:2: max_recipients must be a number from 100 to 1000" },
	{ "max_errors = 5\n\x01\n", "postern.conf:2: control character" },
	{ "max_errors = \x7f", "postern.conf:1: control character" },
	{ "retry_min = 20h\nretry_max = 10h", "retry_min (72000s) is greater" },
	{ "smtp_listen = ::1:25", "smtp_listen: \"::1:25\": write an IPv6" },
};

static void
test_errors(void **state)
{
	struct conf	 c, before;
	struct err	 e;
	char		*big;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(errcases) / sizeof(errcases[0]); i++) {
		if (parse(&c, errcases[i].text, &e) != -1)
			fail_msg("accepted: %s", errcases[i].text);
		if (strstr(e.msg, errcases[i].want) == NULL)
			fail_msg("\"%s\" does not contain \"%s\"", e.msg,
			    errcases[i].want);
	}
	/* a NUL byte inside the text */
	conf_defaults(&c);
	assert_int_equal(conf_parse(&c, "max_errors = 5\n\0x", 17,
	    "postern.conf", &e), -1);
	assert_non_null(strstr(e.msg, "postern.conf:2: NUL byte"));
	/* c is changed only on success */
	conf_defaults(&c);
	before = c;
	assert_int_equal(conf_parse(&c, "max_errors = 7\nbogus = 1", 24,
	    "x.conf", &e), -1);
	assert_int_equal(c.max_errors, before.max_errors);
	assert_non_null(strstr(e.msg, "x.conf:2: unknown key \"bogus\""));
	/* parse onto a previous result: only the keys given change */
	assert_int_equal(conf_parse(&c, "max_errors = 7", 14, "a", &e), 0);
	assert_int_equal(conf_parse(&c, "max_hops = 8", 12, "b", &e), 0);
	assert_int_equal(c.max_errors, 7);
	assert_int_equal(c.max_hops, 8);
	/* line length: LIM_CONF_LINE octets are fine, one more is not */
	big = malloc(LIM_CONF_LINE + 16);
	assert_non_null(big);
	memset(big, 'x', LIM_CONF_LINE + 2);
	big[0] = '#';
	big[LIM_CONF_LINE] = '\n';
	big[LIM_CONF_LINE + 1] = '\0';
	assert_int_equal(parse(&c, big, &e), 0);
	memset(big, 'x', LIM_CONF_LINE + 2);
	big[0] = '#';
	big[LIM_CONF_LINE] = '\r';		/* CR LF is not counted */
	big[LIM_CONF_LINE + 1] = '\n';
	big[LIM_CONF_LINE + 2] = '\0';
	assert_int_equal(parse(&c, big, &e), 0);
	memset(big, 'x', LIM_CONF_LINE + 2);
	big[0] = '#';
	big[LIM_CONF_LINE + 1] = '\0';
	assert_int_equal(parse(&c, big, &e), -1);
	assert_non_null(strstr(e.msg, "postern.conf:1: line longer"));
	free(big);
	/* empty text, only comments */
	assert_int_equal(parse(&c, "", &e), 0);
	assert_int_equal(parse(&c, "# nothing\n\n   \n\t# x\n", &e), 0);
	assert_int_equal(parse(&c, "max_hops = 9", &e), 0);	/* no LF */
	assert_int_equal(c.max_hops, 9);
}

/* ------------------------------------------- domain.conf, users and aliases */

/* a config dir with one domain a.test: users, aliases, domain.conf */
static int
load_domain(struct conf *c, const char *conf, const char *aliases,
    const char *dconf, struct err *e)
{
	char	*dir = tmpdir(), sub[600];
	int	 rc;

	put(dir, "postern.conf", conf);
	(void)snprintf(sub, sizeof(sub), "%s/domains", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	(void)snprintf(sub, sizeof(sub), "%s/domains/a.test", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	put(sub, "users", "bob $scrypt$x\nann $scrypt$y\n");
	put(sub, "aliases", aliases);
	if (dconf != NULL)
		put(sub, "domain.conf", dconf);
	memset(e, 0, sizeof(*e));
	rc = conf_load(c, dir, e);
	tutil_rm_rf(dir);
	free(dir);
	return rc;
}

static void
test_domain_conf(void **state)
{
	static const struct {
		const char	*aliases, *dconf, *want;
	} bad[] = {
		{ "x: bob\nbob: ann\n", NULL, "domains/a.test/aliases:2: "
		    "\"bob\" is both a user of a.test and an alias" },
		{ "", "color = blue\n", "domains/a.test/domain.conf:1: unknown "
		    "key \"color\"" },
		{ "", "\ndrop_characters = @\n", "domains/a.test/domain.conf:2: "
		    "drop_characters: \"@\"" },
		{ "", "suffix_separators = =\n", "domain.conf:1: "
		    "suffix_separators: \"=\"" },
		{ "", "suffix_separators = +\nsuffix_separators = -\n",
		    "domain.conf:2: duplicate key" },
		{ "", "suffix_separators\n", "domain.conf:1: missing \"=\"" },
		{ "", "suffix_separators = +-+-+-+-+-+-+-+-+\n",
		    "at most 16 characters" },
	};
	const struct domain	*d;
	struct conf		 c;
	struct err		 e;
	size_t			 i;

	(void)state;
	/* the server's settings, then the domain's own */
	assert_int_equal(load_domain(&c, "suffix_separators = +-\n"
	    "drop_characters = .\n", "x: bob\n", NULL, &e), 0);
	assert_non_null(d = conf_domain(&c, "a.test"));
	assert_string_equal(d->suffix_sep, "+-");
	assert_string_equal(d->drop_chars, ".");
	assert_true(domain_accepts(d, "bob-news"));
	assert_true(domain_accepts(d, "b.o.b"));
	assert_true(domain_accepts(d, "x+y"));
	assert_false(domain_accepts(d, "carol+y"));
	assert_false(domain_accepts(d, "+bob"));
	conf_free(&c);
	assert_int_equal(load_domain(&c, "drop_characters = .\n", "x: bob\n",
	    "# ours\nsuffix_separators = \ndrop_characters = _\n", &e), 0);
	assert_non_null(d = conf_domain(&c, "a.test"));
	assert_string_equal(d->suffix_sep, "");
	assert_string_equal(d->drop_chars, "_");
	assert_false(domain_accepts(d, "bob+news"));
	assert_false(domain_accepts(d, "b.ob"));
	assert_true(domain_accepts(d, "b_o_b"));
	conf_free(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (load_domain(&c, "", bad[i].aliases, bad[i].dconf, &e) == 0)
			fail_msg("accepted: %s / %s", bad[i].aliases,
			    bad[i].dconf != NULL ? bad[i].dconf : "");
		if (strstr(e.msg, bad[i].want) == NULL)
			fail_msg("\"%s\" does not contain \"%s\"", e.msg,
			    bad[i].want);
	}
	/* postern.conf's values are checked too */
	assert_int_equal(parse(&c, "suffix_separators = a\n", &e), -1);
	assert_non_null(strstr(e.msg, "postern.conf:1: suffix_separators"));
	assert_int_equal(parse(&c, "drop_characters = .+\n", &e), 0);
	assert_string_equal(c.drop_characters, ".+");
	assert_int_equal(parse(&c, "suffix_separators = none\n", &e), 0);
	assert_string_equal(c.suffix_separators, "");
	assert_int_equal(parse(&c, "suffix_separators =\n", &e), -1);
}

/* ------------------------------------------------------------ certificate */

static void
test_cert(void **state)
{
	char		*dir = tmpdir(), sub[512], path[600];
	struct err	 e;
	FILE		*fp;
	X509		*x;
	EVP_PKEY	*k;

	(void)state;
	(void)snprintf(sub, sizeof(sub), "%s/certs/mx.example.com", dir);
	if (cert_selfsigned(sub, "mx.example.com", &e) == -1)
		fail_msg("cert_selfsigned: %s", e.msg);
	assert_int_equal(mode_of(sub, "fullchain.pem"), 0644);
	assert_int_equal(mode_of(sub, "privkey.pem"), 0600);
	(void)snprintf(path, sizeof(path), "%s/fullchain.pem", sub);
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(x = PEM_read_X509(fp, NULL, NULL, NULL));
	fclose(fp);
	(void)snprintf(path, sizeof(path), "%s/privkey.pem", sub);
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(k = PEM_read_PrivateKey(fp, NULL, NULL, NULL));
	fclose(fp);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(X509_check_host(x, "mx.example.com", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "example.com", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_equal(X509_check_private_key(x, k), 1);
	assert_int_equal(X509_verify(x, k), 1);
	assert_true(EVP_PKEY_is_a(k, "EC"));
	assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
	X509_free(x);
	EVP_PKEY_free(k);
	/* never overwrites */
	assert_int_equal(cert_selfsigned(sub, "mx.example.com", &e), -1);
	assert_non_null(strstr(e.msg, "not overwriting"));
	/* refuses what is not a host name */
	assert_int_equal(cert_selfsigned(dir, "a,DNS:evil", &e), -1);
	tutil_rm_rf(dir);
	free(dir);
}

/* ------------------------------------------------------------------- init */

static void
test_init(void **state)
{
	static const char	*args[] = { "init", "Example.COM" };
	const struct domain	*d;
	struct conf		 c;
	struct err		 e;
	char			*top = tmpdir(), dir[512], sub[600];
	FILE			*fp;
	char			 line[512], text[16384];
	size_t			 off = 0;

	(void)state;
	(void)snprintf(dir, sizeof(dir), "%s/etc/postern", top);
	assert_int_equal(run_init(dir, 2, args), 0);
	memset(&e, 0, sizeof(e));
	if (conf_load(&c, dir, &e) == -1)
		fail_msg("conf_load after init: %s", e.msg);
	assert_string_equal(c.hostname, "mail.example.com");
	assert_int_equal(c.smtp_listen.n, 2);
	check_addr(&c.smtp_listen.addr[0], "127.0.0.1 2525");
	check_addr(&c.smtp_listen.addr[1], "::1 2525");
	check_addr(&c.submission_listen.addr[0], "127.0.0.1 2587");
	check_addr(&c.submission_listen.addr[1], "::1 2587");
	check_addr(&c.submissions_listen.addr[0], "127.0.0.1 2465");
	check_addr(&c.submissions_listen.addr[1], "::1 2465");
	assert_string_equal(c.data_dir, "/var/lib/postern");
	assert_int_equal(c.max_recipients, DEF_RECIPIENTS);
	assert_int_equal(c.ndomains, 1);
	assert_non_null(d = conf_domain(&c, "example.com"));
	assert_int_equal(d->nusers, 0);
	assert_int_equal(d->naliases, 0);	/* the examples are comments */
	conf_free(&c);
	assert_int_equal(mode_of(dir, "postern.conf"), 0644);
	assert_int_equal(mode_of(dir, "domains/example.com/users"), 0640);
	assert_int_equal(mode_of(dir, "domains/example.com/aliases"), 0644);
	assert_int_equal(mode_of(dir, "domains/example.com/dkim"), 0750);
	assert_int_equal(mode_of(dir, "srs_secrets"), 0640);
	{
		struct srs	srs;

		memset(&srs, 0, sizeof(srs));
		assert_int_equal(srs_load(&srs, dir, &e), 0);
		assert_int_equal(srs.n, 1);
		assert_int_equal(strlen(srs.secret[0]), 44);
	}
	assert_int_equal(mode_of(dir, "certs/mail.example.com/fullchain.pem"),
	    0644);
	assert_int_equal(mode_of(dir, "certs/mail.example.com/privkey.pem"),
	    0600);

	/* every commented "#key = default" line parses (and no key twice) */
	(void)snprintf(sub, sizeof(sub), "%s/postern.conf", dir);
	assert_non_null(fp = fopen(sub, "r"));
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
		    strstr(line, " = ") != NULL)
			off += (size_t)snprintf(text + off, sizeof(text) - off,
			    "%s", line + 1);
		else if (line[0] >= 'a' && line[0] <= 'z' &&
		    strncmp(line, "hostname", 8) == 0)
			off += (size_t)snprintf(text + off, sizeof(text) - off,
			    "%s", line);
	}
	fclose(fp);
	assert_int_equal(parse(&c, text, &e), 0);
	check_addr(&c.smtp_listen.addr[0], "0.0.0.0 25");
	assert_true(c.max_message_size == DEF_MESSAGE_SIZE);

	/* a second init refuses, whatever the domain */
	assert_int_equal(run_init(dir, 2, args), 1);
	args[1] = "other.example";
	assert_int_equal(run_init(dir, 2, args), 1);
	args[1] = "Example.COM";
	(void)snprintf(sub, sizeof(sub), "%s/domains/other.example", dir);
	assert_int_equal(access(sub, F_OK), -1);
	tutil_rm_rf(top);
	free(top);
}

static void
test_init_options(void **state)
{
	const char	*args[10];
	struct conf	 c;
	struct err	 e;
	char		*top = tmpdir(), dir[512], path[700];

	(void)state;
	(void)snprintf(dir, sizeof(dir), "%s/conf", top);
	/* a certificate already there is kept */
	(void)snprintf(path, sizeof(path), "%s/certs/mx.example.net", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/certs", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/certs/mx.example.net", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	put(path, "fullchain.pem", "mine\n");
	args[0] = "init";
	args[1] = "--hostname";
	args[2] = "MX.Example.NET";
	args[3] = "example.net";
	args[4] = "--listen-base=3000";
	args[5] = "--data-dir";
	args[6] = "/srv/postern-data";
	assert_int_equal(run_init(dir, 7, args), 0);
	if (conf_load(&c, dir, &e) == -1)
		fail_msg("conf_load: %s", e.msg);
	assert_string_equal(c.hostname, "mx.example.net");
	check_addr(&c.smtp_listen.addr[0], "127.0.0.1 3000");
	check_addr(&c.submission_listen.addr[1], "::1 3001");
	check_addr(&c.submissions_listen.addr[0], "127.0.0.1 3002");
	assert_string_equal(c.data_dir, "/srv/postern-data");
	assert_non_null(conf_domain(&c, "example.net"));
	conf_free(&c);
	assert_int_equal(mode_of(path, "privkey.pem"), (mode_t)-1);

	/* bad command lines: 2 for usage, 1 for bad values */
	assert_int_equal(run_init(dir, 1, args), 2);		/* no DOMAIN */
	args[1] = "a.example";
	args[2] = "b.example";
	assert_int_equal(run_init(dir, 3, args), 2);		/* two */
	args[2] = "--bogus";
	assert_int_equal(run_init(dir, 3, args), 2);
	args[2] = "--hostname";
	assert_int_equal(run_init(dir, 3, args), 2);	/* no value */
	(void)snprintf(dir, sizeof(dir), "%s/conf2", top);
	args[1] = "bad_domain";
	assert_int_equal(run_init(dir, 2, args), 1);
	args[1] = "a.example";
	args[2] = "--listen-base=0";
	assert_int_equal(run_init(dir, 3, args), 1);
	args[2] = "--listen-base=65534";
	assert_int_equal(run_init(dir, 3, args), 1);
	args[2] = "--listen-base=65533";
	args[3] = "--data-dir";
	args[4] = dir;					/* inside */
	assert_int_equal(run_init(dir, 5, args), 1);
	args[2] = "--hostname=bad host";
	assert_int_equal(run_init(dir, 3, args), 1);
	assert_int_equal(access(dir, F_OK), -1);	/* nothing written */
	args[2] = "--listen-base=65533";
	assert_int_equal(run_init(dir, 3, args), 0);
	assert_int_equal(conf_load(&c, dir, &e), 0);
	check_addr(&c.submissions_listen.addr[0], "127.0.0.1 65535");
	conf_free(&c);
	tutil_rm_rf(top);
	free(top);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_outbound_keys),
		cmocka_unit_test(test_trust_anchor),
		cmocka_unit_test(test_key_doc),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_bools_enums),
		cmocka_unit_test(test_sync_method),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_domain_conf),
		cmocka_unit_test(test_cert),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_init_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
