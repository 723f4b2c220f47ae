/*
 * queue_signer.h - the queue's side of the signer's channel
 * (queue_signer.c): the names of the keys it holds, and signing a
 * message's prepared signatures (queue_dkim.h).
 */
#ifndef POSTERN_QUEUE_SIGNER_H
#define POSTERN_QUEUE_SIGNER_H

#include <stdbool.h>

#include "queue/queue_dkim.h"

#define Q_SIGN_TIMEOUT	10	/* seconds for the signer's answers */

struct queue;

/* queue_signer_attach - fd is the signer's new channel (M_Q_SIGNER) */
void	queue_signer_attach(struct queue *, int fd);
/*
 * queue_signer_start - ask for every signature of pl (pl->n > 0);
 * done(q, pl, ok, arg) runs once, from the loop: ok with every b= in,
 * false if the signer refused one, went away or did not answer within
 * Q_SIGN_TIMEOUT.  pl must stay until then or queue_signer_cancel.
 */
void	queue_signer_start(struct queue *, struct dkim_plan *pl,
	    void (*done)(struct queue *, struct dkim_plan *, bool ok,
	    void *arg), void *arg);
/* queue_signer_cancel - done will not run; pl may be freed at once */
void	queue_signer_cancel(struct queue *, struct dkim_plan *pl);
/* queue_signer_free - at the end: the channel, the keys, every request */
void	queue_signer_free(struct queue *);

#endif
