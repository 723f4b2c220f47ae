/*
 * ctl_check.h - `postern check`: what the checks share (ctl_check.c runs
 * them and reports; check_records.c looks at the DNS records,
 * check_host.c at this host: certificate, listeners, forwarding).
 */
#ifndef POSTERN_CTL_CHECK_H
#define POSTERN_CTL_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"
#include "check_dns.h"
#include "ctl_addrs.h"

struct conf;

enum cverdict { CV_OK, CV_WARN, CV_FAIL };

/* one line of the report: a verdict, what was seen, the fix */
struct citem {
	char		 name[16];
	enum cverdict	 v;
	char		 detail[640];
	char		 fix[1200];	/* "" for ok */
};

struct cctx {
	const struct conf	*conf;
	const char		*confdir;
	char			 domain[LIM_DOMAIN + 1];
	struct cdns		 dns;
	struct ctl_addr		 addrs[CTL_ADDRS_MAX];
	size_t			 naddrs;
	bool			 addrs_given;	/* --ip */
	/* the host name's published addresses (check_records) */
	struct ctl_addr		 host[CTL_ADDRS_MAX];
	size_t			 nhost;
	struct citem		*items;
	size_t			 nitems;
};

/* check_report.c: cc_add - a line of the report (fix: NULL or "" for
 * none) */
void	cc_add(struct cctx *, const char *name, enum cverdict,
	    const char *fix, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));

/* check_records.c */
void	check_mx(struct cctx *);
void	check_host_addrs(struct cctx *);
void	check_ptr(struct cctx *);
void	check_spf(struct cctx *);
void	check_dkim(struct cctx *);
void	check_dmarc(struct cctx *);

/* check_policy.c */
void	check_tls_policy(struct cctx *);
void	check_dnssec(struct cctx *, bool validating);
void	check_dnsbl(struct cctx *);

/* check_send.c: --send TO, a round trip through our submission port */
struct csend {
	const char	*to;
	const char	*user;		/* its password on standard input */
	const char	*server;	/* NULL: send's default */
	bool		 insecure;
	bool		 quiet;		/* the dialogue to stderr (--json) */
	unsigned	 wait;		/* seconds to follow it */
};
void	check_send(struct cctx *, const struct csend *);

/* check_dial.c: --dial, outbound port 25 and STARTTLS to each MX */
void	check_dial(struct cctx *, bool with_mx);

/* check_host.c */
void	check_cert(struct cctx *);
void	check_listeners(struct cctx *);
void	check_forwarding(struct cctx *);

#endif
