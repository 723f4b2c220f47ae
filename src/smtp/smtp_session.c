/*
 * smtp_session.c - one SMTP session: the state machine and the command
 * table (STYLE.md pattern A), the DATA flow, and the answers of the auth
 * queue and verifier processes (the AUTH exchange is in smtp_auth.c,
 * RCPT in smtp_rcpt.c, the inbound checks' stream side in smtp_check.c).
 * Calls go one way: smtp.c calls in here; this file calls smtp_auth,
 * _rcpt, _check, _policy, _data, _cmd, _reply and _limits, none of which
 * calls back.
 *
 * Runs in the smtp process: unprivileged, hostile input.  It never reads
 * password hashes (it asks auth) and never opens spool paths (the queue
 * hands it a body descriptor).  Limits: command lines LIM_CMD_LINE, AUTH
 * lines LIM_AUTH_LINE, conf's recipients, size, errors, timeouts.  Input
 * lines must end in CRLF; an over-long line gets one reply and is skipped
 * to its LF.  EHLO, HELO, DATA (and an AUTH that awaits a 334) followed by
 * more pipelined input are
 * a synchronization error (RFC 2920 3.1); input pipelined after STARTTLS
 * is discarded before the handshake.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "err.h"
#include "hash.h"
#include "io.h"
#include "line.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "smtp_check.h"
#include "smtp_limits.h"
#include "smtp_session.h"
#include "strutil.h"
#include "tls.h"
#include "xmalloc.h"

#define IN(st)		(1u << (st))
#define ANY		(IN(SS_GREETED) | IN(SS_READY) | IN(SS_MAIL) | IN(SS_RCPT))
#define IO_IN_CAP	(LIM_AUTH_LINE + 4096)
/* input cap while a body streams: a 100 KiB body in two or three reads
 * and wakeups instead of seven */
#define IO_DATA_IN_CAP	65536
#define BODY_FLUSH	65536		/* write the body out past this */
/* one feed turns at most IO_IN_CAP input octets into twice as many (bare
 * LF normalised to CRLF), on top of what is below BODY_FLUSH; larger
 * input is fed in pieces of IO_IN_CAP */
#define BODY_CAP	(BODY_FLUSH + 2 * IO_IN_CAP + 4096)
#define IO_OUT_CAP	65536

enum {
	CF_NOARG	= 1u << 0,	/* trailing text is a syntax error */
	CF_NEEDARG	= 1u << 1,	/* a bare verb is a syntax error */
	CF_LAST		= 1u << 2,	/* must end a pipelined group */
};

struct session_cmd {
	const char	*verb;
	unsigned	 states;
	unsigned	 flags;
	void		(*run)(struct smtp_session *, const char *, size_t);
};

static void	cmd_ehlo(struct smtp_session *, const char *, size_t);
static void	cmd_helo(struct smtp_session *, const char *, size_t);
static void	cmd_starttls(struct smtp_session *, const char *, size_t);
static void	cmd_mail(struct smtp_session *, const char *, size_t);
static void	cmd_data(struct smtp_session *, const char *, size_t);
static void	cmd_rset(struct smtp_session *, const char *, size_t);
static void	cmd_noop(struct smtp_session *, const char *, size_t);
static void	cmd_quit(struct smtp_session *, const char *, size_t);
static void	cmd_vrfy(struct smtp_session *, const char *, size_t);
static void	cmd_help(struct smtp_session *, const char *, size_t);

static const struct session_cmd session_cmds[] = {
	{ "EHLO",	ANY,			CF_NEEDARG | CF_LAST,	cmd_ehlo },
	{ "HELO",	ANY,			CF_NEEDARG | CF_LAST,	cmd_helo },
	{ "STARTTLS",	ANY,			CF_NOARG,		cmd_starttls },
	/* AUTH with an initial response may be pipelined (RFC 4954 4);
	 * smtp_auth_cmd refuses input sent before its 334 */
	{ "AUTH",	IN(SS_READY),		CF_NEEDARG,		smtp_auth_cmd },
	{ "MAIL",	IN(SS_READY),		CF_NEEDARG,		cmd_mail },
	{ "RCPT",	IN(SS_MAIL) | IN(SS_RCPT), CF_NEEDARG,		smtp_rcpt_cmd },
	{ "DATA",	IN(SS_RCPT),		CF_NOARG | CF_LAST,	cmd_data },
	{ "RSET",	ANY,			CF_NOARG,		cmd_rset },
	{ "NOOP",	ANY,			0,			cmd_noop },
	{ "QUIT",	ANY,			CF_NOARG,		cmd_quit },
	{ "VRFY",	ANY,			CF_NEEDARG,		cmd_vrfy },
	{ "HELP",	ANY,			0,			cmd_help },
};

static void	session_io(struct io *, enum io_event, void *);
static void	session_free(struct smtp_session *);
static void	session_input(struct smtp_session *);
static void	session_tx_reset(struct smtp_session *);

/* session_timer - the session time limit is reached: 421, close */
static void
session_timer(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session	*s = arg;

	(void)fd;
	(void)what;
	log_info("session=%016llx session time limit reached", SID(s));
	smtp_close(s, "421 4.4.2 %s Session time limit exceeded, closing "
	    "connection", s->w->conf->hostname);
}

/* smtp_session_new - a new connection: the session, its io, the banner */
void
smtp_session_new(struct smtp_worker *w, int fd, enum port_kind kind,
    const struct sockaddr *sa, socklen_t salen, unsigned ipslot)
{
	struct smtp_session	*s = xcalloc(1, sizeof(*s));
	struct timeval		 tv = { (time_t)w->conf->session_timeout, 0 };
	const void		*a = NULL;

	(void)salen;
	s->id = ++w->next_id;
	s->w = w;
	s->kind = kind;
	s->ipslot = ipslot;
	s->body_fd = -1;
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (a == NULL || inet_ntop(sa->sa_family, a, s->addr,
	    sizeof(s->addr)) == NULL)
		(void)snprintf(s->addr, sizeof(s->addr), "unknown");
	if (sa->sa_family == AF_INET6 && strncmp(s->addr, "::ffff:", 7) == 0)
		memmove(s->addr, s->addr + 7, strlen(s->addr + 7) + 1);
	buf_init(&s->body, BODY_CAP);
	s->hnext = w->buckets[s->id % SMTP_SESSION_BUCKETS];
	w->buckets[s->id % SMTP_SESSION_BUCKETS] = s;
	w->nsessions++;
	s->io = io_new(w->base, fd, session_io, s, IO_IN_CAP, IO_OUT_CAP);
	io_set_timeout(s->io, w->conf->idle_timeout);
	s->timer = evtimer_new(w->base, session_timer, s);
	evtimer_add(s->timer, &tv);
	log_info("session=%016llx connect addr=%s service=%s", SID(s),
	    s->addr, listen_kind_name(kind));
	if (kind == PORT_SUBMISSIONS) {
		s->mode = SM_WAIT;
		s->handshaking = true;
		if (io_start_tls(s->io, tls_store_ctx(w->tls)) == -1) {
			log_warnx("session=%016llx cannot start TLS", SID(s));
			session_free(s);
		}
		return;
	}
	s->mode = SM_CMD;
	smtp_reply(s, "220 %s ESMTP postern", w->conf->hostname);
}

/* smtp_session_find - the session with this id, or NULL */
struct smtp_session *
smtp_session_find(struct smtp_worker *w, uint64_t id)
{
	struct smtp_session	*s;

	for (s = w->buckets[id % SMTP_SESSION_BUCKETS]; s != NULL; s = s->hnext)
		if (s->id == id)
			return s;
	return NULL;
}

/* session_abort_tx - drop an open message: tell the queue, close the fd */
static void
session_abort_tx(struct smtp_session *s)
{
	struct msg	m;

	if (s->body_fd != -1) {
		close(s->body_fd);
		s->body_fd = -1;
	}
	/* once committed the message is the queue's: it may be accepted
	 * even though this client never sees the 250 */
	if (s->msgid[0] != '\0' && !s->committing && s->w->queue != NULL) {
		ipc_q_abort_put(&m, &(struct ipc_q_abort){ .id = s->msgid });
		chan_send(s->w->queue, &m);
	}
	s->msgid[0] = '\0';
	s->committing = false;
}

/*
 * session_body_take - the body buffer for a new message: a spare one of
 * the worker's, or one made at its full size at once.  Grown by
 * doubling from 256 octets, a 100 KiB body was copied nine times over
 * and its fresh pages faulted in, for every message (perf: a tenth of
 * the worker's time in realloc and page faults).
 */
static int
session_body_take(struct smtp_session *s)
{
	struct smtp_worker	*w = s->w;

	if (s->body.data == NULL && w->nbody_spare > 0)
		s->body = w->body_spare[--w->nbody_spare];
	buf_reset(&s->body);
	return buf_reserve(&s->body, BODY_CAP) == NULL ? -1 : 0;
}

/* session_body_give - the message is over: its buffer to the worker's
 * spares (SMTP_BODY_SPARE at most), or freed */
static void
session_body_give(struct smtp_session *s)
{
	struct smtp_worker	*w = s->w;

	if (s->body.data != NULL && w->nbody_spare < SMTP_BODY_SPARE) {
		buf_reset(&s->body);
		w->body_spare[w->nbody_spare++] = s->body;
		buf_init(&s->body, BODY_CAP);
		return;
	}
	buf_release(&s->body);
}

/* session_tx_reset - forget the transaction: back to READY (or GREETED) */
static void
session_tx_reset(struct smtp_session *s)
{
	size_t	i;

	session_abort_tx(s);
	smtp_check_free(s);
	for (i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i]);
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpts = 0;
	s->from[0] = '\0';
	memset(&s->mail, 0, sizeof(s->mail));
	session_body_give(s);
	io_set_in_cap(s->io, IO_IN_CAP);
	s->write_failed = false;
	if (s->state != SS_GREETED)
		smtp_session_enter(s, SS_READY);
}

/* session_worker_idle - a draining worker with no session left is done */
static void
session_worker_idle(struct smtp_worker *w)
{
	if (w->draining && w->nsessions == 0) {
		log_debug("smtp worker done");
		event_base_loopbreak(w->base);
	}
}

/* session_received - our Received header for the message being opened */
static int
session_received(struct smtp_session *s, struct buf *b)
{
	struct smtp_data_trace	t;
	bool			tls = io_is_tls(s->io);

	memset(&t, 0, sizeof(t));
	t.helo = s->helo;
	t.addr = s->addr;
	t.hostname = s->w->conf->hostname;
	t.msgid = s->msgid;
	t.rcpt = s->nrcpts == 1 ? s->rcpts[0] : NULL;
	t.tls_version = tls ? io_tls_version(s->io) : NULL;
	t.tls_cipher = tls ? io_tls_cipher(s->io) : NULL;
	t.esmtp = s->esmtp;
	t.authenticated = s->authenticated;
	t.smtputf8 = s->mail.smtputf8;
	t.now = time(NULL);
	return smtp_data_received(b, &t);
}

/* session_free - end a session: abort its message, release its counts */
static void
session_free(struct smtp_session *s)
{
	struct smtp_worker	*w = s->w;
	struct smtp_session	**pp;

	session_tx_reset(s);
	for (pp = &w->buckets[s->id % SMTP_SESSION_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	w->nsessions--;
	log_info("session=%016llx disconnect addr=%s errors=%u", SID(s),
	    s->addr, s->errors);
	explicit_bzero(s->auth_user, sizeof(s->auth_user));
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->delay != NULL)
		event_free(s->delay);
	if (s->check_timer != NULL)
		event_free(s->check_timer);
	io_free(s->io);
	smtp_limits_release(w->shm, w->row, s->ipslot);
	free(s);
	session_worker_idle(w);
}

/* session_drain_one - on SIGTERM an idle session is told goodbye now */
static void
session_drain_one(struct smtp_session *s)
{
	if (s->mode == SM_CMD && s->state <= SS_READY)
		smtp_close(s, "421 4.3.2 %s Service shutting down, try again "
		    "later", s->w->conf->hostname);
}

/* smtp_session_drain - the listeners closed: SIGTERM closes idle sessions */
void
smtp_session_drain(struct smtp_worker *w)
{
	struct smtp_session	*s, *next;
	size_t			 i;

	if (w->draining == DRAIN_TERM)
		for (i = 0; i < SMTP_SESSION_BUCKETS; i++)
			for (s = w->buckets[i]; s != NULL; s = next) {
				next = s->hnext;
				session_drain_one(s);
			}
	session_worker_idle(w);
}

/* session_io - the io layer reports input, TLS, timeouts, close */
static void
session_io(struct io *io, enum io_event ev, void *arg)
{
	struct smtp_session	*s = arg;

	(void)io;
	switch (ev) {
	case IO_DATAIN:
		session_input(s);
		break;
	case IO_TLSREADY:
		s->handshaking = false;
		log_info("session=%016llx tls version=%s cipher=%s sni=%s",
		    SID(s), io_tls_version(s->io), io_tls_cipher(s->io),
		    io_tls_sni(s->io));
		if (s->kind == PORT_SUBMISSIONS) {
			smtp_reply(s, "220 %s ESMTP postern",
			    s->w->conf->hostname);
		}
		smtp_session_resume(s, SM_CMD);
		break;
	case IO_DRAINED:
		if (s->w->draining == DRAIN_TERM)
			session_drain_one(s);
		break;
	case IO_TIMEOUT:
		if (s->handshaking) {
			log_info("session=%016llx TLS handshake timeout",
			    SID(s));
			session_free(s);
			break;
		}
		if (s->mode == SM_WAIT) {
			/* our side is slow, not the client: wait again */
			io_set_timeout(s->io, s->w->conf->idle_timeout);
			break;
		}
		log_info("session=%016llx idle timeout", SID(s));
		smtp_close(s, "421 4.4.2 %s Idle timeout, closing connection",
		    s->w->conf->hostname);
		break;
	case IO_CLOSED:
		session_free(s);
		break;
	case IO_ERROR:
		log_info("session=%016llx %s", SID(s), io_error(s->io));
		session_free(s);
		break;
	}
}

/* session_cmd_lookup - the table entry for a verb, or NULL */
static const struct session_cmd *
session_cmd_lookup(const char *line, size_t vlen)
{
	size_t	i;

	for (i = 0; i < sizeof(session_cmds) / sizeof(session_cmds[0]); i++)
		if (strlen(session_cmds[i].verb) == vlen &&
		    strncasecmp(line, session_cmds[i].verb, vlen) == 0)
			return &session_cmds[i];
	return NULL;
}

/* session_dispatch - apply the table's rules, then run the command */
static void
session_dispatch(struct smtp_session *s, char *line, size_t len, bool pending)
{
	const struct session_cmd	*c;
	size_t				 vlen = strcspn(line, " ");
	const char			*arg = NULL;
	size_t				 alen = 0;

	if (vlen < len) {
		arg = line + vlen + 1;
		alen = len - vlen - 1;
	}
	if ((c = session_cmd_lookup(line, vlen)) == NULL) {
		smtp_reject(s, "500 5.5.2 Command unrecognized");
		return;
	}
	if ((c->states & IN(s->state)) == 0) {
		if (c->run == smtp_auth_cmd && s->authenticated)
			smtp_reject(s, "503 5.5.1 Already authenticated");
		else if (s->state == SS_GREETED && c->run != cmd_data &&
		    c->run != smtp_rcpt_cmd)
			smtp_reject(s, "503 5.5.1 Send EHLO or HELO first");
		else if (c->run == smtp_rcpt_cmd)
			smtp_reject(s, "503 5.5.1 Need MAIL before RCPT");
		else if (c->run == cmd_data)
			smtp_reject(s, "503 5.5.1 Need RCPT before DATA");
		else if (c->run == cmd_mail)
			smtp_reject(s, "503 5.5.1 Nested MAIL command");
		else
			smtp_reject(s, "503 5.5.1 Bad sequence of commands");
		return;
	}
	if ((c->flags & CF_NEEDARG) && (arg == NULL || alen == 0)) {
		smtp_reject(s, "501 5.5.4 Syntax: %s requires an argument",
		    c->verb);
		return;
	}
	if ((c->flags & CF_NOARG) && arg != NULL) {
		smtp_reject(s, "501 5.5.4 Syntax: %s takes no argument",
		    c->verb);
		return;
	}
	if ((c->flags & CF_LAST) && pending) {
		log_info("session=%016llx pipelining after %s", SID(s),
		    c->verb);
		smtp_close(s, "554 5.5.0 %s SMTP protocol synchronization "
		    "error (input sent after %s)", s->w->conf->hostname,
		    c->verb);
		return;
	}
	c->run(s, arg, alen);
}

static void	session_data_input(struct smtp_session *);
static void	session_check_wait(struct smtp_session *);

/* session_input - take complete lines from the input while we can */
static void
session_input(struct smtp_session *s)
{
	struct buf		*in = io_in(s->io);
	enum line_result	 r;
	size_t			 len, used, max;
	char			 line[LIM_AUTH_LINE + 1];
	const char		*nl;

	while (buf_avail(in) > 0) {
		if (s->mode == SM_DATA) {
			session_data_input(s);
			continue;
		}
		if (s->mode != SM_CMD && s->mode != SM_AUTH)
			return;
		if (s->skip_line) {
			nl = memchr(buf_ptr(in), '\n', buf_avail(in));
			if (nl == NULL) {
				buf_drain(in, buf_avail(in));
				return;
			}
			buf_drain(in, (size_t)(nl - buf_ptr(in)) + 1);
			s->skip_line = false;
			continue;
		}
		max = s->mode == SM_AUTH ? LIM_AUTH_LINE : LIM_CMD_LINE;
		r = line_find(buf_ptr(in), buf_avail(in), max, &len, &used);
		switch (r) {
		case LINE_MORE:
			return;
		case LINE_TOO_LONG:
			s->skip_line = true;
			smtp_reject(s, "500 5.5.2 Line too long");
			if (s->mode == SM_AUTH) {
				s->auth_step = SA_NONE;
				s->mode = SM_CMD;
			}
			continue;
		case LINE_BARE_LF:
		case LINE_BARE_CR:
		case LINE_NUL:
			buf_drain(in, used);
			smtp_reject(s, "500 5.5.2 Command lines must end with "
			    "CRLF and contain no NUL or bare CR");
			continue;
		case LINE_OK:
			break;
		}
		memcpy(line, buf_ptr(in), len);
		line[len] = '\0';
		buf_drain(in, used);
		if (s->mode == SM_AUTH)
			smtp_auth_line(s, line, len);
		else
			session_dispatch(s, line, len, buf_avail(in) > 0);
		explicit_bzero(line, len);
	}
}

/* commands */

/* session_hello - EHLO and HELO: take the name, open a fresh session */
static int
session_hello(struct smtp_session *s, const char *arg, size_t len,
    bool esmtp)
{
	struct err	e;

	if (smtp_cmd_parse_helo(arg, len, s->helo, sizeof(s->helo), &e)
	    == -1) {
		smtp_reject(s, "%s", e.msg);
		return -1;
	}
	session_tx_reset(s);
	s->esmtp = esmtp;
	smtp_session_enter(s, SS_READY);
	return 0;
}

/* cmd_ehlo - EHLO: ESMTP session, the keyword list */
static void
cmd_ehlo(struct smtp_session *s, const char *arg, size_t len)
{
	if (session_hello(s, arg, len, true) == 0)
		smtp_reply_ehlo(s);
}

/* cmd_helo - HELO: plain SMTP session */
static void
cmd_helo(struct smtp_session *s, const char *arg, size_t len)
{
	if (session_hello(s, arg, len, false) == 0)
		smtp_reply(s, "250 %s", s->w->conf->hostname);
}

/* cmd_starttls - STARTTLS: 220, then the handshake; state starts over */
static void
cmd_starttls(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	if (io_is_tls(s->io) || s->kind == PORT_SUBMISSIONS) {
		smtp_reject(s, "503 5.5.1 TLS already active");
		return;
	}
	if (s->state == SS_GREETED) {
		smtp_reject(s, "503 5.5.1 Send EHLO first");
		return;
	}
	if (s->w->tls == NULL) {
		smtp_reject(s, "454 4.7.0 TLS not available");
		return;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	/* RFC 3207 4.2: forget everything learned before TLS */
	session_tx_reset(s);
	smtp_session_enter(s, SS_GREETED);
	s->helo[0] = '\0';
	s->esmtp = false;
	s->mode = SM_WAIT;
	s->handshaking = true;
	if (io_start_tls(s->io, tls_store_ctx(s->w->tls)) == -1) {
		log_warnx("session=%016llx cannot start TLS", SID(s));
		smtp_close(s, "421 4.7.0 TLS not available, closing "
		    "connection");
	}
}

/* cmd_mail - MAIL FROM: parse, check size and policy, open the transaction */
static void
cmd_mail(struct smtp_session *s, const char *arg, size_t len)
{
	struct err	e;

	if (smtp_cmd_parse_mail(arg, len, &s->mail, &e) == -1) {
		smtp_reject(s, "%s", e.msg);
		return;
	}
	if (s->mail.smtputf8 && !s->esmtp) {
		smtp_reject(s, "555 5.5.4 SMTPUTF8 needs EHLO");
		return;
	}
	if (s->mail.has_size && s->mail.size > s->w->conf->max_message_size) {
		smtp_reject(s, "552 5.3.4 Message size exceeds fixed limit "
		    "of %llu bytes", s->w->conf->max_message_size);
		return;
	}
	if (smtp_policy_mail(s, &s->mail, &e) == -1) {
		smtp_reject(s, "%s", e.msg);
		return;
	}
	if (s->mail.null_sender)
		s->from[0] = '\0';
	else
		(void)addr_format(&s->mail.mb, s->from, sizeof(s->from));
	if (smtp_check_applies(s) && s->w->conf->spf_reject) {
		/* SPF decides here: the answer ends the command */
		if (smtp_check_mail(s) == 0) {
			session_check_wait(s);
			return;
		}
		s->from[0] = '\0';
		smtp_reject(s, "451 4.7.0 Sender checks unavailable, try "
		    "again later");
		return;
	}
	smtp_session_enter(s, SS_MAIL);
	smtp_reply(s, "250 2.1.0 Ok");
}

/*
 * cmd_data - DATA: ask the queue for a message file, with the whole
 * envelope (every fact of it is known now: MAIL's BODY and SMTPUTF8,
 * TLS, AUTH, which are legal only before MAIL); input waits
 */
static void
cmd_data(struct smtp_session *s, const char *arg, size_t len)
{
	struct ipc_q_open	*o = xcalloc(1, sizeof(*o));
	struct msg		 m;
	char			 client[LIM_DOMAIN + 80];
	size_t			 i;

	(void)arg;
	(void)len;
	o->reqid = s->id;
	o->from = s->from;
	if (s->mail.body == BODY_8BITMIME)
		o->flags |= QF_8BITMIME;
	if (s->mail.smtputf8)
		o->flags |= QF_SMTPUTF8;
	if (io_is_tls(s->io))
		o->flags |= QF_TLS;
	if (s->authenticated)
		o->flags |= QF_AUTH;
	if (smtp_check_applies(s))
		o->flags |= QF_CHECKED;
	o->auth = s->authenticated ? s->auth_user : "";
	o->auth_issued = s->authenticated ? s->auth_issued : 0;
	o->auth_ticket = s->authenticated ? s->auth_ticket : "";
	(void)snprintf(client, sizeof(client), "helo=%s addr=%s", s->helo,
	    s->addr);
	o->client = client;
	o->nrcpts = (uint32_t)s->nrcpts;
	for (i = 0; i < s->nrcpts; i++)
		o->rcpts[i] = s->rcpts[i];
	ipc_q_open_put(&m, o);
	free(o);
	chan_send(s->w->queue, &m);
	smtp_session_wait(s);
}

/* session_open_result - the queue gave us an id and a body fd (or not) */
static void
session_open_result(struct smtp_session *s, bool ok, const char *id,
    const char *error, int fd)
{
	const struct conf	*c = s->w->conf;

	if (!ok) {
		log_warnx("session=%016llx queue refused a message: %s",
		    SID(s), error);
		smtp_session_resume(s, SM_CMD);
		smtp_reject(s, "451 4.3.0 Queue unavailable, try again later");
		return;
	}
	(void)snprintf(s->msgid, sizeof(s->msgid), "%s", id);
	s->body_fd = fd;
	hash64_init(&s->body_hash);
	if (session_body_take(s) == -1 ||
	    session_received(s, &s->body) == -1) {
		session_abort_tx(s);
		smtp_session_resume(s, SM_CMD);
		smtp_reject(s, "451 4.3.0 Local error");
		return;
	}
	smtp_data_init(&s->data, c->max_message_size, c->max_line_length,
	    c->max_hops, c->bare_lf);
	if (smtp_check_applies(s))
		smtp_check_begin(s);
	s->write_failed = false;
	s->from_checked = s->from_refused = false;
	io_set_in_cap(s->io, IO_DATA_IN_CAP);
	smtp_session_resume(s, SM_DATA);
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* session_body_flush - write the buffered body to the queue's file */
static int
session_body_flush(struct smtp_session *s, struct err *e)
{
	ssize_t	n;

	while (buf_avail(&s->body) > 0) {
		n = write(s->body_fd, buf_ptr(&s->body), buf_avail(&s->body));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(e, true, errno, "write body: %s",
			    strerror(errno));
		hash64_add(&s->body_hash, buf_ptr(&s->body), (size_t)n);
		buf_drain(&s->body, (size_t)n);
	}
	return 0;
}

/* session_commit - the body is written: ask the queue to commit it (the
 * envelope went with M_Q_OPEN), prefix (the checks' field) in front */
static void
session_commit(struct smtp_session *s, const char *prefix)
{
	struct msg	m;

	close(s->body_fd);
	s->body_fd = -1;
	ipc_q_commit_put(&m, &(struct ipc_q_commit){ .reqid = s->id,
	    .id = s->msgid, .body_hash = hash64_end(&s->body_hash),
	    .prefix = prefix });
	chan_send(s->w->queue, &m);
	s->committing = true;
	smtp_session_wait(s);
}

/*
 * session_from_check - a submission's From: header, once, before the
 * first of the body is written: the header is in s->body then (our
 * Received field first), unless it is longer than BODY_FLUSH
 */
static void
session_from_check(struct smtp_session *s)
{
	const char	*p = buf_ptr(&s->body), *end;
	size_t		 len = buf_avail(&s->body);
	struct err	 e;

	s->from_checked = true;
	if ((end = memmem(p, len, "\r\n\r\n", 4)) != NULL)
		len = (size_t)(end - p) + 2;
	else if (!s->data.done) {
		s->from_refused = true;
		(void)snprintf(s->from_reply, sizeof(s->from_reply), "552 "
		    "5.6.0 Header too long to check its From: address");
		return;
	}
	if (smtp_sender_header(s->w->conf, s->auth_user, p, len, &e) == -1) {
		s->from_refused = true;
		(void)snprintf(s->from_reply, sizeof(s->from_reply), "%s",
		    e.msg);
	}
}

/* session_data_input - feed the DATA reader; at the end, commit or refuse */
static void
session_data_input(struct smtp_session *s)
{
	struct buf	*in = io_in(s->io);
	size_t		 used, n;
	struct err	 e;

	do {
		n = buf_avail(in) < IO_IN_CAP ? buf_avail(in) : IO_IN_CAP;
		used = smtp_data_feed(&s->data, buf_ptr(in), n, &s->body);
		buf_drain(in, used);
		smtp_check_feed(s);
		if (s->authenticated && !s->from_checked &&
		    s->data.error == SD_OK && (buf_avail(&s->body) >=
		    BODY_FLUSH || s->data.done))
			session_from_check(s);
		if (!s->write_failed && s->data.error == SD_OK &&
		    !s->from_refused &&
		    (buf_avail(&s->body) >= BODY_FLUSH || s->data.done) &&
		    session_body_flush(s, &e) == -1) {
			log_warnx("session=%016llx msgid=%s %s", SID(s),
			    s->msgid, e.msg);
			s->write_failed = true;
		}
		if (s->data.error != SD_OK || s->write_failed ||
		    s->from_refused)
			buf_reset(&s->body);
	} while (!s->data.done && buf_avail(in) > 0);
	if (!s->data.done)
		return;
	io_set_in_cap(s->io, IO_IN_CAP);
	if (s->write_failed) {
		session_tx_reset(s);
		s->mode = SM_CMD;
		smtp_reject(s, "451 4.3.0 Local error writing the message");
		return;
	}
	if (s->data.error != SD_OK) {
		log_info("session=%016llx msgid=%s refused: %s", SID(s),
		    s->msgid, smtp_data_reply(s->data.error));
		session_tx_reset(s);
		s->mode = SM_CMD;
		smtp_reject(s, "%s", smtp_data_reply(s->data.error));
		return;
	}
	if (s->from_refused) {
		log_info("session=%016llx msgid=%s refused: %s", SID(s),
		    s->msgid, s->from_reply);
		session_tx_reset(s);
		s->mode = SM_CMD;
		smtp_reject(s, "%s", s->from_reply);
		return;
	}
	if (s->data.stripped > 0)
		log_info("session=%016llx msgid=%s removed=%u "
		    "authentication-results naming us", SID(s), s->msgid,
		    s->data.stripped);
	if (s->check == NULL) {
		session_commit(s, "");
		return;
	}
	/* the verdict comes before the reply: the commit waits for it */
	if (smtp_check_end(s) == -1) {
		session_tx_reset(s);
		s->mode = SM_CMD;
		smtp_reject(s, "451 4.7.0 Message checks unavailable, try "
		    "again later");
		return;
	}
	session_check_wait(s);
}

/* session_check_timeout - no verdict in time: 451, never a pass */
static void
session_check_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session	*s = arg;

	(void)fd;
	(void)what;
	if (!smtp_check_cancel(s))
		return;
	log_warnx("session=%016llx inbound checks took longer than %u s",
	    SID(s), s->w->conf->inbound_check_timeout);
	smtp_session_check_result(s, V_TEMP, "451 4.7.0 Message checks took "
	    "too long, try again later", "");
}

/* session_check_wait - a request is out: input waits, for a bound */
static void
session_check_wait(struct smtp_session *s)
{
	struct timeval	tv = { (time_t)s->w->conf->inbound_check_timeout, 0 };

	if (s->check_timer == NULL)
		s->check_timer = evtimer_new(s->w->base, session_check_timeout,
		    s);
	evtimer_add(s->check_timer, &tv);
	smtp_session_wait(s);
}

/* smtp_session_check_result - the checks' verdict on MAIL or the message */
void
smtp_session_check_result(struct smtp_session *s, uint32_t verdict,
    const char *reply, const char *authres)
{
	if (s->state == SS_READY) {	/* MAIL FROM's SPF */
		smtp_session_resume(s, SM_CMD);
		if (verdict == V_ACCEPT) {
			smtp_session_enter(s, SS_MAIL);
			smtp_reply(s, "250 2.1.0 Ok");
			return;
		}
		log_info("session=%016llx from=<%s> refused: %s", SID(s),
		    s->from, reply);
		s->from[0] = '\0';
		memset(&s->mail, 0, sizeof(s->mail));
		smtp_reject(s, "%s", reply);
		return;
	}
	if (verdict == V_ACCEPT) {
		session_commit(s, authres);
		return;
	}
	log_info("session=%016llx msgid=%s refused: %s", SID(s), s->msgid,
	    reply);
	session_tx_reset(s);
	smtp_session_resume(s, SM_CMD);
	smtp_reject(s, "%s", reply);
}

/* smtp_session_verifier_lost - the verifier is gone: 451 to the waiting */
void
smtp_session_verifier_lost(struct smtp_worker *w)
{
	struct smtp_session	*s, *next;
	size_t			 i;

	for (i = 0; i < SMTP_SESSION_BUCKETS; i++)
		for (s = w->buckets[i]; s != NULL; s = next) {
			next = s->hnext;
			if (smtp_check_cancel(s))
				smtp_session_check_result(s, V_TEMP,
				    "451 4.7.0 Message checks unavailable, "
				    "try again later", "");
		}
}

/* session_commit_result - the queue committed the message (250) or not */
static void
session_commit_result(struct smtp_session *s, const char *id, bool ok,
    bool temp, const char *error)
{
	if (strcmp(id, s->msgid) != 0)
		fatalx("queue answered for %s, session has %s", id, s->msgid);
	s->msgid[0] = '\0';	/* the queue owns it now, or dropped it */
	s->committing = false;
	session_tx_reset(s);
	smtp_session_resume(s, SM_CMD);
	if (ok) {
		log_info("session=%016llx msgid=%s accepted", SID(s), id);
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", id);
		if (s->w->draining == DRAIN_TERM)
			session_drain_one(s);
		return;
	}
	log_warnx("session=%016llx msgid=%s not queued: %s", SID(s), id,
	    error);
	if (temp)
		smtp_reject(s, "451 4.3.0 Message not queued: %s", error);
	else
		smtp_reject(s, "554 5.3.0 Message not queued: %s", error);
}

/* cmd_rset - RSET: drop the transaction */
static void
cmd_rset(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	session_tx_reset(s);
	smtp_reply(s, "250 2.0.0 Ok");
}

/* cmd_noop - NOOP: 250 (an argument is allowed and ignored) */
static void
cmd_noop(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_reply(s, "250 2.0.0 Ok");
}

/* cmd_quit - QUIT: 221, then close */
static void
cmd_quit(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_close(s, "221 2.0.0 Bye");
}

/* cmd_vrfy - VRFY: 252, we do not tell who exists */
static void
cmd_vrfy(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message "
	    "and attempt delivery");
}

/* cmd_help - HELP: a pointer to the RFC */
static void
cmd_help(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_reply(s, "214 2.0.0 postern: see RFC 5321");
}

/* smtp_session_auth_lost - the auth process is gone: waiting AUTHs get 454 */
void
smtp_session_auth_lost(struct smtp_worker *w)
{
	struct smtp_session	*s, *next;
	size_t			 i;

	for (i = 0; i < SMTP_SESSION_BUCKETS; i++)
		for (s = w->buckets[i]; s != NULL; s = next) {
			next = s->hnext;
			if (s->auth_waiting)
				smtp_auth_result(s, &(struct ipc_auth_res){
				    .result = AUTH_TEMPFAIL, .user = "",
				    .ticket = "" });
		}
}

/* smtp_session_ipc - an answer from auth or queue for one of our sessions */
void
smtp_session_ipc(struct smtp_worker *w, struct msg *m)
{
	struct smtp_session	*s;
	struct ipc_auth_res	 ar;
	struct ipc_q_open_res	 or;
	struct ipc_q_commit_res	 cr;
	struct ipc_q_rcpt_res	 rr;
	struct ipc_v_res	 vr;
	struct msg		 ab;
	struct err		 e;

	/* the queue and auth are trusted: a malformed answer is fatal */
	switch (m->type) {
	case M_AUTH_RES:
		if (ipc_auth_res_get(m, &ar, &e) == -1)
			fatalx("%s", e.msg);
		s = smtp_session_find(w, ar.reqid);
		if (s != NULL && s->auth_waiting)
			smtp_auth_result(s, &ar);
		break;
	case M_Q_OPEN_RES:
		if (ipc_q_open_res_get(m, &or, &e) == -1)
			fatalx("%s", e.msg);
		s = smtp_session_find(w, or.reqid);
		if (s == NULL || s->mode != SM_WAIT) {
			if (or.fd != -1)
				close(or.fd);
			if (or.ok) {
				ipc_q_abort_put(&ab,
				    &(struct ipc_q_abort){ .id = or.id });
				chan_send(w->queue, &ab);
			}
			break;
		}
		session_open_result(s, or.ok, or.id, or.error, or.fd);
		break;
	case M_Q_COMMIT_RES:
		if (ipc_q_commit_res_get(m, &cr, &e) == -1)
			fatalx("%s", e.msg);
		s = smtp_session_find(w, cr.reqid);
		if (s != NULL && s->mode == SM_WAIT)
			session_commit_result(s, cr.id, cr.ok, cr.temp,
			    cr.error);
		break;
	case M_Q_RCPT_RES:
		if (ipc_q_rcpt_res_get(m, &rr, &e) == -1)
			fatalx("%s", e.msg);
		s = smtp_session_find(w, rr.reqid);
		if (s != NULL && s->rcpt_waiting && s->mode == SM_WAIT)
			smtp_rcpt_result(s, rr.ok, rr.reply);
		break;
	case M_V_RES:
		if (ipc_v_res_get(m, &vr, &e) == -1)
			fatalx("%s", e.msg);
		s = smtp_session_find(w, smtp_check_sid(vr.reqid));
		if (s != NULL && smtp_check_answer(s, vr.reqid))
			smtp_session_check_result(s, vr.verdict, vr.reply,
			    vr.authres);
		break;
	default:
		fatalx("unexpected ipc message %u", m->type);
	}
}
