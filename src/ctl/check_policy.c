/*
 * check_policy.c - what `postern check` (ctl_check.h) reports beyond the
 * records mail needs: MTA-STS and TLS-RPT records (reported, not
 * required), DNSSEC of the zone (reported), and our addresses on the
 * common DNS blocklists (a listing is a FAIL: mail from a listed
 * address is refused widely; off with --no-dnsbl).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl_check.h"

/* the lists looked at, and whether they know IPv6 */
static const struct {
	const char	*zone;
	const char	*site;
	bool		 v6;
} dnsbls[] = {
	{ "zen.spamhaus.org", "https://check.spamhaus.org/", true },
	{ "bl.spamcop.net", "https://www.spamcop.net/bl.shtml", false },
	{ "b.barracudacentral.org", "https://www.barracudacentral.org/rbl",
	    false },
};

/* one_txt - the first TXT string of name starting with prefix, or NULL;
 * *secure: the answer was DNSSEC-validated */
static char *
one_txt(struct cctx *c, const char *name, const char *prefix, bool *secure)
{
	struct cans	 a;
	char		*out = NULL;
	size_t		 i, pl = strlen(prefix);

	*secure = false;
	if (cdns_lookup(&c->dns, name, DNS_T_TXT, &a) == -1)
		return NULL;
	*secure = a.secure;
	for (i = 0; i < a.n && out == NULL; i++)
		if (strncasecmp(a.txt[i], prefix, pl) == 0)
			out = strdup(a.txt[i]);
	cans_free(&a);
	return out;
}

/* check_tls_policy - MTA-STS and TLS-RPT, reported */
void
check_tls_policy(struct cctx *c)
{
	char	name[DNS_NAME_SIZE + 16], fix[600], *sts, *rpt;
	bool	sec;

	(void)snprintf(name, sizeof(name), "_mta-sts.%s", c->domain);
	sts = one_txt(c, name, "v=STSv1", &sec);
	(void)snprintf(name, sizeof(name), "_smtp._tls.%s", c->domain);
	rpt = one_txt(c, name, "v=TLSRPTv1", &sec);
	if (sts != NULL)
		cc_add(c, "mta-sts", CV_OK, NULL, "_mta-sts.%s: %.200s (the "
		    "policy file at https://mta-sts.%s/.well-known/mta-sts.txt "
		    "says which MX hosts senders must verify)", c->domain, sts,
		    c->domain);
	else
		cc_add(c, "mta-sts", CV_OK, NULL, "no MTA-STS record (optional: "
		    "senders then use TLS when offered, unverified)");
	(void)snprintf(fix, sizeof(fix), "optional: _smtp._tls.%s. 3600 IN "
	    "TXT \"v=TLSRPTv1; rua=mailto:postmaster@%s\"", c->domain,
	    c->domain);
	if (rpt != NULL)
		cc_add(c, "tls-rpt", CV_OK, NULL, "_smtp._tls.%s: %.200s",
		    c->domain, rpt);
	else if (sts != NULL)
		cc_add(c, "tls-rpt", CV_WARN, fix, "MTA-STS without a TLS-RPT "
		    "record: nobody tells you when senders fail its checks");
	else
		cc_add(c, "tls-rpt", CV_OK, NULL, "no TLS-RPT record (optional)");
	free(sts);
	free(rpt);
}

/* check_dnssec - is the zone signed (as our resolver validates it)? */
void
check_dnssec(struct cctx *c, bool validating)
{
	struct cans	a;

	if (!validating) {
		cc_add(c, "dnssec", CV_OK, NULL, "not looked at: no trust "
		    "anchor (dnssec_trust_anchor)");
		return;
	}
	if (cdns_lookup(&c->dns, c->domain, DNS_T_MX, &a) == -1)
		return;
	cc_add(c, "dnssec", CV_OK, NULL, a.secure ? "%s is signed and "
	    "validates (DNSSEC)" : "%s is not signed (DNSSEC is optional; "
	    "it lets senders trust your MX and DANE records)", c->domain);
	cans_free(&a);
}

/* rev_name - the DNSBL name of address a under zone */
static int
rev_name(const struct ctl_addr *a, const char *zone, char *out, size_t sz)
{
	unsigned char	b[16];
	size_t		i, k = 0;

	if (!a->v6) {
		if (inet_pton(AF_INET, a->text, b) != 1)
			return -1;
		return snprintf(out, sz, "%u.%u.%u.%u.%s", b[3], b[2], b[1],
		    b[0], zone) >= (int)sz ? -1 : 0;
	}
	if (inet_pton(AF_INET6, a->text, b) != 1)
		return -1;
	for (i = 16; i-- > 0 && k + 4 < sz;)
		k += (size_t)snprintf(out + k, sz - k, "%x.%x.", b[i] & 0xf,
		    b[i] >> 4);
	return snprintf(out + k, sz - k, "%s", zone) >= (int)(sz - k) ? -1 :
	    0;
}

/* check_dnsbl - our addresses on the common blocklists */
void
check_dnsbl(struct cctx *c)
{
	struct cans	 a;
	char		 name[DNS_NAME_SIZE + 80], fix[400], t[INET6_ADDRSTRLEN];
	size_t		 i, j, listed = 0, looked = 0;
	unsigned char	 b[4];

	for (i = 0; i < c->naddrs; i++)
		for (j = 0; j < sizeof(dnsbls) / sizeof(dnsbls[0]); j++) {
			if (c->addrs[i].v6 && !dnsbls[j].v6)
				continue;
			if (rev_name(&c->addrs[i], dnsbls[j].zone, name,
			    sizeof(name)) == -1 ||
			    cdns_lookup(&c->dns, name, DNS_T_A, &a) == -1)
				continue;
			if (a.ok && a.n > 0) {
				cans_addr_text(&a, 0, t, sizeof(t));
				/* 127.255.255.x: the list refused to answer
				 * (a public resolver), not a listing */
				if (inet_pton(AF_INET, t, b) == 1 &&
				    b[0] == 127 && b[1] == 255) {
					cans_free(&a);
					continue;
				}
				listed++;
				(void)snprintf(fix, sizeof(fix), "find why and "
				    "ask for removal: %s", dnsbls[j].site);
				cc_add(c, "dnsbl", CV_FAIL, fix, "%s is listed "
				    "on %s (%s): much mail from it is refused",
				    c->addrs[i].text, dnsbls[j].zone, t);
			} else if (a.ok || a.nxdomain)
				looked++;
			cans_free(&a);
		}
	if (listed == 0 && looked > 0)
		cc_add(c, "dnsbl", CV_OK, NULL, "no address on %zu blocklist "
		    "lookups", looked);
	else if (listed == 0)
		cc_add(c, "dnsbl", CV_WARN, "check by hand, or through another "
		    "resolver", "the blocklists could not be asked");
}
