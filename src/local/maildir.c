/*
 * maildir.c - local delivery into a Maildir (tmp/ then new/, fsync).
 *
 * Runs in the queue process's delivery worker thread (later in the local
 * process); thread-safe: the only shared state is an atomic counter.  It
 * writes the prefix and a copy of the spooled body into a uniquely named
 * file in MAILDIR/tmp (O_EXCL), fdatasyncs it, links it into MAILDIR/new
 * (never replacing a file) and fsyncs new/, so once it returns 0 the
 * message is in the mailbox for good.  Directories it creates are made
 * durable by an fsync of their parent.
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
#include "xmalloc.h"
#include "local/maildir.h"

#define MAILDIR_CHUNK	(64 * 1024)
#define MAILDIR_TRIES	16
#define MAILDIR_PATH	4096

static _Atomic unsigned	maildir_counter;

/* fsync_dir_of - fsync the directory that holds path (path is writable) */
static void
fsync_dir_of(char *path)
{
	char	*slash = strrchr(path, '/');
	int	 fd;

	if (slash == NULL)
		fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else if (slash == path)
		fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else {
		*slash = '\0';
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		*slash = '/';
	}
	if (fd != -1) {
		(void)fsync(fd);
		close(fd);
	}
}

/* mkdirs - mkdir -p path (0700), each new directory made durable */
static int
mkdirs(const char *path, struct err *e)
{
	char	 buf[MAILDIR_PATH], *p, saved;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return err_set(e, false, 0, "maildir path too long");
	if (buf[0] == '\0')
		return err_set(e, false, 0, "empty maildir path");
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		saved = *p;
		*p = '\0';
		if (mkdir(buf, 0700) == 0)
			fsync_dir_of(buf);
		else if (errno != EEXIST)
			return err_set(e, true, errno, "mkdir %s: %s", buf,
			    strerror(errno));
		*p = saved;
		if (saved == '\0')
			break;
	}
	return 0;
}

/* open_sub - make sure dfd/name is a directory and open it */
static int
open_sub(int dfd, const char *dir, const char *name, struct err *e)
{
	int	fd;

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

/* write_all - write n bytes, retrying short writes and EINTR */
static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* copy_body - prefix then all of body_fd (pread from 0) into fd */
static int
copy_body(int fd, int body_fd, const char *prefix, struct err *e)
{
	char	*chunk = NULL;
	off_t	 off = 0;
	ssize_t	 n;
	int	 rc = -1;

	if (write_all(fd, prefix, strlen(prefix)) == -1) {
		err_set(e, true, errno, "write: %s", strerror(errno));
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
		if (write_all(fd, chunk, (size_t)n) == -1) {
			err_set(e, true, errno, "write: %s", strerror(errno));
			goto out;
		}
		off += n;
	}
	if (fdatasync(fd) == -1) {
		err_set(e, true, errno, "fdatasync: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(chunk);
	return rc;
}

/*
 * maildir_deliver - write prefix then the body into maildir/tmp, fsync,
 * link into maildir/new and fsync new/
 */
int
maildir_deliver(const char *maildir, int body_fd, const char *prefix,
    struct err *e)
{
	char	host[512], name[1024];
	int	mdfd = -1, tmpfd = -1, newfd = -1, curfd = -1, fd = -1;
	int	tries, rc = -1;
	bool	created = false, renamed = false;

	if (mkdirs(maildir, e) == -1)
		return -1;
	if ((mdfd = open(maildir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		err_set(e, true, errno, "open %s: %s", maildir,
		    strerror(errno));
		goto out;
	}
	if ((tmpfd = open_sub(mdfd, maildir, "tmp", e)) == -1 ||
	    (newfd = open_sub(mdfd, maildir, "new", e)) == -1 ||
	    (curfd = open_sub(mdfd, maildir, "cur", e)) == -1)
		goto out;
	name[0] = '\0';
	host_part(host, sizeof(host));
	for (tries = 0; tries < MAILDIR_TRIES; tries++) {
		make_name(name, sizeof(name), host);
		fd = openat(tmpfd, name, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	if (fd == -1) {
		err_set(e, true, errno, "create %s/tmp/%s: %s", maildir, name,
		    strerror(errno));
		goto out;
	}
	created = true;
	if (copy_body(fd, body_fd, prefix, e) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		err_set(e, true, errno, "close: %s", strerror(errno));
		goto out;
	}
	fd = -1;
	/* link, not rename: an existing file in new/ is never replaced */
	if (linkat(tmpfd, name, newfd, name, 0) == -1) {
		if (errno != EPERM && errno != EOPNOTSUPP) {
			err_set(e, true, errno, "link into %s/new: %s",
			    maildir, strerror(errno));
			goto out;
		}
		/* a filesystem without hard links */
		if (renameat2(tmpfd, name, newfd, name, RENAME_NOREPLACE) ==
		    -1) {
			err_set(e, true, errno, "rename into %s/new: %s",
			    maildir, strerror(errno));
			goto out;
		}
		renamed = true;
	}
	if (fsync(newfd) == -1) {
		err_set(e, true, errno, "fsync %s/new: %s", maildir,
		    strerror(errno));
		/* it may or may not be there after a crash: say not */
		(void)unlinkat(newfd, name, 0);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	/* tmp/ holds nothing once we are done, delivered or not */
	if (created && !renamed)
		(void)unlinkat(tmpfd, name, 0);
	if (curfd != -1)
		close(curfd);
	if (newfd != -1)
		close(newfd);
	if (tmpfd != -1)
		close(tmpfd);
	if (mdfd != -1)
		close(mdfd);
	return rc;
}
