/*
 * queue_state.h - the queue process's state (queue_state.c): struct
 * queue and the messages it holds.  The only owner of both; every other
 * queue file reads them, and asks here to create, find and free a
 * message, and to have it looked at again (qmsg_touch).
 */
#ifndef POSTERN_QUEUE_STATE_H
#define POSTERN_QUEUE_STATE_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bounds.h"
#include "conf.h"
#include "err.h"
#include "srs.h"
#include "worker.h"
#include "queue/envelope.h"
#include "queue/spool.h"

#define Q_ENV_CAP	(64u * 1024 * 1024)	/* envelope file, bytes */
#define Q_MAX_DESTS	(LIM_RECIPIENTS_MAX * 10) /* after aliases */

struct chan;
struct event;
struct event_base;
struct peer;
struct pjob;
struct qctl;
struct queue;
struct rjob;

/* how a message came back from the Maildir thread (loop: sched acts) */
enum qmsg_back {
	QB_NONE,	/* not back (or nothing to do) */
	QB_SAVED,	/* its envelope is what memory says */
	QB_UNSAVED,	/* the envelope could not be updated (back_err) */
	QB_REMOVED,	/* done: removed from the spool */
};

/* a message in the queue (published); owned by the loop unless busy */
struct qmsg {
	TAILQ_ENTRY(qmsg)	 entry;
	TAILQ_ENTRY(qmsg)	 tentry;	/* on q->touched */
	struct queue		*q;
	struct envelope		 env;
	struct event		*timer;
	bool			 busy;		/* a delivery job owns env */
	bool			 touched;	/* on q->touched */
	bool			 dirty;		/* env on disk is stale */
	bool			 dsn;		/* a DSN of it is being queued */
	bool			 flush_req;	/* admin: retry now (when idle) */
	bool			 remove_req;	/* admin: remove (when idle) */
	enum qmsg_back		 back;		/* busy, but back: sched takes it */
	struct err		 back_err;	/* QB_UNSAVED: why */
	size_t			*dsn_ri;	/* recipients the DSN covers */
	size_t			 dsn_n;
};

/* a key the signer holds (M_K_KEYS): names only */
struct qdkey {
	char			 domain[LIM_DOMAIN + 1];
	char			 selector[LIM_SELECTOR + 1];
	uint32_t		 alg;		/* enum k_alg */
};

struct sign_req;
struct dkim_plan;

#define Q_DONE_KEEP	128	/* finished messages remembered (qdone) */

/* a message that left the queue: what became of each recipient */
struct qdone {
	char			 id[32];
	time_t			 when;
	char			*text;		/* lines, LF-separated */
};

struct queue {
	struct conf		*conf;
	bool			 conf_owned;
	struct srs		 srs;		/* the config's srs_secrets */
	struct event_base	*base;
	struct spool		 sp;
	struct chan		*parent;
	struct chan		*deliver;	/* the deliver process, or NULL */
	struct chan		*signer;	/* the signer, or NULL */
	struct qdkey		*dkeys;		/* the signer's keys */
	size_t			 ndkeys;
	bool			 dkeys_known;	/* an M_K_KEYS came */
	TAILQ_HEAD(, sign_req)	 signreqs;	/* M_K_SIGN in flight */
	TAILQ_HEAD(, dkim_plan)	 signplans;	/* plans the signer has */
	uint64_t		 next_signreq;
	TAILQ_HEAD(, peer)	 peers;
	TAILQ_HEAD(, qmsg)	 msgs;
	TAILQ_HEAD(, qmsg)	 touched;	/* to be looked at this turn */
	struct event		*touch_ev;	/* drains touched */
	void			(*sched)(struct queue *, struct qmsg *);
	/* queue.c's: the last smtp worker's channel closed */
	void			(*peers_gone)(struct queue *);
	time_t			(*clock)(void);	/* NULL: time(); tests: fake */
	TAILQ_HEAD(, rjob)	 rjobs;		/* deliver jobs in flight */
	uint64_t		 next_jobid;
	struct qctl		*ctl;		/* the control socket */
	struct worker		 cw;		/* commit thread */
	struct worker		 dw;		/* delivery thread */
	struct worker		 kw;		/* DKIM thread: reads and
						   hashes bodies to sign */
	struct worker		 pw;		/* pipe thread: runs the
						   commands of pipe aliases */
	TAILQ_HEAD(, pjob)	 pjobs;		/* pipe jobs (queue_pipe.c) */
	enum sync_method	 sync_conf;	/* as configured at start */
	enum sync_method	 sync_method;	/* the spool's: FILE or
						   FILESYSTEM, fixed at start */
	struct syncpool		*sync;		/* commit thread's helpers */
	struct syncpool		*dsync;		/* delivery thread's helpers */
	int			 csync_fd;	/* commit thread's syncfs fd */
	int			 dsync_fd;	/* delivery thread's syncfs fd */
	dev_t			 spool_dev;	/* filesystem of the spool */
	/*
	 * syncfs reports a writeback error once, to whichever batch syncs
	 * next, though the pages that failed may be those of a message
	 * begun earlier and committed later.  So every writer (an smtp
	 * transaction, a DSN) takes a number when it begins, and a failed
	 * syncfs makes every number taken so far fail at commit (451).
	 */
	_Atomic uint64_t	 wseq;		/* writers begun */
	_Atomic uint64_t	 wpoison;	/* <= this: failed (0: none) */
	size_t			 ndirect;	/* direct deliveries open */
	struct qdone		 done[Q_DONE_KEEP];	/* a ring */
	size_t			 ndone;		/* recorded so far */
	bool			 stopping;
};

/* queue_state_init - empty lists; sched looks at each touched message,
 * once per loop turn (q->base must exist) */
void		 queue_state_init(struct queue *,
		    void (*sched)(struct queue *, struct qmsg *));
/* queue_state_drain - look at every touched message now (after the loop
 * ended: what came back from the threads last) */
void		 queue_state_drain(struct queue *);
/* queue_state_free - every message, and the touch event */
void		 queue_state_free(struct queue *);

/* queue_state_now - the loop's clock (q->clock, else time()) */
time_t		 queue_state_now(const struct queue *);

/* qmsg_new - a published message (env is taken over) */
struct qmsg	*qmsg_new(struct queue *, struct envelope *);
/* qmsg_free - forget a message (its files are not touched; its remote
 * jobs must have been forgotten first) */
void		 qmsg_free(struct queue *, struct qmsg *);
/* qmsg_find - the message with this id, or NULL */
struct qmsg	*qmsg_find(struct queue *, const char *id);
/* qmsg_touch - look at m again, once, later in this loop turn */
void		 qmsg_touch(struct qmsg *);
/* qdone_record - m is done and leaves the queue: remember its outcome */
void		 qdone_record(struct queue *, const struct qmsg *);
/* qdone_find - a finished message's outcome, or NULL */
const struct qdone *qdone_find(const struct queue *, const char *id);
/* qmsg_pending - recipients still pending */
size_t		 qmsg_pending(const struct envelope *);
/* qmsg_log_rcpts - log recipients not delivered here (fresh: and those
 * that failed at expansion) */
void		 qmsg_log_rcpts(const struct queue *, const struct qmsg *,
		    bool fresh);

#endif
