/*
 * fsutil.h - file helpers shared by the spool and the Maildir writer:
 * complete writes and durable directory creation.
 */
#ifndef POSTERN_FSUTIL_H
#define POSTERN_FSUTIL_H

#include <stddef.h>

struct err;

/* fsutil_write_all - write n bytes, retrying short writes and EINTR */
int	fsutil_write_all(int fd, const char *p, size_t n);

/* fsutil_fsync_parent - fsync the directory that holds path (best effort) */
void	fsutil_fsync_parent(char *path);
/*
 * fsutil_mkdir_p - create path and its missing parents with mode 0700,
 * fsyncing the parent of each directory created so the entry is durable
 */
int	fsutil_mkdir_p(const char *path, struct err *);
/* fsutil_rename_noreplace - renameat that never replaces an existing
 * target (EEXIST); without RENAME_NOREPLACE, a check then a rename */
int	fsutil_rename_noreplace(int odfd, const char *oname, int ndfd,
	    const char *nname);

#endif
