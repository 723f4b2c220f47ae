/*
 * qplan.h - the pure decisions of the queue about one message's
 * recipients (no I/O, no clock, no globals): which remote recipients go
 * together in a deliver job, what a result does to a recipient, when a
 * recipient expires, when a delay warning is due, when a message is
 * finished.  Used by queue_remote.c and queue_bounce.c; unit-tested.
 */
#ifndef POSTERN_QPLAN_H
#define POSTERN_QPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "queue/envelope.h"

#define QPLAN_EXPIRED	"4.4.7 message expired"

/* is this recipient address remote (handed to the deliver process)? */
typedef bool	(*qplan_remote_fn)(const char *addr, void *arg);

struct qplan_conf {
	unsigned	retry_min;
	unsigned	retry_max;
	unsigned	lifetime;	/* queue_lifetime */
	unsigned	delay_warning;	/* 0: never */
};

/* what qplan_apply did to the recipient */
enum qplan_outcome {
	QP_DONE,
	QP_DEFERRED,
	QP_FAILED,		/* permanent error from the remote side */
	QP_EXPIRED,		/* temporary error, but queue_lifetime passed */
};

/* qplan_domain - the domain of addr (after its last '@'), or NULL */
const char	*qplan_domain(const char *addr);
/* qplan_sender - the envelope sender of r: its own (SRS), else env's */
const char	*qplan_sender(const struct envelope *, const struct env_rcpt *);
/*
 * qplan_group - the next deliver job of env: the first due remote
 * recipient that is pending and not in flight, and every other such one
 * of the same domain (ASCII case-insensitive) and the same envelope
 * sender (qplan_sender), at most max; their indices
 * in ri[], their count in *n.  Returns false when there is none.
 * *next (if not NULL) becomes the earliest next_try in the future of a
 * remote recipient waiting, or stays as it was if that is earlier (0:
 * none).
 */
bool		 qplan_group(const struct envelope *env, time_t now,
		    qplan_remote_fn, void *arg, size_t max, size_t *ri,
		    size_t *n, time_t *next);
/*
 * qplan_apply - one M_D_RESULT entry (dr: DR_*) for recipient ri: done;
 * deferred (attempts + 1, next_try per sched.h, last_error = reply); or
 * failed (a bounce is due) for DR_PERM or for DR_TEMP past lifetime.
 * Clears the recipient's job; remote ("" for none) is kept in memory.
 */
enum qplan_outcome qplan_apply(struct envelope *env, size_t ri, uint32_t dr,
		    const char *reply, const char *remote, time_t now,
		    const struct qplan_conf *);
/*
 * qplan_expire - every pending recipient not in flight fails with
 * QPLAN_EXPIRED once lifetime has passed since env->created; returns how
 * many did
 */
size_t		 qplan_expire(struct envelope *env, time_t now,
		    unsigned lifetime);
/* qplan_warn_due - is the delay warning of env due now? */
bool		 qplan_warn_due(const struct envelope *env, time_t now,
		    unsigned delay_warning, qplan_remote_fn, void *arg);
/* qplan_count - recipients in state st (in_flight: only those in flight) */
size_t		 qplan_count(const struct envelope *env, enum rcpt_state st,
		    bool in_flight);
/* qplan_finished - no recipient pending, none failed without bounce */
bool		 qplan_finished(const struct envelope *env);

#endif
