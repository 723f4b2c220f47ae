/*
 * queue_direct.h - direct delivery, the fast path (queue_direct.c): the
 * loop's side (its syncs are the commit thread's, queue_commit.c).
 */
#ifndef POSTERN_QUEUE_DIRECT_H
#define POSTERN_QUEUE_DIRECT_H

#include <stdint.h>

struct err;
struct qdirect;
struct queue;

/* queue_direct_open - M_Q_OPEN: a direct delivery and smtp's descriptor
 * of its file in *wfd, or NULL (not applicable or failed: spool it) */
struct qdirect	*queue_direct_open(struct queue *, const char *from,
		    const char **rcpts, uint32_t n, int *wfd);
/* queue_direct_check - M_Q_COMMIT: prefix intact; the body measured
 * into d->size */
int		 queue_direct_check(struct qdirect *, struct err *);
/* queue_direct_free - loop: forget one (a file left in tmp/ removed) */
void		 queue_direct_free(struct queue *, struct qdirect *);
/* queue_direct_clean - startup: stale files out of Maildir tmp/ */
void		 queue_direct_clean(struct queue *);

#endif
