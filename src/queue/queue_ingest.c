/*
 * queue_ingest.c - a new message's envelope (queue_ingest.h), whoever
 * wrote its body (smtp, or the queue for a DSN): the recipients expanded
 * (alias.c), the body measured, its hash kept, the client text bounded
 * and made printable; tmp/<id>.env written, not yet synced (the commit
 * thread does that).  Alias expansion is done here only, for a spooled
 * message and for a direct delivery's open (queue_direct.c).  Loop only.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "buf.h"
#include "conf.h"
#include "err.h"
#include "strutil.h"
#include "xmalloc.h"
#include "alias.h"
#include "queue/envelope.h"
#include "queue/queue_ingest.h"
#include "queue/queue_state.h"
#include "queue/spool.h"

/* queue_ingest_expand - each recipient through the aliases, in order */
int
queue_ingest_expand(struct queue *q, const char **rcpts, size_t n,
    struct alias_dests *dests, struct err *e)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (alias_expand(q->conf, rcpts[i], dests, Q_MAX_DESTS, e) ==
		    -1)
			return -1;
	return 0;
}

/* queue_ingest_direct - the fields a direct delivery's log lines use */
void
queue_ingest_direct(const char *id, const char *from, uint32_t flags,
    const char *client, uint64_t size, struct envelope *env)
{
	memset(env, 0, sizeof(*env));
	(void)str_copy(env->id, id, sizeof(env->id));
	env->created = time(NULL);
	env->from = xstrdup(from);
	env->client = xstrndup(client, Q_CLIENT_MAX);
	str_sanitize(env->client);
	env->flags = flags;
	env->size = size;
}

/*
 * queue_ingest_build - the envelope of a commit: recipients expanded, the
 * body measured, its hash kept (from whoever wrote it); tmp/<id>.env
 * written.  -1 with e (temp or not) on failure.
 */
int
queue_ingest_build(struct queue *q, const struct ingest_in *in,
    struct envelope *env, struct err *e)
{
	struct alias_dests	 dests;
	struct buf		 b;
	size_t			 i;
	int			 rc = -1;

	memset(env, 0, sizeof(*env));
	memset(&dests, 0, sizeof(dests));
	buf_init(&b, Q_ENV_CAP);
	if (spool_tmp_body_size(&q->sp, in->id, &env->size, e) == -1)
		goto out;
	(void)str_copy(env->id, in->id, sizeof(env->id));
	env->created = time(NULL);
	env->from = xstrdup(in->from);
	env->auth_user = in->auth[0] != '\0' ? xstrdup(in->auth) : NULL;
	env->client = xstrndup(in->client, Q_CLIENT_MAX);
	str_sanitize(env->client);
	env->flags = in->flags;
	env->body_hash = in->body_hash;
	env->has_body_hash = true;
	if (in->prefix != NULL && in->prefix[0] != '\0') {
		if (!envelope_prefix_ok(in->prefix, strlen(in->prefix))) {
			err_set(e, false, 0, "bad header lines for the message");
			goto out;
		}
		env->prefix = xstrdup(in->prefix);
	}
	if (queue_ingest_expand(q, in->rcpts, in->n, &dests, e) == -1)
		goto out;
	for (i = 0; i < dests.n; i++) {
		envelope_add_rcpt(env, dests.v[i].addr, dests.v[i].orig);
		if (dests.v[i].via != NULL)
			env->rcpts[env->nrcpts - 1].via =
			    xstrdup(dests.v[i].via);
		if (dests.v[i].kind == AK_FAILED) {
			env->rcpts[env->nrcpts - 1].state = RCPT_FAILED;
			env->rcpts[env->nrcpts - 1].last_error =
			    xstrdup(dests.v[i].error);
		}
	}
	if (envelope_dump(env, &b) == -1) {
		err_set(e, false, 0, "envelope cannot be written");
		goto out;
	}
	if (spool_write_env(&q->sp, in->id, &b, e) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		envelope_free(env);
	alias_dests_free(&dests);
	buf_release(&b);
	return rc;
}
