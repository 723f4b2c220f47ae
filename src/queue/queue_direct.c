/*
 * queue_direct.c - direct delivery (the fast path, docs/QUEUE-FORMAT.md):
 * a transaction whose only recipient (M_Q_OPEN carries the envelope)
 * resolves to one local mailbox whose Maildir exists gets its final file
 * in the Maildir's tmp/, the Return-Path/Delivered-To prefix written by
 * the queue, and smtp an O_WRONLY | O_APPEND descriptor of it: no spool
 * files.  At M_Q_COMMIT the loop checks the prefix is intact
 * (queue_direct_check); the commit thread makes the file
 * durable with the batch's first sync, links it into new/ and makes the
 * link durable with the second (queue_commit.c: direct_syncfs,
 * direct_sync_files, direct_sync_new; syncfs or per-file syncs decided at
 * open by queue_sync_syncfs) before the 250.  Abort, a closed channel
 * or a failed commit remove the tmp file (queue_direct_free); at start,
 * files older than Q_TMP_AGE are removed from DATA/mail/x/y/tmp
 * (queue_direct_clean, bounded by Q_CLEAN_MAX entries).  Only messages from smtp take this path: a DSN the
 * queue makes itself is always spooled.
 *
 * Everything here runs on the loop; the recipient is expanded by
 * queue_ingest.c and routed by route.c.  Limits: Q_DIRECT_MAX direct deliveries open at once (3
 * descriptors each), LIM_PATH per address.
 */
#include <sys/queue.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"
#include "local/maildir.h"
#include "alias.h"
#include "queue/queue_commit.h"
#include "queue/queue_direct.h"
#include "queue/queue_ingest.h"
#include "queue/queue_state.h"
#include "queue/queue_sync.h"
#include "queue/route.h"

#define Q_DIRECT_MAX	128			/* open at once (3 fds each) */
#define Q_TMP_AGE	(36 * 3600)		/* Maildir tmp/: stale after */
#define Q_CLEAN_MAX	1000000u		/* entries looked at, startup */

/* qdirect_free - close the Maildir file (removed if still in tmp/) */
static void
qdirect_free(struct qdirect *d)
{
	if (d == NULL)
		return;
	maildir_end(&d->tx);
	free(d->from);
	free(d->rcpt);
	free(d->addr);
	free(d->maildir);
	free(d->prefix);
	free(d);
}

/* queue_direct_free - forget one (a file left in tmp/ is removed) */
void
queue_direct_free(struct queue *q, struct qdirect *d)
{
	if (d == NULL)
		return;
	q->ndirect--;
	qdirect_free(d);
}

/*
 * queue_direct_open - M_Q_OPEN of a transaction whose only recipient is
 * a local mailbox: its file in the Maildir's tmp/ with the prefix
 * written, and a write-only, appending descriptor of it for smtp in
 * *wfd.  NULL (and no file) when it does not apply or fails: the spool is
 * used instead.
 */
struct qdirect *
queue_direct_open(struct queue *q, const char *from, const char **rcpts,
    uint32_t n, int *wfd)
{
	struct alias_dests	 dests;
	struct qdirect		*d = NULL;
	struct stat		 st;
	struct err		 e;
	char			 path[PATH_MAX];

	*wfd = -1;
	memset(&dests, 0, sizeof(dests));
	if (n != 1 || q->ndirect >= Q_DIRECT_MAX ||
	    !str_line_ok(from, LIM_PATH, true) ||
	    !str_line_ok(rcpts[0], LIM_PATH, false))
		return NULL;
	if (queue_ingest_expand(q, rcpts, 1, &dests, &e) == -1 ||
	    dests.n != 1 || dests.v[0].kind != AK_LOCAL)
		goto out;
	d = xcalloc(1, sizeof(*d));
	d->tx.fd = d->tx.tmp_dfd = d->tx.new_dfd = -1;
	if ((d->maildir = route_maildir(q->conf, dests.v[0].addr)) == NULL ||
	    (size_t)snprintf(path, sizeof(path), "%s/tmp", d->maildir) >=
	    sizeof(path))
		goto fail;
	/* a Maildir not made yet is made by the delivery thread (its
	 * directories are fsynced: not in the loop) */
	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		goto fail;
	d->from = xstrdup(from);
	d->rcpt = xstrdup(rcpts[0]);
	d->addr = xstrdup(dests.v[0].addr);
	d->prefix = route_prefix(from, d->addr, NULL);
	d->prefix_len = strlen(d->prefix);
	if (maildir_begin(d->maildir, -1, d->prefix, &d->tx, &e) == -1) {
		log_warnx("direct delivery to %s not possible, spooling: %s",
		    d->maildir, e.msg);
		goto fail;
	}
	if (fstat(d->tx.tmp_dfd, &st) == -1)
		goto fail;
	d->dev = st.st_dev;
	d->syncfs = queue_sync_syncfs(q, d->tx.tmp_dfd);
	/* smtp only appends: the prefix is checked again at commit */
	if ((*wfd = openat(d->tx.tmp_dfd, d->tx.name, O_WRONLY | O_APPEND |
	    O_CLOEXEC | O_NOFOLLOW)) == -1) {
		log_warn("direct delivery: open %s/tmp/%s", d->maildir,
		    d->tx.name);
		goto fail;
	}
	q->ndirect++;
	goto out;
fail:
	qdirect_free(d);
	d = NULL;
out:
	alias_dests_free(&dests);
	return d;
}

/*
 * queue_direct_check - M_Q_COMMIT of a direct delivery: the prefix
 * intact (the envelope is the one M_Q_OPEN gave: the commit does not
 * carry another); measure the body
 */
int
queue_direct_check(struct qdirect *d, struct err *e)
{
	struct stat	 st;
	char		*head;
	ssize_t		 r;
	int		 rc;

	if (fstat(d->tx.fd, &st) == -1)
		return err_set(e, true, errno, "fstat %s/tmp/%s: %s",
		    d->maildir, d->tx.name, strerror(errno));
	if ((uint64_t)st.st_size < d->prefix_len)
		return err_set(e, true, 0, "%s/tmp/%s was truncated",
		    d->maildir, d->tx.name);
	head = xmalloc(d->prefix_len + 1);
	r = pread(d->tx.fd, head, d->prefix_len, 0);
	rc = r == (ssize_t)d->prefix_len &&
	    memcmp(head, d->prefix, d->prefix_len) == 0 ? 0 :
	    err_set(e, true, 0, "%s/tmp/%s was changed", d->maildir,
	    d->tx.name);
	free(head);
	d->size = (uint64_t)st.st_size - d->prefix_len;
	return rc;
}

/* clean_tmp - remove regular files older than Q_TMP_AGE from dfd */
static void
clean_tmp(int dfd, const char *path, time_t now, size_t *budget)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*dir;
	size_t		 removed = 0;

	if ((dir = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while (*budget > 0 && (de = readdir(dir)) != NULL) {
		(*budget)--;
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISREG(st.st_mode) || now - st.st_mtime < Q_TMP_AGE)
			continue;
		if (unlinkat(dirfd(dir), de->d_name, 0) == 0)
			removed++;
	}
	if (removed > 0)
		log_info("removed %zu stale files from %s/tmp", removed, path);
	closedir(dir);
}

/* subdirs - open each subdirectory of dfd (not symlinks) and call fn */
static void
subdirs(int dfd, const char *path, void (*fn)(int, const char *, time_t,
    size_t *), time_t now, size_t *budget)
{
	struct dirent	*de;
	DIR		*dir;
	char		 sub[PATH_MAX];
	int		 fd;

	if ((dir = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while (*budget > 0 && (de = readdir(dir)) != NULL) {
		(*budget)--;
		if (de->d_name[0] == '.')
			continue;
		if ((fd = openat(dirfd(dir), de->d_name, O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
		    de->d_name) >= sizeof(sub)) {
			close(fd);
			continue;
		}
		fn(fd, sub, now, budget);
	}
	closedir(dir);
}

/* clean_mailbox - a DATA/mail/<domain>/<local>: its tmp/ */
static void
clean_mailbox(int dfd, const char *path, time_t now, size_t *budget)
{
	int	fd = openat(dfd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);

	close(dfd);
	if (fd != -1)
		clean_tmp(fd, path, now, budget);
}

/* clean_domain - a DATA/mail/<domain>: each mailbox */
static void
clean_domain(int dfd, const char *path, time_t now, size_t *budget)
{
	subdirs(dfd, path, clean_mailbox, now, budget);
}

/*
 * queue_direct_clean - a direct delivery cut short by a crash leaves
 * its file in the Maildir's tmp/ (readers ignore tmp/): remove the files
 * of DATA/mail/<domain>/<local>/tmp older than Q_TMP_AGE (the Maildir
 * convention), looking at no more than Q_CLEAN_MAX entries in all
 */
void
queue_direct_clean(struct queue *q)
{
	char	path[PATH_MAX];
	size_t	budget = Q_CLEAN_MAX;
	int	fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/mail",
	    q->conf->data_dir) >= sizeof(path))
		return;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return;
	subdirs(fd, path, clean_domain, time(NULL), &budget);
	if (budget == 0)
		log_warnx("%s: stopped looking for stale files in tmp/ after "
		    "%u entries", path, Q_CLEAN_MAX);
}
