/*
 * queue_work.h - inside the queue process: its state, shared by queue.c
 * (event loop, IPC, startup) and queue_work.c (the commit and delivery
 * threads, the retry schedule).  Not an interface for other processes.
 */
#ifndef POSTERN_QUEUE_WORK_H
#define POSTERN_QUEUE_WORK_H

#include <sys/queue.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "err.h"
#include "queue/envelope.h"
#include "queue/spool.h"

#define Q_ENV_CAP	(64u * 1024 * 1024)	/* envelope file, bytes */

struct chan;
struct event;
struct event_base;
struct peer;
struct queue;
struct syncpool;
struct txn;

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
};

/* a message in the queue (published); owned by the loop unless busy */
struct qmsg {
	TAILQ_ENTRY(qmsg)	 entry;
	struct queue		*q;
	struct envelope		 env;
	struct event		*timer;
	bool			 busy;		/* a delivery job owns env */
	bool			 dirty;		/* env on disk is stale */
};

/* one M_Q_COMMIT on its way through the commit thread */
struct commit {
	struct witem		 w;
	struct txn		*txn;		/* NULL once its peer is gone */
	uint64_t		 reqid;
	char			 id[SPOOL_ID_LEN + 1];
	struct envelope		 env;		/* loop only */
	int			 rc;		/* the thread's result */
	struct err		 err;
};

struct queue {
	struct conf		*conf;
	bool			 conf_owned;
	struct event_base	*base;
	struct spool		 sp;
	struct chan		*parent;
	struct chan		*deliver;	/* the deliver process, or NULL */
	TAILQ_HEAD(, peer)	 peers;
	TAILQ_HEAD(, qmsg)	 msgs;
	struct worker		 cw;		/* commit thread */
	struct worker		 dw;		/* delivery thread */
	enum sync_method	 sync_method;	/* fixed at start */
	struct syncpool		*sync;		/* commit thread's helpers */
	struct syncpool		*dsync;		/* delivery thread's helpers */
	int			 csync_fd;	/* commit thread's syncfs fd */
	int			 dsync_fd;	/* delivery thread's syncfs fd */
	bool			 stopping;
};

/* queue_work_start - start both threads; commit_done answers a commit */
void		 queue_work_start(struct queue *,
		    void (*commit_done)(struct queue *, struct witem *));
/* queue_work_stop - commit thread: finish its batches; delivery: its job */
void		 queue_work_stop(struct queue *);
/* queue_work_commit - into the next batch; false if the thread has ended */
bool		 queue_work_commit(struct queue *, struct commit *);
/* queue_work_msg_new - a published message (env is taken over) */
struct qmsg	*queue_work_msg_new(struct queue *, struct envelope *);
/* queue_work_schedule - deliver m's due local recipients or arm its timer */
void		 queue_work_schedule(struct queue *, struct qmsg *);
/* queue_work_log_rcpts - log recipients not delivered here (fresh: and
 * those that failed at expansion) */
void		 queue_work_log_rcpts(const struct queue *, const struct qmsg *,
		    bool fresh);
/* queue_work_pending - recipients still pending */
size_t		 queue_work_pending(const struct envelope *);
/* queue_work_free - after both threads ended: jobs, messages, threads */
void		 queue_work_free(struct queue *);

/* queue_maybe_exit - (queue.c) end the loop once stopped and idle */
void		 queue_maybe_exit(struct queue *);

#endif
