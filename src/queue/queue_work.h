/*
 * queue_work.h - inside the queue process: its state, shared by queue.c
 * (event loop, IPC, startup) and queue_work.c (the commit and delivery
 * threads, the retry schedule).  Not an interface for other processes.
 */
#ifndef POSTERN_QUEUE_WORK_H
#define POSTERN_QUEUE_WORK_H

#include <sys/queue.h>
#include <sys/types.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bounds.h"
#include "conf.h"
#include "err.h"
#include "local/maildir.h"
#include "queue/envelope.h"
#include "queue/spool.h"

#define Q_ENV_CAP	(64u * 1024 * 1024)	/* envelope file, bytes */
#define Q_MAX_DESTS	(LIM_RECIPIENTS_MAX * 10) /* after aliases */

struct chan;
struct event;
struct event_base;
struct msg;
struct peer;
struct queue;
struct qctl;
struct rres;
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
	bool			 dsn;		/* a DSN of it is being queued */
	bool			 flush_req;	/* admin: retry now (when idle) */
	bool			 remove_req;	/* admin: remove (when idle) */
	size_t			*dsn_ri;	/* recipients the DSN covers */
	size_t			 dsn_n;
};

/* what a commit is: a message from smtp, or a DSN made here */
enum commit_kind {
	CK_SMTP,
	CK_BOUNCE,
	CK_WARNING,
};

/*
 * a direct delivery (fast path): the transaction's only recipient is a
 * local mailbox, so its file is created in the Maildir's tmp/ at M_Q_OPEN
 * (the prefix written by the queue, the rest by smtp) and linked into
 * new/ by the commit batch: no spool files.  Nothing about it is durable
 * before the link; a crash leaves at most a file in tmp/.
 */
struct qdirect {
	char			*from;		/* as smtp gave it at M_Q_OPEN */
	char			*rcpt;		/* as smtp gave it */
	char			*addr;		/* the mailbox's address */
	char			*maildir;	/* DATA/mail/<domain>/<local> */
	char			*prefix;	/* Return-Path, Delivered-To */
	size_t			 prefix_len;
	uint64_t		 size;		/* body, measured at commit */
	dev_t			 dev;		/* filesystem of the Maildir */
	bool			 syncfs;	/* synced by syncfs, not per file */
	bool			 synced;	/* commit thread: done with syncs */
	struct maildir_tx	 tx;
};

/* one M_Q_COMMIT on its way through the commit thread */
struct commit {
	struct witem		 w;
	struct txn		*txn;		/* NULL once its peer is gone */
	uint64_t		 reqid;
	char			 id[SPOOL_ID_LEN + 1];
	struct envelope		 env;		/* loop only; unused if d */
	struct qdirect		*d;		/* a direct delivery, or NULL */
	int			 rc;		/* the thread's result */
	struct err		 err;
	enum commit_kind	 kind;
	char			 orig[SPOOL_ID_LEN + 1]; /* DSN: of this id */
	uint64_t		 wseq;		/* its writer's number */
};

/* a deliver job in flight: some remote recipients of one message */
struct rjob {
	TAILQ_ENTRY(rjob)	 entry;
	uint64_t		 id;
	struct qmsg		*m;
	size_t			*ri;		/* indices in m->env.rcpts */
	size_t			 n;
	struct rres		*held;		/* result, kept while m busy */
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
	TAILQ_HEAD(, rjob)	 rjobs;		/* deliver jobs in flight */
	uint64_t		 next_jobid;
	struct qctl		*ctl;		/* the control socket */
	struct worker		 cw;		/* commit thread */
	struct worker		 dw;		/* delivery thread */
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
/* queue_work_schedule - what m does next: expiry and DSNs, remote jobs,
 * local deliveries, an envelope rewrite or removal, or its timer */
void		 queue_work_schedule(struct queue *, struct qmsg *);
/* queue_work_log_rcpts - log recipients not delivered here (fresh: and
 * those that failed at expansion) */
void		 queue_work_log_rcpts(const struct queue *, const struct qmsg *,
		    bool fresh);
/* queue_work_pending - recipients still pending */
size_t		 queue_work_pending(const struct envelope *);
/* queue_work_maildir_of - DATA/mail/<domain>/<local> (lower case) of a
 * local address, or NULL if it cannot name a directory safely */
char		*queue_work_maildir_of(const struct queue *, const char *addr);
/* queue_work_prefix - the header lines put before a delivered message */
char		*queue_work_prefix(const char *from, const char *addr);
/* queue_work_free - after both threads ended: jobs, messages, threads */
void		 queue_work_free(struct queue *);

/* queue_work_find - the message with this id, or NULL */
struct qmsg	*queue_work_find(struct queue *, const char *id);
/* queue_work_flush - admin: retry m's pending recipients now */
void		 queue_work_flush(struct queue *, struct qmsg *);
/* queue_work_remove - admin: remove m (1: deferred until its delivery
 * job is back; 0: removed; -1: failed, e set) */
int		 queue_work_remove(struct queue *, struct qmsg *, struct err *);
/* queue_work_is_remote - is addr delivered by the deliver process? */
bool		 queue_work_is_remote(const char *addr, void *q);

/* queue_thread.c: worker threads and sync pools */
struct syncpool;
void		 worker_start(struct queue *, struct worker *, const char *name,
		    size_t batch, bool drain,
		    void (*work)(struct queue *, struct witems *),
		    void (*done)(struct queue *, struct witem *));
bool		 worker_post(struct worker *, struct witem *);
void		 worker_stop(struct worker *);
void		 worker_free(struct worker *);
struct syncpool	*sync_start(void);
void		 sync_all(struct syncpool *, const int *fds, int *errs,
		    size_t n);
void		 sync_stop(struct syncpool *);

/* queue_sync.c: which sync where */
/* queue_sync_resolve - start: sync_conf and the spool's sync_method,
 * logged with the filesystem that decided it */
void		 queue_sync_resolve(struct queue *);
/* queue_sync_syncfs - syncfs (true) or per-file syncs for the Maildir
 * behind fd */
bool		 queue_sync_syncfs(const struct queue *, int fd);

/* queue_remote.c: jobs for the deliver process and their results */
/* queue_remote_dispatch - send m's due remote recipients; *next: the
 * earliest later retry (see qplan_group) */
void		 queue_remote_dispatch(struct queue *, struct qmsg *,
		    time_t now, time_t *next);
/* queue_remote_result - an M_D_RESULT (-1: malformed) */
int		 queue_remote_result(struct queue *, struct msg *);
/* queue_remote_lost - the deliver channel closed: jobs back to pending */
void		 queue_remote_lost(struct queue *);
/* queue_remote_release - m is idle again: apply results held for it */
void		 queue_remote_release(struct queue *, struct qmsg *);
/* queue_remote_forget - m goes away: its jobs' results will be ignored */
void		 queue_remote_forget(struct queue *, struct qmsg *);

/* queue_bounce.c: DSNs injected as new messages */
/* queue_bounce_check - expiry, then a bounce or delay warning of m if
 * due; true if a DSN is on its way (m waits for it) */
bool		 queue_bounce_check(struct queue *, struct qmsg *, time_t now,
		    time_t *next);
/* queue_bounce_done - loop: a DSN commit is back */
void		 queue_bounce_done(struct queue *, struct commit *);

/* queue.c */
/* queue_maybe_exit - end the loop once stopped and idle */
void		 queue_maybe_exit(struct queue *);
/* queue_commit_build - a new message's envelope, tmp/<id>.env written */
int		 queue_commit_build(struct queue *, const char *id,
		    const char *from, uint32_t flags, const char *auth,
		    const char *client, const char **rcpts, size_t n,
		    uint64_t body_hash, struct envelope *env, struct err *);
/* queue_commit_done - loop: a commit is back from the commit thread */
void		 queue_commit_done(struct queue *, struct witem *);

/* queue_direct.c: direct delivery (the fast path) */
/* qdirect_free - close (a file still in tmp/ is removed) and free */
void		 qdirect_free(struct qdirect *);
/* queue_direct_open - M_Q_OPEN: a direct delivery and smtp's descriptor
 * of its file in *wfd, or NULL (not applicable or failed: spool it) */
struct qdirect	*queue_direct_open(struct queue *, const char *from,
		    const char **rcpts, uint32_t n, int *wfd);
/* queue_direct_check - M_Q_COMMIT: same envelope, prefix intact; the
 * body measured into d->size */
int		 queue_direct_check(struct qdirect *, const char *from,
		    const char **rcpts, uint32_t n, struct err *);
/* queue_direct_free - loop: forget one (a file left in tmp/ removed) */
void		 queue_direct_free(struct queue *, struct qdirect *);
/* queue_direct_clean - startup: stale files out of Maildir tmp/ */
void		 queue_direct_clean(struct queue *);
/* queue_direct_syncfs - commit thread, sync_method filesystem: syncfs of
 * each other filesystem holding a direct delivery of the batch (those
 * synced by syncfs) */
void		 queue_direct_syncfs(struct queue *, struct witems *);
/* queue_direct_sync_files - commit thread, sync_method filesystem:
 * fdatasync of each direct delivery synced per file */
void		 queue_direct_sync_files(struct queue *, struct witems *);
/* queue_direct_sync_new - commit thread: fsync of each new/ of a direct
 * delivery synced per file (every one under sync_method file), once per
 * directory */
void		 queue_direct_sync_new(struct witems *);

/* queue_ctl.c: the control socket (postern queue) */
void		 queue_ctl_start(struct queue *);
void		 queue_ctl_free(struct queue *);

#endif
