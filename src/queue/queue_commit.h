/*
 * queue_commit.h - the commit thread (queue_commit.c): what it takes (a
 * commit: a spooled message, or a direct delivery's Maildir file) and
 * how it is started and stopped.
 */
#ifndef POSTERN_QUEUE_COMMIT_H
#define POSTERN_QUEUE_COMMIT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "worker.h"
#include "local/maildir.h"
#include "queue/envelope.h"
#include "queue/spool.h"

struct commit;
struct queue;

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

/*
 * one new message on its way through the commit thread: from smtp
 * (queue_peer.c) or a DSN (queue_bounce.c).  Its producer sets done,
 * which the loop calls once the batch is back (it owns c then), and arg.
 */
struct commit {
	struct witem		 w;
	void			(*done)(struct queue *, struct commit *);
	void			*arg;		/* the producer's */
	char			 id[SPOOL_ID_LEN + 1];
	struct envelope		 env;		/* loop only; unused if d */
	struct qdirect		*d;		/* a direct delivery, or NULL */
	int			 rc;		/* the thread's result */
	struct err		 err;
	uint64_t		 wseq;		/* its writer's number */
};

/* queue_commit_start - the syncs of both threads (sync_method, resolved
 * here by queue_sync_resolve), then the commit thread; on_exit runs once
 * it is joined */
void	queue_commit_start(struct queue *, void (*on_exit)(void *));
/* queue_commit_post - into the next batch; false if the thread has ended */
bool	queue_commit_post(struct queue *, struct commit *);
/* queue_commit_stop - finish the batches in hand, then end */
void	queue_commit_stop(struct queue *);
/* queue_commit_free - once joined: the thread, both threads' syncs */
void	queue_commit_free(struct queue *);

#endif
