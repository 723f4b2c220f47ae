/*
 * queue_state.c - the queue's messages in memory (queue_state.h): their
 * list, creation, lookup and freeing, the recipient log lines, and the
 * touch list.
 *
 * Whatever changes a message (a result, a timer, a commit, an admin
 * request) does not decide what it does next: it calls qmsg_touch(),
 * which puts the message on q->touched once and makes one libevent event
 * active.  That event drains the list once per loop turn through the
 * function queue.c registered at start (queue_sched_run), so the decision
 * is made in one place and never re-entered from inside an action.  A
 * message touched while the list is drained waits for the next turn.
 * Loop only: the threads never see this.
 */
#include <sys/queue.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "buf.h"
#include "log.h"
#include "xmalloc.h"
#include "queue/envelope.h"
#include "queue/queue_state.h"
#include "queue/route.h"

/* qmsg_timer - a retry is due */
static void
qmsg_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	qmsg_touch(arg);
}

/* touch_drain - the messages touched before this turn, each once */
static void
touch_drain(evutil_socket_t fd, short what, void *arg)
{
	struct queue	*q = arg;
	struct qmsg	*m;
	size_t		 n = 0;

	(void)fd;
	(void)what;
	/* those touched meanwhile are appended: they wait for the next turn */
	TAILQ_FOREACH(m, &q->touched, tentry)
		n++;
	while (n-- > 0 && (m = TAILQ_FIRST(&q->touched)) != NULL) {
		TAILQ_REMOVE(&q->touched, m, tentry);
		m->touched = false;
		q->sched(q, m);
	}
}

/* queue_state_init - empty lists, the touch event */
void
queue_state_init(struct queue *q, void (*sched)(struct queue *,
    struct qmsg *))
{
	TAILQ_INIT(&q->peers);
	TAILQ_INIT(&q->msgs);
	TAILQ_INIT(&q->touched);
	TAILQ_INIT(&q->rjobs);
	TAILQ_INIT(&q->signreqs);
	TAILQ_INIT(&q->signplans);
	q->sched = sched;
	if ((q->touch_ev = event_new(q->base, -1, 0, touch_drain, q)) == NULL)
		fatalx("queue: event_new");
}

/* queue_state_drain - run the touch list now (once the loop has ended) */
void
queue_state_drain(struct queue *q)
{
	if (!TAILQ_EMPTY(&q->touched))
		touch_drain(-1, 0, q);
}

/* queue_state_free - every message, then the touch event */
void
queue_state_free(struct queue *q)
{
	struct qmsg	*m;
	size_t		 i;

	while ((m = TAILQ_FIRST(&q->msgs)) != NULL)
		qmsg_free(q, m);
	for (i = 0; i < Q_DONE_KEEP; i++) {
		free(q->done[i].text);
		q->done[i].text = NULL;
	}
	if (q->touch_ev != NULL)
		event_free(q->touch_ev);
	q->touch_ev = NULL;
}

/* queue_state_now - what the scheduler takes for now */
time_t
queue_state_now(const struct queue *q)
{
	return q->clock != NULL ? q->clock() : time(NULL);
}

/* qmsg_new - a published message (env is taken over) */
struct qmsg *
qmsg_new(struct queue *q, struct envelope *env)
{
	struct qmsg	*m = xcalloc(1, sizeof(*m));

	m->q = q;
	m->env = *env;
	memset(env, 0, sizeof(*env));
	if ((m->timer = evtimer_new(q->base, qmsg_timer, m)) == NULL)
		fatalx("queue: evtimer_new");
	TAILQ_INSERT_TAIL(&q->msgs, m, entry);
	return m;
}

/* qmsg_free - forget a message (its files are not touched) */
void
qmsg_free(struct queue *q, struct qmsg *m)
{
	TAILQ_REMOVE(&q->msgs, m, entry);
	if (m->touched)
		TAILQ_REMOVE(&q->touched, m, tentry);
	free(m->dsn_ri);
	if (m->timer != NULL)
		event_free(m->timer);
	envelope_free(&m->env);
	free(m);
}

/* qdone_record - the outcome of each recipient, for `queue show` */
void
qdone_record(struct queue *q, const struct qmsg *m)
{
	struct qdone		*d = &q->done[q->ndone++ % Q_DONE_KEEP];
	const struct env_rcpt	*r;
	struct buf		 b;
	size_t			 i;

	free(d->text);
	(void)snprintf(d->id, sizeof(d->id), "%s", m->env.id);
	d->when = queue_state_now(q);
	buf_init(&b, 64 * 1024);
	for (i = 0; i < m->env.nrcpts; i++) {
		r = &m->env.rcpts[i];
		if (r->state == RCPT_DONE)
			(void)buf_printf(&b, "rcpt: <%s> delivered%s%s%s%s\n",
			    r->addr, r->remote != NULL ? " remote=" : "",
			    r->remote != NULL ? r->remote : "", r->reply != NULL ?
			    " reply=" : route_is_local(q->conf, r->addr) ?
			    " to its Maildir" : "", r->reply != NULL ? r->reply :
			    "");
		else
			(void)buf_printf(&b, "rcpt: <%s> failed%s: %s\n",
			    r->addr, r->state == RCPT_BOUNCED ? " (bounced to "
			    "the sender)" : "", r->last_error != NULL ?
			    r->last_error : "?");
	}
	(void)buf_add(&b, "", 1);
	d->text = xstrdup(buf_ptr(&b));
	buf_release(&b);
}

/* qdone_find - a finished message's outcome */
const struct qdone *
qdone_find(const struct queue *q, const char *id)
{
	size_t	i;

	for (i = 0; i < Q_DONE_KEEP && i < q->ndone; i++)
		if (q->done[i].text != NULL && strcmp(q->done[i].id, id) == 0)
			return &q->done[i];
	return NULL;
}

/* qmsg_find - the message with this id, or NULL */
struct qmsg *
qmsg_find(struct queue *q, const char *id)
{
	struct qmsg	*m;

	TAILQ_FOREACH(m, &q->msgs, entry)
		if (strcmp(m->env.id, id) == 0)
			return m;
	return NULL;
}

/* qmsg_touch - on the touch list once; the drain event made active */
void
qmsg_touch(struct qmsg *m)
{
	struct queue	*q = m->q;

	if (m->touched)
		return;
	m->touched = true;
	TAILQ_INSERT_TAIL(&q->touched, m, tentry);
	event_active(q->touch_ev, EV_TIMEOUT, 1);
}

/* qmsg_pending - how many recipients are still pending */
size_t
qmsg_pending(const struct envelope *env)
{
	size_t	i, n = 0;

	for (i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i].state == RCPT_PENDING)
			n++;
	return n;
}

/* qmsg_log_rcpts - failed at expansion (fresh), or remote while there is
 * no deliver process: one line each */
void
qmsg_log_rcpts(const struct queue *q, const struct qmsg *m, bool fresh)
{
	const struct env_rcpt	*r;
	size_t			 i;

	for (i = 0; i < m->env.nrcpts; i++) {
		r = &m->env.rcpts[i];
		if (fresh && r->state == RCPT_FAILED && r->attempts == 0)
			log_warnx("msgid=%s rcpt=<%s> orig=<%s> failed: %s",
			    m->env.id, r->addr, r->orig, r->last_error != NULL ?
			    r->last_error : "unknown error");
		else if (r->state == RCPT_PENDING && q->deliver == NULL &&
		    !route_is_local(q->conf, r->addr))
			log_info("msgid=%s rcpt=<%s> waiting for the deliver "
			    "process", m->env.id, r->addr);
	}
}
