/*
 * check.h - the inbound checks of one message: SPF (RFC 7208), DKIM
 * (RFC 6376), DMARC (RFC 9989) and the Authentication-Results field
 * (RFC 8601) that reports them, every lookup asynchronous on a dns
 * context's event loop.  The same code serves `postern verify` and the
 * server.
 */
#ifndef POSTERN_CHECK_H
#define POSTERN_CHECK_H

#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"
#include "buf.h"
#include "mauth/dkim_verify.h"
#include "mauth/dmarc_eval.h"
#include "mauth/spf.h"

struct dns;

/*
 * check_pre - the message side of the checks, with no DNS and no key:
 * each DKIM signature's digests (after dkim_verify_end; no context left
 * open) and the author domain.  The smtp session computes it while DATA
 * streams; check_start computes it itself from a whole message.
 */
struct check_pre {
	struct dkim_verify	 dv;
	char			 author[LIM_DOMAIN + 1];
	bool			 author_bad;	/* From missing or not one */
	bool			 header_bad;	/* the header did not split */
};

struct check_in {
	struct in6_addr	 ip;		/* v4-mapped for IPv4 */
	bool		 v4;
	const char	*helo;
	const char	*mail_from;	/* "local@domain", or "" for <> */
	const char	*authserv_id;	/* our host name */
	const char	*msg;		/* header and body (CRLF), or NULL */
	size_t		 len;
	const struct check_pre *pre;	/* msg NULL: its side computed, or
					   NULL too: SPF only */
	unsigned	 max_sigs;	/* DKIM signatures looked at */
	unsigned long long now;
};

struct check_dkim {
	char		 d[LIM_DOMAIN + 1];
	char		 s[LIM_DOMAIN + 1];
	char		 b[12];		/* the first bytes of b= */
	const char	*result;	/* pass, fail, neutral, permerror, temperror */
	bool		 no_dmarc;	/* a pass DMARC may not count on */
	char		 why[256];
};

struct check {
	/* results */
	enum spf_result		 spf;
	char			 spf_domain[LIM_DOMAIN + 1];
	bool			 spf_helo;	/* the HELO identity was checked */
	char			 spf_explanation[256];
	char			 spf_why[160];
	struct check_dkim	 dkim[DKIM_VERIFY_MAX];
	size_t			 ndkim;
	bool			 dmarc_done;	/* evaluated (a message was given) */
	const char		*dmarc;		/* RFC 8601 word */
	char			 dmarc_domain[LIM_DOMAIN + 1];	/* author */
	const char		*dmarc_policy;	/* applied on fail, else p */
	char			 authres[8192];	/* the field, with CRLF */
	/* state */
	const struct check_in	*in;
	struct dns		*dns;
	struct spf_eval		 spf_ev;
	struct dkim_verify	 dv;
	struct dmarc_eval	 dm;
	char			 author[LIM_DOMAIN + 1];
	bool			 author_bad;	/* From missing or not one */
	bool			 header_bad;	/* the header did not split */
	bool			 have_msg;	/* DKIM and DMARC to do */
	char			 mail_local[LIM_LOCAL_PART + 1];
	size_t			 pending;	/* DKIM key lookups out */
	void			(*done)(struct check *, void *);
	void			*arg;
};

/*
 * check_start - run every check of in on dns's loop; done(c, arg) runs
 * once, when all are known (from the loop, or before check_start returns
 * when no lookup is needed).  c and in must live until then (in->pre is
 * copied at the start).  A header
 * that does not split makes DKIM and DMARC permerror, never a skip.  -1
 * (done never runs) only when the check cannot start at all.
 */
int	check_start(struct check *c, struct dns *dns, const struct check_in *in,
	    void (*done)(struct check *, void *), void *arg, struct err *);
/* check_free - what the check holds (after done) */
void	check_free(struct check *);

#endif
