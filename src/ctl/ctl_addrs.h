/*
 * ctl_addrs.h - the server's public addresses, as the config names them,
 * and the SPF record that covers them (ctl_addrs.c): what `dns` prints
 * and what `check` expects to find published.
 */
#ifndef POSTERN_CTL_ADDRS_H
#define POSTERN_CTL_ADDRS_H

#include <arpa/inet.h>

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"

struct conf;

#define CTL_ADDRS_MAX	(3 * LIM_LISTEN + 2 + 16)
#define CTL_SPF_MAX	2048

struct ctl_addr {
	char	 text[INET6_ADDRSTRLEN];
	bool	 v6;
};

/* ctl_addr_public - a numeric address others can reach (RFC 6890)? */
bool	ctl_addr_public(const char *, bool *v6);
/* ctl_addr_add - s (numeric; public ones only unless any) into v, once */
void	ctl_addr_add(struct ctl_addr *v, size_t *n, const char *s, bool any);
/*
 * ctl_addrs - outbound_source_ipv4/ipv6 and the listen addresses that are
 * public (not wildcard, loopback, link-local or private); how many
 */
size_t	ctl_addrs(const struct conf *, struct ctl_addr *v);
/* ctl_addrs_local - the public addresses of this machine's interfaces */
size_t	ctl_addrs_local(struct ctl_addr *v);
/* ctl_name_public - could the world resolve name (not a special-use
 * name: .test, .example, .invalid, .localhost, .local, example.com,
 * example.net, example.org (RFC 2606, 6761), ...)? */
bool	ctl_name_public(const char *name);
/* ctl_spf_text - "v=spf1 mx ip4:... ip6:... -all" */
void	ctl_spf_text(const struct ctl_addr *, size_t n, char *out,
	    size_t outsz);

#endif
