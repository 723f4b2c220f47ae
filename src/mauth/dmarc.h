/*
 * dmarc.h - DMARC (RFC 9989): the policy record, the DNS tree walk that
 * finds the policy and the organizational domain, alignment, and the
 * policy that applies.  Pure: the caller does the TXT lookups the walk
 * names and hands the answers back.
 */
#ifndef POSTERN_DMARC_H
#define POSTERN_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define DMARC_WALK_MAX	8	/* TXT queries of one tree walk */
#define DMARC_URIS_MAX	256	/* bytes of rua= / ruf= kept */

enum dmarc_policy {
	DMARC_NONE,
	DMARC_QUARANTINE,
	DMARC_REJECT,
};

enum dmarc_psd {
	DMARC_PSD_U,		/* unknown, the default */
	DMARC_PSD_Y,		/* a public suffix domain */
	DMARC_PSD_N,		/* an organizational domain */
};

struct dmarc_record {
	enum dmarc_policy	 p;
	enum dmarc_policy	 sp;	/* p when absent */
	enum dmarc_policy	 np;	/* sp when absent */
	bool			 p_given;	/* a valid p= was there */
	bool			 adkim_strict;
	bool			 aspf_strict;
	bool			 testing;	/* t=y */
	enum dmarc_psd		 psd;
	char			 fo[16];	/* "0" unless given */
	char			 rua[DMARC_URIS_MAX];
	char			 ruf[DMARC_URIS_MAX];
};

/* one step of a walk, filled by the caller */
struct dmarc_step {
	const char		*name;	/* a suffix of the walked domain */
	bool			 found;	/* a valid DMARC record there */
	struct dmarc_record	 rec;
};

/*
 * dmarc_record_is - does the TXT string begin a DMARC record ("v=DMARC1"
 * then ';' or the end)?  The one-record rule counts these (4.10).
 */
bool	dmarc_record_is(const char *s, size_t len);
/*
 * dmarc_record_parse - one TXT string: "v=DMARC1" first, then tag=value
 * pairs split at ';', leniently: unknown and retired tags (pct, rf, ri),
 * malformed parts and values that do not parse are ignored, a repeated
 * tag keeps its first value.  Without a valid p=, the record is p=none
 * if rua= names an address, else not a usable record.  -1 when it is not
 * a usable DMARC record.
 */
int	dmarc_record_parse(const char *s, size_t len, struct dmarc_record *,
	    struct err *);
/*
 * dmarc_walk_names - the names whose _dmarc TXT the walk queries, in
 * order (pointers into domain): the domain; if it has 8 labels or more,
 * then its last 7; then one label less at a time down to the top label.
 * Returns how many (at most DMARC_WALK_MAX).
 */
size_t	dmarc_walk_names(const char *domain, const char **names);
/*
 * dmarc_policy_step - the step whose record is the policy (4.10.1): the
 * author domain's, else that of org (dmarc_org_domain's answer), else a
 * public suffix domain's; -1 when none applies
 */
int	dmarc_policy_step(const struct dmarc_step *, size_t n,
	    const char *org);
/*
 * dmarc_org_domain - the organizational domain of a walked domain: the
 * first psd=n record, the name one label below the first psd=y record
 * (other than the domain's own), else the found record with the fewest
 * labels, else the domain itself; a pointer into domain
 */
const char *dmarc_org_domain(const char *domain, const struct dmarc_step *,
	    size_t n);
/*
 * dmarc_applies - the policy of record r for a message from domain, r
 * found at policy_name: p at the domain itself; np for a domain that
 * does not exist, else sp, below it
 */
enum dmarc_policy dmarc_applies(const struct dmarc_record *r,
	    const char *domain, const char *policy_name, bool nxdomain);
/*
 * dmarc_aligned - do an authenticated domain (SPF or DKIM d=) and the
 * author domain align: equal (strict), or the same organizational
 * domain (relaxed)?  Names compare ASCII case-insensitively.
 */
bool	dmarc_aligned(bool strict, const char *auth_domain,
	    const char *auth_org, const char *author_domain,
	    const char *author_org);
/* dmarc_policy_name - "none", "quarantine" or "reject" */
const char *dmarc_policy_name(enum dmarc_policy);

#endif
