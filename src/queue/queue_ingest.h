/*
 * queue_ingest.h - a new message's envelope from (from, rcpts, body)
 * (queue_ingest.c).
 */
#ifndef POSTERN_QUEUE_INGEST_H
#define POSTERN_QUEUE_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct alias_dests;
struct envelope;
struct err;
struct queue;

/* queue_ingest_expand - rcpts[0..n) expanded (aliases) into dests */
int	queue_ingest_expand(struct queue *, const char **rcpts, size_t n,
	    struct alias_dests *dests, struct err *);
/*
 * queue_ingest_rcpt - may smtp take addr, an SRS address of a local
 * domain (a bounce to mail we forwarded)?  True, or false with the reply
 * in reply: forged, altered, expired and malformed ones are refused here,
 * at RCPT, so that they are never bounced to anyone.
 */
bool	queue_ingest_rcpt(struct queue *, const char *addr, char *reply,
	    size_t replysz);
/* queue_ingest_direct - a direct delivery's envelope (memory only: for
 * the log lines; nothing is spooled) */
void	queue_ingest_direct(const char *id, const char *from, uint32_t flags,
	    const char *client, uint64_t size, struct envelope *env);

/* what a new message's envelope is built from */
struct ingest_in {
	const char	*id;
	const char	*from;		/* "" for <> */
	uint32_t	 flags;		/* QF_* */
	const char	*auth;		/* authenticated user, "" if none */
	const char	*client;
	const char	**rcpts;	/* as given, before aliases */
	size_t		 n;
	uint64_t	 body_hash;
	const char	*prefix;	/* header lines for the front of the
					   body (envelope.h), or NULL */
};

/* queue_ingest_build - a new message's envelope, tmp/<id>.env written */
int	queue_ingest_build(struct queue *, const struct ingest_in *,
	    struct envelope *env, struct err *);

#endif
