/*
 * worker.h - a batch worker thread fed by an event loop (worker.c).
 */
#ifndef POSTERN_WORKER_H
#define POSTERN_WORKER_H

#include <sys/queue.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct event;
struct event_base;

/* an item of a worker's lists: the first member of the caller's item */
struct witem {
	TAILQ_ENTRY(witem)	 entry;
};
TAILQ_HEAD(witems, witem);

struct worker {
	void			*arg;		/* the callbacks' */
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
	void			(*work)(void *, struct witems *); /* thread */
	void			(*done)(void *, struct witem *); /* loop */
	void			(*on_exit)(void *);	/* loop, once joined */
};

/* worker_start - the thread, every signal blocked; its wakeup on base */
void	worker_start(struct worker *, struct event_base *, const char *name,
	    size_t batch, bool drain, void (*work)(void *, struct witems *),
	    void (*done)(void *, struct witem *), void (*on_exit)(void *),
	    void *arg);
/* worker_post - hand an item to the thread; false if it has ended */
bool	worker_post(struct worker *, struct witem *);
/* worker_stop - ask the thread to end (after its queue if drain) */
void	worker_stop(struct worker *);
/* worker_free - after the thread is joined */
void	worker_free(struct worker *);

#endif
