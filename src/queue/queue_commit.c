/*
 * queue_commit.c - the queue's commit thread (queue_commit.h): it takes
 * every commit gathered while it was busy (the batch never waits on a
 * timer; at most Q_COMMIT_BATCH), makes all their files durable,
 * publishes each (a direct delivery: linked into its Maildir's new/),
 * then makes the renames and links durable ONCE for the whole batch and
 * hands it back to the loop, which only then answers (STYLE.md pattern
 * D).  A failure is a 451 for that message (for a failed sync, the
 * batch), and leaves nothing published.
 *
 * The syncs, per sync_method (resolved at start for the spool, for this
 * thread and the delivery thread of queue_local.c, and per Maildir, by
 * queue_sync.c): "file" fdatasyncs each file concurrently (sync pools)
 * and fsyncs each directory once per batch; "filesystem" calls syncfs(2)
 * once before the renames or links of a batch and once after (once per
 * filesystem for Maildirs elsewhere), each thread on a descriptor of its
 * own so that it sees every writeback error.  A Maildir whose filesystem
 * is not known to honour syncfs takes the per-file syncs even when the
 * spool takes syncfs.  The direct deliveries' syncs are here too
 * (direct_syncfs, direct_sync_files, direct_sync_new): the loop's side of
 * them is queue_direct.c.
 *
 * The thread touches only its batch's items and the spool's directory
 * fds; it blocks every signal.
 */
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "log.h"
#include "syncpool.h"
#include "worker.h"
#include "xmalloc.h"
#include "local/maildir.h"
#include "queue/queue_commit.h"
#include "queue/queue_state.h"
#include "queue/queue_sync.h"
#include "queue/spool.h"

/* the batch size bounds the descriptors open at once: 2 per commit */
#define Q_COMMIT_BATCH	128	/* messages per commit batch */

/*
 * direct_sync - the batch's direct deliveries still going, synced once
 * per group (maildir_sync_groups): by filesystem those synced by syncfs
 * (those on the spool's own are covered by its syncfs; q is only read
 * then), by directory those synced per file; on failure those fail (and
 * one already linked is taken out of new/ again)
 */
static void
direct_sync(struct queue *q, struct witems *items, enum maildir_group by)
{
	struct maildir_sync	*v;
	struct witem		*it;
	struct commit		*c;
	size_t			 n = 0;

	TAILQ_FOREACH(it, items, entry)
		n++;
	v = xcalloc(n + 1, sizeof(*v));
	n = 0;
	TAILQ_FOREACH(it, items, entry) {
		c = (struct commit *)(void *)it;
		if (c->d == NULL)
			continue;
		v[n].tx = &c->d->tx;
		v[n].maildir = c->d->maildir;
		v[n].dev = c->d->dev;
		v[n].order = c->wseq;
		v[n].synced = c->rc != 0 || (by == MAILDIR_BY_DEV ?
		    !c->d->syncfs || c->d->dev == q->spool_dev :
		    c->d->syncfs);
		n++;
	}
	maildir_sync_groups(v, n, by);
	n = 0;
	TAILQ_FOREACH(it, items, entry) {
		c = (struct commit *)(void *)it;
		if (c->d == NULL)
			continue;
		c->d->synced = true;
		if (v[n].err != 0 && by == MAILDIR_BY_DEV)
			c->rc = err_set(&c->err, true, v[n].err, "syncfs %s: %s",
			    c->d->maildir, strerror(v[n].err));
		else if (v[n].err != 0)
			c->rc = err_set(&c->err, true, v[n].err,
			    "fsync %s/new: %s", c->d->maildir,
			    strerror(v[n].err));
		n++;
	}
	free(v);
}

/*
 * direct_syncfs - sync_method filesystem: one syncfs per other
 * filesystem holding a direct delivery still going that is synced by
 * syncfs (queue_sync_syncfs, decided at its open); on failure those
 * fail (and one already linked is taken out of new/ again).  The syncfs
 * goes through the descriptor of the delivery opened first (the lowest
 * writer number): a writeback error is reported to a descriptor opened
 * before it, and every page of the batch there was written after that
 * open.
 */
static void
direct_syncfs(struct queue *q, struct witems *items)
{
	direct_sync(q, items, MAILDIR_BY_DEV);
}

/*
 * direct_sync_files - sync_method filesystem: the direct deliveries
 * still going whose Maildir takes per-file syncs (its filesystem not
 * known to honour syncfs) have their file fdatasynced before the link;
 * on failure that one fails.  (Under sync_method file
 * commit_sync_files syncs them with the spool's files.)
 */
static void
direct_sync_files(struct queue *q, struct witems *items)
{
	struct witem	*it;
	struct commit	*c;
	int		*fds, *errs;
	size_t		 i, n = 0, nf = 0;

	TAILQ_FOREACH(it, items, entry)
		n++;
	fds = xcalloc(n + 1, sizeof(*fds));
	errs = xcalloc(n + 1, sizeof(*errs));
	i = 0;
	TAILQ_FOREACH(it, items, entry) {
		c = (struct commit *)(void *)it;
		fds[i] = -1;
		if (c->d != NULL && c->rc == 0 && !c->d->syncfs) {
			fds[i] = c->d->tx.fd;
			nf++;
		}
		i++;
	}
	/* the pools exist whenever a Maildir can take per-file syncs */
	if (nf > 0)
		sync_all(q->sync, fds, errs, n);
	i = 0;
	TAILQ_FOREACH(it, items, entry) {
		c = (struct commit *)(void *)it;
		if (fds[i] != -1 && errs[i] != 0)
			c->rc = err_set(&c->err, true, errs[i],
			    "fdatasync %s/tmp/%s: %s", c->d->maildir,
			    c->d->tx.name, strerror(errs[i]));
		i++;
	}
	free(fds);
	free(errs);
}

/*
 * direct_sync_new - fsync each new/ of a direct delivery synced per file
 * (every one under sync_method file) once per directory; on failure the
 * files linked there are taken out
 */
static void
direct_sync_new(struct witems *items)
{
	direct_sync(NULL, items, MAILDIR_BY_DIR);
}

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
		direct_syncfs(q, items);
		direct_sync_files(q, items);
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
			direct_syncfs(q, items);
		direct_sync_new(items);
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

/* commit_batch - commit thread: the worker's work (q is arg) */
static void
commit_batch(void *arg, struct witems *items)
{
	commit_work(arg, items);
}

/* commit_done - loop: a commit is back; its producer takes it over */
static void
commit_done(void *arg, struct witem *it)
{
	struct commit	*c = (struct commit *)(void *)it;

	c->done(arg, c);
}

/* queue_commit_start - the syncs of both threads, the commit thread */
void
queue_commit_start(struct queue *q, void (*on_exit)(void *))
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
	worker_start(&q->cw, q->base, "commit", Q_COMMIT_BATCH, true,
	    commit_batch, commit_done, on_exit, q);
}

/* queue_commit_post - hand a commit to the commit thread */
bool
queue_commit_post(struct queue *q, struct commit *c)
{
	return worker_post(&q->cw, &c->w);
}

/* queue_commit_stop - let the thread end once its batches are done */
void
queue_commit_stop(struct queue *q)
{
	worker_stop(&q->cw);
}

/* queue_commit_free - release the thread and both threads' syncs */
void
queue_commit_free(struct queue *q)
{
	worker_free(&q->cw);
	sync_stop(q->sync);
	sync_stop(q->dsync);
	q->sync = q->dsync = NULL;
	if (q->csync_fd != -1)
		close(q->csync_fd);
	if (q->dsync_fd != -1)
		close(q->dsync_fd);
	q->csync_fd = q->dsync_fd = -1;
}
