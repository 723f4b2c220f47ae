/*
 * smtp_session.h - the session object shared by the files of src/smtp/
 * (internal to the smtp process).
 */
#ifndef POSTERN_SMTP_SESSION_H
#define POSTERN_SMTP_SESSION_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "bounds.h"
#include "buf.h"
#include "conf.h"
#include "hash.h"
#include "io.h"
#include "listen.h"
#include "log.h"
#include "smtp_cmd.h"
#include "smtp_data.h"
#include "ticket.h"

struct ipc_auth_res;

struct chan;
struct event;
struct event_base;
struct msg;
struct smtp_check;
struct smtp_shm;
struct tls_store;

struct smtp_session;

#define SMTP_SESSION_BUCKETS	1024	/* sessions by id: hash chains */
#define SMTP_BODY_SPARE		8	/* body buffers a worker keeps */
/* SID - the session id as logged: session=%016llx */
#define SID(s)		((unsigned long long)(s)->id)

struct smtp_worker {
	struct event_base	*base;
	struct conf		*conf;
	struct tls_store	*tls;
	struct chan		*auth;
	struct chan		*queue;
	struct chan		*verifier;	/* NULL: none, or gone */
	struct smtp_shm		*shm;
	unsigned		 row;
	uint64_t		 next_id;
	struct smtp_session	*buckets[SMTP_SESSION_BUCKETS]; /* by id */
	unsigned		 nsessions;
	int			 draining;	/* 0, DRAIN_RELOAD, DRAIN_TERM */
	/* body buffers of finished messages, at full size, for the next */
	struct buf		 body_spare[SMTP_BODY_SPARE];
	unsigned		 nbody_spare;
};

#define DRAIN_RELOAD	1
#define DRAIN_TERM	2

enum smtp_state {
	SS_GREETED,	/* banner sent, no EHLO yet */
	SS_READY,	/* EHLO done, no transaction open */
	SS_MAIL,	/* MAIL accepted, no recipient yet */
	SS_RCPT,	/* one or more recipients accepted */
};

enum smtp_mode {
	SM_CMD,		/* reading commands */
	SM_AUTH,	/* reading an AUTH continuation line */
	SM_DATA,	/* reading the message */
	SM_WAIT,	/* waiting for auth or queue; input paused */
	SM_CLOSING,	/* last reply queued, closing */
};

enum smtp_auth_step {
	SA_NONE,
	SA_PLAIN,	/* waiting for the PLAIN response */
	SA_LOGIN_USER,
	SA_LOGIN_PASS,
};

struct smtp_session {
	struct smtp_session	*hnext;		/* id bucket chain */
	uint64_t		 id;
	struct smtp_worker	*w;
	struct io		*io;
	enum port_kind		 kind;
	char			 addr[64];	/* client address, text */
	unsigned		 ipslot;
	enum smtp_state		 state;
	enum smtp_mode		 mode;
	char			 helo[LIM_DOMAIN + 1];
	bool			 esmtp;
	bool			 skip_line;	/* discard to the next LF */
	bool			 handshaking;	/* TLS handshake under way */
	unsigned		 errors;
	struct event		*timer;		/* session limit, auth delay */
	struct event		*delay;

	/* authentication */
	enum smtp_auth_step	 auth_step;
	char			 auth_user[LIM_LOCAL_PART + LIM_DOMAIN + 2];
	uint64_t		 auth_issued;	/* auth's ticket for it */
	char			 auth_ticket[TICKET_HEX + 1];
	bool			 authenticated;
	bool			 auth_waiting;	/* M_AUTH_REQ sent */
	unsigned		 auth_failures;
	int			 auth_pending_result;

	/* transaction */
	struct mail_args	 mail;
	char			 from[LIM_PATH + 1];	/* "" for <> */
	char			**rcpts;
	size_t			 nrcpts;
	char			 msgid[32];
	int			 body_fd;
	struct hash64		 body_hash;	/* of what was written */
	struct buf		 body;
	struct smtp_data	 data;
	bool			 write_failed;
	bool			 committing;	/* M_Q_COMMIT sent */
	bool			 from_checked;	/* submission: From looked at */
	bool			 from_refused;	/* ... and not the user's */
	char			 from_reply[400];
	bool			 rcpt_waiting;	/* M_Q_RCPT sent for rcpt_addr */
	char			 rcpt_addr[LIM_PATH + 1];

	/* inbound checks (smtp_check.c) */
	struct smtp_check	*check;		/* this message's, or NULL */
	bool			 check_waiting;	/* M_V_REQ out */
	uint8_t			 check_seq;	/* of the last request */
	struct event		*check_timer;
};

/* smtp_session_enter - change state, logging the transition */
static inline void
smtp_session_enter(struct smtp_session *s, enum smtp_state st)
{
	static const char *const names[] = { "greeted", "ready", "mail",
	    "rcpt" };

	if (s->state != st)
		log_debug("session=%016llx state %s -> %s", SID(s),
		    names[s->state], names[st]);
	s->state = st;
}

/* smtp_session_wait - pause input until auth or the queue answers */
static inline void
smtp_session_wait(struct smtp_session *s)
{
	s->mode = SM_WAIT;
	io_pause(s->io, true);
}

/* smtp_session_resume - the client's turn again, in the given mode */
static inline void
smtp_session_resume(struct smtp_session *s, enum smtp_mode mode)
{
	s->mode = mode;
	io_pause(s->io, false);
	/* the idle clock restarts when the client's turn comes again */
	io_set_timeout(s->io, s->w->conf->idle_timeout);
}

/* smtp_session.c */
void	smtp_session_new(struct smtp_worker *, int fd, enum port_kind,
	    const struct sockaddr *, socklen_t, unsigned ipslot);
void	smtp_session_ipc(struct smtp_worker *, struct msg *);
/*
 * smtp_session_drain - after the listeners closed: on SIGTERM tell idle
 * sessions 421; once no session is left, end the worker's loop (the last
 * session to end does it if some remain).
 */
void	smtp_session_drain(struct smtp_worker *);
struct smtp_session *smtp_session_find(struct smtp_worker *, uint64_t id);
/* smtp_session_auth_lost - the auth process is gone: waiting AUTHs get 454 */
void	smtp_session_auth_lost(struct smtp_worker *);
/*
 * smtp_session_check_result - the inbound checks' verdict (enum
 * v_verdict) for the MAIL FROM or the message s waits on: go on (the
 * message is committed with authres in front), or the reply
 */
void	smtp_session_check_result(struct smtp_session *, uint32_t verdict,
	    const char *reply, const char *authres);
/* smtp_session_verifier_lost - the verifier is gone: waiting checks 451 */
void	smtp_session_verifier_lost(struct smtp_worker *);

/* smtp_auth.c: the AUTH command, its continuation lines, the answer */
void	smtp_auth_cmd(struct smtp_session *, const char *, size_t);
void	smtp_auth_line(struct smtp_session *, char *, size_t);
void	smtp_auth_result(struct smtp_session *,
	    const struct ipc_auth_res *);

/* smtp_rcpt.c: RCPT, and the queue's answer about an SRS recipient */
void	smtp_rcpt_cmd(struct smtp_session *, const char *, size_t);
void	smtp_rcpt_result(struct smtp_session *, bool ok, const char *reply);

/* smtp_reply.c */
void	smtp_reply(struct smtp_session *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* smtp_reject - a 4xx/5xx reply that counts toward max_errors */
void	smtp_reject(struct smtp_session *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* smtp_close - a last reply, then close */
void	smtp_close(struct smtp_session *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	smtp_reply_ehlo(struct smtp_session *);

/* smtp_sender.c: may user send as addr? 0, or -1 with the 550 reply */
int	smtp_sender_check(const struct conf *, const char *user,
	    const char *addr, struct err *);
/* smtp_sender_header - may user send a message whose header (len octets)
 * has this From: (none, or exactly one address, one it may send as)? */
int	smtp_sender_header(const struct conf *, const char *user,
	    const char *hdr, size_t len, struct err *);
/* smtp_policy.c: 0 accept, or -1 with the reply in e->msg; RCPT: 1 for
 * an SRS address of a local domain (the queue decides: smtp_rcpt.c) */
int	smtp_policy_mail(const struct smtp_session *,
	    const struct mail_args *, struct err *);
int	smtp_policy_rcpt(const struct smtp_session *,
	    const struct rcpt_args *, struct err *);

#endif
