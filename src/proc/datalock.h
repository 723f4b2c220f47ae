/*
 * datalock.h - one instance per data dir: the exclusive lock of "postern
 * serve" on its data_dir, and DATA/owner, the line that says who holds it.
 */
#ifndef POSTERN_DATALOCK_H
#define POSTERN_DATALOCK_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

struct err;

#define DATALOCK_WAIT		30	/* seconds a new serve waits for a
					   stopping or draining holder */
#define DATALOCK_OWNER		"owner"	/* the file in data_dir */
#define DATALOCK_LINE_MAX	64	/* its content, bytes */

enum datalock_state {
	DL_UNKNOWN,		/* no file, or not readable as one line */
	DL_RUNNING,		/* a parent serving */
	DL_STOPPING,		/* a parent shutting down (SIGTERM) */
	DL_DRAINING,		/* a queue finishing its commits, its parent
				   gone or stopping */
};

struct datalock_owner {
	pid_t			 pid;	/* 0: unknown */
	enum datalock_state	 state;
};

/* the lock: flock(2) on the data dir itself, and DATA/owner open */
struct datalock {
	int	dirfd;		/* holds the lock; -1 when not taken */
	int	fd;		/* DATA/owner, read-write */
};

/* datalock_parse - "pid=N state=S\n"; -1 if it is not exactly that */
int		 datalock_parse(const char *buf, size_t n,
		    struct datalock_owner *);
/* datalock_format - the line of o into buf; its length, or -1 */
int		 datalock_format(char *buf, size_t size,
		    const struct datalock_owner *);
/* datalock_state_name - "running", ... */
const char	*datalock_state_name(enum datalock_state);
/*
 * datalock_should_wait - whether a serve that found the lock held by o
 * waits for it (a holder going away: stopping, draining, a running
 * parent that is dead, or unknown) rather than refusing at once
 */
bool		 datalock_should_wait(const struct datalock_owner *o,
		    bool pid_alive);
/*
 * datalock_take - lock data_dir for this process and its children: at
 * once if free; if held by an instance going away, after waiting for it
 * up to wait_s seconds; else -1 with e naming the holder's PID.  On
 * success DATA/owner says self is running.
 */
int		 datalock_take(struct datalock *, const char *data_dir,
		    pid_t self, int wait_s, struct err *);
/* datalock_set - rewrite DATA/owner (the lock's holder: parent or queue) */
void		 datalock_set(const struct datalock *, pid_t,
		    enum datalock_state);

#endif
