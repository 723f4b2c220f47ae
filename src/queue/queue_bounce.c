/*
 * queue_bounce.c - expiry, bounces and delay warnings (queue_bounce.h).
 *
 * When recipients of a message have failed for good (a 5xx, a local
 * permanent error, or queue_lifetime reached), one DSN (bounce.c) covering
 * them is built from the body's headers and injected into the queue as a
 * NEW message: from the null sender, to the original sender, spooled and
 * committed through the commit thread exactly like mail from smtp, then
 * delivered locally or remotely like any other.  Only once that commit is
 * durable are the recipients marked "bounced" (and the envelope rewritten),
 * so a crash in between bounces twice rather than never.  A sender that
 * bounce_wanted() refuses (the null sender: a bounce's own failure, or
 * MAILER-DAEMON) gets nothing: logged "no bounce to <...>".  A message has
 * at most one DSN being queued at a time and does nothing else meanwhile.
 *
 * The delay warning works the same way, once per message (env.warned),
 * when delay_warning > 0 and a remote recipient is still pending that long
 * after arrival.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "msgtypes.h"
#include "xmalloc.h"
#include "queue/bounce.h"
#include "queue/qplan.h"
#include "queue/queue_bounce.h"
#include "queue/queue_commit.h"
#include "queue/queue_dkim.h"
#include "queue/queue_ingest.h"
#include "queue/queue_signer.h"
#include "queue/queue_state.h"
#include "queue/route.h"
#include "queue/sched.h"
#include "queue/spool.h"

#define Q_DSN_CAP	(8u * 1024 * 1024)	/* one DSN, bytes */

/* a DSN's commit: which kind, of which message; what it is built from */
struct dsn_commit {
	struct commit	 c;		/* first: the commit thread's item */
	bool		 warning;	/* a delay warning, not a bounce */
	char		 orig[SPOOL_ID_LEN + 1];
	char		*rcpt;		/* the original sender */
	uint32_t	 flags;
	uint64_t	 body_hash;
	struct dkim_plan *pl;		/* while the signer works, or NULL */
};

static void	dsn_done(struct queue *, struct commit *);

/* retry_later - arm m's timer for retry_min */
static void
retry_later(struct queue *q, struct qmsg *m)
{
	struct timeval	tv;

	tv.tv_sec = sched_retry_floor(q->conf->retry_min);
	tv.tv_usec = 0;
	evtimer_add(m->timer, &tv);
}

/* later - *next = min(*next, t) */
static void
later(time_t *next, time_t t)
{
	if (*next == 0 || t < *next)
		*next = t;
}

/* dsn_free - a DSN commit that never reached the commit thread */
static void
dsn_free(struct dsn_commit *dc)
{
	if (dc->pl != NULL) {
		queue_dkim_release(dc->pl);
		free(dc->pl);
	}
	free(dc->rcpt);
	free(dc);
}

/*
 * dsn_post - the DSN's envelope (prefix: its signatures, or NULL), into
 * the commit thread; -1 with e, the body discarded and dc freed
 */
static int
dsn_post(struct queue *q, struct dsn_commit *dc, const char *prefix,
    struct err *e)
{
	struct commit	*c = &dc->c;
	const char	*rcpt = dc->rcpt;
	char		 client[128];

	(void)snprintf(client, sizeof(client), "local (%s for msgid=%s)",
	    dc->warning ? "delay warning" : "bounce", dc->orig);
	if (queue_ingest_build(q, &(struct ingest_in){ .id = c->id,
	    .from = "", .flags = dc->flags, .auth = "", .client = client,
	    .rcpts = &rcpt, .n = 1, .body_hash = dc->body_hash,
	    .prefix = prefix }, &c->env, e) == -1)
		goto fail;
	if (!queue_commit_post(q, c)) {
		envelope_free(&c->env);
		err_set(e, true, 0, "queue is shutting down");
		goto fail;
	}
	return 0;
fail:
	spool_discard(&q->sp, c->id);
	dsn_free(dc);
	return -1;
}

/*
 * dsn_signed - the signer is done with a DSN: committed with its
 * signatures, or without them (a DSN must reach the sender: logged)
 */
static void
dsn_signed(struct queue *q, struct dkim_plan *pl, bool ok, void *arg)
{
	struct dsn_commit	*dc = arg;
	struct qmsg		*m;
	struct err		 e;
	char			*prefix = NULL, orig[SPOOL_ID_LEN + 1];

	dc->pl = NULL;
	memcpy(orig, dc->orig, sizeof(orig));	/* dsn_post may free dc */
	if (ok)
		prefix = queue_dkim_prefix(pl);
	else
		log_warnx("msgid=%s %s for msgid=%s goes unsigned",
		    dc->c.id, dc->warning ? "delay warning" : "bounce",
		    dc->orig);
	queue_dkim_release(pl);
	free(pl);
	memset(&e, 0, sizeof(e));
	if (dsn_post(q, dc, prefix, &e) == -1) {
		/* as a failed commit: the message tries again later */
		log_warnx("msgid=%s cannot queue its DSN: %s", orig, e.msg);
		if ((m = qmsg_find(q, orig)) != NULL && m->dsn) {
			m->dsn = false;
			free(m->dsn_ri);
			m->dsn_ri = NULL;
			m->dsn_n = 0;
			retry_later(q, m);
		}
	}
	free(prefix);
}

/*
 * dsn_inject - the DSN text as a new message from <> to m's sender,
 * signed with the keys of the hostname's domain when it has any, into
 * the commit thread (now, or once signed); 0, or -1 (nothing left behind)
 */
static int
dsn_inject(struct queue *q, struct qmsg *m, bool warning,
    const struct buf *b, struct err *e)
{
	struct dsn_commit	*dc;
	struct commit		*c;
	struct dkim_plan	*pl;
	const char		*domain;
	char			 id[SPOOL_ID_LEN + 1];
	uint64_t		 wseq;
	int			 fd, rc;

	wseq = atomic_fetch_add(&q->wseq, 1) + 1;	/* before anything */
	if (spool_create_body(&q->sp, id, O_WRONLY, &fd, e) == -1)
		return -1;
	rc = fsutil_write_all(fd, buf_ptr(b), buf_avail(b)) == -1 ?
	    err_set(e, true, errno, "write: %s", strerror(errno)) : 0;
	if (close(fd) == -1 && rc == 0)
		rc = err_set(e, true, errno, "close: %s", strerror(errno));
	if (rc == -1) {
		spool_discard(&q->sp, id);
		return -1;
	}
	dc = xcalloc(1, sizeof(*dc));
	dc->warning = warning;
	memcpy(dc->orig, m->env.id, sizeof(dc->orig));
	dc->rcpt = xstrdup(m->env.from);
	dc->flags = m->env.flags & (QF_8BITMIME | QF_SMTPUTF8);
	dc->body_hash = hash64(buf_ptr(b), buf_avail(b));
	c = &dc->c;
	c->done = dsn_done;
	c->arg = dc;
	c->wseq = wseq;
	memcpy(c->id, id, sizeof(c->id));
	if ((domain = queue_dkim_signer_domain(q, q->conf->hostname)) !=
	    NULL) {
		pl = xcalloc(1, sizeof(*pl));
		if (queue_dkim_plan(q, id, -1, buf_ptr(b), buf_avail(b),
		    false, domain, pl, e) == -1) {
			free(pl);
			spool_discard(&q->sp, id);
			dsn_free(dc);
			return -1;
		}
		if (pl->n > 0) {
			dc->pl = pl;
			queue_signer_start(q, pl, dsn_signed, dc);
			return 0;
		}
		queue_dkim_release(pl);
		free(pl);
	}
	return dsn_post(q, dc, NULL, e);
}

/*
 * dsn_start - a bounce (the failed recipients) or a delay warning (the
 * pending remote ones) for m.  true: m waits (the DSN is on its way, or
 * a retry is armed); false: nothing to wait for.
 */
static bool
dsn_start(struct queue *q, struct qmsg *m, bool warning, time_t now)
{
	struct env_rcpt		*r;
	struct bounce_rcpt	*br;
	struct bounce_msg	 bm;
	struct buf		 b;
	struct err		 e;
	size_t			*ri, n = 0, i;
	int			 fd, rc = -1;

	if (!bounce_wanted(m->env.from) || (m->env.flags & QF_NODSN)) {
		for (i = 0; i < m->env.nrcpts; i++)
			if (!warning && m->env.rcpts[i].state == RCPT_FAILED) {
				m->env.rcpts[i].state = RCPT_BOUNCED;
				n++;
			}
		if (warning)
			m->env.warned = now;
		else
			log_info("msgid=%s no bounce to <%s>: %zu failed "
			    "recipients%s", m->env.id, m->env.from, n,
			    (m->env.flags & QF_NODSN) ? " (it arrived failing "
			    "SPF or DMARC p=reject: likely forged)" : "");
		m->dirty = true;
		return false;
	}
	ri = xcalloc(m->env.nrcpts + 1, sizeof(*ri));
	br = xcalloc(m->env.nrcpts + 1, sizeof(*br));
	for (i = 0; i < m->env.nrcpts; i++) {
		r = &m->env.rcpts[i];
		if (warning ? r->state != RCPT_PENDING ||
		    !route_is_remote(r->addr, q->conf) : r->state != RCPT_FAILED)
			continue;
		/* a command is not an address: the alias it is for is */
		br[n].addr = route_is_pipe(r->addr) && r->via != NULL ?
		    r->via : r->addr;
		br[n].orig = r->orig;
		br[n].diag = r->last_error;
		br[n].status = r->last_error != NULL &&
		    strncmp(r->last_error, QPLAN_EXPIRED,
		    strlen(QPLAN_EXPIRED)) == 0 ? "4.4.7" : NULL;
		br[n].remote_mta = r->remote;
		br[n].failed = !warning;
		ri[n++] = i;
	}
	memset(&bm, 0, sizeof(bm));
	bm.id = m->env.id;
	bm.hostname = q->conf->hostname;
	bm.from = m->env.from;
	bm.arrival = m->env.created;
	bm.rcpts = br;
	bm.nrcpts = n;
	bm.warning = warning;
	bm.retry_hours = q->conf->queue_lifetime / 3600;
	bm.prefix = m->env.prefix;
	buf_init(&b, Q_DSN_CAP);
	if ((fd = spool_open_body(&q->sp, m->env.id, &e)) != -1) {
		rc = bounce_build(&bm, fd, &b, &e);
		close(fd);
	}
	if (rc == 0)
		rc = dsn_inject(q, m, warning, &b, &e);
	buf_release(&b);
	free(br);
	if (rc == 0) {
		m->dsn = true;
		free(m->dsn_ri);
		m->dsn_ri = ri;
		m->dsn_n = n;
		return true;
	}
	free(ri);
	if (e.temp) {
		log_warnx("msgid=%s cannot queue a %s now: %s", m->env.id,
		    warning ? "delay warning" : "bounce", e.msg);
		retry_later(q, m);
		return true;
	}
	/* it will never work: say so once, and go on without it */
	log_warnx("msgid=%s cannot make a %s: %s: none sent", m->env.id,
	    warning ? "delay warning" : "bounce", e.msg);
	for (i = 0; i < m->env.nrcpts; i++)
		if (!warning && m->env.rcpts[i].state == RCPT_FAILED)
			m->env.rcpts[i].state = RCPT_BOUNCED;
	if (warning)
		m->env.warned = now;
	m->dirty = true;
	return false;
}

/* queue_bounce_check - expiry, then a bounce or warning if due */
bool
queue_bounce_check(struct queue *q, struct qmsg *m, time_t now,
    time_t *next)
{
	const struct conf	*cf = q->conf;
	struct env_rcpt		*r;
	size_t			 i;

	if (sched_expired(m->env.created, now, cf->queue_lifetime)) {
		for (i = 0; i < m->env.nrcpts; i++) {
			r = &m->env.rcpts[i];
			if (r->state == RCPT_PENDING && r->job == 0)
				log_warnx("msgid=%s rcpt=<%s> failed: %s (gave "
				    "up after %u attempts)", m->env.id, r->addr,
				    QPLAN_EXPIRED, r->attempts);
		}
		if (qplan_expire(&m->env, now, cf->queue_lifetime) > 0)
			m->dirty = true;
	} else if (qplan_count(&m->env, RCPT_PENDING, false) > 0)
		later(next, m->env.created + (time_t)cf->queue_lifetime);
	if (qplan_count(&m->env, RCPT_FAILED, false) > 0)
		return dsn_start(q, m, false, now);
	if (qplan_warn_due(&m->env, now, cf->delay_warning,
	    route_is_remote, q->conf))
		return dsn_start(q, m, true, now);
	if (cf->delay_warning > 0 && m->env.warned == 0 &&
	    qplan_count(&m->env, RCPT_PENDING, false) > 0)
		later(next, m->env.created + (time_t)cf->delay_warning);
	return false;
}

/* dsn_done - a DSN's commit is back (its done): mark its message */
static void
dsn_done(struct queue *q, struct commit *c)
{
	struct dsn_commit	*dc = c->arg;
	struct qmsg		*m, *dm;
	size_t			 i;
	const char		*what = !dc->warning ? "bounce" :
				    "delay-warning";

	m = qmsg_find(q, dc->orig);
	if (c->rc == 0) {
		dm = qmsg_new(q, &c->env);
		log_info("msgid=%s queued size=%llu from=<> nrcpt=%zu "
		    "client=local kind=%s orig_msgid=%s", dm->env.id,
		    (unsigned long long)dm->env.size, dm->env.nrcpts, what,
		    dc->orig);
		qmsg_log_rcpts(q, dm, true);
		qmsg_touch(dm);
	} else {
		log_warnx("msgid=%s %s for msgid=%s not queued: %s", c->id,
		    what, dc->orig, c->err.msg);
		envelope_free(&c->env);
	}
	if (m != NULL && m->dsn) {
		m->dsn = false;
		if (c->rc == 0) {
			for (i = 0; i < m->dsn_n; i++)
				if (!dc->warning && m->env.rcpts[
				    m->dsn_ri[i]].state == RCPT_FAILED)
					m->env.rcpts[m->dsn_ri[i]].state =
					    RCPT_BOUNCED;
			if (dc->warning)
				m->env.warned = queue_state_now(q);
			log_info("msgid=%s %s queued as msgid=%s "
			    "recipients=%zu", m->env.id, what, c->id, m->dsn_n);
			m->dirty = true;
		}
		free(m->dsn_ri);
		m->dsn_ri = NULL;
		m->dsn_n = 0;
		if (c->rc == 0)
			qmsg_touch(m);
		else
			retry_later(q, m);
	}
	dsn_free(dc);
}
