/*
 * spool_pool.h - the recycling pool of the spool's free/ directory
 * (spool_pool.c); private to spool.c.
 *
 * Files are recycled rather than unlinked: on ext4 without a journal
 * every inode freed is skipped by the allocator for minutes ("recently
 * deleted"), and at a few hundred messages a second that scan cost more
 * CPU than everything else (measured with perf).  A file that leaves the
 * spool is renamed into free/ (up to SPOOL_POOL_MAX of each kind) and the
 * next file created takes one back.  Envelopes ("e" names) keep their
 * stale bytes there and are overwritten in place.  Bodies ("b" names) are
 * emptied first, and only when nobody else has them open: smtp wrote each
 * through a descriptor of its own and deliver read it through another,
 * so a body is recycled only once a write lease proves that no other
 * descriptor of it exists anywhere (spool_pool_body_put()); otherwise it is
 * unlinked.
 */
#ifndef POSTERN_SPOOL_POOL_H
#define POSTERN_SPOOL_POOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct err;
struct spool;

#define SPOOL_POOL_MAX	1024
#define SPOOL_FREE_NAME	24

struct spool_list {
	char		 names[SPOOL_POOL_MAX][SPOOL_FREE_NAME];
	size_t		 n;
	char		 prefix;	/* 'e' or 'b' */
};

/*
 * A file renamed into free/ is reused only once that rename is durable:
 * until then a crash could leave the old name (env/<id>, tmp/...) on disk
 * pointing at the inode, rewritten meanwhile for another message.  So it
 * waits in pend[] until a sync of the spool that started after the rename
 * has ended (spool_syncfs_pool, spool_sync_dirs) and only then joins its
 * list.  Without such a sync the pool stays empty and new files are made.
 */
#define SPOOL_PEND_MAX	(2 * SPOOL_POOL_MAX)

struct spool_pend {
	char			 name[SPOOL_FREE_NAME];
	struct spool_list	*l;
	uint64_t		 seq;
};

struct spool_pool {
	pthread_mutex_t	 mu;
	struct spool_list env;
	struct spool_list body;
	uint64_t	 next;		/* for new names in free/ */
	struct spool_pend pend[SPOOL_PEND_MAX];
	size_t		 npend;
	uint64_t	 pushed;	/* seq of the last pend[] entry */
};

/* spool_pool_new - an empty pool; NULL with e on failure */
struct spool_pool	*spool_pool_new(struct err *);
/* spool_pool_free - the pool (NULL: nothing) */
void		 spool_pool_free(struct spool_pool *);
/* spool_pool_push - remember free/<fname> in l; unlink it if l is full */
void		 spool_pool_push(struct spool *, struct spool_list *,
		    const char *fname);
/* spool_pool_mark - before a sync: what has been renamed into free/ */
uint64_t	 spool_pool_mark(struct spool *);
/* spool_pool_synced - a sync begun at mark has ended: those are free */
void		 spool_pool_synced(struct spool *, uint64_t mark);
/* spool_pool_env_take - a recycled envelope file as dfd/name, or -1 */
int		 spool_pool_env_take(struct spool *, int dfd, const char *name);
/* spool_pool_env_put - an envelope file leaves the spool (0, or -1) */
int		 spool_pool_env_put(struct spool *, int dfd, const char *name);
/* spool_pool_body_take - a recycled, empty body file as dfd/name, open
 * with accmode; -1 if there is none */
int		 spool_pool_body_take(struct spool *, int dfd, const char *name,
		    int accmode);
/* spool_pool_body_put - a body file leaves the spool: into free/ when
 * no other descriptor of it exists, else unlinked */
void		 spool_pool_body_put(struct spool *, int dfd, const char *name);

#endif
