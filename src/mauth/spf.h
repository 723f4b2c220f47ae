/*
 * spf.h - check_host() of RFC 7208 as a resumable state machine: the
 * caller asks what to look up next, does the lookup however it likes
 * (asynchronously, on its own loop) and hands the answer back.  Pure: no
 * I/O, no clock; memory bounded by the lookup limits.
 */
#ifndef POSTERN_SPF_H
#define POSTERN_SPF_H

#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"
#include "err.h"

#define SPF_DNS_MECHS_MAX	10	/* 4.6.4: terms that query DNS */
#define SPF_VOID_MAX		2	/* 4.6.4: lookups with no answer */
#define SPF_MX_MAX		10	/* 4.6.4: names one mx may query */
#define SPF_PTR_MAX		10	/* 4.6.4: names one ptr checks */
#define SPF_ANS_MAX		32	/* answers looked at per lookup */
#define SPF_TXT_MAX		4096	/* bytes of one TXT record kept */

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

enum spf_qtype {
	SPF_Q_TXT,
	SPF_Q_A,
	SPF_Q_AAAA,
	SPF_Q_MX,
	SPF_Q_PTR,
};

struct spf_query {
	enum spf_qtype	 type;
	char		 name[LIM_DOMAIN + 1];
};

enum spf_dns_status {
	SPF_DNS_OK,		/* answers (maybe none: NODATA) */
	SPF_DNS_NXDOMAIN,
	SPF_DNS_TEMP,		/* SERVFAIL, timeout */
};

struct spf_answer {
	enum spf_dns_status	 status;
	size_t			 n;
	/* TXT (each record's strings joined), MX exchanges, PTR names */
	const char		*names[SPF_ANS_MAX];
	/* A, AAAA: the addresses, IPv4 as v4-mapped IPv6 */
	struct in6_addr		 addrs[SPF_ANS_MAX];
};

struct spf_frame;

struct spf_eval {
	/* the check's inputs */
	struct in6_addr		 ip;		/* v4-mapped for IPv4 */
	bool			 v4;
	char			 local[LIM_LOCAL_PART + 1];
	char			 sender_domain[LIM_DOMAIN + 1];
	char			 helo[LIM_DOMAIN + 1];
	char			 receiver[LIM_DOMAIN + 1];
	unsigned long long	 now;
	/* the state */
	struct spf_frame	*top;		/* innermost check_host() */
	size_t			 depth;
	unsigned		 dns_mechs;
	unsigned		 voids;
	bool			 done;
	bool			 want_exp;	/* fetching the explanation */
	struct spf_query	 q;		/* the lookup asked for */
	/* the outcome */
	enum spf_result		 result;
	char			 reason[160];
	char			 explanation[256];
};

/*
 * spf_eval_init - check_host(ip, domain, sender) for MAIL FROM's domain
 * (or the HELO name, 2.3); local is "postmaster" for an empty local part
 * (4.3)
 */
int	spf_eval_init(struct spf_eval *, const struct in6_addr *ip, bool v4,
	    const char *local, const char *domain, const char *helo,
	    const char *receiver, unsigned long long now, struct err *);
/*
 * spf_eval_next - true with *q to look up, then spf_eval_answer; false
 * when the result is known
 */
bool	spf_eval_next(struct spf_eval *, struct spf_query *q);
/* spf_eval_answer - the answer to the query spf_eval_next gave */
void	spf_eval_answer(struct spf_eval *, const struct spf_answer *);
/* spf_eval_free - release the frames (the result stays readable) */
void	spf_eval_free(struct spf_eval *);
/* spf_result_name - RFC 8601's word for a result */
const char *spf_result_name(enum spf_result);

#endif
