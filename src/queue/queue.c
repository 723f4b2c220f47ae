/*
 * queue.c - the queue process: owns the spool, makes accepted mail
 * durable, delivers local recipients to Maildir, hands remote ones to the
 * deliver process (queue_remote.c), bounces (queue_bounce.c), schedules
 * retries and answers "postern queue" (queue_ctl.c).
 *
 * Runs unprivileged (as the postern user), with no network.  One libevent
 * loop serves the parent's channel (M_Q_PEER, M_RELOAD, and its closing:
 * drain and exit) and one channel per smtp worker (M_Q_OPEN, M_Q_COMMIT,
 * M_Q_ABORT: queue_peer.c), plus the deliver process's channel
 * (M_D_RESULT: queue_remote.c) once the parent passes it (M_Q_DELIVER).
 * This file is the process around that loop: its entry, the parent's and
 * the deliver process's channels, startup recovery (every env/<id>
 * checked against its body, broken ones quarantined), reload and
 * shutdown.  What a message does next is decided by queue_sched.c alone,
 * registered here as the touch list's scheduler (queue_state.c).  The
 * slow disk work (the batched commit fsyncs and the Maildir deliveries)
 * runs in the threads of queue_commit.c and queue_local.c, so the loop
 * never waits on an fsync.
 *
 * A malformed message from the parent is fatal.  The parent's channel
 * closing (the parent stops, or died) refuses new messages, answers the
 * commits in hand, waits for the running delivery and exits 0; if that
 * is not done within Q_STOP_MAX seconds it exits anyway, as a crash would
 * (nothing answered 250 is lost: the next start takes up the spool).
 * The queue keeps the data dir's lock (datalock.c) until it exits and
 * says in DATA/owner that it is draining, so a new instance waits for it
 * instead of running beside it.
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
#include "datalock.h"
#include "err.h"
#include "hash.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "strutil.h"
#include "xmalloc.h"
#include "queue/envelope.h"
#include "queue/queue.h"
#include "queue/queue_commit.h"
#include "queue/queue_ctl.h"
#include "queue/queue_direct.h"
#include "queue/queue_dkim.h"
#include "queue/queue_local.h"
#include "queue/queue_peer.h"
#include "queue/queue_pipe.h"
#include "queue/queue_remote.h"
#include "queue/queue_sched.h"
#include "queue/queue_signer.h"
#include "queue/queue_state.h"
#include "queue/spool.h"

/*
 * seconds from the parent's channel closing to the exit, done or not:
 * enough for the commit batches in hand and the delivery batch running
 * on a slow disk, and under DATALOCK_WAIT, so a serve started at once
 * after a dead parent finds the data dir free in time
 */
#define Q_STOP_MAX	20

static struct datalock	 q_lock = { -1, -1 };	/* inherited from the parent */

/*
 * ---- parent, signals, startup ----
 */

/*
 * queue_maybe_exit - once stopping, both threads ended and every smtp
 * worker gone: at the parent's death the workers drain (421 to idle
 * sessions) while the queue still answers them; Q_STOP_MAX bounds it
 */
static void
queue_maybe_exit(struct queue *q)
{
	if (q->stopping && !q->cw.running && !q->dw.running &&
	    !q->kw.running && !q->pw.running &&
	    TAILQ_EMPTY(&q->peers))
		event_base_loopbreak(q->base);
}

/* threads_ended - a worker's on_exit */
static void
threads_ended(void *arg)
{
	queue_maybe_exit(arg);
}

/* queue_stop_deadline - Q_STOP_MAX reached: go, as a crash would */
static void
queue_stop_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_warnx("still busy %d s after the parent left: exiting now; the "
	    "next start takes up the spool", Q_STOP_MAX);
	_exit(1);
}

/*
 * queue_stop - refuse new messages, answer the commits in hand, exit
 * (within Q_STOP_MAX); DATA/owner says we drain
 */
static void
queue_stop(struct queue *q, const char *why)
{
	struct timeval	tv = { Q_STOP_MAX, 0 };

	if (q->stopping)
		return;
	log_info("stopping: finishing commits and deliveries why=%s", why);
	q->stopping = true;
	datalock_set(&q_lock, getpid(), DL_DRAINING);
	if (event_base_once(q->base, -1, EV_TIMEOUT, queue_stop_deadline, q,
	    &tv) == -1)
		fatalx("queue: event_base_once");
	queue_commit_stop(q);
	queue_local_stop(q);
	queue_dkim_stop(q);
	queue_pipe_stop(q);
	queue_maybe_exit(q);
}

/*
 * queue_srs_load - the SRS secrets of configuration c; a broken file
 * keeps the secrets we have (a reload never leaves forwarding unsigned,
 * nor bounces to our addresses unverifiable)
 */
static void
queue_srs_load(struct queue *q, const struct conf *c)
{
	struct srs	s;
	struct err	e;
	int		r;

	memset(&s, 0, sizeof(s));	/* maxage 0: the default */
	if ((r = srs_load(&s, c->dir, &e)) == -1) {
		log_warnx("%s: %s", q->srs.n > 0 ? "keeping the SRS secrets "
		    "loaded before" : "no SRS secrets", e.msg);
		return;
	}
	q->srs = s;
	explicit_bzero(&s, sizeof(s));
	if (r == 1)
		log_info("no srs_secrets in %s: forwarded mail keeps its "
		    "envelope sender (postern init writes one)", c->dir);
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
	queue_srs_load(q, nc);
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
		qmsg_touch(m);
	}
}

/* parent_cb - a message from the parent, or NULL when it closed */

static void
parent_cb(struct chan *ch, struct msg *msg, void *arg)
{
	struct queue	*q = arg;
	struct ipc_fd	 f;

	if (msg == NULL) {
		chan_free(ch);
		q->parent = NULL;
		/* stopping, or dead: the same for us (at its death its
		 * descriptors close before we are reparented, so getppid()
		 * cannot tell them apart here) */
		queue_stop(q, "parent closed");
		return;
	}
	switch (msg->type) {
	case M_Q_PEER:
		if (ipc_fd_get(msg, M_Q_PEER, &f, NULL) == -1)
			fatalx("queue: bad M_Q_PEER from parent");
		queue_peer_new(q, f.fd);
		break;
	case M_RELOAD:
		if (ipc_empty_get(msg, M_RELOAD, NULL) == -1)
			fatalx("queue: bad M_RELOAD from parent");
		queue_reload(q);
		break;
	case M_Q_DELIVER:
		if (ipc_fd_get(msg, M_Q_DELIVER, &f, NULL) == -1)
			fatalx("queue: bad M_Q_DELIVER from parent");
		deliver_attach(q, f.fd);
		break;
	case M_Q_SIGNER:
		if (ipc_fd_get(msg, M_Q_SIGNER, &f, NULL) == -1)
			fatalx("queue: bad M_Q_SIGNER from parent");
		queue_signer_attach(q, f.fd);
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
		log_warnx("msgid=%s is broken, cannot be moved to corrupt/: "
		    "error=%s why=%s", id, e.msg, why);
	else
		log_warnx("msgid=%s is broken: moved to corrupt/ why=%s", id,
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
	m = qmsg_new(q, &env);
	log_info("msgid=%s loaded: %zu of %zu recipients pending", id,
	    qmsg_pending(&m->env), m->env.nrcpts);
	qmsg_log_rcpts(q, m, false);
	qmsg_touch(m);
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
	struct qmsg	*m;

	/* what the threads handed back last */
	queue_state_drain(q);
	queue_peer_free_all(q);
	queue_dkim_free(q);
	queue_signer_free(q);
	if (q->parent != NULL)
		chan_free(q->parent);
	if (q->deliver != NULL)
		chan_free(q->deliver);
	queue_ctl_free(q);
	/* after both threads ended: jobs, messages, threads */
	queue_local_free(q);
	TAILQ_FOREACH(m, &q->msgs, entry)
		queue_remote_forget(q, m);
	queue_pipe_free(q);
	queue_state_free(q);
	queue_commit_free(q);
	event_base_free(q->base);
	spool_close(&q->sp);
	conf_free(q->conf);
	if (q->conf_owned)
		free(q->conf);
}

/* queue_main - the queue process */
void
queue_main(struct conf *conf, int parent_sock, const struct datalock *lock)
{
	struct queue	*q = xcalloc(1, sizeof(*q));
	struct err	 e;
	char		 dir[PATH_MAX];

	log_procname("queue");
	q_lock = *lock;
	/* the parent stops us by closing our channel once the smtp workers
	 * are gone; a signal to the whole group (^C, systemd's default
	 * KillMode) must not stop the queue before them */
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);
	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGTERM, SIG_IGN);
	q->conf = conf;
	queue_srs_load(q, conf);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/queue", conf->data_dir) >=
	    sizeof(dir))
		fatalx("queue: data_dir too long");
	if (spool_open(&q->sp, dir, &e) == -1)
		fatalx("queue: %s", e.msg);
	if ((q->base = event_base_new()) == NULL)
		fatalx("queue: event_base_new");
	queue_state_init(q, queue_sched_run);
	q->peers_gone = queue_maybe_exit;
	/* the control socket first: `postern queue` connects at once and
	 * is answered once the loop runs, after the spool is loaded */
	queue_ctl_start(q);
	queue_commit_start(q, threads_ended);
	queue_local_start(q, threads_ended);
	queue_dkim_start(q, threads_ended);
	queue_pipe_start(q, threads_ended);
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

