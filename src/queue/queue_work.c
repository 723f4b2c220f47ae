/*
 * queue_work.c - the queue process's two worker threads and the retry
 * schedule (queue_work.h; the process itself is queue.c; the thread and
 * sync pool machinery is queue_thread.c).
 *
 *   commit thread    takes every commit gathered while it was busy (the
 *                    batch never waits on a timer; at most Q_COMMIT_BATCH),
 *                    makes all their files durable, publishes each, then
 *                    makes the renames durable ONCE for the whole batch
 *                    and hands it back to the loop, which only then
 *                    answers each smtp worker (STYLE.md pattern D).  A
 *                    failure is a 451 for that message (for a failed
 *                    sync, the batch), and leaves nothing published.
 *   delivery thread  likewise in batches of jobs (a job: some due local
 *                    recipients of one message): every Maildir file
 *                    written, all synced together, linked, the links
 *                    synced; the results recorded in the envelopes, which
 *                    are rewritten, or removed once every recipient is
 *                    done or bounced (qplan_finished),
 *                    with one sync.  Separate from the commit thread so
 *                    delivery syncs never delay a 250.
 *
 * The syncs, per sync_method (resolved at start for the spool and per
 * Maildir by queue_sync.c): "file" fdatasyncs each file concurrently
 * (sync pools) and fsyncs each directory once per batch; "filesystem"
 * calls syncfs(2) once before the renames or links of a batch and once
 * after (once per filesystem for Maildirs elsewhere), each thread on a
 * descriptor of its own so that it sees every writeback error.  A
 * Maildir whose filesystem is not known to honour syncfs takes the
 * per-file syncs even when the spool takes syncfs.
 *
 * A thread touches only its own items and the spool's directory fds; a
 * message handed to the delivery thread is marked busy and the loop does
 * not touch it until the job comes back through the eventfd.  Threads
 * block every signal; the loop handles them.  Nothing is dropped: a
 * failed delivery is retried per sched.h until queue_lifetime, then
 * bounced (queue_bounce.c), and a failed rewrite of the envelope is
 * retried after retry_min.  queue_work_schedule() is the one place that
 * decides what a message does next: expiry and DSNs, remote jobs
 * (queue_remote.c), local deliveries, an envelope rewrite or removal, or
 * a timer.  Admin actions (queue_ctl.c) wait for a busy message.
 */
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "bounds.h"
#include "buf.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "xmalloc.h"
#include "local/maildir.h"
#include "queue/envelope.h"
#include "queue/qplan.h"
#include "queue/queue_work.h"
#include "queue/sched.h"
#include "queue/spool.h"

#define Q_TIMER_MAX	86400	/* seconds: longest single timer */
/* batch sizes bound the descriptors open at once: 2 per commit, 3 per
 * delivery target (file, tmp/, new/), 1 per job */
#define Q_COMMIT_BATCH	128	/* messages per commit batch */
#define Q_DELIVER_BATCH	16	/* jobs per delivery batch */
#define Q_JOB_TARGETS	8	/* recipients per delivery job */

/* one local recipient of a delivery job */
struct dtarget {
	size_t			 ri;		/* index in env.rcpts */
	char			*maildir;
	char			*prefix;
	int			 rc;
	bool			 gave_up;	/* queue_lifetime reached */
	bool			 begun;		/* tx holds a file */
	bool			 synced;	/* new/ synced, or failed */
	bool			 syncfs;	/* synced by syncfs, not per file */
	dev_t			 dev;		/* filesystem of the Maildir */
	struct maildir_tx	 tx;
	struct err		 err;
};

/* a delivery job: some local recipients of one message, or just a
 * rewrite or removal of its envelope */
struct djob {
	struct witem		 w;
	struct qmsg		*m;
	struct dtarget		*t;
	size_t			 n;
	unsigned		 retry_min, retry_max, lifetime;
	bool			 removed;	/* nothing pending: removed */
	bool			 staged;	/* tmp/<id>.upd written */
	int			 prc;		/* persist result */
	struct err		 perr;
};

/*
 * ---- messages in memory ----
 */

/* qmsg_free - forget a message (its files are not touched) */
static void
qmsg_free(struct queue *q, struct qmsg *m)
{
	queue_remote_forget(q, m);
	TAILQ_REMOVE(&q->msgs, m, entry);
	free(m->dsn_ri);
	if (m->timer != NULL)
		event_free(m->timer);
	envelope_free(&m->env);
	free(m);
}

/* qmsg_timer - a retry is due */
static void
qmsg_timer(evutil_socket_t fd, short what, void *arg)
{
	struct qmsg	*m = arg;

	(void)fd;
	(void)what;
	queue_work_schedule(m->q, m);
}

/* rcpt_is_local - is addr in a local domain (delivered to Maildir)? */
static bool
rcpt_is_local(const struct queue *q, const char *addr)
{
	const char	*d = qplan_domain(addr);

	return d != NULL && conf_domain(q->conf, d) != NULL;
}

/* queue_work_is_remote - addr has a domain, not one of ours */
bool
queue_work_is_remote(const char *addr, void *arg)
{
	const struct queue	*q = arg;

	return qplan_domain(addr) != NULL && !rcpt_is_local(q, addr);
}

/* path_part_ok - can s name one directory under DATA/mail safely? */
static bool
path_part_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > LIM_DOMAIN || s[0] == '.')
		return false;
	for (i = 0; i < len; i++)
		if (s[i] == '/' || (unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] == 0x7f)
			return false;
	return true;
}

/* queue_work_maildir_of - DATA/mail/<domain>/<local> (lower case) */
char *
queue_work_maildir_of(const struct queue *q, const char *addr)
{
	const char	*at = strrchr(addr, '@');
	char		*p;

	if (at == NULL || !path_part_ok(addr, (size_t)(at - addr)) ||
	    !path_part_ok(at + 1, strlen(at + 1)))
		return NULL;
	xasprintf(&p, "%s/mail/%s/%.*s", q->conf->data_dir, at + 1,
	    (int)(at - addr), addr);
	addr_lower(p + strlen(q->conf->data_dir));
	return p;
}

/* queue_work_pending - how many recipients are still pending */
size_t
queue_work_pending(const struct envelope *env)
{
	size_t	i, n = 0;

	for (i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i].state == RCPT_PENDING)
			n++;
	return n;
}

/*
 * ---- local delivery ----
 */

/* djob_free - a delivery job and its targets */
static void
djob_free(struct djob *j)
{
	size_t	i;

	for (i = 0; i < j->n; i++) {
		free(j->t[i].maildir);
		free(j->t[i].prefix);
	}
	free(j->t);
	free(j);
}

/* deliver_record - a job's results into its message's envelope */
static void
deliver_record(struct djob *j, time_t now)
{
	struct envelope	*env = &j->m->env;
	struct env_rcpt	*r;
	struct dtarget	*t;
	size_t		 i;

	for (i = 0; i < j->n; i++) {
		t = &j->t[i];
		r = &env->rcpts[t->ri];
		free(r->last_error);
		r->last_error = NULL;
		if (t->rc == 0) {
			r->state = RCPT_DONE;
			continue;
		}
		r->attempts++;
		r->last_error = xstrdup(t->err.msg);
		if (!t->err.temp) {
			r->state = RCPT_FAILED;
		} else if (sched_expired(env->created, now, j->lifetime)) {
			r->state = RCPT_FAILED;
			t->gave_up = true;
		} else
			r->next_try = sched_next_try(now, r->attempts,
			    j->retry_min, j->retry_max);
	}
}

/* deliver_begin - step 1: each target's file written into its tmp/ */
static size_t
deliver_begin(struct queue *q, struct witems *items)
{
	struct witem	*it;
	struct djob	*j;
	struct dtarget	*t;
	struct err	 e;
	size_t		 i, n = 0;
	int		 bfd;

	TAILQ_FOREACH(it, items, entry) {
		j = (struct djob *)(void *)it;
		if (j->n == 0)
			continue;
		memset(&e, 0, sizeof(e));
		bfd = spool_open_body(&q->sp, j->m->env.id, &e);
		for (i = 0; i < j->n; i++) {
			t = &j->t[i];
			if (bfd == -1) {
				t->rc = -1;
				t->err = e;
				t->err.temp = true;
			} else if ((t->rc = maildir_begin(t->maildir, bfd,
			    t->prefix, &t->tx, &t->err)) == 0) {
				t->begun = true;
				t->syncfs = queue_sync_syncfs(q,
				    t->tx.tmp_dfd);
				n++;
			}
		}
		if (bfd != -1)
			close(bfd);
	}
	return n;
}

/* every target with a file begun, from item FROM on */
#define EACH_BEGUN(IT, J, I, T, FROM)					\
	for (IT = (FROM); IT != NULL; IT = TAILQ_NEXT(IT, entry))	\
		for (J = (struct djob *)(void *)IT, I = 0; I < J->n; I++) \
			if ((T = &J->t[I])->begun)

/*
 * deliver_syncfs - one syncfs per filesystem holding a begun target still
 * going (rc 0), on the first such target's tmp/ (opened before any file
 * of the batch was written); on failure every target there fails, and one
 * already linked is taken out of new/ again
 */
static void
deliver_syncfs(struct witems *items, const char *what)
{
	struct witem	*it, *it2;
	struct dtarget	*t, *t2;
	struct djob	*j, *j2;
	size_t		 i, i2;
	int		 err;

	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items))
		t->synced = t->rc != 0 || !t->syncfs;
	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items)) {
		if (t->synced)
			continue;
		err = syncfs(t->tx.tmp_dfd) == -1 ? errno : 0;
		EACH_BEGUN(it2, j2, i2, t2, it) {
			if (t2->synced || t2->dev != t->dev)
				continue;
			t2->synced = true;
			if (err == 0)
				continue;
			/* it may or may not be there after a crash: say not */
			maildir_revoke(&t2->tx);
			t2->rc = err_set(&t2->err, true, err, "syncfs %s %s: %s",
			    what, t2->maildir, strerror(err));
		}
	}
}

/*
 * deliver_sync_fs - steps 2-4 for the targets synced by syncfs: one
 * syncfs (per filesystem) for every file, all linked, one syncfs for the
 * links
 */
static void
deliver_sync_fs(struct witems *items)
{
	struct witem	*it;
	struct dtarget	*t;
	struct djob	*j;
	struct stat	 st;
	size_t		 i;

	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items)) {
		if (fstat(t->tx.tmp_dfd, &st) == 0)
			t->dev = st.st_dev;
		else
			t->rc = err_set(&t->err, true, errno, "fstat %s/tmp: %s",
			    t->maildir, strerror(errno));
	}
	deliver_syncfs(items, "before linking");
	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items))
		if (t->rc == 0 && t->syncfs)
			t->rc = maildir_commit(&t->tx, &t->err);
	deliver_syncfs(items, "after linking");
}

/*
 * deliver_sync - steps 2-4: files synced, linked, each new/ synced once
 * (targets synced by syncfs: deliver_sync_fs; the others per file)
 */
static void
deliver_sync(struct queue *q, struct witems *items, size_t n)
{
	struct witem	*it, *it2;
	struct dtarget	*t, *t2;
	struct djob	*j, *j2;
	int		*fds, *errs;
	size_t		 i, i2, k = 0, nf = 0;

	if (q->sync_method == SYNC_FILESYSTEM)
		deliver_sync_fs(items);
	fds = xcalloc(n + 1, sizeof(*fds));
	errs = xcalloc(n + 1, sizeof(*errs));
	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items)) {
		fds[k++] = t->syncfs ? -1 : t->tx.fd;
		nf += !t->syncfs;
	}
	if (nf > 0)
		sync_all(q->dsync, fds, errs, n);
	k = 0;
	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items)) {
		if (t->syncfs) {		/* done by deliver_sync_fs */
			t->synced = true;
			k++;
			continue;
		}
		if (errs[k] != 0)
			t->rc = err_set(&t->err, true, errs[k],
			    "fdatasync %s: %s", t->maildir, strerror(errs[k]));
		else
			t->rc = maildir_commit(&t->tx, &t->err);
		t->synced = t->rc != 0;		/* nothing more to sync */
		k++;
	}
	/* one fsync per new/ directory, for every file linked into it */
	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items)) {
		if (t->synced)
			continue;
		errs[0] = fsync(t->tx.new_dfd) == -1 ? errno : 0;
		EACH_BEGUN(it2, j2, i2, t2, it) {
			if (t2->synced || strcmp(t2->maildir, t->maildir) != 0)
				continue;
			t2->synced = true;
			if (errs[0] == 0)
				continue;
			/* it may or may not be there after a crash: say not */
			maildir_revoke(&t2->tx);
			t2->rc = err_set(&t2->err, true, errs[0],
			    "fsync %s/new: %s", t2->maildir, strerror(errs[0]));
		}
	}
#undef EACH_BEGUN
	free(fds);
	free(errs);
}

/*
 * deliver_persist - steps 6-8: envelopes updated or removed, one sync.
 * Under sync_method filesystem the new envelopes are written unsynced,
 * one syncfs makes them and the removals durable, then they are swapped
 * in: a swap lost in a crash leaves the old envelope, complete, and at
 * worst a delivery made twice; it is made durable by the next sync.
 */
static void
deliver_persist(struct queue *q, struct witems *items)
{
	struct witem	*it;
	struct djob	*j;
	struct buf	 b;
	struct err	 e;
	bool		 any = false, fs = q->sync_method == SYNC_FILESYSTEM;

	buf_init(&b, Q_ENV_CAP);
	TAILQ_FOREACH(it, items, entry) {
		j = (struct djob *)(void *)it;
		if (qplan_finished(&j->m->env)) {
			j->prc = spool_unpublish(&q->sp, j->m->env.id,
			    &j->perr);
			j->removed = j->prc == 0;
		} else {
			buf_reset(&b);
			if (envelope_dump(&j->m->env, &b) == -1)
				j->prc = err_set(&j->perr, true, 0,
				    "envelope too large");
			else if (fs) {
				j->prc = spool_write_update(&q->sp,
				    j->m->env.id, &b, &j->perr);
				j->staged = j->prc == 0;
			} else
				j->prc = spool_stage_update(&q->sp,
				    j->m->env.id, &b, &j->perr);
		}
		any = any || j->prc == 0;
	}
	buf_release(&b);
	if (any && (fs ? spool_syncfs_pool(&q->sp, q->dsync_fd, &e) :
	    spool_sync_dirs(&q->sp, &e)) == -1) {
		/* not known to be durable: the loop tries again later */
		TAILQ_FOREACH(it, items, entry) {
			j = (struct djob *)(void *)it;
			if (j->prc == 0) {
				j->prc = -1;
				j->perr = e;
				j->removed = false;
			}
		}
	}
	TAILQ_FOREACH(it, items, entry) {
		j = (struct djob *)(void *)it;
		if (j->removed)
			spool_drop_body(&q->sp, j->m->env.id);
		else if (j->staged && j->prc == -1)
			spool_drop_update(&q->sp, j->m->env.id);
		else if (j->staged)
			j->prc = spool_swap_update(&q->sp, j->m->env.id,
			    &j->perr);
	}
}

/*
 * deliver_work - delivery thread: a batch of jobs (each owns its message
 * until it is handed back).  Every file is written, then all are synced
 * together, linked into new/, and each new/ directory synced once; the
 * results go into the envelopes, which are rewritten or removed with one
 * directory sync for the batch.
 */
static void
deliver_work(struct queue *q, struct witems *items)
{
	struct witem	*it;
	struct djob	*j;
	size_t		 n, i, njobs = 0;
	time_t		 now;
	struct timespec	 t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((n = deliver_begin(q, items)) > 0)
		deliver_sync(q, items, n);
	now = time(NULL);
	TAILQ_FOREACH(it, items, entry) {
		j = (struct djob *)(void *)it;
		for (i = 0; i < j->n; i++)
			if (j->t[i].begun)
				maildir_end(&j->t[i].tx);
		deliver_record(j, now);
		njobs++;
	}
	deliver_persist(q, items);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_debug("delivery batch: %zu messages, %zu files in %.2f ms", njobs,
	    n, (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
}

/* deliver_done - loop: log a job's results, give the message back */
static void
deliver_done(struct queue *q, struct witem *it)
{
	struct djob	*j = (struct djob *)(void *)it;
	struct qmsg	*m = j->m;
	struct env_rcpt	*r;
	struct dtarget	*t;
	struct timeval	 tv;
	size_t		 i;

	for (i = 0; i < j->n; i++) {
		t = &j->t[i];
		r = &m->env.rcpts[t->ri];
		if (t->rc == 0)
			log_info("msgid=%s rcpt=<%s> delivered maildir=%s",
			    m->env.id, r->addr, t->maildir);
		else if (r->state == RCPT_FAILED)
			log_warnx("msgid=%s rcpt=<%s> failed: %s%s", m->env.id,
			    r->addr, t->err.msg, t->gave_up ?
			    " (gave up: queue_lifetime reached)" : "");
		else
			log_warnx("msgid=%s rcpt=<%s> deferred: %s "
			    "(attempt %u, next in %llds)", m->env.id, r->addr,
			    t->err.msg, r->attempts,
			    (long long)(r->next_try - time(NULL)));
	}
	m->busy = false;
	if (m->remove_req) {
		djob_free(j);
		if (queue_work_remove(q, m, NULL) == -1)
			queue_work_schedule(q, m);
		return;
	}
	/* what is on disk now; then what happened meanwhile */
	m->dirty = j->prc == -1;
	if (j->removed) {
		log_info("msgid=%s done: removed from the queue", m->env.id);
		djob_free(j);
		qmsg_free(q, m);
		return;
	}
	queue_remote_release(q, m);
	if (j->prc == -1 && !m->flush_req) {
		/* the deliveries stand; the file says less: try again */
		log_warnx("msgid=%s cannot update the queue: %s", m->env.id,
		    j->perr.msg);
		djob_free(j);
		tv.tv_sec = q->conf->retry_min > 0 ? q->conf->retry_min : 60;
		tv.tv_usec = 0;
		evtimer_add(m->timer, &tv);
		return;
	}
	djob_free(j);
	if (m->flush_req)
		queue_work_flush(q, m);		/* and schedules */
	else
		queue_work_schedule(q, m);
}

/* djob_add - a target for recipient ri of m */
static void
djob_add(struct djob *j, const struct qmsg *m, size_t ri, char *maildir)
{
	const struct env_rcpt	*r = &m->env.rcpts[ri];
	struct dtarget		*t;

	j->t = xreallocarray(j->t, j->n + 1, sizeof(*j->t));
	t = &j->t[j->n++];
	memset(t, 0, sizeof(*t));
	t->ri = ri;
	t->maildir = maildir;
	t->prefix = queue_work_prefix(m->env.from, r->addr);
}

/* queue_work_prefix - Return-Path and Delivered-To, CRLF-terminated */
char *
queue_work_prefix(const char *from, const char *addr)
{
	char	*p;

	xasprintf(&p, "Return-Path: <%s>\r\nDelivered-To: %s\r\n", from,
	    addr);
	return p;
}

/*
 * queue_work_schedule - start a delivery job for m's due local recipients
 * (or to persist or remove it), else arm its timer for the next retry
 */
void
queue_work_schedule(struct queue *q, struct qmsg *m)
{
	struct env_rcpt	*r;
	struct djob	*j;
	struct timeval	 tv;
	time_t		 now = time(NULL), next = 0;
	size_t		 i;
	char		*md;

	if (m->busy || m->dsn || q->stopping)
		return;
	/* expiry, bounces and delay warnings first: a DSN on its way
	 * holds the message until it is queued */
	if (queue_bounce_check(q, m, now, &next))
		return;
	queue_remote_dispatch(q, m, now, &next);
	j = xcalloc(1, sizeof(*j));
	j->m = m;
	j->retry_min = q->conf->retry_min;
	j->retry_max = q->conf->retry_max;
	j->lifetime = q->conf->queue_lifetime;
	/* at most Q_JOB_TARGETS a job: the rest goes in the next one */
	for (i = 0; i < m->env.nrcpts && j->n < Q_JOB_TARGETS; i++) {
		r = &m->env.rcpts[i];
		if (r->state != RCPT_PENDING || !rcpt_is_local(q, r->addr))
			continue;
		if (r->next_try > now) {
			if (next == 0 || r->next_try < next)
				next = r->next_try;
			continue;
		}
		if ((md = queue_work_maildir_of(q, r->addr)) == NULL) {
			log_warnx("msgid=%s rcpt=<%s> failed: no safe mailbox "
			    "name", m->env.id, r->addr);
			r->state = RCPT_FAILED;
			free(r->last_error);
			r->last_error = xstrdup("no safe mailbox name");
			m->dirty = true;
			continue;
		}
		djob_add(j, m, i, md);
	}
	if (j->n > 0 || m->dirty || qplan_finished(&m->env)) {
		evtimer_del(m->timer);
		m->busy = true;
		if (worker_post(&q->dw, &j->w))
			return;
		m->busy = false;
	}
	djob_free(j);
	if (next != 0) {
		/* a far future (a hand-edited file) is looked at daily */
		tv.tv_sec = next - now > Q_TIMER_MAX ? Q_TIMER_MAX :
		    next > now ? next - now : 0;
		tv.tv_usec = 0;
		evtimer_add(m->timer, &tv);
	}
}

/* queue_work_msg_new - a published message (env is taken over) */
struct qmsg *
queue_work_msg_new(struct queue *q, struct envelope *env)
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

/* queue_work_log_rcpts - failed at expansion (fresh), or remote while
 * there is no deliver process: one line each */
void
queue_work_log_rcpts(const struct queue *q, const struct qmsg *m,
    bool fresh)
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
		    !rcpt_is_local(q, r->addr))
			log_info("msgid=%s rcpt=<%s> waiting for the deliver "
			    "process", m->env.id, r->addr);
	}
}

/* queue_work_find - the message with this id, or NULL */
struct qmsg *
queue_work_find(struct queue *q, const char *id)
{
	struct qmsg	*m;

	TAILQ_FOREACH(m, &q->msgs, entry)
		if (strcmp(m->env.id, id) == 0)
			return m;
	return NULL;
}

/* queue_work_flush - pending recipients not in flight: next try now */
void
queue_work_flush(struct queue *q, struct qmsg *m)
{
	size_t	i;

	if (m->busy) {
		m->flush_req = true;	/* deliver_done comes back here */
		return;
	}
	m->flush_req = false;
	for (i = 0; i < m->env.nrcpts; i++)
		if (m->env.rcpts[i].state == RCPT_PENDING &&
		    m->env.rcpts[i].job == 0)
			m->env.rcpts[i].next_try = 0;
	queue_work_schedule(q, m);
}

/*
 * queue_work_remove - admin: remove m from the spool, durably (in the
 * loop: a rare admin action); its jobs in flight are forgotten
 */
int
queue_work_remove(struct queue *q, struct qmsg *m, struct err *e)
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
	qmsg_free(q, m);
	return 0;
}

/*
 * ---- commits ----
 */

/* commit_fail - every commit of the batch still going fails with e */
static void
commit_fail(struct witems *items, const struct err *e)
{
	struct witem	*it;
	struct commit	*c;

	TAILQ_FOREACH(it, items, entry) {
		c = (struct commit *)(void *)it;
		if (c->rc == 0) {
			c->rc = -1;
			c->err = *e;
		}
	}
}

/* commit_poison - a syncfs failed: every writer begun so far fails */
static void
commit_poison(struct queue *q)
{
	atomic_store(&q->wpoison, atomic_load(&q->wseq));
}

/*
 * commit_poisoned - the commits whose writer began before a failed
 * syncfs returned fail: that failure may have been their pages' (it is
 * reported once, to whichever batch syncs next)
 */
static void
commit_poisoned(struct queue *q, struct witems *items)
{
	struct witem	*it;
	struct commit	*c;
	uint64_t	 p = atomic_load(&q->wpoison);

	TAILQ_FOREACH(it, items, entry) {
		c = (struct commit *)(void *)it;
		if (c->rc == 0 && p != 0 && c->wseq <= p)
			c->rc = err_set(&c->err, true, EIO, "a write error "
			    "on the spool's filesystem while it was written");
	}
}

/*
 * commit_sync_files - sync_method file: every message's two files have
 * their writeback started, then all are fdatasynced concurrently
 */
static void
commit_sync_files(struct queue *q, struct witems *items, size_t n)
{
	struct witem	*it;
	struct commit	*c;
	size_t		 i;
	int		*fds, *errs;

	fds = xcalloc(2 * n, sizeof(*fds));
	errs = xcalloc(2 * n, sizeof(*errs));
	i = 0;
	TAILQ_FOREACH(it, items, entry) {
		c = (struct commit *)(void *)it;
		if (c->d != NULL) {
			fds[i] = c->d->tx.fd;
			fds[i + 1] = -1;
		} else if ((c->rc = spool_sync_begin(&q->sp, c->id, &fds[i],
		    &c->err)) == -1)
			fds[i] = fds[i + 1] = -1;
		i += 2;
	}
	sync_all(q->sync, fds, errs, 2 * n);
	i = 0;
	TAILQ_FOREACH(it, items, entry) {
		c = (struct commit *)(void *)it;
		if (c->rc == 0) {
			if (errs[i] != 0 || errs[i + 1] != 0)
				c->rc = err_set(&c->err, true, errs[i] ?
				    errs[i] : errs[i + 1], "fdatasync %s: %s",
				    c->id, strerror(errs[i] ? errs[i] :
				    errs[i + 1]));
			if (c->d == NULL) {
				close(fds[i]);
				close(fds[i + 1]);
			}
		}
		i += 2;
	}
	free(fds);
	free(errs);
}

/*
 * commit_work - commit thread: one batch.  Every message's files are
 * made durable (fdatasyncs, or one syncfs), then each message is
 * published (a direct delivery: linked into its Maildir's new/), then ONE
 * sync (directories, or syncfs) covers them all.  Whatever failed is
 * discarded here (a direct delivery's file removed); the loop answers.
 */
static void
commit_work(struct queue *q, struct witems *items)
{
	struct witem	*it;
	struct commit	*c;
	struct err	 e;
	bool		 published = false, spooled = false;
	bool		 fs = q->sync_method == SYNC_FILESYSTEM;
	size_t		 n = 0, nd = 0;
	struct timespec	 t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	TAILQ_FOREACH(it, items, entry) {
		c = (struct commit *)(void *)it;
		c->rc = 0;
		n++;
		if (c->d != NULL)
			nd++;
	}
	/*
	 * filesystem: a spool message is published before its bytes are
	 * known durable, and ONE syncfs covers bytes and renames: its
	 * envelope checks itself and the body (hash), so what a crash
	 * before that sync leaves is found incomplete at startup and never
	 * taken for a message (it was never acknowledged).  A direct
	 * delivery's file is read by mail clients, which check nothing: its
	 * bytes are synced before its link (per file where its Maildir's
	 * filesystem is not known to honour syncfs).
	 */
	if (!fs)
		commit_sync_files(q, items, n);
	else if (nd > 0 && spool_syncfs_pool(&q->sp,
	    q->csync_fd, &e) == -1) {
		commit_poison(q);
		commit_fail(items, &e);
	} else if (nd > 0) {
		queue_direct_syncfs(q, items);
		queue_direct_sync_files(q, items);
	}
	if (fs)
		commit_poisoned(q, items);
	TAILQ_FOREACH(it, items, entry) {
		c = (struct commit *)(void *)it;
		if (c->rc != 0)
			continue;
		if (c->d != NULL)
			c->rc = maildir_commit(&c->d->tx, &c->err);
		else if ((c->rc = spool_publish(&q->sp, c->id, &c->err)) == 0)
			spooled = true;
		published = published || c->rc == 0;
	}
	if (published && (fs ? spool_syncfs_pool(&q->sp, q->csync_fd, &e) :
	    spooled ? spool_sync_dirs(&q->sp, &e) : 0) == -1) {
		if (fs)
			commit_poison(q);
		/* not known to be durable: not accepted (451), not kept */
		TAILQ_FOREACH(it, items, entry) {
			c = (struct commit *)(void *)it;
			if (c->rc == 0 && c->d != NULL)
				maildir_revoke(&c->d->tx);
			else if (c->rc == 0)
				(void)spool_remove(&q->sp, c->id, NULL);
		}
		commit_fail(items, &e);
	}
	if (published && nd > 0) {
		if (fs)
			queue_direct_syncfs(q, items);
		queue_direct_sync_new(items);
	}
	TAILQ_FOREACH(it, items, entry) {
		c = (struct commit *)(void *)it;
		if (c->d != NULL) {
			/* closes; a file left in tmp/ (failed) is removed */
			maildir_end(&c->d->tx);
		} else if (c->rc == -1)
			spool_discard(&q->sp, c->id);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_debug("commit batch: %zu messages (%zu direct) in %.2f ms", n, nd,
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
}

/*
 * ---- the interface of queue_work.h ----
 */

/* queue_work_start - start both threads */
void
queue_work_start(struct queue *q,
    void (*commit_done)(struct queue *, struct witem *))
{
	sigset_t	all, old;
	struct err	e;
	struct stat	st;

	queue_sync_resolve(q);
	q->csync_fd = q->dsync_fd = -1;
	if (q->sync_method == SYNC_FILESYSTEM &&
	    ((q->csync_fd = spool_sync_fd(&q->sp, &e)) == -1 ||
	    (q->dsync_fd = spool_sync_fd(&q->sp, &e)) == -1))
		fatalx("queue: %s", e.msg);
	if (q->csync_fd != -1 && fstat(q->csync_fd, &st) == 0)
		q->spool_dev = st.st_dev;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* per-file syncs: the spool's, or a Maildir's (auto) */
	if (q->sync_method == SYNC_FILE || q->sync_conf == SYNC_AUTO) {
		q->sync = sync_start();
		q->dsync = sync_start();
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	worker_start(q, &q->cw, "commit", Q_COMMIT_BATCH, true, commit_work,
	    commit_done);
	worker_start(q, &q->dw, "delivery", Q_DELIVER_BATCH, false,
	    deliver_work, deliver_done);
}

/* queue_work_stop - let both threads end */
void
queue_work_stop(struct queue *q)
{
	worker_stop(&q->cw);
	worker_stop(&q->dw);
}

/* queue_work_commit - hand a commit to the commit thread */
bool
queue_work_commit(struct queue *q, struct commit *c)
{
	return worker_post(&q->cw, &c->w);
}

/* queue_work_free - release what the threads leave once joined */
void
queue_work_free(struct queue *q)
{
	struct witem	*it;
	struct qmsg	*m;

	/* jobs the delivery thread never started: still pending on disk */
	while ((it = TAILQ_FIRST(&q->dw.in)) != NULL) {
		TAILQ_REMOVE(&q->dw.in, it, entry);
		djob_free((struct djob *)(void *)it);
	}
	while ((m = TAILQ_FIRST(&q->msgs)) != NULL)
		qmsg_free(q, m);
	worker_free(&q->cw);
	worker_free(&q->dw);
	sync_stop(q->sync);
	sync_stop(q->dsync);
	q->sync = q->dsync = NULL;
	if (q->csync_fd != -1)
		close(q->csync_fd);
	if (q->dsync_fd != -1)
		close(q->dsync_fd);
	q->csync_fd = q->dsync_fd = -1;
}
