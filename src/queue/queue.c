/*
 * queue.c - the queue process: owns the spool, makes accepted mail
 * durable, delivers local recipients to Maildir, hands remote ones to the
 * deliver process (queue_remote.c), bounces (queue_bounce.c), schedules
 * retries and answers "postern queue" (queue_ctl.c).
 *
 * Runs unprivileged (as the postern user), with no network.  One libevent
 * loop serves the parent's channel (M_Q_PEER, M_RELOAD, and its closing:
 * drain and exit) and one channel per smtp worker (M_Q_OPEN, M_Q_COMMIT,
 * M_Q_ABORT), plus the deliver process's channel (M_D_RESULT) once the
 * parent passes it (M_Q_DELIVER).  This file is that loop: IPC,
 * recipient expansion at commit, startup recovery, reload and shutdown.
 * The slow disk work (the batched commit fsyncs and the Maildir
 * deliveries) runs in the two threads of queue_work.c, so the loop never
 * waits on an fsync.
 *
 * smtp gets a write-only descriptor of tmp/<id>.body, never a path.  At
 * M_Q_COMMIT the loop measures the body, expands the recipients
 * (alias.c), writes tmp/<id>.env and puts the message in the next commit
 * batch; the answer goes back once the batch is durable.  Direct delivery
 * (the fast path, queue_direct.c, docs/QUEUE-FORMAT.md): when M_Q_OPEN's
 * only recipient is a local mailbox, smtp gets instead an appending
 * descriptor of the final file in the Maildir's tmp/ (header lines
 * already written) and the commit batch links it into new/: no spool
 * files at all.  An smtp worker that sends a malformed message loses its
 * channel (the hostile-input process must not be able to stop the
 * queue); a malformed message from the parent is fatal.  The parent's
 * channel closing (the parent stops, or died) refuses new messages,
 * answers the commits in hand, waits for the running delivery and exits
 * 0.  Limits: LIM_RECIPIENTS_MAX recipients from smtp, Q_MAX_DESTS after
 * aliases, LIM_PATH per address, max_sessions +
 * Q_TXN_SLACK open messages per smtp worker.
 */
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "buf.h"
#include "conf.h"
#include "err.h"
#include "hash.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "strutil.h"
#include "xmalloc.h"
#include "queue/alias.h"
#include "queue/envelope.h"
#include "queue/queue.h"
#include "queue/queue_work.h"
#include "queue/spool.h"

#define Q_CLIENT_MAX	1024			/* client text kept */
#define Q_TXN_SLACK	16			/* open txns above sessions */

/* an open transaction of an smtp worker: M_Q_OPEN answered */
struct txn {
	TAILQ_ENTRY(txn)	 entry;
	struct peer		*peer;
	char			 id[SPOOL_ID_LEN + 1];
	uint64_t		 wseq;		/* writer's number (queue_work.h) */
	struct commit		*commit;	/* non-NULL while committing */
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
	msg_init(&m, M_Q_COMMIT_RES);
	msg_add_u64(&m, reqid);
	msg_add_str(&m, id);
	msg_add_u32(&m, ok ? 1 : 0);
	msg_add_u32(&m, temp ? 1 : 0);
	msg_add_str(&m, ok ? "" : error);
	chan_send(p->ch, &m);
}

/* txn_remove - forget a transaction (spool files untouched; a direct
 * delivery's file, not committed, removed) */
static void
txn_remove(struct peer *p, struct txn *t)
{
	queue_direct_free(p->q, t->d);
	TAILQ_REMOVE(&p->txns, t, entry);
	p->ntxns--;
	free(t);
}

/* queue_commit_done - loop: answer smtp, then keep and schedule it */
void
queue_commit_done(struct queue *q, struct witem *it)
{
	struct commit	*c = (struct commit *)(void *)it;
	struct qmsg	*m;
	bool		 gone = c->txn == NULL;

	if (c->kind != CK_SMTP) {
		queue_bounce_done(q, c);
		return;
	}
	if (!gone) {
		commit_answer(c->txn->peer, c->reqid, c->id, c->rc == 0, true,
		    "local error in queue, try again later");
		txn_remove(c->txn->peer, c->txn);
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
	m = queue_work_msg_new(q, &c->env);
	free(c);
	log_info("msgid=%s queued size=%llu from=<%s> nrcpt=%zu %s "
	    "path=spool%s", m->env.id, (unsigned long long)m->env.size,
	    m->env.from, m->env.nrcpts, m->env.client,
	    gone ? " answer=lost" : "");
	queue_work_log_rcpts(q, m, true);
	queue_work_schedule(q, m);
}

/*
 * queue_commit_build - the envelope of a commit: recipients expanded, the
 * body measured, its hash kept (from whoever wrote it); tmp/<id>.env
 * written.  -1 with e (temp or not) on failure.
 */
int
queue_commit_build(struct queue *q, const char *id, const char *from,
    uint32_t flags, const char *auth, const char *client,
    const char **rcpts, size_t n, uint64_t body_hash, struct envelope *env,
    struct err *e)
{
	struct alias_dests	 dests;
	struct buf		 b;
	size_t			 i;
	int			 rc = -1;

	memset(env, 0, sizeof(*env));
	memset(&dests, 0, sizeof(dests));
	buf_init(&b, Q_ENV_CAP);
	if (spool_tmp_body_size(&q->sp, id, &env->size, e) == -1)
		goto out;
	(void)str_copy(env->id, id, sizeof(env->id));
	env->created = time(NULL);
	env->from = xstrdup(from);
	env->auth_user = auth[0] != '\0' ? xstrdup(auth) : NULL;
	env->client = xstrndup(client, Q_CLIENT_MAX);
	str_sanitize(env->client);
	env->flags = flags;
	env->body_hash = body_hash;
	env->has_body_hash = true;
	for (i = 0; i < n; i++)
		if (alias_expand(q->conf, rcpts[i], &dests, Q_MAX_DESTS, e) ==
		    -1)
			goto out;
	for (i = 0; i < dests.n; i++) {
		envelope_add_rcpt(env, dests.v[i].addr, dests.v[i].orig);
		if (dests.v[i].kind == AK_FAILED) {
			env->rcpts[env->nrcpts - 1].state = RCPT_FAILED;
			env->rcpts[env->nrcpts - 1].last_error =
			    xstrdup(dests.v[i].error);
		}
	}
	if (envelope_dump(env, &b) == -1) {
		err_set(e, false, 0, "envelope cannot be written");
		goto out;
	}
	if (spool_write_env(&q->sp, id, &b, e) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		envelope_free(env);
	alias_dests_free(&dests);
	buf_release(&b);
	return rc;
}

static struct txn	*txn_find(struct peer *, const char *);
static void		 peer_bad(struct peer *, const char *);

/* peer_commit - M_Q_COMMIT: build the envelope, join the commit batch */
static void
peer_commit(struct peer *p, struct msg *msg)
{
	struct queue	*q = p->q;
	struct envelope	 env;
	struct commit	*c;
	struct txn	*t;
	struct err	 e;
	const char	*id, *from, *auth, *client, **rcpts = NULL;
	uint64_t	 reqid, body_hash;
	uint32_t	 flags, n, i;

	reqid = msg_get_u64(msg);
	id = msg_get_str(msg);
	from = msg_get_str(msg);
	flags = msg_get_u32(msg);
	auth = msg_get_str(msg);
	client = msg_get_str(msg);
	n = msg_get_u32(msg);
	if (n > LIM_RECIPIENTS_MAX) {
		peer_bad(p, "M_Q_COMMIT with too many recipients");
		return;
	}
	rcpts = xcalloc(n + 1, sizeof(*rcpts));
	for (i = 0; i < n; i++)
		rcpts[i] = msg_get_str(msg);
	body_hash = msg_get_u64(msg);
	if (msg_end(msg) == -1) {
		peer_bad(p, "malformed M_Q_COMMIT");
		goto out;
	}
	if ((t = txn_find(p, id)) == NULL || t->commit != NULL) {
		log_warnx("smtp asked to commit unknown or committing msgid=%s",
		    str_line_ok(id, SPOOL_ID_LEN, false) ? id : "?");
		commit_answer(p, reqid, id, false, true, "unknown transaction");
		goto out;
	}
	memset(&e, 0, sizeof(e));
	if (n == 0 || !str_line_ok(from, LIM_PATH, true) ||
	    !str_line_ok(auth, LIM_PATH, true)) {
		err_set(&e, false, 0, "bad envelope from smtp");
		goto fail;
	}
	for (i = 0; i < n; i++)
		if (!str_line_ok(rcpts[i], LIM_PATH, false)) {
			err_set(&e, false, 0, "bad recipient from smtp");
			goto fail;
		}
	if (q->stopping && !q->cw.running) {
		err_set(&e, true, 0, "queue is shutting down");
		goto fail;
	}
	if (t->d != NULL) {
		if (queue_direct_check(t->d, from, rcpts, n, &e) == -1)
			goto fail;
		memset(&env, 0, sizeof(env));
		(void)str_copy(env.id, t->id, sizeof(env.id));
		env.created = time(NULL);
		env.from = xstrdup(from);
		env.client = xstrndup(client, Q_CLIENT_MAX);
		str_sanitize(env.client);
		env.flags = flags;
		env.size = t->d->size;
	} else if (queue_commit_build(q, t->id, from, flags, auth, client,
	    rcpts, n, body_hash, &env, &e) == -1)
		goto fail;
	c = xcalloc(1, sizeof(*c));
	c->txn = t;
	c->wseq = t->wseq;
	c->reqid = reqid;
	memcpy(c->id, t->id, sizeof(c->id));
	c->env = env;
	c->d = t->d;
	t->d = NULL;
	t->commit = c;
	if (!queue_work_commit(q, c)) {
		t->commit = NULL;
		t->d = c->d;
		envelope_free(&c->env);
		free(c);
		err_set(&e, true, 0, "queue is shutting down");
		goto fail;
	}
	goto out;
fail:
	log_warnx("msgid=%s not queued: %s", t->id, e.msg);
	if (t->d == NULL)
		spool_discard(&q->sp, t->id);
	commit_answer(p, reqid, id, false, e.temp, e.temp ?
	    "local error in queue, try again later" : e.msg);
	txn_remove(p, t);
out:
	free(rcpts);
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

	msg_init(&m, M_Q_OPEN_RES);
	msg_add_u64(&m, reqid);
	msg_add_u32(&m, fd != -1 ? 1 : 0);
	msg_add_str(&m, fd != -1 ? id : "");
	msg_add_str(&m, fd != -1 ? "" : error);
	if (fd != -1)
		msg_set_fd(&m, fd);
	chan_send(p->ch, &m);
}

/*
 * peer_open - M_Q_OPEN: a new id and an empty body file, write-only: a
 * direct delivery's Maildir file when it applies, else the spool's
 */
static void
peer_open(struct peer *p, struct msg *msg)
{
	struct queue	*q = p->q;
	struct qdirect	*d = NULL;
	struct txn	*t;
	struct err	 e;
	char		 id[SPOOL_ID_LEN + 1];
	const char	*from, **rcpts = NULL;
	uint64_t	 reqid = msg_get_u64(msg), wseq;
	uint32_t	 n, i;
	int		 wfd;

	from = msg_get_str(msg);
	n = msg_get_u32(msg);
	if (n > LIM_RECIPIENTS_MAX) {
		peer_bad(p, "M_Q_OPEN with too many recipients");
		return;
	}
	rcpts = xcalloc(n + 1, sizeof(*rcpts));
	for (i = 0; i < n; i++)
		rcpts[i] = msg_get_str(msg);
	if (msg_end(msg) == -1) {
		peer_bad(p, "malformed M_Q_OPEN");
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
	/* the writer's number (queue_work.h), before anything is written */
	wseq = atomic_fetch_add(&q->wseq, 1) + 1;
	if ((d = queue_direct_open(q, from, rcpts, n, &wfd)) != NULL)
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
	TAILQ_INSERT_TAIL(&p->txns, t, entry);
	p->ntxns++;
	open_answer(p, reqid, id, wfd, NULL);
out:
	free(rcpts);
}

/* peer_abort - M_Q_ABORT: drop an open (uncommitted) transaction */
static void
peer_abort(struct peer *p, struct msg *msg)
{
	struct txn	*t;
	const char	*id = msg_get_str(msg);

	if (msg_end(msg) == -1) {
		peer_bad(p, "malformed M_Q_ABORT");
		return;
	}
	if ((t = txn_find(p, id)) == NULL || t->commit != NULL)
		return;
	log_debug("msgid=%s aborted by smtp", t->id);
	if (t->d == NULL)
		spool_discard(&p->q->sp, t->id);
	txn_remove(p, t);
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
			t->commit->txn = NULL;
		else if (t->d == NULL)
			spool_discard(&p->q->sp, t->id);
		txn_remove(p, t);
	}
}

/* peer_free - close the channel and forget the peer */
static void
peer_free(struct peer *p)
{
	peer_drop_txns(p);
	TAILQ_REMOVE(&p->q->peers, p, entry);
	chan_free(p->ch);
	free(p);
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
	default:
		peer_bad(p, "unexpected message type");
		break;
	}
}

/* peer_new - a channel to a new smtp worker */
static void
peer_new(struct queue *q, int fd)
{
	struct peer	*p = xcalloc(1, sizeof(*p));

	p->q = q;
	TAILQ_INIT(&p->txns);
	TAILQ_INSERT_TAIL(&q->peers, p, entry);
	p->ch = chan_new(q->base, fd, peer_cb, p);
	log_debug("smtp worker channel added");
}

/*
 * ---- parent, signals, startup ----
 */

/* queue_maybe_exit - once stopping and both threads have ended */
void
queue_maybe_exit(struct queue *q)
{
	if (q->stopping && !q->cw.running && !q->dw.running)
		event_base_loopbreak(q->base);
}

/* queue_stop - refuse new messages, answer the commits in hand, exit */
static void
queue_stop(struct queue *q, const char *why)
{
	if (q->stopping)
		return;
	log_info("stopping (%s): finishing commits and deliveries", why);
	q->stopping = true;
	queue_work_stop(q);
	queue_maybe_exit(q);
}

/* queue_reload - M_RELOAD: a new configuration, or keep the old one */
static void
queue_reload(struct queue *q)
{
	struct conf	*nc = xcalloc(1, sizeof(*nc));
	struct err	 e;

	if (conf_load(nc, q->conf->dir, &e) == -1) {
		log_warnx("reload failed, keeping the current configuration: "
		    "%s", e.msg);
		free(nc);
		return;
	}
	if (strcmp(nc->data_dir, q->conf->data_dir) != 0) {
		log_warnx("data_dir changed to %s: takes effect after a "
		    "restart", nc->data_dir);
		(void)str_copy(nc->data_dir, q->conf->data_dir,
		    sizeof(nc->data_dir));
	}
	if (nc->sync_method != q->sync_conf)
		log_warnx("sync_method changed: takes effect after a restart");
	conf_free(q->conf);
	if (q->conf_owned)
		free(q->conf);
	q->conf = nc;
	q->conf_owned = true;
	log_info("configuration reloaded: %zu domains", nc->ndomains);
}

/* deliver_cb - results from the deliver process, or NULL when it closed */
static void
deliver_cb(struct chan *ch, struct msg *msg, void *arg)
{
	struct queue	*q = arg;

	if (msg == NULL) {
		if (q->deliver == ch) {
			q->deliver = NULL;
			log_warnx("deliver process channel closed");
			queue_remote_lost(q);
		}
		chan_free(ch);
		return;
	}
	if (msg->type != M_D_RESULT)
		fatalx("queue: unexpected message %u from deliver", msg->type);
	if (queue_remote_result(q, msg) == -1)
		fatalx("queue: malformed M_D_RESULT from deliver");
}

/* deliver_attach - a (new) deliver process: remote recipients may go */
static void
deliver_attach(struct queue *q, int fd)
{
	struct qmsg	*m, *next;

	if (q->deliver != NULL) {
		chan_free(q->deliver);
		q->deliver = NULL;
		queue_remote_lost(q);
	}
	q->deliver = chan_new(q->base, fd, deliver_cb, q);
	for (m = TAILQ_FIRST(&q->msgs); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		queue_work_schedule(q, m);
	}
}

/* parent_cb - a message from the parent, or NULL when it closed */

static void
parent_cb(struct chan *ch, struct msg *msg, void *arg)
{
	struct queue	*q = arg;
	int		 fd;

	if (msg == NULL) {
		chan_free(ch);
		q->parent = NULL;
		queue_stop(q, "parent closed");
		return;
	}
	switch (msg->type) {
	case M_Q_PEER:
		fd = msg_take_fd(msg);
		if (msg_end(msg) == -1 || fd == -1)
			fatalx("queue: bad M_Q_PEER from parent");
		peer_new(q, fd);
		break;
	case M_RELOAD:
		if (msg_end(msg) == -1)
			fatalx("queue: bad M_RELOAD from parent");
		queue_reload(q);
		break;
	case M_Q_DELIVER:
		fd = msg_take_fd(msg);
		if (msg_end(msg) == -1 || fd == -1)
			fatalx("queue: bad M_Q_DELIVER from parent");
		deliver_attach(q, fd);
		break;
	default:
		fatalx("queue: unexpected message %u from parent", msg->type);
	}
}

struct idlist {
	char	**v;
	size_t	  n;
};

/* collect_id - spool_recover callback */
static void
collect_id(const char *id, void *arg)
{
	struct idlist	*l = arg;

	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(id);
}

/* id_cmp - qsort: oldest id first */
static int
id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* queue_quarantine - move a broken message aside, with a log line */
static void
queue_quarantine(struct queue *q, const char *id, const char *why)
{
	struct err	e;

	if (spool_quarantine(&q->sp, id, &e) == -1)
		log_warnx("msgid=%s is broken (%s) and cannot be moved to "
		    "corrupt/: %s", id, why, e.msg);
	else
		log_warnx("msgid=%s is broken (%s): moved to corrupt/", id,
		    why);
}

/*
 * body_matches - whether the body behind fd is the one env describes
 * (size and hash).  A spool message is published before its bytes are
 * durable and one sync covers both (docs/QUEUE-FORMAT.md), so a crash can
 * leave a complete envelope with a body cut short, zero-filled or holding
 * an older file's blocks: such a message was never acknowledged.
 */
static bool
body_matches(int fd, const struct envelope *env, struct err *e)
{
	char		 chunk[65536];
	struct stat	 st;
	struct hash64	 h;
	uint64_t	 total = 0;
	ssize_t		 n;

	hash64_init(&h);
	if (fstat(fd, &st) == -1) {
		err_set(e, true, errno, "body: %s", strerror(errno));
		return false;
	}
	if ((uint64_t)st.st_size != env->size) {
		err_set(e, false, 0, "body is %lld octets, its envelope says "
		    "%llu: cut short by a crash before it was acknowledged",
		    (long long)st.st_size, (unsigned long long)env->size);
		return false;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(e, true, errno, "body: %s", strerror(errno));
			return false;
		}
		hash64_add(&h, chunk, (size_t)n);
		total += (uint64_t)n;
	}
	if (total != env->size || hash64_end(&h) != env->body_hash) {
		err_set(e, false, 0, "body does not match its envelope's "
		    "hash: torn by a crash before it was acknowledged");
		return false;
	}
	return true;
}

/* queue_load_one - one env/<id> found at startup */
static void
queue_load_one(struct queue *q, const char *id)
{
	struct envelope	 env;
	struct qmsg	*m;
	struct buf	 b;
	struct err	 e;
	int		 fd;

	buf_init(&b, Q_ENV_CAP);
	if (spool_read_env(&q->sp, id, &b, &e) == -1) {
		/* unreadable now is not corrupt: leave it for next time */
		log_warnx("msgid=%s cannot be read: %s", id, e.msg);
		goto out;
	}
	if (envelope_parse(&env, buf_ptr(&b), buf_avail(&b), &e) == -1) {
		queue_quarantine(q, id, e.msg);
		goto out;
	}
	if (strcmp(env.id, id) != 0) {
		envelope_free(&env);
		queue_quarantine(q, id, "id does not match the file name");
		goto out;
	}
	if ((fd = spool_open_body(&q->sp, id, &e)) == -1) {
		envelope_free(&env);
		if (e.code == ENOENT)
			queue_quarantine(q, id, "body missing");
		else
			log_warnx("msgid=%s cannot be read: %s", id, e.msg);
		goto out;
	}
	if (env.has_body_hash && !body_matches(fd, &env, &e)) {
		close(fd);
		envelope_free(&env);
		if (e.temp)	/* unreadable now is not corrupt */
			log_warnx("msgid=%s cannot be read: %s", id, e.msg);
		else
			queue_quarantine(q, id, e.msg);
		goto out;
	}
	close(fd);
	m = queue_work_msg_new(q, &env);
	log_info("msgid=%s loaded: %zu of %zu recipients pending", id,
	    queue_work_pending(&m->env), m->env.nrcpts);
	queue_work_log_rcpts(q, m, false);
	queue_work_schedule(q, m);
out:
	buf_release(&b);
}

/* queue_load - recover the spool and take up every accepted message */
static void
queue_load(struct queue *q)
{
	struct idlist	 l = { NULL, 0 };
	struct qmsg	*m;
	struct err	 e;
	size_t		 i;

	if (spool_recover(&q->sp, collect_id, &l, &e) == -1)
		fatalx("queue: recovery: %s", e.msg);
	queue_direct_clean(q);
	if (l.n > 0)
		qsort(l.v, l.n, sizeof(*l.v), id_cmp);
	for (i = 0; i < l.n; i++) {
		queue_load_one(q, l.v[i]);
		free(l.v[i]);
	}
	free(l.v);
	for (i = 0, m = TAILQ_FIRST(&q->msgs); m != NULL;
	    m = TAILQ_NEXT(m, entry))
		i++;
	log_info("queue ready: %zu messages", i);
}

/* queue_cleanup - after the loop: release everything */
static void
queue_cleanup(struct queue *q)
{
	struct peer	*p;

	while ((p = TAILQ_FIRST(&q->peers)) != NULL)
		peer_free(p);
	if (q->parent != NULL)
		chan_free(q->parent);
	if (q->deliver != NULL)
		chan_free(q->deliver);
	queue_ctl_free(q);
	queue_work_free(q);
	event_base_free(q->base);
	spool_close(&q->sp);
	conf_free(q->conf);
	if (q->conf_owned)
		free(q->conf);
}

/* queue_main - the queue process */
void
queue_main(struct conf *conf, int parent_sock)
{
	struct queue	*q = xcalloc(1, sizeof(*q));
	struct err	 e;
	char		 dir[PATH_MAX];

	log_procname("queue");
	/* the parent stops us by closing our channel once the smtp workers
	 * are gone; a signal to the whole group (^C, systemd's default
	 * KillMode) must not stop the queue before them */
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);
	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGTERM, SIG_IGN);
	q->conf = conf;
	TAILQ_INIT(&q->peers);
	TAILQ_INIT(&q->msgs);
	TAILQ_INIT(&q->rjobs);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/queue", conf->data_dir) >=
	    sizeof(dir))
		fatalx("queue: data_dir too long");
	if (spool_open(&q->sp, dir, &e) == -1)
		fatalx("queue: %s", e.msg);
	if ((q->base = event_base_new()) == NULL)
		fatalx("queue: event_base_new");
	/* the control socket first: `postern queue` connects at once and
	 * is answered once the loop runs, after the spool is loaded */
	queue_ctl_start(q);
	queue_work_start(q, queue_commit_done);
	queue_load(q);
	q->parent = chan_new(q->base, parent_sock, parent_cb, q);
	log_info("queue started: spool %s", dir);
	if (event_base_dispatch(q->base) == -1)
		fatalx("queue: event loop failed");
	log_info("queue stopped");
	queue_cleanup(q);
	free(q);
	exit(0);
}
