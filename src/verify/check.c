/*
 * check.c - the inbound checks of one message, asynchronously.
 *
 * Runs where DNS is (the CLI's loop for `postern verify`; the verifier's
 * loop in the server), never in a loop that reads from clients: every
 * lookup goes through dns_query() and resumes from its callback.  The
 * order: SPF of MAIL FROM (of HELO for the null sender, RFC 7208 2.4),
 * the key of every DKIM signature whose body hash matched (in parallel),
 * then DMARC over those results; then one Authentication-Results field.
 * The message side (each signature's digests, the author domain) is
 * computed at the start from a whole message in memory (`postern
 * verify`), or comes computed (struct check_pre: the server's smtp
 * session hashes the message while DATA streams, the verifier passes
 * it on); from there on both take the one path.  The pure modules of
 * src/mauth do all the judging, this file only carries answers between
 * them and the resolver.  A DNS
 * failure is a temperror wherever it happens, never a pass.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "deliver/dns.h"
#include "err.h"
#include "mauth/author.h"
#include "mauth/authres.h"
#include "mauth/dkim_hdr.h"
#include "mauth/dmarc.h"
#include "strutil.h"
#include "verify/check.h"

/* a DKIM key lookup in flight */
struct keyq {
	struct check	*c;
	size_t		 i;		/* which signature */
};

static void	spf_step(struct check *);
static void	dmarc_step(struct check *);

/* status - what a lookup's result says, for the state machines */
static int
status(const struct dns_result *r)
{
	/* a bogus answer proves nothing, its NXDOMAIN least of all */
	if (r->bogus)
		return 2;
	if (r->nxdomain)
		return 1;
	if (r->timeout || r->rcode != DNS_R_NOERROR)
		return 2;
	return 0;
}

/* mapped - an address as v4-mapped IPv6 */
static void
mapped(const struct sockaddr_storage *ss, struct in6_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (ss->ss_family == AF_INET6) {
		*out = ((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;
		return;
	}
	out->s6_addr[10] = out->s6_addr[11] = 0xff;
	memcpy(&out->s6_addr[12],
	    &((const struct sockaddr_in *)(const void *)ss)->sin_addr, 4);
}

/*
 * ---- SPF ----
 */

/* spf_cb - an answer for the SPF state machine */
static void
spf_cb(void *arg, const struct dns_result *r)
{
	struct check		*c = arg;
	struct spf_answer	 a;
	size_t			 i;
	int			 st = status(r);

	memset(&a, 0, sizeof(a));
	a.status = st == 0 ? SPF_DNS_OK : st == 1 ? SPF_DNS_NXDOMAIN :
	    SPF_DNS_TEMP;
	for (i = 0; i < r->ntxt && a.n < SPF_ANS_MAX; i++)
		a.names[a.n++] = r->txt[i].text;
	for (i = 0; i < r->nmx && a.n < SPF_ANS_MAX; i++)
		if (strcmp(r->mx[i].host, ".") != 0)
			a.names[a.n++] = r->mx[i].host;
	for (i = 0; i < r->nname && a.n < SPF_ANS_MAX; i++)
		a.names[a.n++] = r->name[i].name;
	for (i = 0; i < r->naddr && a.n < SPF_ANS_MAX; i++)
		mapped(&r->addr[i], &a.addrs[a.n++]);
	spf_eval_answer(&c->spf_ev, &a);
	spf_step(c);
}

/* dkim_step - SPF is known: look the DKIM keys up */
static void	dkim_start(struct check *);

/* spf_step - the next SPF lookup, or on to DKIM */
static void
spf_step(struct check *c)
{
	static const int	 types[] = { DNS_T_TXT, DNS_T_A, DNS_T_AAAA,
	    DNS_T_MX, DNS_T_PTR };
	struct spf_query	 q;

	if (spf_eval_next(&c->spf_ev, &q)) {
		if (dns_query(c->dns, q.name, types[q.type], spf_cb, c) == -1) {
			struct spf_answer	a;

			memset(&a, 0, sizeof(a));
			a.status = SPF_DNS_TEMP;
			spf_eval_answer(&c->spf_ev, &a);
			spf_step(c);
		}
		return;
	}
	c->spf = c->spf_ev.result;
	(void)snprintf(c->spf_why, sizeof(c->spf_why), "%s",
	    c->spf_ev.reason);
	(void)snprintf(c->spf_explanation, sizeof(c->spf_explanation), "%s",
	    c->spf_ev.explanation);
	spf_eval_free(&c->spf_ev);
	dkim_start(c);
}

/*
 * ---- DKIM ----
 */

/* key_done - one signature judged; DMARC once all are */
static void
key_done(struct check *c)
{
	if (--c->pending == 0)
		dmarc_step(c);
}

/* key_cb - the key record of one signature */
static void
key_cb(void *arg, const struct dns_result *r)
{
	struct keyq		*kq = arg;
	struct check		*c = kq->c;
	struct check_dkim	*d = &c->dkim[kq->i];
	const struct dkim_vsig	*s = &c->dv.v[kq->i];
	struct dkim_key		 k;
	struct err		 e;
	const char		*at;
	size_t			 i;
	int			 st = status(r), rc;

	free(kq);
	if (st == 2) {
		d->result = "temperror";
		(void)snprintf(d->why, sizeof(d->why), "key lookup failed");
		key_done(c);
		return;
	}
	d->result = "permerror";
	(void)snprintf(d->why, sizeof(d->why), "no key record");
	for (i = 0; st == 0 && i < r->ntxt; i++) {
		if (dkim_key_parse(r->txt[i].text, strlen(r->txt[i].text), &k,
		    &e) == -1) {
			(void)snprintf(d->why, sizeof(d->why), "%s", e.msg);
			continue;
		}
		at = strrchr(s->sig.i, '@');
		if (k.strict && (at == NULL ||
		    strcasecmp(at + 1, s->sig.d) != 0)) {
			(void)snprintf(d->why, sizeof(d->why), "key t=s: i= "
			    "must be in d= exactly");
			break;
		}
		rc = dkim_crypto_verify(&k, s->sig.alg, s->digest, s->sig.b,
		    &e);
		d->result = rc == 1 ? "pass" : rc == 0 ? "fail" : "permerror";
		(void)snprintf(d->why, sizeof(d->why), "%s", rc == 1 ? "" :
		    e.msg);
		/* RFC 6376 3.6.1: a testing key's mail is as unsigned mail;
		 * 8.2: l= short of the body leaves content unsigned */
		if (rc == 1 && k.testing) {
			d->no_dmarc = true;
			(void)snprintf(d->why, sizeof(d->why), "key in testing "
			    "mode (t=y)");
		} else if (rc == 1 && s->partial) {
			d->no_dmarc = true;
			(void)snprintf(d->why, sizeof(d->why), "l= leaves part "
			    "of the body unsigned");
		}
		break;
	}
	key_done(c);
}

/* dkim_start - judge what needs no key, look the other keys up */
static void
dkim_start(struct check *c)
{
	char		 name[2 * LIM_DOMAIN + 16];
	struct keyq	*kq;
	size_t		 i;

	c->pending = 1;		/* held until every lookup is out */
	if (c->header_bad) {
		c->ndkim = 1;
		c->dkim[0].result = "permerror";
		(void)snprintf(c->dkim[0].why, sizeof(c->dkim[0].why),
		    "malformed header");
	}
	for (i = 0; i < c->dv.n; i++) {
		const struct dkim_vsig	*s = &c->dv.v[i];
		struct check_dkim	*d = &c->dkim[i];

		c->ndkim = i + 1;
		if (s->usable) {
			(void)snprintf(d->d, sizeof(d->d), "%s", s->sig.d);
			(void)snprintf(d->s, sizeof(d->s), "%s", s->sig.s);
			(void)snprintf(d->b, sizeof(d->b), "%.8s", s->sig.b);
		}
		(void)snprintf(d->why, sizeof(d->why), "%s", s->why);
		if (!s->usable) {
			d->result = "permerror";
			continue;
		}
		if (!s->body_ok) {
			d->result = "fail";
			continue;
		}
		if (dkim_sig_expired(&s->sig, c->in->now)) {
			d->result = "permerror";
			(void)snprintf(d->why, sizeof(d->why), "signature "
			    "expired");
			continue;
		}
		if (strlen(s->sig.s) + strlen(s->sig.d) + 12 > 253) {
			d->result = "permerror";
			(void)snprintf(d->why, sizeof(d->why), "key name "
			    "longer than a domain name may be");
			continue;
		}
		(void)snprintf(name, sizeof(name), "%s._domainkey.%s",
		    s->sig.s, s->sig.d);
		kq = calloc(1, sizeof(*kq));
		if (kq == NULL) {
			d->result = "temperror";
			continue;
		}
		kq->c = c;
		kq->i = i;
		c->pending++;
		if (dns_query(c->dns, name, DNS_T_TXT, key_cb, kq) == -1) {
			free(kq);
			c->pending--;
			d->result = "temperror";
		}
	}
	key_done(c);
}

/*
 * ---- DMARC ----
 */

/* dmarc_cb - an answer for the DMARC state machine */
static void
dmarc_cb(void *arg, const struct dns_result *r)
{
	struct check		*c = arg;
	struct dmarc_answer	 a;
	size_t			 i;
	int			 st = status(r);

	memset(&a, 0, sizeof(a));
	a.status = st == 0 ? DMARC_DNS_OK : st == 1 ? DMARC_DNS_NXDOMAIN :
	    DMARC_DNS_TEMP;
	for (i = 0; i < r->ntxt && a.n < DMARC_TXT_MAX; i++)
		a.txt[a.n++] = r->txt[i].text;
	dmarc_eval_answer(&c->dm, &a);
	dmarc_step(c);
}

/* finish - the results in one Authentication-Results field, then done */
static void
finish(struct check *c)
{
	struct authres	 a;
	struct buf	 out;
	size_t		 i;

	memset(&a, 0, sizeof(a));
	a.authserv_id = c->in->authserv_id;
	a.spf = spf_result_name(c->spf);
	if (c->spf_helo)
		a.helo = c->spf_domain;
	else
		a.mailfrom = c->in->mail_from;
	for (i = 0; i < c->ndkim && i < AUTHRES_DKIM_MAX; i++) {
		a.dkim[i].result = c->dkim[i].result;
		a.dkim[i].reason = c->dkim[i].why[0] != '\0' ?
		    c->dkim[i].why : NULL;
		a.dkim[i].d = c->dkim[i].d[0] != '\0' ? c->dkim[i].d : NULL;
		a.dkim[i].s = c->dkim[i].s[0] != '\0' ? c->dkim[i].s : NULL;
		a.dkim[i].b = c->dkim[i].b[0] != '\0' ? c->dkim[i].b : NULL;
		a.ndkim++;
	}
	a.dkim_none = c->have_msg && c->ndkim == 0;
	if (c->dmarc_done) {
		a.dmarc = c->dmarc;
		a.header_from = c->dmarc_domain[0] != '\0' ? c->dmarc_domain :
		    NULL;
		a.policy = strcmp(c->dmarc, "fail") == 0 ? c->dmarc_policy :
		    NULL;
	}
	buf_init(&out, sizeof(c->authres) - 1);
	if (authres_build(&a, &out) == 0) {
		memcpy(c->authres, buf_ptr(&out), buf_avail(&out));
		c->authres[buf_avail(&out)] = '\0';
	}
	buf_release(&out);
	c->done(c, c->arg);
}

/* dmarc_step - the next DMARC lookup, or the end */
static void
dmarc_step(struct check *c)
{
	const char		*pass[DKIM_VERIFY_MAX];
	struct dmarc_query	 q;
	size_t			 i, n = 0;

	if (!c->have_msg) {
		finish(c);
		return;
	}
	if (!c->dmarc_done) {
		c->dmarc_done = true;
		c->dmarc_policy = "none";
		(void)snprintf(c->dmarc_domain, sizeof(c->dmarc_domain), "%s",
		    c->author);
		if (c->author_bad) {
			c->dmarc = "permerror";
			finish(c);
			return;
		}
		for (i = 0; i < c->ndkim; i++)
			if (c->dkim[i].result != NULL && !c->dkim[i].no_dmarc &&
			    strcmp(c->dkim[i].result, "pass") == 0)
				pass[n++] = c->dkim[i].d;
		dmarc_eval_init(&c->dm, c->author, c->spf == SPF_PASS ?
		    c->spf_domain : NULL, pass, n);
	}
	if (dmarc_eval_next(&c->dm, &q)) {
		if (dns_query(c->dns, q.name, q.type == DMARC_Q_TXT ?
		    DNS_T_TXT : DNS_T_A, dmarc_cb, c) == -1) {
			struct dmarc_answer	a;

			memset(&a, 0, sizeof(a));
			a.status = DMARC_DNS_TEMP;
			dmarc_eval_answer(&c->dm, &a);
			dmarc_step(c);
		}
		return;
	}
	c->dmarc = dmarc_result_name(c->dm.result);
	if (c->dm.result == DMARC_R_FAIL)
		c->dmarc_policy = dmarc_policy_name(c->dm.applied);
	else if (c->dm.have_policy)
		c->dmarc_policy = dmarc_policy_name(c->dm.policy.p);
	finish(c);
}

/*
 * ---- the start ----
 */

/* check_start - every check, beginning with SPF */
int
check_start(struct check *c, struct dns *dns, const struct check_in *in,
    void (*done)(struct check *, void *), void *arg, struct err *e)
{
	const char	*at, *hend;
	size_t		 hlen;

	memset(c, 0, sizeof(*c));
	c->in = in;
	c->dns = dns;
	c->done = done;
	c->arg = arg;
	/* SPF's identity: MAIL FROM's domain, or HELO for <> (2.4) */
	if (in->mail_from[0] != '\0' &&
	    (at = strrchr(in->mail_from, '@')) != NULL) {
		(void)snprintf(c->mail_local, sizeof(c->mail_local), "%.*s",
		    (int)(at - in->mail_from), in->mail_from);
		(void)snprintf(c->spf_domain, sizeof(c->spf_domain), "%s",
		    at + 1);
	} else {
		c->spf_helo = true;
		(void)snprintf(c->spf_domain, sizeof(c->spf_domain), "%s",
		    in->helo);
	}
	str_lower(c->spf_domain);
	if (spf_eval_init(&c->spf_ev, &in->ip, in->v4, c->mail_local,
	    c->spf_domain, in->helo, in->authserv_id, in->now, e) == -1)
		return -1;
	if (in->msg != NULL) {
		hend = memmem(in->msg, in->len, "\r\n\r\n", 4);
		hlen = hend != NULL ? (size_t)(hend - in->msg) + 2 : in->len;
		if (in->len >= 2 && memcmp(in->msg, "\r\n", 2) == 0)
			hlen = 0;
		c->have_msg = true;
		if (dkim_verify_start(&c->dv, in->msg, hlen, in->max_sigs,
		    e) == -1) {
			/* a header that does not split: no signature can be
			 * judged and no From trusted; SPF still runs */
			c->header_bad = true;
			c->author_bad = true;
		} else {
			if (hlen + 2 <= in->len)
				dkim_verify_body(&c->dv, in->msg + hlen + 2,
				    in->len - hlen - 2);
			dkim_verify_end(&c->dv);
			c->author_bad = author_domain(in->msg, hlen,
			    c->author, sizeof(c->author)) == -1;
		}
	} else if (in->pre != NULL) {
		/* the same judging from here on, on the session's digests */
		c->have_msg = true;
		c->dv = in->pre->dv;
		c->header_bad = in->pre->header_bad;
		c->author_bad = in->pre->author_bad;
		(void)snprintf(c->author, sizeof(c->author), "%s",
		    in->pre->author);
	}
	spf_step(c);
	return 0;
}

/* check_free - the DKIM contexts */
void
check_free(struct check *c)
{
	dkim_verify_free(&c->dv);
	spf_eval_free(&c->spf_ev);
}
