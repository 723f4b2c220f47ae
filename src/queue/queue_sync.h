/*
 * queue_sync.h - which sync the queue uses where (queue_sync.c): the
 * spool's sync_method resolved once at start from the configuration and
 * the filesystem (fsinfo.h), and the same question per Maildir.
 */
#ifndef POSTERN_QUEUE_SYNC_H
#define POSTERN_QUEUE_SYNC_H

#include <stdbool.h>

struct queue;

/* queue_sync_resolve - start: q->sync_conf and the spool's q->sync_method
 * (FILE or FILESYSTEM), logged with the filesystem that decided it */
void	queue_sync_resolve(struct queue *);
/* queue_sync_syncfs - syncfs (true) or per-file syncs (false) for the
 * Maildir behind fd; reads only what queue_sync_resolve fixed */
bool	queue_sync_syncfs(const struct queue *, int fd);

#endif
