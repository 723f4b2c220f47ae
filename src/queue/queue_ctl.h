/*
 * queue_ctl.h - the queue's control socket, for "postern queue"
 * (queue_ctl.c).
 */
#ifndef POSTERN_QUEUE_CTL_H
#define POSTERN_QUEUE_CTL_H

struct queue;

/* queue_ctl_start - the socket, answered once the loop runs */
void	queue_ctl_start(struct queue *);
/* queue_ctl_free - close it and every connection */
void	queue_ctl_free(struct queue *);

#endif
