/*
 * queue_local.h - the Maildir delivery thread (queue_local.c): local
 * recipients delivered, and every envelope rewrite or removal.
 */
#ifndef POSTERN_QUEUE_LOCAL_H
#define POSTERN_QUEUE_LOCAL_H

#include <stdbool.h>
#include <stddef.h>

struct qmsg;
struct queue;

#define Q_JOB_TARGETS	8	/* recipients per delivery job */

/* queue_local_start - the thread (after queue_commit_start: it uses the
 * syncs set up there); on_exit runs once it is joined */
void	queue_local_start(struct queue *, void (*on_exit)(void *));
/* queue_local_post - a job for m: local recipients ri[0..n) (maildirs
 * taken over), or with n == 0 only its envelope rewritten or removed.  m
 * is busy until the scheduler takes it back (m->back); false (m not
 * busy) if the thread has ended */
bool	queue_local_post(struct queue *, struct qmsg *, const size_t *ri,
	    char **maildirs, size_t n);
/* queue_local_stop - end after the current batch */
void	queue_local_stop(struct queue *);
/* queue_local_free - once joined: jobs never started, the thread */
void	queue_local_free(struct queue *);

#endif
