/*
 * queue_dkim.h - the DKIM decision and the signatures' preparation for a
 * new message (queue_dkim.c): which key signs it, the header fields we
 * add for an authenticated submitter, each signature's field up to b=
 * and the digest the signer signs; then the prefix the envelope keeps.
 */
#ifndef POSTERN_QUEUE_DKIM_H
#define POSTERN_QUEUE_DKIM_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "buf.h"
#include "err.h"

#define Q_DKIM_SIGS	LIM_DKIM_KEYS	/* one per key of the domain */

struct dkim_job;
struct event;
struct queue;

/* one signature in the making */
struct dkim_psig {
	char		 domain[LIM_DOMAIN + 1];
	char		 selector[LIM_SELECTOR + 1];
	struct buf	 field;		/* up to "b=", then whole */
	unsigned char	 digest[LIM_K_DIGEST];
	bool		 done;		/* b= is in */
};

/* a message's signatures and added fields (the signer's request unit) */
struct dkim_plan {
	char		 id[32];	/* the message's */
	struct buf	 added;		/* Message-ID:, Date: we add, or "" */
	struct dkim_psig sig[Q_DKIM_SIGS];
	size_t		 n;
	/* queue_signer.c's */
	void		(*done)(struct queue *, struct dkim_plan *, bool ok,
			    void *arg);
	void		*arg;
	struct queue	*q;
	size_t		 pending;	/* answers still out */
	bool		 started;	/* on q->signplans */
	struct event	*timer;
	TAILQ_ENTRY(dkim_plan) entry;
};

/*
 * queue_dkim_signer_domain - the local domain whose keys sign for addr
 * (the authenticated user, or the hostname for a DSN): the longest
 * suffix of its domain, itself included, on a label boundary, that is a
 * local domain with a key (or whose keys did not read); NULL if none
 */
const char	*queue_dkim_signer_domain(const struct queue *, const char *addr);

/*
 * queue_dkim_plan - for the message in fd (the stored body, from offset
 * 0) or, with fd -1, in msg[0..len): the Date and Message-ID fields it
 * lacks when add_fields (an authenticated submitter, RFC 6409 8.2, 8.3),
 * and one signature per key of domain (NULL: none), prepared over the
 * header as it will be delivered (added fields first).  Done in the
 * loop: for a message in memory (a DSN).  0 with pl filled (pl->n may be
 * 0), or -1 with e: temp on a read error, before the signer has said its
 * keys, or when the domain's keys did not read; permanent for a header
 * that cannot be signed (too long, a line that is no field): an
 * authenticated user's mail is never sent unsigned.
 */
int	queue_dkim_plan(struct queue *, const char *id, int fd,
	    const char *msg, size_t len, bool add_fields, const char *domain,
	    struct dkim_plan *pl, struct err *);
/*
 * queue_dkim_post - the same for a stored body (fd, which is taken and
 * closed), made by the DKIM thread, which reads and hashes the body off
 * the loop: the job is returned, and done(q, pl, e, arg) runs from the
 * loop with a new plan (the caller's to free), or pl NULL and e.  NULL:
 * no job; *now is the plan made at once when no thread runs (its end,
 * a test's queue), else NULL with e (the checks that need no reading,
 * or the plan made at once, failed).
 */
struct dkim_job	*queue_dkim_post(struct queue *, const char *id, int fd,
		    bool add_fields, const char *domain,
		    void (*done)(struct queue *, struct dkim_plan *,
		    const struct err *, void *arg), void *arg,
		    struct dkim_plan **now, struct err *);
/* queue_dkim_orphan - the job's producer is gone: done will not run */
void		 queue_dkim_orphan(struct queue *, struct dkim_job *);
/* queue_dkim_start, _stop, _free - the DKIM thread (queue.c) */
void	queue_dkim_start(struct queue *, void (*on_exit)(void *));
void	queue_dkim_stop(struct queue *);
void	queue_dkim_free(struct queue *);

/* queue_dkim_prefix - the finished signatures then the added fields */
char	*queue_dkim_prefix(const struct dkim_plan *);
/* queue_dkim_release - what the plan holds (not the plan) */
void	queue_dkim_release(struct dkim_plan *);

#endif
