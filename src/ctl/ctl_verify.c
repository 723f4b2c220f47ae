/*
 * ctl_verify.c - the inbound checks of a message, as serve runs them:
 *
 *	postern [-C DIR] verify --ip IP [--helo NAME] [--from ADDR] [--json]
 *	    < MESSAGE
 *
 * Runs as the administrator.  Reads postern.conf for the host name (the
 * authserv-id), the resolver (dns_resolver, honoured as serve honours it)
 * and the DNSSEC trust anchor; the message from stdin (bare LF line ends
 * taken as CRLF, as a file usually has them), at most max_message_size
 * bytes.  SPF is checked for ADDR (for HELO when --from is absent or
 * empty: the null sender), DKIM for every signature, DMARC over both,
 * all through src/verify/check.c on a libunbound context.  With empty
 * input only SPF is evaluated.  Prints the Authentication-Results field
 * serve would add, or with --json one object:
 *	{"spf": {"result", "domain", "explanation"},
 *	 "dkim": [{"domain", "selector", "result"}],
 *	 "dmarc": {"result", "policy", "domain"}}
 * Exit codes: 0 evaluated (whatever the results), 1 failed (config,
 * resolver), 2 usage.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "ctl.h"
#include "ctl_json.h"
#include "deliver/dns.h"
#include "err.h"
#include "verify/check.h"
#include "xmalloc.h"

#define VERIFY_USAGE	"usage: postern [-C DIR] verify --ip IP [--helo NAME]" \
			" [--from ADDR] [--json] < MESSAGE"

struct verify_run {
	struct event_base	*base;
	bool			 done;
};

/* print_json - the results as one object */
static void
print_json(const struct check *c)
{
	size_t	i;

	printf("{\"spf\": {\"result\": ");
	ctl_json_str(spf_result_name(c->spf));
	printf(", \"domain\": ");
	ctl_json_str(c->spf_domain);
	printf(", \"explanation\": ");
	ctl_json_str(c->spf_explanation);
	printf("}, \"dkim\": [");
	for (i = 0; i < c->ndkim; i++) {
		printf("%s{\"domain\": ", i > 0 ? ", " : "");
		ctl_json_str(c->dkim[i].d);
		printf(", \"selector\": ");
		ctl_json_str(c->dkim[i].s);
		printf(", \"result\": ");
		ctl_json_str(c->dkim[i].result != NULL ? c->dkim[i].result :
		    "permerror");
		printf("}");
	}
	printf("], \"dmarc\": {\"result\": ");
	ctl_json_str(c->dmarc_done ? c->dmarc : "none");
	printf(", \"policy\": ");
	ctl_json_str(c->dmarc_done && c->dmarc_policy != NULL ? c->dmarc_policy :
	    "none");
	printf(", \"domain\": ");
	ctl_json_str(c->dmarc_done ? c->dmarc_domain : "");
	printf("}}\n");
}

/* verify_done - every check known */
static void
verify_done(struct check *c, void *arg)
{
	struct verify_run	*r = arg;

	(void)c;
	r->done = true;
	if (r->base != NULL)
		(void)event_base_loopbreak(r->base);
}

/* read_message - stdin, bare LF as CRLF, at most max bytes */
static char *
read_message(unsigned long long max, size_t *len, struct err *e)
{
	char	*in, *out;
	size_t	 n = 0, cap = 65536, i, o = 0;
	ssize_t	 r;

	in = xmalloc(cap);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			in = xreallocarray(in, cap, 1);
		}
		if ((r = read(STDIN_FILENO, in + n, cap - n)) <= 0)
			break;
		if ((n += (size_t)r) > max) {
			free(in);
			err_set(e, false, 0, "message larger than "
			    "max_message_size");
			return NULL;
		}
	}
	out = xreallocarray(NULL, n + 1, 2);
	for (i = 0; i < n; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = in[i];
	}
	free(in);
	*len = o;
	return out;
}

/* ctl_verify - postern verify */
int
ctl_verify(const char *confdir, int argc, char **argv)
{
	struct conf		*conf;
	struct check_in		 in;
	struct check		*c;
	struct verify_run	 run;
	struct dns		*dns = NULL;
	struct err		 e;
	const char		*ip = NULL, *helo = "", *from = "", *ta;
	char			*msg = NULL;
	size_t			 len = 0;
	bool			 json = false;
	int			 i, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ip") == 0 && i + 1 < argc)
			ip = argv[++i];
		else if (strcmp(argv[i], "--helo") == 0 && i + 1 < argc)
			helo = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			goto usage;
	}
	memset(&in, 0, sizeof(in));
	if (ip == NULL)
		goto usage;
	if (inet_pton(AF_INET6, ip, &in.ip) == 1) {
		in.v4 = IN6_IS_ADDR_V4MAPPED(&in.ip);
	} else if (inet_pton(AF_INET, ip, &in.ip.s6_addr[12]) == 1) {
		in.ip.s6_addr[10] = in.ip.s6_addr[11] = 0xff;
		in.v4 = true;
	} else {
		fprintf(stderr, "postern: --ip %s is not an address\n", ip);
		return 2;
	}
	if (from[0] == '<') {	/* "<>" or "<a@b>" as SMTP writes them */
		static char	 unbr[LIM_PATH + 1];
		size_t		 fl = strlen(from);

		(void)snprintf(unbr, sizeof(unbr), "%.*s",
		    fl >= 2 ? (int)(fl - 2) : 0, from + 1);
		from = unbr;
	}
	memset(&e, 0, sizeof(e));
	conf = xcalloc(1, sizeof(*conf));
	c = xcalloc(1, sizeof(*c));
	memset(&run, 0, sizeof(run));
	if (conf_load(conf, confdir, &e) == -1)
		goto out;
	if ((msg = read_message(conf->max_message_size, &len, &e)) == NULL)
		goto out;
	if ((run.base = event_base_new()) == NULL) {
		err_set(&e, false, 0, "event_base_new failed");
		goto out;
	}
	ta = conf->dnssec_trust_anchor;
	if (strcmp(ta, CONF_TA_NONE) == 0 || access(ta, R_OK) != 0)
		ta = NULL;
	if ((dns = dns_new(run.base, conf->dns_resolver[0] != '\0' ?
	    conf->dns_resolver : NULL, ta, &e)) == NULL &&
	    (ta == NULL || (dns = dns_new(run.base, conf->dns_resolver[0] !=
	    '\0' ? conf->dns_resolver : NULL, NULL, &e)) == NULL))
		goto out;
	if (dns_set_bogus_fallback(dns, &e) == -1)
		goto out;
	in.helo = helo;
	in.mail_from = from;
	in.authserv_id = conf->hostname;
	in.msg = len > 0 ? msg : NULL;
	in.len = len;
	in.max_sigs = DKIM_VERIFY_MAX;
	in.now = (unsigned long long)time(NULL);
	if (check_start(c, dns, &in, verify_done, &run, &e) == -1)
		goto out;
	while (!run.done)
		if (event_base_loop(run.base, EVLOOP_ONCE) == -1)
			break;
	if (!run.done) {
		err_set(&e, false, 0, "the checks did not finish");
		goto out;
	}
	if (json)
		print_json(c);
	else
		fputs(c->authres, stdout);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "postern: %s\n", e.msg);
	check_free(c);
	dns_free(dns);
	if (run.base != NULL)
		event_base_free(run.base);
	free(msg);
	free(c);
	conf_free(conf);
	free(conf);
	return rc;
usage:
	fprintf(stderr, "%s\n", VERIFY_USAGE);
	return 2;
}
