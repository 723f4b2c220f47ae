/*
 * verifier.c - the verifier process: the inbound checks (SPF, DKIM,
 * DMARC) of the smtp workers' transactions, and the verdict.
 *
 * One per generation, started by the parent beside auth, with a channel
 * to each smtp worker of the generation; it ends when the last one
 * closes.  Unprivileged, not chrooted (libunbound reads its settings and
 * the trust anchor), it never sees a message: the session computed each
 * DKIM signature's digests and the author domain while DATA streamed
 * (M_V_REQ), this process fetches the keys, SPF and DMARC records
 * through its own DNS context (dns_resolver, dnssec_trust_anchor) and
 * judges with verify/check.c, the same code `postern verify` runs.  The
 * answer (M_V_RES) is the Authentication-Results field and the verdict
 * under the policy (verifier_verdict).  Every request gets exactly one
 * answer, in whatever order the lookups finish.  smtp parses hostile
 * input: a request that does not decode closes that worker's channel,
 * never this process.  Loop only: no call here blocks.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "conf.h"
#include "deliver/dns.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "verify/check.h"
#include "verify/verifier.h"
#include "xmalloc.h"

/* a DNS query's own limit: a part of the smtp worker's wait, at most
 * the resolver's default */
#define VERIFIER_QUERY_SHARE	3

struct verifier {
	struct event_base	*base;
	const struct conf	*conf;
	struct dns		*dns;
	size_t			 npeers;	/* channels still open */
};

/* one smtp worker's channel */
struct vpeer {
	struct verifier		*v;
	struct chan		*ch;
	size_t			 njobs;		/* checks in flight */
	bool			 bad;		/* sent garbage: closing */
	bool			 closed;	/* the channel is gone */
};

/* one request being checked */
struct vjob {
	struct vpeer		*p;
	uint64_t		 reqid;
	bool			 spf_only;
	char			 helo[LIM_DOMAIN + 1];
	char			 from[LIM_PATH + 1];
	struct check_in		 in;
	struct check_pre	 pre;
	struct check		 c;
};

/* peer_release - a closed peer with nothing in flight is freed */
static void
peer_release(struct vpeer *p)
{
	if (p->closed && p->njobs == 0)
		free(p);
}

/* reply_text - s made fit for an SMTP reply line: printable ASCII */
static void
reply_text(const char *s, char *out, size_t outsz)
{
	size_t	i, n = 0;

	for (i = 0; s[i] != '\0' && n + 1 < outsz; i++)
		out[n++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[n] = '\0';
}

/* any_dkim_temperror - did a signature's key lookup fail for now? */
static bool
any_dkim_temperror(const struct check *c)
{
	size_t	i;

	for (i = 0; i < c->ndkim; i++)
		if (c->dkim[i].result != NULL &&
		    strcmp(c->dkim[i].result, "temperror") == 0)
			return true;
	return false;
}

/* verifier_verdict - the policy over the results (see verifier.h) */
uint32_t
verifier_verdict(const struct conf *cf, const struct check *c,
    bool spf_only, char *reply, size_t sz)
{
	char	exp[200];

	reply[0] = '\0';
	if (spf_only) {
		if (!cf->spf_reject)
			return V_ACCEPT;
		if (c->spf == SPF_FAIL) {
			/* RFC 7208 8.4: the explanation, if the domain has
			 * one, goes to the client (RFC 7372: 5.7.23) */
			reply_text(c->spf_explanation, exp, sizeof(exp));
			if (exp[0] != '\0')
				(void)snprintf(reply, sz, "550 5.7.23 %s", exp);
			else
				(void)snprintf(reply, sz, "550 5.7.23 SPF of "
				    "%s does not allow this host to send its "
				    "mail", c->spf_domain);
			return V_PERM;
		}
		if (c->spf == SPF_TEMPERROR) {
			(void)snprintf(reply, sz, "451 4.7.24 SPF of %s could "
			    "not be checked now, try again later",
			    c->spf_domain);
			return V_TEMP;
		}
		return V_ACCEPT;
	}
	if (!cf->dmarc_reject || !c->dmarc_done || c->dmarc == NULL)
		return V_ACCEPT;
	/* the policy itself is unknown for now: it may say reject */
	if (strcmp(c->dmarc, "temperror") == 0) {
		(void)snprintf(reply, sz, "451 4.7.0 DMARC policy of %s could "
		    "not be looked up now, try again later", c->dmarc_domain);
		return V_TEMP;
	}
	if (strcmp(c->dmarc, "fail") != 0 || c->dmarc_policy == NULL ||
	    strcmp(c->dmarc_policy, "reject") != 0)
		return V_ACCEPT;
	/* a lookup that failed for now might have made it pass */
	if (c->spf == SPF_TEMPERROR || any_dkim_temperror(c)) {
		(void)snprintf(reply, sz, "451 4.7.0 DMARC of %s could not be "
		    "decided now (a lookup failed), try again later",
		    c->dmarc_domain);
		return V_TEMP;
	}
	(void)snprintf(reply, sz, "550 5.7.1 Message rejected: it fails the "
	    "DMARC policy of %s (p=reject): neither SPF nor DKIM passed for "
	    "that domain", c->dmarc_domain);
	return V_PERM;
}

/* answer - M_V_RES to the peer, if it is still there */
static void
answer(struct vpeer *p, uint64_t reqid, uint32_t verdict, const char *reply,
    const char *authres)
{
	struct msg	m;

	if (p->closed || p->bad)
		return;
	ipc_v_res_put(&m, &(struct ipc_v_res){ .reqid = reqid,
	    .verdict = verdict, .reply = reply, .authres = authres });
	chan_send(p->ch, &m);
}

/* job_log - one line per check: the session, each result, the verdict */
static void
job_log(const struct vjob *j, const struct check *c, uint32_t v)
{
	static const char *const verdicts[] = { "accept", "temp", "reject" };
	char	dkim[LIM_IPC_SIGS * 12 + 8] = "";
	size_t	i, n = 0;

	for (i = 0; i < c->ndkim && n < sizeof(dkim); i++)
		n += (size_t)snprintf(dkim + n, sizeof(dkim) - n, "%s%s",
		    i > 0 ? "," : "", c->dkim[i].result != NULL ?
		    c->dkim[i].result : "none");
	log_info("session=%016llx checks%s from=<%s> spf=%s dkim=%s dmarc=%s "
	    "verdict=%s", (unsigned long long)(j->reqid &
	    ((1ULL << V_REQID_SEQ_SHIFT) - 1)), j->spf_only ? " at=mail" : "",
	    j->from, spf_result_name(c->spf), n > 0 ? dkim : "none",
	    c->dmarc != NULL ? c->dmarc : "none", verdicts[v]);
}

/* job_done - the checks of one request are known: the verdict, answered */
static void
job_done(struct check *c, void *arg)
{
	struct vjob	*j = arg;
	struct vpeer	*p = j->p;
	char		 reply[LIM_IPC_TEXT];
	uint32_t	 v;

	v = verifier_verdict(p->v->conf, c, j->spf_only, reply, sizeof(reply));
	job_log(j, c, v);
	answer(p, j->reqid, v, reply, j->spf_only ? "" : c->authres);
	check_free(c);
	free(j);
	p->njobs--;
	peer_release(p);
}

/* job_pre - the session's digests as check.c's message side */
static void
job_pre(struct vjob *j, const struct ipc_v_req *r)
{
	size_t	i;

	j->pre.author_bad = r->author_bad;
	j->pre.header_bad = r->header_bad;
	(void)snprintf(j->pre.author, sizeof(j->pre.author), "%s", r->author);
	j->pre.dv.n = r->nsigs;
	for (i = 0; i < r->nsigs; i++) {
		const struct ipc_v_sig	*s = &r->sigs[i];
		struct dkim_vsig	*v = &j->pre.dv.v[i];

		v->usable = s->usable;
		v->body_ok = s->body_ok;
		v->partial = s->partial;
		v->sig.alg = s->alg == 1 ? DKIM_ALG_ED25519_SHA256 :
		    DKIM_ALG_RSA_SHA256;
		(void)snprintf(v->sig.d, sizeof(v->sig.d), "%s", s->d);
		(void)snprintf(v->sig.s, sizeof(v->sig.s), "%s", s->s);
		(void)snprintf(v->sig.i, sizeof(v->sig.i), "%s", s->i);
		(void)snprintf(v->sig.b, sizeof(v->sig.b), "%s", s->b);
		v->sig.has_x = s->has_x;
		v->sig.x = s->x;
		memcpy(v->digest, s->digest, sizeof(v->digest));
		(void)snprintf(v->why, sizeof(v->why), "%s", s->why);
	}
}

/* job_ip - the client's address, v4-mapped for IPv4; -1 if none */
static int
job_ip(const char *a, struct check_in *in)
{
	memset(&in->ip, 0, sizeof(in->ip));
	if (inet_pton(AF_INET, a, &in->ip.s6_addr[12]) == 1) {
		in->ip.s6_addr[10] = in->ip.s6_addr[11] = 0xff;
		in->v4 = true;
		return 0;
	}
	if (inet_pton(AF_INET6, a, &in->ip) == 1) {
		in->v4 = IN6_IS_ADDR_V4MAPPED(&in->ip);
		return 0;
	}
	return -1;
}

/* peer_request - M_V_REQ: start its checks; -1: the request is bad */
static int
peer_request(struct vpeer *p, struct msg *m, struct err *e)
{
	struct ipc_v_req	*r = xcalloc(1, sizeof(*r));
	struct vjob		*j;
	int			 rc = -1;

	if (ipc_v_req_get(m, r, e) == -1)
		goto out;
	j = xcalloc(1, sizeof(*j));
	if (job_ip(r->addr, &j->in) == -1) {
		err_set(e, false, 0, "M_V_REQ: bad client address");
		free(j);
		goto out;
	}
	j->p = p;
	j->reqid = r->reqid;
	j->spf_only = r->spf_only;
	(void)snprintf(j->helo, sizeof(j->helo), "%s", r->helo);
	(void)snprintf(j->from, sizeof(j->from), "%s", r->from);
	j->in.helo = j->helo;
	j->in.mail_from = j->from;
	j->in.authserv_id = p->v->conf->hostname;
	j->in.max_sigs = p->v->conf->dkim_max_signatures;
	j->in.now = (unsigned long long)time(NULL);
	if (!r->spf_only) {
		job_pre(j, r);
		j->in.pre = &j->pre;
	}
	p->njobs++;
	if (check_start(&j->c, p->v->dns, &j->in, job_done, j, e) == -1) {
		log_warnx("inbound checks cannot start: %s", e->msg);
		answer(p, j->reqid, V_TEMP, "451 4.7.0 Message checks "
		    "unavailable, try again later", "");
		p->njobs--;
		free(j);
	}
	rc = 0;
out:
	free(r);
	return rc;
}

/* peer_close - the channel is gone: the peer goes once its checks end */
static void
peer_close(struct vpeer *p)
{
	chan_free(p->ch);
	p->ch = NULL;
	p->closed = true;
	if (--p->v->npeers == 0)
		event_base_loopbreak(p->v->base);
	peer_release(p);
}

/* peer_reap - after a bad message, out of the channel's callback */
static void
peer_reap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	peer_close(arg);
}

/* peer_msg - a request from an smtp worker, or its channel closed */
static void
peer_msg(struct chan *ch, struct msg *m, void *arg)
{
	struct vpeer	*p = arg;
	struct timeval	 tv = { 0, 0 };
	struct err	 e;

	(void)ch;
	if (p->bad)
		return;		/* peer_reap closes it */
	if (m == NULL) {
		peer_close(p);
		return;
	}
	if (m->type == M_V_REQ && peer_request(p, m, &e) == 0)
		return;
	log_warnx("smtp worker channel: %s: closing it", m->type == M_V_REQ ?
	    e.msg : "unexpected message");
	/* a channel is freed only outside its own callback */
	p->bad = true;
	if (event_base_once(p->v->base, -1, EV_TIMEOUT, peer_reap, p,
	    &tv) == -1)
		fatalx("verifier: event_base_once");
}

/* verifier_dns - the DNS context, validating when an anchor is usable */
static struct dns *
verifier_dns(struct event_base *base, const struct conf *c, struct err *e)
{
	const char	*fw = c->dns_resolver[0] != '\0' ? c->dns_resolver :
			    NULL;
	const char	*ta = c->dnssec_trust_anchor;
	struct dns	*d;

	if (strcmp(ta, CONF_TA_NONE) == 0 || access(ta, R_OK) != 0)
		ta = NULL;
	if ((d = dns_new(base, fw, ta, e)) == NULL && (ta == NULL ||
	    (d = dns_new(base, fw, NULL, e)) == NULL))
		return NULL;
	if (dns_set_bogus_fallback(d, e) == -1) {
		dns_free(d);
		return NULL;
	}
	return d;
}

/* verifier_main - serve every channel until the last one closes */
void
verifier_main(const struct conf *conf, const int *socks, size_t n)
{
	struct verifier	 v;
	struct vpeer	*p;
	struct err	 e;
	unsigned	 ms;
	size_t		 i;

	(void)signal(SIGPIPE, SIG_IGN);
	memset(&v, 0, sizeof(v));
	v.conf = conf;
	if ((v.base = event_base_new()) == NULL)
		fatalx("verifier: event_base_new");
	if ((v.dns = verifier_dns(v.base, conf, &e)) == NULL)
		fatalx("verifier: %s", e.msg);
	ms = conf->inbound_check_timeout * 1000 / VERIFIER_QUERY_SHARE;
	dns_set_timeout(v.dns, ms < 1000 ? 1000 : ms > DNS_DEF_TIMEOUT_MS ?
	    DNS_DEF_TIMEOUT_MS : ms);
	for (i = 0; i < n; i++) {
		p = xcalloc(1, sizeof(*p));
		p->v = &v;
		p->ch = chan_new(v.base, socks[i], peer_msg, p);
		v.npeers++;
	}
	if (v.npeers > 0)
		event_base_dispatch(v.base);
	dns_free(v.dns);
	exit(0);
}
