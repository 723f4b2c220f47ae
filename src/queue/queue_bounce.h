/*
 * queue_bounce.h - expiry, bounces and delay warnings, injected as new
 * messages (queue_bounce.c).
 */
#ifndef POSTERN_QUEUE_BOUNCE_H
#define POSTERN_QUEUE_BOUNCE_H

#include <stdbool.h>
#include <time.h>

struct qmsg;
struct queue;

/* queue_bounce_check - expiry, then a bounce or delay warning of m if
 * due; true if a DSN is on its way (m waits for it) */
bool	queue_bounce_check(struct queue *, struct qmsg *, time_t now,
	    time_t *next);

#endif
