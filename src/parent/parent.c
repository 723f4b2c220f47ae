/*
 * parent.c - "postern serve": reads the config, binds the ports, starts
 * and supervises the other processes, reloads on SIGHUP.
 *
 * Runs as the user that started it (root in production).  Processes:
 *   queue   one, for the life of the server (owns the spool)
 *   deliver one (outbound connections), restarted with the queue
 *   signer  one (the DKIM keys: signs the queue's digests), restarted
 *           with the queue
 *   auth    one per generation (holds the password hashes)
 *   verifier one per generation with inbound_checks (the inbound
 *           checks' DNS: SPF, DKIM keys, DMARC)
 *   smtp    smtp_workers per generation (hostile input, chrooted)
 * A generation is an auth process, a verifier and their smtp workers,
 * started from one config snapshot.  Reload starts a new generation on
 * the same listening sockets and tells the old workers (SIGUSR1) to stop
 * accepting and exit once their sessions end: no connection or message
 * is dropped.  A child that dies unexpectedly makes the parent start a
 * fresh generation (and a fresh queue if that was the queue).  SIGTERM:
 * workers first (they finish open transactions), then the queue.
 *
 * One instance per data dir (datalock.c): before anything is bound or
 * started the parent locks data_dir; the queue and the deliver process
 * inherit the lock, no other child keeps it, so it lasts as long as any
 * process of this instance that can touch the spool or deliver.  A
 * second serve refuses, naming our PID, or waits (DATALOCK_WAIT) for an
 * instance going away.  If the parent dies (SIGKILL), its children
 * notice at once: the smtp workers get SIGTERM (proc_parent_watch) and
 * drain, the queue and the deliver process see their channel to the
 * parent close, auth ends with its last smtp worker.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "auth/auth.h"
#include "deliver/deliver.h"
#include "conf.h"
#include "datalock.h"
#include "err.h"
#include "listen.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "parent.h"
#include "proc.h"
#include "queue/queue.h"
#include "signer/signer.h"
#include "smtp/smtp.h"
#include "srs.h"
#include "strutil.h"
#include "ticket.h"
#include "tls.h"
#include "verify/verifier.h"
#include "xmalloc.h"

#define MAX_CHILDREN		(SMTP_SHM_ROWS + 8)
#define RESTART_WINDOW		30	/* seconds */
#define RESTART_MAX		10	/* unexpected deaths per window */
#define STOP_GRACE		70	/* seconds before SIGKILL at shutdown */

enum child_kind {
	CK_QUEUE,
	CK_DELIVER,
	CK_SIGNER,
	CK_AUTH,
	CK_VERIFY,
	CK_SMTP,
};

struct child {
	pid_t		 pid;
	enum child_kind	 kind;
	unsigned	 gen;
	unsigned	 row;		/* smtp: shm row */
};

struct parent {
	struct event_base	*base;
	char			 confdir[PATH_MAX];
	struct conf		*conf;
	struct tls_store	*tls;
	struct listener		*ls;
	size_t			 nls;
	struct proc_user	 user;
	struct smtp_shm		*shm;
	bool			 rows_used[SMTP_SHM_ROWS];
	struct child		 kids[MAX_CHILDREN];
	size_t			 nkids;
	unsigned		 gen;
	int			 queue_sock;	/* parent's end */
	int			 deliver_sock;	/* parent's end */
	int			 signer_sock;	/* parent's end */
	bool			 stopping;
	bool			 failed;	/* gave up restarting */
	time_t			 restart_times[RESTART_MAX];
	size_t			 nrestarts;
	char			 empty_dir[PATH_MAX];
	struct event		*stop_timer;
	struct datalock		 lock;		/* on data_dir */
};

static void
child_add(struct parent *p, pid_t pid, enum child_kind kind, unsigned row)
{
	if (p->nkids == MAX_CHILDREN)
		fatalx("too many children");
	p->kids[p->nkids].pid = pid;
	p->kids[p->nkids].kind = kind;
	p->kids[p->nkids].gen = p->gen;
	p->kids[p->nkids].row = row;
	p->nkids++;
}

/* child_signals - block or unblock the signals children handle */
static void
child_signals(bool block)
{
	sigset_t	set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	(void)sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/*
 * child_fork - fork; the child drops the parent's event loop, resets
 * signal dispositions, and gets 0; deathsig (0: none) is sent to it if
 * the parent dies
 */
static pid_t
child_fork(struct parent *p, int deathsig, bool ticket_key)
{
	pid_t	pid, self = getpid();
	int	sig;

	/* the child starts with these blocked, so a signal sent before it
	 * has its handlers cannot kill it; each role unblocks when ready */
	child_signals(true);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid != 0)
		child_signals(false);
	if (pid == 0) {
		/* the epoll instance is shared with the parent: move to a
		 * private one before freeing, or the parent's events vanish */
		(void)event_reinit(p->base);
		event_base_free(p->base);
		p->base = NULL;
		for (sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				(void)signal(sig, SIG_DFL);
		(void)signal(SIGPIPE, SIG_IGN);
		if (deathsig != 0)
			proc_parent_watch(deathsig, self);
		/* only auth (issues) and the queue (checks) keep it */
		if (!ticket_key)
			ticket_forget();
	}
	return pid;
}



static int
prepare_dir(const char *path, mode_t mode, const struct proc_user *u,
    struct err *e)
{
	if (mkdir(path, mode) == -1 && errno != EEXIST)
		return err_set(e, false, errno, "mkdir %s: %s", path,
		    strerror(errno));
	if (u != NULL && u->drop && chown(path, u->uid, u->gid) == -1)
		return err_set(e, false, errno, "chown %s: %s", path,
		    strerror(errno));
	return 0;
}

/*
 * share_users_files - the queue re-reads the domain table on reload as
 * the unprivileged user: each users file must be readable by its group
 * (root:GROUP 0640, as user-add writes it).  Fix what a copy or an
 * editor changed, and say so.
 */
static void
share_users_files(struct parent *p, const struct conf *c)
{
	struct stat	 st;
	char		 path[PATH_MAX];
	size_t		 i;

	if (!p->user.drop)
		return;
	for (i = 0; i < c->ndomains; i++) {
		if (str_fmt(path, sizeof(path), "%s/domains/%s/users",
		    p->confdir, c->domains[i].name) == -1 ||
		    lstat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (st.st_gid == p->user.gid && (st.st_mode & 0777) == 0640)
			continue;
		if (chown(path, 0, p->user.gid) == -1 ||
		    chmod(path, 0640) == -1)
			log_warn("%s: cannot make it readable by group %u",
			    path, (unsigned)p->user.gid);
		else
			log_info("%s: now root:%u mode 0640", path,
			    (unsigned)p->user.gid);
	}
}

/* share_one - path root:GROUP with mode, if it is a dir or file (no link) */
static void
share_one(struct parent *p, const char *path, bool dir, mode_t mode)
{
	struct stat	st;
	int		fd;

	/* never through a link: the change is made on what was opened */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
	    (dir ? O_DIRECTORY : 0))) == -1)
		return;
	if (fstat(fd, &st) == -1 || (dir ? !S_ISDIR(st.st_mode) :
	    !S_ISREG(st.st_mode)) || (st.st_uid == 0 &&
	    st.st_gid == p->user.gid && (st.st_mode & 0777) == mode)) {
		close(fd);
		return;
	}
	if (fchown(fd, 0, p->user.gid) == -1 || fchmod(fd, mode) == -1)
		log_warn("%s: cannot make it readable by group %u", path,
		    (unsigned)p->user.gid);
	else
		log_info("%s: now root:%u mode %04o", path,
		    (unsigned)p->user.gid, (unsigned)mode);
	close(fd);
}

/*
 * share_dkim_keys - the signer reads the keys as the unprivileged user
 * (at start and at every reload): each domain's dkim/ folder root:GROUP
 * 0750 and every SELECTOR.pem in it root:GROUP 0640, as dkim-keygen
 * makes them.  Fix what a copy changed, and say so; nothing else can
 * read them (smtp is chrooted away from the config).
 */
static void
share_dkim_keys(struct parent *p, const struct conf *c)
{
	char		 dir[PATH_MAX], path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	size_t		 i, len;

	if (!p->user.drop)
		return;
	for (i = 0; i < c->ndomains; i++) {
		if (str_fmt(dir, sizeof(dir), "%s/domains/%s/dkim",
		    p->confdir, c->domains[i].name) == -1 ||
		    (d = opendir(dir)) == NULL)
			continue;
		share_one(p, dir, true, 0750);
		while ((de = readdir(d)) != NULL) {
			len = strlen(de->d_name);
			if (len < 5 || de->d_name[0] == '.' ||
			    strcmp(de->d_name + len - 4, ".pem") != 0 ||
			    str_fmt(path, sizeof(path), "%s/%s", dir,
			    de->d_name) == -1)
				continue;
			share_one(p, path, false, 0640);
		}
		(void)closedir(d);
	}
}

/*
 * check_srs - the config's srs_secrets, if there is one, must parse (at
 * start and at every reload: the queue would otherwise sign forwarded
 * mail with no secret, or keep an old one, and say so only in its log);
 * root:GROUP 0640, as init writes it, for the queue to read it.  Only the
 * queue keeps the secrets.
 */
static int
check_srs(struct parent *p, const struct conf *c, struct err *e)
{
	struct srs	*s = xcalloc(1, sizeof(*s));
	char		 path[PATH_MAX];
	int		 r;

	r = srs_load(s, c->dir, e);
	explicit_bzero(s, sizeof(*s));
	free(s);
	if (r == -1)
		return -1;
	if (r == 0 && p->user.drop && str_fmt(path, sizeof(path),
	    "%s/srs_secrets", c->dir) == 0)
		share_one(p, path, false, 0640);
	return 0;
}

/* prepare_data_dir - the data dir, owned by the unprivileged user */
static int
prepare_data_dir(struct parent *p, struct err *e)
{
	char	path[PATH_MAX];
	const char *dd = p->conf->data_dir;

	if (prepare_dir(dd, 0750, &p->user, e) == -1)
		return -1;
	if (str_fmt(path, sizeof(path), "%s/queue", dd) == -1)
		return err_set(e, false, 0, "%s: path too long", dd);
	if (prepare_dir(path, 0700, &p->user, e) == -1)
		return -1;
	if (str_fmt(path, sizeof(path), "%s/mail", dd) == -1)
		return err_set(e, false, 0, "%s: path too long", dd);
	if (prepare_dir(path, 0700, &p->user, e) == -1)
		return -1;
	/* the smtp workers' chroot: empty, root-owned */
	if (str_fmt(p->empty_dir, sizeof(p->empty_dir), "%s/empty", dd) == -1)
		return err_set(e, false, 0, "%s: path too long", dd);
	if (prepare_dir(p->empty_dir, 0755, NULL, e) == -1)
		return -1;
	return 0;
}

static void
start_queue(struct parent *p)
{
	int	sv[2];
	pid_t	pid;

	if (msg_socketpair(sv) == -1)
		fatal("socketpair");
	if ((pid = child_fork(p, 0, true)) == 0) {
		/* the lock lives in the queue as long as it runs */
		int	keep[3] = { sv[1], p->lock.dirfd, p->lock.fd };

		proc_close_except(keep, 3);
		proc_drop(&p->user, NULL, "queue");
		child_signals(false);
		queue_main(p->conf, sv[1], &p->lock);
	}
	close(sv[1]);
	if (p->queue_sock != -1)
		close(p->queue_sock);
	p->queue_sock = sv[0];
	child_add(p, pid, CK_QUEUE, 0);
	log_info("queue started pid=%d", (int)pid);
}

/*
 * The queue's two helpers, each with a channel to the parent (reload,
 * the end) and one to the queue, sent to it in an M_Q_DELIVER or
 * M_Q_SIGNER; each ends when either channel closes, and is started
 * again with the queue.  deliver: outbound SMTP; it keeps the data
 * dir's lock (never uses it), so no delivery of this instance runs
 * beside the next one.  signer: the DKIM key holder; nothing else of
 * the server ever opens the keys.
 */
struct sidecar {
	const char	*name;
	enum child_kind	 kind;
	uint32_t	 qtype;		/* its channel's message to the queue */
	bool		 lock;		/* keeps the data dir's lock */
	void		(*main)(struct conf *, int parent_sock, int queue_sock);
};

static const struct sidecar sc_deliver = { "deliver", CK_DELIVER,
	M_Q_DELIVER, true, deliver_main };
static const struct sidecar sc_signer = { "signer", CK_SIGNER, M_Q_SIGNER,
	false, signer_main };

/* start_sidecar - sc's process; *sock our end of its parent channel */
static void
start_sidecar(struct parent *p, const struct sidecar *sc, int *sock)
{
	int		sp[2], sq[2];
	pid_t		pid;
	struct msg	m;

	if (msg_socketpair(sp) == -1 || msg_socketpair(sq) == -1)
		fatal("socketpair");
	if ((pid = child_fork(p, 0, false)) == 0) {
		int	keep[3] = { sp[1], sq[1], p->lock.dirfd };

		proc_close_except(keep, sc->lock ? 3 : 2);
		proc_drop(&p->user, NULL, sc->name);
		(void)signal(SIGTERM, SIG_IGN);
		(void)signal(SIGINT, SIG_IGN);
		child_signals(false);
		sc->main(p->conf, sp[1], sq[1]);
		_exit(1);
	}
	close(sp[1]);
	close(sq[1]);
	if (*sock != -1)
		close(*sock);
	*sock = sp[0];
	child_add(p, pid, sc->kind, 0);
	ipc_fd_put(&m, sc->qtype, &(struct ipc_fd){ .fd = sq[0] });
	if (msg_send(p->queue_sock, &m) == -1)
		log_warn("send %s channel to queue", sc->name);
	msg_free(&m);
	log_info("%s started pid=%d", sc->name, (int)pid);
}

static void
start_deliver(struct parent *p)
{
	start_sidecar(p, &sc_deliver, &p->deliver_sock);
}

static void
start_signer(struct parent *p)
{
	start_sidecar(p, &sc_signer, &p->signer_sock);
}

static unsigned
workers_wanted(const struct conf *c)
{
	long	n;

	if (c->smtp_workers > 0)
		return c->smtp_workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > 16)
		n = 16;
	return (unsigned)n;
}

static unsigned
row_take(struct parent *p)
{
	unsigned	i;

	for (i = 0; i < SMTP_SHM_ROWS; i++)
		if (!p->rows_used[i]) {
			p->rows_used[i] = true;
			smtp_shm_clear_row(p->shm, i);
			return i;
		}
	fatalx("no free worker slot");
}

/*
 * start_verifier - the generation's verifier, with the smtp workers'
 * channels vs[i][1]; like auth it ends when its last worker has closed
 * its channel, and its death starts a new generation.  as and qs are
 * the generation's other tables, which the child frees with vs.
 */
static void
start_verifier(struct parent *p, int (*as)[2], int (*qs)[2], int (*vs)[2],
    unsigned n, int *keep)
{
	pid_t		pid;
	unsigned	i;

	if ((pid = child_fork(p, 0, false)) == 0) {
		for (i = 0; i < n; i++)
			keep[i] = vs[i][1];
		free(as);
		free(qs);
		free(vs);
		proc_close_except(keep, n);
		log_procname("verifier");
		proc_drop(&p->user, NULL, "verifier");
		(void)signal(SIGTERM, SIG_IGN);
		(void)signal(SIGINT, SIG_IGN);
		child_signals(false);
		verifier_main(p->conf, keep, n);
	}
	child_add(p, pid, CK_VERIFY, 0);
	log_info("verifier started pid=%d", (int)pid);
}

/* start_generation - an auth process, a verifier, their smtp workers */
static void
start_generation(struct parent *p)
{
	unsigned	 n = workers_wanted(p->conf), i, row;
	int		 (*as)[2] = xcalloc(n, sizeof(*as));
	int		 (*qs)[2] = xcalloc(n, sizeof(*qs));
	int		 (*vs)[2] = xcalloc(n, sizeof(*vs));
	int		*keep = xcalloc(n + 3 + p->nls, sizeof(int));
	bool		 checks = p->conf->inbound_checks;
	struct authdb	*db;
	struct err	 e;
	struct msg	 m;
	pid_t		 pid;

	p->gen++;
	for (i = 0; i < n; i++) {
		if (msg_socketpair(as[i]) == -1 || msg_socketpair(qs[i]) == -1)
			fatal("socketpair");
		vs[i][0] = vs[i][1] = -1;
		if (checks && msg_socketpair(vs[i]) == -1)
			fatal("socketpair");
	}
	if ((pid = child_fork(p, 0, true)) == 0) {
		for (i = 0; i < n; i++)
			keep[i] = as[i][1];
		free(qs);
		free(vs);
		proc_close_except(keep, n);
		log_procname("auth");
		if ((db = auth_load(p->conf, &e)) == NULL)
			fatalx("auth: %s", e.msg);
		proc_drop(&p->user, NULL, "auth");
		/* a signal to the whole group must not kill auth before the
		 * smtp workers: it ends when its last peer closes */
		(void)signal(SIGTERM, SIG_IGN);
		(void)signal(SIGINT, SIG_IGN);
		child_signals(false);
		auth_main(db, keep, n);
	}
	child_add(p, pid, CK_AUTH, 0);
	if (checks)
		start_verifier(p, as, qs, vs, n, keep);
	for (i = 0; i < n; i++) {
		row = row_take(p);
		/* a dead parent: drain as on SIGTERM */
		if ((pid = child_fork(p, SIGTERM, false)) == 0) {
			size_t	k, nk = 0;

			keep[nk++] = as[i][0];
			keep[nk++] = qs[i][0];
			if (vs[i][0] != -1)
				keep[nk++] = vs[i][0];
			for (k = 0; k < p->nls; k++)
				keep[nk++] = p->ls[k].fd;
			proc_close_except(keep, nk);
			proc_drop(&p->user, p->user.drop ? p->empty_dir : NULL,
			    "smtp");
			smtp_main(p->conf, p->tls, p->ls, p->nls, as[i][0],
			    qs[i][0], vs[i][0], p->shm, row);
		}
		child_add(p, pid, CK_SMTP, row);
		ipc_fd_put(&m, M_Q_PEER, &(struct ipc_fd){ .fd = qs[i][1] });
		qs[i][1] = -1;
		if (msg_send(p->queue_sock, &m) == -1)
			log_warn("send worker channel to queue");
		msg_free(&m);
	}
	for (i = 0; i < n; i++) {
		close(as[i][0]);
		close(as[i][1]);
		close(qs[i][0]);
		if (vs[i][0] != -1) {
			close(vs[i][0]);
			close(vs[i][1]);
		}
	}
	free(as);
	free(qs);
	free(vs);
	free(keep);
	log_info("generation %u started: %u smtp workers", p->gen, n);
}

/* retire_old - tell the workers of older generations to drain and exit */
static void
retire_old(struct parent *p)
{
	size_t	i;

	for (i = 0; i < p->nkids; i++)
		if (p->kids[i].kind == CK_SMTP && p->kids[i].gen != p->gen)
			(void)kill(p->kids[i].pid, SIGUSR1);
}

static void
parent_reload(struct parent *p)
{
	struct conf		*nc = xcalloc(1, sizeof(*nc));
	struct tls_store	*nt = NULL;
	struct listener		*nls = NULL;
	size_t			 nnls = 0;
	struct err		 e;
	char			 certdir[PATH_MAX];
	struct msg		 m;

	log_info("reloading configuration from %s", p->confdir);
	if (conf_load(nc, p->confdir, &e) == -1)
		goto fail;
	if (str_fmt(certdir, sizeof(certdir), "%s/certs", p->confdir) == -1) {
		err_set(&e, false, 0, "config path too long");
		goto fail;
	}
	if ((nt = tls_store_load(certdir, nc->hostname, &e)) == NULL)
		goto fail;
	if (strcmp(nc->data_dir, p->conf->data_dir) != 0) {
		err_set(&e, false, 0, "data_dir cannot change on reload "
		    "(restart instead)");
		goto fail;
	}
	if (check_srs(p, nc, &e) == -1)
		goto fail;
	if (listen_open_all(nc, p->ls, p->nls, &nls, &nnls, &e) == -1)
		goto fail;
	listen_close_all(p->ls, p->nls);
	p->ls = nls;
	p->nls = nnls;
	conf_free(p->conf);
	free(p->conf);
	p->conf = nc;
	tls_store_free(p->tls);
	p->tls = nt;
	share_users_files(p, nc);
	share_dkim_keys(p, nc);
	ipc_empty_put(&m, M_RELOAD);
	if (msg_send(p->queue_sock, &m) == -1)
		log_warn("send reload to queue");
	msg_free(&m);
	ipc_empty_put(&m, M_RELOAD);
	if (p->deliver_sock != -1 && msg_send(p->deliver_sock, &m) == -1)
		log_warn("send reload to deliver");
	msg_free(&m);
	ipc_empty_put(&m, M_RELOAD);
	if (p->signer_sock != -1 && msg_send(p->signer_sock, &m) == -1)
		log_warn("send reload to signer");
	msg_free(&m);
	start_generation(p);
	retire_old(p);
	return;
fail:
	log_warnx("reload failed, keeping the running configuration: %s",
	    e.msg);
	tls_store_free(nt);
	conf_free(nc);
	free(nc);
}

static bool
restart_allowed(struct parent *p)
{
	time_t	now = time(NULL);
	size_t	i, j = 0;

	for (i = 0; i < p->nrestarts; i++)
		if (now - p->restart_times[i] < RESTART_WINDOW)
			p->restart_times[j++] = p->restart_times[i];
	p->nrestarts = j;
	if (p->nrestarts >= RESTART_MAX)
		return false;
	p->restart_times[p->nrestarts++] = now;
	return true;
}

/* parent_stop_queue - the queue drains and exits when its channel closes */
static void
parent_stop_queue(struct parent *p)
{
	if (p->queue_sock != -1) {
		close(p->queue_sock);
		p->queue_sock = -1;
	}
}

static void
parent_reap(struct parent *p)
{
	pid_t		pid;
	int		status;
	size_t		i;
	struct child	k;
	bool		need_queue = false, need_gen = false;
	bool		need_deliver = false, need_signer = false;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < p->nkids; i++)
			if (p->kids[i].pid == pid)
				break;
		if (i == p->nkids)
			continue;
		k = p->kids[i];
		p->kids[i] = p->kids[--p->nkids];
		if (k.kind == CK_SMTP) {
			p->rows_used[k.row] = false;
			smtp_shm_clear_row(p->shm, k.row);
		}
		if (WIFSIGNALED(status))
			log_warnx("%s pid=%d killed by signal %d",
			    k.kind == CK_QUEUE ? "queue" : k.kind == CK_DELIVER ?
			    "deliver" : k.kind == CK_SIGNER ? "signer" :
			    k.kind == CK_AUTH ? "auth" : k.kind == CK_VERIFY ?
			    "verifier" : "smtp", (int)pid,
			    WTERMSIG(status));
		else
			log_debug("child pid=%d exited %d", (int)pid,
			    WEXITSTATUS(status));
		if (p->stopping) {
			/* the lock is ours alone again: say so */
			if (k.kind == CK_QUEUE)
				datalock_set(&p->lock, getpid(), DL_STOPPING);
			continue;
		}
		if (k.kind == CK_QUEUE) {
			need_queue = need_gen = need_deliver = true;
			need_signer = true;
		} else if (k.kind == CK_DELIVER) {
			need_deliver = true;
		} else if (k.kind == CK_SIGNER) {
			need_signer = true;
		} else if (k.gen == p->gen && (WIFSIGNALED(status) ||
		    WEXITSTATUS(status) != 0)) {
			need_gen = true;
		}
	}
	if (p->stopping) {
		if (p->nkids == 0)
			event_base_loopbreak(p->base);
		else {
			/* workers gone: now the queue may stop */
			for (i = 0; i < p->nkids; i++)
				if (p->kids[i].kind == CK_SMTP)
					return;
			parent_stop_queue(p);
		}
		return;
	}
	if (!need_gen && !need_deliver && !need_signer)
		return;
	if (!restart_allowed(p)) {
		log_warnx("children keep dying; giving up");
		p->stopping = true;
		p->failed = true;
		for (i = 0; i < p->nkids; i++)
			(void)kill(p->kids[i].pid, SIGTERM);
		event_base_loopbreak(p->base);
		return;
	}
	if (need_queue)
		start_queue(p);
	if (need_deliver)
		start_deliver(p);
	if (need_signer)
		start_signer(p);
	if (need_gen) {
		start_generation(p);
		retire_old(p);
	}
}

static void
parent_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct parent	*p = arg;
	size_t		 i;

	(void)fd;
	(void)what;
	log_warnx("children still running after %d s, killing them",
	    STOP_GRACE);
	for (i = 0; i < p->nkids; i++)
		(void)kill(p->kids[i].pid, SIGKILL);
}

static void
parent_signal(evutil_socket_t sig, short what, void *arg)
{
	struct parent	*p = arg;
	struct timeval	 tv = { STOP_GRACE, 0 };
	size_t		 i;
	bool		 workers = false;

	(void)what;
	switch (sig) {
	case SIGHUP:
		if (!p->stopping)
			parent_reload(p);
		break;
	case SIGCHLD:
		parent_reap(p);
		break;
	case SIGTERM:
	case SIGINT:
		if (p->stopping)
			break;
		log_info("shutting down");
		p->stopping = true;
		datalock_set(&p->lock, getpid(), DL_STOPPING);
		for (i = 0; i < p->nkids; i++)
			if (p->kids[i].kind == CK_SMTP) {
				(void)kill(p->kids[i].pid, SIGTERM);
				workers = true;
			}
		if (!workers)
			parent_stop_queue(p);
		p->stop_timer = evtimer_new(p->base, parent_stop_timeout, p);
		evtimer_add(p->stop_timer, &tv);
		if (p->nkids == 0)
			event_base_loopbreak(p->base);
		break;
	}
}

int
parent_main(const char *confdir, bool debug)
{
	struct parent	*p = xcalloc(1, sizeof(*p));
	struct err	 e;
	char		 certdir[PATH_MAX];
	struct event	*sigs[5];
	int		 signums[5] = { SIGHUP, SIGCHLD, SIGTERM, SIGINT, 0 };
	size_t		 i;

	p->queue_sock = -1;
	p->deliver_sock = -1;
	p->signer_sock = -1;
	(void)snprintf(p->confdir, sizeof(p->confdir), "%s", confdir);
	p->conf = xcalloc(1, sizeof(*p->conf));
	if (conf_load(p->conf, confdir, &e) == -1) {
		fprintf(stderr, "postern: %s\n", e.msg);
		return 1;
	}
	log_init("parent", p->conf->log_syslog, debug);
	ticket_init();
	/* the lock first: a second instance binds and starts nothing */
	if (proc_user_lookup(p->conf->user, &p->user, &e) == -1 ||
	    prepare_data_dir(p, &e) == -1 ||
	    datalock_take(&p->lock, p->conf->data_dir, getpid(), DATALOCK_WAIT,
	    &e) == -1) {
		log_warnx("%s", e.msg);
		return 1;
	}
	if (str_fmt(certdir, sizeof(certdir), "%s/certs", confdir) == -1) {
		log_warnx("config path too long");
		return 1;
	}
	if ((p->tls = tls_store_load(certdir, p->conf->hostname, &e)) == NULL) {
		log_warnx("%s", e.msg);
		return 1;
	}
	if (check_srs(p, p->conf, &e) == -1 ||
	    listen_open_all(p->conf, NULL, 0, &p->ls, &p->nls, &e) == -1) {
		log_warnx("%s", e.msg);
		return 1;
	}
	share_users_files(p, p->conf);
	share_dkim_keys(p, p->conf);
	signal(SIGPIPE, SIG_IGN);
	p->shm = smtp_shm_new();
	if ((p->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	for (i = 0; signums[i] != 0; i++) {
		sigs[i] = evsignal_new(p->base, signums[i], parent_signal, p);
		evsignal_add(sigs[i], NULL);
	}
	start_queue(p);
	start_deliver(p);
	start_signer(p);
	start_generation(p);
	for (i = 0; i < p->nls; i++)
		log_info("listening addr=%s%s%s:%s service=%s",
		    strchr(p->ls[i].addr.host, ':') ? "[" : "",
		    p->ls[i].addr.host,
		    strchr(p->ls[i].addr.host, ':') ? "]" : "",
		    p->ls[i].addr.port, listen_kind_name(p->ls[i].kind));
	log_info("postern ready: hostname=%s data_dir=%s domains=%zu",
	    p->conf->hostname, p->conf->data_dir, p->conf->ndomains);
	event_base_dispatch(p->base);
	log_info("stopped");
	return p->failed ? 1 : 0;
}
