/*
 * tqueue.h - helpers for the unit tests that drive the queue's loop side
 * without its threads (test_queue_peer, test_queue_sched).  Header-only
 * (static inline); include after queue/queue_commit.h and queue_state.h.
 */
#ifndef POSTERN_TQUEUE_H
#define POSTERN_TQUEUE_H

#include <sys/queue.h>

/*
 * tqueue_drop_commits - the commits left on the (never started) commit
 * thread's input fail, each through its own done callback
 */
static inline void
tqueue_drop_commits(struct queue *q)
{
	struct witem	*it;
	struct commit	*c;

	while ((it = TAILQ_FIRST(&q->cw.in)) != NULL) {
		TAILQ_REMOVE(&q->cw.in, it, entry);
		c = (struct commit *)(void *)it;
		c->rc = -1;
		c->done(q, c);
	}
}

#endif
