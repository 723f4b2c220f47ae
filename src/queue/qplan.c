/*
 * qplan.c - pure decisions about a message's recipients (qplan.h): job
 * grouping by domain, result application, expiry, delay warnings.
 *
 * A recipient in flight (job != 0) is never grouped again, expired or
 * flushed: only its result changes it.  The retry delay is sched.h's.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "msgtypes.h"
#include "xmalloc.h"
#include "queue/qplan.h"
#include "queue/sched.h"

/* qplan_domain - the domain of addr, or NULL (a pipe target has none) */
const char *
qplan_domain(const char *addr)
{
	const char	*at = addr[0] != '|' ? strrchr(addr, '@') : NULL;

	return at != NULL && at[1] != '\0' ? at + 1 : NULL;
}

/* waiting - a remote recipient pending and not in flight */
static bool
waiting(const struct env_rcpt *r, qplan_remote_fn remote, void *arg)
{
	return r->state == RCPT_PENDING && r->job == 0 &&
	    qplan_domain(r->addr) != NULL && remote(r->addr, arg);
}

/* qplan_sender - the envelope sender r goes out with */
const char *
qplan_sender(const struct envelope *env, const struct env_rcpt *r)
{
	return r->sender != NULL ? r->sender : env->from;
}

/*
 * qplan_group - the next job's recipients: one domain and one envelope
 * sender, due, at most max
 */
bool
qplan_group(const struct envelope *env, time_t now, qplan_remote_fn remote,
    void *arg, size_t max, size_t *ri, size_t *n, time_t *next)
{
	const struct env_rcpt	*r;
	const char		*dom = NULL, *from = NULL;
	size_t			 i;

	*n = 0;
	for (i = 0; i < env->nrcpts; i++) {
		r = &env->rcpts[i];
		if (!waiting(r, remote, arg))
			continue;
		if (r->next_try > now) {
			if (next != NULL && (*next == 0 || r->next_try < *next))
				*next = r->next_try;
			continue;
		}
		if (*n >= max)
			continue;
		if (dom == NULL) {
			dom = qplan_domain(r->addr);
			from = qplan_sender(env, r);
		} else if (strcasecmp(dom, qplan_domain(r->addr)) != 0 ||
		    strcmp(from, qplan_sender(env, r)) != 0)
			continue;
		ri[(*n)++] = i;
	}
	return *n > 0;
}

/* qplan_apply - one result for recipient ri */
enum qplan_outcome
qplan_apply(struct envelope *env, size_t ri, uint32_t dr, const char *reply,
    const char *remote, time_t now, const struct qplan_conf *c)
{
	struct env_rcpt	*r = &env->rcpts[ri];
	char		*s;

	r->job = 0;
	free(r->remote);
	r->remote = remote != NULL && remote[0] != '\0' ? xstrdup(remote) :
	    NULL;
	free(r->last_error);
	r->last_error = NULL;
	if (dr == DR_OK) {
		r->state = RCPT_DONE;
		free(r->reply);
		r->reply = reply != NULL && reply[0] != '\0' ? xstrdup(reply) :
		    NULL;
		return QP_DONE;
	}
	r->attempts++;
	if (reply == NULL || reply[0] == '\0')
		reply = dr == DR_PERM ? "5.0.0 delivery failed" :
		    "4.0.0 delivery failed";
	if (dr != DR_TEMP) {
		r->state = RCPT_FAILED;
		r->last_error = xstrdup(reply);
		return QP_FAILED;
	}
	if (sched_expired(env->created, now, c->lifetime)) {
		r->state = RCPT_FAILED;
		xasprintf(&s, "%s (last error: %s)", QPLAN_EXPIRED, reply);
		r->last_error = s;
		return QP_EXPIRED;
	}
	r->last_error = xstrdup(reply);
	r->next_try = sched_next_try(now, r->attempts, c->retry_min,
	    c->retry_max);
	return QP_DEFERRED;
}

/* qplan_expire - pending recipients past lifetime fail */
size_t
qplan_expire(struct envelope *env, time_t now, unsigned lifetime)
{
	struct env_rcpt	*r;
	size_t		 i, n = 0;
	char		*s;

	if (!sched_expired(env->created, now, lifetime))
		return 0;
	for (i = 0; i < env->nrcpts; i++) {
		r = &env->rcpts[i];
		if (r->state != RCPT_PENDING || r->job != 0)
			continue;
		r->state = RCPT_FAILED;
		if (r->last_error != NULL) {
			xasprintf(&s, "%s (last error: %s)", QPLAN_EXPIRED,
			    r->last_error);
			free(r->last_error);
			r->last_error = s;
		} else
			r->last_error = xstrdup(QPLAN_EXPIRED);
		n++;
	}
	return n;
}

/* qplan_warn_due - delay warning on, not sent, a remote rcpt pending */
bool
qplan_warn_due(const struct envelope *env, time_t now,
    unsigned delay_warning, qplan_remote_fn remote, void *arg)
{
	const struct env_rcpt	*r;
	size_t			 i;

	if (delay_warning == 0 || env->warned != 0 ||
	    !sched_expired(env->created, now, delay_warning))
		return false;
	for (i = 0; i < env->nrcpts; i++) {
		r = &env->rcpts[i];
		if (r->state == RCPT_PENDING && remote(r->addr, arg))
			return true;
	}
	return false;
}

/* qplan_count - recipients in state st */
size_t
qplan_count(const struct envelope *env, enum rcpt_state st, bool in_flight)
{
	size_t	i, n = 0;

	for (i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i].state == st &&
		    (!in_flight || env->rcpts[i].job != 0))
			n++;
	return n;
}

/* qplan_finished - every recipient done or bounced */
bool
qplan_finished(const struct envelope *env)
{
	return qplan_count(env, RCPT_PENDING, false) == 0 &&
	    qplan_count(env, RCPT_FAILED, false) == 0;
}
