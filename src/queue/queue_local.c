/*
 * queue_local.c - the queue's Maildir delivery thread (queue_local.h),
 * which also rewrites or removes the envelope after EVERY outcome, local
 * or remote: the loop never writes an envelope.
 *
 * It works in batches of jobs (a job: some due local recipients of one
 * message, or none, when only the envelope is stale): every Maildir file
 * written, all synced together, linked, the links synced; the results
 * recorded in the envelopes, which are rewritten, or removed once every
 * recipient is done or bounced (qplan_finished), with one sync
 * (local_rewrite_envelopes).  Separate from the commit thread
 * (queue_commit.c, which sets up the syncs of both) so delivery syncs
 * never delay a 250.  Each Maildir file takes syncfs or per-file syncs
 * as its filesystem needs (queue_sync_syncfs, decided at its begin): a
 * Maildir on a filesystem not known to honour syncfs gets per-file syncs
 * even when the spool takes syncfs.
 *
 * A message handed to the thread is marked busy and the loop does not
 * touch it until the job comes back through the eventfd; then it stays
 * busy, marked m->back, until the scheduler (queue_sched.c) takes it
 * back.  Nothing is dropped: a failed delivery is retried per sched.h
 * until queue_lifetime, then bounced (queue_bounce.c), and a failed
 * rewrite of the envelope is retried after retry_min.
 */
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "syncpool.h"
#include "worker.h"
#include "xmalloc.h"
#include "local/maildir.h"
#include "queue/envelope.h"
#include "queue/qplan.h"
#include "queue/queue_local.h"
#include "queue/queue_state.h"
#include "queue/queue_sync.h"
#include "queue/route.h"
#include "queue/sched.h"
#include "queue/spool.h"

/* the batch size bounds the descriptors open at once: 3 per delivery
 * target (file, tmp/, new/), 1 per job */
#define Q_DELIVER_BATCH	16	/* jobs per delivery batch */

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

/* local_record - a job's results into its message's envelope */
static void
local_record(struct djob *j, time_t now)
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

/* local_begin - step 1: each target's file written into its tmp/ */
static size_t
local_begin(struct queue *q, struct witems *items)
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
 * local_sync_set - the begun targets as a maildir_sync_groups batch
 * (order: their place in it; those failed already, and those not synced
 * the way asked for (syncfs or per file), skipped)
 */
static struct maildir_sync *
local_sync_set(struct witems *items, size_t n, bool syncfs)
{
	struct maildir_sync	*v = xcalloc(n + 1, sizeof(*v));
	struct witem		*it;
	struct dtarget		*t;
	struct djob		*j;
	size_t			 i, k = 0;

	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items)) {
		v[k].tx = &t->tx;
		v[k].maildir = t->maildir;
		v[k].dev = t->dev;
		v[k].order = k;
		v[k].synced = t->rc != 0 || t->syncfs != syncfs;
		k++;
	}
	return v;
}

/*
 * local_syncfs - one syncfs per filesystem holding a begun target still
 * going (rc 0) that is synced by syncfs, on the first such target's tmp/
 * (opened before any file of the batch was written); on failure every
 * target there fails, and one already linked is taken out of new/ again
 */
static void
local_syncfs(struct witems *items, const char *what)
{
	struct maildir_sync	*v;
	struct witem		*it;
	struct dtarget		*t;
	struct djob		*j;
	size_t			 i, n;

	n = 0;
	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items))
		n++;
	v = local_sync_set(items, n, true);
	maildir_sync_groups(v, n, MAILDIR_BY_DEV);
	n = 0;
	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items)) {
		t->synced = true;
		if (v[n].err != 0)
			t->rc = err_set(&t->err, true, v[n].err,
			    "syncfs %s %s: %s", what, t->maildir,
			    strerror(v[n].err));
		n++;
	}
	free(v);
}

/*
 * local_sync_fs - steps 2-4 for the targets synced by syncfs: one syncfs
 * (per filesystem) for every file, all linked, one syncfs for the links
 */
static void
local_sync_fs(struct witems *items)
{
	struct witem	*it;
	struct dtarget	*t;
	struct djob	*j;
	struct stat	 st;
	size_t		 i;

	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items)) {
		if (!t->syncfs)
			continue;
		if (fstat(t->tx.tmp_dfd, &st) == 0)
			t->dev = st.st_dev;
		else
			t->rc = err_set(&t->err, true, errno, "fstat %s/tmp: %s",
			    t->maildir, strerror(errno));
	}
	local_syncfs(items, "before linking");
	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items))
		if (t->rc == 0 && t->syncfs)
			t->rc = maildir_commit(&t->tx, &t->err);
	local_syncfs(items, "after linking");
}

/*
 * local_sync - steps 2-4: files synced, linked, each new/ synced once
 * (targets synced by syncfs: local_sync_fs; the others per file)
 */
static void
local_sync(struct queue *q, struct witems *items, size_t n)
{
	struct maildir_sync	*v;
	struct witem		*it;
	struct dtarget		*t;
	struct djob		*j;
	int			*fds, *errs;
	size_t			 i, k = 0, nf = 0;

	if (q->sync_method == SYNC_FILESYSTEM)
		local_sync_fs(items);
	fds = xcalloc(n + 1, sizeof(*fds));
	errs = xcalloc(n + 1, sizeof(*errs));
	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items)) {
		fds[k++] = t->syncfs ? -1 : t->tx.fd;
		nf += !t->syncfs;
	}
	/* the pools exist whenever a Maildir can take per-file syncs */
	if (nf > 0)
		sync_all(q->dsync, fds, errs, n);
	k = 0;
	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items)) {
		if (t->syncfs) {		/* done by local_sync_fs */
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
	v = local_sync_set(items, n, false);
	maildir_sync_groups(v, n, MAILDIR_BY_DIR);
	k = 0;
	EACH_BEGUN(it, j, i, t, TAILQ_FIRST(items)) {
		t->synced = true;
		if (v[k].err != 0)
			t->rc = err_set(&t->err, true, v[k].err,
			    "fsync %s/new: %s", t->maildir, strerror(v[k].err));
		k++;
	}
	free(v);
#undef EACH_BEGUN
	free(fds);
	free(errs);
}

/*
 * local_rewrite_envelopes - steps 6-8: envelopes updated or removed, one sync.
 * Under sync_method filesystem the new envelopes are written unsynced,
 * one syncfs makes them and the removals durable, then they are swapped
 * in: a swap lost in a crash leaves the old envelope, complete, and at
 * worst a delivery made twice; it is made durable by the next sync.
 */
static void
local_rewrite_envelopes(struct queue *q, struct witems *items)
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
 * local_work - delivery thread: a batch of jobs (each owns its message
 * until it is handed back).  Every file is written, then all are synced
 * together, linked into new/, and each new/ directory synced once; the
 * results go into the envelopes, which are rewritten or removed with one
 * directory sync for the batch.
 */
static void
local_work(struct queue *q, struct witems *items)
{
	struct witem	*it;
	struct djob	*j;
	size_t		 n, i, njobs = 0;
	time_t		 now;
	struct timespec	 t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((n = local_begin(q, items)) > 0)
		local_sync(q, items, n);
	now = time(NULL);
	TAILQ_FOREACH(it, items, entry) {
		j = (struct djob *)(void *)it;
		for (i = 0; i < j->n; i++)
			if (j->t[i].begun)
				maildir_end(&j->t[i].tx);
		local_record(j, now);
		njobs++;
	}
	local_rewrite_envelopes(q, items);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_debug("delivery batch: %zu messages, %zu files in %.2f ms", njobs,
	    n, (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
}

/* local_done - loop: log a job's results, give the message back */
static void
local_done(void *arg, struct witem *it)
{
	struct djob	*j = (struct djob *)(void *)it;
	struct qmsg	*m = j->m;
	struct env_rcpt	*r;
	struct dtarget	*t;
	size_t		 i;

	(void)arg;
	for (i = 0; i < j->n; i++) {
		t = &j->t[i];
		r = &m->env.rcpts[t->ri];
		if (t->rc == 0)
			log_info("msgid=%s rcpt=<%s> delivered maildir=%s",
			    m->env.id, r->addr, t->maildir);
		else if (r->state == RCPT_FAILED)
			log_warnx("msgid=%s rcpt=<%s> failed:%s error=%s",
			    m->env.id, r->addr, t->gave_up ?
			    " gave_up=queue_lifetime" : "", t->err.msg);
		else
			log_warnx("msgid=%s rcpt=<%s> deferred: attempt=%u "
			    "retry_in=%llds error=%s", m->env.id, r->addr,
			    r->attempts, (long long)(r->next_try - time(NULL)),
			    t->err.msg);
	}
	/* still busy: the scheduler takes it back (queue_sched.c) */
	if (j->removed && !m->remove_req)
		log_info("msgid=%s done: removed from the queue", m->env.id);
	m->back = j->removed ? QB_REMOVED : j->prc == -1 ? QB_UNSAVED :
	    QB_SAVED;
	if (j->prc == -1)
		m->back_err = j->perr;
	djob_free(j);
	qmsg_touch(m);
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
	t->prefix = route_prefix(m->env.from, r->addr, m->env.prefix);
}

/*
 * queue_local_post - a delivery job for m: local recipients ri[0..n)
 * (maildirs taken over), or, with n == 0, only the rewrite or removal of
 * its envelope.  m is busy until the job is back; false (m not busy) if
 * the delivery thread has ended.
 */
bool
queue_local_post(struct queue *q, struct qmsg *m, const size_t *ri,
    char **maildirs, size_t n)
{
	struct djob	*j = xcalloc(1, sizeof(*j));
	size_t		 i;

	j->m = m;
	j->retry_min = q->conf->retry_min;
	j->retry_max = q->conf->retry_max;
	j->lifetime = q->conf->queue_lifetime;
	for (i = 0; i < n; i++)
		djob_add(j, m, ri[i], maildirs[i]);
	m->busy = true;
	if (worker_post(&q->dw, &j->w))
		return true;
	m->busy = false;
	djob_free(j);
	return false;
}

/* local_batch - delivery thread: the worker's work (q is arg) */
static void
local_batch(void *arg, struct witems *items)
{
	local_work(arg, items);
}

/* queue_local_start - the delivery thread */
void
queue_local_start(struct queue *q, void (*on_exit)(void *))
{
	worker_start(&q->dw, q->base, "delivery", Q_DELIVER_BATCH, false,
	    local_batch, local_done, on_exit, q);
}

/* queue_local_stop - let the thread end after its current batch */
void
queue_local_stop(struct queue *q)
{
	worker_stop(&q->dw);
}

/* queue_local_free - release what the thread leaves once joined */
void
queue_local_free(struct queue *q)
{
	struct witem	*it;

	/* jobs the delivery thread never started: still pending on disk */
	while ((it = TAILQ_FIRST(&q->dw.in)) != NULL) {
		TAILQ_REMOVE(&q->dw.in, it, entry);
		djob_free((struct djob *)(void *)it);
	}
	worker_free(&q->dw);
}
