/*
 * conf.c - postern.conf and the domain table of the config directory.
 *
 * Runs in the parent (at startup and on SIGHUP) and in the admin verbs;
 * other processes get the result, never the files.  Every key of
 * postern.conf is one row of conf_keys[] with its type, default, bounds and
 * a line of help; string defaults go through the same parsers as the file
 * and numeric ones are checked against the same bounds, so a default
 * cannot be out of bounds.  conf_parse() and conf_parse_aliases()
 * are pure and fuzzed.  conf_load() reads a users file for its names only:
 * the file's bytes (hashes included) are wiped as soon as the names are
 * copied, so the domain table holds no secret and may go to the process
 * that parses hostile input.
 *
 * Errors name file and line ("postern.conf:12: unknown key \"foo\"").
 * Limits (bounds.h): a line is at most LIM_CONF_LINE octets, a file at most
 * CONF_FILE_MAX, a listen key at most LIM_LISTEN addresses.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"

/* a config, users or aliases file larger than this is refused */
#define CONF_FILE_MAX	(64 * 1024 * 1024)

#define MINUTE	60ULL
#define HOUR	(60 * MINUTE)
#define DAY	(24 * HOUR)

enum conf_type {
	CT_STRING,	/* char[size], checked by a validator */
	CT_SIZE,	/* unsigned long long, bytes; K, M, G suffixes */
	CT_UINT,	/* unsigned, decimal */
	CT_DURATION,	/* unsigned, seconds; s, m, h, d suffixes */
	CT_BOOL,	/* bool: yes/no, true/false, on/off */
	CT_BARE_LF,	/* enum bare_lf_policy */
	CT_LISTEN,	/* struct listen_list; may be empty */
};

struct conf_key {
	const char		*name;
	enum conf_type		 type;
	size_t			 off;	/* offsetof(struct conf, field) */
	size_t			 size;	/* CT_STRING: sizeof the field */
	/* CT_STRING: copy v into dst (dstsz), or explain in why */
	int			(*check)(const char *v, char *dst,
				    size_t dstsz, char *why, size_t whysz);
	unsigned long long	 min;	/* numeric types */
	unsigned long long	 max;
	unsigned long long	 defnum; /* numeric types and CT_BOOL */
	const char		*def;	/* the other types; NULL: computed */
	const char		*help;
};

struct conf_unit {
	char			 c;	/* as written; matched in any case */
	unsigned long long	 mul;
};

static const struct conf_unit size_units[] = {
	{ 'G', 1024ULL * 1024 * 1024 }, { 'M', 1024 * 1024 }, { 'K', 1024 },
	{ '\0', 0 }
};
static const struct conf_unit duration_units[] = {
	{ 'd', DAY }, { 'h', HOUR }, { 'm', MINUTE }, { 's', 1 }, { '\0', 0 }
};

static const char *const bare_lf_names[] = { "reject", "normalize" };

static int	check_hostname(const char *, char *, size_t, char *, size_t);
static int	check_user(const char *, char *, size_t, char *, size_t);
static int	check_abspath(const char *, char *, size_t, char *, size_t);

#define F(field)	offsetof(struct conf, field)
#define STR(field, fn)	CT_STRING, F(field), sizeof(((struct conf *)0)->field), fn
#define NUM(t, field)	t, F(field), 0, NULL

static const struct conf_key conf_keys[] = {
	{ "hostname", STR(hostname, check_hostname), 0, 0, 0, NULL,
	  "name in the greeting and the Received headers"
	  " (default: this machine's host name)" },
	{ "smtp_listen", NUM(CT_LISTEN, smtp_listen), 0, 0, 0,
	  "0.0.0.0:25 [::]:25",
	  "where mail from other servers (MX) arrives: addr:port, [v6]:port"
	  " or *:port, space or comma separated; empty: none" },
	{ "submission_listen", NUM(CT_LISTEN, submission_listen), 0, 0, 0,
	  "0.0.0.0:587 [::]:587", "submission with STARTTLS (RFC 6409)" },
	{ "submissions_listen", NUM(CT_LISTEN, submissions_listen), 0, 0, 0,
	  "0.0.0.0:465 [::]:465", "submission over implicit TLS (RFC 8314)" },
	{ "data_dir", STR(data_dir, check_abspath), 0, 0, 0,
	  "/var/lib/postern",
	  "runtime state, the queue: an absolute path outside the config"
	  " directory" },
	{ "user", STR(user, check_user), 0, 0, 0, "postern",
	  "unprivileged user the processes run as" },
	{ "max_message_size", NUM(CT_SIZE, max_message_size), 1024,
	  LIM_MESSAGE_SIZE_MAX, DEF_MESSAGE_SIZE, NULL,
	  "largest message accepted, bytes or with a K, M, G suffix (1K..2G)" },
	{ "max_recipients", NUM(CT_UINT, max_recipients), LIM_RECIPIENTS_MIN,
	  LIM_RECIPIENTS_MAX, DEF_RECIPIENTS, NULL,
	  "recipients per message (100..1000, RFC 5321 4.5.3.1.8)" },
	{ "max_line_length", NUM(CT_UINT, max_line_length), DEF_TEXT_LINE,
	  LIM_TEXT_LINE_MAX, DEF_TEXT_LINE, NULL,
	  "longest text line in a message, octets without CRLF (998..65536)" },
	{ "max_errors", NUM(CT_UINT, max_errors), 1, 1000, DEF_MAX_ERRORS, NULL,
	  "error replies before a session is closed (1..1000)" },
	{ "max_hops", NUM(CT_UINT, max_hops), 1, 1000, DEF_MAX_HOPS, NULL,
	  "Received headers before a message is taken for a loop (1..1000)" },
	{ "idle_timeout", NUM(CT_DURATION, idle_timeout), 1, DAY,
	  DEF_IDLE_TIMEOUT, NULL,
	  "wait for the next command, seconds or with an m, h, d suffix" },
	{ "session_timeout", NUM(CT_DURATION, session_timeout), 1, 7 * DAY,
	  DEF_SESSION_TIMEOUT, NULL, "longest session, start to end" },
	{ "max_sessions", NUM(CT_UINT, max_sessions), 1, 1000000,
	  DEF_MAX_SESSIONS, NULL, "concurrent sessions in all" },
	{ "max_sessions_per_ip", NUM(CT_UINT, max_sessions_per_ip), 1, 1000000,
	  DEF_MAX_SESSIONS_PER_IP, NULL,
	  "concurrent sessions from one client address" },
	{ "auth_max_failures", NUM(CT_UINT, auth_max_failures), 1, 100,
	  DEF_AUTH_MAX_FAILURES, NULL,
	  "failed AUTH attempts before the session is closed (1..100)" },
	{ "auth_fail_delay_ms", NUM(CT_UINT, auth_fail_delay_ms), 0, 60000,
	  DEF_AUTH_FAIL_DELAY_MS, NULL,
	  "delay after a failed AUTH, milliseconds (0..60000)" },
	{ "smtp_workers", NUM(CT_UINT, smtp_workers), 0, 64, 0, NULL,
	  "smtp processes sharing the listeners; 0: one per core (0..64)" },
	{ "log_syslog", NUM(CT_BOOL, log_syslog), 0, 1, 0, NULL,
	  "log to syslog as well as to stderr (yes or no)" },
	{ "bare_lf", NUM(CT_BARE_LF, bare_lf), 0, 0, 0, "reject",
	  "a bare LF in DATA: reject the message, or normalize it to CRLF" },
	{ "retry_min", NUM(CT_DURATION, retry_min), 1, DAY, 5 * MINUTE, NULL,
	  "first retry of a deferred delivery" },
	{ "retry_max", NUM(CT_DURATION, retry_max), 1, 7 * DAY, 4 * HOUR, NULL,
	  "longest wait between retries (at least retry_min)" },
	{ "queue_lifetime", NUM(CT_DURATION, queue_lifetime), 1, 90 * DAY,
	  5 * DAY, NULL, "give up and bounce a message after this long" },
};

#undef F
#undef STR
#undef NUM

#define NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

/* the line reader shared by the three file formats */
struct lines {
	const char	*text;
	size_t		 len;
	size_t		 pos;
	unsigned	 lineno;
	const char	*fname;
	char		 line[LIM_CONF_LINE + 1];
};

enum lines_result {
	LINES_LINE,	/* *out is the trimmed line, comments removed */
	LINES_END,
	LINES_ERROR,	/* e is filled */
};

/* lines_init - start reading text; a UTF-8 byte order mark is skipped */
static void
lines_init(struct lines *l, const char *text, size_t len, const char *fname)
{
	l->text = text;
	l->len = len;
	l->pos = 0;
	l->lineno = 0;
	l->fname = fname;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		l->pos = 3;
}

/* strip_comment - cut s at a '#' that starts it or follows a blank */
static void
strip_comment(char *s)
{
	char	*p;

	for (p = s; *p != '\0'; p++)
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

/* lines_next - the next line, bounded, without comment and blanks */
static enum lines_result
lines_next(struct lines *l, char **out, struct err *e)
{
	const char	*p, *nl;
	char		*s;
	size_t		 n;

	if (l->pos >= l->len)
		return LINES_END;
	p = l->text + l->pos;
	nl = memchr(p, '\n', l->len - l->pos);
	n = nl != NULL ? (size_t)(nl - p) : l->len - l->pos;
	l->pos += n + (nl != NULL);
	l->lineno++;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > LIM_CONF_LINE) {
		err_set(e, false, 0, "%s:%u: line longer than %d octets",
		    l->fname, l->lineno, LIM_CONF_LINE);
		return LINES_ERROR;
	}
	if (memchr(p, '\0', n) != NULL) {
		err_set(e, false, 0, "%s:%u: NUL byte", l->fname, l->lineno);
		return LINES_ERROR;
	}
	memcpy(l->line, p, n);
	l->line[n] = '\0';
	strip_comment(l->line);
	for (s = l->line; *s != '\0'; s++)
		if (*s != '\t' && ((unsigned char)*s < 0x20 || *s == 0x7f)) {
			err_set(e, false, 0, "%s:%u: control character",
			    l->fname, l->lineno);
			return LINES_ERROR;
		}
	*out = str_trim(l->line);
	return LINES_LINE;
}

/* local_valid - a dot-atom local part (RFC 5321 4.1.2); utf8: RFC 6531 */
static bool
local_valid(const char *s, bool utf8)
{
	static const char	 atext[] = "!#$%&'*+-/=?^_`{|}~";
	size_t			 i, n = strlen(s);

	if (n == 0 || n > LIM_LOCAL_PART || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char	ch = (unsigned char)s[i];

		if (ch == '.' && s[i + 1] == '.')
			return false;
		if (ch >= 0x80 ? !utf8 : !isalnum(ch) && ch != '.' &&
		    strchr(atext, ch) == NULL)
			return false;
	}
	return true;
}

/* check_hostname - a valid domain name, stored lower case */
static int
check_hostname(const char *v, char *dst, size_t dstsz, char *why,
    size_t whysz)
{
	size_t	n = strlen(v);

	if (n >= dstsz || !addr_domain_valid(v, n, false)) {
		(void)snprintf(why, whysz,
		    "hostname \"%.64s\" is not a valid domain name", v);
		return -1;
	}
	memcpy(dst, v, n + 1);
	addr_lower(dst);
	return 0;
}

/* check_user - a portable user name: [A-Za-z0-9._-], not starting with - */
static int
check_user(const char *v, char *dst, size_t dstsz, char *why, size_t whysz)
{
	size_t	i, n = strlen(v);

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '_' &&
		    v[i] != '.' && v[i] != '-')
			break;
	if (i < n || v[0] == '-' || n >= dstsz) {
		(void)snprintf(why, whysz,
		    "user \"%.64s\" is not a valid user name", v);
		return -1;
	}
	memcpy(dst, v, n + 1);
	return 0;
}

/* check_abspath - an absolute path that fits */
static int
check_abspath(const char *v, char *dst, size_t dstsz, char *why,
    size_t whysz)
{
	if (v[0] != '/') {
		(void)snprintf(why, whysz, "\"%.64s\" is not an absolute path",
		    v);
		return -1;
	}
	if (str_copy(dst, v, dstsz) == -1) {
		(void)snprintf(why, whysz, "path is too long");
		return -1;
	}
	return 0;
}

/* parse_scaled - a decimal number with an optional unit suffix */
static int
parse_scaled(const char *v, const struct conf_unit *u,
    unsigned long long *out)
{
	char			 num[24];
	size_t			 n = strlen(v);
	unsigned long long	 x, mul = 1;

	if (n > 0 && !isdigit((unsigned char)v[n - 1])) {
		for (; u->c != '\0'; u++)
			if (tolower((unsigned char)v[n - 1]) ==
			    tolower((unsigned char)u->c))
				break;
		if (u->c == '\0')
			return -1;
		mul = u->mul;
		n--;
	}
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, v, n);
	num[n] = '\0';
	if (str_to_ull(num, 0, ULLONG_MAX, &x) == -1 || x > ULLONG_MAX / mul)
		return -1;
	*out = x * mul;
	return 0;
}

/* format_scaled - n with the largest unit that divides it exactly */
static void
format_scaled(unsigned long long n, const struct conf_unit *u, char *out,
    size_t outsz)
{
	for (; u->c != '\0'; u++)
		if (n != 0 && u->mul > 1 && n % u->mul == 0) {
			(void)snprintf(out, outsz, "%llu%c", n / u->mul, u->c);
			return;
		}
	(void)snprintf(out, outsz, "%llu", n);
}

/* parse_bool - yes/no, true/false, on/off, any case */
static int
parse_bool(const char *v, bool *out)
{
	static const char *const	 yes[] = { "yes", "true", "on" };
	static const char *const	 no[] = { "no", "false", "off" };
	size_t				 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* listen_add - append host:port (host numeric) unless full or present */
static int
listen_add(struct listen_list *l, int af, const char *host,
    unsigned long long port, const char *item, char *why, size_t whysz)
{
	unsigned char		 bin[sizeof(struct in6_addr)];
	struct listen_addr	 a;
	size_t			 i;

	memset(&a, 0, sizeof(a));
	if (inet_pton(af, host, bin) != 1 ||
	    inet_ntop(af, bin, a.host, sizeof(a.host)) == NULL) {
		(void)snprintf(why, whysz, "\"%.64s\": not a numeric %s address",
		    item, af == AF_INET ? "IPv4" : "IPv6");
		return -1;
	}
	(void)snprintf(a.port, sizeof(a.port), "%llu", port);
	for (i = 0; i < l->n; i++)
		if (strcmp(l->addr[i].host, a.host) == 0 &&
		    strcmp(l->addr[i].port, a.port) == 0) {
			(void)snprintf(why, whysz, "\"%.64s\" is listed twice",
			    item);
			return -1;
		}
	if (l->n == LIM_LISTEN) {
		(void)snprintf(why, whysz, "more than %d addresses", LIM_LISTEN);
		return -1;
	}
	l->addr[l->n++] = a;
	return 0;
}

/* listen_item - one "addr:port", "[v6]:port" or "*:port" */
static int
listen_item(struct listen_list *l, const char *item, char *why,
    size_t whysz)
{
	char			 host[64];
	const char		*colon, *hs = item;
	size_t			 hn;
	unsigned long long	 port;
	int			 af = AF_INET;

	if (item[0] == '[') {
		if ((colon = strchr(item, ']')) == NULL || colon[1] != ':')
			goto bad;
		hs = item + 1;
		hn = (size_t)(colon - hs);
		colon++;
		af = AF_INET6;
	} else {
		if ((colon = strrchr(item, ':')) == NULL)
			goto bad;
		hn = (size_t)(colon - item);
		if (memchr(item, ':', hn) != NULL) {
			(void)snprintf(why, whysz, "\"%.64s\": write an IPv6"
			    " address in brackets, [::1]:25", item);
			return -1;
		}
	}
	if (hn == 0 || hn >= sizeof(host))
		goto bad;
	memcpy(host, hs, hn);
	host[hn] = '\0';
	if (str_to_ull(colon + 1, 1, 65535, &port) == -1) {
		(void)snprintf(why, whysz, "\"%.64s\": the port must be a number"
		    " from 1 to 65535", item);
		return -1;
	}
	if (af == AF_INET && strcmp(host, "*") == 0) {
		if (listen_add(l, AF_INET, "0.0.0.0", port, item, why,
		    whysz) == -1)
			return -1;
		return listen_add(l, AF_INET6, "::", port, item, why, whysz);
	}
	return listen_add(l, af, host, port, item, why, whysz);
bad:
	(void)snprintf(why, whysz, "\"%.64s\" is not addr:port, [addr]:port"
	    " or *:port", item);
	return -1;
}

/* parse_listen - a list of listen items, comma and/or blank separated */
static int
parse_listen(const char *v, struct listen_list *out, char *why,
    size_t whysz)
{
	struct listen_list	 l;
	char			 item[LIM_CONF_LINE + 1];
	size_t			 n;

	memset(&l, 0, sizeof(l));
	for (;;) {
		v += strspn(v, ", \t");
		if (*v == '\0')
			break;
		n = strcspn(v, ", \t");
		memcpy(item, v, n);
		item[n] = '\0';
		v += n;
		if (listen_item(&l, item, why, whysz) == -1)
			return -1;
	}
	*out = l;
	return 0;
}

/* key_find - the table row for name, or NULL */
static const struct conf_key *
key_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

/* key_set_num - store a numeric value checked against the key's bounds */
static void
key_set_num(struct conf *c, const struct conf_key *k, unsigned long long v)
{
	char	*p = (char *)c + k->off;

	if (k->type == CT_SIZE)
		*(unsigned long long *)(void *)p = v;
	else
		*(unsigned *)(void *)p = (unsigned)v;
}

/* key_set - parse v for key k into c, or explain in why */
static int
key_set(struct conf *c, const struct conf_key *k, const char *v, char *why,
    size_t whysz)
{
	char			*p = (char *)c + k->off;
	unsigned long long	 n;
	size_t			 i;
	bool			 b;

	if (*v == '\0' && k->type != CT_LISTEN) {
		(void)snprintf(why, whysz, "%s needs a value", k->name);
		return -1;
	}
	switch (k->type) {
	case CT_STRING:
		return k->check(v, p, k->size, why, whysz);
	case CT_SIZE:
	case CT_DURATION:
		if (parse_scaled(v, k->type == CT_SIZE ? size_units :
		    duration_units, &n) == -1 || n < k->min || n > k->max) {
			(void)snprintf(why, whysz, "%s must be %s from %llu to"
			    " %llu%s, not \"%.64s\"", k->name,
			    k->type == CT_SIZE ? "a size" : "a duration",
			    k->min, k->max, k->type == CT_SIZE ?
			    " bytes (K, M, G suffixes allowed)" :
			    " seconds (m, h, d suffixes allowed)", v);
			return -1;
		}
		key_set_num(c, k, n);
		return 0;
	case CT_UINT:
		if (str_to_ull(v, k->min, k->max, &n) == -1) {
			(void)snprintf(why, whysz, "%s must be a number from"
			    " %llu to %llu, not \"%.64s\"", k->name, k->min,
			    k->max, v);
			return -1;
		}
		key_set_num(c, k, n);
		return 0;
	case CT_BOOL:
		if (parse_bool(v, &b) == -1) {
			(void)snprintf(why, whysz, "%s must be yes or no, not"
			    " \"%.64s\"", k->name, v);
			return -1;
		}
		*(bool *)(void *)p = b;
		return 0;
	case CT_BARE_LF:
		for (i = 0; i < sizeof(bare_lf_names) / sizeof(bare_lf_names[0]);
		    i++)
			if (strcmp(v, bare_lf_names[i]) == 0) {
				c->bare_lf = (enum bare_lf_policy)i;
				return 0;
			}
		(void)snprintf(why, whysz, "%s must be reject or normalize, not"
		    " \"%.64s\"", k->name, v);
		return -1;
	case CT_LISTEN:
		if (parse_listen(v, (struct listen_list *)(void *)p, why,
		    whysz) == -1) {
			/* prefix the key: the item alone is not enough */
			char	tmp[200];

			(void)snprintf(tmp, sizeof(tmp), "%s: %s", k->name, why);
			(void)snprintf(why, whysz, "%s", tmp);
			return -1;
		}
		return 0;
	}
	return -1;
}

/* default_hostname - this machine's name if it is a domain, else localhost */
static void
default_hostname(struct conf *c)
{
	char	name[LIM_DOMAIN + 2];

	memset(name, 0, sizeof(name));
	if (gethostname(name, sizeof(name) - 1) == 0 &&
	    addr_domain_valid(name, strlen(name), false)) {
		memcpy(c->hostname, name, sizeof(c->hostname));
		c->hostname[sizeof(c->hostname) - 1] = '\0';
		addr_lower(c->hostname);
	} else
		(void)str_copy(c->hostname, "localhost", sizeof(c->hostname));
}

/* conf_defaults - fill c with the built-in defaults, no domains */
void
conf_defaults(struct conf *c)
{
	const struct conf_key	*k;
	char			 why[200];
	size_t			 i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NKEYS; i++) {
		k = &conf_keys[i];
		switch (k->type) {
		case CT_SIZE:
		case CT_UINT:
		case CT_DURATION:
			if (k->defnum < k->min || k->defnum > k->max)
				fatalx("conf: default of %s out of bounds",
				    k->name);
			key_set_num(c, k, k->defnum);
			break;
		case CT_BOOL:
			*(bool *)(void *)((char *)c + k->off) = k->defnum != 0;
			break;
		default:
			if (k->def != NULL &&
			    key_set(c, k, k->def, why, sizeof(why)) == -1)
				fatalx("conf: default of %s: %s", k->name, why);
			break;
		}
	}
	default_hostname(c);
	c->tls_required_587 = true;
}

/* conf_key_doc - the i-th key of postern.conf, for generated files */
int
conf_key_doc(size_t i, const char **name, const char **help, char *def,
    size_t defsz)
{
	const struct conf_key	*k;

	if (i >= NKEYS)
		return -1;
	k = &conf_keys[i];
	*name = k->name;
	*help = k->help;
	switch (k->type) {
	case CT_SIZE:
		format_scaled(k->defnum, size_units, def, defsz);
		break;
	case CT_DURATION:
		format_scaled(k->defnum, duration_units, def, defsz);
		break;
	case CT_UINT:
		(void)snprintf(def, defsz, "%llu", k->defnum);
		break;
	case CT_BOOL:
		(void)snprintf(def, defsz, "%s", k->defnum ? "yes" : "no");
		break;
	default:
		(void)snprintf(def, defsz, "%s", k->def != NULL ? k->def : "");
		break;
	}
	return 0;
}

/* conf_parse - parse postern.conf text onto c; c is changed only on success */
int
conf_parse(struct conf *c, const char *text, size_t len, const char *fname,
    struct err *e)
{
	struct conf		*t;
	struct lines		*l;
	const struct conf_key	*k;
	unsigned		 seen[NKEYS];
	char			 why[200], *s, *eq, *key, *val;
	enum lines_result	 r;
	int			 rc = -1;

	t = xmalloc(sizeof(*t));
	*t = *c;
	l = xmalloc(sizeof(*l));
	lines_init(l, text, len, fname);
	memset(seen, 0, sizeof(seen));
	while ((r = lines_next(l, &s, e)) == LINES_LINE) {
		if (*s == '\0')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			err_set(e, false, 0, "%s:%u: missing \"=\" in \"%.64s\"",
			    fname, l->lineno, s);
			goto out;
		}
		*eq = '\0';
		key = str_trim(s);
		val = str_trim(eq + 1);
		if (*key == '\0') {
			err_set(e, false, 0, "%s:%u: missing key before \"=\"",
			    fname, l->lineno);
			goto out;
		}
		if ((k = key_find(key)) == NULL) {
			err_set(e, false, 0, "%s:%u: unknown key \"%.64s\"",
			    fname, l->lineno, key);
			goto out;
		}
		if (seen[k - conf_keys] != 0) {
			err_set(e, false, 0, "%s:%u: duplicate key \"%s\""
			    " (first set on line %u)", fname, l->lineno,
			    k->name, seen[k - conf_keys]);
			goto out;
		}
		seen[k - conf_keys] = l->lineno;
		if (key_set(t, k, val, why, sizeof(why)) == -1) {
			err_set(e, false, 0, "%s:%u: %s", fname, l->lineno, why);
			goto out;
		}
	}
	if (r == LINES_ERROR)
		goto out;
	if (t->retry_min > t->retry_max) {
		err_set(e, false, 0, "%s: retry_min (%us) is greater than"
		    " retry_max (%us)", fname, t->retry_min, t->retry_max);
		goto out;
	}
	*c = *t;
	rc = 0;
out:
	free(l);
	free(t);
	return rc;
}

/* alias_free - release one alias entry */
static void
alias_free(struct alias *a)
{
	size_t	i;

	for (i = 0; i < a->ntargets; i++)
		free(a->targets[i]);
	free(a->targets);
	free(a->local);
}

/* domain_free - release what one domain entry holds */
static void
domain_free(struct domain *d)
{
	size_t	i;

	for (i = 0; i < d->nusers; i++)
		free(d->users[i]);
	free(d->users);
	for (i = 0; i < d->naliases; i++)
		alias_free(&d->aliases[i]);
	free(d->aliases);
	d->users = NULL;
	d->aliases = NULL;
	d->nusers = d->naliases = 0;
	d->catchall = false;
}

/* alias_target - validate one target of an alias line and store it */
static int
alias_target(struct alias *a, const char *t, char *why, size_t whysz)
{
	struct mailbox	 mb;
	char		 addr[LIM_PATH + 1];
	const char	*keep = t;

	if (*t == '\0') {
		(void)snprintf(why, whysz, "empty target");
		return -1;
	}
	if (t[0] == '|') {
		if (t[1 + strspn(t + 1, " \t")] == '\0') {
			(void)snprintf(why, whysz, "empty command after \"|\"");
			return -1;
		}
	} else if (strchr(t, '@') != NULL) {
		/* a full address: the domain is kept in lower case */
		if (addr_parse_mailbox(t, strlen(t), true, &mb, NULL) == -1 ||
		    addr_format(&mb, addr, sizeof(addr)) == -1) {
			(void)snprintf(why, whysz, "bad address \"%.64s\"", t);
			return -1;
		}
		keep = addr;
	} else if (!local_valid(t, true)) {
		(void)snprintf(why, whysz, "bad target \"%.64s\"", t);
		return -1;
	}
	a->targets = xreallocarray(a->targets, a->ntargets + 1,
	    sizeof(*a->targets));
	a->targets[a->ntargets++] = xstrdup(keep);
	return 0;
}

/* alias_targets - "t, t, | command": a command takes the rest of the line */
static int
alias_targets(struct alias *a, char *s, char *why, size_t whysz)
{
	char	*end;

	for (;;) {
		s += strspn(s, " \t");
		if (*s == '|')
			return alias_target(a, str_trim(s), why, whysz);
		if ((end = strchr(s, ',')) != NULL)
			*end = '\0';
		if (alias_target(a, str_trim(s), why, whysz) == -1)
			return -1;
		if (end == NULL)
			return 0;
		s = end + 1;
	}
}

struct alias_line {
	struct alias	 a;
	unsigned	 lineno;
};

/* alias_line_cmp - by local part, then by line */
static int
alias_line_cmp(const void *x, const void *y)
{
	const struct alias_line	*a = x, *b = y;
	int			 r;

	if ((r = strcmp(a->a.local, b->a.local)) != 0)
		return r;
	return a->lineno < b->lineno ? -1 : a->lineno > b->lineno;
}

/* conf_parse_aliases - parse an aliases file; d's aliases replaced on success */
int
conf_parse_aliases(struct domain *d, const char *text, size_t len,
    const char *fname, struct err *e)
{
	struct lines		*l;
	struct alias_line	*v = NULL;
	struct alias		*out;
	char			 why[200], *s, *colon, *local;
	size_t			 n = 0, i;
	enum lines_result	 r;
	int			 rc = -1;

	l = xmalloc(sizeof(*l));
	lines_init(l, text, len, fname);
	while ((r = lines_next(l, &s, e)) == LINES_LINE) {
		if (*s == '\0')
			continue;
		if ((colon = strchr(s, ':')) == NULL) {
			err_set(e, false, 0, "%s:%u: missing \":\" in \"%.64s\"",
			    fname, l->lineno, s);
			goto out;
		}
		*colon = '\0';
		local = str_trim(s);
		if (strcmp(local, "*") != 0 && !local_valid(local, true)) {
			err_set(e, false, 0, "%s:%u: bad local part \"%.64s\"",
			    fname, l->lineno, local);
			goto out;
		}
		v = xreallocarray(v, n + 1, sizeof(*v));
		memset(&v[n], 0, sizeof(v[n]));
		v[n].lineno = l->lineno;
		v[n].a.local = xstrdup(local);
		addr_lower(v[n].a.local);
		n++;
		if (alias_targets(&v[n - 1].a, colon + 1, why,
		    sizeof(why)) == -1) {
			err_set(e, false, 0, "%s:%u: %s", fname, l->lineno, why);
			goto out;
		}
	}
	if (r == LINES_ERROR)
		goto out;
	if (n > 0)
		qsort(v, n, sizeof(*v), alias_line_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(v[i - 1].a.local, v[i].a.local) == 0) {
			err_set(e, false, 0, "%s:%u: duplicate alias \"%.64s\""
			    " (first on line %u)", fname, v[i].lineno,
			    v[i].a.local, v[i - 1].lineno);
			goto out;
		}
	for (i = 0; i < d->naliases; i++)
		alias_free(&d->aliases[i]);
	free(d->aliases);
	out = n > 0 ? xcalloc(n, sizeof(*out)) : NULL;
	d->catchall = false;
	for (i = 0; i < n; i++) {
		out[i] = v[i].a;
		if (strcmp(out[i].local, "*") == 0)
			d->catchall = true;
	}
	d->aliases = out;
	d->naliases = n;
	n = 0;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		alias_free(&v[i].a);
	free(v);
	free(l);
	return rc;
}

/* read_file_at - read a whole regular file; missing_ok: ENOENT is empty */
static int
read_file_at(int dfd, const char *name, const char *shown, bool missing_ok,
    char **text, size_t *len, struct err *e)
{
	struct stat	 st;
	char		*p = NULL, extra;
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd, rc = -1;

	*text = NULL;
	*len = 0;
	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT && missing_ok)
			return 0;
		return err_set(e, errno != ENOENT, errno, "%s: %s", shown,
		    strerror(errno));
	}
	if (fstat(fd, &st) == -1) {
		err_set(e, true, errno, "%s: %s", shown, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, false, 0, "%s: not a regular file", shown);
		goto out;
	}
	if (st.st_size > CONF_FILE_MAX) {
		err_set(e, false, 0, "%s: larger than %d bytes", shown,
		    CONF_FILE_MAX);
		goto out;
	}
	/* one allocation, never grown: no stale copy of a hash is left */
	p = xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size) {
		if ((r = read(fd, p + n, (size_t)st.st_size - n)) == -1) {
			if (errno == EINTR)
				continue;
			err_set(e, true, errno, "%s: %s", shown,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == (size_t)st.st_size && read(fd, &extra, 1) > 0) {
		err_set(e, true, 0, "%s: changed while being read", shown);
		goto out;
	}
	p[n] = '\0';
	*text = p;
	*len = n;
	p = NULL;
	rc = 0;
out:
	if (p != NULL) {
		explicit_bzero(p, (size_t)st.st_size);
		free(p);
	}
	(void)close(fd);
	return rc;
}

/* strp_cmp - qsort order of a char * array */
static int
strp_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* strp_casecmp - bsearch: a key string against a char * element */
static int
strp_casecmp(const void *key, const void *elt)
{
	return strcasecmp(key, *(char *const *)elt);
}

/*
 * parse_users - the names of a users file ("name hash" lines).  Only the
 * first field is looked at; the caller wipes the text afterwards.
 */
static int
parse_users(struct domain *d, const char *text, size_t len,
    const char *fname, struct err *e)
{
	struct lines		*l;
	char			**v = NULL, *s;
	size_t			 n = 0, i;
	enum lines_result	 r;
	int			 rc = -1;

	l = xmalloc(sizeof(*l));
	lines_init(l, text, len, fname);
	while ((r = lines_next(l, &s, e)) == LINES_LINE) {
		if (*s == '\0')
			continue;
		s[strcspn(s, " \t")] = '\0';
		if (!local_valid(s, false)) {
			err_set(e, false, 0, "%s:%u: bad user name \"%.64s\"",
			    fname, l->lineno, s);
			goto out;
		}
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n] = xstrdup(s);
		addr_lower(v[n++]);
	}
	if (r == LINES_ERROR)
		goto out;
	if (n > 0)
		qsort(v, n, sizeof(*v), strp_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(v[i - 1], v[i]) == 0) {
			err_set(e, false, 0, "%s: duplicate user \"%.64s\"",
			    fname, v[i]);
			goto out;
		}
	d->users = v;
	d->nusers = n;
	v = NULL;
	n = 0;
	rc = 0;
out:
	explicit_bzero(l, sizeof(*l));
	free(l);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

/* domain_load - one folder of domains/: its users' names and its aliases */
static int
domain_load(struct domain *d, int parent, const char *name, struct err *e)
{
	char	 path[NAME_MAX + 32], *text = NULL;
	size_t	 len;
	int	 dfd, rc = -1;

	memset(d, 0, sizeof(*d));
	if (!addr_domain_valid(name, strlen(name), false) ||
	    str_copy(d->name, name, sizeof(d->name)) == -1)
		return err_set(e, false, 0, "domains/%s: folder name is not a"
		    " domain", name);
	addr_lower(d->name);
	if ((dfd = openat(parent, name, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return err_set(e, true, errno, "domains/%s: %s", name,
		    strerror(errno));
	(void)snprintf(path, sizeof(path), "domains/%s/users", name);
	if (read_file_at(dfd, "users", path, true, &text, &len, e) == -1)
		goto out;
	if (text != NULL) {
		rc = parse_users(d, text, len, path, e);
		explicit_bzero(text, len);
		free(text);
		text = NULL;
		if (rc == -1)
			goto out;
		rc = -1;
	}
	(void)snprintf(path, sizeof(path), "domains/%s/aliases", name);
	if (read_file_at(dfd, "aliases", path, true, &text, &len, e) == -1)
		goto out;
	if (text != NULL && conf_parse_aliases(d, text, len, path, e) == -1)
		goto out;
	rc = 0;
out:
	free(text);
	if (rc == -1)
		domain_free(d);
	(void)close(dfd);
	return rc;
}

/* domain_cmp - qsort order of the domain table */
static int
domain_cmp(const void *x, const void *y)
{
	const struct domain	*a = x, *b = y;

	return strcmp(a->name, b->name);
}

/* domain_casecmp - bsearch: a name against a domain entry */
static int
domain_casecmp(const void *key, const void *elt)
{
	const struct domain	*d = elt;

	return strcasecmp(key, d->name);
}

/* load_domains - every folder of DIR/domains/ (none is fine) */
static int
load_domains(struct conf *t, int cfd, struct err *e)
{
	struct domain	*v = NULL;
	struct dirent	*de;
	struct stat	 st;
	DIR		*dp = NULL;
	size_t		 n = 0, i;
	int		 dfd, rc = -1;

	if ((dfd = openat(cfd, "domains", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		return err_set(e, true, errno, "domains: %s",
		    strerror(errno));
	}
	if ((dp = fdopendir(dfd)) == NULL) {
		err_set(e, true, errno, "domains: %s", strerror(errno));
		(void)close(dfd);
		goto out;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(dp)) == NULL)
			break;
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(dp), de->d_name, &st, 0) == -1) {
			err_set(e, true, errno, "domains/%s: %s", de->d_name,
			    strerror(errno));
			goto out;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		if (domain_load(&v[n], dirfd(dp), de->d_name, e) == -1)
			goto out;
		n++;
	}
	if (errno != 0) {
		err_set(e, true, errno, "domains: %s", strerror(errno));
		goto out;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), domain_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(v[i - 1].name, v[i].name) == 0) {
			err_set(e, false, 0, "domains/%s: there twice (folder"
			    " names differ only in case)", v[i].name);
			goto out;
		}
	t->domains = v;
	t->ndomains = n;
	v = NULL;
	n = 0;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		domain_free(&v[i]);
	free(v);
	if (dp != NULL)
		(void)closedir(dp);
	return rc;
}

/* path_inside - is path dir itself or below it (lexically)? */
static bool
path_inside(const char *path, const char *dir)
{
	size_t	n = strlen(dir), m = strlen(path);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	while (m > 1 && path[m - 1] == '/')
		m--;
	if (m < n || strncmp(path, dir, n) != 0)
		return false;
	return m == n || path[n] == '/' || n == 1;
}

/*
 * conf_load - read DIR/postern.conf and DIR/domains/; c is changed only on
 * success.  Errors inside the directory name files relative to it
 * ("postern.conf:12: ...", "domains/example.com/aliases:3: ...").
 */
int
conf_load(struct conf *c, const char *dir, struct err *e)
{
	struct conf	*t;
	char		*text = NULL;
	size_t		 len;
	int		 cfd = -1, rc = -1;

	t = xmalloc(sizeof(*t));
	conf_defaults(t);
	if (realpath(dir, t->dir) == NULL) {
		err_set(e, false, errno, "config directory %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if ((cfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		err_set(e, false, errno, "%s: %s", t->dir, strerror(errno));
		goto out;
	}
	if (read_file_at(cfd, "postern.conf", "postern.conf", false, &text,
	    &len, e) == -1) {
		if (e != NULL && e->code == ENOENT)
			err_set(e, false, ENOENT, "%s/postern.conf: missing"
			    " (postern -C %s init DOMAIN writes one)", t->dir,
			    dir);
		goto out;
	}
	if (conf_parse(t, text, len, "postern.conf", e) == -1)
		goto out;
	if (path_inside(t->data_dir, t->dir)) {
		err_set(e, false, 0, "postern.conf: data_dir %s is inside the"
		    " config directory %s", t->data_dir, t->dir);
		goto out;
	}
	if (load_domains(t, cfd, e) == -1)
		goto out;
	*c = *t;
	rc = 0;
out:
	free(text);
	if (cfd != -1)
		(void)close(cfd);
	free(t);
	return rc;
}

/* conf_free - release the domain table */
void
conf_free(struct conf *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->ndomains; i++)
		domain_free(&c->domains[i]);
	free(c->domains);
	c->domains = NULL;
	c->ndomains = 0;
}

/* conf_domain - the local domain named (case-insensitive), or NULL */
const struct domain *
conf_domain(const struct conf *c, const char *name)
{
	if (c->ndomains == 0)
		return NULL;
	return bsearch(name, c->domains, c->ndomains, sizeof(*c->domains),
	    domain_casecmp);
}

/* domain_has_user - is local (case-insensitive) a user of d? */
bool
domain_has_user(const struct domain *d, const char *local)
{
	return d->nusers > 0 && bsearch(local, d->users, d->nusers,
	    sizeof(*d->users), strp_casecmp) != NULL;
}

/* alias_casecmp - bsearch: a local part against an alias entry */
static int
alias_casecmp(const void *key, const void *elt)
{
	const struct alias	*a = elt;

	return strcasecmp(key, a->local);
}

/* domain_alias - the alias entry for local (exact, not catch-all), or NULL */
const struct alias *
domain_alias(const struct domain *d, const char *local)
{
	if (d->naliases == 0 || strcmp(local, "*") == 0)
		return NULL;
	return bsearch(local, d->aliases, d->naliases, sizeof(*d->aliases),
	    alias_casecmp);
}

/* domain_accepts - does d take mail for local: user, alias or catch-all? */
bool
domain_accepts(const struct domain *d, const char *local)
{
	return domain_has_user(d, local) || domain_alias(d, local) != NULL ||
	    d->catchall;
}
