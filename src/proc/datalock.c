/*
 * datalock.c - one instance per data dir (docs/DESIGN.md, "One instance
 * per data dir").
 *
 * The lock is flock(LOCK_EX) on a descriptor of the data dir itself: it
 * cannot be removed by hand while held, and it goes with the open file
 * description, so the parent takes it before it starts any child, the
 * queue and the deliver process inherit it, and it is released when the
 * last of them exits, whatever killed the others.  DATA/owner holds one
 * line, "pid=N state=S", rewritten by whichever holder changes state: the
 * parent (running, stopping) and the queue (draining, once its parent's
 * channel closed).  It only informs: a serve that finds the lock held
 * reads it to name the holder and to decide between refusing at once (a
 * parent that runs) and waiting, bounded, for an instance going away.
 * The parser and the decision are pure; the rest is a few syscalls.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "datalock.h"
#include "err.h"
#include "log.h"

#define DATALOCK_POLL_MS	100	/* between two tries while waiting */

static const struct {
	enum datalock_state	 state;
	const char		*name;
} datalock_states[] = {
	{ DL_RUNNING,	"running" },
	{ DL_STOPPING,	"stopping" },
	{ DL_DRAINING,	"draining" },
};

#define NSTATES	(sizeof(datalock_states) / sizeof(datalock_states[0]))

/* datalock_state_name - the word of a state in DATA/owner */
const char *
datalock_state_name(enum datalock_state s)
{
	size_t	i;

	for (i = 0; i < NSTATES; i++)
		if (datalock_states[i].state == s)
			return datalock_states[i].name;
	return "unknown";
}

/* datalock_parse - exactly "pid=<1..2^31-1> state=<word>\n" */
int
datalock_parse(const char *buf, size_t n, struct datalock_owner *o)
{
	long	pid = 0;
	size_t	i = 0, k, len;

	o->pid = 0;
	o->state = DL_UNKNOWN;
	if (n < 4 || memcmp(buf, "pid=", 4) != 0)
		return -1;
	for (i = 4; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
		pid = pid * 10 + (buf[i] - '0');
		if (pid > 0x7fffffffL || (i == 4 && buf[i] == '0'))
			return -1;
	}
	if (i == 4 || n - i < 7 || memcmp(buf + i, " state=", 7) != 0)
		return -1;
	i += 7;
	for (k = 0; k < NSTATES; k++) {
		len = strlen(datalock_states[k].name);
		if (n - i == len + 1 && memcmp(buf + i,
		    datalock_states[k].name, len) == 0 && buf[i + len] == '\n')
			break;
	}
	if (k == NSTATES)
		return -1;
	o->pid = (pid_t)pid;
	o->state = datalock_states[k].state;
	return 0;
}

/* datalock_format - the line datalock_parse reads back */
int
datalock_format(char *buf, size_t size, const struct datalock_owner *o)
{
	int	n;

	if (o->pid <= 0 || o->state == DL_UNKNOWN)
		return -1;
	n = snprintf(buf, size, "pid=%ld state=%s\n", (long)o->pid,
	    datalock_state_name(o->state));
	if (n < 0 || (size_t)n >= size)
		return -1;
	return n;
}

/* datalock_should_wait - refuse at once only beside a live running parent */
bool
datalock_should_wait(const struct datalock_owner *o, bool pid_alive)
{
	if (o->state == DL_RUNNING)
		return !pid_alive;	/* killed before its queue said so */
	return true;
}

/* datalock_read - the holder as DATA/owner says (DL_UNKNOWN if not) */
static void
datalock_read(int dirfd, struct datalock_owner *o)
{
	char	buf[DATALOCK_LINE_MAX];
	ssize_t	n;
	int	fd;

	o->pid = 0;
	o->state = DL_UNKNOWN;
	if ((fd = openat(dirfd, DATALOCK_OWNER, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC)) == -1)
		return;
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n > 0)
		(void)datalock_parse(buf, (size_t)n, o);
}

/* datalock_who - the holder, for a log line */
static void
datalock_who(char *buf, size_t size, const struct datalock_owner *o)
{
	if (o->pid > 0)
		(void)snprintf(buf, size, "postern pid %ld (%s)", (long)o->pid,
		    datalock_state_name(o->state));
	else
		(void)snprintf(buf, size, "a process that left no readable %s",
		    DATALOCK_OWNER);
}

/* pid_alive - whether a process of that PID exists */
static bool
pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* datalock_open_owner - DATA/owner for writing: a plain file of its own */
static int
datalock_open_owner(int dirfd, const char *dir, struct err *e)
{
	struct stat	st;
	int		fd;

	if ((fd = openat(dirfd, DATALOCK_OWNER, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC, 0644)) == -1)
		return err_set(e, false, errno, "%s/%s: %s", dir,
		    DATALOCK_OWNER, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		return err_set(e, false, 0, "%s/%s is not a plain file: "
		    "remove it", dir, DATALOCK_OWNER);
	}
	return fd;
}

/* datalock_take - flock the dir; wait for an instance going away */
int
datalock_take(struct datalock *l, const char *data_dir, pid_t self,
    int wait_s, struct err *e)
{
	struct datalock_owner	 o;
	struct timespec		 start, now, nap = { 0, DATALOCK_POLL_MS *
				    1000000L };
	bool			 said = false;
	char			 who[96];
	int			 dirfd;

	l->dirfd = l->fd = -1;
	if ((dirfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_set(e, false, errno, "%s: %s", data_dir,
		    strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (flock(dirfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			err_set(e, false, errno, "lock %s: %s", data_dir,
			    strerror(errno));
			goto fail;
		}
		datalock_read(dirfd, &o);
		datalock_who(who, sizeof(who), &o);
		if (!datalock_should_wait(&o, pid_alive(o.pid))) {
			err_set(e, false, 0, "data_dir %s is in use by %s: "
			    "not starting", data_dir, who);
			goto fail;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= wait_s) {
			err_set(e, false, 0, "data_dir %s is still in use by "
			    "%s after %d s: not starting", data_dir, who,
			    wait_s);
			goto fail;
		}
		if (!said) {
			log_info("data_dir %s is in use by %s: waiting up to "
			    "%d s for it to end", data_dir, who, wait_s);
			said = true;
		}
		(void)nanosleep(&nap, NULL);
	}
	if ((l->fd = datalock_open_owner(dirfd, data_dir, e)) == -1)
		goto fail;
	l->dirfd = dirfd;
	if (said)
		log_info("data_dir %s is free now", data_dir);
	datalock_set(l, self, DL_RUNNING);
	return 0;
fail:
	close(dirfd);
	return -1;
}

/* datalock_set - one write of the whole line, then the length */
void
datalock_set(const struct datalock *l, pid_t pid, enum datalock_state s)
{
	struct datalock_owner	o = { pid, s };
	char			buf[DATALOCK_LINE_MAX];
	int			n;

	if (l->fd == -1 || (n = datalock_format(buf, sizeof(buf), &o)) == -1)
		return;
	if (pwrite(l->fd, buf, (size_t)n, 0) != n ||
	    ftruncate(l->fd, n) == -1)
		log_warn("data_dir owner file");
}
