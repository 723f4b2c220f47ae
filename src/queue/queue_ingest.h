/*
 * queue_ingest.h - a new message's envelope from (from, rcpts, body)
 * (queue_ingest.c).
 */
#ifndef POSTERN_QUEUE_INGEST_H
#define POSTERN_QUEUE_INGEST_H

#include <stddef.h>
#include <stdint.h>

struct alias_dests;
struct envelope;
struct err;
struct queue;

/* queue_ingest_expand - rcpts[0..n) expanded (aliases) into dests */
int	queue_ingest_expand(struct queue *, const char **rcpts, size_t n,
	    struct alias_dests *dests, struct err *);
/* queue_ingest_direct - a direct delivery's envelope (memory only: for
 * the log lines; nothing is spooled) */
void	queue_ingest_direct(const char *id, const char *from, uint32_t flags,
	    const char *client, uint64_t size, struct envelope *env);

/* queue_ingest_build - a new message's envelope, tmp/<id>.env written */
int	queue_ingest_build(struct queue *, const char *id, const char *from,
	    uint32_t flags, const char *auth, const char *client,
	    const char **rcpts, size_t n, uint64_t body_hash,
	    struct envelope *env, struct err *);

#endif
