/*
 * maildir.h - local delivery into a Maildir (tmp/ then new/, fsync).
 */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include <stddef.h>

struct err;

/*
 * maildir_deliver - write prefix (header lines, CRLF-terminated, may be
 * "") followed by the whole body read from body_fd (from offset 0, with
 * pread) into a new file under maildir/tmp, fsync it, link it into
 * maildir/new and fsync that directory.  Creates maildir and its tmp, new
 * and cur (mode 0700) when missing.  Line ends are written as stored.
 */
int	maildir_deliver(const char *maildir, int body_fd, const char *prefix,
	    struct err *);

#endif
