/*
 * queue_pipe.h - pipe aliases: the message to a command's standard input
 * (queue_pipe.c).
 */
#ifndef POSTERN_QUEUE_PIPE_H
#define POSTERN_QUEUE_PIPE_H

#include <time.h>

struct qmsg;
struct queue;

/* queue_pipe_start - the pipe thread (on_exit: once it is joined) */
void	queue_pipe_start(struct queue *, void (*on_exit)(void *));
/* queue_pipe_dispatch - m's due pipe recipients to the thread; *next
 * becomes the earliest retry of one waiting, if earlier */
void	queue_pipe_dispatch(struct queue *, struct qmsg *, time_t now,
	    time_t *next);
/* queue_pipe_release - m is back from the Maildir thread: results held
 * for it applied */
void	queue_pipe_release(struct queue *, struct qmsg *);
/* queue_pipe_forget - m goes away */
void	queue_pipe_forget(struct queue *, struct qmsg *);
/* queue_pipe_stop - kill the commands running; the thread ends */
void	queue_pipe_stop(struct queue *);
/* queue_pipe_free - after the thread is joined */
void	queue_pipe_free(struct queue *);

#endif
