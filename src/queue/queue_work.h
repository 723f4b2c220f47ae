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
#include "queue/queue_state.h"
#include "queue/spool.h"

struct msg;
struct rres;
struct txn;

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

/* queue_work_start - start both threads; commit_done answers a commit */
void		 queue_work_start(struct queue *,
		    void (*commit_done)(struct queue *, struct witem *));
/* queue_work_stop - commit thread: finish its batches; delivery: its job */
void		 queue_work_stop(struct queue *);
/* queue_work_commit - into the next batch; false if the thread has ended */
bool		 queue_work_commit(struct queue *, struct commit *);
/* queue_work_deliver - a Maildir job for m (see queue_work.c) */
bool		 queue_work_deliver(struct queue *, struct qmsg *,
		    const size_t *ri, char **maildirs, size_t n);
/* queue_work_free - after both threads ended: jobs, messages, threads */
void		 queue_work_free(struct queue *);

#define Q_JOB_TARGETS	8	/* recipients per delivery job */

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
 * each other filesystem holding a direct delivery of the batch */
void		 queue_direct_syncfs(struct queue *, struct witems *);
/* queue_direct_sync_new - commit thread, sync_method file: fsync of each
 * direct delivery's new/ once per directory */
void		 queue_direct_sync_new(struct witems *);

/* queue_ctl.c: the control socket (postern queue) */
void		 queue_ctl_start(struct queue *);
void		 queue_ctl_free(struct queue *);

#endif
