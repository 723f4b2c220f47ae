/*
 * spf_record.h - an SPF record (RFC 7208 4.5, 5, 6, 12) parsed into its
 * terms, with macro strings left unexpanded for spf_macro.  Pure.
 */
#ifndef POSTERN_SPF_RECORD_H
#define POSTERN_SPF_RECORD_H

#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define SPF_TERMS_MAX	512	/* directives in one record */

enum spf_qual {
	SPF_QUAL_PASS,		/* "+", the default */
	SPF_QUAL_FAIL,		/* "-" */
	SPF_QUAL_SOFTFAIL,	/* "~" */
	SPF_QUAL_NEUTRAL,	/* "?" */
};

enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

struct spf_term {
	enum spf_mech	 mech;
	enum spf_qual	 qual;
	const char	*domain;	/* macro string into the record, or NULL */
	size_t		 domainlen;
	int		 cidr4;		/* 0..32; 32 when absent */
	int		 cidr6;		/* 0..128; 128 when absent */
	struct in_addr	 ip4;		/* ip4: the network, as written */
	struct in6_addr	 ip6;		/* ip6: the network, as written */
};

struct spf_record {
	struct spf_term	 t[SPF_TERMS_MAX];
	size_t		 n;
	const char	*redirect;	/* redirect= domain-spec, or NULL */
	size_t		 redirectlen;
	const char	*exp;		/* exp= domain-spec, or NULL */
	size_t		 explen;
};

/*
 * spf_record_is_spf - 4.5: does this TXT string start an SPF record
 * ("v=spf1" alone or followed by a space, any case)?
 */
bool	spf_record_is_spf(const char *, size_t);
/*
 * spf_record_parse - exactly len bytes of one SPF record; strings point
 * into s.  -1 (4.6: permerror) on any syntax error, an unknown
 * mechanism, redirect= or exp= twice, or more than SPF_TERMS_MAX terms;
 * *out written only on success.
 */
int	spf_record_parse(const char *s, size_t len, struct spf_record *out,
	    struct err *);
/* spf_qual_name - "pass", "fail", "softfail" or "neutral" */
const char *spf_qual_name(enum spf_qual);
/* spf_domain_spec_ok - 7.1: a macro string ending as a domain-spec must */
bool	spf_domain_spec_ok(const char *, size_t);

#endif
