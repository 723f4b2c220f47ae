/*
 * dns.c - asynchronous DNS lookups (libunbound) driven by a libevent loop.
 *
 * Used by the deliver process (MX, A, AAAA, later TLSA) and by `postern
 * check` (TXT, PTR).  libunbound resolves in a thread of its own
 * (ub_ctx_async(ctx, 1)) and writes finished answers to a pipe; the event
 * loop watches that pipe (ub_fd) and ub_process() runs the callbacks, so
 * every callback runs on the loop's thread and nothing here blocks.
 *
 * Each query also has a timer of our own (dns_set_timeout, default
 * DNS_DEF_TIMEOUT_MS): libunbound retries an unanswering server for a
 * long time, and a delivery attempt must not wait that long.  At expiry
 * the query is cancelled in libunbound and reported as a timeout.
 *
 * DNSSEC fallback (dns_set_bogus_fallback): a second libunbound context
 * with the same forwarder settings and no trust anchor.  When the
 * validating context calls an answer bogus, the same struct dns_query is
 * started again there (with a fresh timer: the time limit is per
 * lookup), and its answer goes to the caller marked unvalidated.  The
 * warning about it is rate-limited per name in a small ring
 * (DNS_WARN_NAMES names, each at most once per DNS_WARN_EVERY seconds),
 * so a resolver that strips DNSSEC costs one line per domain, not one
 * per message.
 *
 * Lifetimes: a struct dns_query lives from dns_query() until its callback
 * is about to run (it is unlinked and freed first, so the callback may
 * start or cancel other queries freely) or until it is cancelled.
 * dns_free() inside a callback only marks the context: it is destroyed
 * when control returns to this file (the busy counter).
 *
 * Answers are hostile input: rdata is parsed by the pure, bounded
 * functions at the end of this file, and at most DNS_MAX_RR records of an
 * answer are looked at.  A record that does not parse is counted in
 * nbad and left out of the parsed arrays (it stays in raw).
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <unbound.h>

#include "err.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"
#include "deliver/dns.h"

#define DNS_CLASS_IN	1
#define DNS_WIRE_NAME	255	/* RFC 1035 3.1: a name is at most 255 octets */
#define DNS_LABEL	63	/* RFC 1035 2.3.4 */
#define DNS_WHY_SIZE	400	/* a bogus reason kept for the retry */
#define DNS_WARN_NAMES	256	/* names remembered for the bogus warning */
#define DNS_WARN_EVERY	3600	/* seconds between two warnings per name */

struct dns_query {
	TAILQ_ENTRY(dns_query)	 entry;
	struct dns		*dns;
	int			 id;		/* ours, for dns_cancel() */
	int			 ub_id;		/* libunbound's async id */
	bool			 plain;		/* asked on dns->plain */
	int			 rrtype;
	struct event		*timer;
	dns_cb			 cb;
	void			*arg;
	char			 name[DNS_NAME_SIZE];
	char			 why[DNS_WHY_SIZE];	/* bogus, when plain */
};

struct dns_warned {
	char			 name[DNS_NAME_SIZE];
	time_t			 at;
};

struct dns {
	struct event_base	*base;
	struct ub_ctx		*ctx;
	struct event		*ev;		/* ub_fd readable */
	struct ub_ctx		*plain;		/* non-validating, or NULL */
	struct event		*plain_ev;
	char			*forward;	/* dns_new()'s, or NULL */
	bool			 anchored;	/* a trust anchor is set */
	bool			 ta_broken;	/* it did not load: plain only */
	bool			 hinted;	/* the resolver hint was logged */
	struct dns_warned	*warned;	/* DNS_WARN_NAMES, or NULL */
	size_t			 nextwarn;	/* ring position */
	TAILQ_HEAD(, dns_query)	 queries;
	size_t			 npending;
	int			 next_id;
	unsigned		 timeout_ms;
	unsigned		 busy;		/* callbacks on the stack */
	bool			 dying;		/* dns_free() came while busy */
};

/* storage behind one struct dns_result */
struct dns_store {
	struct dns_rdata	*raw;
	struct dns_mx		*mx;
	struct sockaddr_storage	*addr;
	struct dns_txt		*txt;
	char			*txtpool;
	struct dns_name		*name;
};

static void	dns_destroy(struct dns *);

/* ub_errno - an errno value for a libunbound error code */
static int
ub_errno(int r)
{
	switch (r) {
	case UB_NOMEM:
		return ENOMEM;
	case UB_SYNTAX:
		return EINVAL;
	default:
		return EIO;
	}
}

/* dns_run - one context's pipe has answers: run their callbacks */
static void
dns_run(struct dns *d, struct ub_ctx *ctx)
{
	int	r;

	d->busy++;
	r = ub_process(ctx);
	d->busy--;
	if (d->dying) {
		if (d->busy == 0)
			dns_destroy(d);
		return;
	}
	if (r != 0)
		log_warnx("dns: ub_process: %s", ub_strerror(r));
}

/* dns_readable - the validating (or only) context has answers */
static void
dns_readable(evutil_socket_t fd, short what, void *arg)
{
	struct dns	*d = arg;

	(void)fd;
	(void)what;
	dns_run(d, d->ctx);
}

/* dns_plain_readable - the non-validating context has answers */
static void
dns_plain_readable(evutil_socket_t fd, short what, void *arg)
{
	struct dns	*d = arg;

	(void)fd;
	(void)what;
	dns_run(d, d->plain);
}

/*
 * dns_ctx_new - a libunbound context in async mode: forward is NULL or
 * postern.conf's dns_resolver; trust_anchor_file NULL or a readable file
 */
static struct ub_ctx *
dns_ctx_new(const char *forward, const char *trust_anchor_file,
    struct err *e)
{
	struct ub_ctx	*ctx;
	char		 fwd[INET6_ADDRSTRLEN + 8];
	int		 r;

	if ((ctx = ub_ctx_create()) == NULL) {
		err_set(e, true, 0, "dns: cannot create a libunbound context");
		return NULL;
	}
	if ((r = ub_ctx_async(ctx, 1)) != 0) {
		err_set(e, true, 0, "dns: ub_ctx_async: %s", ub_strerror(r));
		goto fail;
	}
	if (forward != NULL) {
		if (dns_parse_forward(forward, fwd, sizeof(fwd), e) == -1)
			goto fail;
		if ((r = ub_ctx_set_fwd(ctx, fwd)) != 0) {
			err_set(e, false, 0, "dns: forwarder %s: %s", forward,
			    ub_strerror(r));
			goto fail;
		}
		/*
		 * The forwarder is the authority on what exists: let it
		 * answer for the names libunbound would otherwise answer
		 * by itself (RFC 6761's test., private reverse zones).
		 */
		if ((r = ub_ctx_set_option(ctx, "local-zone:",
		    "test. transparent")) != 0 ||
		    (r = ub_ctx_set_option(ctx, "unblock-lan-zones:",
		    "yes")) != 0) {
			err_set(e, true, 0, "dns: forwarder options: %s",
			    ub_strerror(r));
			goto fail;
		}
	} else if (ub_ctx_resolvconf(ctx, NULL) != 0)
		log_info("dns: no usable /etc/resolv.conf, resolving from "
		    "the root");
	/*
	 * A forwarder on loopback (a local unbound, systemd-resolved, the
	 * test server) must be reachable: libunbound refuses 127.0.0.1 and
	 * ::1 by default.
	 */
	if ((r = ub_ctx_set_option(ctx, "do-not-query-localhost:",
	    "no")) != 0) {
		err_set(e, true, 0, "dns: do-not-query-localhost: %s",
		    ub_strerror(r));
		goto fail;
	}
	/* libunbound reads the file at the first query: fail at startup */
	if (trust_anchor_file != NULL &&
	    access(trust_anchor_file, R_OK) == -1) {
		err_set(e, false, errno, "dns: trust anchor %s: %s",
		    trust_anchor_file, strerror(errno));
		goto fail;
	}
	if (trust_anchor_file != NULL &&
	    (r = ub_ctx_add_ta_file(ctx, trust_anchor_file)) != 0) {
		err_set(e, false, 0, "dns: trust anchor %s: %s",
		    trust_anchor_file, ub_strerror(r));
		goto fail;
	}
	return ctx;
fail:
	ub_ctx_delete(ctx);
	return NULL;
}

/* dns_watch - an event on base for ctx's result descriptor */
static struct event *
dns_watch(struct dns *d, struct ub_ctx *ctx, event_callback_fn fn,
    struct err *e)
{
	struct event	*ev;
	int		 fd;

	if ((fd = ub_fd(ctx)) == -1) {
		err_set(e, true, 0, "dns: libunbound has no result descriptor");
		return NULL;
	}
	if ((ev = event_new(d->base, fd, EV_READ | EV_PERSIST, fn, d)) ==
	    NULL || event_add(ev, NULL) == -1) {
		if (ev != NULL)
			event_free(ev);
		err_set(e, true, 0, "dns: cannot watch the result descriptor");
		return NULL;
	}
	return ev;
}

/* dns_new - a libunbound context in async mode, watched by base */
struct dns *
dns_new(struct event_base *base, const char *forward,
    const char *trust_anchor_file, struct err *e)
{
	struct dns	*d;

	d = xcalloc(1, sizeof(*d));
	d->base = base;
	d->timeout_ms = DNS_DEF_TIMEOUT_MS;
	d->next_id = 1;
	d->anchored = trust_anchor_file != NULL;
	if (forward != NULL)
		d->forward = xstrdup(forward);
	TAILQ_INIT(&d->queries);
	if ((d->ctx = dns_ctx_new(forward, trust_anchor_file, e)) == NULL ||
	    (d->ev = dns_watch(d, d->ctx, dns_readable, e)) == NULL) {
		dns_destroy(d);
		return NULL;
	}
	return d;
}

/* dns_set_bogus_fallback - the non-validating context for bogus answers */
int
dns_set_bogus_fallback(struct dns *d, struct err *e)
{
	if (!d->anchored || d->plain != NULL)
		return 0;
	if ((d->plain = dns_ctx_new(d->forward, NULL, e)) == NULL)
		return -1;
	if ((d->plain_ev = dns_watch(d, d->plain, dns_plain_readable, e)) ==
	    NULL) {
		ub_ctx_delete(d->plain);
		d->plain = NULL;
		return -1;
	}
	return 0;
}

/* dns_destroy - free the context now (nothing of it is on the stack) */
static void
dns_destroy(struct dns *d)
{
	if (d->ev != NULL)
		event_free(d->ev);
	if (d->ctx != NULL)
		ub_ctx_delete(d->ctx);
	if (d->plain_ev != NULL)
		event_free(d->plain_ev);
	if (d->plain != NULL)
		ub_ctx_delete(d->plain);
	free(d->forward);
	free(d->warned);
	free(d);
}

/* dns_ub_cancel - stop a query in the context it was asked on */
static void
dns_ub_cancel(struct dns *d, struct dns_query *q)
{
	(void)ub_cancel(q->plain ? d->plain : d->ctx, q->ub_id);
}

/* dns_release - unlink and free a query; libunbound is done with it */
static void
dns_release(struct dns *d, struct dns_query *q)
{
	TAILQ_REMOVE(&d->queries, q, entry);
	d->npending--;
	event_free(q->timer);
	free(q);
}

/* dns_free - cancel all queries; destroy now or when callbacks return */
void
dns_free(struct dns *d)
{
	struct dns_query	*q;

	if (d == NULL || d->dying)
		return;
	d->dying = true;
	while ((q = TAILQ_FIRST(&d->queries)) != NULL) {
		dns_ub_cancel(d, q);
		dns_release(d, q);
	}
	if (d->busy == 0)
		dns_destroy(d);
}

/* dns_set_timeout - time limit of the queries started from now on */
void
dns_set_timeout(struct dns *d, unsigned ms)
{
	if (ms > 0)
		d->timeout_ms = ms;
}

/* dns_base - the event base the context runs on */
struct event_base *
dns_base(const struct dns *d)
{
	return d->base;
}

/* dns_pending - queries started and not yet answered or cancelled */
size_t
dns_pending(const struct dns *d)
{
	return d->npending;
}

/*
 * dns_deliver - hand a result to the query's owner.  The query is freed
 * first; if the callback frees the context, it goes when nothing of it is
 * on the stack any more.
 */
static void
dns_deliver(struct dns *d, struct dns_query *q, struct dns_result *res)
{
	char	 qname[DNS_NAME_SIZE];
	dns_cb	 cb = q->cb;
	void	*arg = q->arg;

	memcpy(qname, q->name, sizeof(qname));
	res->qname = qname;
	res->qtype = q->rrtype;
	dns_release(d, q);
	d->busy++;
	cb(arg, res);
	d->busy--;
	if (d->dying && d->busy == 0)
		dns_destroy(d);
}

/* dns_timeout - the query took too long: cancel it, report a timeout */
static void
dns_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query	*q = arg;
	struct dns_result	 res;

	(void)fd;
	(void)what;
	dns_ub_cancel(q->dns, q);
	memset(&res, 0, sizeof(res));
	res.rcode = DNS_R_SERVFAIL;
	res.timeout = true;
	res.why = "timed out";
	dns_deliver(q->dns, q, &res);
}

/* dns_store_free - release what dns_store_fill allocated */
static void
dns_store_free(struct dns_store *st)
{
	free(st->raw);
	free(st->mx);
	free(st->addr);
	free(st->txt);
	free(st->txtpool);
	free(st->name);
}

/* dns_store_fill - parse libunbound's answer records into res */
static void
dns_store_fill(struct dns_result *res, struct dns_store *st, int rrtype,
    const struct ub_result *r)
{
	size_t	 n, i, pool = 0, off = 0, tlen;
	const uint8_t *rd;
	size_t	 rlen;

	for (n = 0; r->data != NULL && n < DNS_MAX_RR && r->data[n] != NULL;
	    n++)
		if (r->len[n] > 0)
			pool += (size_t)r->len[n] + 1;
	if (n == 0)
		return;
	st->raw = xcalloc(n, sizeof(*st->raw));
	switch (rrtype) {
	case DNS_T_MX:
		st->mx = xcalloc(n, sizeof(*st->mx));
		break;
	case DNS_T_A:
	case DNS_T_AAAA:
		st->addr = xcalloc(n, sizeof(*st->addr));
		break;
	case DNS_T_TXT:
		st->txt = xcalloc(n, sizeof(*st->txt));
		st->txtpool = xmalloc(pool + 1);
		break;
	case DNS_T_PTR:
	case DNS_T_CNAME:
		st->name = xcalloc(n, sizeof(*st->name));
		break;
	}
	for (i = 0; i < n; i++) {
		rd = (const uint8_t *)r->data[i];
		rlen = r->len[i] > 0 ? (size_t)r->len[i] : 0;
		st->raw[i].data = rd;
		st->raw[i].len = rlen;
		switch (rrtype) {
		case DNS_T_MX:
			if (dns_parse_mx_rdata(rd, rlen,
			    &st->mx[res->nmx]) == 0)
				res->nmx++;
			else
				res->nbad++;
			break;
		case DNS_T_A:
		case DNS_T_AAAA:
			if (dns_parse_addr_rdata(rrtype, rd, rlen,
			    &st->addr[res->naddr]) == 0)
				res->naddr++;
			else
				res->nbad++;
			break;
		case DNS_T_TXT:
			if (dns_parse_txt_rdata(rd, rlen, st->txtpool + off,
			    pool + 1 - off, &tlen) == 0) {
				st->txt[res->ntxt].text = st->txtpool + off;
				st->txt[res->ntxt].len = tlen;
				res->ntxt++;
				off += tlen + 1;
			} else
				res->nbad++;
			break;
		case DNS_T_PTR:
		case DNS_T_CNAME:
			if (dns_parse_name_rdata(rd, rlen,
			    st->name[res->nname].name, DNS_NAME_SIZE) == 0)
				res->nname++;
			else
				res->nbad++;
			break;
		}
	}
	res->nraw = n;
	res->raw = st->raw;
	res->mx = st->mx;
	res->addr = st->addr;
	res->txt = st->txt;
	res->name = st->name;
}

static void	dns_answer(void *, int, struct ub_result *);

/* dns_arm - (re)start the query's time limit */
static void
dns_arm(struct dns *d, struct dns_query *q)
{
	struct timeval	tv;

	tv.tv_sec = d->timeout_ms / 1000;
	tv.tv_usec = (d->timeout_ms % 1000) * 1000;
	evtimer_add(q->timer, &tv);
}

/* dns_type_name - a record type for the log */
static const char *
dns_type_name(int rrtype)
{
	switch (rrtype) {
	case DNS_T_A:
		return "A";
	case DNS_T_AAAA:
		return "AAAA";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_CNAME:
		return "CNAME";
	case DNS_T_TLSA:
		return "TLSA";
	default:
		return "other";
	}
}

/*
 * dns_warn_bogus - say that q's answer was bogus and a non-validating
 * lookup stands in for it: once per name per DNS_WARN_EVERY seconds
 */
static void
dns_warn_bogus(struct dns *d, const struct dns_query *q)
{
	struct dns_warned	*w;
	time_t			 now = time(NULL);
	size_t			 i;

	if (d->warned == NULL)
		d->warned = xcalloc(DNS_WARN_NAMES, sizeof(*d->warned));
	for (i = 0; i < DNS_WARN_NAMES; i++) {
		w = &d->warned[i];
		if (w->name[0] != '\0' && strcasecmp(w->name, q->name) == 0)
			break;
	}
	if (i < DNS_WARN_NAMES) {
		if (now - w->at < DNS_WARN_EVERY && now >= w->at)
			return;
	} else {
		w = &d->warned[d->nextwarn];
		d->nextwarn = (d->nextwarn + 1) % DNS_WARN_NAMES;
		memcpy(w->name, q->name, sizeof(w->name));
	}
	w->at = now;
	log_warnx("dns: %s %s: DNSSEC validation failed (bogus: %s); using "
	    "the answer of a non-validating lookup, not secure", q->name,
	    dns_type_name(q->rrtype), q->why);
	if (!d->hinted) {
		d->hinted = true;
		log_warnx("dns: if every answer is bogus, the resolver strips "
		    "DNSSEC records: use a validating resolver, or set "
		    "dnssec_trust_anchor = none");
	}
}

/*
 * dns_retry_plain - a bogus answer: ask q again on the non-validating
 * context.  0: q goes on there; -1: it could not be started (q is as it
 * was, the bogus answer stands).
 */
static int
dns_retry_plain(struct dns *d, struct dns_query *q, const char *why)
{
	int	id;

	if (d->plain == NULL || q->plain)
		return -1;
	if (ub_resolve_async(d->plain, q->name, q->rrtype, DNS_CLASS_IN, q,
	    dns_answer, &id) != 0)
		return -1;
	q->plain = true;
	q->ub_id = id;
	(void)snprintf(q->why, sizeof(q->why), "%s", why);
	dns_arm(d, q);
	dns_warn_bogus(d, q);
	return 0;
}

/* dns_answer - libunbound's callback (from ub_process, on the loop thread) */
static void
dns_answer(void *mydata, int error, struct ub_result *r)
{
	struct dns_query	*q = mydata;
	struct dns_result	 res;
	struct dns_store	 st;
	char			 why[DNS_WHY_SIZE];

	memset(&res, 0, sizeof(res));
	memset(&st, 0, sizeof(st));
	if (error != 0 || r == NULL) {
		res.rcode = DNS_R_SERVFAIL;
		res.why = ub_strerror(error);
	} else {
		res.rcode = r->rcode;
		res.nxdomain = r->nxdomain != 0;
		res.secure = r->secure != 0;
		res.bogus = r->bogus != 0;
		res.why = r->why_bogus;
		res.ttl = r->ttl;
		if (res.bogus && res.why == NULL)
			res.why = "DNSSEC validation failed";
		if (res.bogus && dns_retry_plain(q->dns, q, res.why) == 0) {
			ub_resolve_free(r);
			return;
		}
		if (q->plain) {
			/* never trusted, whatever the second context says */
			res.secure = false;
			res.bogus = false;
			res.unvalidated = true;
			/* q is freed before the callback runs */
			memcpy(why, q->why, sizeof(why));
			res.why = why;
		}
		/* a bogus answer's records are not to be used */
		if (r->havedata && !res.bogus)
			dns_store_fill(&res, &st, q->rrtype, r);
	}
	dns_deliver(q->dns, q, &res);
	dns_store_free(&st);
	if (r != NULL)
		ub_resolve_free(r);
}

/* dns_query_name_ok - a name libunbound should be asked about */
static bool
dns_query_name_ok(const char *name)
{
	size_t	 len = strlen(name), i, label = 0;

	if (len == 0 || len >= DNS_NAME_SIZE)
		return false;
	if (strcmp(name, ".") == 0)
		return true;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= ' ' || c >= 0x7f || c == '\\')
			return false;
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (++label > DNS_LABEL)
			return false;
	}
	return true;
}

/* dns_query - start one lookup; its callback runs from the loop */
int
dns_query(struct dns *d, const char *name, int rrtype, dns_cb cb, void *arg)
{
	struct dns_query	*q;
	int			 r;

	if (d->dying) {
		errno = ESHUTDOWN;
		return -1;
	}
	if (!dns_query_name_ok(name) || rrtype <= 0 || rrtype > 65535 ||
	    cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	q = xcalloc(1, sizeof(*q));
	q->dns = d;
	q->rrtype = rrtype;
	q->cb = cb;
	q->arg = arg;
	memcpy(q->name, name, strlen(name) + 1);
	if ((q->timer = evtimer_new(d->base, dns_timeout, q)) == NULL) {
		free(q);
		errno = ENOMEM;
		return -1;
	}
	r = d->ta_broken ? UB_INITFAIL : ub_resolve_async(d->ctx, q->name,
	    rrtype, DNS_CLASS_IN, q, dns_answer, &q->ub_id);
	if (r == UB_INITFAIL && d->anchored && d->plain != NULL) {
		/*
		 * libunbound reads the anchor file at the first query: one
		 * it cannot use fails every lookup.  Mail must not stop for
		 * it: the rest go unvalidated (never secure), said once.
		 */
		if (!d->ta_broken)
			log_warnx("dns: the DNSSEC trust anchor did not load "
			    "(%s): validation off, answers unvalidated; check "
			    "dnssec_trust_anchor", ub_strerror(r));
		d->ta_broken = true;
		(void)snprintf(q->why, sizeof(q->why), "trust anchor not "
		    "loaded");
		q->plain = true;
		r = ub_resolve_async(d->plain, q->name, rrtype, DNS_CLASS_IN,
		    q, dns_answer, &q->ub_id);
	}
	if (r != 0) {
		event_free(q->timer);
		free(q);
		errno = ub_errno(r);
		return -1;
	}
	q->id = d->next_id;
	d->next_id = d->next_id == INT32_MAX ? 1 : d->next_id + 1;
	TAILQ_INSERT_TAIL(&d->queries, q, entry);
	d->npending++;
	dns_arm(d, q);
	return q->id;
}

/* dns_cancel - forget query id: libunbound drops its answer */
void
dns_cancel(struct dns *d, int id)
{
	struct dns_query	*q;

	TAILQ_FOREACH(q, &d->queries, entry) {
		if (q->id == id) {
			dns_ub_cancel(d, q);
			dns_release(d, q);
			return;
		}
	}
}

/* --- pure parsers ----------------------------------------------------- */

/* dns_parse_forward - "addr[:port]" / "[v6]:port" to "addr@port" */
int
dns_parse_forward(const char *s, char *out, size_t outsz, struct err *e)
{
	char			 host[INET6_ADDRSTRLEN];
	const char		*port = NULL, *end, *colon;
	size_t			 hlen;
	unsigned long long	 p = 53;
	struct in6_addr		 a6;
	struct in_addr		 a4;
	bool			 v4, bracket = s[0] == '[';

	if (bracket) {
		if ((end = strchr(s, ']')) == NULL)
			return err_set(e, false, 0,
			    "dns resolver %s: missing ]", s);
		hlen = (size_t)(end - s - 1);
		s++;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return err_set(e, false, 0,
			    "dns resolver: junk after ]");
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		hlen = (size_t)(colon - s);
		port = colon + 1;
	} else
		hlen = strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		return err_set(e, false, 0, "dns resolver: bad address");
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	v4 = inet_pton(AF_INET, host, &a4) == 1;
	if (!v4 && inet_pton(AF_INET6, host, &a6) != 1)
		return err_set(e, false, 0,
		    "dns resolver %s: not an IP address", host);
	if (v4 && bracket)
		return err_set(e, false, 0, "dns resolver: [%s] is not IPv6",
		    host);
	if (port != NULL && str_to_ull(port, 1, 65535, &p) == -1)
		return err_set(e, false, 0, "dns resolver: bad port %s", port);
	if (str_fmt(out, outsz, "%s@%llu", host, p) == -1)
		return err_set(e, false, 0, "dns resolver: address too long");
	return 0;
}

/* host_char - may this byte appear in a label of a host name? */
static bool
host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* dns_name_from_wire - one uncompressed wire name to text, host names only */
int
dns_name_from_wire(const uint8_t *wire, size_t len, size_t *used,
    char *out, size_t outsz)
{
	char	 text[DNS_NAME_SIZE];
	size_t	 i = 0, o = 0, llen, k;

	for (;;) {
		if (i >= len)
			return -1;
		llen = wire[i++];
		if (llen == 0)
			break;
		/* 0xc0: compression pointer; 0x40, 0x80: obsolete types */
		if (llen > DNS_LABEL || llen > len - i ||
		    i + llen + 1 > DNS_WIRE_NAME)
			return -1;
		if (o != 0)
			text[o++] = '.';
		for (k = 0; k < llen; k++) {
			if (!host_char(wire[i + k]))
				return -1;
			text[o++] = (char)wire[i + k];
		}
		i += llen;
	}
	if (o == 0)
		text[o++] = '.';
	text[o] = '\0';
	if (o + 1 > outsz)
		return -1;
	memcpy(out, text, o + 1);
	*used = i;
	return 0;
}

/* dns_parse_mx_rdata - 16-bit preference, then exactly one name */
int
dns_parse_mx_rdata(const uint8_t *rd, size_t len, struct dns_mx *mx)
{
	char	 host[DNS_NAME_SIZE];
	size_t	 used;

	if (len < 3)
		return -1;
	if (dns_name_from_wire(rd + 2, len - 2, &used, host, sizeof(host)) ==
	    -1 || used != len - 2)
		return -1;
	mx->pref = (unsigned)rd[0] << 8 | rd[1];
	memcpy(mx->host, host, sizeof(host));
	return 0;
}

/* dns_parse_name_rdata - exactly one name (PTR, CNAME) */
int
dns_parse_name_rdata(const uint8_t *rd, size_t len, char *out, size_t outsz)
{
	char	 name[DNS_NAME_SIZE];
	size_t	 used;

	if (dns_name_from_wire(rd, len, &used, name, sizeof(name)) == -1 ||
	    used != len)
		return -1;
	return str_copy(out, name, outsz);
}

/* dns_parse_addr_rdata - 4 or 16 octets into a sockaddr, port 0 */
int
dns_parse_addr_rdata(int rrtype, const uint8_t *rd, size_t len,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;

	if (rrtype == DNS_T_A && len == 4) {
		memset(ss, 0, sizeof(*ss));
		sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, rd, 4);
		return 0;
	}
	if (rrtype == DNS_T_AAAA && len == 16) {
		memset(ss, 0, sizeof(*ss));
		sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, rd, 16);
		return 0;
	}
	return -1;
}

/* dns_parse_txt_rdata - validate all strings first, then concatenate */
int
dns_parse_txt_rdata(const uint8_t *rd, size_t len, char *out, size_t outsz,
    size_t *outlen)
{
	size_t	 i, total = 0, o = 0;

	/* RFC 1035 3.3.14: one or more <character-string>s */
	if (len == 0)
		return -1;
	for (i = 0; i < len; i += 1 + rd[i]) {
		if (rd[i] > len - i - 1)
			return -1;
		total += rd[i];
	}
	if (total + 1 > outsz)
		return -1;
	for (i = 0; i < len; i += 1 + rd[i]) {
		memcpy(out + o, rd + i + 1, rd[i]);
		o += rd[i];
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

/* dns_ptr_name - in-addr.arpa / ip6.arpa name of an address */
int
dns_ptr_name(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
	static const char	 hex[] = "0123456789abcdef";
	const uint8_t		*a;
	char			 name[DNS_NAME_SIZE];
	size_t			 o = 0;
	int			 i;

	if (ss->ss_family == AF_INET) {
		a = (const uint8_t *)
		    &((const struct sockaddr_in *)ss)->sin_addr;
		return str_fmt(out, outsz, "%u.%u.%u.%u.in-addr.arpa",
		    a[3], a[2], a[1], a[0]);
	}
	if (ss->ss_family != AF_INET6)
		return -1;
	a = (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
	for (i = 15; i >= 0; i--) {
		name[o++] = hex[a[i] & 0xf];
		name[o++] = '.';
		name[o++] = hex[a[i] >> 4];
		name[o++] = '.';
	}
	name[o] = '\0';
	return str_fmt(out, outsz, "%sip6.arpa", name);
}
