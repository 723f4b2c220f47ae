/*
 * queue_sync.c - which sync the queue uses where (sync_method,
 * docs/QUEUE-FORMAT.md).  At start, queue_sync_resolve decides for the
 * spool from the configured method and the filesystem under data_dir's
 * queue/ (fsinfo.h) and logs the choice and why: "auto" takes syncfs
 * only where the filesystem is known to honour it and per-file syncs
 * (fdatasync, directory fsync) everywhere else; "filesystem" is obeyed
 * but logged as a warning on a filesystem not known to honour syncfs.
 * queue_sync_syncfs answers the same question for a Maildir's
 * descriptor, per delivery, so a Maildir on another filesystem gets the
 * syncs that one needs; DATA/mail on a filesystem of its own is logged
 * at start too.  Runs in the queue process: the loop at start
 * (queue_commit_start), and per Maildir the loop (queue_direct.c) and
 * the delivery thread (queue_local.c), which read only what
 * queue_sync_resolve fixed.  Layer 1.5 with queue_commit.c: it reads
 * struct queue (queue_state.h) and nothing above.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "fsinfo.h"
#include "log.h"
#include "queue/queue_state.h"
#include "queue/queue_sync.h"

/*
 * sync_log_mail - start: when DATA/mail exists on another filesystem
 * than the spool, say which syncs the Maildirs there get
 */
static void
sync_log_mail(const struct queue *q)
{
	struct fsinfo	fi;
	struct stat	st, sst;
	char		path[PATH_MAX];
	int		fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/mail",
	    q->conf->data_dir) >= sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if (fstat(fd, &st) == 0 && fstat(q->sp.root_dfd, &sst) == 0 &&
	    st.st_dev != sst.st_dev && fsinfo_of(fd, &fi, NULL) == 0) {
		if (!queue_sync_syncfs(q, fd))
			log_info("sync_method for the Maildirs under %s: "
			    "per-file fdatasync and directory fsync on %s "
			    "(0x%lx)", path, fi.name, fi.magic);
		else if (fi.syncfs_ok)
			log_info("sync_method for the Maildirs under %s: "
			    "syncfs on %s (0x%lx)", path, fi.name, fi.magic);
		else
			log_warnx("sync_method filesystem (configured): the "
			    "Maildirs under %s are on %s (0x%lx), not known "
			    "to honour syncfs", path, fi.name, fi.magic);
	}
	close(fd);
}

/* queue_sync_resolve - the spool's method, fixed and logged at start */
void
queue_sync_resolve(struct queue *q)
{
	struct fsinfo	fi;
	struct err	e;
	bool		known;

	q->sync_conf = q->conf->sync_method;
	if (fsinfo_of(q->sp.root_dfd, &fi, &e) == -1) {
		log_warnx("sync_method: the spool's filesystem: %s", e.msg);
		fsinfo_lookup(0, &fi);
	}
	known = fi.syncfs_ok;
	switch (q->sync_conf) {
	case SYNC_FILE:
		q->sync_method = SYNC_FILE;
		log_info("sync_method file (configured): per-file fdatasync "
		    "and directory fsync on the spool's %s (0x%lx)", fi.name,
		    fi.magic);
		break;
	case SYNC_FILESYSTEM:
		q->sync_method = SYNC_FILESYSTEM;
		if (known)
			log_info("sync_method filesystem (configured): syncfs "
			    "on the spool's %s (0x%lx)", fi.name, fi.magic);
		else
			log_warnx("sync_method filesystem (configured): the "
			    "spool's filesystem %s (0x%lx) is not known to "
			    "honour syncfs, acknowledged mail may not be on "
			    "disk; sync_method auto or file is safe there",
			    fi.name, fi.magic);
		break;
	default:
		q->sync_method = known ? SYNC_FILESYSTEM : SYNC_FILE;
		log_info("sync_method auto: %s on the spool's %s (0x%lx), %s",
		    known ? "syncfs" : "per-file fdatasync and directory fsync",
		    fi.name, fi.magic, known ? "known to honour syncfs" :
		    "not known to honour syncfs");
		break;
	}
	if (fi.volatile_fs)
		log_warnx("the spool is on %s: held in memory, nothing "
		    "survives a power cut", fi.name);
	sync_log_mail(q);
}

/*
 * queue_sync_syncfs - for a Maildir behind fd: true if it is made
 * durable by syncfs, false for per-file syncs.  Per-file syncs hold on
 * any filesystem, so they are the answer whenever the spool takes them
 * (every sync of a batch is then per-file) or fd's filesystem is not
 * known (auto; an fstatfs failure too).
 */
bool
queue_sync_syncfs(const struct queue *q, int fd)
{
	struct fsinfo	fi;

	if (q->sync_method != SYNC_FILESYSTEM)
		return false;
	if (q->sync_conf == SYNC_FILESYSTEM)
		return true;
	return fsinfo_of(fd, &fi, NULL) == 0 && fi.syncfs_ok;
}
