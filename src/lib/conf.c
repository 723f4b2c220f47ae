/*
 * conf.c - postern.conf: the table of keys, their values and defaults, and
 * conf_load(), which reads the config directory.
 *
 * Runs in the parent (at startup and on SIGHUP) and in the admin verbs;
 * other processes get the result, never the files.  Every key of
 * postern.conf is one row of conf_keys[] with its type, default, bounds and
 * a line of help; string defaults go through the same parsers as the file
 * and numeric ones are checked against the same bounds, so a default
 * cannot be out of bounds.  conf_parse() is pure and fuzzed.  The domain
 * table (users' names, aliases, lookups) is conf_domain.c's; the line and
 * file readers are conf_read.c's.
 *
 * Errors name file and line ("postern.conf:12: unknown key \"foo\"").
 * Limits (bounds.h): a line is at most LIM_CONF_LINE octets, a file at most
 * CONF_READ_FILE_MAX, a listen key at most LIM_LISTEN addresses.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "conf_domain.h"
#include "conf_read.h"
#include "err.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"

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
	CT_SYNC,	/* enum sync_method */
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
static const char *const sync_names[] = { "filesystem", "file", "auto" };

static int	check_hostname(const char *, char *, size_t, char *, size_t);
static int	check_user(const char *, char *, size_t, char *, size_t);
static int	check_abspath(const char *, char *, size_t, char *, size_t);
static int	check_family(const char *, char *, size_t, char *, size_t);
static int	check_hostport(const char *, char *, size_t, char *, size_t);
static int	check_ipv4(const char *, char *, size_t, char *, size_t);
static int	check_ipv6(const char *, char *, size_t, char *, size_t);
static int	check_anchor(const char *, char *, size_t, char *, size_t);
static int	check_suffix(const char *, char *, size_t, char *, size_t);
static int	check_drop(const char *, char *, size_t, char *, size_t);

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
	{ "sync_method", NUM(CT_SYNC, sync_method), 0, 0, 0, "auto",
	  "how the queue makes mail durable before it answers 250: auto uses"
	  " filesystem where the filesystem is known to honour syncfs (ext4,"
	  " xfs, btrfs, f2fs, tmpfs) and file everywhere else (FUSE, NFS,"
	  " overlayfs, unknown), decided at start for data_dir and for each"
	  " Maildir's filesystem; filesystem syncs the whole filesystem twice"
	  " per batch (syncfs), several times faster, but also flushes what"
	  " other programs left dirty there, and keeps nothing on a filesystem"
	  " that does not pass syncfs down; file fdatasyncs each file and"
	  " fsyncs each directory, durable on every filesystem" },
	{ "retry_min", NUM(CT_DURATION, retry_min), 1, DAY, 5 * MINUTE, NULL,
	  "first retry of a deferred delivery" },
	{ "retry_max", NUM(CT_DURATION, retry_max), 1, 7 * DAY, 4 * HOUR, NULL,
	  "longest wait between retries (at least retry_min)" },
	{ "queue_lifetime", NUM(CT_DURATION, queue_lifetime), 1, 90 * DAY,
	  5 * DAY, NULL, "give up and bounce a message after this long" },
	{ "delay_warning", NUM(CT_DURATION, delay_warning), 0, 90 * DAY,
	  4 * HOUR, NULL, "tell the sender when a message is still not"
	  " delivered after this long; 0: never" },
	{ "outbound_ip_family", STR(outbound_ip_family, check_family), 0, 0, 0,
	  "ipv6-first", "address families for outbound delivery: ipv6-first,"
	  " ipv4-first, ipv4 or ipv6" },
	{ "outbound_source_ipv4", STR(outbound_source_ipv4, check_ipv4), 0, 0,
	  0, "", "source address of outbound IPv4 connections; empty: any" },
	{ "outbound_source_ipv6", STR(outbound_source_ipv6, check_ipv6), 0, 0,
	  0, "", "source address of outbound IPv6 connections; empty: any" },
	{ "outbound_max_connections", NUM(CT_UINT, outbound_max_connections),
	  1, 10000, 100, NULL, "concurrent outbound SMTP connections in all" },
	{ "outbound_max_per_domain", NUM(CT_UINT, outbound_max_per_domain), 1,
	  1000, 5, NULL, "concurrent outbound connections to one domain" },
	{ "outbound_plain_fallback", NUM(CT_BOOL, outbound_plain_fallback), 0,
	  1, 0, NULL, "after a failed TLS handshake, retry the same host"
	  " without TLS in the same attempt (yes or no)" },
	{ "inbound_checks", NUM(CT_BOOL, inbound_checks), 0, 1, 1, NULL,
	  "check mail arriving on the MX port (SPF, DKIM, DMARC) and record"
	  " the results in an Authentication-Results field (yes or no; no for"
	  " a server behind another filter that does it).  Authenticated"
	  " submissions are never checked" },
	{ "dmarc_reject", NUM(CT_BOOL, dmarc_reject), 0, 1, 1, NULL,
	  "refuse (550 5.7.1 at the end of DATA) mail that fails DMARC when"
	  " the author domain's policy is p=reject; no: accept it with"
	  " dmarc=fail in the field.  Quarantine is only recorded" },
	{ "spf_reject", NUM(CT_BOOL, spf_reject), 0, 1, 0, NULL,
	  "refuse (550 5.7.23 at MAIL FROM) a sender whose SPF result is"
	  " fail; no (the default): only record it, and let DMARC decide, as"
	  " RFC 7208 8.4 and RFC 9989 advise (forwarded mail fails SPF)" },
	{ "dkim_max_signatures", NUM(CT_UINT, dkim_max_signatures), 1,
	  LIM_IPC_SIGS, 5, NULL, "DKIM signatures checked per message, from"
	  " the top (1..8); the others are ignored" },
	{ "inbound_check_timeout", NUM(CT_DURATION, inbound_check_timeout), 1,
	  600, 30, NULL, "longest wait for the inbound checks of a message"
	  " (their DNS lookups); past it, or with the checks unavailable,"
	  " the message gets 451 4.7.0 (try again later), never a pass" },
	{ "dns_resolver", STR(dns_resolver, check_hostport), 0, 0, 0, "",
	  "TEST KNOB, keep empty in production: send every DNS query to this"
	  " addr:port instead of the system resolver" },
	{ "outbound_smtp_port", NUM(CT_UINT, outbound_smtp_port), 1, 65535,
	  25, NULL, "TEST KNOB, keep 25 in production: port of remote MX"
	  " hosts" },
	{ "dnssec_trust_anchor", STR(dnssec_trust_anchor, check_anchor), 0, 0,
	  0, CONF_TA_DEFAULT, "DNSSEC trust anchors for outbound DNS lookups:"
	  " a file of DS or DNSKEY records in zone-file format (the default,"
	  " the root key of Debian's dns-root-data package, is used when it"
	  " is readable), or none for no validation.  An answer that fails"
	  " validation (a resolver that strips DNSSEC records) is looked up"
	  " again without validation and used, not trusted, with a warning" },
	{ "pipe_timeout", NUM(CT_DURATION, pipe_timeout), 1, 3600, 60, NULL,
	  "how long the command of a pipe alias may run; then it is killed"
	  " and the delivery retried" },
	{ "suffix_separators", STR(suffix_separators, check_suffix), 0, 0, 0,
	  "+", "characters that start a recipient's suffix in local domains"
	  " (i+news@ is i@ when i+news is neither a user nor an alias),"
	  " or none.  domains/DOMAIN/domain.conf may set its own" },
	{ "drop_characters", STR(drop_characters, check_drop), 0, 0, 0, "",
	  "characters ignored in a recipient's local part in local domains"
	  " (with \".\": j.doe@ is jdoe@); empty or none: none."
	  "  domains/DOMAIN/domain.conf may set its own" },
};

#undef F
#undef STR
#undef NUM

#define NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

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

/* check_family - one of the outbound address family choices */
static int
check_family(const char *v, char *dst, size_t dstsz, char *why,
    size_t whysz)
{
	static const char *const names[] = { "ipv6-first", "ipv4-first",
	    "ipv4", "ipv6" };
	size_t	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i]) == 0)
			return str_copy(dst, v, dstsz);
	(void)snprintf(why, whysz, "\"%.64s\" is not ipv6-first, ipv4-first,"
	    " ipv4 or ipv6", v);
	return -1;
}

/* check_addr - an empty value, or a numeric address of family af */
static int
check_addr(int af, const char *v, char *dst, size_t dstsz, char *why,
    size_t whysz)
{
	unsigned char	bin[16];

	if (*v != '\0' && inet_pton(af, v, bin) != 1) {
		(void)snprintf(why, whysz, "\"%.64s\" is not an IPv%c address",
		    v, af == AF_INET ? '4' : '6');
		return -1;
	}
	return str_copy(dst, v, dstsz);
}

static int
check_ipv4(const char *v, char *dst, size_t dstsz, char *why, size_t whysz)
{
	return check_addr(AF_INET, v, dst, dstsz, why, whysz);
}

static int
check_ipv6(const char *v, char *dst, size_t dstsz, char *why, size_t whysz)
{
	return check_addr(AF_INET6, v, dst, dstsz, why, whysz);
}

/* check_chars - suffix_separators, drop_characters (conf_norm.c) */
static int
check_chars(const char *key, const char *v, char *dst, size_t dstsz,
    char *why, size_t whysz)
{
	char	w[160];

	if (conf_norm_chars(v, dst, dstsz, w, sizeof(w)) == 0)
		return 0;
	(void)snprintf(why, whysz, "%s: %s", key, w);
	return -1;
}

static int
check_suffix(const char *v, char *dst, size_t dstsz, char *why, size_t whysz)
{
	return check_chars("suffix_separators", v, dst, dstsz, why, whysz);
}

static int
check_drop(const char *v, char *dst, size_t dstsz, char *why, size_t whysz)
{
	return check_chars("drop_characters", v, dst, dstsz, why, whysz);
}

/* check_anchor - "none", or an absolute path (conf_load: readable) */
static int
check_anchor(const char *v, char *dst, size_t dstsz, char *why,
    size_t whysz)
{
	if (strcmp(v, CONF_TA_NONE) == 0)
		return str_copy(dst, v, dstsz);
	if (v[0] != '/') {
		(void)snprintf(why, whysz, "dnssec_trust_anchor \"%.64s\" is"
		    " neither none nor an absolute path", v);
		return -1;
	}
	return check_abspath(v, dst, dstsz, why, whysz);
}

/* check_hostport - empty, "1.2.3.4:53" or "[::1]:53" */
static int
check_hostport(const char *v, char *dst, size_t dstsz, char *why,
    size_t whysz)
{
	char			 host[64];
	const char		*colon;
	unsigned long long	 port;
	size_t			 n;
	int			 af = AF_INET;
	unsigned char		 bin[16];

	if (*v == '\0')
		return str_copy(dst, v, dstsz);
	if (*v == '[') {
		if ((colon = strstr(v, "]:")) == NULL)
			goto bad;
		n = (size_t)(colon - v - 1);
		v++;
		colon++;
		af = AF_INET6;
	} else {
		if ((colon = strrchr(v, ':')) == NULL)
			goto bad;
		n = (size_t)(colon - v);
	}
	if (n == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, v, n);
	host[n] = '\0';
	if (inet_pton(af, host, bin) != 1 ||
	    str_to_ull(colon + 1, 1, 65535, &port) == -1)
		goto bad;
	return str_copy(dst, af == AF_INET6 ? v - 1 : v, dstsz);
bad:
	(void)snprintf(why, whysz, "\"%.64s\" is not addr:port or [v6]:port",
	    af == AF_INET6 ? v - 1 : v);
	return -1;
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

	/* empty is meaningful for lists and for the optional strings */
	if (*v == '\0' && k->type != CT_LISTEN && !(k->type == CT_STRING &&
	    k->def != NULL && k->def[0] == '\0')) {
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
	case CT_SYNC:
		for (i = 0; i < sizeof(sync_names) / sizeof(sync_names[0]); i++)
			if (strcmp(v, sync_names[i]) == 0) {
				c->sync_method = (enum sync_method)i;
				return 0;
			}
		(void)snprintf(why, whysz, "%s must be auto, filesystem or file, not"
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
	/* the default anchor is optional: without the file, no validation */
	if (access(c->dnssec_trust_anchor, R_OK) == -1)
		(void)str_copy(c->dnssec_trust_anchor, CONF_TA_NONE,
		    sizeof(c->dnssec_trust_anchor));
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
	struct conf_read	*l;
	const struct conf_key	*k;
	unsigned		 seen[NKEYS];
	char			 why[200], *s, *key, *val;
	enum conf_read_result	 r;
	int			 rc = -1;

	t = xmalloc(sizeof(*t));
	*t = *c;
	l = xmalloc(sizeof(*l));
	conf_read_init(l, text, len, fname);
	memset(seen, 0, sizeof(seen));
	while ((r = conf_read_next(l, &s, e)) == CONF_READ_LINE) {
		if (*s == '\0')
			continue;
		if (conf_read_kv(l, s, &key, &val, e) == -1)
			goto out;
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
	if (r == CONF_READ_ERROR)
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
	if (conf_read_file_at(cfd, "postern.conf", "postern.conf", false, &text,
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
	/*
	 * A trust anchor that was asked for must be there: libunbound would
	 * only notice at the first lookup, in the deliver process.  Whether
	 * the postern user can read it is deliver's to find out (it goes on
	 * without validation, saying so); root reads anything.  (The
	 * default is "none" when its file is missing: conf_defaults.)
	 */
	if (strcmp(t->dnssec_trust_anchor, CONF_TA_NONE) != 0 &&
	    access(t->dnssec_trust_anchor, F_OK) == -1) {
		err_set(e, false, errno, "postern.conf: dnssec_trust_anchor %s:"
		    " %s (none turns DNSSEC validation off)",
		    t->dnssec_trust_anchor, strerror(errno));
		goto out;
	}
	if (conf_domain_load_table(t, cfd, e) == -1)
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
	if (c == NULL)
		return;
	conf_domain_free_table(c);
}
