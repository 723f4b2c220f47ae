/*
 * queue_thread.h - the queue's worker threads and sync pools
 * (queue_thread.c): a worker takes items posted by the loop in batches,
 * runs them off the loop and hands them back through an eventfd.
 */
#ifndef POSTERN_QUEUE_THREAD_H
#define POSTERN_QUEUE_THREAD_H

#include <sys/queue.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct event;
struct queue;
struct syncpool;

/* an item of a worker thread's lists; first member of commit and djob */
struct witem {
	TAILQ_ENTRY(witem)	 entry;
};
TAILQ_HEAD(witems, witem);

struct worker {
	struct queue		*q;
	const char		*name;
	pthread_t		 th;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct witems		 in;		/* loop -> thread */
	struct witems		 out;		/* thread -> loop */
	size_t			 batch;		/* items taken at once */
	bool			 drain;		/* on quit, finish in first */
	bool			 quit;
	bool			 exited;
	bool			 running;	/* not yet joined (loop only) */
	int			 efd;		/* thread -> loop wakeup */
	struct event		*ev;
	void			(*work)(struct queue *, struct witems *);
	void			(*done)(struct queue *, struct witem *);
	void			(*on_exit)(struct queue *); /* once joined */
};

void		 worker_start(struct queue *, struct worker *, const char *name,
		    size_t batch, bool drain,
		    void (*work)(struct queue *, struct witems *),
		    void (*done)(struct queue *, struct witem *),
		    void (*on_exit)(struct queue *));
bool		 worker_post(struct worker *, struct witem *);
void		 worker_stop(struct worker *);
void		 worker_free(struct worker *);
struct syncpool	*sync_start(void);
void		 sync_all(struct syncpool *, const int *fds, int *errs,
		    size_t n);
void		 sync_stop(struct syncpool *);

#endif
