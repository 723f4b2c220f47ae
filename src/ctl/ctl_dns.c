/*
 * ctl_dns.c - the records to publish for a domain, from the live config:
 *
 *	postern [-C DIR] dns DOMAIN
 *
 * Runs as the administrator; reads postern.conf and the domain's DKIM
 * keys, looks nothing up.  Prints zone-file lines ready to paste: MX (the
 * host name), SPF ("mx" plus every public address the config names, then
 * -all), one TXT per DKIM key (strings of at most 255 bytes), DMARC
 * (quarantine, with a comment line on each choice of p and fo), the A or
 * AAAA of the host name and the PTR each address needs.  Addresses come
 * from outbound_source_ipv4/ipv6 and from listen addresses that are
 * public (not wildcard, loopback, link-local or private, RFC 6890); when
 * there are none the output says so instead of guessing.
 *
 * Exit codes: 0 printed, 1 failed (one line on stderr), 2 usage.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "bounds.h"
#include "buf.h"
#include "conf.h"
#include "ctl.h"
#include "ctl_dkim.h"
#include "err.h"
#include "strutil.h"
#include "xmalloc.h"

#define DNS_USAGE	"usage: postern [-C DIR] dns DOMAIN"
#define DNS_ADDRS_MAX	(3 * LIM_LISTEN + 2)

struct dns_addr {
	char	 text[INET6_ADDRSTRLEN];
	bool	 v6;
};

/* public - a numeric address worth publishing; its family in *v6 */
static bool
public(const char *s, bool *v6)
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

/* add - one address, once */
static void
add(struct dns_addr *v, size_t *n, const char *s)
{
	size_t	i;
	bool	v6;

	if (s[0] == '\0' || !public(s, &v6) || *n == DNS_ADDRS_MAX)
		return;
	for (i = 0; i < *n; i++)
		if (strcmp(v[i].text, s) == 0)
			return;
	(void)snprintf(v[*n].text, sizeof(v[*n].text), "%s", s);
	v[(*n)++].v6 = v6;
}

/* addrs - the server's public addresses the config names */
static size_t
addrs(const struct conf *c, struct dns_addr *v)
{
	const struct listen_list	*l[3] = { &c->smtp_listen,
	    &c->submission_listen, &c->submissions_listen };
	size_t				 n = 0, i, j;

	add(v, &n, c->outbound_source_ipv4);
	add(v, &n, c->outbound_source_ipv6);
	for (i = 0; i < 3; i++)
		for (j = 0; j < l[i]->n; j++)
			add(v, &n, l[i]->addr[j].host);
	return n;
}

/* print_records - everything for one domain */
static int
print_records(const struct conf *c, const char *confdir, const char *d,
    struct err *e)
{
	struct ctl_dkim_key	*keys;
	struct dns_addr		 a[DNS_ADDRS_MAX];
	struct buf		 out;
	size_t			 nk, na, i;
	int			 rc = -1;

	keys = xcalloc(DKIM_KEYS_MAX, sizeof(*keys));
	buf_init(&out, 64 * 1024);
	if (ctl_dkim_keys(confdir, d, keys, DKIM_KEYS_MAX, &nk, e) == -1)
		goto out;
	na = addrs(c, a);
	printf("; DNS records for %s, from %s (postern dns)\n\n", d, confdir);
	printf("; mail for %s goes to this server\n", d);
	printf("%s. 3600 IN MX 10 %s.\n\n", d, c->hostname);
	printf("; SPF: only this server sends for %s\n", d);
	printf("%s. 3600 IN TXT \"v=spf1 mx", d);
	for (i = 0; i < na; i++)
		printf(" ip%c:%s", a[i].v6 ? '6' : '4', a[i].text);
	printf(" -all\"\n\n");
	if (nk == 0)
		printf("; DKIM: no key yet; make one with: postern -C %s "
		    "dkim-keygen %s\n\n", confdir, d);
	for (i = 0; i < nk; i++) {
		printf("; DKIM key %s (%s, %d bits)\n", keys[i].selector,
		    keys[i].ed25519 ? "ed25519" : "rsa", keys[i].bits);
		buf_reset(&out);
		if (ctl_dkim_txt_zone(d, &keys[i], &out) == -1) {
			err_set(e, false, 0, "record too long");
			goto out;
		}
		printf("%.*s\n", (int)buf_avail(&out), buf_ptr(&out));
	}
	printf("; DMARC: what receivers do with mail that fails both SPF and "
	    "DKIM alignment\n"
	    ";   p=none: deliver and report (to start with); quarantine: "
	    "to spam; reject: refuse\n"
	    ";   fo=0: report when both fail; 1: when either fails; d: DKIM "
	    "fails; s: SPF fails\n");
	printf("_dmarc.%s. 3600 IN TXT \"v=DMARC1; p=quarantine; fo=1; "
	    "rua=mailto:postmaster@%s\"\n\n", d, d);
	if (na == 0) {
		printf("; the host name: postern.conf names no public address "
		    "(set outbound_source_ipv4\n"
		    "; and outbound_source_ipv6, or listen on them), so publish "
		    "by hand:\n"
		    ";   %s. IN A <IPv4>   and   %s. IN AAAA <IPv6>\n"
		    ";   and at the provider of each address, a PTR naming "
		    "%s.\n", c->hostname, c->hostname, c->hostname);
	} else {
		printf("; the host name, and the reverse DNS (PTR) each address "
		    "needs, set at its provider\n");
		for (i = 0; i < na; i++)
			printf("%s. 3600 IN %s %s\n", c->hostname,
			    a[i].v6 ? "AAAA" : "A", a[i].text);
		for (i = 0; i < na; i++)
			printf("; PTR of %s: %s.\n", a[i].text, c->hostname);
	}
	rc = 0;
out:
	buf_release(&out);
	free(keys);
	return rc;
}

/* ctl_dns - postern [-C DIR] dns DOMAIN */
int
ctl_dns(const char *confdir, int argc, char **argv)
{
	struct conf	*c;
	struct err	 e;
	char		 d[LIM_DOMAIN + 1];
	int		 rc = 1;

	if (argc != 2 || argv[1][0] == '-' || strlen(argv[1]) >= sizeof(d)) {
		fprintf(stderr, "%s\n", DNS_USAGE);
		return 2;
	}
	(void)snprintf(d, sizeof(d), "%s", argv[1]);
	addr_lower(d);
	memset(&e, 0, sizeof(e));
	c = xcalloc(1, sizeof(*c));
	if (conf_load(c, confdir, &e) == -1)
		goto out;
	if (conf_domain(c, d) == NULL) {
		err_set(&e, false, 0, "%s is not a domain of %s", d, confdir);
		goto out;
	}
	if (print_records(c, confdir, d, &e) == 0)
		rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "postern: %s\n", e.msg);
	conf_free(c);
	free(c);
	return rc;
}
