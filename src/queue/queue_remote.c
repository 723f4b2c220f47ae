/*
 * queue_remote.c - the queue's side of outbound delivery (queue_remote.h):
 * due remote recipients of a message, grouped by domain (qplan.c), go to
 * the deliver process as M_D_JOB with a read-only descriptor of the body;
 * each M_D_RESULT is applied to the envelope (done, deferred per sched.h,
 * failed: a bounce is due) and the message rescheduled, which writes the
 * envelope durably through the delivery thread (queue_local.c).
 *
 * A recipient in a job is "in flight" (env_rcpt.job, in memory only: on
 * disk it stays pending, so a crash retries it).  A result for a message
 * the delivery thread owns (busy) is kept in its job and applied when the
 * message comes back.  When the deliver channel closes, every job without
 * a result is dropped and its recipients wait retry_min.  A result for an
 * unknown job (its message was removed) is ignored; a malformed one is
 * reported to the caller (the deliver process is a trusted sibling).
 * Limits: Q_RJOB_MAX recipients per job.
 */
#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "xmalloc.h"
#include "queue/qplan.h"
#include "queue/queue_remote.h"
#include "queue/queue_state.h"
#include "queue/route.h"
#include "queue/sched.h"
#include "queue/spool.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif


/* the results of one job, copied out of the message */
struct rres {
	size_t		 n;
	uint32_t	*dr;
	char		**reply;
	char		**remote;
};

/* a deliver job in flight: some remote recipients of one message */
struct rjob {
	TAILQ_ENTRY(rjob)	 entry;
	uint64_t		 id;
	struct qmsg		*m;
	size_t			*ri;		/* indices in m->env.rcpts */
	size_t			 n;
	struct rres		*held;		/* result, kept while m busy */
};

/* rres_free - a held result */
static void
rres_free(struct rres *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->reply[i]);
		free(r->remote[i]);
	}
	free(r->dr);
	free(r->reply);
	free(r->remote);
	free(r);
}

/* rjob_free - unlink and free a job */
static void
rjob_free(struct queue *q, struct rjob *j)
{
	TAILQ_REMOVE(&q->rjobs, j, entry);
	rres_free(j->held);
	free(j->ri);
	free(j);
}

/* rjob_send - M_D_JOB for recipients ri of m; false if no body */
static bool
rjob_send(struct queue *q, struct qmsg *m, const size_t *ri, size_t n)
{
	struct ipc_d_job	*dj;
	struct rjob		*j;
	struct msg		 msg;
	struct err		 e;
	size_t			 i;
	int			 fd;

	if ((fd = spool_open_body(&q->sp, m->env.id, &e)) == -1) {
		log_warnx("msgid=%s cannot open the body for delivery: %s",
		    m->env.id, e.msg);
		return false;
	}
	j = xcalloc(1, sizeof(*j));
	j->id = ++q->next_jobid;
	j->m = m;
	j->n = n;
	j->ri = xreallocarray(NULL, n, sizeof(*j->ri));
	memcpy(j->ri, ri, n * sizeof(*ri));
	TAILQ_INSERT_TAIL(&q->rjobs, j, entry);
	dj = xcalloc(1, sizeof(*dj));
	dj->jobid = j->id;
	dj->msgid = m->env.id;
	dj->from = qplan_sender(&m->env, &m->env.rcpts[ri[0]]);
	dj->flags = m->env.flags;
	dj->size = m->env.size;
	dj->prefix = m->env.prefix != NULL ? m->env.prefix : "";
	dj->domain = qplan_domain(m->env.rcpts[ri[0]].addr);
	dj->nrcpts = (uint32_t)n;
	for (i = 0; i < n; i++) {
		m->env.rcpts[ri[i]].job = j->id;
		dj->rcpts[i] = m->env.rcpts[ri[i]].addr;
	}
	dj->fd = fd;
	ipc_d_job_put(&msg, dj);
	free(dj);
	chan_send(q->deliver, &msg);
	log_debug("msgid=%s job %llu: %zu recipients at %s", m->env.id,
	    (unsigned long long)j->id, n, qplan_domain(m->env.rcpts[ri[0]].addr));
	return true;
}

/* queue_remote_dispatch - one job per domain of m's due remote rcpts */
void
queue_remote_dispatch(struct queue *q, struct qmsg *m, time_t now,
    time_t *next)
{
	size_t	ri[Q_RJOB_MAX], n, i;
	time_t	retry;

	if (q->deliver == NULL)
		return;		/* they wait for a deliver process */
	while (qplan_group(&m->env, now, route_is_remote, q->conf, Q_RJOB_MAX,
	    ri, &n, next)) {
		if (rjob_send(q, m, ri, n))
			continue;
		/* the body cannot be read now: all of them wait retry_min */
		retry = now + sched_retry_floor(q->conf->retry_min);
		for (i = 0; i < m->env.nrcpts; i++)
			if (m->env.rcpts[i].state == RCPT_PENDING &&
			    m->env.rcpts[i].job == 0 &&
			    route_is_remote(m->env.rcpts[i].addr, q->conf) &&
			    m->env.rcpts[i].next_try <= now)
				m->env.rcpts[i].next_try = retry;
		if (*next == 0 || retry < *next)
			*next = retry;
		break;
	}
}

/* rjob_apply - a job's (held) results into its message's envelope, logged */
static void
rjob_apply(struct queue *q, struct rjob *j)
{
	const uint32_t		*dr = j->held->dr;
	char *const		*reply = j->held->reply;
	char *const		*remote = j->held->remote;
	struct qmsg		*m = j->m;
	struct env_rcpt		*r;
	struct qplan_conf	 c;
	time_t			 now = queue_state_now(q);
	size_t			 i;

	c.retry_min = q->conf->retry_min;
	c.retry_max = q->conf->retry_max;
	c.lifetime = q->conf->queue_lifetime;
	c.delay_warning = q->conf->delay_warning;
	for (i = 0; i < j->n; i++) {
		r = &m->env.rcpts[j->ri[i]];
		if (r->job != j->id)
			continue;	/* not ours any more */
		switch (qplan_apply(&m->env, j->ri[i], dr[i], reply[i],
		    remote[i], now, &c)) {
		case QP_DONE:
			log_info("msgid=%s rcpt=<%s> delivered remote=%s "
			    "reply=%s", m->env.id, r->addr, remote[i][0] != '\0' ?
			    remote[i] : "-", reply[i]);
			break;
		case QP_DEFERRED:
			log_warnx("msgid=%s rcpt=<%s> deferred: attempt=%u "
			    "retry_in=%llds error=%s", m->env.id, r->addr,
			    r->attempts, (long long)(r->next_try - now),
			    r->last_error);
			break;
		case QP_FAILED:
			log_warnx("msgid=%s rcpt=<%s> failed: remote=%s "
			    "error=%s", m->env.id, r->addr,
			    remote[i][0] != '\0' ? remote[i] : "-",
			    r->last_error);
			break;
		case QP_EXPIRED:
			log_warnx("msgid=%s rcpt=<%s> failed: "
			    "gave_up=queue_lifetime error=%s", m->env.id,
			    r->addr, r->last_error);
			break;
		}
	}
	m->dirty = true;
}

/* reply_has_code - does s start like an SMTP reply, "NNN " or "NNN-"? */
static bool
reply_has_code(const char *s)
{
	return s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' &&
	    s[2] >= '0' && s[2] <= '9' && (s[3] == ' ' || s[3] == '-');
}

/* queue_remote_result - M_D_RESULT from the deliver process */
int
queue_remote_result(struct queue *q, struct msg *msg)
{
	struct ipc_d_result	 res;
	struct rjob		*j;
	struct qmsg		*m;
	struct rres		*h;
	struct err		 e;
	uint64_t		 id;
	uint32_t		 n, i;

	if (ipc_d_result_get(msg, &res, &e) == -1)
		return -1;
	id = res.jobid;
	n = res.n;
	TAILQ_FOREACH(j, &q->rjobs, entry)
		if (j->id == id)
			break;
	if (j == NULL || j->held != NULL) {
		log_debug("result for unknown job %llu ignored",
		    (unsigned long long)id);
		return 0;
	}
	if (n != j->n)
		return -1;
	m = j->m;
	h = xcalloc(1, sizeof(*h));
	h->n = n;
	h->dr = xreallocarray(NULL, n + 1, sizeof(*h->dr));
	h->reply = xcalloc(n + 1, sizeof(*h->reply));
	h->remote = xcalloc(n + 1, sizeof(*h->remote));
	for (i = 0; i < n; i++) {
		const char	*status = res.r[i].status;
		const char	*reply = res.r[i].reply;

		h->dr[i] = res.r[i].dr;
		/* a remote reply carries its own codes; a failure found here
		 * (null MX, no such domain, TLS) gets its status in front, so
		 * the bounce can report it (bounce.c reads either form) */
		if (reply_has_code(reply) || *status == '\0')
			h->reply[i] = xstrdup(reply);
		else
			(void)xasprintf(&h->reply[i], "%s %s", status, reply);
		h->remote[i] = xstrdup(res.r[i].remote);
	}
	j->held = h;
	if (m->busy)
		return 0;	/* applied once the delivery thread is done */
	rjob_apply(q, j);
	rjob_free(q, j);
	qmsg_touch(m);
	return 0;
}

/* queue_remote_release - m is back from the delivery thread */
void
queue_remote_release(struct queue *q, struct qmsg *m)
{
	struct rjob	*j, *tmp;

	TAILQ_FOREACH_SAFE(j, &q->rjobs, entry, tmp) {
		if (j->m != m || j->held == NULL)
			continue;
		rjob_apply(q, j);
		rjob_free(q, j);
	}
}

/* queue_remote_forget - m goes away: drop its jobs */
void
queue_remote_forget(struct queue *q, struct qmsg *m)
{
	struct rjob	*j, *tmp;

	TAILQ_FOREACH_SAFE(j, &q->rjobs, entry, tmp)
		if (j->m == m)
			rjob_free(q, j);
}

/*
 * queue_remote_lost - the deliver process is gone: its jobs without a
 * result go back to pending, retried after retry_min
 */
void
queue_remote_lost(struct queue *q)
{
	struct rjob	*j, *tmp;
	struct env_rcpt	*r;
	struct qmsg	*m;
	time_t		 retry;
	size_t		 i;

	retry = time(NULL) + sched_retry_floor(q->conf->retry_min);
	TAILQ_FOREACH_SAFE(j, &q->rjobs, entry, tmp) {
		if (j->held != NULL)
			continue;	/* a real result: applied later */
		m = j->m;
		if (!m->busy)
			for (i = 0; i < j->n; i++) {
				r = &m->env.rcpts[j->ri[i]];
				if (r->job != j->id)
					continue;
				r->job = 0;
				r->next_try = retry;
			}
		else {
			/* the thread dumps env: next_try stays as it is */
			for (i = 0; i < j->n; i++)
				m->env.rcpts[j->ri[i]].job = 0;
		}
		log_warnx("msgid=%s job %llu lost with the deliver process: "
		    "retry in %us", m->env.id, (unsigned long long)j->id,
		    q->conf->retry_min);
		rjob_free(q, j);
		if (!m->busy)
			qmsg_touch(m);
	}
}
