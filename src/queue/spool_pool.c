/*
 * spool_pool.c - the spool's recycling pool of free/ (spool_pool.h),
 * private to spool.c.  Every function is thread-safe: the lists are
 * under the pool's mutex, the files named relative to the spool's
 * directory fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "xmalloc.h"
#include "queue/spool.h"
#include "queue/spool_pool.h"

/* spool_pool_new - an empty pool (names in free/ start at random) */
struct spool_pool *
spool_pool_new(struct err *e)
{
	struct spool_pool	*p = xcalloc(1, sizeof(*p));

	p->env.prefix = 'e';
	p->body.prefix = 'b';
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		err_set(e, true, 0, "pthread_mutex_init failed");
		return NULL;
	}
	if (getrandom(&p->next, sizeof(p->next), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(p->next))
		p->next = (uint64_t)time(NULL) << 24;
	return p;
}

/* spool_pool_free - the pool (its files stay in free/) */
void
spool_pool_free(struct spool_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* spool_pool_push - remember free/<fname> in l; unlink it if l is full */
void
spool_pool_push(struct spool *sp, struct spool_list *l, const char *fname)
{
	struct spool_pool	*p = sp->pool;
	bool			 full;

	pthread_mutex_lock(&p->mu);
	if (!(full = l->n >= SPOOL_POOL_MAX))
		(void)snprintf(l->names[l->n++], SPOOL_FREE_NAME, "%s", fname);
	pthread_mutex_unlock(&p->mu);
	if (full)
		(void)unlinkat(sp->free_dfd, fname, 0);
}

/* pool_pend_push - free/<fname>, just renamed there, waits for a sync */
static void
pool_pend_push(struct spool *sp, struct spool_list *l, const char *fname)
{
	struct spool_pool	*p = sp->pool;
	struct spool_pend	*pe;
	bool			 full;

	pthread_mutex_lock(&p->mu);
	if (!(full = p->npend >= SPOOL_PEND_MAX)) {
		pe = &p->pend[p->npend++];
		(void)snprintf(pe->name, sizeof(pe->name), "%s", fname);
		pe->l = l;
		pe->seq = ++p->pushed;
	}
	pthread_mutex_unlock(&p->mu);
	if (full)
		(void)unlinkat(sp->free_dfd, fname, 0);
}

/* spool_pool_mark - before a sync: what has been renamed into free/ so far */
uint64_t
spool_pool_mark(struct spool *sp)
{
	uint64_t	m;

	pthread_mutex_lock(&sp->pool->mu);
	m = sp->pool->pushed;
	pthread_mutex_unlock(&sp->pool->mu);
	return m;
}

/* spool_pool_synced - a sync begun at mark has ended: those files are free */
void
spool_pool_synced(struct spool *sp, uint64_t mark)
{
	struct spool_pool	*p = sp->pool;
	struct spool_pend	*pe;
	size_t			 i, kept = 0;

	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->npend; i++) {
		pe = &p->pend[i];
		if (pe->seq > mark)
			p->pend[kept++] = *pe;
		else if (pe->l->n < SPOOL_POOL_MAX)
			(void)snprintf(pe->l->names[pe->l->n++],
			    SPOOL_FREE_NAME, "%s", pe->name);
		else
			(void)unlinkat(sp->free_dfd, pe->name, 0);
	}
	p->npend = kept;
	pthread_mutex_unlock(&p->mu);
}

/*
 * pool_take - move a file of l from free/ to dfd/name; -1 if there is
 * none, or if dfd/name exists already
 */
static int
pool_take(struct spool *sp, struct spool_list *l, int dfd, const char *name)
{
	struct spool_pool	*p = sp->pool;
	char			 fname[SPOOL_FREE_NAME];

	for (;;) {
		pthread_mutex_lock(&p->mu);
		if (l->n == 0) {
			pthread_mutex_unlock(&p->mu);
			return -1;
		}
		memcpy(fname, l->names[--l->n], sizeof(fname));
		pthread_mutex_unlock(&p->mu);
		if (fsutil_rename_noreplace(sp->free_dfd, fname, dfd, name) == 0)
			return 0;
		if (errno == EEXIST) {
			spool_pool_push(sp, l, fname);
			return -1;
		}
		/* gone or unusable: forget it, try the next one */
		(void)unlinkat(sp->free_dfd, fname, 0);
	}
}

/*
 * pool_put - take dfd/name away (into free/ as one of l, else unlinked);
 * 0 once the name is gone (or was already), -1 with errno if it could
 * not be
 */
static int
pool_put(struct spool *sp, struct spool_list *l, int dfd, const char *name)
{
	struct spool_pool	*p = sp->pool;
	char			 fname[SPOOL_FREE_NAME];
	uint64_t		 seq;
	int			 tries;

	for (tries = 0; tries < 4; tries++) {
		pthread_mutex_lock(&p->mu);
		seq = p->next++;
		tries = l->n >= SPOOL_POOL_MAX ? 4 : tries;
		pthread_mutex_unlock(&p->mu);
		if (tries == 4)
			break;
		(void)snprintf(fname, sizeof(fname), "%c%016" PRIx64,
		    l->prefix, seq);
		if (fsutil_rename_noreplace(dfd, name, sp->free_dfd, fname) == 0) {
			pool_pend_push(sp, l, fname);
			return 0;
		}
		if (errno == ENOENT)
			return 0;
		if (errno != EEXIST)
			break;
	}
	if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

/* spool_pool_env_take - a recycled envelope file as dfd/name (see pool_take) */
int
spool_pool_env_take(struct spool *sp, int dfd, const char *name)
{
	return pool_take(sp, &sp->pool->env, dfd, name);
}

/* spool_pool_env_put - an envelope file leaves the spool (see pool_put) */
int
spool_pool_env_put(struct spool *sp, int dfd, const char *name)
{
	return pool_put(sp, &sp->pool->env, dfd, name);
}

/*
 * spool_pool_body_put - a body file leaves the spool: emptied into free/ when no
 * other descriptor of it exists, else unlinked.  A write lease is granted
 * only to the one holder of the file's only open descriptor (Linux checks
 * the file's reader and writer counts, every process included), so once
 * it was granted no smtp can still write into the file and no deliver
 * can still read it; nothing can open it again either: the spool's paths
 * are beyond every other process (smtp is chrooted, deliver gets
 * descriptors only).  Without leases (EINVAL: fs.leases-enable = 0, a
 * filesystem without them) the body is simply unlinked.
 */
void
spool_pool_body_put(struct spool *sp, int dfd, const char *name)
{
	int	fd;
	bool	alone;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1) {
		if (errno != ENOENT)
			(void)unlinkat(dfd, name, 0);
		return;
	}
	alone = fcntl(fd, F_SETLEASE, F_WRLCK) == 0;
	if (alone)
		(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	close(fd);
	if (alone && (fd = openat(dfd, name, O_WRONLY | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW)) != -1) {
		close(fd);
		(void)pool_put(sp, &sp->pool->body, dfd, name);
		return;
	}
	(void)unlinkat(dfd, name, 0);
}

/*
 * spool_pool_body_take - a recycled, empty body file as dfd/name, open with accmode;
 * -1 if there is none (or dfd/name exists already)
 */
int
spool_pool_body_take(struct spool *sp, int dfd, const char *name, int accmode)
{
	struct stat	st;
	int		fd;

	if (pool_take(sp, &sp->pool->body, dfd, name) == -1)
		return -1;
	if ((fd = openat(dfd, name, accmode | O_CLOEXEC | O_NOFOLLOW)) == -1)
		goto drop;
	/* emptied before it went into free/; never hand out old bytes */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_size != 0 && ftruncate(fd, 0) == -1)) {
		close(fd);
		goto drop;
	}
	return fd;
drop:
	(void)unlinkat(dfd, name, 0);
	return -1;
}
