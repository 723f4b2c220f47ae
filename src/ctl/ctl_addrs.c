/*
 * ctl_addrs.c - the server's public addresses from the config, and the
 * SPF record for them (ctl_addrs.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ifaddrs.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "ctl_addrs.h"

/* ctl_addr_public - a numeric address worth publishing */
bool
ctl_addr_public(const char *s, bool *v6)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	uint32_t	 h;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		h = ntohl(a4.s_addr);
		*v6 = false;
		/* not 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12,
		 * 192.168/16: nobody else can reach those (RFC 6890) */
		return (h >> 24) != 0 && (h >> 24) != 10 && (h >> 24) != 127 &&
		    (h >> 22) != (100u << 2 | 1) && (h >> 16) != 0xa9fe &&
		    (h >> 20) != 0xac1 && (h >> 16) != 0xc0a8;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		*v6 = true;
		/* not unspecified, loopback, link-local, mapped, fc00::/7 */
		return !IN6_IS_ADDR_UNSPECIFIED(&a6) &&
		    !IN6_IS_ADDR_LOOPBACK(&a6) && !IN6_IS_ADDR_LINKLOCAL(&a6) &&
		    !IN6_IS_ADDR_V4MAPPED(&a6) && (a6.s6_addr[0] & 0xfe) != 0xfc;
	}
	return false;
}

/* ctl_addr_add - one address, once */
void
ctl_addr_add(struct ctl_addr *v, size_t *n, const char *s, bool any)
{
	struct in6_addr	a6;
	char		norm[INET6_ADDRSTRLEN];
	size_t		i;
	bool		v6;

	if (s[0] == '\0' || *n == CTL_ADDRS_MAX)
		return;
	if (!ctl_addr_public(s, &v6)) {
		if (!any)
			return;
		v6 = inet_pton(AF_INET6, s, &a6) == 1;
	}
	/* one spelling of an IPv6 address: inet_ntop's */
	if (v6 && inet_pton(AF_INET6, s, &a6) == 1 &&
	    inet_ntop(AF_INET6, &a6, norm, sizeof(norm)) != NULL)
		s = norm;
	for (i = 0; i < *n; i++)
		if (strcmp(v[i].text, s) == 0)
			return;
	(void)snprintf(v[*n].text, sizeof(v[*n].text), "%s", s);
	v[(*n)++].v6 = v6;
}

/* ctl_addrs - the server's public addresses the config names */
size_t
ctl_addrs(const struct conf *c, struct ctl_addr *v)
{
	const struct listen_list	*l[3] = { &c->smtp_listen,
	    &c->submission_listen, &c->submissions_listen };
	size_t				 n = 0, i, j;

	ctl_addr_add(v, &n, c->outbound_source_ipv4, false);
	ctl_addr_add(v, &n, c->outbound_source_ipv6, false);
	for (i = 0; i < 3; i++)
		for (j = 0; j < l[i]->n; j++)
			ctl_addr_add(v, &n, l[i]->addr[j].host, false);
	return n;
}

/* ctl_spf_text - the SPF record covering the addresses */
void
ctl_spf_text(const struct ctl_addr *a, size_t n, char *out, size_t outsz)
{
	size_t	i, k;

	k = (size_t)snprintf(out, outsz, "v=spf1 mx");
	for (i = 0; i < n && k < outsz; i++)
		k += (size_t)snprintf(out + k, outsz - k, " ip%c:%s",
		    a[i].v6 ? '6' : '4', a[i].text);
	if (k < outsz)
		(void)snprintf(out + k, outsz - k, " -all");
}

/* ctl_name_public - could the world resolve name (not special-use)? */
bool
ctl_name_public(const char *name)
{
	static const char *const special[] = { "test", "example", "invalid",
	    "localhost", "local", "internal", "lan", "home.arpa",
	    "example.com", "example.net", "example.org" };
	size_t	i, nl = strlen(name), sl;

	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		sl = strlen(special[i]);
		if (strcasecmp(name, special[i]) == 0 || (nl > sl &&
		    name[nl - sl - 1] == '.' &&
		    strcasecmp(name + nl - sl, special[i]) == 0))
			return false;
	}
	return strchr(name, '.') != NULL;
}

/* ctl_addrs_local - the public addresses of this machine's interfaces */
size_t
ctl_addrs_local(struct ctl_addr *v)
{
	struct ifaddrs	*ifa, *i;
	char		 t[INET6_ADDRSTRLEN];
	size_t		 n = 0;

	if (getifaddrs(&ifa) == -1)
		return 0;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			(void)inet_ntop(AF_INET, &((struct sockaddr_in *)
			    (void *)i->ifa_addr)->sin_addr, t, sizeof(t));
		else if (i->ifa_addr->sa_family == AF_INET6)
			(void)inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
			    (void *)i->ifa_addr)->sin6_addr, t, sizeof(t));
		else
			continue;
		ctl_addr_add(v, &n, t, false);
	}
	freeifaddrs(ifa);
	return n;
}
