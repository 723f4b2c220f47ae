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
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "buf.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "srs.h"
#include "strutil.h"
#include "xmalloc.h"
#include "alias.h"
#include "mauth/authres.h"
#include "msgtypes.h"
#include "queue/envelope.h"
#include "queue/queue_ingest.h"
#include "queue/queue_state.h"
#include "queue/spool.h"

/* queue_ingest_expand - each recipient through the aliases, in order */
int
queue_ingest_expand(struct queue *q, const char **rcpts, size_t n,
    struct alias_dests *dests, struct err *e)
{
	struct alias_opts	o = { .srs = &q->srs, .now = queue_state_now(q) };
	size_t			i;

	for (i = 0; i < n; i++)
		if (alias_expand(q->conf, &o, rcpts[i], dests, Q_MAX_DESTS,
		    e) == -1)
			return -1;
	return 0;
}

/*
 * ingest_srs - the envelope sender of recipient r, forwarded by the alias
 * r->via to another domain: the sender rewritten with SRS under the
 * alias's domain, so that the next hop's SPF check sees our domain.  Not
 * for the null sender (it stays null), nor for our own users' mail (their
 * address is ours already), nor without a secret; a sender that cannot
 * be rewritten is kept, and logged.
 */
static void
ingest_srs(struct queue *q, struct envelope *env, struct env_rcpt *r)
{
	const char	*dom;
	char		 out[LIM_PATH + 1];
	struct err	 e;

	if (r->via == NULL || env->from[0] == '\0' || env->auth_user != NULL ||
	    q->srs.n == 0 || r->addr[0] == '|')
		return;
	if ((dom = strrchr(r->via, '@')) == NULL)
		return;
	if (srs_forward(&q->srs, env->from, dom + 1, queue_state_now(q), out,
	    sizeof(out), &e) != SRS_OK) {
		log_warnx("msgid=%s from=<%s> via=<%s> sender kept: %s",
		    env->id, env->from, r->via, e.msg);
		return;
	}
	if (strcmp(out, env->from) != 0)
		r->sender = xstrdup(out);
}

/* queue_ingest_rcpt - an SRS recipient verified, or the refusal */
bool
queue_ingest_rcpt(struct queue *q, const char *addr, char *reply,
    size_t replysz)
{
	const struct domain	*d;
	const char		*at = strrchr(addr, '@');
	char			 local[LIM_LOCAL_PART + 1], out[LIM_PATH + 1];
	struct err		 e;
	int			 r;

	d = at != NULL ? conf_domain(q->conf, at + 1) : NULL;
	if (d == NULL || (size_t)(at - addr) >= sizeof(local)) {
		(void)snprintf(reply, replysz, "550 5.1.1 <%s>: Recipient "
		    "address rejected: User unknown", addr);
		return false;
	}
	memcpy(local, addr, (size_t)(at - addr));
	local[at - addr] = '\0';
	if (q->srs.n == 0 || !srs_is_srs(local)) {
		/* no SRS here: an address like any other */
		str_lower(local);
		if (domain_accepts(d, local))
			return true;
		(void)snprintf(reply, replysz, "550 5.1.1 <%s>: Recipient "
		    "address rejected: User unknown", addr);
		return false;
	}
	if ((r = srs_reverse(&q->srs, addr, queue_state_now(q), out,
	    sizeof(out), &e)) == SRS_OK)
		return true;
	log_info("rcpt=<%s> refused: %s", addr, e.msg);
	(void)snprintf(reply, replysz, "550 5.1.1 <%s>: Recipient address "
	    "rejected: %s", addr, r == SRS_EXPIRED ? "bounce address expired "
	    "(SRS, older than the days it is valid)" : r == SRS_BADHASH ?
	    "bounce address not issued here (SRS hash does not match)" :
	    "malformed bounce address (SRS)");
	return false;
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
		if (authres_forged(env->prefix))
			env->flags |= QF_NODSN;
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
		} else if (dests.v[i].kind == AK_REMOTE)
			ingest_srs(q, env, &env->rcpts[env->nrcpts - 1]);
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
