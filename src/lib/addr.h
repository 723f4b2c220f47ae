/*
 * addr.h - RFC 5321 mailbox and domain syntax (pure, no I/O).
 *
 * A mailbox is local@domain where local is a dot-string or a quoted-string
 * (RFC 5321 4.1.2) and domain a host name or an address literal.  With
 * utf8 (SMTPUTF8, RFC 6531) UTF-8 octets are allowed in both parts.
 * Domains are stored in ASCII lower case ("[IPv6:" keeps its tag as
 * RFC 5321 4.1.3 writes it); the local part as given.
 */
#ifndef POSTERN_ADDR_H
#define POSTERN_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"

struct err;

struct mailbox {
	char	 local[LIM_LOCAL_PART + 1];	/* quotes kept if quoted */
	char	 domain[LIM_DOMAIN + 1];	/* lower case */
	bool	 quoted;			/* local part was a quoted-string */
	bool	 literal;			/* domain is [address literal] */
};

/* addr_parse_mailbox - parse exactly len bytes "local@domain" */
int	addr_parse_mailbox(const char *s, size_t len, bool utf8,
	    struct mailbox *out, struct err *e);
/* addr_domain_valid - is s (len bytes) a syntactically valid domain name? */
bool	addr_domain_valid(const char *s, size_t len, bool utf8);
/* addr_literal_valid - is s (len bytes) "[IPv4]" or "[IPv6:addr]"? */
bool	addr_literal_valid(const char *s, size_t len);
/* addr_format - "local@domain" into out; returns -1 if it does not fit */
int	addr_format(const struct mailbox *, char *out, size_t outsz);
/*
 * addr_lower - ASCII lower-case a string in place, except the tag of an
 * IPv6 address literal: "[IPV6:::1]" becomes "[IPv6:::1]"
 */
void	addr_lower(char *);

#endif
