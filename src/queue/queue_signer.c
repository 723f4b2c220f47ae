/*
 * queue_signer.c - the signer's channel (queue_signer.h).  Loop only.
 *
 * The signer tells the names of its keys (M_K_KEYS) at start and after
 * each reload; they replace q->dkeys, which queue_dkim.c reads to decide
 * what signs a message.  queue_signer_start() sends one M_K_SIGN per
 * prepared signature, each with a reqid of its own, and the answers
 * (M_K_SIGN_RES, in any order) complete the fields with b=
 * (dkim_sign_finish).  A plan ends once: all answers in, one refusal,
 * the channel closing (every plan in flight fails: the parent starts a
 * new signer, whose channel comes in a new M_Q_SIGNER), or its timer.
 * Answers for a plan that ended or was cancelled are dropped.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "bounds.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "xmalloc.h"
#include "mauth/dkim_sign.h"
#include "queue/queue_dkim.h"
#include "queue/queue_signer.h"
#include "queue/queue_state.h"

struct sign_req {
	TAILQ_ENTRY(sign_req)	 entry;
	uint64_t		 reqid;
	struct dkim_plan	*pl;
	size_t			 i;		/* pl->sig[i] */
};

/* plan_forget - drop pl's requests still in flight, and its timer */
static void
plan_forget(struct queue *q, struct dkim_plan *pl)
{
	struct sign_req	*r, *next;

	for (r = TAILQ_FIRST(&q->signreqs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->pl == pl) {
			TAILQ_REMOVE(&q->signreqs, r, entry);
			free(r);
		}
	}
	pl->pending = 0;
	if (pl->timer != NULL) {
		event_free(pl->timer);
		pl->timer = NULL;
	}
	if (pl->started) {
		TAILQ_REMOVE(&q->signplans, pl, entry);
		pl->started = false;
	}
}

/* plan_end - the plan's one outcome */
static void
plan_end(struct queue *q, struct dkim_plan *pl, bool ok)
{
	plan_forget(q, pl);
	if (pl->done != NULL)
		pl->done(q, pl, ok, pl->arg);
}

/* fail_all - every plan the signer has (or waits for) fails */
static void
fail_all(struct queue *q)
{
	struct dkim_plan	*pl;

	while ((pl = TAILQ_FIRST(&q->signplans)) != NULL)
		plan_end(q, pl, false);
}

/* plan_timeout - Q_SIGN_TIMEOUT passed */
static void
plan_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct dkim_plan	*pl = arg;

	(void)fd;
	(void)what;
	if (pl->pending == 0)
		log_warnx("msgid=%s not signed: no signer", pl->id);
	else
		log_warnx("msgid=%s not signed: the signer did not answer in "
		    "%d s", pl->id, Q_SIGN_TIMEOUT);
	plan_end(pl->q, pl, false);
}

/* queue_signer_start - every signature of pl to the signer */
void
queue_signer_start(struct queue *q, struct dkim_plan *pl,
    void (*done)(struct queue *, struct dkim_plan *, bool, void *),
    void *arg)
{
	struct timeval	 tv = { Q_SIGN_TIMEOUT, 0 };
	struct sign_req	*r;
	struct msg	 m;
	size_t		 i;

	pl->done = done;
	pl->arg = arg;
	pl->q = q;
	pl->pending = 0;
	TAILQ_INSERT_TAIL(&q->signplans, pl, entry);
	pl->started = true;
	if (q->signer == NULL) {
		/* fails from the loop, never from inside the caller */
		pl->timer = evtimer_new(q->base, plan_timeout, pl);
		tv.tv_sec = 0;
		evtimer_add(pl->timer, &tv);
		return;
	}
	for (i = 0; i < pl->n; i++) {
		r = xcalloc(1, sizeof(*r));
		r->reqid = ++q->next_signreq;
		r->pl = pl;
		r->i = i;
		TAILQ_INSERT_TAIL(&q->signreqs, r, entry);
		pl->pending++;
		ipc_k_sign_put(&m, &(struct ipc_k_sign){ .reqid = r->reqid,
		    .domain = pl->sig[i].domain,
		    .selector = pl->sig[i].selector,
		    .digest = pl->sig[i].digest });
		chan_send(q->signer, &m);
	}
	pl->timer = evtimer_new(q->base, plan_timeout, pl);
	evtimer_add(pl->timer, &tv);
}

/* queue_signer_cancel - forget pl; its answers will be dropped */
void
queue_signer_cancel(struct queue *q, struct dkim_plan *pl)
{
	plan_forget(q, pl);
	pl->done = NULL;
}

/* signer_keys - M_K_KEYS: the names replace the ones we had */
static void
signer_keys(struct queue *q, struct msg *msg)
{
	struct ipc_k_keys	*k = xmalloc(sizeof(*k));
	struct err		 e;
	uint32_t		 i;

	/* the signer is trusted: a malformed message is a broken invariant */
	if (ipc_k_keys_get(msg, k, &e) == -1)
		fatalx("queue: signer: %s", e.msg);
	free(q->dkeys);
	q->dkeys = xcalloc(k->n + 1, sizeof(*q->dkeys));
	for (i = 0; i < k->n; i++) {
		(void)snprintf(q->dkeys[i].domain, sizeof(q->dkeys[i].domain),
		    "%s", k->v[i].domain);
		(void)snprintf(q->dkeys[i].selector,
		    sizeof(q->dkeys[i].selector), "%s", k->v[i].selector);
		q->dkeys[i].alg = k->v[i].alg;
	}
	q->ndkeys = k->n;
	q->dkeys_known = true;
	log_info("signer keys=%u", k->n);
	free(k);
}

/* signer_result - M_K_SIGN_RES: one b= in, or the plan fails */
static void
signer_result(struct queue *q, struct msg *msg)
{
	struct ipc_k_sign_res	 res;
	struct dkim_plan	*pl;
	struct sign_req		*r;
	struct err		 e;

	if (ipc_k_sign_res_get(msg, &res, &e) == -1)
		fatalx("queue: signer: %s", e.msg);
	TAILQ_FOREACH(r, &q->signreqs, entry)
		if (r->reqid == res.reqid)
			break;
	if (r == NULL)
		return;		/* its plan ended or was cancelled */
	pl = r->pl;
	TAILQ_REMOVE(&q->signreqs, r, entry);
	pl->pending--;
	if (!res.ok) {
		log_warnx("msgid=%s domain=%s selector=%s not signed: %s",
		    pl->id, pl->sig[r->i].domain, pl->sig[r->i].selector,
		    res.error);
		free(r);
		plan_end(q, pl, false);
		return;
	}
	if (dkim_sign_finish(&pl->sig[r->i].field, res.sig, res.siglen,
	    &e) == -1) {
		log_warnx("msgid=%s not signed: %s", pl->id, e.msg);
		free(r);
		plan_end(q, pl, false);
		return;
	}
	pl->sig[r->i].done = true;
	free(r);
	if (pl->pending == 0)
		plan_end(q, pl, true);
}

/* signer_cb - the signer's messages; NULL: it went away */
static void
signer_cb(struct chan *ch, struct msg *msg, void *arg)
{
	struct queue	*q = arg;

	if (msg == NULL) {
		if (q->signer == ch) {
			q->signer = NULL;
			log_warnx("signer channel closed");
		}
		chan_free(ch);
		/* every plan in flight fails */
		fail_all(q);
		return;
	}
	switch (msg->type) {
	case M_K_KEYS:
		signer_keys(q, msg);
		break;
	case M_K_SIGN_RES:
		signer_result(q, msg);
		break;
	default:
		fatalx("queue: unexpected message %u from the signer",
		    msg->type);
	}
}

/* queue_signer_attach - the signer's (new) channel */
void
queue_signer_attach(struct queue *q, int fd)
{
	if (q->signer != NULL) {
		chan_free(q->signer);
		q->signer = NULL;
		fail_all(q);
	}
	q->signer = chan_new(q->base, fd, signer_cb, q);
}

/* queue_signer_free - the channel, the keys, every request */
void
queue_signer_free(struct queue *q)
{
	/* their producers clean up (a DSN waits for its next try) */
	fail_all(q);
	if (q->signer != NULL)
		chan_free(q->signer);
	q->signer = NULL;
	free(q->dkeys);
	q->dkeys = NULL;
	q->ndkeys = 0;
}
