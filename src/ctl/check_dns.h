/*
 * check_dns.h - DNS lookups for `postern check`, one at a time, waiting
 * (check_dns.c): the asynchronous resolver of deliver/dns.h on a loop of
 * its own, through the configured dns_resolver, DNSSEC-validated where
 * the trust anchor is readable (the answer says whether it was secure).
 */
#ifndef POSTERN_CHECK_DNS_H
#define POSTERN_CHECK_DNS_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

#include "deliver/dns.h"

struct conf;
struct err;
struct event_base;

struct cdns {
	struct event_base	*base;
	struct dns		*dns;
	bool			 validating;	/* a trust anchor is in use */
};

/* one answer, copied: valid until cans_free */
struct cans {
	bool			 ok;		/* NOERROR (records or none) */
	bool			 nxdomain;
	bool			 timeout;
	bool			 secure;
	int			 rcode;
	size_t			 n;		/* records of the type asked */
	struct dns_mx		*mx;
	struct sockaddr_storage	*addr;
	struct dns_name		*name;
	char			**txt;		/* each NUL-terminated */
	size_t			*txtlen;
};

int	cdns_open(struct cdns *, const struct conf *, struct err *);
void	cdns_close(struct cdns *);
/* cdns_lookup - (name, type), waited for; -1 only if it cannot start */
int	cdns_lookup(struct cdns *, const char *name, int type, struct cans *);
void	cans_free(struct cans *);
/* cans_addr_text - record i of an A/AAAA answer as text */
void	cans_addr_text(const struct cans *, size_t i, char *out, size_t sz);

#endif
