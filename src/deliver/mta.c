/*
 * mta.c - the outbound SMTP client session (RFC 5321 client side, with
 * STARTTLS RFC 3207, PIPELINING RFC 2920, SIZE RFC 1870, 8BITMIME RFC
 * 6152, SMTPUTF8 RFC 6531).
 *
 * Runs in the deliver process.  The peer is hostile: its replies go
 * through the strict line finder (MTA_REPLY_LINE_MAX) and the pure parsers
 * of mta_proto.c; every wait has a timeout (mta.h, RFC 5321 4.5.3.2).
 * Setup (connect, greeting, EHLO/HELO, STARTTLS) that fails moves on to
 * the next address of the plan; once a transaction has started, a failure
 * decides the job (temporary) and ends the connection.  A connection
 * never reads a spool path: bodies come as descriptors in jobs.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/x509.h>

#include "buf.h"
#include "io.h"
#include "line.h"
#include "log.h"
#include "msgtypes.h"
#include "xmalloc.h"
#include "deliver/mta.h"
#include "deliver/mta_proto.h"
#include "deliver/mx.h"

#define MTA_IN_CAP	(64 * 1024)
#define MTA_OUT_CAP	(256 * 1024)
#define MTA_CHUNK	(32 * 1024)	/* body bytes read per step */
#define MTA_OUT_LOW	(32 * 1024)	/* refill the output below this */
/* a refill (one chunk, stuffed, and the terminator) always fits */
_Static_assert(MTA_OUT_LOW + MTA_DOT_ROOM(MTA_CHUNK) + 5 <= MTA_OUT_CAP,
    "MTA_OUT_CAP too small for a body chunk");

enum mta_state {
	MS_CONNECT,	/* non-blocking connect under way */
	MS_GREETING,	/* waiting for 220 */
	MS_EHLO,
	MS_HELO,
	MS_STARTTLS,	/* waiting for 220 to STARTTLS */
	MS_TLS,		/* handshake */
	MS_RSET,	/* before a job on a kept connection */
	MS_MAIL,
	MS_RCPT,
	MS_DATA,	/* waiting for 354 */
	MS_BODY,	/* streaming */
	MS_DOT,		/* waiting for the final reply */
	MS_IDLE,
	MS_QUIT,
};

static const char *const mta_state_names[] = {
	"connect", "greeting", "ehlo", "helo", "starttls", "tls", "rset",
	"mail", "rcpt", "data", "body", "dot", "idle", "quit",
};

static struct mta_timeouts mta_t = {
	MTA_T_CONNECT, MTA_T_GREETING, MTA_T_HELO, MTA_T_MAIL, MTA_T_RCPT,
	MTA_T_DATA, MTA_T_BLOCK, MTA_T_DOT, MTA_T_IDLE, MTA_T_QUIT,
};

struct mta {
	struct event_base	*base;
	const struct mta_params	*p;
	struct mta_cbs		 cbs;
	void			*arg;
	struct mx_plan		*plan;
	struct mta_timeouts	 t;
	size_t			 hi, ai;	/* host, address being tried */
	bool			 started;	/* hi/ai point at a tried one */
	bool			 no_tls;	/* this address: plain fallback */
	int			 fd;		/* while connecting */
	struct event		*cev;		/* connect / deferred start */
	struct io		*io;
	enum mta_state		 state;
	struct mta_reply	 reply;
	struct mta_ext		 ext;
	bool			 esmtp;
	char			 remote[320];	/* "host [addr]" */
	char			 last_status[16];
	char			 last_err[512];
	/* the job */
	struct mta_job		*job;
	size_t			 nsent, nack, naccepted;
	bool			 mail_failed;
	bool			 pipelined;
	bool			 rset_due;	/* the next MAIL follows RSET */
	bool			 rset_first;	/* its reply comes first */
	uint64_t		 off;		/* body bytes sent */
	bool			 body_done;
	struct mta_dot		 dot;
	size_t			 njobs;
	int			 in_cb;
	bool			 dying;
};

static void	mta_next_addr(struct mta *);
static void	mta_io_cb(struct io *, enum io_event, void *);

/* mta_set_timeouts - test drivers only: shorter waits for later connections */
void
mta_set_timeouts(const struct mta_timeouts *t)
{
	mta_t = *t;
}

/* mta_get_timeouts - the timeouts new connections get */
void
mta_get_timeouts(struct mta_timeouts *t)
{
	*t = mta_t;
}

/* mta_domain - the domain the connection was made for */
const char *
mta_domain(const struct mta *m)
{
	return m->plan->domain;
}

/* mta_msgid - the current job's message id for logs, or "-" */
static const char *
mta_msgid(const struct mta *m)
{
	return m->job != NULL ? m->job->msgid : "-";
}

/* mta_enter - change state (logged at debug) with the state's timeout */
static void
mta_enter(struct mta *m, enum mta_state st, unsigned timeout)
{
	log_debug("mta domain=%s remote=%s state %s -> %s", m->plan->domain,
	    m->remote, mta_state_names[m->state], mta_state_names[st]);
	m->state = st;
	if (m->io != NULL)
		io_set_timeout(m->io, timeout);
}

/* mta_destroy - tell the owner, free everything */
static void
mta_destroy(struct mta *m)
{
	struct mta_job	*j = m->job;

	m->job = NULL;
	if (m->io != NULL)
		io_free(m->io);
	m->io = NULL;
	if (m->fd != -1)
		close(m->fd);
	event_free(m->cev);
	m->cbs.gone(m, j, m->arg);
	free(m->plan);
	free(m);
}

/* mta_finish - end the connection; freed once no callback is running */
static void
mta_finish(struct mta *m)
{
	m->dying = true;
	if (m->io != NULL) {
		io_free(m->io);
		m->io = NULL;
	}
	if (m->in_cb == 0)
		mta_destroy(m);
}

/* res_from_reply - the outcome the current reply gives a recipient */
static void
res_from_reply(struct mta *m, struct mta_rcpt_res *r)
{
	char		 line[256];
	const char	*st;

	mta_reply_line(&m->reply, line, sizeof(line));
	if (m->reply.code / 100 == 2)
		mta_rcpt_set(r, DR_OK, "2.0.0", line, m->remote);
	else if (m->reply.code / 100 == 5) {
		st = m->reply.esc[0] != '\0' ? m->reply.esc : "5.0.0";
		mta_rcpt_set(r, DR_PERM, st, line, m->remote);
	} else {
		st = m->reply.esc[0] == '4' ? m->reply.esc : "4.0.0";
		mta_rcpt_set(r, DR_TEMP, st, line, m->remote);
	}
}

/* log_results - one line per recipient decided on this connection */
static void
log_results(struct mta *m)
{
	static const char *const what[] = { "sent", "deferred", "bounced" };
	struct mta_job	*j = m->job;
	size_t		 i;

	for (i = 0; i < j->nrcpt; i++)
		log_info("msgid=%s rcpt=<%s> host=%s result=%s reply=\"%s\" "
		    "status=%s", j->msgid, j->rcpt[i],
		    j->res[i].remote[0] != '\0' ? j->res[i].remote : "-",
		    what[j->res[i].dr <= DR_PERM ? j->res[i].dr : 1],
		    j->res[i].reply, j->res[i].status);
}

/* job_done - hand the decided job back; then idle, or end */
static void
job_done(struct mta *m, bool keep)
{
	struct mta_job	*j = m->job;

	mta_job_fail_all(j, DR_TEMP, "4.4.2", "no reply", m->remote);
	log_results(m);
	m->job = NULL;
	m->cbs.done(m, j, m->arg);
	if (!keep || m->io == NULL) {
		mta_finish(m);
		return;
	}
	mta_enter(m, MS_IDLE, m->t.idle);
	m->cbs.idle(m, m->arg);
}

/*
 * attempt_failed - this address did not work out before a transaction:
 * remember why, try the next one (or, with nothing left, decide the job)
 */
static void
attempt_failed(struct mta *m, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
attempt_failed(struct mta *m, const char *status, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(m->last_err, sizeof(m->last_err), fmt, ap);
	va_end(ap);
	(void)snprintf(m->last_status, sizeof(m->last_status), "%s", status);
	log_info("msgid=%s domain=%s host=%s attempt failed: %s",
	    mta_msgid(m), m->plan->domain, m->remote, m->last_err);
	if (m->io != NULL) {
		io_free(m->io);
		m->io = NULL;
	}
	m->esmtp = false;
	m->ext.flags = 0;
	m->ext.size_max = 0;
	if (m->njobs > 0 || m->job == NULL) {
		/* a kept connection died between jobs: the job is not ours */
		mta_finish(m);
		return;
	}
	mta_enter(m, MS_CONNECT, 0);
	mta_next_addr(m);
}

/* conn_lost - the connection failed during a transaction */
static void
conn_lost(struct mta *m, const char *why)
{
	char	text[512];

	(void)snprintf(text, sizeof(text), "lost connection with %s in %s: %s",
	    m->remote, mta_state_names[m->state], why);
	if (m->job != NULL && m->state != MS_RSET && !m->rset_first) {
		mta_job_fail_all(m->job, DR_TEMP, "4.4.2", text, m->remote);
		job_done(m, false);
		return;
	}
	/* idle, RSET or QUIT: the job (if any) was not tried: gone() hands
	 * it back */
	if (m->state != MS_QUIT && m->state != MS_IDLE)
		log_info("domain=%s host=%s %s", m->plan->domain, m->remote,
		    text);
	mta_finish(m);
}

static void
mta_sendf(struct mta *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* mta_sendf - queue one command line */
static void
mta_sendf(struct mta *m, const char *fmt, ...)
{
	char	line[1100];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    io_write(m->io, line, (size_t)n) == -1)
		log_warnx("domain=%s host=%s command too long or output full",
		    m->plan->domain, m->remote);
}

/* send_rcpt - RCPT TO for recipient i */
static void
send_rcpt(struct mta *m, size_t i)
{
	mta_sendf(m, "RCPT TO:<%s>\r\n", m->job->rcpt[i]);
}

/* addr_text - the numeric form of ss ("" if it has none) */
static const char *
addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void	*p;

	p = ss->ss_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
	if (inet_ntop(ss->ss_family, p, buf, (socklen_t)len) == NULL)
		buf[0] = '\0';
	return buf;
}

/* rset_refused - RSET failed (state MS_RSET): QUIT; the job, not tried,
 * goes back for another connection */
static void
rset_refused(struct mta *m)
{
	mta_sendf(m, "QUIT\r\n");
	io_close_after_flush(m->io);
	mta_finish(m);
}

/* start_txn - MAIL (and with PIPELINING every RCPT) for m->job */
static void
start_txn(struct mta *m)
{
	struct mta_job	*j = m->job;
	char		 params[96] = "";
	size_t		 i, n = 0;

	m->nsent = m->nack = m->naccepted = 0;
	m->mail_failed = false;
	m->off = 0;
	m->body_done = false;
	if ((j->flags & QF_SMTPUTF8) && !(m->ext.flags & MTA_EXT_SMTPUTF8)) {
		mta_job_fail_all(j, DR_PERM, "5.6.7", "remote host does not "
		    "support SMTPUTF8 (RFC 6531 3.4)", m->remote);
		job_done(m, true);
		return;
	}
	if ((j->flags & QF_8BITMIME) && !(m->ext.flags & MTA_EXT_8BITMIME)) {
		/* downgrading to 7bit would need MIME conversion: bounce */
		log_info("msgid=%s host=%s 8BITMIME needed but not offered: "
		    "not downgraded", j->msgid, m->remote);
		mta_job_fail_all(j, DR_PERM, "5.6.3", "remote host does not "
		    "support 8BITMIME (RFC 6152 3)", m->remote);
		job_done(m, true);
		return;
	}
	if ((m->ext.flags & MTA_EXT_SIZE) && m->ext.size_max > 0 &&
	    j->prefix_len + j->size > m->ext.size_max) {
		mta_job_fail_all(j, DR_PERM, "5.3.4", "message larger than "
		    "the remote host's SIZE limit", m->remote);
		job_done(m, true);
		return;
	}
	if (m->ext.flags & MTA_EXT_SIZE)
		n += (size_t)snprintf(params + n, sizeof(params) - n,
		    " SIZE=%llu", (unsigned long long)(j->prefix_len +
		    j->size));
	if ((j->flags & QF_8BITMIME) && (m->ext.flags & MTA_EXT_8BITMIME))
		n += (size_t)snprintf(params + n, sizeof(params) - n,
		    " BODY=8BITMIME");
	if ((j->flags & QF_SMTPUTF8) && (m->ext.flags & MTA_EXT_SMTPUTF8))
		(void)snprintf(params + n, sizeof(params) - n, " SMTPUTF8");
	if (m->rset_due) {
		/* RFC 2920 3.1: RSET may lead the pipelined group */
		mta_sendf(m, "RSET\r\n");
		m->rset_due = false;
		m->rset_first = true;
	}
	mta_sendf(m, "MAIL FROM:<%s>%s\r\n", j->from, params);
	m->pipelined = (m->ext.flags & MTA_EXT_PIPELINING) != 0;
	if (m->pipelined) {
		for (i = 0; i < j->nrcpt; i++)
			send_rcpt(m, i);
		m->nsent = j->nrcpt;
	}
	mta_enter(m, MS_MAIL, m->t.mail);
}

/*
 * body_noatime - read the body without updating its access time: a body
 * file is new or rewritten for each message, so under relatime its
 * first read dirtied the inode every time (an ext4 journal update in the
 * deliver process, and one more inode for the next spool sync to write).
 * Best effort: without it the body is read all the same.
 */
static void
body_noatime(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) != -1 && (fl & O_NOATIME) == 0)
		(void)fcntl(fd, F_SETFL, fl | O_NOATIME);
}

/*
 * body_fill - read, stuff and queue body bytes while output is low.
 * Bytes are read straight into the connection's output buffer and go as
 * they are up to the first line that starts with '.'; only from there
 * are they copied aside and stuffed back (a 100 KiB body of base64 or of
 * text without such a line is never copied in user space).  The
 * terminator goes with the last chunk, so the end of a message is never
 * a write of its own.
 */
static void
body_fill(struct mta *m)
{
	char		 in[MTA_CHUNK];
	char		*out;
	size_t		 want, o;
	ssize_t		 n;
	uint64_t	 total = m->job->prefix_len + m->job->size;

	while (!m->body_done && m->io != NULL &&
	    io_out_pending(m->io) < MTA_OUT_LOW) {
		want = MTA_CHUNK;
		if (total - m->off < want)
			want = (size_t)(total - m->off);
		/*
		 * room for the stuffed bytes and the terminator: 48 KiB for
		 * a chunk, so the output buffer stays at 64 KiB (on the heap,
		 * below malloc's mmap threshold)
		 */
		if ((out = io_reserve(m->io, MTA_DOT_ROOM(want) + 5)) ==
		    NULL) {
			conn_lost(m, "output buffer full");
			return;
		}
		n = 0;
		if (m->off < m->job->prefix_len) {
			/* the queue's header lines first, then the file */
			n = (ssize_t)(m->job->prefix_len - m->off);
			if ((size_t)n > want)
				n = (ssize_t)want;
			memcpy(out, m->job->prefix + m->off, (size_t)n);
		} else if (want > 0) {
			do
				n = pread(m->job->fd, out, want, (off_t)(m->off -
				    m->job->prefix_len));
			while (n == -1 && errno == EINTR);
			if (n == -1) {
				log_warn("msgid=%s read body", m->job->msgid);
				/* cannot finish the message: drop the line */
				mta_job_fail_all(m->job, DR_TEMP, "4.3.0",
				    "local error reading the message",
				    m->remote);
				job_done(m, false);
				return;
			}
		}
		o = mta_dot_clean(&m->dot, out, (size_t)n);
		if (o < (size_t)n) {
			memcpy(in, out + o, (size_t)n - o);
			o += mta_dot_stuff(&m->dot, in, (size_t)n - o, out + o);
		}
		m->off += (uint64_t)n;
		if (n == 0 || m->off >= total) {
			/* the end (size reached, or the file is shorter) */
			o += mta_dot_end(&m->dot, out + o);
			io_commit(m->io, o);
			m->body_done = true;
			mta_enter(m, MS_DOT, m->t.dot);
			return;
		}
		io_commit(m->io, o);
		io_set_timeout(m->io, m->t.block);
	}
}

/* log_tls - the connection's TLS state and certificate check, once */
static void
log_tls(struct mta *m)
{
	long	 v;
	char	 verify[160];

	if (!io_is_tls(m->io)) {
		log_info("msgid=%s host=%s tls=none verify=none", mta_msgid(m),
		    m->remote);
		return;
	}
	v = io_tls_verify_result(m->io);
	if (v == X509_V_OK)
		(void)snprintf(verify, sizeof(verify), "ok");
	else
		(void)snprintf(verify, sizeof(verify), "fail(%s)",
		    X509_verify_cert_error_string(v));
	log_info("msgid=%s host=%s tls=%s verify=%s cipher=%s", mta_msgid(m),
	    m->remote, io_tls_version(m->io), verify, io_tls_cipher(m->io));
}

/* session_ready - EHLO/HELO done: STARTTLS first if we can, else a job */
static void
session_ready(struct mta *m)
{
	if (!io_is_tls(m->io) && m->p->tls != NULL && !m->no_tls &&
	    (m->ext.flags & MTA_EXT_STARTTLS)) {
		mta_sendf(m, "STARTTLS\r\n");
		mta_enter(m, MS_STARTTLS, m->t.helo);
		return;
	}
	log_tls(m);
	start_txn(m);
}

/* on_reply - one complete reply in the current state */
static void
on_reply(struct mta *m)
{
	struct mta_reply	*r = &m->reply;
	char			 line[256], a[INET6_ADDRSTRLEN];
	int			 cls = r->code / 100;
	size_t			 i;

	mta_reply_line(r, line, sizeof(line));
	if (m->rset_first) {
		/* the reply to the RSET in front of this transaction */
		m->rset_first = false;
		if (cls == 2)
			return;
		/* the job was not tried: another connection takes it */
		log_info("domain=%s host=%s RSET refused: %s",
		    m->plan->domain, m->remote, line);
		mta_enter(m, MS_RSET, m->t.mail);
		rset_refused(m);
		return;
	}
	switch (m->state) {
	case MS_GREETING:
		if (cls != 2) {
			attempt_failed(m, "4.4.1", "%s greeted: %s", m->remote,
			    line);
			return;
		}
		mta_sendf(m, "EHLO %s\r\n", m->p->helo);
		mta_enter(m, MS_EHLO, m->t.helo);
		return;
	case MS_EHLO:
		if (cls == 5 && !io_is_tls(m->io)) {
			mta_sendf(m, "HELO %s\r\n", m->p->helo);
			mta_enter(m, MS_HELO, m->t.helo);
			return;
		}
		if (cls != 2) {
			attempt_failed(m, "4.4.1", "%s said to EHLO: %s",
			    m->remote, line);
			return;
		}
		m->esmtp = true;
		mta_ehlo_parse(r->text, r->textlen, &m->ext);
		session_ready(m);
		return;
	case MS_HELO:
		if (cls != 2) {
			attempt_failed(m, "4.4.1", "%s said to HELO: %s",
			    m->remote, line);
			return;
		}
		m->ext.flags = 0;
		m->ext.size_max = 0;
		session_ready(m);
		return;
	case MS_STARTTLS:
		if (r->code != 220) {
			/* RFC 3207 4: the server may refuse; go on in clear */
			log_info("msgid=%s host=%s STARTTLS refused: %s",
			    mta_msgid(m), m->remote, line);
			log_tls(m);
			start_txn(m);
			return;
		}
		/*
		 * RFC 6066 3: SNI carries host names, never an address: an
		 * address literal destination sends none, and its
		 * certificate is checked against the address
		 */
		if (io_start_tls_client(m->io, m->p->tls, m->plan->literal ?
		    addr_text(&m->plan->hosts[m->hi].addrs[m->ai], a,
		    sizeof(a)) : m->plan->hosts[m->hi].name) == -1) {
			attempt_failed(m, "4.7.5", "%s: cannot start TLS",
			    m->remote);
			return;
		}
		mta_enter(m, MS_TLS, m->t.helo);
		return;
	case MS_RSET:
		if (cls != 2) {
			rset_refused(m);
			return;
		}
		start_txn(m);
		return;
	case MS_MAIL:
		if (cls != 2) {
			m->mail_failed = true;
			for (i = 0; i < m->job->nrcpt; i++)
				res_from_reply(m, &m->job->res[i]);
			if (m->pipelined && m->job->nrcpt > 0) {
				/* the RCPT replies follow: read them all */
				mta_enter(m, MS_RCPT, m->t.rcpt);
				return;
			}
			job_done(m, r->code != 421);
			return;
		}
		if (!m->pipelined) {
			send_rcpt(m, 0);
			m->nsent = 1;
		}
		mta_enter(m, MS_RCPT, m->t.rcpt);
		return;
	case MS_RCPT:
		i = m->nack++;
		if (!m->mail_failed) {
			res_from_reply(m, &m->job->res[i]);
			if (cls == 2) {
				m->job->res[i].final = false;
				m->job->res[i].accepted = true;
				m->naccepted++;
			}
		}
		if (m->nack < m->job->nrcpt) {
			if (m->nsent == m->nack) {
				send_rcpt(m, m->nsent);
				m->nsent++;
			}
			io_set_timeout(m->io, m->t.rcpt);
			return;
		}
		if (m->mail_failed || m->naccepted == 0) {
			/* RFC 5321 3.3: nothing to send; the next job on
			 * this connection starts with RSET (mta_give) */
			job_done(m, r->code != 421);
			return;
		}
		mta_sendf(m, "DATA\r\n");
		mta_enter(m, MS_DATA, m->t.data);
		return;
	case MS_DATA:
		if (r->code != 354) {
			for (i = 0; i < m->job->nrcpt; i++)
				if (m->job->res[i].accepted)
					res_from_reply(m, &m->job->res[i]);
			job_done(m, r->code != 421);
			return;
		}
		mta_dot_init(&m->dot);
		body_noatime(m->job->fd);
		mta_enter(m, MS_BODY, m->t.block);
		body_fill(m);
		return;
	case MS_BODY:
	case MS_DOT:
		for (i = 0; i < m->job->nrcpt; i++)
			if (m->job->res[i].accepted)
				res_from_reply(m, &m->job->res[i]);
		/* a reply before the end of the body: the stream is lost */
		job_done(m, m->state == MS_DOT && r->code != 421);
		return;
	case MS_IDLE:
	case MS_QUIT:
		/* 221, or a 421 on a kept connection: either way, over */
		mta_finish(m);
		return;
	case MS_CONNECT:
	case MS_TLS:
		break;
	}
	conn_lost(m, "unexpected reply");
}

/* on_input - split the input into reply lines */
static void
on_input(struct mta *m)
{
	struct buf		*in = io_in(m->io);
	size_t			 len, used;
	enum line_result	 lr;
	enum mta_reply_status	 rs;

	while (!m->dying && m->io != NULL && m->state != MS_TLS &&
	    m->state != MS_CONNECT && buf_avail(in) > 0) {
		lr = line_find(buf_ptr(in), buf_avail(in), MTA_REPLY_LINE_MAX,
		    &len, &used);
		if (lr == LINE_MORE)
			return;
		if (lr != LINE_OK) {
			if (m->state <= MS_TLS && m->job != NULL &&
			    m->njobs == 0)
				attempt_failed(m, "4.4.2", "%s: malformed "
				    "reply line", m->remote);
			else
				conn_lost(m, "malformed reply line");
			return;
		}
		rs = mta_reply_add(&m->reply, buf_ptr(in), len);
		buf_drain(in, used);
		if (rs == MR_MORE)
			continue;
		if (rs == MR_BAD) {
			if (m->state <= MS_TLS && m->njobs == 0)
				attempt_failed(m, "4.4.2", "%s: malformed "
				    "reply", m->remote);
			else
				conn_lost(m, "malformed reply");
			return;
		}
		on_reply(m);
		if (!m->dying)
			mta_reply_init(&m->reply);
	}
}

/* mta_io_cb - events of the connection (io.c) */
static void
mta_io_cb(struct io *io, enum io_event ev, void *arg)
{
	struct mta	*m = arg;
	bool		 setup;

	(void)io;
	m->in_cb++;
	setup = m->state <= MS_TLS && m->njobs == 0;
	switch (ev) {
	case IO_DATAIN:
		on_input(m);
		break;
	case IO_DRAINED:
		if (m->state == MS_BODY)
			body_fill(m);
		break;
	case IO_TLSREADY:
		mta_sendf(m, "EHLO %s\r\n", m->p->helo);
		mta_enter(m, MS_EHLO, m->t.helo);
		break;
	case IO_TIMEOUT:
		if (m->state == MS_IDLE) {
			mta_sendf(m, "QUIT\r\n");
			mta_enter(m, MS_QUIT, m->t.quit);
		} else if (setup)
			attempt_failed(m, "4.4.2", "%s: timeout in %s",
			    m->remote, mta_state_names[m->state]);
		else
			conn_lost(m, "timeout");
		break;
	case IO_CLOSED:
	case IO_ERROR:
		if (setup && m->state == MS_TLS && m->p->plain_fallback &&
		    !m->no_tls) {
			/* configured: the same address again, in clear */
			log_info("msgid=%s host=%s TLS handshake failed, "
			    "retrying without TLS: error=%s", mta_msgid(m),
			    m->remote, io_error(m->io));
			m->no_tls = true;
			m->started = false;	/* same address once more */
			attempt_failed(m, "4.7.5", "%s: TLS handshake failed",
			    m->remote);
		} else if (setup)
			attempt_failed(m, m->state == MS_TLS ? "4.7.5" :
			    "4.4.2", "%s: %s in %s", m->remote,
			    ev == IO_CLOSED ? "connection closed" :
			    io_error(m->io), mta_state_names[m->state]);
		else
			conn_lost(m, ev == IO_CLOSED ? "connection closed" :
			    io_error(m->io));
		break;
	}
	m->in_cb--;
	if (m->dying && m->in_cb == 0)
		mta_destroy(m);
}

/* on_connect - the non-blocking connect finished, or timed out */
static void
on_connect(evutil_socket_t fd, short what, void *arg)
{
	struct mta	*m = arg;
	int		 err = 0;
	socklen_t	 elen = sizeof(err);

	m->in_cb++;
	if (what & EV_TIMEOUT) {
		close(m->fd);
		m->fd = -1;
		attempt_failed(m, "4.4.1", "connect to %s: timed out",
		    m->remote);
		goto out;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		err = errno;
	if (err != 0) {
		close(m->fd);
		m->fd = -1;
		attempt_failed(m, "4.4.1", "connect to %s: %s", m->remote,
		    strerror(err));
		goto out;
	}
	m->io = io_new(m->base, m->fd, mta_io_cb, m, MTA_IN_CAP, MTA_OUT_CAP);
	m->fd = -1;
	mta_reply_init(&m->reply);
	mta_enter(m, MS_GREETING, m->t.greeting);
out:
	m->in_cb--;
	if (m->dying && m->in_cb == 0)
		mta_destroy(m);
}

/* advance - the next (host, address) of the plan; false when none left */
static bool
advance(struct mta *m)
{
	if (!m->started) {
		m->started = true;
		return m->hi < m->plan->nhosts &&
		    m->ai < m->plan->hosts[m->hi].naddrs;
	}
	m->no_tls = false;
	if (++m->ai < m->plan->hosts[m->hi].naddrs)
		return true;
	m->ai = 0;
	while (++m->hi < m->plan->nhosts)
		if (m->plan->hosts[m->hi].naddrs > 0)
			return true;
	return false;
}

/* mta_next_addr - connect to the next address; decide the job at the end */
static void
mta_next_addr(struct mta *m)
{
	struct sockaddr_storage	 ss;
	const struct sockaddr_storage *src;
	char			 a[INET6_ADDRSTRLEN];
	socklen_t		 sl;
	int			 fd;
	struct timeval		 tv;

	while (advance(m)) {
		ss = m->plan->hosts[m->hi].addrs[m->ai];
		(void)addr_text(&ss, a, sizeof(a));
		if (ss.ss_family == AF_INET6) {
			((struct sockaddr_in6 *)&ss)->sin6_port =
			    htons((uint16_t)m->p->port);
			sl = sizeof(struct sockaddr_in6);
			src = m->p->has_src6 ? &m->p->src6 : NULL;
		} else {
			((struct sockaddr_in *)&ss)->sin_port =
			    htons((uint16_t)m->p->port);
			sl = sizeof(struct sockaddr_in);
			src = m->p->has_src4 ? &m->p->src4 : NULL;
		}
		(void)snprintf(m->remote, sizeof(m->remote), "%s [%s]",
		    m->plan->hosts[m->hi].name, a);
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			(void)snprintf(m->last_err, sizeof(m->last_err),
			    "socket: %s", strerror(errno));
			continue;
		}
		if (src != NULL && bind(fd, (const struct sockaddr *)src,
		    ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
		    sizeof(struct sockaddr_in)) == -1) {
			(void)snprintf(m->last_err, sizeof(m->last_err),
			    "bind source address for %s: %s", m->remote,
			    strerror(errno));
			(void)snprintf(m->last_status,
			    sizeof(m->last_status), "4.4.1");
			log_warnx("domain=%s %s", m->plan->domain,
			    m->last_err);
			close(fd);
			continue;
		}
		if (connect(fd, (struct sockaddr *)&ss, sl) == -1 &&
		    errno != EINPROGRESS) {
			(void)snprintf(m->last_err, sizeof(m->last_err),
			    "connect to %s: %s", m->remote, strerror(errno));
			(void)snprintf(m->last_status,
			    sizeof(m->last_status), "4.4.1");
			log_info("msgid=%s domain=%s host=%s attempt failed: "
			    "%s", mta_msgid(m), m->plan->domain, m->remote,
			    m->last_err);
			close(fd);
			continue;
		}
		m->fd = fd;
		/* cev is not pending here (its callback, if any, is running) */
		if (event_assign(m->cev, m->base, fd, EV_WRITE, on_connect,
		    m) == -1)
			fatalx("mta: event_assign");
		tv.tv_sec = m->t.connect;
		tv.tv_usec = 0;
		event_add(m->cev, &tv);
		m->state = MS_CONNECT;
		return;
	}
	/* every address failed: temporary (RFC 5321 4.5.4.1) */
	if (m->last_status[0] != '4')
		(void)snprintf(m->last_status, sizeof(m->last_status), "4.4.1");
	if (m->last_err[0] == '\0')
		(void)snprintf(m->last_err, sizeof(m->last_err),
		    "no address could be tried");
	mta_job_fail_all(m->job, DR_TEMP, m->last_status, m->last_err,
	    m->remote);
	job_done(m, false);
}

/* on_start - first step, from the loop (callbacks never run inside calls) */
static void
on_start(evutil_socket_t fd, short what, void *arg)
{
	struct mta	*m = arg;

	(void)fd;
	(void)what;
	m->in_cb++;
	mta_next_addr(m);
	m->in_cb--;
	if (m->dying && m->in_cb == 0)
		mta_destroy(m);
}

/* on_give - a job given with PIPELINING: its transaction starts */
static void
on_give(evutil_socket_t fd, short what, void *arg)
{
	struct mta	*m = arg;

	(void)fd;
	(void)what;
	if (m->dying || m->io == NULL || m->job == NULL ||
	    m->state != MS_RSET)
		return;
	m->in_cb++;
	start_txn(m);
	m->in_cb--;
	if (m->dying && m->in_cb == 0)
		mta_destroy(m);
}

/* mta_start - a new connection for plan, first job given */
struct mta *
mta_start(struct event_base *base, const struct mta_params *p,
    const struct mx_plan *plan, struct mta_job *job,
    const struct mta_cbs *cbs, void *arg)
{
	struct mta	*m = xcalloc(1, sizeof(*m));

	m->base = base;
	m->p = p;
	m->cbs = *cbs;
	m->arg = arg;
	m->t = mta_t;
	m->plan = xmalloc(sizeof(*m->plan));
	*m->plan = *plan;
	m->fd = -1;
	m->job = job;
	m->state = MS_CONNECT;
	m->cev = event_new(base, -1, 0, on_start, m);
	if (m->cev == NULL)
		fatalx("mta: event_new");
	event_active(m->cev, 0, 0);
	return m;
}

/* mta_give - the next job on a kept connection: RSET first (pipelined
 * with the transaction when the peer offers PIPELINING) */
void
mta_give(struct mta *m, struct mta_job *job)
{
	if (m->state != MS_IDLE || m->job != NULL || m->io == NULL)
		fatalx("mta_give: connection not idle");
	m->job = job;
	m->njobs++;
	if (m->ext.flags & MTA_EXT_PIPELINING) {
		/*
		 * one round trip less: RSET goes with MAIL (start_txn), from
		 * the loop: start_txn may decide the job on the spot and
		 * give the next one, which must not recurse.  Until then the
		 * job counts as not tried (MS_RSET).
		 */
		m->rset_due = true;
		mta_enter(m, MS_RSET, m->t.mail);
		if (event_assign(m->cev, m->base, -1, 0, on_give, m) == -1)
			fatalx("mta: event_assign");
		event_active(m->cev, 0, 0);
		return;
	}
	mta_sendf(m, "RSET\r\n");
	mta_enter(m, MS_RSET, m->t.mail);
}

/* mta_quit - QUIT an idle connection */
void
mta_quit(struct mta *m)
{
	if (m->state != MS_IDLE || m->io == NULL)
		return;
	mta_sendf(m, "QUIT\r\n");
	mta_enter(m, MS_QUIT, m->t.quit);
}
