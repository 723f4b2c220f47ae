/*
 * queue_remote.h - jobs for the deliver process and their results
 * (queue_remote.c).
 */
#ifndef POSTERN_QUEUE_REMOTE_H
#define POSTERN_QUEUE_REMOTE_H

#include <time.h>

struct msg;
struct qmsg;
struct queue;

/* queue_remote_dispatch - send m's due remote recipients; *next: the
 * earliest later retry (see qplan_group) */
void	queue_remote_dispatch(struct queue *, struct qmsg *, time_t now,
	    time_t *next);
/* queue_remote_result - an M_D_RESULT (-1: malformed) */
int	queue_remote_result(struct queue *, struct msg *);
/* queue_remote_lost - the deliver channel closed: jobs back to pending */
void	queue_remote_lost(struct queue *);
/* queue_remote_release - m is idle again: apply results held for it */
void	queue_remote_release(struct queue *, struct qmsg *);
/* queue_remote_forget - m goes away: its jobs' results will be ignored */
void	queue_remote_forget(struct queue *, struct qmsg *);

#endif
