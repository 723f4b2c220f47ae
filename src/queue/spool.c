/*
 * spool.c - the on-disk queue (STYLE.md pattern D, docs/QUEUE-FORMAT.md).
 *
 * Runs in the queue process, from its event loop and from its worker
 * threads: every function is thread-safe because it only uses the
 * directory fds opened once by spool_open() and its own locals.  Every
 * path is relative to one of those fds (openat/renameat/unlinkat); a name
 * is always a queue id checked by spool_id_ok(), so nothing outside the
 * spool can be named.
 *
 * Durability: a message is accepted when env/<id> exists.  The body is
 * published before the envelope, each after an fdatasync of the file, and
 * the renames are made durable by one fsync of body/ and env/ per batch
 * (sync_method file); or the batch's files are all made durable by one
 * syncfs(2) before the renames and the renames by a second one
 * (sync_method filesystem: spool_sync_fd, spool_syncfs).
 * Publishing never replaces an existing file (RENAME_NOREPLACE where the
 * filesystem has it).  Recovery empties tmp/ and deletes any body/<id> without
 * env/<id>; an envelope that does not parse is moved to corrupt/ with its
 * body by the caller (spool_quarantine).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "fsutil.h"
#include "xmalloc.h"
#include "queue/spool.h"
#include "queue/spool_pool.h"

#define SPOOL_NAME_MAX	(SPOOL_ID_LEN + 8)	/* id + ".body" etc. */
#define SPOOL_ID_TRIES	64

static const char *const spool_subdirs[] = {
	"tmp", "body", "env", "corrupt", "free",
};

/* spool_id_ok - exactly SPOOL_ID_LEN lower-case hex digits */
static int
spool_id_ok(const char *id)
{
	size_t	i;

	for (i = 0; i < SPOOL_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id[SPOOL_ID_LEN] == '\0';
}

/* name_of - "<id><suffix>" into name, after checking id */
static int
name_of(char name[SPOOL_NAME_MAX], const char *id, const char *suffix,
    struct err *e)
{
	if (!spool_id_ok(id))
		return err_set(e, false, 0, "invalid queue id");
	if ((size_t)snprintf(name, SPOOL_NAME_MAX, "%s%s", id, suffix) >=
	    SPOOL_NAME_MAX)
		return err_set(e, false, 0, "queue name too long");
	return 0;
}

/* sync_at - open dfd/name read-only, fdatasync it, close */
static int
sync_at(int dfd, const char *name, struct err *e)
{
	int	fd, rc = 0;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return err_set(e, true, errno, "open %s: %s", name,
		    strerror(errno));
	if (fdatasync(fd) == -1)
		rc = err_set(e, true, errno, "fdatasync %s: %s", name,
		    strerror(errno));
	close(fd);
	return rc;
}

/* sync_parent - fsync the directory holding path (its entry there) */
static int
sync_parent(const char *path, struct err *e)
{
	char	 parent[PATH_MAX], *slash;
	int	 fd, rc = 0;

	if ((size_t)snprintf(parent, sizeof(parent), "%s", path) >=
	    sizeof(parent))
		return err_set(e, false, 0, "%.64s...: path too long", path);
	if ((slash = strrchr(parent, '/')) == NULL)
		(void)snprintf(parent, sizeof(parent), ".");
	else
		slash[slash == parent ? 1 : 0] = '\0';
	if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_set(e, true, errno, "open %s: %s", parent,
		    strerror(errno));
	if (fsync(fd) == -1)
		rc = err_set(e, true, errno, "fsync %s: %s", parent,
		    strerror(errno));
	close(fd);
	return rc;
}

/* spool_open - create (mode 0700) and open the directories under dir */
int
spool_open(struct spool *sp, const char *dir, struct err *e)
{
	struct spool	 s;
	int		*fds[] = { &s.tmp_dfd, &s.body_dfd, &s.env_dfd,
			    &s.corrupt_dfd, &s.free_dfd };
	size_t		 i;
	int		 created = 0;

	s.root_dfd = s.tmp_dfd = s.body_dfd = s.env_dfd = s.corrupt_dfd =
	    s.free_dfd = -1;
	s.pool = NULL;
	if (fsutil_mkdir_p(dir, e) == -1)
		return -1;
	if ((s.root_dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		err_set(e, true, errno, "open %s: %s", dir, strerror(errno));
		goto fail;
	}
	for (i = 0; i < sizeof(spool_subdirs) / sizeof(spool_subdirs[0]); i++) {
		if (mkdirat(s.root_dfd, spool_subdirs[i], 0700) == 0)
			created = 1;
		else if (errno != EEXIST) {
			err_set(e, true, errno, "mkdir %s/%s: %s", dir,
			    spool_subdirs[i], strerror(errno));
			goto fail;
		}
		if ((*fds[i] = openat(s.root_dfd, spool_subdirs[i],
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
			err_set(e, true, errno, "open %s/%s: %s", dir,
			    spool_subdirs[i], strerror(errno));
			goto fail;
		}
	}
	if (created && fsync(s.root_dfd) == -1) {
		err_set(e, true, errno, "fsync %s: %s", dir, strerror(errno));
		goto fail;
	}
	/* the spool's own entry: whoever made dir may not have synced it */
	if (sync_parent(dir, e) == -1)
		goto fail;
	if ((s.pool = spool_pool_new(e)) == NULL)
		goto fail;
	*sp = s;
	return 0;
fail:
	spool_close(&s);
	return -1;
}

/*
 * spool_sync_fd - a new descriptor of the spool's root for spool_syncfs.
 * Each thread that relies on syncfs needs its own: a writeback error is
 * reported once per open file, so a shared one could tell one thread and
 * not the other.
 */
int
spool_sync_fd(struct spool *sp, struct err *e)
{
	int	fd;

	if ((fd = openat(sp->root_dfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return err_set(e, true, errno, "open spool: %s",
		    strerror(errno));
	return fd;
}

/*
 * spool_syncfs - syncfs(2) the filesystem of fd: every file and rename
 * there durable.  Linux 5.8 and later also fail it when any writeback on
 * that filesystem failed since fd's last call (or its opening).
 */
int
spool_syncfs(int fd, struct err *e)
{
	if (syncfs(fd) == -1)
		return err_set(e, true, errno, "syncfs: %s", strerror(errno));
	return 0;
}

/* spool_close - close every directory fd */
void
spool_close(struct spool *sp)
{
	int	*fds[] = { &sp->root_dfd, &sp->tmp_dfd, &sp->body_dfd,
		    &sp->env_dfd, &sp->corrupt_dfd, &sp->free_dfd };
	size_t	 i;

	spool_pool_free(sp->pool);
	sp->pool = NULL;
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/*
 * spool_make_id - 14 hex digits of the time in microseconds, then 6 random
 * ones: ids sort roughly by arrival and never repeat within a microsecond
 */
static void
spool_make_id(char id[SPOOL_ID_LEN + 1])
{
	static _Atomic uint32_t	 counter;
	struct timespec		 ts;
	uint64_t		 us;
	uint32_t		 r;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)getpid() * 2654435761u + counter++;
	(void)snprintf(id, SPOOL_ID_LEN + 1, "%014" PRIx64 "%06" PRIx32,
	    (uint64_t)(us & 0xffffffffffffffULL), r & 0xffffffu);
}

/* spool_new_id - a fresh id, no file (a direct delivery's) */
void
spool_new_id(char id[SPOOL_ID_LEN + 1])
{
	spool_make_id(id);
}

/* spool_new_body - a fresh id and tmp/<id>.body open O_RDWR|O_EXCL */
int
spool_new_body(struct spool *sp, char id[SPOOL_ID_LEN + 1], int *fdp,
    struct err *e)
{
	return spool_create_body(sp, id, O_RDWR, fdp, e);
}

/* spool_create_body - spool_new_body, open O_RDWR or O_WRONLY */
int
spool_create_body(struct spool *sp, char id[SPOOL_ID_LEN + 1], int accmode,
    int *fdp, struct err *e)
{
	char	nid[SPOOL_ID_LEN + 1], name[SPOOL_NAME_MAX];
	int	fd, tries;

	if (accmode != O_RDWR && accmode != O_WRONLY)
		return err_set(e, false, EINVAL, "bad access mode");
	for (tries = 0; tries < SPOOL_ID_TRIES; tries++) {
		spool_make_id(nid);
		/* never reuse the id of a message still in the queue */
		if (faccessat(sp->env_dfd, nid, F_OK,
		    AT_SYMLINK_NOFOLLOW) == 0 || faccessat(sp->body_dfd, nid,
		    F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		(void)name_of(name, nid, ".body", NULL);
		if ((fd = spool_pool_body_take(sp, sp->tmp_dfd, name, accmode)) == -1)
			fd = openat(sp->tmp_dfd, name, accmode | O_CREAT |
			    O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd == -1 && errno == EEXIST)
			continue;
		if (fd == -1)
			return err_set(e, true, errno, "create %s: %s", name,
			    strerror(errno));
		memcpy(id, nid, sizeof(nid));
		*fdp = fd;
		return 0;
	}
	return err_set(e, true, EEXIST, "no free queue id after %d tries",
	    SPOOL_ID_TRIES);
}

/* spool_open_tmp_body - open tmp/<id>.body again (O_RDONLY or O_WRONLY) */
int
spool_open_tmp_body(struct spool *sp, const char *id, int accmode,
    struct err *e)
{
	char	name[SPOOL_NAME_MAX];
	int	fd;

	if (name_of(name, id, ".body", e) == -1)
		return -1;
	if (accmode != O_RDONLY && accmode != O_WRONLY)
		return err_set(e, false, EINVAL, "bad access mode");
	if ((fd = openat(sp->tmp_dfd, name,
	    accmode | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return err_set(e, true, errno, "open %s: %s", name,
		    strerror(errno));
	return fd;
}

/* spool_tmp_body_size - the size of tmp/<id>.body (no descriptor needed) */
int
spool_tmp_body_size(struct spool *sp, const char *id, uint64_t *size,
    struct err *e)
{
	char		name[SPOOL_NAME_MAX];
	struct stat	st;

	if (name_of(name, id, ".body", e) == -1)
		return -1;
	if (fstatat(sp->tmp_dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return err_set(e, true, errno, "stat %s: %s", name,
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(e, true, EINVAL, "%s: not a file", name);
	*size = (uint64_t)st.st_size;
	return 0;
}

/*
 * write_file - make dfd/name hold exactly the bytes of b, creating it if
 * need be.  A recycled file is overwritten in place (a new descriptor
 * writes from offset 0) and then cut to the new length, never opened
 * with O_TRUNC: on ext4 a truncation to zero frees the file's blocks and
 * makes the next close(2) force a block allocation and writeback, which
 * perf showed as a quarter of the queue loop's time; an envelope
 * rewritten over its old block needs neither.
 * Durability is the caller's sync, as for a new file (data and size).
 */
static int
write_file(int dfd, const char *name, const struct buf *b, int sync,
    struct err *e)
{
	int	fd, rc = -1;

	if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1)
		return err_set(e, true, errno, "create %s: %s", name,
		    strerror(errno));
	if (fsutil_write_all(fd, buf_ptr(b), buf_avail(b)) == -1) {
		err_set(e, true, errno, "write %s: %s", name, strerror(errno));
		goto out;
	}
	if (ftruncate(fd, (off_t)buf_avail(b)) == -1) {
		err_set(e, true, errno, "truncate %s: %s", name,
		    strerror(errno));
		goto out;
	}
	if (sync && fdatasync(fd) == -1) {
		err_set(e, true, errno, "fdatasync %s: %s", name,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (close(fd) == -1 && rc == 0)
		rc = err_set(e, true, errno, "close %s: %s", name,
		    strerror(errno));
	if (rc == -1)
		(void)unlinkat(dfd, name, 0);
	return rc;
}

/* spool_write_env - write tmp/<id>.env (not yet synced) */
int
spool_write_env(struct spool *sp, const char *id, const struct buf *b,
    struct err *e)
{
	char	name[SPOOL_NAME_MAX];

	if (name_of(name, id, ".env", e) == -1)
		return -1;
	(void)spool_pool_env_take(sp, sp->tmp_dfd, name);
	return write_file(sp->tmp_dfd, name, b, 0, e);
}

/* spool_sync_files - fdatasync tmp/<id>.body and tmp/<id>.env */
int
spool_sync_files(struct spool *sp, const char *id, struct err *e)
{
	char	name[SPOOL_NAME_MAX];

	if (name_of(name, id, ".body", e) == -1 ||
	    sync_at(sp->tmp_dfd, name, e) == -1)
		return -1;
	(void)name_of(name, id, ".env", NULL);
	return sync_at(sp->tmp_dfd, name, e);
}

/*
 * spool_sync_begin - open both tmp files of id and start their writeback.
 * Starting every file's writeback before the first fdatasync lets one
 * journal commit cover many files (measured: 2-3x fewer ms per batch on
 * ext4); durability still comes from the caller's fdatasync of each fd.
 */
int
spool_sync_begin(struct spool *sp, const char *id, int fds[2], struct err *e)
{
	static const char *const	 sfx[2] = { ".body", ".env" };
	char				 name[SPOOL_NAME_MAX];
	int				 i, fd;

	for (i = 0; i < 2; i++) {
		if (name_of(name, id, sfx[i], e) == -1)
			goto fail;
		if ((fd = openat(sp->tmp_dfd, name, O_RDONLY | O_CLOEXEC |
		    O_NOFOLLOW)) == -1) {
			err_set(e, true, errno, "open %s: %s", name,
			    strerror(errno));
			goto fail;
		}
		(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		fds[i] = fd;
	}
	return 0;
fail:
	if (i == 1)
		close(fds[0]);
	return -1;
}

/*
 * spool_publish - rename body then envelope into place.  On failure
 * nothing is left published: a body already moved is unlinked again, and
 * the caller discards tmp/.
 */
int
spool_publish(struct spool *sp, const char *id, struct err *e)
{
	char	name[SPOOL_NAME_MAX];

	if (name_of(name, id, ".body", e) == -1)
		return -1;
	if (fsutil_rename_noreplace(sp->tmp_dfd, name, sp->body_dfd, id) == -1)
		return err_set(e, true, errno, "publish body %s: %s", id,
		    strerror(errno));
	(void)name_of(name, id, ".env", NULL);
	if (fsutil_rename_noreplace(sp->tmp_dfd, name, sp->env_dfd, id) == -1) {
		err_set(e, true, errno, "publish envelope %s: %s", id,
		    strerror(errno));
		(void)unlinkat(sp->body_dfd, id, 0);
		return -1;
	}
	return 0;
}

/*
 * spool_sync_dirs - fsync body/ and env/ once per batch (and tmp/ and
 * free/ when files renamed into free/ wait for it: they are free then)
 */
int
spool_sync_dirs(struct spool *sp, struct err *e)
{
	uint64_t	mark = spool_pool_mark(sp);
	bool		pending;

	pthread_mutex_lock(&sp->pool->mu);
	pending = sp->pool->npend > 0;
	pthread_mutex_unlock(&sp->pool->mu);
	if (fsync(sp->body_dfd) == -1 || fsync(sp->env_dfd) == -1 ||
	    (pending && (fsync(sp->tmp_dfd) == -1 ||
	    fsync(sp->free_dfd) == -1)))
		return err_set(e, true, errno, "fsync spool dirs: %s",
		    strerror(errno));
	if (pending)
		spool_pool_synced(sp, mark);
	return 0;
}

/* spool_syncfs_pool - spool_syncfs(fd) of the spool's filesystem, after
 * which the files renamed into free/ before it are free */
int
spool_syncfs_pool(struct spool *sp, int fd, struct err *e)
{
	uint64_t	mark = spool_pool_mark(sp);

	if (spool_syncfs(fd, e) == -1)
		return -1;
	spool_pool_synced(sp, mark);
	return 0;
}

/* update_write - write tmp/<id>.upd (fdatasynced if sync) for env/<id> */
static int
update_write(struct spool *sp, const char *id, const struct buf *b, int sync,
    struct err *e)
{
	char	name[SPOOL_NAME_MAX];

	if (name_of(name, id, ".upd", e) == -1)
		return -1;
	/* never bring back a message that is gone */
	if (faccessat(sp->env_dfd, id, F_OK, AT_SYMLINK_NOFOLLOW) == -1)
		return err_set(e, false, errno, "envelope %s: %s", id,
		    strerror(errno));
	(void)spool_pool_env_take(sp, sp->tmp_dfd, name);
	return write_file(sp->tmp_dfd, name, b, sync, e);
}

/* spool_write_update - write tmp/<id>.upd, not synced (sync_method
 * filesystem: the caller's spool_syncfs() makes it durable) */
int
spool_write_update(struct spool *sp, const char *id, const struct buf *b,
    struct err *e)
{
	return update_write(sp, id, b, 0, e);
}

/* spool_drop_update - remove tmp/<id>.upd (an update given up) */
void
spool_drop_update(struct spool *sp, const char *id)
{
	char	name[SPOOL_NAME_MAX];

	if (name_of(name, id, ".upd", NULL) == 0)
		(void)spool_pool_env_put(sp, sp->tmp_dfd, name);
}

/*
 * spool_swap_update - rename tmp/<id>.upd (durable already) over env/<id>;
 * the rename is durable after the caller's next directory or filesystem
 * sync.  The update is dropped if it cannot be swapped in.
 */
int
spool_swap_update(struct spool *sp, const char *id, struct err *e)
{
	char	name[SPOOL_NAME_MAX];

	if (name_of(name, id, ".upd", e) == -1)
		return -1;
	/* swap, so the old envelope's inode can be recycled */
	if (renameat2(sp->tmp_dfd, name, sp->env_dfd, id,
	    RENAME_EXCHANGE) == 0) {
		(void)spool_pool_env_put(sp, sp->tmp_dfd, name);
		return 0;
	}
	if ((errno != EINVAL && errno != ENOSYS) ||
	    renameat(sp->tmp_dfd, name, sp->env_dfd, id) == -1) {
		err_set(e, true, errno, "replace envelope %s: %s", id,
		    strerror(errno));
		(void)spool_pool_env_put(sp, sp->tmp_dfd, name);
		return -1;
	}
	return 0;
}

/*
 * spool_stage_update - replace env/<id> with b: tmp/<id>.upd written,
 * fdatasynced and renamed over it; the rename is durable only after the
 * caller's spool_sync_dirs()
 */
int
spool_stage_update(struct spool *sp, const char *id, const struct buf *b,
    struct err *e)
{
	if (update_write(sp, id, b, 1, e) == -1)
		return -1;
	return spool_swap_update(sp, id, e);
}

/* spool_update_env - durably replace env/<id> (tmp, fsync, rename, fsync) */
int
spool_update_env(struct spool *sp, const char *id, const struct buf *b,
    struct err *e)
{
	if (spool_stage_update(sp, id, b, e) == -1)
		return -1;
	if (fsync(sp->env_dfd) == -1)
		return err_set(e, true, errno, "fsync env: %s",
		    strerror(errno));
	return 0;
}

/*
 * spool_unpublish - unlink env/<id>: the message is no longer accepted
 * once the caller's spool_sync_dirs() returns; then spool_drop_body()
 */
int
spool_unpublish(struct spool *sp, const char *id, struct err *e)
{
	if (!spool_id_ok(id))
		return err_set(e, false, 0, "invalid queue id");
	if (spool_pool_env_put(sp, sp->env_dfd, id) == -1)
		return err_set(e, true, errno, "remove envelope %s: %s", id,
		    strerror(errno));
	return 0;
}

/* spool_drop_body - remove body/<id> (after its envelope is gone) */
void
spool_drop_body(struct spool *sp, const char *id)
{
	if (spool_id_ok(id))
		spool_pool_body_put(sp, sp->body_dfd, id);
}

/*
 * spool_remove - remove env/<id> then body/<id>, durable.  Only the
 * envelope's removal is synced: a body left behind by a crash is an
 * orphan that spool_recover() deletes.
 */
int
spool_remove(struct spool *sp, const char *id, struct err *e)
{
	if (spool_unpublish(sp, id, e) == -1)
		return -1;
	if (fsync(sp->env_dfd) == -1)
		return err_set(e, true, errno, "fsync env: %s",
		    strerror(errno));
	spool_drop_body(sp, id);
	return 0;
}

/* spool_discard - remove tmp/<id>.* (aborted transaction) */
void
spool_discard(struct spool *sp, const char *id)
{
	char	name[SPOOL_NAME_MAX];

	if (name_of(name, id, ".body", NULL) == -1)
		return;
	spool_pool_body_put(sp, sp->tmp_dfd, name);
	(void)name_of(name, id, ".env", NULL);
	(void)spool_pool_env_put(sp, sp->tmp_dfd, name);
}

/* spool_open_body - open body/<id> read-only */
int
spool_open_body(struct spool *sp, const char *id, struct err *e)
{
	int	fd;

	if (!spool_id_ok(id))
		return err_set(e, false, 0, "invalid queue id");
	if ((fd = openat(sp->body_dfd, id,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return err_set(e, errno != ENOENT, errno, "open body %s: %s",
		    id, strerror(errno));
	return fd;
}

/* spool_read_env - read env/<id> into out (bounded by out's cap) */
int
spool_read_env(struct spool *sp, const char *id, struct buf *out,
    struct err *e)
{
	char	*w;
	ssize_t	 n;
	int	 fd, rc = -1;

	if (!spool_id_ok(id))
		return err_set(e, false, 0, "invalid queue id");
	if ((fd = openat(sp->env_dfd, id,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return err_set(e, true, errno, "open envelope %s: %s", id,
		    strerror(errno));
	for (;;) {
		if ((w = buf_reserve(out, 8192)) == NULL) {
			if ((w = buf_reserve(out, 1)) == NULL) {
				err_set(e, false, EFBIG, "envelope %s: too big",
				    id);
				goto out;
			}
			n = read(fd, w, 1);
		} else
			n = read(fd, w, 8192);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(e, true, errno, "read envelope %s: %s", id,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		buf_commit(out, (size_t)n);
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/* dir_open - a fresh directory stream on dfd (its own offset) */
static DIR *
dir_open(int dfd, struct err *e)
{
	DIR	*d;
	int	 fd;

	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		err_set(e, true, errno, "open spool dir: %s", strerror(errno));
		return NULL;
	}
	if ((d = fdopendir(fd)) == NULL) {
		err_set(e, true, errno, "fdopendir: %s", strerror(errno));
		close(fd);
	}
	return d;
}

/*
 * free_reusable - whether free/<name> is a file to keep in the pool of
 * prefix: a regular file named so, with no other name, and for bodies
 * empty
 */
static bool
free_reusable(struct spool *sp, const struct dirent *de, char prefix)
{
	struct stat	st;

	if (de->d_name[0] != prefix || strlen(de->d_name) >= SPOOL_FREE_NAME)
		return false;
	if (fstatat(sp->free_dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return false;
	/* one name only: a crash (and fsck) may leave an inode both here
	 * and under its old name, which may be a live message's */
	return S_ISREG(st.st_mode) && st.st_nlink == 1 &&
	    (prefix == 'e' || st.st_size == 0);
}

/*
 * spool_recover - take stock of free/, clean tmp/, drop orphan bodies,
 * and call cb for each envelope id (in no particular order).  Entries of
 * body/ and env/ whose name is not a queue id are left alone and not
 * reported.
 */
int
spool_recover(struct spool *sp, void (*cb)(const char *, void *), void *arg,
    struct err *e)
{
	DIR		*d;
	struct dirent	*de;
	bool		 durable;

	/* 0. free/: envelope files to reuse (their contents mean nothing),
	 * empty body files to reuse (one a crash left with bytes goes).
	 * What is seen there is made durable first (a restart of the queue
	 * alone finds renames that may not be on disk yet); without that
	 * nothing is reused */
	if ((d = dir_open(sp->free_dfd, e)) == NULL)
		return -1;
	pthread_mutex_lock(&sp->pool->mu);
	sp->pool->env.n = sp->pool->body.n = sp->pool->npend = 0;
	pthread_mutex_unlock(&sp->pool->mu);
	if (!(durable = syncfs(sp->root_dfd) == 0))
		log_warnx("spool: syncfs: %s: no file of free/ is reused",
		    strerror(errno));
	while (durable && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (free_reusable(sp, de, 'e'))
			spool_pool_push(sp, &sp->pool->env, de->d_name);
		else if (free_reusable(sp, de, 'b'))
			spool_pool_push(sp, &sp->pool->body, de->d_name);
		else
			(void)unlinkat(sp->free_dfd, de->d_name, 0);
	}
	closedir(d);

	/* 1. tmp/: nothing there was ever acknowledged */
	if ((d = dir_open(sp->tmp_dfd, e)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			(void)unlinkat(sp->tmp_dfd, de->d_name, 0);
	closedir(d);

	/* 2. body/ without env/: a publish cut short by a crash */
	if ((d = dir_open(sp->body_dfd, e)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (!spool_id_ok(de->d_name))
			continue;
		if (faccessat(sp->env_dfd, de->d_name, F_OK,
		    AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT)
			(void)unlinkat(sp->body_dfd, de->d_name, 0);
	}
	closedir(d);

	/* 3. env/: the accepted messages */
	if ((d = dir_open(sp->env_dfd, e)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (spool_id_ok(de->d_name))
			cb(de->d_name, arg);
	closedir(d);
	return 0;
}

/*
 * spool_quarantine - move env/<id> to corrupt/<id>, its body (if any) to
 * corrupt/<id>.body first, so a crash in between leaves the envelope in
 * place to be quarantined again rather than an orphan body to be deleted.
 */
int
spool_quarantine(struct spool *sp, const char *id, struct err *e)
{
	char	name[SPOOL_NAME_MAX];

	if (name_of(name, id, ".body", e) == -1)
		return -1;
	if (renameat(sp->body_dfd, id, sp->corrupt_dfd, name) == -1 &&
	    errno != ENOENT)
		return err_set(e, true, errno, "quarantine body %s: %s", id,
		    strerror(errno));
	if (fsync(sp->corrupt_dfd) == -1)
		return err_set(e, true, errno, "fsync corrupt: %s",
		    strerror(errno));
	if (renameat(sp->env_dfd, id, sp->corrupt_dfd, id) == -1)
		return err_set(e, true, errno, "quarantine envelope %s: %s",
		    id, strerror(errno));
	if (fsync(sp->corrupt_dfd) == -1 || fsync(sp->env_dfd) == -1 ||
	    fsync(sp->body_dfd) == -1)
		return err_set(e, true, errno, "fsync spool dirs: %s",
		    strerror(errno));
	return 0;
}
