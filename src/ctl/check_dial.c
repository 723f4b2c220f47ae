/*
 * check_dial.c - `postern check --dial` (ctl_check.h): what only a
 * connection tells.  Outbound port 25 to a well-known MX (gmail.com's):
 * many VPS providers block it, and then no mail leaves.  STARTTLS to
 * every MX host of the domain, the certificate verified against the
 * system's roots and the MX name: what senders that verify (MTA-STS,
 * DANE) will see.  Hosts are resolved through the configured resolver;
 * the port is outbound_smtp_port (25).  The dialogue's chatter (send's
 * connection code) goes to /dev/null.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "ctl_check.h"
#include "ctl_send.h"
#include "err.h"
#include "xmalloc.h"

#define DIAL_PROBE	"gmail.com"	/* a well-known MX to reach */

/* first_addr - a numeric address of host (A first, then AAAA), or false */
static bool
first_addr(struct cctx *c, const char *host, char *out, size_t sz)
{
	struct cans	a;
	bool		found = false;
	int		types[2] = { DNS_T_A, DNS_T_AAAA }, i;

	for (i = 0; i < 2 && !found; i++) {
		if (cdns_lookup(&c->dns, host, types[i], &a) == -1)
			continue;
		if (a.ok && a.n > 0) {
			cans_addr_text(&a, 0, out, sz);
			found = true;
		}
		cans_free(&a);
	}
	return found;
}

/* quiet - stdout to /dev/null (send's chatter); the old one returned */
static int
quiet(void)
{
	int	saved, null;

	fflush(stdout);
	if ((saved = dup(1)) == -1)
		return -1;
	if ((null = open("/dev/null", O_WRONLY | O_CLOEXEC)) != -1) {
		(void)dup2(null, 1);
		(void)close(null);
	}
	return saved;
}

/* loud - stdout back */
static void
loud(int saved)
{
	fflush(stdout);
	if (saved != -1) {
		(void)dup2(saved, 1);
		(void)close(saved);
	}
}

/* starttls - EHLO, STARTTLS and a verified handshake with host at addr;
 * 0, or -1 with why */
static int
starttls(struct cctx *c, const char *host, const char *addr,
    const char *port, char *why, size_t sz)
{
	struct send_conn	 sc;
	struct send_reply	*r = xmalloc(sizeof(*r));
	struct err		 e;
	char			 name[DNS_NAME_SIZE];
	size_t			 i;
	bool			 offered = false;
	int			 rc = -1, saved = quiet();

	send_conn_init(&sc);
	(void)snprintf(name, sizeof(name), "%s", host);
	if (send_conn_open(&sc, addr, port, &e) == -1 ||
	    send_conn_reply(&sc, r, &e) == -1) {
		(void)snprintf(why, sz, "no answer on %s port %s: %s", addr,
		    port, e.msg);
		goto out;
	}
	if (r->code != 220) {
		(void)snprintf(why, sz, "it greets with %d %.100s", r->code,
		    r->text[0]);
		goto out;
	}
	if (send_conn_cmd(&sc, false, &e, "EHLO %s", c->conf->hostname) ==
	    -1 || send_conn_reply(&sc, r, &e) == -1 || r->code != 250) {
		(void)snprintf(why, sz, "EHLO refused");
		goto out;
	}
	for (i = 0; i < r->nlines; i++)
		if (strncasecmp(r->text[i], "STARTTLS", 8) == 0)
			offered = true;
	if (!offered) {
		(void)snprintf(why, sz, "it does not offer STARTTLS");
		goto out;
	}
	if (send_conn_cmd(&sc, false, &e, "STARTTLS") == -1 ||
	    send_conn_reply(&sc, r, &e) == -1 || r->code != 220) {
		(void)snprintf(why, sz, "STARTTLS refused");
		goto out;
	}
	if (send_conn_tls(&sc, "tls", name, false, false, &e) == -1) {
		(void)snprintf(why, sz, "%s", e.msg);
		goto out;
	}
	(void)send_conn_cmd(&sc, false, &e, "QUIT");
	rc = 0;
out:
	send_conn_close(&sc);
	loud(saved);
	free(r);
	return rc;
}

/* check_dial - outbound port 25, and (mx) STARTTLS to each MX of the
 * domain */
void
check_dial(struct cctx *c, bool with_mx)
{
	struct cans	 mx;
	char		 port[8], addr[64], why[600], fix[400];
	char		 probe[DNS_NAME_SIZE];
	size_t		 i, best;
	bool		 answered;

	(void)snprintf(port, sizeof(port), "%u", c->conf->outbound_smtp_port);
	/* outbound: the lowest-preference MX of the probe domain */
	probe[0] = '\0';
	if (cdns_lookup(&c->dns, DIAL_PROBE, DNS_T_MX, &mx) == 0) {
		for (i = 0, best = 0; i < mx.n; i++)
			if (mx.mx[i].pref < mx.mx[best].pref)
				best = i;
		if (mx.ok && mx.n > 0)
			(void)snprintf(probe, sizeof(probe), "%s",
			    mx.mx[best].host);
		cans_free(&mx);
	}
	if (probe[0] == '\0' || !first_addr(c, probe, addr, sizeof(addr)))
		cc_add(c, "dial", CV_WARN, "check the resolver", "%s's MX "
		    "cannot be resolved: outbound port %s not tried",
		    DIAL_PROBE, port);
	else {
		int	saved = quiet();
		struct send_conn	sc;
		struct send_reply	*r = xmalloc(sizeof(*r));
		struct err		 e;

		send_conn_init(&sc);
		answered = send_conn_open(&sc, addr, port, &e) == 0 &&
		    send_conn_reply(&sc, r, &e) == 0 && r->code == 220;
		if (answered)
			(void)send_conn_cmd(&sc, false, &e, "QUIT");
		send_conn_close(&sc);
		loud(saved);
		free(r);
		(void)snprintf(fix, sizeof(fix), "ask the provider to open "
		    "outbound port %s (many block it for new machines), or "
		    "relay through a smarthost", port);
		if (answered)
			cc_add(c, "dial", CV_OK, NULL, "outbound port %s opens: "
			    "%s (%s) answered 220", port, probe, addr);
		else
			cc_add(c, "dial", CV_FAIL, fix, "outbound port %s seems "
			    "blocked: %s (%s) does not answer", port, probe,
			    addr);
	}
	/* inbound, as a sender sees it: STARTTLS to each MX of the domain */
	if (!with_mx || cdns_lookup(&c->dns, c->domain, DNS_T_MX, &mx) == -1)
		return;
	for (i = 0; mx.ok && i < mx.n; i++) {
		if (strcmp(mx.mx[i].host, ".") == 0)
			continue;
		if (!first_addr(c, mx.mx[i].host, addr, sizeof(addr))) {
			cc_add(c, "tls", CV_FAIL, "publish its A/AAAA", "MX %s "
			    "does not resolve", mx.mx[i].host);
			continue;
		}
		if (starttls(c, mx.mx[i].host, addr, port, why,
		    sizeof(why)) == 0)
			cc_add(c, "tls", CV_OK, NULL, "MX %s (%s): STARTTLS with "
			    "a verified certificate", mx.mx[i].host, addr);
		else
			cc_add(c, "tls", CV_FAIL, "give it a certificate from a "
			    "CA that names the MX host (the cert check says "
			    "more)", "MX %s (%s): %s", mx.mx[i].host, addr, why);
	}
	cans_free(&mx);
}
