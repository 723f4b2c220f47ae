/*
 * maildir.c - local delivery into a Maildir (tmp/ then new/, fsync).
 *
 * Runs in the queue process's delivery worker thread (later in the local
 * process), and for a direct delivery in its event loop (begin) and commit
 * thread (commit); thread-safe: the only shared state is an atomic
 * counter.  It
 * writes the prefix and a copy of the spooled body into a uniquely named
 * file in MAILDIR/tmp (O_EXCL), fdatasyncs it, links it into MAILDIR/new
 * (never replacing a file) and fsyncs new/, so once it returns 0 the
 * message is in the mailbox for good.  Directories it creates are made
 * durable by an fsync of their parent.  maildir_begin/commit/end are the
 * same steps split, so the queue can sync a batch of deliveries together
 * (with fdatasync and fsync, or with syncfs before and after the links).
 *
 * maildir_begin() with no body fd writes the prefix only and leaves
 * tx.fd (read-write) positioned after it, for the queue's direct
 * delivery, whose body the smtp worker appends through a descriptor of
 * its own.
 *
 * The body fd may be shared with other readers, so it is read with
 * pread() from offset 0 in MAILDIR_CHUNK pieces and its offset is never
 * moved.  It never follows a symlink for the file it creates.
 *
 * File names follow the Maildir convention, time.pid_counter.host, with a
 * random part added: <sec>.<pid>_<counter>_<random>.<host>; '/' and ':' in
 * the host name are written as \057 and \072.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "xmalloc.h"
#include "local/maildir.h"

#define MAILDIR_CHUNK	(64 * 1024)
#define MAILDIR_TRIES	16
#define MAILDIR_PATH	4096

static _Atomic unsigned	maildir_counter;

/* open_sub - open the directory dfd/name, creating it (0700) if missing */
static int
open_sub(int dfd, const char *dir, const char *name, struct err *e)
{
	int	fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) != -1)
		return fd;
	if (errno != ENOENT)
		return err_set(e, true, errno, "open %s/%s: %s", dir, name,
		    strerror(errno));
	if (mkdirat(dfd, name, 0700) == 0)
		(void)fsync(dfd);
	else if (errno != EEXIST)
		return err_set(e, true, errno, "mkdir %s/%s: %s", dir, name,
		    strerror(errno));
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return err_set(e, true, errno, "open %s/%s: %s", dir, name,
		    strerror(errno));
	return fd;
}

/* host_part - the host name with '/' and ':' escaped, '.' if unknown */
static void
host_part(char *out, size_t outsz)
{
	char	 host[256];
	size_t	 i, o = 0;
	int	 n;

	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		(void)snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i] != '\0' && o + 5 < outsz; i++) {
		if (host[i] == '/' || host[i] == ':') {
			n = snprintf(out + o, outsz - o, "\\%03o",
			    (unsigned char)host[i]);
			o += (size_t)n;
		} else
			out[o++] = host[i];
	}
	out[o] = '\0';
}

/* make_name - a fresh unique file name for this delivery */
static void
make_name(char *name, size_t namesz, const char *host)
{
	uint64_t	r;
	unsigned	c = maildir_counter++;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = ((uint64_t)time(NULL) << 20) ^ (uint64_t)clock();
	(void)snprintf(name, namesz, "%lld.%d_%u_%016llx.%s",
	    (long long)time(NULL), (int)getpid(), c, (unsigned long long)r,
	    host);
}

/* copy_body - prefix then all of body_fd (pread from 0) into fd */
static int
copy_body(int fd, int body_fd, const char *prefix, struct err *e)
{
	char	*chunk = NULL;
	off_t	 off = 0;
	ssize_t	 n;
	int	 rc = -1;

	if (fsutil_write_all(fd, prefix, strlen(prefix)) == -1) {
		err_set(e, true, errno, "write: %s", strerror(errno));
		goto out;
	}
	if (body_fd == -1) {
		rc = 0;
		goto out;
	}
	chunk = xmalloc(MAILDIR_CHUNK);
	for (;;) {
		if ((n = pread(body_fd, chunk, MAILDIR_CHUNK, off)) == -1) {
			if (errno == EINTR)
				continue;
			err_set(e, true, errno, "read body: %s",
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (fsutil_write_all(fd, chunk, (size_t)n) == -1) {
			err_set(e, true, errno, "write: %s", strerror(errno));
			goto out;
		}
		off += n;
	}
	rc = 0;
out:
	free(chunk);
	return rc;
}

/* open_path - open the directory "maildir/name" (not a symlink), or -1 */
static int
open_path(const char *maildir, const char *name)
{
	char	path[MAILDIR_PATH];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", maildir, name) >=
	    sizeof(path))
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

/*
 * maildir_open - the Maildir's tmp/ and new/ (all three made if missing).
 * A Maildir whose tmp/ and new/ exist takes two opens (cur/ is the
 * reader's business then); otherwise each part is opened, or created.
 */
static int
maildir_open(const char *maildir, struct maildir_tx *tx, struct err *e)
{
	int	mdfd, curfd, rc = -1;

	if ((tx->tmp_dfd = open_path(maildir, "tmp")) != -1) {
		if ((tx->new_dfd = open_path(maildir, "new")) != -1)
			return 0;
		close(tx->tmp_dfd);
		tx->tmp_dfd = -1;
	}
	if ((mdfd = open(maildir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 &&
	    errno == ENOENT) {
		if (fsutil_mkdir_p(maildir, e) == -1)
			return -1;
		mdfd = open(maildir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (mdfd == -1)
		return err_set(e, true, errno, "open %s: %s", maildir,
		    strerror(errno));
	if ((tx->tmp_dfd = open_sub(mdfd, maildir, "tmp", e)) == -1 ||
	    (tx->new_dfd = open_sub(mdfd, maildir, "new", e)) == -1 ||
	    (curfd = open_sub(mdfd, maildir, "cur", e)) == -1)
		goto out;
	close(curfd);
	rc = 0;
out:
	close(mdfd);
	return rc;
}

/*
 * maildir_begin - create a uniquely named file in maildir/tmp, write the
 * prefix and the body into it and start its writeback
 */
int
maildir_begin(const char *maildir, int body_fd, const char *prefix,
    struct maildir_tx *tx, struct err *e)
{
	char	host[512];
	int	tries;

	memset(tx, 0, sizeof(*tx));
	tx->dir = maildir;
	tx->tmp_dfd = tx->new_dfd = tx->fd = -1;
	if (maildir_open(maildir, tx, e) == -1)
		goto fail;
	host_part(host, sizeof(host));
	for (tries = 0; tries < MAILDIR_TRIES; tries++) {
		make_name(tx->name, sizeof(tx->name), host);
		tx->fd = openat(tx->tmp_dfd, tx->name, O_RDWR | O_CREAT |
		    O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (tx->fd != -1 || errno != EEXIST)
			break;
	}
	if (tx->fd == -1) {
		err_set(e, true, errno, "create %s/tmp/%s: %s", maildir,
		    tx->name, strerror(errno));
		goto fail;
	}
	tx->in_tmp = true;
	if (copy_body(tx->fd, body_fd, prefix, e) == -1)
		goto fail;
	if (body_fd != -1)
		(void)sync_file_range(tx->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return 0;
fail:
	maildir_end(tx);
	return -1;
}

/*
 * maildir_commit - after the caller's fdatasync of tx->fd: link the file
 * into new/ (never replacing one) and remove it from tmp/
 */
int
maildir_commit(struct maildir_tx *tx, struct err *e)
{
	int	rc;

	rc = close(tx->fd);
	tx->fd = -1;
	if (rc == -1)
		return err_set(e, true, errno, "close: %s", strerror(errno));
	if (linkat(tx->tmp_dfd, tx->name, tx->new_dfd, tx->name, 0) == 0) {
		(void)unlinkat(tx->tmp_dfd, tx->name, 0);
		tx->in_tmp = false;
		tx->in_new = true;
		return 0;
	}
	if (errno != EPERM && errno != EOPNOTSUPP)
		return err_set(e, true, errno, "link into %s/new: %s",
		    tx->dir, strerror(errno));
	/* a filesystem without hard links */
	if (renameat2(tx->tmp_dfd, tx->name, tx->new_dfd, tx->name,
	    RENAME_NOREPLACE) == -1)
		return err_set(e, true, errno, "rename into %s/new: %s",
		    tx->dir, strerror(errno));
	tx->in_tmp = false;
	tx->in_new = true;
	return 0;
}

/* maildir_revoke - take a committed file out of new/ again */
void
maildir_revoke(struct maildir_tx *tx)
{
	if (tx->in_new && tx->new_dfd != -1)
		(void)unlinkat(tx->new_dfd, tx->name, 0);
	tx->in_new = false;
}

/* maildir_end - close everything; a file still in tmp/ is removed */
void
maildir_end(struct maildir_tx *tx)
{
	if (tx->fd != -1)
		close(tx->fd);
	if (tx->in_tmp && tx->tmp_dfd != -1)
		(void)unlinkat(tx->tmp_dfd, tx->name, 0);
	if (tx->tmp_dfd != -1)
		close(tx->tmp_dfd);
	if (tx->new_dfd != -1)
		close(tx->new_dfd);
	tx->fd = tx->tmp_dfd = tx->new_dfd = -1;
	tx->in_tmp = false;
}

/*
 * maildir_deliver - write prefix then the body into maildir/tmp, fsync,
 * link into maildir/new and fsync new/
 */
int
maildir_deliver(const char *maildir, int body_fd, const char *prefix,
    struct err *e)
{
	struct maildir_tx	tx;
	int			rc = -1;

	if (maildir_begin(maildir, body_fd, prefix, &tx, e) == -1)
		return -1;
	if (fdatasync(tx.fd) == -1) {
		err_set(e, true, errno, "fdatasync %s/tmp/%s: %s", maildir,
		    tx.name, strerror(errno));
		goto out;
	}
	if (maildir_commit(&tx, e) == -1)
		goto out;
	if (fsync(tx.new_dfd) == -1) {
		err_set(e, true, errno, "fsync %s/new: %s", maildir,
		    strerror(errno));
		/* it may or may not be there after a crash: say not */
		maildir_revoke(&tx);
		goto out;
	}
	rc = 0;
out:
	maildir_end(&tx);
	return rc;
}

/* sync_same - are a and b in one group? */
static bool
sync_same(const struct maildir_sync *a, const struct maildir_sync *b,
    enum maildir_group by)
{
	return by == MAILDIR_BY_DEV ? a->dev == b->dev :
	    strcmp(a->maildir, b->maildir) == 0;
}

/* maildir_sync_groups - sync once per group, every member its result */
void
maildir_sync_groups(struct maildir_sync *v, size_t n, enum maildir_group by)
{
	struct maildir_sync	*rep;
	size_t			 i, k;
	int			 err;

	for (i = 0; i < n; i++)
		v[i].err = 0;
	for (i = 0; i < n; i++) {
		if (v[i].synced)
			continue;
		if (by == MAILDIR_BY_DEV) {
			rep = &v[i];
			for (k = i; k < n; k++)
				if (!v[k].synced && sync_same(&v[k], &v[i], by) &&
				    v[k].order < rep->order)
					rep = &v[k];
			err = syncfs(rep->tx->tmp_dfd) == -1 ? errno : 0;
		} else
			err = fsync(v[i].tx->new_dfd) == -1 ? errno : 0;
		for (k = i; k < n; k++) {
			if (v[k].synced || !sync_same(&v[k], &v[i], by))
				continue;
			v[k].synced = true;
			v[k].err = err;
			if (err != 0)
				maildir_revoke(v[k].tx);
		}
	}
}
