/*
 * queue_pipe.c - pipe aliases (queue_pipe.h): a recipient "| command"
 * (alias.c) gets the message on the command's standard input, run by the
 * queue's pipe thread.
 *
 * The command (cmdline.h: split without a shell) runs as the queue's
 * user, in "/", in a process group of its own, with a clean environment:
 * PATH, HOME=/, LANG=C, SENDER (the envelope sender, "" for <>),
 * RECIPIENT (the alias whose target it is), ORIGINAL_RECIPIENT (as the
 * client gave it) and QUEUE_ID; standard output goes to /dev/null,
 * standard error is read for its first line.  It is given Return-Path,
 * Delivered-To and the message's own prefix, then the body.  Its exit
 * status decides: 0 delivered; 75 (EX_TEMPFAIL), a signal, or running
 * longer than pipe_timeout (then its group is killed) retried per
 * sched.h; anything else, or a program that cannot be started, failed
 * (a bounce, with the first line of its standard error).  A stopping
 * queue kills the commands running (retried at the next start).
 *
 * One command runs at a time; a slow one delays only other pipes, never
 * Maildir or remote delivery.  A message is not marked busy for a pipe:
 * as for remote jobs (queue_remote.c) its recipient carries the job id,
 * and the result is applied in the loop, or held until the Maildir
 * thread gives the message back.  Loop, but for pipe_run (the thread).
 */
#include <sys/queue.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmdline.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "msgtypes.h"
#include "strutil.h"
#include "worker.h"
#include "xmalloc.h"
#include "queue/envelope.h"
#include "queue/qplan.h"
#include "queue/queue_pipe.h"
#include "queue/queue_state.h"
#include "queue/route.h"
#include "queue/sched.h"
#include "queue/spool.h"

#define PIPE_ERRLINE	200		/* octets of stderr kept */
#define PIPE_TICK_MS	50		/* how often the thread looks */
#define PIPE_PATH	"PATH=/usr/local/bin:/usr/bin:/bin"

/* one pipe delivery: one recipient of one message */
struct pjob {
	struct witem		 w;		/* first: the worker's item */
	TAILQ_ENTRY(pjob)	 entry;		/* q->pjobs */
	struct queue		*q;
	uint64_t		 id;
	struct qmsg		*m;
	size_t			 ri;
	/* for the thread */
	struct cmdline		 cmd;
	char			*envp[9];
	char			*prefix;
	int			 body_fd;
	unsigned		 timeout;
	/* its result */
	bool			 done;
	uint32_t		 dr;		/* DR_* */
	char			 reply[PIPE_ERRLINE + 128];
};

static _Atomic bool	pipe_stopping;

/* pjob_free - a job, wherever it is */
static void
pjob_free(struct queue *q, struct pjob *j)
{
	size_t	i;

	TAILQ_REMOVE(&q->pjobs, j, entry);
	cmdline_free(&j->cmd);
	for (i = 0; j->envp[i] != NULL; i++)
		free(j->envp[i]);
	free(j->prefix);
	if (j->body_fd != -1)
		(void)close(j->body_fd);
	free(j);
}

/*
 * ---- the thread ----
 */

/* mono_ms - a monotonic clock, in milliseconds */
static int64_t
mono_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* the first line of a command's standard error */
struct errline {
	char	text[PIPE_ERRLINE + 1];
	size_t	n;
	bool	eol;		/* it ended: the rest is read and dropped */
};

/* err_take - what the command wrote to *fd (its stderr); at its end
 * *fd is closed and becomes -1 (poll then ignores it: no spinning) */
static void
err_take(int *fd, struct errline *l)
{
	char	buf[512];
	ssize_t	r, i;

	if (*fd == -1)
		return;
	while ((r = read(*fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < r && !l->eol; i++) {
			if (buf[i] == '\n')
				l->eol = true;
			else if (l->n < PIPE_ERRLINE)
				l->text[l->n++] = buf[i];
		}
	if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR)) {
		(void)close(*fd);
		*fd = -1;
	}
}

/* pipe_feed - p to the command's stdin fd, as far as it reads it, its
 * stderr read meanwhile; false once it stopped reading (EPIPE) or the
 * time is up */
static bool
pipe_feed(int fd, const char *p, size_t n, int *errfd, struct errline *l,
    int64_t deadline)
{
	struct pollfd	pfd[2];
	ssize_t		r;

	while (n > 0) {
		if (mono_ms() >= deadline || pipe_stopping)
			return false;
		pfd[0].fd = fd;
		pfd[0].events = POLLOUT;
		pfd[1].fd = *errfd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		if (poll(pfd, 2, PIPE_TICK_MS) == -1 && errno != EINTR)
			return false;
		if (pfd[1].revents & (POLLIN | POLLHUP))
			err_take(errfd, l);
		if (!(pfd[0].revents & (POLLOUT | POLLERR | POLLHUP)))
			continue;
		r = write(fd, p, n);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

/* pipe_spawn - the command, stdin from in, stderr to errw */
static int
pipe_spawn(struct pjob *j, int in, int errw, pid_t *pid)
{
	posix_spawn_file_actions_t	fa;
	posix_spawnattr_t		at;
	sigset_t			none, all;
	int				rc;

	sigemptyset(&none);
	/* the queue ignores SIGPIPE, SIGHUP, SIGINT, SIGTERM: not the command */
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, errw, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawn_file_actions_addchdir_np(&fa, "/");
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(pid, j->cmd.argv[0], &fa, &at, j->cmd.argv,
	    j->envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return rc;
}

/* pipe_result - the job's result from how the command ended */
static void
pipe_result(struct pjob *j, int status, bool late, const char *line)
{
	const char	*sep = line[0] != '\0' ? ": " : "";

	if (late) {
		j->dr = DR_TEMP;
		(void)snprintf(j->reply, sizeof(j->reply), "4.3.0 command %s"
		    "%s%s", pipe_stopping ? "stopped with the queue" :
		    "killed after pipe_timeout", sep, line);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		j->dr = DR_OK;
		(void)snprintf(j->reply, sizeof(j->reply), "2.0.0 command "
		    "exited 0");
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 75) {
		j->dr = DR_TEMP;
		(void)snprintf(j->reply, sizeof(j->reply), "4.3.0 command "
		    "exited 75 (EX_TEMPFAIL)%s%s", sep, line);
	} else if (WIFEXITED(status)) {
		j->dr = DR_PERM;
		(void)snprintf(j->reply, sizeof(j->reply), "5.3.0 command "
		    "exited %d%s%s", WEXITSTATUS(status), sep, line);
	} else {
		j->dr = DR_TEMP;
		(void)snprintf(j->reply, sizeof(j->reply), "4.3.0 command "
		    "killed by signal %d%s%s", WIFSIGNALED(status) ?
		    WTERMSIG(status) : 0, sep, line);
	}
}

/* pipe_run - one command, to its end or its deadline (the thread) */
static void
pipe_run(struct pjob *j)
{
	int		 in[2] = { -1, -1 }, er[2] = { -1, -1 }, status = 0;
	struct errline	 l;
	char		 buf[65536];
	bool		 late = false, fed = true, unread = false;
	int64_t		 deadline = mono_ms() + (int64_t)j->timeout * 1000;
	pid_t		 pid = -1;
	ssize_t		 r;
	int		 rc;

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(er, O_CLOEXEC) == -1) {
		j->dr = DR_TEMP;
		(void)snprintf(j->reply, sizeof(j->reply), "4.3.0 pipe: %s",
		    strerror(errno));
		goto out;
	}
	if ((rc = pipe_spawn(j, in[0], er[1], &pid)) != 0) {
		j->dr = rc == ENOENT || rc == EACCES || rc == ENOEXEC ?
		    DR_PERM : DR_TEMP;
		(void)snprintf(j->reply, sizeof(j->reply), "%s cannot run "
		    "%.200s: %s", j->dr == DR_PERM ? "5.3.0" : "4.3.0",
		    j->cmd.argv[0], strerror(rc));
		pid = -1;
		goto out;
	}
	(void)close(in[0]);
	(void)close(er[1]);
	in[0] = er[1] = -1;
	(void)fcntl(in[1], F_SETFL, O_NONBLOCK);
	(void)fcntl(er[0], F_SETFL, O_NONBLOCK);
	memset(&l, 0, sizeof(l));
	fed = pipe_feed(in[1], j->prefix, strlen(j->prefix), &er[0], &l,
	    deadline);
	while (fed && (r = read(j->body_fd, buf, sizeof(buf))) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			/* never "delivered" with half the message */
			unread = true;
			break;
		}
		fed = pipe_feed(in[1], buf, (size_t)r, &er[0], &l, deadline);
	}
	if (unread) {
		(void)kill(-pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		j->dr = DR_TEMP;
		(void)snprintf(j->reply, sizeof(j->reply), "4.3.0 the message "
		    "cannot be read from the queue");
		goto out;
	}
	(void)close(in[1]);
	in[1] = -1;
	/* its end, reading stderr meanwhile, within the deadline */
	for (;;) {
		if ((rc = waitpid(pid, &status, WNOHANG)) == pid)
			break;
		if (rc == -1 && errno != EINTR) {
			status = 0;
			late = true;
			break;
		}
		if (mono_ms() >= deadline || pipe_stopping) {
			(void)kill(-pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			late = true;
			break;
		}
		{
			struct pollfd	pfd = { er[0], POLLIN, 0 };

			if (er[0] == -1)
				(void)poll(NULL, 0, PIPE_TICK_MS);
			else if (poll(&pfd, 1, PIPE_TICK_MS) > 0)
				err_take(&er[0], &l);
		}
	}
	/* what it left in the group dies with it */
	(void)kill(-pid, SIGKILL);
	err_take(&er[0], &l);
	l.text[l.n] = '\0';
	str_sanitize(l.text);
	pipe_result(j, status, late, l.text);
out:
	if (in[0] != -1)
		(void)close(in[0]);
	if (in[1] != -1)
		(void)close(in[1]);
	if (er[0] != -1)
		(void)close(er[0]);
	if (er[1] != -1)
		(void)close(er[1]);
}

/* pipe_work - the thread: each job in turn */
static void
pipe_work(void *arg, struct witems *items)
{
	struct witem	*it;

	(void)arg;
	TAILQ_FOREACH(it, items, entry)
		pipe_run((struct pjob *)(void *)it);
}

/*
 * ---- the loop ----
 */

/* pjob_apply - the job's result into its message's envelope, logged */
static void
pjob_apply(struct queue *q, struct pjob *j)
{
	struct qmsg		*m = j->m;
	struct env_rcpt		*r = &m->env.rcpts[j->ri];
	struct qplan_conf	 c;
	time_t			 now = queue_state_now(q);

	if (r->job != j->id)
		return;		/* not ours any more */
	c.retry_min = q->conf->retry_min;
	c.retry_max = q->conf->retry_max;
	c.lifetime = q->conf->queue_lifetime;
	c.delay_warning = q->conf->delay_warning;
	switch (qplan_apply(&m->env, j->ri, j->dr, j->reply, "", now, &c)) {
	case QP_DONE:
		log_info("msgid=%s rcpt=<%s> delivered via=<%s> reply=%s",
		    m->env.id, r->addr, r->via != NULL ? r->via : "-",
		    j->reply);
		break;
	case QP_DEFERRED:
		log_warnx("msgid=%s rcpt=<%s> deferred: attempt=%u "
		    "retry_in=%llds error=%s", m->env.id, r->addr,
		    r->attempts, (long long)(r->next_try - now),
		    r->last_error);
		break;
	case QP_FAILED:
		log_warnx("msgid=%s rcpt=<%s> failed: error=%s", m->env.id,
		    r->addr, r->last_error);
		break;
	case QP_EXPIRED:
		log_warnx("msgid=%s rcpt=<%s> failed: gave_up=queue_lifetime "
		    "error=%s", m->env.id, r->addr, r->last_error);
		break;
	}
	m->dirty = true;
}

/* pipe_done - a job back from the thread */
static void
pipe_done(void *arg, struct witem *it)
{
	struct queue	*q = arg;
	struct pjob	*j = (struct pjob *)(void *)it;

	j->done = true;
	if (j->m == NULL) {		/* its message went away */
		pjob_free(q, j);
		return;
	}
	if (j->m->busy)
		return;			/* applied once it is back */
	pjob_apply(q, j);
	qmsg_touch(j->m);
	pjob_free(q, j);
}

/* pjob_env - "NAME=value" */
static char *
pjob_env(const char *name, const char *value)
{
	char	*s;

	xasprintf(&s, "%s=%s", name, value);
	return s;
}

/* pjob_post - recipient ri of m to the thread; false if it cannot go */
static bool
pjob_post(struct queue *q, struct qmsg *m, size_t ri)
{
	struct env_rcpt	*r = &m->env.rcpts[ri];
	struct pjob	*j = xcalloc(1, sizeof(*j));
	const char	*from = qplan_sender(&m->env, r);
	char		 why[128];
	struct err	 e;
	size_t		 k = 0;

	j->q = q;
	j->m = m;
	j->ri = ri;
	j->body_fd = -1;
	TAILQ_INSERT_TAIL(&q->pjobs, j, entry);
	if (cmdline_split(r->addr + 1, &j->cmd, why, sizeof(why)) == -1) {
		/* an envelope from before a change of the rules */
		j->dr = DR_PERM;
		(void)snprintf(j->reply, sizeof(j->reply), "5.3.0 bad "
		    "command: %s", why);
		j->id = ++q->next_jobid;
		r->job = j->id;
		pjob_apply(q, j);
		pjob_free(q, j);
		return true;
	}
	if ((j->body_fd = spool_open_body(&q->sp, m->env.id, &e)) == -1) {
		log_warnx("msgid=%s cannot open the body for a pipe: %s",
		    m->env.id, e.msg);
		pjob_free(q, j);
		return false;
	}
	j->envp[k++] = xstrdup(PIPE_PATH);
	j->envp[k++] = xstrdup("HOME=/");
	j->envp[k++] = xstrdup("LANG=C");
	j->envp[k++] = pjob_env("SENDER", from);
	j->envp[k++] = pjob_env("RECIPIENT", r->via != NULL ? r->via :
	    r->orig);
	j->envp[k++] = pjob_env("ORIGINAL_RECIPIENT", r->orig);
	j->envp[k++] = pjob_env("QUEUE_ID", m->env.id);
	j->envp[k] = NULL;
	j->prefix = route_prefix(from, r->via != NULL ? r->via : r->orig,
	    m->env.prefix);
	j->timeout = q->conf->pipe_timeout;
	j->id = ++q->next_jobid;
	if (!worker_post(&q->pw, &j->w)) {
		pjob_free(q, j);
		return false;
	}
	r->job = j->id;
	log_debug("msgid=%s rcpt=<%s> pipe job %llu", m->env.id, r->addr,
	    (unsigned long long)j->id);
	return true;
}

/* queue_pipe_dispatch - m's due pipe recipients to the thread */
void
queue_pipe_dispatch(struct queue *q, struct qmsg *m, time_t now,
    time_t *next)
{
	struct env_rcpt	*r;
	size_t		 i;
	time_t		 retry;

	for (i = 0; i < m->env.nrcpts; i++) {
		r = &m->env.rcpts[i];
		if (r->state != RCPT_PENDING || r->job != 0 ||
		    !route_is_pipe(r->addr))
			continue;
		if (r->via == NULL) {
			/* a command comes only from an alias: never run what
			 * looks like one otherwise */
			r->state = RCPT_FAILED;
			free(r->last_error);
			r->last_error = xstrdup("5.1.3 not an address, and no "
			    "alias's command");
			m->dirty = true;
			log_warnx("msgid=%s rcpt=<%s> failed: not an address, "
			    "and no alias's command", m->env.id, r->addr);
			continue;
		}
		if (r->next_try > now) {
			if (*next == 0 || r->next_try < *next)
				*next = r->next_try;
			continue;
		}
		if (pjob_post(q, m, i))
			continue;
		retry = now + sched_retry_floor(q->conf->retry_min);
		r->next_try = retry;
		if (*next == 0 || retry < *next)
			*next = retry;
	}
}

/* queue_pipe_release - m is back from the Maildir thread: its results */
void
queue_pipe_release(struct queue *q, struct qmsg *m)
{
	struct pjob	*j, *tmp;

	for (j = TAILQ_FIRST(&q->pjobs); j != NULL; j = tmp) {
		tmp = TAILQ_NEXT(j, entry);
		if (j->m != m || !j->done)
			continue;
		pjob_apply(q, j);
		pjob_free(q, j);
	}
}

/* queue_pipe_forget - m goes away: its jobs forget it */
void
queue_pipe_forget(struct queue *q, struct qmsg *m)
{
	struct pjob	*j, *tmp;

	for (j = TAILQ_FIRST(&q->pjobs); j != NULL; j = tmp) {
		tmp = TAILQ_NEXT(j, entry);
		if (j->m != m)
			continue;
		if (j->done)
			pjob_free(q, j);
		else
			j->m = NULL;	/* the thread has it: freed when back */
	}
}

/* queue_pipe_start - the pipe thread */
void
queue_pipe_start(struct queue *q, void (*on_exit)(void *))
{
	TAILQ_INIT(&q->pjobs);
	pipe_stopping = false;
	worker_start(&q->pw, q->base, "pipe", 1, false, pipe_work, pipe_done,
	    on_exit, q);
}

/* queue_pipe_stop - the commands running are killed; the thread ends */
void
queue_pipe_stop(struct queue *q)
{
	pipe_stopping = true;
	worker_stop(&q->pw);
}

/* queue_pipe_free - once the thread is joined: every job left */
void
queue_pipe_free(struct queue *q)
{
	struct pjob	*j;

	while ((j = TAILQ_FIRST(&q->pjobs)) != NULL)
		pjob_free(q, j);
	TAILQ_INIT(&q->pw.in);
	worker_free(&q->pw);
}
