/*
 * check_records.c - the DNS records of `postern check` (ctl_check.h):
 * MX, the host name's addresses, PTR, SPF, DKIM, DMARC.  Each check adds
 * its lines to the report, the fix naming the exact record to publish.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "buf.h"
#include "conf.h"
#include "ctl_check.h"
#include "ctl_dkim.h"
#include "err.h"
#include "mauth/dmarc.h"
#include "verify/check.h"
#include "xmalloc.h"

#define CFIX	1200	/* a fix: struct citem's */

/* why - an answer's failure in words */
static const char *
why(const struct cans *a)
{
	if (a->timeout)
		return "timed out";
	if (a->nxdomain)
		return "no such name (NXDOMAIN)";
	if (a->rcode == DNS_R_SERVFAIL)
		return "SERVFAIL";
	return a->n == 0 ? "no record" : "failed";
}

/* check_mx - DOMAIN's MX names the host name */
void
check_mx(struct cctx *c)
{
	const char	*host = c->conf->hostname;
	struct cans	 a;
	char		 fix[CFIX], list[512];
	size_t		 i, k = 0;
	bool		 ours = false;

	(void)snprintf(fix, sizeof(fix), "publish: %s. 3600 IN MX 10 %s.",
	    c->domain, host);
	if (cdns_lookup(&c->dns, c->domain, DNS_T_MX, &a) == -1) {
		cc_add(c, "mx", CV_FAIL, fix, "MX of %s: the lookup did not "
		    "start", c->domain);
		return;
	}
	list[0] = '\0';
	for (i = 0; i < a.n; i++) {
		k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%u %s",
		    i ? ", " : "", a.mx[i].pref, a.mx[i].host);
		if (k >= sizeof(list))
			k = sizeof(list) - 1;
		if (strcasecmp(a.mx[i].host, host) == 0)
			ours = true;
	}
	if (!a.ok || a.n == 0)
		cc_add(c, "mx", CV_FAIL, fix, "%s has no MX record (%s): mail "
		    "for it cannot find this server", c->domain, why(&a));
	else if (!ours)
		cc_add(c, "mx", CV_FAIL, fix, "MX of %s is %s, not %s",
		    c->domain, list, host);
	else
		cc_add(c, "mx", CV_OK, NULL, "%s MX %s", c->domain, list);
	cans_free(&a);
}

/* host_lookup - the host name's A or AAAA into c->host */
static bool
host_lookup(struct cctx *c, int type)
{
	struct cans	a;
	char		t[INET6_ADDRSTRLEN];
	size_t		i;

	if (cdns_lookup(&c->dns, c->conf->hostname, type, &a) == -1)
		return false;
	for (i = 0; i < a.n; i++) {
		cans_addr_text(&a, i, t, sizeof(t));
		ctl_addr_add(c->host, &c->nhost, t, true);
	}
	cans_free(&a);
	return true;
}

/* check_host_addrs - the host name has each of our addresses */
void
check_host_addrs(struct cctx *c)
{
	const char	*host = c->conf->hostname;
	char		 fix[CFIX], seen[512];
	size_t		 i, j, k = 0, bad = 0;

	(void)host_lookup(c, DNS_T_A);
	(void)host_lookup(c, DNS_T_AAAA);
	seen[0] = '\0';
	for (i = 0; i < c->nhost; i++) {
		k += (size_t)snprintf(seen + k, sizeof(seen) - k, "%s%s",
		    i ? " " : "", c->host[i].text);
		if (k >= sizeof(seen))
			k = sizeof(seen) - 1;
	}
	if (c->naddrs == 0) {
		cc_add(c, "addr", CV_WARN, "name them: postern check DOMAIN "
		    "--ip ADDR (or set outbound_source_ipv4/ipv6)", "the config "
		    "names no public address of this host; %s has %s", host,
		    c->nhost > 0 ? seen : "no A or AAAA record");
		return;
	}
	for (i = 0; i < c->naddrs; i++) {
		for (j = 0; j < c->nhost; j++)
			if (strcmp(c->addrs[i].text, c->host[j].text) == 0)
				break;
		if (j < c->nhost)
			continue;
		bad++;
		(void)snprintf(fix, sizeof(fix), "publish: %s. 3600 IN %s %s",
		    host, c->addrs[i].v6 ? "AAAA" : "A", c->addrs[i].text);
		cc_add(c, "addr", CV_FAIL, fix, "%s has no %s record for %s "
		    "(it has: %s)", host, c->addrs[i].v6 ? "AAAA" : "A",
		    c->addrs[i].text, c->nhost > 0 ? seen : "none");
	}
	if (bad == 0)
		cc_add(c, "addr", CV_OK, NULL, "%s has %s", host, seen);
}

/* addr_ptr_name - the reverse name of a textual address */
static int
addr_ptr_name(const struct ctl_addr *a, char *out, size_t sz)
{
	struct sockaddr_storage	ss;

	memset(&ss, 0, sizeof(ss));
	if (a->v6) {
		ss.ss_family = AF_INET6;
		if (inet_pton(AF_INET6, a->text, &((struct sockaddr_in6 *)
		    (void *)&ss)->sin6_addr) != 1)
			return -1;
	} else {
		ss.ss_family = AF_INET;
		if (inet_pton(AF_INET, a->text, &((struct sockaddr_in *)
		    (void *)&ss)->sin_addr) != 1)
			return -1;
	}
	return dns_ptr_name(&ss, out, sz);
}

/* check_ptr - each address's PTR names the host, which has it back */
void
check_ptr(struct cctx *c)
{
	const char	*host = c->conf->hostname;
	struct cans	 a;
	char		 name[DNS_NAME_SIZE], fix[CFIX];
	size_t		 i, j;
	bool		 named, back;

	for (i = 0; i < c->naddrs; i++) {
		(void)snprintf(fix, sizeof(fix), "at the provider of %s, set "
		    "its reverse DNS (PTR) to %s", c->addrs[i].text, host);
		if (addr_ptr_name(&c->addrs[i], name, sizeof(name)) == -1 ||
		    cdns_lookup(&c->dns, name, DNS_T_PTR, &a) == -1) {
			cc_add(c, "ptr", CV_FAIL, fix, "%s: no reverse lookup",
			    c->addrs[i].text);
			continue;
		}
		named = false;
		for (j = 0; j < a.n; j++)
			if (strcasecmp(a.name[j].name, host) == 0)
				named = true;
		back = false;
		for (j = 0; j < c->nhost; j++)
			if (strcmp(c->host[j].text, c->addrs[i].text) == 0)
				back = true;
		if (!a.ok || a.n == 0)
			cc_add(c, "ptr", CV_FAIL, fix, "%s has no PTR (%s): "
			    "receivers distrust mail from it", c->addrs[i].text,
			    why(&a));
		else if (!named)
			cc_add(c, "ptr", CV_FAIL, fix, "PTR of %s is %s, not %s",
			    c->addrs[i].text, a.name[0].name, host);
		else if (!back)
			cc_add(c, "ptr", CV_FAIL, "publish the A/AAAA record "
			    "the addr check names", "PTR of %s is %s, but %s "
			    "does not resolve back to it (not forward-"
			    "confirmed)", c->addrs[i].text, host, host);
		else
			cc_add(c, "ptr", CV_OK, NULL, "%s -> %s -> %s "
			    "(forward-confirmed)", c->addrs[i].text, host,
			    c->addrs[i].text);
		cans_free(&a);
	}
}

/* txt_records - the TXT strings of name that start with prefix (case
 * insensitive, then a blank, ';' or the end); *n of them, *all in all */
static char **
txt_records(struct cctx *c, const char *name, const char *prefix, size_t *n,
    struct cans *a)
{
	char	**v = xcalloc(DNS_MAX_RR + 1, sizeof(*v));
	size_t	  i, pl = strlen(prefix);

	*n = 0;
	if (cdns_lookup(&c->dns, name, DNS_T_TXT, a) == -1)
		return v;
	for (i = 0; i < a->n; i++)
		if (a->txtlen[i] >= pl && strncasecmp(a->txt[i], prefix, pl) ==
		    0 && (a->txt[i][pl] == '\0' || a->txt[i][pl] == ' ' ||
		    a->txt[i][pl] == ';'))
			v[(*n)++] = a->txt[i];
	return v;
}

struct spf_wait {
	bool	done;
};

/* spf_done - the SPF evaluation ended */
static void
spf_done(struct check *k, void *arg)
{
	(void)k;
	((struct spf_wait *)arg)->done = true;
}

/* spf_for - check_host() for address a, sending as postmaster@domain */
static int
spf_for(struct cctx *c, const struct ctl_addr *a, struct check *k)
{
	struct check_in		 in;
	struct spf_wait		 w = { false };
	struct err		 e;
	char			 from[LIM_DOMAIN + 16];

	memset(&in, 0, sizeof(in));
	memset(k, 0, sizeof(*k));
	if (a->v6) {
		if (inet_pton(AF_INET6, a->text, &in.ip) != 1)
			return -1;
	} else {
		if (inet_pton(AF_INET, a->text, &in.ip.s6_addr[12]) != 1)
			return -1;
		in.ip.s6_addr[10] = in.ip.s6_addr[11] = 0xff;
		in.v4 = true;
	}
	(void)snprintf(from, sizeof(from), "postmaster@%s", c->domain);
	in.helo = c->conf->hostname;
	in.mail_from = from;
	in.authserv_id = c->conf->hostname;
	in.max_sigs = 1;
	in.now = (unsigned long long)time(NULL);
	if (check_start(k, c->dns.dns, &in, spf_done, &w, &e) == -1)
		return -1;
	while (!w.done)
		if (event_base_loop(c->dns.base, EVLOOP_ONCE) == -1)
			return -1;
	return 0;
}

/* check_spf - one SPF record, which passes each of our addresses */
void
check_spf(struct cctx *c)
{
	struct check	*k = xcalloc(1, sizeof(*k));
	struct cans	 a;
	char		 rec[CTL_SPF_MAX], fix[CTL_SPF_MAX + LIM_DOMAIN + 64];
	char		 **v;
	size_t		 n, i, bad = 0;

	ctl_spf_text(c->addrs, c->naddrs, rec, sizeof(rec));
	(void)snprintf(fix, sizeof(fix), "publish: %s. 3600 IN TXT \"%s\"",
	    c->domain, rec);
	v = txt_records(c, c->domain, "v=spf1", &n, &a);
	if (n == 0)
		cc_add(c, "spf", CV_FAIL, fix, "%s has no SPF record (%s): "
		    "receivers cannot tell this server may send for it",
		    c->domain, a.ok ? "no TXT v=spf1" : why(&a));
	else if (n > 1)
		cc_add(c, "spf", CV_FAIL, "keep one v=spf1 TXT record, e.g. "
		    "the one below", "%s has %zu SPF records: that is a "
		    "permerror everywhere", c->domain, n);
	for (i = 0; n == 1 && i < c->naddrs; i++) {
		if (spf_for(c, &c->addrs[i], k) == -1) {
			cc_add(c, "spf", CV_FAIL, fix, "SPF of %s for %s: the "
			    "evaluation did not run", c->domain,
			    c->addrs[i].text);
			bad++;
			continue;
		}
		if (k->spf != SPF_PASS) {
			bad++;
			cc_add(c, "spf", CV_FAIL, fix, "SPF of %s gives %s for "
			    "%s%s%s (record: %.300s)", c->domain,
			    spf_result_name(k->spf), c->addrs[i].text,
			    k->spf_why[0] != '\0' ? ": " : "", k->spf_why,
			    v[0]);
		}
		check_free(k);
	}
	if (n == 1 && bad == 0)
		cc_add(c, "spf", c->naddrs > 0 ? CV_OK : CV_WARN, c->naddrs > 0 ?
		    NULL : "run with --ip ADDR to evaluate it", "%s: %.300s%s",
		    c->domain, v[0], c->naddrs > 0 ? " (pass for every "
		    "address)" : " (no address to evaluate it for)");
	free(v);
	cans_free(&a);
	free(k);
}

/* tag_value - the value of tag (e.g. "p") in a "t=v; t=v" record, its
 * blanks inside kept; NULL if absent */
static char *
tag_value(const char *rec, const char *tag)
{
	const char	*p = rec, *end, *eq;
	size_t		 tl = strlen(tag);
	char		*v;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		end = p + strcspn(p, ";");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL) {
			const char	*t = eq;

			while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
				t--;
			if ((size_t)(t - p) == tl && strncasecmp(p, tag, tl) ==
			    0) {
				eq++;
				while (eq < end && (*eq == ' ' || *eq == '\t'))
					eq++;
				v = xstrndup(eq, (size_t)(end - eq));
				while (*v != '\0' && strchr(" \t",
				    v[strlen(v) - 1]) != NULL)
					v[strlen(v) - 1] = '\0';
				return v;
			}
		}
		p = end;
	}
	return NULL;
}

/* squeeze - s without blanks (base64 in a DKIM p= may hold FWS) */
static void
squeeze(char *s)
{
	char	*d = s;

	for (; *s != '\0'; s++)
		if (!isspace((unsigned char)*s))
			*d++ = *s;
	*d = '\0';
}

/* dkim_one - the record of one key */
static void
dkim_one(struct cctx *c, const struct ctl_dkim_key *key)
{
	struct cans	 a;
	struct buf	 zone;
	char		 name[DNS_NAME_SIZE + 32], fix[1200], **v, *ours, *theirs;
	size_t		 n;

	buf_init(&zone, 8192);
	(void)snprintf(fix, sizeof(fix), "publish (as one record; postern dns "
	    "%s prints it)", c->domain);
	if (ctl_dkim_txt_zone(c->domain, key, &zone) == 0)
		(void)snprintf(fix, sizeof(fix), "publish: %.*s",
		    (int)buf_avail(&zone), buf_ptr(&zone));
	buf_release(&zone);
	(void)snprintf(name, sizeof(name), "%s._domainkey.%s", key->selector,
	    c->domain);
	v = txt_records(c, name, "v=DKIM1", &n, &a);
	ours = tag_value(key->txt, "p");
	theirs = n == 1 ? tag_value(v[0], "p") : NULL;
	if (theirs != NULL && strchr(theirs, '"') == NULL)
		squeeze(theirs);
	if (n == 0)
		cc_add(c, "dkim", CV_FAIL, fix, "%s has no DKIM record (%s): "
		    "receivers cannot verify what this server signs", name,
		    a.ok ? "no TXT v=DKIM1" : why(&a));
	else if (n > 1)
		cc_add(c, "dkim", CV_FAIL, fix, "%s has %zu DKIM records; keep "
		    "one", name, n);
	else if (theirs == NULL || theirs[0] == '\0')
		cc_add(c, "dkim", CV_FAIL, fix, "%s has no key (no p=): the "
		    "key is revoked", name);
	else if (strchr(theirs, '"') != NULL || strchr(theirs, '\\') != NULL)
		cc_add(c, "dkim", CV_FAIL, fix, "%s holds quotes inside its "
		    "key: it was pasted with its zone-file quotes, or split in "
		    "the wrong place", name);
	else if (ours != NULL && strcmp(theirs, ours) != 0 &&
	    strncmp(ours, theirs, strlen(theirs)) == 0)
		cc_add(c, "dkim", CV_FAIL, fix, "%s holds only %zu of the %zu "
		    "characters of the key: the record was cut short", name,
		    strlen(theirs), strlen(ours));
	else if (ours != NULL && strcmp(theirs, ours) != 0)
		cc_add(c, "dkim", CV_FAIL, fix, "%s holds another key than "
		    "domains/%s/dkim/%s.pem", name, c->domain, key->selector);
	else
		cc_add(c, "dkim", CV_OK, NULL, "%s holds this key (%s, %d "
		    "bits)", name, key->ed25519 ? "ed25519" : "rsa", key->bits);
	free(ours);
	free(theirs);
	free(v);
	cans_free(&a);
}

/* check_dkim - each key of the domain is published exactly */
void
check_dkim(struct cctx *c)
{
	struct ctl_dkim_key	*keys = xcalloc(DKIM_KEYS_MAX, sizeof(*keys));
	struct err		 e;
	char			 fix[CFIX];
	size_t			 n, i;

	if (ctl_dkim_keys(c->confdir, c->domain, keys, DKIM_KEYS_MAX, &n,
	    &e) == -1)
		cc_add(c, "dkim", CV_FAIL, NULL, "the keys: %s", e.msg);
	else if (n == 0) {
		(void)snprintf(fix, sizeof(fix), "postern -C %.300s "
		    "dkim-keygen %s, then publish what postern dns %s prints",
		    c->confdir,
		    c->domain, c->domain);
		cc_add(c, "dkim", CV_FAIL, fix, "%s has no DKIM key: mail from "
		    "it goes out unsigned", c->domain);
	}
	for (i = 0; i < n; i++)
		dkim_one(c, &keys[i]);
	free(keys);
}

/* dmarc_lint - the tags a strict reader would refuse, into out ("" if
 * none) */
static void
dmarc_lint(const char *rec, char *out, size_t sz)
{
	static const char *const known[] = { "v", "p", "sp", "np", "adkim",
	    "aspf", "fo", "rua", "ruf", "t", "psd", "pct", "rf", "ri" };
	const char	*p = rec, *end, *eq;
	size_t		 i, k = 0, tl;

	out[0] = '\0';
	while (*p != '\0' && k < sz) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		if (*p == '\0')
			break;
		end = p + strcspn(p, ";");
		eq = memchr(p, '=', (size_t)(end - p));
		tl = eq != NULL ? (size_t)(eq - p) : 0;
		while (tl > 0 && (p[tl - 1] == ' ' || p[tl - 1] == '\t'))
			tl--;
		for (i = 0; eq != NULL && i < sizeof(known) / sizeof(known[0]);
		    i++)
			if (strlen(known[i]) == tl && strncasecmp(p, known[i],
			    tl) == 0)
				break;
		if (eq == NULL || i == sizeof(known) / sizeof(known[0]))
			k += (size_t)snprintf(out + k, sz - k, "%s\"%.*s\"",
			    k ? ", " : "", (int)(end - p) > 40 ? 40 :
			    (int)(end - p), p);
		p = end;
	}
}

static const char *const pwords[] = {
	[DMARC_NONE] = "none: failing mail is delivered, only reported",
	[DMARC_QUARANTINE] = "quarantine: failing mail goes to spam",
	[DMARC_REJECT] = "reject: failing mail is refused",
};

/* dmarc_rua - report addresses (rua, ruf) outside the domain need their
 * consent (RFC 9990) */
static void
dmarc_rua(struct cctx *c, const char *uris)
{
	char	 *list = xstrdup(uris), *u, *p = list, *at, *dom, name[600];
	char	 fix[800], **v;
	struct cans a;
	size_t	  n, dl;

	while ((u = strsep(&p, ",")) != NULL) {
		while (*u == ' ')
			u++;
		if (strncasecmp(u, "mailto:", 7) != 0 ||
		    (at = strrchr(u, '@')) == NULL)
			continue;
		dom = at + 1;
		dom[strcspn(dom, "! ")] = '\0';
		dl = strlen(dom);
		if (strcasecmp(dom, c->domain) == 0 || (dl > strlen(c->domain) &&
		    strcasecmp(dom + dl - strlen(c->domain), c->domain) == 0 &&
		    dom[dl - strlen(c->domain) - 1] == '.'))
			continue;
		(void)snprintf(name, sizeof(name), "%s._report._dmarc.%s",
		    c->domain, dom);
		v = txt_records(c, name, "v=DMARC1", &n, &a);
		(void)snprintf(fix, sizeof(fix), "ask the owner of %s to "
		    "publish: %s. IN TXT \"v=DMARC1\"", dom, name);
		if (n == 0)
			cc_add(c, "dmarc", CV_WARN, fix, "reports go to %s, "
			    "which has not agreed to take them (no %s): "
			    "receivers send it none", u, name);
		free(v);
		cans_free(&a);
	}
	free(list);
}

/* check_dmarc - one record, strict syntax, the policy in words */
void
check_dmarc(struct cctx *c)
{
	struct dmarc_record	 r;
	struct cans		 a;
	struct err		 e;
	char			 name[DNS_NAME_SIZE + 8], fix[CFIX], lint[512];
	char			 **v;
	size_t			 n;

	(void)snprintf(name, sizeof(name), "_dmarc.%s", c->domain);
	(void)snprintf(fix, sizeof(fix), "publish: %s. 3600 IN TXT "
	    "\"v=DMARC1; p=quarantine; fo=1; rua=mailto:postmaster@%s\"", name,
	    c->domain);
	v = txt_records(c, name, "v=DMARC1", &n, &a);
	if (n == 0)
		cc_add(c, "dmarc", CV_FAIL, fix, "%s has no DMARC record (%s): "
		    "Gmail and Yahoo ask for one", name, a.ok ? "no TXT "
		    "v=DMARC1" : why(&a));
	else if (n > 1)
		cc_add(c, "dmarc", CV_FAIL, fix, "%s has %zu DMARC records: "
		    "receivers then apply none", name, n);
	else if (dmarc_record_parse(v[0], strlen(v[0]), &r, &e) == -1)
		cc_add(c, "dmarc", CV_FAIL, fix, "%s does not parse: %s "
		    "(record: %.200s)", name, e.msg, v[0]);
	else {
		dmarc_lint(v[0], lint, sizeof(lint));
		if (!r.p_given)
			cc_add(c, "dmarc", CV_FAIL, fix, "%s has no valid p= "
			    "(none, quarantine or reject): receivers read it "
			    "as p=none (record: %.200s)", name, v[0]);
		else if (lint[0] != '\0')
			cc_add(c, "dmarc", CV_FAIL, fix, "%s: syntax errors in "
			    "%s; p=%s (record: %.200s)", name, lint,
			    pwords[r.p], v[0]);
		else
			cc_add(c, "dmarc", r.p == DMARC_NONE ? CV_WARN : CV_OK,
			    r.p == DMARC_NONE ? "once reports look right, "
			    "move to p=quarantine" : NULL, "p=%s%s%s", pwords[r.p],
			    r.rua[0] != '\0' ? "; aggregate reports to " : "",
			    r.rua);
		if (r.rua[0] != '\0')
			dmarc_rua(c, r.rua);
		if (r.ruf[0] != '\0')
			dmarc_rua(c, r.ruf);
	}
	free(v);
	cans_free(&a);
}
