/*
 * spool.h - the on-disk queue (STYLE.md pattern D).
 *
 *   DATA/queue/tmp/<id>.body  <id>.env   being written
 *   DATA/queue/body/<id>                 message bytes, never modified
 *   DATA/queue/env/<id>                  envelope; its presence = accepted
 *   DATA/queue/corrupt/                  envelopes that failed to parse
 *   DATA/queue/free/                     files kept for reuse (spool.c)
 *
 * Body first, envelope last; every publish is file fdatasync, rename,
 * directory fsync, or for a batch under sync_method filesystem: syncfs,
 * renames, syncfs.  Recovery empties tmp/ and removes bodies without
 * envelope.  Every function is thread-safe (docs/QUEUE-FORMAT.md).
 */
#ifndef POSTERN_SPOOL_H
#define POSTERN_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct buf;

#define SPOOL_ID_LEN	20	/* hex characters */

struct spool_pool;

struct spool {
	int			 root_dfd;
	int			 tmp_dfd;
	int			 body_dfd;
	int			 env_dfd;
	int			 corrupt_dfd;
	int			 free_dfd;
	struct spool_pool	*pool;		/* names in free/ (private) */
};

/* spool_open - create (mode 0700) and open the directories under dir */
int	spool_open(struct spool *, const char *dir, struct err *);
void	spool_close(struct spool *);
/*
 * spool_sync_fd - a new descriptor of the spool's root, for spool_syncfs:
 * one per thread (a writeback error is reported once per open file)
 */
int	spool_sync_fd(struct spool *, struct err *);
/* spool_syncfs - syncfs(2) of fd's filesystem, its error checked */
int	spool_syncfs(int fd, struct err *);
/* spool_syncfs_pool - the same for the spool's own filesystem: files
 * renamed into free/ before the call are reusable after it */
int	spool_syncfs_pool(struct spool *, int fd, struct err *);
/* spool_new_id - a fresh id with no file (a direct delivery) */
void	spool_new_id(char id[SPOOL_ID_LEN + 1]);
/* spool_new_body - a fresh id and tmp/<id>.body open O_RDWR|O_EXCL */
int	spool_new_body(struct spool *, char id[SPOOL_ID_LEN + 1], int *fd,
	    struct err *);
/* spool_create_body - the same, accmode O_RDWR or O_WRONLY */
int	spool_create_body(struct spool *, char id[SPOOL_ID_LEN + 1],
	    int accmode, int *fd, struct err *);
/* spool_tmp_body_size - the size of tmp/<id>.body, by name */
int	spool_tmp_body_size(struct spool *, const char *id, uint64_t *size,
	    struct err *);
/*
 * spool_open_tmp_body - open tmp/<id>.body again, accmode O_RDONLY (to
 * measure it at commit) or O_WRONLY (the fd handed to smtp); fd or -1
 */
int	spool_open_tmp_body(struct spool *, const char *id, int accmode,
	    struct err *);
/* spool_write_env - write tmp/<id>.env (not yet synced) */
int	spool_write_env(struct spool *, const char *id, const struct buf *,
	    struct err *);
/* spool_sync_files - fdatasync tmp/<id>.body and tmp/<id>.env */
int	spool_sync_files(struct spool *, const char *id, struct err *);
/*
 * spool_sync_begin - the split form of spool_sync_files for a batch: open
 * tmp/<id>.body and tmp/<id>.env into fds[0], fds[1] and start their
 * writeback (sync_file_range); the caller then fdatasyncs both (from any
 * thread, concurrently with other messages') and closes them
 */
int	spool_sync_begin(struct spool *, const char *id, int fds[2],
	    struct err *);
/* spool_publish - rename body then envelope into place */
int	spool_publish(struct spool *, const char *id, struct err *);
/* spool_sync_dirs - fsync body/ and env/ once per batch */
int	spool_sync_dirs(struct spool *, struct err *);
/* spool_update_env - durably replace env/<id> (tmp, fsync, rename, fsync) */
int	spool_update_env(struct spool *, const char *id, const struct buf *,
	    struct err *);
/* spool_remove - remove env/<id> then body/<id>, durable */
int	spool_remove(struct spool *, const char *id, struct err *);
/*
 * The same two in steps, so a batch shares one directory sync:
 * spool_stage_update() (file synced, renamed over env/<id>) and
 * spool_unpublish() (env/<id> unlinked) for each message, then one
 * spool_sync_dirs(), then spool_drop_body() for each one unpublished.
 */
int	spool_stage_update(struct spool *, const char *id, const struct buf *,
	    struct err *);
int	spool_unpublish(struct spool *, const char *id, struct err *);
void	spool_drop_body(struct spool *, const char *id);
/*
 * spool_stage_update in steps, for sync_method filesystem:
 * spool_write_update() writes tmp/<id>.upd unsynced; after the caller's
 * spool_syncfs(), spool_swap_update() renames it over env/<id> (or
 * spool_drop_update() removes it).
 */
int	spool_write_update(struct spool *, const char *id, const struct buf *,
	    struct err *);
int	spool_swap_update(struct spool *, const char *id, struct err *);
void	spool_drop_update(struct spool *, const char *id);
/* spool_discard - remove tmp/<id>.* (aborted transaction) */
void	spool_discard(struct spool *, const char *id);
/* spool_open_body - open body/<id> read-only */
int	spool_open_body(struct spool *, const char *id, struct err *);
/* spool_read_env - read env/<id> into out */
int	spool_read_env(struct spool *, const char *id, struct buf *out,
	    struct err *);
/*
 * spool_recover - clean tmp/, drop orphan bodies, and call cb for each
 * envelope id (in no particular order)
 */
int	spool_recover(struct spool *, void (*cb)(const char *id, void *),
	    void *arg, struct err *);
/* spool_quarantine - move env/<id> to corrupt/ */
int	spool_quarantine(struct spool *, const char *id, struct err *);

#endif
