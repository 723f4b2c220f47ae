/*
 * maildir.h - local delivery into a Maildir (tmp/ then new/, fsync).
 */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

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

/*
 * The same in steps, so a batch of deliveries shares its syncs:
 * maildir_begin() writes the file into tmp/ and starts its writeback; the
 * caller fdatasyncs tx.fd (any thread), then maildir_commit() links it
 * into new/; the caller fsyncs tx.new_dfd (once per directory of the
 * batch) and, if that fails, calls maildir_revoke(); maildir_end() always
 * closes (and removes a file left in tmp/).  maildir_begin() cleans up by
 * itself when it fails.  Instead of the fdatasync and the fsync, the
 * caller may syncfs(2) tx.tmp_dfd's filesystem once before and once after
 * the batch's maildir_commit() calls (sync_method filesystem).
 * body_fd may be -1: only the prefix is written (no writeback started),
 * tx.fd (O_RDWR) is left after it, and the caller appends the body.
 */
struct maildir_tx {
	const char	*dir;		/* the maildir given (borrowed) */
	int		 tmp_dfd;
	int		 new_dfd;
	int		 fd;		/* the new file, until commit */
	bool		 in_tmp;
	bool		 in_new;
	char		 name[640];
};

int	maildir_begin(const char *maildir, int body_fd, const char *prefix,
	    struct maildir_tx *, struct err *);
int	maildir_commit(struct maildir_tx *, struct err *);
void	maildir_revoke(struct maildir_tx *);
void	maildir_end(struct maildir_tx *);

/* one file of a batch for maildir_sync_groups */
struct maildir_sync {
	struct maildir_tx	*tx;
	const char		*maildir;	/* MAILDIR_BY_DIR: its group */
	dev_t			 dev;		/* MAILDIR_BY_DEV: its group */
	uint64_t		 order;		/* MAILDIR_BY_DEV: lowest syncs */
	bool			 synced;	/* in: skip it; out: true */
	int			 err;		/* out: errno, 0 if synced */
};

/* how maildir_sync_groups groups the files of a batch */
enum maildir_group {
	MAILDIR_BY_DEV,		/* one syncfs per filesystem */
	MAILDIR_BY_DIR,		/* one fsync per new/ directory */
};

/*
 * maildir_sync_groups - one sync per group of the files not yet synced:
 * by filesystem, syncfs(2) through the tmp/ of the group's member with
 * the lowest order (opened first: a writeback error is reported to a
 * descriptor opened before it); by directory, fsync of new/.  Every
 * member then gets the group's result in err, and one that failed is
 * revoked (it may or may not be there after a crash: say not).
 */
void	maildir_sync_groups(struct maildir_sync *, size_t n,
	    enum maildir_group);

#endif
