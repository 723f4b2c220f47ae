/*
 * dns.h - asynchronous DNS lookups (libunbound) driven by a libevent loop.
 *
 * One struct dns per process: dns_new() sets up a libunbound context that
 * resolves in its own thread and reports through a pipe that the event
 * loop watches.  dns_query() starts one lookup; its callback runs exactly
 * once, from the event loop, unless the query is cancelled first
 * (dns_cancel(), or dns_free() of the context).  The result and everything
 * it points to are valid only during the callback.
 *
 * DNSSEC: with a trust anchor, every answer is validated; `secure` says
 * the data (or its absence) was proven, `bogus` that validation failed.
 * Many resolvers (VPS providers' in particular) strip DNSSEC records, and
 * then every answer is bogus.  dns_set_bogus_fallback() makes a bogus
 * answer ask again on a second, non-validating context (same resolver
 * settings) and hand over that answer instead, marked `unvalidated`,
 * never `secure`; the first bogus answer for a name is logged (warning)
 * once an hour at most, not once per lookup.
 *
 * The rdata parsers below are pure functions (no I/O, no allocation),
 * bounded by their input length; they are unit-tested and fuzzed.
 */
#ifndef POSTERN_DNS_H
#define POSTERN_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct err;
struct event_base;
struct dns;

/* RR types and rcodes used by postern (RFC 1035, 3596, 6698) */
#define DNS_T_A		1
#define DNS_T_CNAME	5
#define DNS_T_PTR	12
#define DNS_T_MX	15
#define DNS_T_TXT	16
#define DNS_T_AAAA	28
#define DNS_T_TLSA	52

#define DNS_R_NOERROR	0
#define DNS_R_SERVFAIL	2
#define DNS_R_NXDOMAIN	3

/* a domain name in text form: at most 253 characters + NUL (RFC 1035 2.3.4) */
#define DNS_NAME_SIZE	256
/* records of the asked type kept from one answer; the rest are dropped */
#define DNS_MAX_RR	256
/* default time a query may take before it fails as a timeout */
#define DNS_DEF_TIMEOUT_MS	30000

struct dns_mx {
	unsigned	 pref;
	char		 host[DNS_NAME_SIZE];	/* "." for a null MX */
};

struct dns_name {
	char		 name[DNS_NAME_SIZE];
};

struct dns_txt {
	/* the record's strings, concatenated, NUL-terminated; may hold NUL */
	const char	*text;
	size_t		 len;
};

struct dns_rdata {
	const uint8_t	*data;		/* as received, wire format */
	size_t		 len;
};

struct dns_result {
	const char	*qname;
	int		 qtype;
	int		 rcode;		/* DNS_R_*; local failures: SERVFAIL */
	bool		 nxdomain;	/* the name does not exist */
	bool		 secure;	/* DNSSEC-validated (data or absence) */
	bool		 bogus;		/* DNSSEC validation failed; no
					 * records (they are not to be used) */
	/*
	 * DNSSEC validation failed, and the records are those of the
	 * non-validating context (dns_set_bogus_fallback): usable for
	 * routing, never for anything that needs `secure` (DANE).  why
	 * says why validation failed; bogus is false.
	 */
	bool		 unvalidated;
	bool		 timeout;	/* no answer within the query timeout */
	const char	*why;		/* NULL, or why bogus / why it failed */
	int		 ttl;

	/* every answer record of qtype (TLSA and any other type: raw only) */
	size_t			 nraw;
	const struct dns_rdata	*raw;
	/* the parsed forms, by qtype; malformed records counted in nbad */
	size_t			 nbad;
	size_t			 nmx;		/* MX */
	const struct dns_mx	*mx;
	size_t			 naddr;		/* A, AAAA: port 0 */
	const struct sockaddr_storage *addr;
	size_t			 ntxt;		/* TXT */
	const struct dns_txt	*txt;
	size_t			 nname;		/* PTR, CNAME: host names */
	const struct dns_name	*name;
};

typedef void	(*dns_cb)(void *arg, const struct dns_result *);

/*
 * dns_new - a resolver context on base.  forward is "addr", "addr:port" or
 * "[v6addr]:port" to send every query to that server (postern.conf's
 * dns_resolver), or NULL to use the servers of /etc/resolv.conf (or to
 * resolve from the root when it lists none).  trust_anchor_file names a
 * file of DNSSEC trust anchors (DS or DNSKEY records in zone-file form,
 * as ub_ctx_add_ta_file reads: the root key, or any zone's), or is NULL
 * for no validation (no result is then secure, none bogus).
 */
struct dns	*dns_new(struct event_base *, const char *forward,
		    const char *trust_anchor_file, struct err *);
/*
 * dns_free - cancel every outstanding query (their callbacks never run)
 * and free the context.  Safe from inside a dns callback: the context
 * goes away when the callback returns.  dns_free(NULL) is a no-op.
 */
void		 dns_free(struct dns *);
/*
 * dns_set_bogus_fallback - from now on, a bogus answer is asked again on
 * a second, non-validating libunbound context with the same resolver
 * settings, and that answer is the result (`unvalidated`, see above).
 * Without a trust anchor nothing can be bogus: a no-op.  -1 if the
 * second context cannot be set up.
 */
int		 dns_set_bogus_fallback(struct dns *, struct err *);
/* dns_set_timeout - per-query time limit in ms (> 0), for later queries */
void		 dns_set_timeout(struct dns *, unsigned ms);
/* dns_base - the event base the context runs on */
struct event_base *dns_base(const struct dns *);

/*
 * dns_query - look up (name, rrtype) in class IN.  Returns a query id
 * (> 0) for dns_cancel(), or -1 (errno set) if the query could not be
 * started; then cb is never called.
 */
int		 dns_query(struct dns *, const char *name, int rrtype,
		    dns_cb cb, void *arg);
/* dns_cancel - stop query id: its callback will not run; unknown ids: no-op */
void		 dns_cancel(struct dns *, int id);
/* dns_pending - number of queries still outstanding */
size_t		 dns_pending(const struct dns *);

/*
 * dns_parse_forward - split "addr", "addr:port" or "[v6addr]:port" into
 * libunbound's "addr@port" form (port 53 by default).
 */
int	dns_parse_forward(const char *, char *out, size_t outsz, struct err *);

/*
 * dns_name_from_wire - read one uncompressed wire-format name at the start
 * of wire[0 .. len) and write it as text ("." for the root, no trailing
 * dot otherwise) into out (outsz >= DNS_NAME_SIZE always suffices).
 * Labels may hold letters, digits, '-' and '_' only: a name that cannot
 * be a host name is refused.  *used gets the wire length consumed.
 */
int	dns_name_from_wire(const uint8_t *wire, size_t len, size_t *used,
	    char *out, size_t outsz);
/* dns_parse_mx_rdata - MX rdata: preference, then exactly one name */
int	dns_parse_mx_rdata(const uint8_t *, size_t, struct dns_mx *);
/* dns_parse_name_rdata - PTR / CNAME rdata: exactly one name */
int	dns_parse_name_rdata(const uint8_t *, size_t, char *out, size_t outsz);
/* dns_parse_addr_rdata - A (4 bytes) or AAAA (16 bytes) into a sockaddr */
int	dns_parse_addr_rdata(int rrtype, const uint8_t *, size_t,
	    struct sockaddr_storage *);
/*
 * dns_parse_txt_rdata - TXT rdata: one or more <length><bytes> strings,
 * concatenated into out (NUL-terminated; outsz >= len always suffices).
 */
int	dns_parse_txt_rdata(const uint8_t *, size_t, char *out, size_t outsz,
	    size_t *outlen);
/*
 * dns_ptr_name - the reverse-lookup name of an address:
 * "4.3.2.1.in-addr.arpa" or the 32 nibbles under ip6.arpa.
 */
int	dns_ptr_name(const struct sockaddr_storage *, char *out, size_t outsz);

#endif
