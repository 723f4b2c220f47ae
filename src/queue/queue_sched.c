/*
 * queue_sched.c - the queue's scheduler (queue_sched.h): the one place
 * that decides what a message does next.  queue_state.c calls
 * queue_sched_run() once per loop turn for each message touched since
 * (a commit, a result, a timer, a DSN queued, an admin request); nothing
 * else schedules, and nothing here is re-entered from an action.
 *
 * In order: a message back from the Maildir thread is taken back (a
 * removal asked meanwhile done, its remote jobs forgotten before it is
 * freed, results held for it applied: queue_remote_release); an admin
 * flush applied; then expiry, bounces and delay warnings
 * (queue_bounce.c), remote jobs (queue_remote.c), pipe jobs
 * (queue_pipe.c), a Maildir job for the
 * due local recipients or an envelope rewrite or removal
 * (queue_local.c's delivery thread), else the timer for its next retry.
 * Loop only; a busy message (owned by the delivery thread) waits.
 */
#include <sys/queue.h>

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "err.h"
#include "log.h"
#include "xmalloc.h"
#include "queue/qplan.h"
#include "queue/queue_bounce.h"
#include "queue/queue_local.h"
#include "queue/queue_pipe.h"
#include "queue/queue_remote.h"
#include "queue/queue_sched.h"
#include "queue/queue_state.h"
#include "queue/route.h"
#include "queue/sched.h"
#include "queue/spool.h"

#define Q_TIMER_MAX	86400	/* seconds: longest single timer */

/* sched_flush_now - pending recipients not in flight: next try now */
static void
sched_flush_now(struct qmsg *m)
{
	size_t	i;

	m->flush_req = false;
	for (i = 0; i < m->env.nrcpts; i++)
		if (m->env.rcpts[i].state == RCPT_PENDING &&
		    m->env.rcpts[i].job == 0)
			m->env.rcpts[i].next_try = 0;
}

/*
 * sched_back - m is back from the delivery thread: true if that is all
 * for now (removed, or waiting to retry a failed envelope update)
 */
static bool
sched_back(struct queue *q, struct qmsg *m)
{
	enum qmsg_back	back = m->back;
	struct timeval	tv;

	m->back = QB_NONE;
	m->busy = false;
	if (m->remove_req)
		return queue_sched_remove(q, m, NULL) == 0;
	/* what is on disk now; then what happened meanwhile */
	m->dirty = back == QB_UNSAVED;
	if (back == QB_REMOVED) {
		qdone_record(q, m);
		queue_remote_forget(q, m);
		queue_pipe_forget(q, m);
		qmsg_free(q, m);
		return true;
	}
	queue_remote_release(q, m);
	queue_pipe_release(q, m);
	if (back == QB_UNSAVED && !m->flush_req) {
		/* the deliveries stand; the file says less: try again */
		log_warnx("msgid=%s cannot update the queue: %s", m->env.id,
		    m->back_err.msg);
		tv.tv_sec = sched_retry_floor(q->conf->retry_min);
		tv.tv_usec = 0;
		evtimer_add(m->timer, &tv);
		return true;
	}
	return false;
}

/*
 * queue_sched_run - start a delivery job for m's due local recipients
 * (or to persist or remove it), else arm its timer for the next retry
 */
void
queue_sched_run(struct queue *q, struct qmsg *m)
{
	struct env_rcpt	*r;
	struct timeval	 tv;
	time_t		 now = queue_state_now(q), next = 0;
	size_t		 i, n = 0, ri[Q_JOB_TARGETS];
	char		*md[Q_JOB_TARGETS], *p;

	if (m->back != QB_NONE && sched_back(q, m))
		return;
	if (m->busy)
		return;
	if (m->flush_req)
		sched_flush_now(m);
	if (m->dsn || q->stopping)
		return;
	/* expiry, bounces and delay warnings first: a DSN on its way
	 * holds the message until it is queued */
	if (queue_bounce_check(q, m, now, &next))
		return;
	queue_remote_dispatch(q, m, now, &next);
	queue_pipe_dispatch(q, m, now, &next);
	/* at most Q_JOB_TARGETS a job: the rest goes in the next one */
	for (i = 0; i < m->env.nrcpts && n < Q_JOB_TARGETS; i++) {
		r = &m->env.rcpts[i];
		if (r->state != RCPT_PENDING || !route_is_local(q->conf, r->addr))
			continue;
		if (r->next_try > now) {
			if (next == 0 || r->next_try < next)
				next = r->next_try;
			continue;
		}
		if ((p = route_maildir(q->conf, r->addr)) == NULL) {
			log_warnx("msgid=%s rcpt=<%s> failed: no safe mailbox "
			    "name", m->env.id, r->addr);
			r->state = RCPT_FAILED;
			free(r->last_error);
			r->last_error = xstrdup("no safe mailbox name");
			m->dirty = true;
			continue;
		}
		ri[n] = i;
		md[n++] = p;
	}
	if (n > 0 || m->dirty || qplan_finished(&m->env)) {
		evtimer_del(m->timer);
		if (queue_local_post(q, m, ri, md, n))
			return;
	} else
		for (i = 0; i < n; i++)
			free(md[i]);
	if (next != 0) {
		/* a far future (a hand-edited file) is looked at daily */
		tv.tv_sec = next - now > Q_TIMER_MAX ? Q_TIMER_MAX :
		    next > now ? next - now : 0;
		tv.tv_usec = 0;
		evtimer_add(m->timer, &tv);
	}
}

/* queue_sched_flush - admin: next try now (once back, if busy) */
void
queue_sched_flush(struct queue *q, struct qmsg *m)
{
	(void)q;
	if (m->busy) {
		m->flush_req = true;	/* queue_sched_run comes back to it */
		return;
	}
	sched_flush_now(m);
	qmsg_touch(m);
}

/*
 * queue_sched_remove - admin: remove m from the spool, durably (in the
 * loop: a rare admin action); its jobs in flight are forgotten first
 */
int
queue_sched_remove(struct queue *q, struct qmsg *m, struct err *e)
{
	struct err	e2;

	if (m->busy) {
		m->remove_req = true;
		return 1;
	}
	m->remove_req = false;
	if (spool_remove(&q->sp, m->env.id, &e2) == -1) {
		log_warnx("msgid=%s cannot be removed: %s", m->env.id,
		    e2.msg);
		if (e != NULL)
			*e = e2;
		return -1;
	}
	log_info("msgid=%s removed by admin", m->env.id);
	queue_remote_forget(q, m);
	queue_pipe_forget(q, m);
	qmsg_free(q, m);
	return 0;
}
