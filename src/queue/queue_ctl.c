/*
 * queue_ctl.c - the queue's control socket, for "postern queue"
 * (queue_ctl.h; the requests and answers are M_CTL_* of msgtypes.h).
 *
 * DATA/queue/control: AF_UNIX SOCK_SEQPACKET, mode 0600, owned by the
 * user the queue runs as (root is let in by the file mode anyway);
 * created at start after unlinking a stale one.  A connection must come
 * from root or from our own uid (SO_PEERCRED).  Everything received is
 * untrusted-but-local input: one request per connection, at most
 * Q_CTL_REQ_MAX octets, parsed strictly; anything malformed or too big
 * closes that connection, never the queue.  At most Q_CTL_CONNS at once,
 * each for at most Q_CTL_TIMEOUT seconds.  The answer is sent without
 * blocking the loop, then the connection is closed.
 *
 * A message the delivery thread owns (busy) is shown by its fixed fields
 * only: its recipients are being written by that thread.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "buf.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "strutil.h"
#include "xmalloc.h"
#include "queue/qplan.h"
#include "queue/queue_sched.h"
#include "queue/queue_ctl.h"
#include "queue/queue_state.h"

#define Q_CTL_CONNS	8	/* connections at once */
#define Q_CTL_TIMEOUT	10	/* seconds per connection */

struct qconn {
	TAILQ_ENTRY(qconn)	 entry;
	struct qctl		*ctl;
	int			 fd;
	struct event		*rev, *wev, *timer;
	struct msg		*out;		/* the answer */
	size_t			 nout, iout;
};

struct qctl {
	struct queue		*q;
	int			 fd;
	struct event		*ev;
	char			 path[PATH_MAX];
	TAILQ_HEAD(, qconn)	 conns;
	size_t			 n;
};

/* conn_close - forget a connection */
static void
conn_close(struct qconn *c)
{
	size_t	i;

	TAILQ_REMOVE(&c->ctl->conns, c, entry);
	c->ctl->n--;
	event_free(c->rev);
	event_free(c->wev);
	event_free(c->timer);
	for (i = c->iout; i < c->nout; i++)
		msg_free(&c->out[i]);
	free(c->out);
	close(c->fd);
	free(c);
}

/* out_add - room for one more datagram of the answer (its codec fills
 * it) */
static struct msg *
out_add(struct qconn *c)
{
	c->out = xreallocarray(c->out, c->nout + 1, sizeof(*c->out));
	return &c->out[c->nout++];
}

/* out_line - an M_CTL_LINE (printf style, LF added) */
static void
out_line(struct qconn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
out_line(struct qconn *c, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	ipc_ctl_line_put(out_add(c), &(struct ipc_ctl_line){ .text = s });
	free(s);
}

/* out_end - the M_CTL_END */
static void
out_end(struct qconn *c, uint32_t status, const char *text)
{
	ipc_ctl_end_put(out_add(c), &(struct ipc_ctl_end){ .status = status,
	    .text = text });
}

/* span - "4m12s" for a number of seconds */
static void
span(char *out, size_t sz, long long s)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		(void)snprintf(out, sz, "%llds", s);
	else if (s < 3600)
		(void)snprintf(out, sz, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		(void)snprintf(out, sz, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else
		(void)snprintf(out, sz, "%lldd%02lldh", s / 86400,
		    s / 3600 % 24);
}

/* next_of - when the next attempt for m is, in words */
static void
next_of(const struct qmsg *m, time_t now, char *out, size_t sz)
{
	const struct env_rcpt	*r;
	time_t			 next = -1;
	size_t			 i;
	bool			 flight = false;
	char			 s[32];

	for (i = 0; i < m->env.nrcpts; i++) {
		r = &m->env.rcpts[i];
		if (r->state != RCPT_PENDING)
			continue;
		if (r->job != 0)
			flight = true;
		else if (next == -1 || r->next_try < next)
			next = r->next_try;
	}
	if (flight)
		(void)str_copy(out, "in-flight", sz);
	else if (next == -1)
		(void)str_copy(out, qplan_count(&m->env, RCPT_FAILED, false) ?
		    "bouncing" : "-", sz);
	else if (next <= now)
		(void)str_copy(out, "now", sz);
	else {
		span(s, sizeof(s), (long long)(next - now));
		(void)snprintf(out, sz, "in %s", s);
	}
}

/* list_rcpts - under a message: each recipient not yet through, why */
static void
list_rcpts(struct qconn *c, const struct qmsg *m)
{
	const struct env_rcpt	*r;
	size_t			 i;

	for (i = 0; i < m->env.nrcpts; i++) {
		r = &m->env.rcpts[i];
		if (r->state != RCPT_PENDING && r->state != RCPT_FAILED)
			continue;
		out_line(c, "    <%s> %s attempts=%u%s%s", r->addr,
		    r->state == RCPT_PENDING ? "pending" : "failed",
		    r->attempts, r->last_error != NULL ? " error: " : "",
		    r->last_error != NULL ? r->last_error : "");
	}
}

/* do_list - one line per message, then one per recipient waiting */
static void
do_list(struct qconn *c)
{
	struct qmsg	*m;
	time_t		 now = time(NULL);
	size_t		 n = 0;
	char		 age[32], next[64];

	TAILQ_FOREACH(m, &c->ctl->q->msgs, entry) {
		span(age, sizeof(age), (long long)(now - m->env.created));
		if (m->busy) {
			out_line(c, "%s %s %llu <%s> ?/%zu delivering",
			    m->env.id, age, (unsigned long long)m->env.size,
			    m->env.from, m->env.nrcpts);
		} else {
			next_of(m, now, next, sizeof(next));
			out_line(c, "%s %s %llu <%s> %zu/%zu %s", m->env.id,
			    age, (unsigned long long)m->env.size, m->env.from,
			    qplan_count(&m->env, RCPT_PENDING, false),
			    m->env.nrcpts, next);
			list_rcpts(c, m);
		}
		n++;
	}
	out_end(c, 0, "");
	log_debug("control: list (%zu messages)", n);
}

static const char *const state_names[] = {
	[RCPT_PENDING] = "pending",
	[RCPT_DONE] = "done",
	[RCPT_FAILED] = "failed",
	[RCPT_BOUNCED] = "bounced",
};

/* do_show - the envelope of one message */
static void
do_show(struct qconn *c, struct qmsg *m)
{
	const struct env_rcpt	*r;
	time_t			 now = time(NULL);
	size_t			 i;
	char			 s[32], when[64];

	span(s, sizeof(s), (long long)(now - m->env.created));
	out_line(c, "id: %s", m->env.id);
	out_line(c, "created: %lld (%s ago)", (long long)m->env.created, s);
	out_line(c, "size: %llu", (unsigned long long)m->env.size);
	out_line(c, "from: <%s>", m->env.from);
	if (m->env.auth_user != NULL)
		out_line(c, "auth: %s", m->env.auth_user);
	out_line(c, "client: %s", m->env.client != NULL ? m->env.client : "");
	out_line(c, "flags: %u", (unsigned)m->env.flags);
	if (m->busy) {
		out_line(c, "recipients: %zu, being delivered now (ask again)",
		    m->env.nrcpts);
		out_end(c, 0, "");
		return;
	}
	if (m->env.warned != 0)
		out_line(c, "delay warning sent: %lld",
		    (long long)m->env.warned);
	for (i = 0; i < m->env.nrcpts; i++) {
		r = &m->env.rcpts[i];
		if (r->state != RCPT_PENDING)
			(void)str_copy(when, "-", sizeof(when));
		else if (r->job != 0)
			(void)str_copy(when, "in flight", sizeof(when));
		else if (r->next_try <= now)
			(void)str_copy(when, "now", sizeof(when));
		else {
			span(s, sizeof(s), (long long)(r->next_try - now));
			(void)snprintf(when, sizeof(when), "in %s", s);
		}
		out_line(c, "rcpt: <%s> (orig <%s>) state=%s attempts=%u "
		    "next_try=%s", r->addr, r->orig != NULL ? r->orig : r->addr,
		    (size_t)r->state < 4 ? state_names[r->state] : "?",
		    r->attempts, when);
		if (r->last_error != NULL)
			out_line(c, "  last error: %s", r->last_error);
	}
	out_end(c, 0, "");
}

/* do_show_done - a message that left the queue lately: its outcome */
static bool
do_show_done(struct qconn *c, const char *id)
{
	const struct qdone	*d = qdone_find(c->ctl->q, id);
	char			*text, *p, *line, s[32];

	if (d == NULL)
		return false;
	span(s, sizeof(s), (long long)(time(NULL) - d->when));
	out_line(c, "id: %s", d->id);
	out_line(c, "done: left the queue %s ago", s);
	text = xstrdup(d->text);
	for (p = text; (line = strsep(&p, "\n")) != NULL;)
		if (line[0] != '\0')
			out_line(c, "%s", line);
	free(text);
	out_end(c, 0, "");
	return true;
}

/* conn_request - one request, answered into c->out; -1: malformed */
static int
conn_request(struct qconn *c, struct msg *req)
{
	struct queue	*q = c->ctl->q;
	struct qmsg		*m, *next;
	struct ipc_ctl_id	 ci = { .id = "" };
	struct err		 e;
	const char		*id;
	size_t			 n = 0;
	int			 rc;

	if (req->type == M_CTL_Q_LIST) {
		if (ipc_empty_get(req, M_CTL_Q_LIST, NULL) == -1)
			return -1;
	} else if (ipc_ctl_id_get(req, req->type, &ci, NULL) == -1)
		return -1;
	id = ci.id;
	if (strlen(id) > SPOOL_ID_LEN || str_has_ctl(id, strlen(id)))
		return -1;
	switch (req->type) {
	case M_CTL_Q_LIST:
		do_list(c);
		return 0;
	case M_CTL_Q_SHOW:
	case M_CTL_Q_FLUSH:
	case M_CTL_Q_REMOVE:
		break;
	default:
		return -1;
	}
	if (req->type == M_CTL_Q_FLUSH && id[0] == '\0') {
		for (m = TAILQ_FIRST(&q->msgs); m != NULL; m = next) {
			next = TAILQ_NEXT(m, entry);
			queue_sched_flush(q, m);
			n++;
		}
		log_info("flush of %zu messages asked by admin", n);
		out_line(c, "%zu messages flushed", n);
		out_end(c, 0, "");
		return 0;
	}
	if ((m = qmsg_find(q, id)) == NULL) {
		if (req->type == M_CTL_Q_SHOW && do_show_done(c, id))
			return 0;
		out_end(c, 1, "no such message in the queue");
		return 0;
	}
	switch (req->type) {
	case M_CTL_Q_SHOW:
		do_show(c, m);
		break;
	case M_CTL_Q_FLUSH:
		log_info("msgid=%s flush asked by admin", id);
		queue_sched_flush(q, m);
		out_line(c, "%s flushed", id);
		out_end(c, 0, "");
		break;
	default:
		if ((rc = queue_sched_remove(q, m, &e)) == -1)
			out_end(c, 2, e.msg);
		else {
			out_line(c, rc == 0 ? "%s removed" : "%s will be "
			    "removed once its current delivery ends", id);
			out_end(c, 0, "");
		}
		break;
	}
	return 0;
}

/* conn_write - send what the socket takes; close once all is sent */
static void
conn_write(evutil_socket_t fd, short what, void *arg)
{
	struct qconn	*c = arg;
	struct msg	*m;
	ssize_t		 n;

	(void)what;
	while (c->iout < c->nout) {
		m = &c->out[c->iout];
		n = send(fd, m->data, m->len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			event_add(c->wev, NULL);
			return;
		}
		if (n == -1) {
			log_debug("control: send: %s", strerror(errno));
			break;
		}
		msg_free(m);
		c->iout++;
	}
	conn_close(c);
}

/* conn_read - the request: bounded, parsed, answered */
static void
conn_read(evutil_socket_t fd, short what, void *arg)
{
	struct qconn	*c = arg;
	struct msg	 req;
	unsigned char	 buf[Q_CTL_REQ_MAX];
	ssize_t		 n;
	int		 rc;

	(void)what;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0 || (size_t)n > sizeof(buf) ||
	    msg_from_bytes(&req, buf, (size_t)n) == -1) {
		if (n != 0)
			log_warnx("control: bad request: closing");
		conn_close(c);
		return;
	}
	rc = conn_request(c, &req);
	msg_free(&req);
	if (rc == -1) {
		log_warnx("control: malformed request: closing");
		conn_close(c);
		return;
	}
	event_del(c->rev);
	conn_write(fd, EV_WRITE, c);
}

/* conn_timeout - too slow */
static void
conn_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	log_warnx("control: connection timed out");
	conn_close(arg);
}

/* ctl_accept - a new connection, from root or ourselves only */
static void
ctl_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct qctl	*ctl = arg;
	struct qconn	*c;
	struct ucred	 cr;
	socklen_t	 len = sizeof(cr);
	struct timeval	 tv = { Q_CTL_TIMEOUT, 0 };
	int		 fd;

	(void)what;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			log_warn("control: accept");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1 ||
	    (cr.uid != 0 && cr.uid != geteuid()) ||
	    ctl->n >= Q_CTL_CONNS) {
		log_warnx("control: connection refused");
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->ctl = ctl;
	c->fd = fd;
	if ((c->rev = event_new(ctl->q->base, fd, EV_READ | EV_PERSIST,
	    conn_read, c)) == NULL ||
	    (c->wev = event_new(ctl->q->base, fd, EV_WRITE, conn_write,
	    c)) == NULL ||
	    (c->timer = evtimer_new(ctl->q->base, conn_timeout, c)) == NULL)
		fatalx("queue: event_new");
	TAILQ_INSERT_TAIL(&ctl->conns, c, entry);
	ctl->n++;
	event_add(c->rev, NULL);
	evtimer_add(c->timer, &tv);
}

/* queue_ctl_start - the control socket; without it the queue still runs */
void
queue_ctl_start(struct queue *q)
{
	struct qctl		*ctl = xcalloc(1, sizeof(*ctl));
	struct sockaddr_un	 sun;
	mode_t			 old;

	ctl->q = q;
	ctl->fd = -1;
	TAILQ_INIT(&ctl->conns);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(ctl->path, sizeof(ctl->path), "%s/queue/control",
	    q->conf->data_dir) >= sizeof(sun.sun_path)) {
		log_warnx("control socket path too long: postern queue will "
		    "not work");
		free(ctl);
		return;
	}
	memcpy(sun.sun_path, ctl->path, strlen(ctl->path) + 1);
	(void)unlink(ctl->path);
	if ((ctl->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	old = umask(077);
	if (bind(ctl->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		goto fail;
	}
	umask(old);
	if (chmod(ctl->path, 0600) == -1 || listen(ctl->fd, Q_CTL_CONNS) == -1)
		goto fail;
	if ((ctl->ev = event_new(q->base, ctl->fd, EV_READ | EV_PERSIST,
	    ctl_accept, ctl)) == NULL || event_add(ctl->ev, NULL) == -1)
		fatalx("queue: event_new");
	q->ctl = ctl;
	log_debug("control socket %s", ctl->path);
	return;
fail:
	log_warn("control socket %s: postern queue will not work", ctl->path);
	if (ctl->fd != -1)
		close(ctl->fd);
	free(ctl);
}

/* queue_ctl_free - close everything, remove the socket */
void
queue_ctl_free(struct queue *q)
{
	struct qctl	*ctl = q->ctl;
	struct qconn	*c;

	if (ctl == NULL)
		return;
	while ((c = TAILQ_FIRST(&ctl->conns)) != NULL)
		conn_close(c);
	event_free(ctl->ev);
	close(ctl->fd);
	(void)unlink(ctl->path);
	free(ctl);
	q->ctl = NULL;
}
