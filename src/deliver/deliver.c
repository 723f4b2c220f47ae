/*
 * deliver.c - the deliver process: jobs from the queue in, outbound SMTP
 * connections out, exactly one M_D_RESULT back per job.
 *
 * Runs unprivileged with two channels: the queue's (jobs, each with a
 * read-only body descriptor; never a spool path) and the parent's
 * (reload).  Jobs wait per destination domain; a domain gets a new
 * connection (MX plan via mx_resolve(), then mta.c) while it is under
 * outbound_max_per_domain and the process under outbound_max_connections
 * (a lookup in progress counts as a connection); a connection that
 * finished a job takes the domain's next one (RSET), or stays idle for
 * MTA_T_IDLE seconds, then QUITs.
 *
 * Reload (M_RELOAD from the parent, sent only once the parent has loaded
 * the new configuration): the process reads postern.conf again itself,
 * as the queue does, and makes a new generation of outbound settings
 * (struct outset: DNS context, EHLO name, port, source addresses, TLS
 * fallback, address family).  New connections take the current one;
 * a connection keeps the generation it was made with until it ends, and
 * one of an older generation never takes another job: it says QUIT when
 * idle.  An old generation (its DNS context with it) is freed once its
 * last connection has gone.  The connection limits apply at once to new
 * connections.  If the configuration cannot be read or the new DNS
 * context cannot be made, the running settings stay.
 *
 * DNSSEC: with a trust anchor (dnssec_trust_anchor), answers are
 * validated; a bogus one is looked up again without validation
 * (dns_set_bogus_fallback), so a resolver that strips DNSSEC does not
 * stop the mail.  Only `secure` answers may ever be trusted (DANE).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "bounds.h"
#include "conf.h"
#include "deliver.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "strutil.h"
#include "tls.h"
#include "xmalloc.h"
#include "deliver/dns.h"
#include "deliver/mta.h"
#include "deliver/mx.h"

struct dom;

struct deliver;

/*
 * One generation of outbound settings.  refs counts the connections made
 * with it, plus one while it is the current generation.
 */
struct outset {
	unsigned		 refs;
	unsigned		 gen;
	struct dns		*dns;
	struct mta_params	 params;	/* params.helo points at helo */
	enum ip_family_pref	 family;
	char			 helo[LIM_DOMAIN + 1];
	char			 anchor[PATH_MAX];	/* or "none" */
};

struct conn {
	struct deliver	*dl;
	struct outset	*os;		/* the settings it was made with */
	struct dom	*d;
	struct mta	*m;		/* NULL while the MX lookup runs */
	struct mx_req	*req;
	struct mta_job	*job;		/* the job the lookup is for */
	bool		 idle;
	struct conn	*next;
};

struct dom {
	char		 name[DNS_NAME_SIZE];
	struct mta_job	*head, *tail;	/* waiting jobs */
	struct conn	*conns;
	unsigned	 nconn;
	struct dom	*next;
};

struct deliver {
	struct event_base	*base;
	struct conf		*conf;
	struct chan		*queue;
	struct chan		*parent;
	bool			 conf_owned;	/* conf is ours to free */
	struct outset		*cur;		/* for new connections */
	unsigned		 gen;		/* generations made */
	SSL_CTX			*tls;
	struct dom		*doms;
	unsigned		 nconn;
	unsigned		 max_conn, max_per_domain;
	bool			 stopping;	/* the queue has gone */
	struct event		*stop_ev;	/* bound on the QUITs then */
};

static void	pump_all(struct deliver *);

/* send_result - the job's one M_D_RESULT; frees the job */
static void
send_result(struct deliver *d, struct mta_job *j)
{
	struct ipc_d_result	*res;
	struct msg		 r;
	size_t			 i;

	if (d->stopping) {
		/* nobody to tell: the queue tries the job again later */
		mta_job_free(j);
		return;
	}
	res = xcalloc(1, sizeof(*res));
	res->jobid = j->jobid;
	res->n = (uint32_t)j->nrcpt;
	for (i = 0; i < j->nrcpt; i++) {
		res->r[i].dr = j->res[i].dr;
		res->r[i].status = j->res[i].status;
		res->r[i].reply = j->res[i].reply;
		res->r[i].remote = j->res[i].remote;
	}
	ipc_d_result_put(&r, res);
	free(res);
	chan_send(d->queue, &r);
	mta_job_free(j);
}

/* dom_get - the domain's entry, made on first use */
static struct dom *
dom_get(struct deliver *d, const char *name)
{
	struct dom	*o;

	for (o = d->doms; o != NULL; o = o->next)
		if (strcmp(o->name, name) == 0)
			return o;
	o = xcalloc(1, sizeof(*o));
	(void)snprintf(o->name, sizeof(o->name), "%s", name);
	o->next = d->doms;
	d->doms = o;
	return o;
}

/* dom_gc - forget a domain with nothing waiting and no connection */
static void
dom_gc(struct deliver *d, struct dom *o)
{
	struct dom	**pp;

	if (o->head != NULL || o->conns != NULL)
		return;
	for (pp = &d->doms; *pp != NULL; pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			free(o);
			return;
		}
}

/* dom_push - queue a job at the end (or the front: handed back) */
static void
dom_push(struct dom *o, struct mta_job *j, bool front)
{
	j->next = NULL;
	if (front) {
		j->next = o->head;
		o->head = j;
		if (o->tail == NULL)
			o->tail = j;
		return;
	}
	if (o->tail != NULL)
		o->tail->next = j;
	else
		o->head = j;
	o->tail = j;
}

/* dom_pop - the domain's next job, or NULL */
static struct mta_job *
dom_pop(struct dom *o)
{
	struct mta_job	*j = o->head;

	if (j != NULL) {
		o->head = j->next;
		if (o->head == NULL)
			o->tail = NULL;
		j->next = NULL;
	}
	return j;
}

/* conn_unlink - drop c from its domain and the counts */
static void
conn_unlink(struct deliver *d, struct conn *c)
{
	struct conn	**pp;

	for (pp = &c->d->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->d->nconn--;
	d->nconn--;
}

static void	outset_put(struct deliver *, struct outset *);

/* conn_free - unlink c, let go of its settings, free it */
static void
conn_free(struct deliver *d, struct conn *c)
{
	conn_unlink(d, c);
	outset_put(d, c->os);
	free(c);
}

/* on_done - a job is decided: answer the queue */
static void
on_done(struct mta *m, struct mta_job *j, void *arg)
{
	struct conn	*c = arg;

	(void)m;
	send_result(c->dl, j);
}

/* on_idle - a connection is free: the domain's next job, or wait */
static void
on_idle(struct mta *m, void *arg)
{
	struct conn	*c = arg;
	struct mta_job	*j;

	if (c->os != c->dl->cur) {
		/* made before a reload: new jobs go with the new settings */
		c->idle = false;
		mta_quit(m);
		return;
	}
	if ((j = dom_pop(c->d)) != NULL) {
		c->idle = false;
		mta_give(m, j);
		return;
	}
	c->idle = true;
	if (c->dl->stopping) {
		mta_quit(m);
		return;
	}
	/* other domains wait for a slot: do not sit on this one */
	pump_all(c->dl);
}

/* on_gone - a connection ended; a job it never tried goes back */
static void
on_gone(struct mta *m, struct mta_job *j, void *arg)
{
	struct conn	*c = arg;
	struct deliver	*d = c->dl;
	struct dom	*o = c->d;

	(void)m;
	conn_free(d, c);
	if (d->stopping) {
		mta_job_free(j);
		if (d->nconn == 0)
			event_base_loopbreak(d->base);
		return;
	}
	if (j != NULL)
		dom_push(o, j, true);
	pump_all(d);
	dom_gc(d, o);
}

static const struct mta_cbs deliver_cbs = { on_done, on_idle, on_gone };

/* on_plan - the MX plan for a new connection's first job */
static void
on_plan(void *arg, const struct mx_plan *plan)
{
	struct conn	*c = arg;
	struct deliver	*d = c->dl;
	struct dom	*o = c->d;
	struct mta_job	*j = c->job;

	c->req = NULL;
	c->job = NULL;
	if (!plan->ok) {
		log_info("msgid=%s domain=%s no route: status=%s error=%s",
		    j->msgid, o->name, plan->status, plan->err.msg);
		mta_job_fail_all(j, plan->err.temp ? DR_TEMP : DR_PERM,
		    plan->status[0] != '\0' ? plan->status :
		    plan->err.temp ? "4.4.3" : "5.4.4", plan->err.msg, "");
		for (size_t i = 0; i < j->nrcpt; i++)
			log_info("msgid=%s rcpt=<%s> host=- result=%s "
			    "status=%s reply=\"%s\"", j->msgid, j->rcpt[i],
			    plan->err.temp ? "deferred" : "bounced",
			    j->res[i].status, j->res[i].reply);
		send_result(d, j);
		conn_free(d, c);
		pump_all(d);
		dom_gc(d, o);
		return;
	}
	/* only a secure answer may ever be trusted (DANE, later) */
	log_debug("msgid=%s domain=%s dnssec: MX answer %s, %zu host(s), "
	    "best %s addresses %s", j->msgid, o->name, plan->mx_secure ?
	    "secure" : "not secure", plan->nhosts, plan->hosts[0].name,
	    plan->hosts[0].secure ? "secure" : "not secure");
	c->m = mta_start(d->base, &c->os->params, plan, j, &deliver_cbs, c);
}

/* conn_new - a connection slot for o, starting with its next job */
static void
conn_new(struct deliver *d, struct dom *o)
{
	struct conn	*c = xcalloc(1, sizeof(*c));

	c->dl = d;
	c->os = d->cur;
	c->os->refs++;
	c->d = o;
	c->job = dom_pop(o);
	c->next = o->conns;
	o->conns = c;
	o->nconn++;
	d->nconn++;
	c->req = mx_resolve(c->os->dns, o->name, c->os->family, on_plan, c);
	if (c->req == NULL) {
		mta_job_fail_all(c->job, DR_TEMP, "4.4.3",
		    "cannot start a DNS lookup", "");
		send_result(d, c->job);
		conn_free(d, c);
	}
}

/* pump - give o's waiting jobs to idle connections or new ones */
static bool
pump(struct deliver *d, struct dom *o)
{
	struct conn	*c;

	while (o->head != NULL) {
		for (c = o->conns; c != NULL; c = c->next)
			if (c->idle && c->m != NULL && c->os == d->cur)
				break;
		if (c != NULL) {
			c->idle = false;
			mta_give(c->m, dom_pop(o));
			continue;
		}
		if (o->nconn >= d->max_per_domain)
			return false;
		if (d->nconn >= d->max_conn)
			return true;	/* blocked by the overall limit */
		conn_new(d, o);
	}
	return false;
}

/* pump_all - every domain; idle connections yield to blocked domains */
static void
pump_all(struct deliver *d)
{
	struct dom	*o, *next;
	struct conn	*c;
	bool		 blocked = false;

	for (o = d->doms; o != NULL; o = next) {
		next = o->next;
		if (pump(d, o))
			blocked = true;
	}
	if (!blocked)
		return;
	for (o = d->doms; o != NULL; o = o->next)
		for (c = o->conns; c != NULL; c = c->next)
			if (c->idle && c->m != NULL) {
				c->idle = false;
				mta_quit(c->m);	/* on_gone pumps again */
				return;
			}
}

/* lower_domain - the domain as a DNS name: lower case, no trailing dot */
static void
lower_domain(char *dst, size_t dsz, const char *src)
{
	size_t	i;

	for (i = 0; src[i] != '\0' && i + 1 < dsz; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
	if (i > 1 && dst[i - 1] == '.')
		dst[i - 1] = '\0';
}

/* on_stop_timeout - connections still busy after the queue left */
static void
on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct deliver	*d = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(d->base);
}

/*
 * deliver_stop - the queue closed its channel: idle connections say QUIT,
 * running jobs are abandoned (the queue retries them); exit once every
 * connection is gone, or after a few seconds
 */
static void
deliver_stop(struct deliver *d)
{
	struct dom	*o;
	struct conn	*c, *next;
	struct timeval	 tv = { MTA_T_QUIT, 0 };

	d->stopping = true;
	for (o = d->doms; o != NULL; o = o->next) {
		while (o->head != NULL)
			mta_job_free(dom_pop(o));
		for (c = o->conns; c != NULL; c = next) {
			next = c->next;
			if (c->req != NULL) {
				/* still looking up the MX: never connects */
				mx_cancel(c->req);
				mta_job_free(c->job);
				conn_free(d, c);
			} else if (c->idle && c->m != NULL) {
				c->idle = false;
				mta_quit(c->m);
			}
		}
	}
	if (d->nconn == 0) {
		event_base_loopbreak(d->base);
		return;
	}
	d->stop_ev = event_new(d->base, -1, 0, on_stop_timeout, d);
	if (d->stop_ev == NULL || event_add(d->stop_ev, &tv) == -1)
		event_base_loopbreak(d->base);
}

/* deliver_queue_cb - a job from the queue, or the queue's end */
static void
deliver_queue_cb(struct chan *ch, struct msg *m, void *arg)
{
	struct deliver		*d = arg;
	struct ipc_d_job	*dj;
	struct mta_job		*j;
	struct dom		*o;
	struct err		 e;
	char			 dom[DNS_NAME_SIZE];
	uint32_t		 i;

	(void)ch;
	if (m == NULL) {
		if (!d->stopping)
			deliver_stop(d);
		return;
	}
	if (d->stopping)
		return;		/* going away: the queue will try again */
	if (m->type != M_D_JOB)
		fatalx("deliver: unexpected message %u from queue", m->type);
	/* the queue is trusted: a malformed job is a broken invariant */
	dj = xmalloc(sizeof(*dj));
	if (ipc_d_job_get(m, dj, &e) == -1)
		fatalx("deliver: %s", e.msg);
	j = mta_job_new(dj->nrcpts);
	j->jobid = dj->jobid;
	j->msgid = xstrdup(dj->msgid);
	j->from = xstrdup(dj->from);
	j->flags = dj->flags;
	j->size = dj->size;
	j->prefix = xstrdup(dj->prefix);
	j->prefix_len = strlen(j->prefix);
	lower_domain(dom, sizeof(dom), dj->domain);
	j->domain = xstrdup(dom);
	for (i = 0; i < dj->nrcpts; i++)
		j->rcpt[i] = xstrdup(dj->rcpts[i]);
	j->fd = dj->fd;
	free(dj);
	if (j->fd == -1) {
		mta_job_fail_all(j, DR_TEMP, "4.3.0",
		    "no message body with the job", "");
		send_result(d, j);
		return;
	}
	if (dom[0] == '\0') {
		/* an address literal (RFC 5321 4.1.3) goes on: mx_resolve() */
		mta_job_fail_all(j, DR_PERM, "5.1.2", "no destination domain",
		    "");
		send_result(d, j);
		return;
	}
	log_debug("msgid=%s job=%llu domain=%s rcpts=%zu size=%llu", j->msgid,
	    (unsigned long long)j->jobid, dom, j->nrcpt,
	    (unsigned long long)j->size);
	o = dom_get(d, dom);
	dom_push(o, j, false);
	pump_all(d);
}

/* source_addr - postern.conf's outbound_source_ipv4/6 ("" = any) */
static bool
source_addr(const char *s, int af, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (s[0] == '\0')
		return false;
	if (af == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		if (inet_pton(AF_INET, s, &s4->sin_addr) == 1)
			return true;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1)
			return true;
	}
	fatalx("deliver: bad outbound source address %s", s);
}

/*
 * outset_new - a generation of outbound settings from conf: its own DNS
 * context (validating when conf names a trust anchor, with the
 * non-validating fallback for bogus answers).  NULL, e set, if the DNS
 * context cannot be made.
 */
static struct outset *
outset_new(struct deliver *d, const struct conf *conf, struct err *e)
{
	struct outset	*os = xcalloc(1, sizeof(*os));
	const char	*ta = NULL;

	if (strcmp(conf->dnssec_trust_anchor, CONF_TA_NONE) != 0)
		ta = conf->dnssec_trust_anchor;
	if (ta != NULL && (os->dns = dns_new(d->base,
	    conf->dns_resolver[0] != '\0' ? conf->dns_resolver : NULL, ta,
	    e)) == NULL) {
		/* unreadable by us, say: DNSSEC must not stop the mail */
		log_warnx("deliver: %s: DNSSEC validation off", e->msg);
		ta = NULL;
	}
	if ((os->dns == NULL && (os->dns = dns_new(d->base,
	    conf->dns_resolver[0] != '\0' ? conf->dns_resolver : NULL, ta,
	    e)) == NULL) || dns_set_bogus_fallback(os->dns, e) == -1) {
		dns_free(os->dns);
		free(os);
		return NULL;
	}
	if (mx_family_parse(conf->outbound_ip_family, &os->family) == -1) {
		log_warnx("deliver: outbound_ip_family %s: using ipv6-first",
		    conf->outbound_ip_family);
		os->family = FAM_BOTH_V6_FIRST;
	}
	(void)str_copy(os->helo, conf->hostname, sizeof(os->helo));
	(void)str_copy(os->anchor, ta != NULL ? ta : CONF_TA_NONE,
	    sizeof(os->anchor));
	os->params.helo = os->helo;
	os->params.tls = d->tls;
	os->params.plain_fallback = conf->outbound_plain_fallback;
	os->params.port = conf->outbound_smtp_port != 0 ?
	    conf->outbound_smtp_port : 25;
	os->params.has_src4 = source_addr(conf->outbound_source_ipv4,
	    AF_INET, &os->params.src4);
	os->params.has_src6 = source_addr(conf->outbound_source_ipv6,
	    AF_INET6, &os->params.src6);
	os->gen = ++d->gen;
	os->refs = 1;
	return os;
}

/* outset_free_cb - free a generation nobody uses (from the loop) */
static void
outset_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outset	*os = arg;

	(void)fd;
	(void)what;
	log_debug("deliver: settings generation %u freed", os->gen);
	dns_free(os->dns);
	free(os);
}

/*
 * outset_put - one user less.  The last one frees it, from the loop: the
 * caller may be inside a callback of its DNS context.
 */
static void
outset_put(struct deliver *d, struct outset *os)
{
	struct timeval	 now = { 0, 0 };

	if (--os->refs > 0)
		return;
	if (event_base_once(d->base, -1, EV_TIMEOUT, outset_free_cb, os,
	    &now) == -1)
		fatalx("deliver: cannot schedule a timer");
}

/* deliver_limits - the connection limits of conf */
static void
deliver_limits(struct deliver *d, const struct conf *conf)
{
	d->max_conn = conf->outbound_max_connections > 0 ?
	    conf->outbound_max_connections : 1;
	d->max_per_domain = conf->outbound_max_per_domain > 0 ?
	    conf->outbound_max_per_domain : 1;
}

/* deliver_settings_log - one line on the settings in force */
static void
deliver_settings_log(const struct deliver *d, const char *what)
{
	const struct outset	*os = d->cur;

	log_info("%s: max_connections=%u max_per_domain=%u port=%u "
	    "helo=%s plain_fallback=%s dnssec_trust_anchor=%s", what,
	    d->max_conn, d->max_per_domain, os->params.port, os->helo,
	    os->params.plain_fallback ? "yes" : "no", os->anchor);
}

/*
 * deliver_reload - M_RELOAD: read postern.conf again; new connections
 * get the new settings, connections in flight keep theirs
 */
static void
deliver_reload(struct deliver *d)
{
	struct conf	*nc = xcalloc(1, sizeof(*nc));
	struct outset	*os, *old = d->cur;
	struct dom	*o;
	struct conn	*c;
	struct err	 e;

	if (conf_load(nc, d->conf->dir, &e) == -1 ||
	    (os = outset_new(d, nc, &e)) == NULL) {
		log_warnx("deliver: reload failed, keeping the current "
		    "settings: %s", e.msg);
		conf_free(nc);
		free(nc);
		return;
	}
	d->cur = os;
	outset_put(d, old);
	deliver_limits(d, nc);
	if (d->conf_owned) {
		conf_free(d->conf);
		free(d->conf);
	}
	d->conf = nc;
	d->conf_owned = true;
	/* idle connections of the old settings go; busy ones finish */
	for (o = d->doms; o != NULL; o = o->next)
		for (c = o->conns; c != NULL; c = c->next)
			if (c->os != d->cur && c->idle && c->m != NULL) {
				c->idle = false;
				mta_quit(c->m);
			}
	deliver_settings_log(d, "deliver: configuration reloaded");
	/* the limits may have grown */
	pump_all(d);
}

/* deliver_parent_cb - reload, or the end */
static void
deliver_parent_cb(struct chan *c, struct msg *m, void *arg)
{
	struct deliver	*d = arg;

	(void)c;
	if (m == NULL) {
		if (!d->stopping)
			deliver_stop(d);
		return;
	}
	if (ipc_empty_get(m, M_RELOAD, NULL) == -1)
		fatalx("deliver: unexpected message %u from parent", m->type);
	if (!d->stopping)
		deliver_reload(d);
}

/*
 * tls_client_ctx - TLS >= 1.2, the groups of every context (net/tls.c:
 * a peer offering only finite-field groups gets no handshake), system
 * trust store, verify-and-record
 */
static SSL_CTX *
tls_client_ctx(void)
{
	SSL_CTX		*ctx;
	struct err	 e;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		fatalx("deliver: SSL_CTX_new");
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		fatalx("deliver: TLS minimum version");
	if (tls_set_groups(ctx, &e) == -1)
		fatalx("deliver: %s", e.msg);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		log_warnx("deliver: no system trust store: every certificate "
		    "will be unverified");
	/* opportunistic (RFC 3207 4.1): the result is logged, not enforced */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

void
deliver_main(struct conf *conf, int parent_sock, int queue_sock)
{
	struct deliver	d;
	struct err	e;

	memset(&d, 0, sizeof(d));
	log_procname("deliver");
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);
	if ((d.base = event_base_new()) == NULL)
		fatalx("deliver: event_base_new");
	d.conf = conf;
	d.tls = tls_client_ctx();
	if ((d.cur = outset_new(&d, conf, &e)) == NULL)
		fatalx("deliver: DNS: %s", e.msg);
	deliver_limits(&d, conf);
	d.queue = chan_new(d.base, queue_sock, deliver_queue_cb, &d);
	d.parent = chan_new(d.base, parent_sock, deliver_parent_cb, &d);
	deliver_settings_log(&d, "deliver ready");
	event_base_dispatch(d.base);
	log_info("deliver stopped");
	exit(0);
}
