/*
 * ctl_check.c - what the world sees of a domain, each verdict with its
 * fix:
 *
 *	postern [-C DIR] check DOMAIN [--ip ADDR]... [--json] [-v]
 *
 * Runs as the administrator, on the live config: every lookup through the
 * configured resolver (dns_resolver honoured, as serve honours it).  The
 * checks, in order: MX, the host name's A/AAAA, PTR of each address
 * (forward-confirmed), SPF (one record, and a pass for each address by
 * postern's own evaluator), DKIM (each key's record holds exactly its
 * public key), DMARC (one record, strict syntax, the policy in words,
 * outside report addresses authorised), MTA-STS and TLS-RPT (reported),
 * DNSSEC (reported), the common DNS blocklists (--no-dnsbl: not), the
 * certificate of the host name, the listeners, forwarding (the SRS
 * secret, the aliases that forward); with --dial, outbound port 25 and
 * STARTTLS to each MX (check_dial.c); with --send TO, a round trip (the
 * user's password on standard input; check_send.c).
 * The addresses are the public ones of the config, or those given with
 * --ip.  One line per check, "ok", "warn" or "FAIL", and under each warn
 * or FAIL the fix in one line; -v adds the details of the ok ones too.
 * --json: one object, {"domain", "hostname", "addresses", "checks":
 * [{"check", "verdict", "detail", "fix"}], "ok", "warn", "fail"}.
 *
 * Exit codes: 0 nothing FAILs, 1 something does (or the config does not
 * load), 2 usage.
 */
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "ctl.h"
#include "ctl_check.h"
#include "ctl_json.h"
#include "err.h"
#include "strutil.h"
#include "xmalloc.h"

#define CHECK_USAGE	"usage: postern [-C DIR] check DOMAIN [--ip ADDR]... " \
			"[--json] [-v] [--no-dnsbl] [--dial]\n" \
			"    [--send TO --user U --password-stdin [--server " \
			"HOST:PORT] [--insecure] [--wait SECONDS]]"

static const char *const vnames[] = { "ok", "warn", "FAIL" };

/* print_text - the report, one screen unless verbose */
static void
print_text(const struct cctx *c, bool verbose, const size_t *count)
{
	size_t	i;

	printf("postern check %s (host %s", c->domain, c->conf->hostname);
	for (i = 0; i < c->naddrs; i++)
		printf("%s%s", i == 0 ? ", addresses " : " ", c->addrs[i].text);
	printf(")\n");
	for (i = 0; i < c->nitems; i++) {
		const struct citem	*it = &c->items[i];

		if (it->v == CV_OK && !verbose) {
			printf("%-5s %-10s %.100s\n", vnames[it->v], it->name,
			    it->detail);
			continue;
		}
		printf("%-5s %-10s %s\n", vnames[it->v], it->name, it->detail);
		if (it->fix[0] != '\0')
			printf("      fix: %s\n", it->fix);
	}
	printf("%zu FAIL, %zu warn, %zu ok\n", count[CV_FAIL], count[CV_WARN],
	    count[CV_OK]);
}

/* print_json - the report as one object */
static void
print_json(const struct cctx *c, const size_t *count)
{
	size_t	i;

	printf("{\"domain\": ");
	ctl_json_str(c->domain);
	printf(", \"hostname\": ");
	ctl_json_str(c->conf->hostname);
	printf(", \"addresses\": [");
	for (i = 0; i < c->naddrs; i++) {
		printf("%s", i > 0 ? ", " : "");
		ctl_json_str(c->addrs[i].text);
	}
	printf("], \"checks\": [");
	for (i = 0; i < c->nitems; i++) {
		printf("%s{\"check\": ", i > 0 ? ", " : "");
		ctl_json_str(c->items[i].name);
		printf(", \"verdict\": ");
		ctl_json_str(c->items[i].v == CV_FAIL ? "fail" :
		    vnames[c->items[i].v]);
		printf(", \"detail\": ");
		ctl_json_str(c->items[i].detail);
		printf(", \"fix\": ");
		if (c->items[i].fix[0] != '\0')
			ctl_json_str(c->items[i].fix);
		else
			printf("null");
		printf("}");
	}
	printf("], \"ok\": %zu, \"warn\": %zu, \"fail\": %zu}\n", count[CV_OK],
	    count[CV_WARN], count[CV_FAIL]);
}

/*
 * ctl_check_preflight - what init can check before any record is
 * published: the host name resolves, not to loopback, to this machine's
 * public addresses, each with its PTR back (FCrDNS); with dial, outbound
 * port 25 opens.  Skipped for a test name.  Prints its lines; the number of warnings and failures.
 */
size_t
ctl_check_preflight(const char *confdir, bool dial)
{
	struct conf	*conf = xcalloc(1, sizeof(*conf));
	struct cctx	*c = xcalloc(1, sizeof(*c));
	struct err	 e;
	size_t		 i, bad = 0;

	if (conf_load(conf, confdir, &e) == -1) {
		printf("pre-flight: not run: %s\n", e.msg);
		goto out;
	}
	if (!ctl_name_public(conf->hostname)) {
		printf("pre-flight: skipped (%s is a test name: nothing to look "
		    "up)\n", conf->hostname);
		goto out_conf;
	}
	c->conf = conf;
	c->confdir = confdir;
	(void)snprintf(c->domain, sizeof(c->domain), "%s", conf->hostname);
	c->naddrs = ctl_addrs_local(c->addrs);
	if (cdns_open(&c->dns, conf, &e) == -1) {
		printf("pre-flight: not run: resolver: %s\n", e.msg);
		goto out_conf;
	}
	printf("pre-flight checks of %s:\n", conf->hostname);
	check_host_addrs(c);
	for (i = 0; i < c->nhost; i++)
		if (strncmp(c->host[i].text, "127.", 4) == 0 ||
		    strcmp(c->host[i].text, "::1") == 0)
			cc_add(c, "addr", CV_WARN, "publish this host's public "
			    "address for it (and remove the loopback one)", "%s "
			    "resolves to %s, a loopback address: no other host "
			    "can reach it", conf->hostname, c->host[i].text);
	if (c->nhost == 0)
		cc_add(c, "addr", CV_WARN, "publish its A/AAAA records (postern "
		    "dns DOMAIN prints them)", "%s does not resolve yet",
		    conf->hostname);
	check_ptr(c);
	if (dial)
		check_dial(c, false);
	for (i = 0; i < c->nitems; i++) {
		printf("  %-5s %-6s %s\n", vnames[c->items[i].v],
		    c->items[i].name, c->items[i].detail);
		if (c->items[i].fix[0] != '\0')
			printf("        fix: %s\n", c->items[i].fix);
		if (c->items[i].v != CV_OK)
			bad++;
	}
	cdns_close(&c->dns);
out_conf:
	conf_free(conf);
out:
	free(c->items);
	free(c);
	free(conf);
	return bad;
}

/* ctl_check - postern [-C DIR] check DOMAIN [options] */
int
ctl_check(const char *confdir, int argc, char **argv)
{
	struct conf	*conf = xcalloc(1, sizeof(*conf));
	struct cctx	*c = xcalloc(1, sizeof(*c));
	struct err	 e;
	const char	*domain = NULL;
	size_t		 count[3] = { 0, 0, 0 }, i;
	bool		 json = false, verbose = false, dnsbl = true;
	bool		 dial = false;
	struct csend	 snd = { .wait = 60 };
	unsigned long long w;
	unsigned char	 bin[16];
	int		 rc = 2;

	memset(&e, 0, sizeof(e));
	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "-v") == 0)
			verbose = true;
		else if (strcmp(argv[i], "--no-dnsbl") == 0)
			dnsbl = false;
		else if (strcmp(argv[i], "--dial") == 0)
			dial = true;
		else if (strcmp(argv[i], "--send") == 0 && i + 1 < (size_t)argc)
			snd.to = argv[++i];
		else if (strcmp(argv[i], "--user") == 0 && i + 1 < (size_t)argc)
			snd.user = argv[++i];
		else if (strcmp(argv[i], "--server") == 0 &&
		    i + 1 < (size_t)argc)
			snd.server = argv[++i];
		else if (strcmp(argv[i], "--password-stdin") == 0)
			;	/* send reads it */
		else if (strcmp(argv[i], "--insecure") == 0)
			snd.insecure = true;
		else if (strcmp(argv[i], "--wait") == 0 && i + 1 < (size_t)argc &&
		    str_to_ull(argv[i + 1], 1, 3600, &w) == 0) {
			snd.wait = (unsigned)w;
			i++;
		}
		else if (strcmp(argv[i], "--ip") == 0 && i + 1 < (size_t)argc) {
			i++;
			if (inet_pton(AF_INET, argv[i], bin) != 1 &&
			    inet_pton(AF_INET6, argv[i], bin) != 1) {
				fprintf(stderr, "postern: --ip %s is not an "
				    "address\n", argv[i]);
				goto out;
			}
			ctl_addr_add(c->addrs, &c->naddrs, argv[i], true);
			c->addrs_given = true;
		} else if (argv[i][0] != '-' && domain == NULL)
			domain = argv[i];
		else {
			fprintf(stderr, "%s\n", CHECK_USAGE);
			goto out;
		}
	}
	if (domain == NULL || strlen(domain) >= sizeof(c->domain) ||
	    (snd.to != NULL) != (snd.user != NULL)) {
		fprintf(stderr, "%s\n", CHECK_USAGE);
		goto out;
	}
	snd.quiet = json;
	rc = 1;
	(void)snprintf(c->domain, sizeof(c->domain), "%s", domain);
	addr_lower(c->domain);
	if (conf_load(conf, confdir, &e) == -1) {
		fprintf(stderr, "postern: %s\n", e.msg);
		goto out;
	}
	if (conf_domain(conf, c->domain) == NULL) {
		fprintf(stderr, "postern: %s is not a domain of %s\n",
		    c->domain, confdir);
		goto out_conf;
	}
	c->conf = conf;
	c->confdir = confdir;
	if (!c->addrs_given)
		c->naddrs = ctl_addrs(conf, c->addrs);
	if (cdns_open(&c->dns, conf, &e) == -1) {
		fprintf(stderr, "postern: resolver: %s\n", e.msg);
		goto out_conf;
	}
	check_mx(c);
	check_host_addrs(c);
	check_ptr(c);
	check_spf(c);
	check_dkim(c);
	check_dmarc(c);
	check_tls_policy(c);
	check_dnssec(c, c->dns.validating);
	if (dnsbl)
		check_dnsbl(c);
	check_cert(c);
	check_listeners(c);
	check_forwarding(c);
	if (dial)
		check_dial(c, true);
	if (snd.to != NULL)
		check_send(c, &snd);
	for (i = 0; i < c->nitems; i++)
		count[c->items[i].v]++;
	if (json)
		print_json(c, count);
	else
		print_text(c, verbose, count);
	rc = count[CV_FAIL] > 0 ? 1 : 0;
	cdns_close(&c->dns);
out_conf:
	conf_free(conf);
out:
	free(c->items);
	free(c);
	free(conf);
	return rc;
}
