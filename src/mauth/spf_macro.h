/*
 * spf_macro.h - SPF macro strings (RFC 7208 7): syntax check and
 * expansion.  Pure: the caller supplies every value, DNS included (%{p}
 * is the name the caller validated, or "unknown").
 */
#ifndef POSTERN_SPF_MACRO_H
#define POSTERN_SPF_MACRO_H

#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define SPF_MACRO_OUT	1024	/* the longest expansion kept */

struct spf_macro_ctx {
	const char	*local;		/* l: sender's local part */
	const char	*sender_domain;	/* o */
	const char	*domain;	/* d: the domain being checked */
	int		 family;	/* AF_INET or AF_INET6 */
	struct in_addr	 ip4;		/* i, c, v */
	struct in6_addr	 ip6;
	const char	*ptr;		/* p: a validated name, or "unknown" */
	const char	*helo;		/* h */
	const char	*receiver;	/* r: our host name */
	unsigned long long now;		/* t: seconds since the epoch */
};

/*
 * spf_macro_check - is s a valid macro-string (7.1)?  Explanation text
 * (exp true) may also hold spaces and the letters c, r and t (6.2, 7.2)
 */
int	spf_macro_check(const char *s, size_t len, bool exp, struct err *);
/*
 * spf_macro_expand - 7.3-7.4: expand s into out (NUL-terminated).  For a
 * domain name (domain true) the result is cut from the left, whole
 * labels at a time, to 253 bytes (7.3, last paragraph).  -1 on a syntax
 * error or a result longer than outsz.
 */
int	spf_macro_expand(const char *s, size_t len,
	    const struct spf_macro_ctx *, bool exp, bool domain, char *out,
	    size_t outsz, struct err *);

#endif
