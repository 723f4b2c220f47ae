/*
 * dmarc_eval.h - DMARC's evaluation of one message (RFC 9989) as a
 * resumable state machine, like spf.h: the caller looks up what it is
 * asked (TXT of _dmarc names, the author domain's existence) and hands
 * the answers back.  Pure.
 */
#ifndef POSTERN_DMARC_EVAL_H
#define POSTERN_DMARC_EVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"
#include "mauth/dmarc.h"

#define DMARC_AUTH_MAX	9	/* SPF's domain and up to 8 DKIM d= */
#define DMARC_TXT_MAX	8	/* TXT records looked at per name */

enum dmarc_result {
	DMARC_R_NONE,		/* no policy record */
	DMARC_R_PASS,
	DMARC_R_FAIL,
	DMARC_R_TEMPERROR,
};

enum dmarc_qtype {
	DMARC_Q_TXT,		/* of _dmarc.NAME */
	DMARC_Q_EXISTS,		/* does NAME exist (any type; NXDOMAIN?) */
};

struct dmarc_query {
	enum dmarc_qtype	 type;
	char			 name[LIM_DOMAIN + 8];
};

enum dmarc_dns_status {
	DMARC_DNS_OK,
	DMARC_DNS_NXDOMAIN,
	DMARC_DNS_TEMP,
};

struct dmarc_answer {
	enum dmarc_dns_status	 status;
	size_t			 n;
	const char		*txt[DMARC_TXT_MAX];	/* strings joined */
};

struct dmarc_walk {
	char			 domain[LIM_DOMAIN + 1];
	const char		*names[DMARC_WALK_MAX];
	struct dmarc_step	 steps[DMARC_WALK_MAX];
	size_t			 n, i;
	bool			 stop;		/* psd= seen: the org is known */
};

struct dmarc_eval {
	/* inputs */
	char			 author[LIM_DOMAIN + 1];
	char			 auth[DMARC_AUTH_MAX][LIM_DOMAIN + 1];
	bool			 auth_spf[DMARC_AUTH_MAX];	/* else DKIM */
	size_t			 nauth, ai;
	/* state */
	int			 phase;
	struct dmarc_walk	 w;
	char			 author_org[LIM_DOMAIN + 1];
	bool			 have_policy;
	struct dmarc_record	 policy;
	char			 policy_domain[LIM_DOMAIN + 1];
	struct dmarc_query	 q;
	/* outcome */
	enum dmarc_result	 result;
	bool			 spf_aligned, dkim_aligned;
	enum dmarc_policy	 applied;	/* what a fail asks for */
	char			 reason[120];
};

/*
 * dmarc_eval_init - the author domain (RFC5322.From's), the domain SPF
 * passed for (NULL: SPF did not pass) and the d= of every DKIM signature
 * that passed
 */
void	dmarc_eval_init(struct dmarc_eval *, const char *author,
	    const char *spf_pass_domain, const char *const *dkim_pass_d,
	    size_t ndkim);
/* dmarc_eval_next - true with *q to look up; false when decided */
bool	dmarc_eval_next(struct dmarc_eval *, struct dmarc_query *q);
/* dmarc_eval_answer - the answer to the last query */
void	dmarc_eval_answer(struct dmarc_eval *, const struct dmarc_answer *);
/* dmarc_result_name - RFC 8601's word for a result */
const char *dmarc_result_name(enum dmarc_result);

#endif
