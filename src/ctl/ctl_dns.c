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
 * from the config (ctl_addrs.c); when there are none the output says so
 * instead of guessing.
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
#include "ctl_addrs.h"
#include "ctl_dkim.h"
#include "err.h"
#include "strutil.h"
#include "xmalloc.h"

#define DNS_USAGE	"usage: postern [-C DIR] dns DOMAIN"
/* print_records - everything for one domain */
static int
print_records(const struct conf *c, const char *confdir, const char *d,
    struct err *e)
{
	struct ctl_dkim_key	*keys;
	struct ctl_addr		 a[CTL_ADDRS_MAX];
	struct buf		 out;
	size_t			 nk, na, i;
	char			 spf[CTL_SPF_MAX];
	int			 rc = -1;

	keys = xcalloc(DKIM_KEYS_MAX, sizeof(*keys));
	buf_init(&out, 64 * 1024);
	if (ctl_dkim_keys(confdir, d, keys, DKIM_KEYS_MAX, &nk, e) == -1)
		goto out;
	na = ctl_addrs(c, a);
	printf("; DNS records for %s, from %s (postern dns)\n\n", d, confdir);
	printf("; mail for %s goes to this server\n", d);
	printf("%s. 3600 IN MX 10 %s.\n\n", d, c->hostname);
	printf("; SPF: only this server sends for %s\n", d);
	ctl_spf_text(a, na, spf, sizeof(spf));
	printf("%s. 3600 IN TXT \"%s\"\n\n", d, spf);
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
