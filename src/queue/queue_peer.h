/*
 * queue_peer.h - the smtp workers' channels (queue_peer.c).
 */
#ifndef POSTERN_QUEUE_PEER_H
#define POSTERN_QUEUE_PEER_H

struct queue;

/* queue_peer_new - a channel to a new smtp worker (M_Q_PEER's fd) */
void	queue_peer_new(struct queue *, int fd);
/* queue_peer_free_all - close every smtp worker's channel */
void	queue_peer_free_all(struct queue *);

#endif
