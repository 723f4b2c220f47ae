/*
 * mx.h - where to deliver a domain's mail: an ordered plan of MX hosts
 * and their addresses (RFC 5321 5.1, RFC 7505).
 *
 * mx_resolve() looks up the MX records, then A and AAAA of every host in
 * parallel, and hands the caller one struct mx_plan: either a list of
 * hosts, best first, each with its addresses in the order to try, or a
 * failure that says temporary (retry later) or permanent (bounce), with
 * an enhanced status code (RFC 3463).
 *
 * An address literal (RFC 5321 4.1.3, "[192.0.2.1]", "[IPv6:2001:db8::1]")
 * needs no DNS: mx_plan_literal() makes its plan of one host and one
 * address, and mx_resolve() hands that plan on like any other.
 *
 * The ordering and selection logic is pure (mx_plan_build,
 * mx_addrset_from_result, mx_host_set_addrs, mx_plan_finish,
 * mx_plan_literal) so it can be tested with tables and an injected
 * random function.
 */
#ifndef POSTERN_MX_H
#define POSTERN_MX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "err.h"
#include "deliver/dns.h"

/* hosts kept from one MX answer (the best ones), addresses per host */
#define MX_MAX_HOSTS	32
#define MX_MAX_ADDRS	16

enum ip_family_pref {
	FAM_BOTH_V6_FIRST,	/* AAAA then A addresses of each host */
	FAM_V4_ONLY,
	FAM_V6_ONLY,
	FAM_BOTH_V4_FIRST,
};

struct mx_host {
	char			 name[DNS_NAME_SIZE];
	unsigned		 pref;
	bool			 secure;	/* addresses DNSSEC-secure */
	bool			 addr_temp;	/* a lookup failed (temp) */
	size_t			 naddrs;	/* in order to try; port 0 */
	struct sockaddr_storage	 addrs[MX_MAX_ADDRS];
};

struct mx_plan {
	char		 domain[DNS_NAME_SIZE];
	bool		 ok;		/* hosts to try; else err says why */
	struct err	 err;		/* err.temp: retry later; else bounce */
	char		 status[8];	/* failure's enhanced code: "5.1.10" */
	bool		 mx_secure;	/* MX answer (or none) DNSSEC-secure */
	bool		 implicit;	/* no MX: the domain (RFC 5321 5.1) */
	bool		 literal;	/* an address literal: no DNS, no SNI */
	size_t		 nbad;		/* malformed MX records ignored */
	size_t		 nskipped;	/* hosts dropped: no address */
	size_t		 nhosts;
	struct mx_host	 hosts[MX_MAX_HOSTS];
};

/* a random number in [0, upper), upper >= 1; NULL means arc4random_uniform */
typedef uint32_t	(*mx_rand_fn)(void *arg, uint32_t upper);

/*
 * mx_plan_build - stage 1, from the MX answer: returns 0 with plan->hosts
 * named (best first: by preference, equal preferences in random order,
 * duplicates and "." hosts dropped, at most MX_MAX_HOSTS) but no
 * addresses yet; or -1 with the plan failed for good: NXDOMAIN (5.1.2),
 * null MX (5.1.10), DNS failure or timeout or bogus answer (4.4.3).  No MX
 * records makes the domain its own implicit MX.
 */
int	mx_plan_build(struct mx_plan *, const char *domain,
	    const struct dns_result *mx, mx_rand_fn, void *rand_arg);

/* the outcome of one address lookup (A or AAAA) for one host */
enum mx_lookup {
	MXL_NONE,	/* not asked */
	MXL_OK,		/* addresses */
	MXL_NOADDR,	/* the name or the type does not exist */
	MXL_TEMP,	/* failed: retry later */
};

struct mx_addrset {
	enum mx_lookup		 status;
	bool			 secure;
	size_t			 n;
	struct sockaddr_storage	 addr[MX_MAX_ADDRS];
};

/* mx_addrset_from_result - classify an A or AAAA answer, keep its addresses */
void	mx_addrset_from_result(struct mx_addrset *, const struct dns_result *);
/*
 * mx_host_set_addrs - stage 2, per host: order its addresses by family
 * preference (v4 or v6 may be NULL: not asked).  When both families have
 * more than half of MX_MAX_ADDRS, each keeps half.
 */
void	mx_host_set_addrs(struct mx_host *, const struct mx_addrset *v4,
	    const struct mx_addrset *v6, enum ip_family_pref);
/*
 * mx_plan_finish - stage 3: drop hosts without addresses; 0 if any host
 * is left, else -1 with the plan failed: temporary if a lookup failed
 * (4.4.3), else permanent (5.4.4).
 */
int	mx_plan_finish(struct mx_plan *);

/*
 * mx_plan_literal - the plan of an address literal domain, "[IPv4]" or
 * "[IPv6:addr]" (the tag in any case; the plan's domain and host name
 * spell it "IPv6:"): one host named by the literal, one address, port 0.
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is that IPv4 address.
 * Returns -1 with the plan failed for good when the literal is not an
 * IPv4 or IPv6 address, or is a general literal ("[tag:content]"), or
 * names no possible mail server: unspecified (0.0.0.0/8, ::), multicast,
 * the IPv4 broadcast address, IPv6 link-local (no interface to reach it
 * by) (5.1.2); or when its family is one fam excludes (5.4.4).
 */
int	mx_plan_literal(struct mx_plan *, const char *domain,
	    enum ip_family_pref fam);

/* mx_family_parse - "both", "ipv6-first", "ipv4-first", "ipv4", "ipv6" */
int	mx_family_parse(const char *, enum ip_family_pref *);

struct mx_req;
typedef void	(*mx_cb)(void *arg, const struct mx_plan *);

/*
 * mx_resolve - build the plan for domain: a domain name (DNS), or an
 * address literal (mx_plan_literal(), no query).  cb runs exactly once,
 * from the event loop, never before mx_resolve returns, unless
 * mx_cancel() is called first; the plan is valid only during the
 * callback.  The returned handle is gone once cb runs.  Cancel every
 * request before dns_free().
 */
struct mx_req	*mx_resolve(struct dns *, const char *domain,
		    enum ip_family_pref, mx_cb cb, void *arg);
void		 mx_cancel(struct mx_req *);

#endif
