/*
 * smtp.c - the smtp process: accept loop, IPC with the auth and queue
 * processes, drain on SIGTERM/SIGUSR1.  It calls into smtp_session.c and
 * smtp_limits.c only; nothing calls back into it.
 *
 * Runs unprivileged (chrooted when started as root) with the listening
 * sockets, the TLS contexts and two channels; it opens no file by path.
 * Limits: max_sessions overall and max_sessions_per_ip, checked at accept
 * in the table of smtp_limits.c (one row per worker, so a dead worker's
 * counts are cleared by the parent); the session releases its count.
 */
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "io.h"
#include "listen.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "smtp.h"
#include "smtp_limits.h"
#include "smtp_session.h"
#include "tls.h"
#include "xmalloc.h"

#define DRAIN_MAX_SECONDS	60	/* SIGTERM: give open sessions this long */

struct smtp_listen_ev {
	struct smtp_worker	*w;
	struct listener		*l;
	struct event		*ev;
};

static struct smtp_listen_ev	*lev;
static size_t			 nlev;

/* smtp_refuse - refuse a connection over the limits: 421, then close */
static void
smtp_refuse(int fd, const char *hostname, const char *why)
{
	char	line[512];
	int	n;

	n = snprintf(line, sizeof(line), "421 4.7.0 %s %s\r\n", hostname, why);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* smtp_accept - accept what the listener has, within the session limits */
static void
smtp_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct smtp_listen_ev	*le = arg;
	struct smtp_worker	*w = le->w;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	unsigned		 slot;
	int			 fd, i;

	(void)what;
	for (i = 0; i < 32; i++) {
		sslen = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != ECONNABORTED && errno != EINTR)
				log_warn("accept");
			return;
		}
		slot = smtp_limits_slot(&ss);
		switch (smtp_limits_admit(w->shm, w->row, slot,
		    w->conf->max_sessions, w->conf->max_sessions_per_ip)) {
		case SL_OK:
			break;
		case SL_TOTAL:
			log_info("connection refused: %u sessions",
			    w->conf->max_sessions);
			smtp_refuse(fd, w->conf->hostname,
			    "Too many connections, try again later");
			continue;
		case SL_PER_IP:
			log_info("connection refused: %u sessions from one "
			    "address", w->conf->max_sessions_per_ip);
			smtp_refuse(fd, w->conf->hostname,
			    "Too many connections from your address");
			continue;
		}
		smtp_session_new(w, fd, le->l->kind,
		    (struct sockaddr *)&ss, sslen, slot);
	}
}

/* smtp_ipc - a message from auth, queue or verifier, or one of them gone */
static void
smtp_ipc(struct chan *c, struct msg *m, void *arg)
{
	struct smtp_worker	*w = arg;

	if (m == NULL) {
		if (c == w->auth) {
			/* AUTH answers 454 from now on; mail goes on */
			log_warnx("auth channel closed");
			chan_free(c);
			w->auth = NULL;
			smtp_session_auth_lost(w);
			return;
		}
		if (c == w->verifier) {
			/* checked mail gets 451 until a new generation */
			log_warnx("verifier channel closed");
			chan_free(c);
			w->verifier = NULL;
			smtp_session_verifier_lost(w);
			return;
		}
		/* without the queue nothing can be accepted safely */
		log_warnx("queue channel closed, exiting");
		exit(1);
	}
	smtp_session_ipc(w, m);
}

/* smtp_stop_listening - close every listener of this worker */
static void
smtp_stop_listening(void)
{
	size_t	i;

	for (i = 0; i < nlev; i++) {
		event_del(lev[i].ev);
		close(lev[i].l->fd);
	}
	nlev = 0;
}

/* smtp_drain_deadline - draining took too long: end the loop anyway */
static void
smtp_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_worker	*w = arg;

	(void)fd;
	(void)what;
	log_info("drain deadline reached with %u sessions", w->nsessions);
	event_base_loopbreak(w->base);
}

/* smtp_signal - SIGTERM/SIGINT: shut down; SIGUSR1: a reload, drain */
static void
smtp_signal(evutil_socket_t sig, short what, void *arg)
{
	struct smtp_worker	*w = arg;
	struct timeval		 tv = { DRAIN_MAX_SECONDS, 0 };
	struct event		*ev;

	(void)what;
	if (sig == SIGTERM || sig == SIGINT) {
		if (w->draining == DRAIN_TERM)
			return;
		w->draining = DRAIN_TERM;
		ev = evtimer_new(w->base, smtp_drain_deadline, w);
		evtimer_add(ev, &tv);
	} else if (sig == SIGUSR1) {
		if (w->draining)
			return;
		w->draining = DRAIN_RELOAD;
		tv.tv_sec = (time_t)w->conf->session_timeout + 5;
		ev = evtimer_new(w->base, smtp_drain_deadline, w);
		evtimer_add(ev, &tv);
	}
	smtp_stop_listening();
	smtp_session_drain(w);
}

/* smtp_main - the worker: listeners, channels, signals, then the loop */
void
smtp_main(struct conf *conf, struct tls_store *tls, struct listener *ls,
    size_t nls, int auth_sock, int queue_sock, int verify_sock,
    struct smtp_shm *shm, unsigned row)
{
	struct smtp_worker	*w = xcalloc(1, sizeof(*w));
	struct event		*sigs[4];
	sigset_t		 set;
	size_t			 i;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if ((w->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	w->conf = conf;
	w->tls = tls;
	w->shm = shm;
	w->row = row;
	w->next_id = ((uint64_t)getpid() << 32) ^ ((uint64_t)row << 24);
	w->auth = chan_new(w->base, auth_sock, smtp_ipc, w);
	w->queue = chan_new(w->base, queue_sock, smtp_ipc, w);
	if (verify_sock != -1)
		w->verifier = chan_new(w->base, verify_sock, smtp_ipc, w);
	lev = xcalloc(nls ? nls : 1, sizeof(*lev));
	for (i = 0; i < nls; i++) {
		lev[i].w = w;
		lev[i].l = &ls[i];
		lev[i].ev = event_new(w->base, ls[i].fd, EV_READ | EV_PERSIST,
		    smtp_accept, &lev[i]);
		event_add(lev[i].ev, NULL);
	}
	nlev = nls;
	sigs[0] = evsignal_new(w->base, SIGTERM, smtp_signal, w);
	sigs[1] = evsignal_new(w->base, SIGINT, smtp_signal, w);
	sigs[2] = evsignal_new(w->base, SIGUSR1, smtp_signal, w);
	for (i = 0; i < 3; i++)
		evsignal_add(sigs[i], NULL);
	/* the parent forked us with these blocked: handlers are in place */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	log_info("smtp worker ready, %zu listeners", nls);
	event_base_dispatch(w->base);
	exit(0);
}
