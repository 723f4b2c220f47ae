/*
 * queue_sched.h - what a message does next (queue_sched.c): the one
 * decision, run for each touched message, and the admin actions on one.
 */
#ifndef POSTERN_QUEUE_SCHED_H
#define POSTERN_QUEUE_SCHED_H

struct err;
struct qmsg;
struct queue;

/* queue_sched_run - take m back from the Maildir thread if it is back,
 * then expiry and DSNs, remote jobs, local deliveries, an envelope
 * rewrite or removal, or its timer (registered by queue.c with
 * queue_state_init) */
void	queue_sched_run(struct queue *, struct qmsg *);
/* queue_sched_flush - admin: retry m's pending recipients now */
void	queue_sched_flush(struct queue *, struct qmsg *);
/* queue_sched_remove - admin: remove m (1: deferred until its delivery
 * job is back; 0: removed; -1: failed, e set) */
int	queue_sched_remove(struct queue *, struct qmsg *, struct err *);

#endif
