/*
 * queue_peer.c - the queue's side of the smtp workers' channels
 * (queue_peer.h): M_Q_OPEN (the envelope, kept in the transaction; a new
 * id and a write-only descriptor of the body file: a direct delivery's
 * Maildir file when it applies, queue_direct.c, else the spool's),
 * M_Q_COMMIT (id and body hash: the transaction's envelope built by
 * queue_ingest.c, then the message into the commit batch, answered once
 * the batch is durable), M_Q_ABORT and M_Q_RCPT (an SRS recipient,
 * verified by queue_ingest.c), each read by its codec (ipc.c).
 * Each commit carries peer_commit_done as its own completion.
 *
 * smtp is the hostile-input process: every field it sends is checked
 * (the codecs bound lengths and lists: LIM_RECIPIENTS_MAX recipients,
 * LIM_PATH per address; here, printable lines), and a worker that sends
 * a malformed message loses its channel, never the queue.  A worker gone with commits in flight: they go on (a
 * duplicate beats a loss).  At most max_sessions + Q_TXN_SLACK open
 * messages per worker.  Loop only.
 */
#include <sys/queue.h>

#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "conf.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "strutil.h"
#include "ticket.h"
#include "xmalloc.h"
#include "queue/envelope.h"
#include "queue/queue_commit.h"
#include "queue/queue_direct.h"
#include "queue/queue_dkim.h"
#include "queue/queue_ingest.h"
#include "queue/queue_peer.h"
#include "queue/queue_signer.h"
#include "queue/queue_state.h"
#include "queue/spool.h"

#define Q_TXN_SLACK	16			/* open txns above sessions */

/* an open transaction of an smtp worker: M_Q_OPEN answered, its
 * envelope kept from there (M_Q_COMMIT does not repeat it) */
struct txn {
	TAILQ_ENTRY(txn)	 entry;
	struct peer		*peer;
	char			 id[SPOOL_ID_LEN + 1];
	char			*from;		/* "" for <> */
	uint32_t		 flags;		/* QF_* */
	char			*auth;		/* "" if none */
	char			*client;
	char			**rcpts;
	uint32_t		 nrcpts;
	uint64_t		 wseq;		/* writer's number (queue_state.h) */
	uint64_t		 reqid;		/* of its M_Q_COMMIT */
	struct commit		*commit;	/* non-NULL while committing */
	struct dkim_job		*hashing;	/* non-NULL while the DKIM
						   thread reads the body */
	struct dkim_plan	*signing;	/* non-NULL while the signer
						   works (queue_signer.c) */
	uint64_t		 body_hash;	/* of its M_Q_COMMIT */
	struct qdirect		*d;		/* a direct delivery, until
						   committed */
};

/* an smtp worker's channel */
struct peer {
	TAILQ_ENTRY(peer)	 entry;
	struct queue		*q;
	struct chan		*ch;
	TAILQ_HEAD(, txn)	 txns;
	size_t			 ntxns;
	bool			 dead;		/* ignore its messages */
	bool			 reaping;	/* a deferred free is due */
};

/*
 * ---- commits ----
 */

/* commit_answer - M_Q_COMMIT_RES */
static void
commit_answer(struct peer *p, uint64_t reqid, const char *id, bool ok,
    bool temp, const char *error)
{
	struct msg	m;

	if (p->dead)
		return;
	ipc_q_commit_res_put(&m, &(struct ipc_q_commit_res){ .reqid = reqid,
	    .id = id, .ok = ok, .temp = temp, .error = error });
	chan_send(p->ch, &m);
}

/* txn_remove - forget a transaction (spool files untouched; a direct
 * delivery's file, not committed, removed) */
static void
txn_remove(struct peer *p, struct txn *t)
{
	uint32_t	i;

	queue_direct_free(p->q, t->d);
	if (t->hashing != NULL)		/* its plan is freed when back */
		queue_dkim_orphan(p->q, t->hashing);
	if (t->signing != NULL) {
		queue_signer_cancel(p->q, t->signing);
		queue_dkim_release(t->signing);
		free(t->signing);
	}
	for (i = 0; i < t->nrcpts; i++)
		free(t->rcpts[i]);
	free(t->rcpts);
	free(t->from);
	free(t->auth);
	free(t->client);
	TAILQ_REMOVE(&p->txns, t, entry);
	p->ntxns--;
	free(t);
}

/* peer_commit_done - loop: answer smtp, then keep and schedule it */
static void
peer_commit_done(struct queue *q, struct commit *c)
{
	struct txn	*t = c->arg;
	struct qmsg	*m;
	bool		 gone = t == NULL;

	if (!gone) {
		commit_answer(t->peer, t->reqid, c->id, c->rc == 0, true,
		    "local error in queue, try again later");
		txn_remove(t->peer, t);
	}
	if (c->rc == -1) {
		log_warnx("msgid=%s not queued: %s", c->id, c->err.msg);
		envelope_free(&c->env);
		queue_direct_free(q, c->d);
		free(c);
		return;
	}
	if (c->d != NULL) {
		log_info("msgid=%s queued size=%llu from=<%s> nrcpt=1 "
		    "%s path=direct%s", c->id,
		    (unsigned long long)c->d->size, c->env.from, c->env.client,
		    gone ? " answer=lost" : "");
		log_info("msgid=%s rcpt=<%s> delivered maildir=%s", c->id,
		    c->d->addr, c->d->maildir);
		envelope_free(&c->env);
		queue_direct_free(q, c->d);
		free(c);
		return;
	}
	m = qmsg_new(q, &c->env);
	free(c);
	log_info("msgid=%s queued size=%llu from=<%s> nrcpt=%zu %s "
	    "path=spool%s", m->env.id, (unsigned long long)m->env.size,
	    m->env.from, m->env.nrcpts, m->env.client,
	    gone ? " answer=lost" : "");
	qmsg_log_rcpts(q, m, true);
	qmsg_touch(m);
}

static struct txn	*txn_find(struct peer *, const char *);
static void		 peer_bad(struct peer *, const char *);

/*
 * commit_post - the envelope built (prefix: header lines for the front,
 * or NULL), then into the commit batch; -1 with e (t kept) on failure
 */
static int
commit_post(struct peer *p, struct txn *t, const char *prefix,
    struct err *e)
{
	struct queue	*q = p->q;
	struct envelope	 env;
	struct commit	*c;
	const char	**rcpts;
	uint32_t	 i;
	int		 rc;

	if (t->d != NULL) {
		if (queue_direct_check(t->d, e) == -1)
			return -1;
		queue_ingest_direct(t->id, t->from, t->flags, t->client,
		    t->d->size, &env);
	} else {
		rcpts = xcalloc(t->nrcpts, sizeof(*rcpts));
		for (i = 0; i < t->nrcpts; i++)
			rcpts[i] = t->rcpts[i];
		rc = queue_ingest_build(q, &(struct ingest_in){ .id = t->id,
		    .from = t->from, .flags = t->flags, .auth = t->auth,
		    .client = t->client, .rcpts = rcpts, .n = t->nrcpts,
		    .body_hash = t->body_hash, .prefix = prefix }, &env, e);
		free(rcpts);
		if (rc == -1)
			return -1;
	}
	c = xcalloc(1, sizeof(*c));
	c->done = peer_commit_done;
	c->arg = t;
	c->wseq = t->wseq;
	memcpy(c->id, t->id, sizeof(c->id));
	c->env = env;
	c->d = t->d;
	t->d = NULL;
	t->commit = c;
	if (!queue_commit_post(q, c)) {
		t->commit = NULL;
		t->d = c->d;
		envelope_free(&c->env);
		free(c);
		return err_set(e, true, 0, "queue is shutting down");
	}
	return 0;
}

/* commit_fail - answer smtp, drop the message and the transaction */
static void
commit_fail(struct peer *p, struct txn *t, const struct err *e)
{
	log_warnx("msgid=%s not queued: %s", t->id, e->msg);
	if (t->d == NULL)
		spool_discard(&p->q->sp, t->id);
	commit_answer(p, t->reqid, t->id, false, e->temp, e->temp ?
	    "local error in queue, try again later" : e->msg);
	txn_remove(p, t);
}

/* peer_signed - the signer is done with t's signatures: commit, or 451 */
static void
peer_signed(struct queue *q, struct dkim_plan *pl, bool ok, void *arg)
{
	struct txn	*t = arg;
	struct err	 e;
	char		*prefix;

	(void)q;
	t->signing = NULL;
	memset(&e, 0, sizeof(e));
	if (!ok) {
		err_set(&e, true, 0, "DKIM signing failed");
		queue_dkim_release(pl);
		free(pl);
		commit_fail(t->peer, t, &e);
		return;
	}
	prefix = queue_dkim_prefix(pl);
	queue_dkim_release(pl);
	free(pl);
	if (commit_post(t->peer, t, prefix, &e) == -1)
		commit_fail(t->peer, t, &e);
	free(prefix);
}

/*
 * plan_next - t's plan is made: to the signer, or (no key) straight to
 * the commit with the fields it added; 0, or -1 with e (pl freed)
 */
static int
plan_next(struct peer *p, struct txn *t, struct dkim_plan *pl,
    struct err *e)
{
	char	*prefix;
	int	 rc;

	if (pl->n > 0) {
		t->signing = pl;
		queue_signer_start(p->q, pl, peer_signed, t);
		return 0;
	}
	prefix = queue_dkim_prefix(pl);
	queue_dkim_release(pl);
	free(pl);
	rc = commit_post(p, t, prefix, e);
	free(prefix);
	return rc;
}

/* peer_hashed - the DKIM thread is done with t's body: go on, or fail */
static void
peer_hashed(struct queue *q, struct dkim_plan *pl, const struct err *perr,
    void *arg)
{
	struct txn	*t = arg;
	struct err	 e;

	(void)q;
	t->hashing = NULL;
	memset(&e, 0, sizeof(e));
	if (pl == NULL)
		commit_fail(t->peer, t, perr);
	else if (plan_next(t->peer, t, pl, &e) == -1)
		commit_fail(t->peer, t, &e);
}

/*
 * commit_sign - an authenticated user's spooled message: the fields it
 * lacks added, signed with the keys of the user's domain (queue_dkim.c);
 * then commit_post, now or once the signer has answered
 */
static int
commit_sign(struct peer *p, struct txn *t, struct err *e)
{
	struct queue		*q = p->q;
	struct dkim_plan	*now;
	int			 fd;

	if ((fd = spool_open_tmp_body(&q->sp, t->id, O_RDONLY, e)) == -1)
		return -1;
	/* the body is read and hashed off the loop: peer_hashed follows */
	if ((t->hashing = queue_dkim_post(q, t->id, fd, true,
	    queue_dkim_signer_domain(q, t->auth), peer_hashed, t, &now,
	    e)) != NULL)
		return 0;
	if (now == NULL)
		return -1;
	return plan_next(p, t, now, e);
}

/*
 * peer_commit - M_Q_COMMIT: the transaction's envelope (from M_Q_OPEN)
 * checked, signed if it is an authenticated user's, into the commit batch
 */
static void
peer_commit(struct peer *p, struct msg *msg)
{
	struct queue		*q = p->q;
	struct ipc_q_commit	 ci;
	struct txn		*t;
	struct err		 e;
	const char		*id;
	uint32_t		 i;
	int			 rc;

	if (ipc_q_commit_get(msg, &ci, &e) == -1) {
		peer_bad(p, e.msg);
		return;
	}
	id = ci.id;
	if ((t = txn_find(p, id)) == NULL || t->commit != NULL ||
	    t->signing != NULL || t->hashing != NULL) {
		log_warnx("smtp asked to commit unknown or committing msgid=%s",
		    str_line_ok(id, SPOOL_ID_LEN, false) ? id : "?");
		commit_answer(p, ci.reqid, id, false, true,
		    "unknown transaction");
		return;
	}
	t->reqid = ci.reqid;
	t->body_hash = ci.body_hash;
	memset(&e, 0, sizeof(e));
	if (t->nrcpts == 0 || !str_line_ok(t->from, LIM_PATH, true) ||
	    !str_line_ok(t->auth, LIM_PATH, true)) {
		err_set(&e, false, 0, "bad envelope from smtp");
		goto fail;
	}
	for (i = 0; i < t->nrcpts; i++)
		if (!str_line_ok(t->rcpts[i], LIM_PATH, false)) {
			err_set(&e, false, 0, "bad recipient from smtp");
			goto fail;
		}
	if (q->stopping && !q->cw.running) {
		err_set(&e, true, 0, "queue is shutting down");
		goto fail;
	}
	if (t->d == NULL && t->auth[0] != '\0')
		rc = commit_sign(p, t, &e);
	else	/* a checked message's Authentication-Results, if any */
		rc = commit_post(p, t, ci.prefix[0] != '\0' ? ci.prefix :
		    NULL, &e);
	if (rc == 0)
		return;
fail:
	commit_fail(p, t, &e);
}

/*
 * ---- smtp workers ----
 */

/* txn_find - the peer's open transaction with this id */
static struct txn *
txn_find(struct peer *p, const char *id)
{
	struct txn	*t;

	TAILQ_FOREACH(t, &p->txns, entry)
		if (strcmp(t->id, id) == 0)
			return t;
	return NULL;
}

/* open_answer - M_Q_OPEN_RES (fd is sent and closed, or -1) */
static void
open_answer(struct peer *p, uint64_t reqid, const char *id, int fd,
    const char *error)
{
	struct msg	m;

	ipc_q_open_res_put(&m, &(struct ipc_q_open_res){ .reqid = reqid,
	    .ok = fd != -1, .id = id, .error = error, .fd = fd });
	chan_send(p->ch, &m);
}

/*
 * peer_open - M_Q_OPEN: a new id and an empty body file, write-only: a
 * direct delivery's Maildir file when it applies, else the spool's; the
 * envelope kept in the transaction for its commit
 */
static void
peer_open(struct peer *p, struct msg *msg)
{
	struct queue		*q = p->q;
	struct ipc_q_open	*o = xmalloc(sizeof(*o));
	struct qdirect		*d = NULL;
	struct txn		*t;
	struct err		 e;
	char			 id[SPOOL_ID_LEN + 1];
	uint64_t		 reqid, wseq;
	uint32_t		 i;
	int			 wfd;

	if (ipc_q_open_get(msg, o, &e) == -1) {
		peer_bad(p, e.msg);
		goto out;
	}
	reqid = o->reqid;
	/*
	 * the user is believed only with auth's ticket for it: what signs
	 * mail in someone's name never rests on smtp's word alone.  A ticket
	 * we did not make is a worker out of line; an old one (older than
	 * the longest session) is refused: smtp let the message relay on
	 * that login, and it would leave unsigned.
	 */
	if (o->auth[0] != '\0') {
		switch (ticket_check(o->auth, o->auth_issued, o->auth_ticket,
		    ticket_now(), q->conf->session_timeout)) {
		case TICKET_OK:
			break;
		case TICKET_EXPIRED:
			log_warnx("smtp sent user=%s with an expired ticket: "
			    "refused", o->auth);
			open_answer(p, reqid, "", -1, "authentication expired");
			goto out;
		case TICKET_BAD:
			peer_bad(p, "authenticated user without auth's ticket");
			goto out;
		}
	} else if (o->flags & QF_AUTH) {
		peer_bad(p, "QF_AUTH without a user");
		goto out;
	}
	if (q->stopping) {
		open_answer(p, reqid, "", -1, "queue is shutting down");
		goto out;
	}
	if (p->ntxns >= (size_t)q->conf->max_sessions + Q_TXN_SLACK) {
		log_warnx("smtp worker has %zu open messages: refusing more",
		    p->ntxns);
		open_answer(p, reqid, "", -1, "too many open messages");
		goto out;
	}
	/* the writer's number (queue_state.h), before anything is written */
	wseq = atomic_fetch_add(&q->wseq, 1) + 1;
	/* an authenticated user's mail is spooled: it may need a Date,
	 * a Message-ID, a signature (queue_dkim.c), none of which a direct
	 * delivery's file, written by smtp as it comes, can take; nor can
	 * it take a checked message's Authentication-Results (QF_CHECKED) */
	if (o->auth[0] == '\0' && !(o->flags & QF_CHECKED) &&
	    (d = queue_direct_open(q, o->from, o->rcpts, o->nrcpts, &wfd)) !=
	    NULL)
		spool_new_id(id);
	/* smtp gets a write-only descriptor: it never reads the spool */
	else if (spool_create_body(&q->sp, id, O_WRONLY, &wfd, &e) == -1) {
		log_warnx("cannot open a new message: %s", e.msg);
		open_answer(p, reqid, "", -1, "queue unavailable");
		goto out;
	}
	t = xcalloc(1, sizeof(*t));
	t->peer = p;
	t->d = d;
	t->wseq = wseq;
	memcpy(t->id, id, sizeof(t->id));
	t->from = xstrdup(o->from);
	/* what smtp may say; the envelope-only bits are the queue's */
	t->flags = o->flags & (QF_8BITMIME | QF_SMTPUTF8 | QF_TLS | QF_AUTH |
	    QF_CHECKED);
	t->auth = xstrdup(o->auth);
	t->client = xstrdup(o->client);
	t->nrcpts = o->nrcpts;
	t->rcpts = xcalloc(o->nrcpts + 1, sizeof(*t->rcpts));
	for (i = 0; i < o->nrcpts; i++)
		t->rcpts[i] = xstrdup(o->rcpts[i]);
	TAILQ_INSERT_TAIL(&p->txns, t, entry);
	p->ntxns++;
	open_answer(p, reqid, id, wfd, "");
out:
	free(o);
}

/* peer_abort - M_Q_ABORT: drop an open (uncommitted) transaction */
static void
peer_abort(struct peer *p, struct msg *msg)
{
	struct ipc_q_abort	 a;
	struct txn		*t;
	struct err		 e;

	if (ipc_q_abort_get(msg, &a, &e) == -1) {
		peer_bad(p, e.msg);
		return;
	}
	if ((t = txn_find(p, a.id)) == NULL || t->commit != NULL ||
	    t->signing != NULL || t->hashing != NULL)
		return;
	log_debug("msgid=%s aborted by smtp", t->id);
	if (t->d == NULL)
		spool_discard(&p->q->sp, t->id);
	txn_remove(p, t);
}

/* peer_rcpt - M_Q_RCPT: an SRS recipient, verified (the queue holds the
 * secrets; smtp does not) */
static void
peer_rcpt(struct peer *p, struct msg *msg)
{
	struct ipc_q_rcpt	 r;
	struct err		 e;
	struct msg		 m;
	char			 reply[LIM_IPC_TEXT];
	bool			 ok;

	if (ipc_q_rcpt_get(msg, &r, &e) == -1) {
		peer_bad(p, e.msg);
		return;
	}
	reply[0] = '\0';
	ok = queue_ingest_rcpt(p->q, r.addr, reply, sizeof(reply));
	ipc_q_rcpt_res_put(&m, &(struct ipc_q_rcpt_res){ .reqid = r.reqid,
	    .ok = ok, .reply = ok ? "" : reply });
	chan_send(p->ch, &m);
}

/*
 * peer_drop_txns - the peer is gone: discard its open transactions; its
 * commits go on (a message made durable is kept and delivered even though
 * the client never saw the 250: a duplicate beats a loss)
 */
static void
peer_drop_txns(struct peer *p)
{
	struct txn	*t;

	while ((t = TAILQ_FIRST(&p->txns)) != NULL) {
		if (t->commit != NULL)
			t->commit->arg = NULL;
		else if (t->d == NULL)
			spool_discard(&p->q->sp, t->id);
		txn_remove(p, t);
	}
}

/* peer_free - close the channel and forget the peer */
static void
peer_free(struct peer *p)
{
	struct queue	*q = p->q;

	peer_drop_txns(p);
	TAILQ_REMOVE(&q->peers, p, entry);
	chan_free(p->ch);
	free(p);
	if (TAILQ_EMPTY(&q->peers) && q->peers_gone != NULL)
		q->peers_gone(q);
}

/* peer_reap - deferred free of a peer dropped from inside its callback */
static void
peer_reap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	peer_free(arg);
}

/* peer_bad - a broken message from smtp: close that worker's channel */
static void
peer_bad(struct peer *p, const char *why)
{
	struct timeval	tv = { 0, 0 };

	log_warnx("smtp worker channel: %s: closing it", why);
	p->dead = true;
	peer_drop_txns(p);
	if (!p->reaping) {
		p->reaping = true;
		if (event_base_once(p->q->base, -1, EV_TIMEOUT, peer_reap, p,
		    &tv) == -1)
			fatalx("queue: event_base_once");
	}
}

/* peer_cb - a message from an smtp worker, or NULL when it closed */
static void
peer_cb(struct chan *ch, struct msg *msg, void *arg)
{
	struct peer	*p = arg;

	(void)ch;
	if (msg == NULL) {
		log_debug("smtp worker channel closed");
		if (p->reaping) {
			p->dead = true;	/* peer_reap frees it */
			return;
		}
		peer_free(p);
		return;
	}
	if (p->dead)
		return;
	switch (msg->type) {
	case M_Q_OPEN:
		peer_open(p, msg);
		break;
	case M_Q_COMMIT:
		peer_commit(p, msg);
		break;
	case M_Q_ABORT:
		peer_abort(p, msg);
		break;
	case M_Q_RCPT:
		peer_rcpt(p, msg);
		break;
	default:
		peer_bad(p, "unexpected message type");
		break;
	}
}

/* queue_peer_new - a channel to a new smtp worker */
void
queue_peer_new(struct queue *q, int fd)
{
	struct peer	*p = xcalloc(1, sizeof(*p));

	p->q = q;
	TAILQ_INIT(&p->txns);
	TAILQ_INSERT_TAIL(&q->peers, p, entry);
	p->ch = chan_new(q->base, fd, peer_cb, p);
	log_debug("smtp worker channel added");
}

/* queue_peer_free_all - every smtp worker's channel (at exit) */
void
queue_peer_free_all(struct queue *q)
{
	struct peer	*p;

	while ((p = TAILQ_FIRST(&q->peers)) != NULL)
		peer_free(p);
}
