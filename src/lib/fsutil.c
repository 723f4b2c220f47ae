/*
 * fsutil.c - complete writes and durable directory creation (mkdir -p
 * whose every new entry is fsynced in its parent).  Used by the queue
 * process for the spool and the Maildirs; paths are the queue's own,
 * never client input.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"

#define FSUTIL_PATH	4096

int
fsutil_write_all(int fd, const char *p, size_t n)
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

void
fsutil_fsync_parent(char *path)
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

int
fsutil_mkdir_p(const char *path, struct err *e)
{
	char	 buf[FSUTIL_PATH], *p, saved;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return err_set(e, false, 0, "%.64s...: path too long", path);
	if (buf[0] == '\0')
		return err_set(e, false, 0, "empty path");
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		saved = *p;
		*p = '\0';
		if (mkdir(buf, 0700) == 0)
			fsutil_fsync_parent(buf);
		else if (errno != EEXIST)
			return err_set(e, true, errno, "mkdir %s: %s", buf,
			    strerror(errno));
		*p = saved;
		if (saved == '\0')
			break;
	}
	return 0;
}

/* fsutil_rename_noreplace - renameat that never replaces an existing target */
int
fsutil_rename_noreplace(int odfd, const char *oname, int ndfd, const char *nname)
{
	if (renameat2(odfd, oname, ndfd, nname, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* filesystem without RENAME_NOREPLACE: check, then rename */
	if (faccessat(ndfd, nname, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(odfd, oname, ndfd, nname);
}
