/*
 * ipc.c - the typed codec of every IPC message (ipc.h holds the structs,
 * which are the definition of each payload).
 *
 * Runs in every process.  Pure: it builds and reads struct msg, never
 * sends, never logs.  A getter reads from just after the type, checks
 * the type, bounds every string (bounds.h, per field as ipc.h says) and
 * every list, ends with msg_end() (a short or a long message fails), and
 * fills *out only when all of that held.  A descriptor is part of the
 * payload where the type carries one: the getter hands it over on
 * success and leaves it to msg_free() otherwise.  A putter given a list
 * longer than its bound is a bug here: fatalx.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bounds.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "ticket.h"

/* ipc_start - read m from just after its type, which must be type (if
 * not, m is bad: every read after gives nothing) */
static void
ipc_start(struct msg *m, uint32_t type)
{
	if (m->len < sizeof(uint32_t) || m->type != type) {
		m->bad = true;
		return;
	}
	m->pos = sizeof(uint32_t);
	m->bad = false;
}

/* ipc_str - the next string, at most max octets; "" (message bad) if not */
static const char *
ipc_str(struct msg *m, size_t max)
{
	const char	*s = msg_get_str(m);

	if (m->bad || strlen(s) > max) {
		m->bad = true;
		return "";
	}
	return s;
}

/* ipc_bool - the next u32, which must be 0 or 1 */
static bool
ipc_bool(struct msg *m)
{
	uint32_t	v = msg_get_u32(m);

	if (v > 1)
		m->bad = true;
	return v == 1;
}

/* ipc_done - the common end of a getter: exact, or -1 with e */
static int
ipc_done(struct msg *m, const char *what, struct err *e)
{
	if (msg_end(m) == -1)
		return err_set(e, false, 0, "malformed %s", what);
	return 0;
}

/*
 * ---- the shared recipient list: u32 n, then n strings ----
 */

/* ipc_strs_put - n strings */
void
ipc_strs_put(struct msg *m, const char *const *v, uint32_t n)
{
	uint32_t	i;

	msg_add_u32(m, n);
	for (i = 0; i < n; i++)
		msg_add_str(m, v[i]);
}

/* ipc_strs_get - at most max strings of at most maxlen octets into v */
int
ipc_strs_get(struct msg *m, const char **v, uint32_t max, size_t maxlen,
    uint32_t *n)
{
	uint32_t	k = msg_get_u32(m), i;

	if (m->bad || k > max) {
		m->bad = true;
		return -1;
	}
	for (i = 0; i < k && !m->bad; i++)
		v[i] = ipc_str(m, maxlen);
	if (m->bad)
		return -1;
	*n = k;
	return 0;
}

/*
 * ---- auth ----
 */

/* ipc_auth_req_put - M_AUTH_REQ */
void
ipc_auth_req_put(struct msg *m, const struct ipc_auth_req *r)
{
	msg_init(m, M_AUTH_REQ);
	msg_add_u64(m, r->reqid);
	msg_add_str(m, r->user);
	msg_add_str(m, r->password);
	msg_add_str(m, r->client);
}

/* ipc_auth_req_get - M_AUTH_REQ */
int
ipc_auth_req_get(struct msg *m, struct ipc_auth_req *out, struct err *e)
{
	struct ipc_auth_req	r;

	ipc_start(m, M_AUTH_REQ);
	r.reqid = msg_get_u64(m);
	r.user = ipc_str(m, LIM_AUTH_LINE);
	r.password = ipc_str(m, LIM_AUTH_LINE);
	r.client = ipc_str(m, LIM_IPC_TEXT);
	if (ipc_done(m, "M_AUTH_REQ", e) == -1)
		return -1;
	*out = r;
	return 0;
}

/* ipc_auth_res_put - M_AUTH_RES */
void
ipc_auth_res_put(struct msg *m, const struct ipc_auth_res *r)
{
	msg_init(m, M_AUTH_RES);
	msg_add_u64(m, r->reqid);
	msg_add_u32(m, r->result);
	msg_add_str(m, r->user);
	msg_add_u64(m, r->issued);
	msg_add_str(m, r->ticket);
}

/* ipc_auth_res_get - M_AUTH_RES */
int
ipc_auth_res_get(struct msg *m, struct ipc_auth_res *out, struct err *e)
{
	struct ipc_auth_res	r;

	ipc_start(m, M_AUTH_RES);
	r.reqid = msg_get_u64(m);
	r.result = msg_get_u32(m);
	r.user = ipc_str(m, LIM_IPC_MAILBOX);
	r.issued = msg_get_u64(m);
	r.ticket = ipc_str(m, TICKET_HEX);
	if (r.result > AUTH_TEMPFAIL)
		m->bad = true;
	if (ipc_done(m, "M_AUTH_RES", e) == -1)
		return -1;
	*out = r;
	return 0;
}

/*
 * ---- smtp's transactions ----
 */

/* ipc_q_open_put - M_Q_OPEN */
void
ipc_q_open_put(struct msg *m, const struct ipc_q_open *o)
{
	if (o->nrcpts > LIM_RECIPIENTS_MAX)
		fatalx("M_Q_OPEN with %u recipients", o->nrcpts);
	msg_init(m, M_Q_OPEN);
	msg_add_u64(m, o->reqid);
	msg_add_str(m, o->from);
	msg_add_u32(m, o->flags);
	msg_add_str(m, o->auth);
	msg_add_u64(m, o->auth_issued);
	msg_add_str(m, o->auth_ticket);
	msg_add_str(m, o->client);
	ipc_strs_put(m, o->rcpts, o->nrcpts);
}

/* ipc_q_open_get - M_Q_OPEN */
int
ipc_q_open_get(struct msg *m, struct ipc_q_open *out, struct err *e)
{
	struct ipc_q_open	o;

	ipc_start(m, M_Q_OPEN);
	o.reqid = msg_get_u64(m);
	o.from = ipc_str(m, LIM_PATH);
	o.flags = msg_get_u32(m);
	o.auth = ipc_str(m, LIM_IPC_MAILBOX);
	o.auth_issued = msg_get_u64(m);
	o.auth_ticket = ipc_str(m, TICKET_HEX);
	o.client = ipc_str(m, Q_CLIENT_MAX);
	(void)ipc_strs_get(m, o.rcpts, LIM_RECIPIENTS_MAX, LIM_PATH,
	    &o.nrcpts);
	if (ipc_done(m, "M_Q_OPEN", e) == -1)
		return -1;
	memcpy(out, &o, offsetof(struct ipc_q_open, rcpts) +
	    o.nrcpts * sizeof(o.rcpts[0]));
	return 0;
}

/* ipc_q_open_res_put - M_Q_OPEN_RES (the message takes r->fd) */
void
ipc_q_open_res_put(struct msg *m, const struct ipc_q_open_res *r)
{
	msg_init(m, M_Q_OPEN_RES);
	msg_add_u64(m, r->reqid);
	msg_add_u32(m, r->ok ? 1 : 0);
	msg_add_str(m, r->ok ? r->id : "");
	msg_add_str(m, r->ok ? "" : r->error);
	if (r->fd != -1)
		msg_set_fd(m, r->fd);
}

/* ipc_q_open_res_get - M_Q_OPEN_RES: ok comes with a descriptor */
int
ipc_q_open_res_get(struct msg *m, struct ipc_q_open_res *out, struct err *e)
{
	struct ipc_q_open_res	r;

	ipc_start(m, M_Q_OPEN_RES);
	r.reqid = msg_get_u64(m);
	r.ok = ipc_bool(m);
	r.id = ipc_str(m, LIM_IPC_ID);
	r.error = ipc_str(m, LIM_IPC_TEXT);
	/* as the putter writes it: an id or an error, not both */
	if (r.ok ? *r.error != '\0' : *r.id != '\0')
		m->bad = true;
	if (!m->bad && r.ok && m->fd == -1)
		return err_set(e, false, 0,
		    "M_Q_OPEN_RES without a descriptor");
	if (ipc_done(m, "M_Q_OPEN_RES", e) == -1)
		return -1;
	r.fd = msg_take_fd(m);
	*out = r;
	return 0;
}

/* ipc_q_commit_put - M_Q_COMMIT */
void
ipc_q_commit_put(struct msg *m, const struct ipc_q_commit *c)
{
	msg_init(m, M_Q_COMMIT);
	msg_add_u64(m, c->reqid);
	msg_add_str(m, c->id);
	msg_add_u64(m, c->body_hash);
	msg_add_str(m, c->prefix != NULL ? c->prefix : "");
}

/* ipc_q_commit_get - M_Q_COMMIT */
int
ipc_q_commit_get(struct msg *m, struct ipc_q_commit *out, struct err *e)
{
	struct ipc_q_commit	c;

	ipc_start(m, M_Q_COMMIT);
	c.reqid = msg_get_u64(m);
	c.id = ipc_str(m, LIM_IPC_ID);
	c.body_hash = msg_get_u64(m);
	c.prefix = ipc_str(m, LIM_PREFIX);
	if (ipc_done(m, "M_Q_COMMIT", e) == -1)
		return -1;
	*out = c;
	return 0;
}

/* ipc_q_commit_res_put - M_Q_COMMIT_RES */
void
ipc_q_commit_res_put(struct msg *m, const struct ipc_q_commit_res *r)
{
	msg_init(m, M_Q_COMMIT_RES);
	msg_add_u64(m, r->reqid);
	msg_add_str(m, r->id);
	msg_add_u32(m, r->ok ? 1 : 0);
	msg_add_u32(m, r->temp ? 1 : 0);
	msg_add_str(m, r->ok ? "" : r->error);
}

/* ipc_q_commit_res_get - M_Q_COMMIT_RES */
int
ipc_q_commit_res_get(struct msg *m, struct ipc_q_commit_res *out,
    struct err *e)
{
	struct ipc_q_commit_res	r;

	ipc_start(m, M_Q_COMMIT_RES);
	r.reqid = msg_get_u64(m);
	r.id = ipc_str(m, LIM_IPC_ID);
	r.ok = ipc_bool(m);
	r.temp = ipc_bool(m);
	r.error = ipc_str(m, LIM_IPC_TEXT);
	if (r.ok && *r.error != '\0')
		m->bad = true;
	if (ipc_done(m, "M_Q_COMMIT_RES", e) == -1)
		return -1;
	*out = r;
	return 0;
}

/* ipc_q_rcpt_put - M_Q_RCPT */
void
ipc_q_rcpt_put(struct msg *m, const struct ipc_q_rcpt *r)
{
	msg_init(m, M_Q_RCPT);
	msg_add_u64(m, r->reqid);
	msg_add_str(m, r->addr);
}

/* ipc_q_rcpt_get - M_Q_RCPT */
int
ipc_q_rcpt_get(struct msg *m, struct ipc_q_rcpt *out, struct err *e)
{
	struct ipc_q_rcpt	r;

	ipc_start(m, M_Q_RCPT);
	r.reqid = msg_get_u64(m);
	r.addr = ipc_str(m, LIM_PATH);
	if (*r.addr == '\0')
		m->bad = true;
	if (ipc_done(m, "M_Q_RCPT", e) == -1)
		return -1;
	*out = r;
	return 0;
}

/* ipc_q_rcpt_res_put - M_Q_RCPT_RES */
void
ipc_q_rcpt_res_put(struct msg *m, const struct ipc_q_rcpt_res *r)
{
	msg_init(m, M_Q_RCPT_RES);
	msg_add_u64(m, r->reqid);
	msg_add_u32(m, r->ok ? 1 : 0);
	msg_add_str(m, r->ok ? "" : r->reply);
}

/* ipc_q_rcpt_res_get - M_Q_RCPT_RES */
int
ipc_q_rcpt_res_get(struct msg *m, struct ipc_q_rcpt_res *out,
    struct err *e)
{
	struct ipc_q_rcpt_res	r;

	ipc_start(m, M_Q_RCPT_RES);
	r.reqid = msg_get_u64(m);
	r.ok = ipc_bool(m);
	r.reply = ipc_str(m, LIM_IPC_TEXT);
	if (r.ok != (*r.reply == '\0'))
		m->bad = true;
	if (ipc_done(m, "M_Q_RCPT_RES", e) == -1)
		return -1;
	*out = r;
	return 0;
}

/* ipc_q_abort_put - M_Q_ABORT */
void
ipc_q_abort_put(struct msg *m, const struct ipc_q_abort *a)
{
	msg_init(m, M_Q_ABORT);
	msg_add_str(m, a->id);
}

/* ipc_q_abort_get - M_Q_ABORT */
int
ipc_q_abort_get(struct msg *m, struct ipc_q_abort *out, struct err *e)
{
	struct ipc_q_abort	a;

	ipc_start(m, M_Q_ABORT);
	a.id = ipc_str(m, LIM_IPC_ID);
	if (ipc_done(m, "M_Q_ABORT", e) == -1)
		return -1;
	*out = a;
	return 0;
}

/*
 * ---- the parent's ----
 */

/* ipc_fd_put - M_Q_PEER or M_Q_DELIVER (the message takes f->fd) */
void
ipc_fd_put(struct msg *m, uint32_t type, const struct ipc_fd *f)
{
	msg_init(m, type);
	msg_set_fd(m, f->fd);
}

/* ipc_fd_get - M_Q_PEER, M_Q_DELIVER or M_Q_SIGNER: a descriptor only */
int
ipc_fd_get(struct msg *m, uint32_t type, struct ipc_fd *out, struct err *e)
{
	ipc_start(m, type);
	if (m->fd == -1)
		m->bad = true;
	if (ipc_done(m, type == M_Q_PEER ? "M_Q_PEER" : type == M_Q_DELIVER ?
	    "M_Q_DELIVER" : "M_Q_SIGNER", e) == -1)
		return -1;
	out->fd = msg_take_fd(m);
	return 0;
}

/* ipc_empty_put - a message of no payload (M_RELOAD, M_CTL_Q_LIST) */
void
ipc_empty_put(struct msg *m, uint32_t type)
{
	msg_init(m, type);
}

/* ipc_empty_get - a message of no payload: nothing after the type */
int
ipc_empty_get(struct msg *m, uint32_t type, struct err *e)
{
	ipc_start(m, type);
	if (m->fd != -1)
		m->bad = true;
	return ipc_done(m, "message without payload", e);
}

/*
 * ---- deliver's ----
 */

/* ipc_d_job_put - M_D_JOB (the message takes j->fd) */
void
ipc_d_job_put(struct msg *m, const struct ipc_d_job *j)
{
	if (j->nrcpts > Q_RJOB_MAX)
		fatalx("M_D_JOB with %u recipients", j->nrcpts);
	msg_init(m, M_D_JOB);
	msg_add_u64(m, j->jobid);
	msg_add_str(m, j->msgid);
	msg_add_str(m, j->from);
	msg_add_u32(m, j->flags);
	msg_add_u64(m, j->size);
	msg_add_str(m, j->prefix);
	msg_add_str(m, j->domain);
	ipc_strs_put(m, j->rcpts, j->nrcpts);
	if (j->fd != -1)
		msg_set_fd(m, j->fd);
}

/* ipc_d_job_get - M_D_JOB: at least one recipient; fd -1 if none came */
int
ipc_d_job_get(struct msg *m, struct ipc_d_job *out, struct err *e)
{
	struct ipc_d_job	j;

	ipc_start(m, M_D_JOB);
	j.jobid = msg_get_u64(m);
	j.msgid = ipc_str(m, LIM_IPC_ID);
	j.from = ipc_str(m, LIM_IPC_ADDR);
	j.flags = msg_get_u32(m);
	j.size = msg_get_u64(m);
	j.prefix = ipc_str(m, LIM_PREFIX);
	j.domain = ipc_str(m, LIM_IPC_ADDR);
	if (ipc_strs_get(m, j.rcpts, Q_RJOB_MAX, LIM_IPC_ADDR,
	    &j.nrcpts) == 0 && j.nrcpts == 0)
		m->bad = true;
	if (ipc_done(m, "M_D_JOB", e) == -1)
		return -1;
	j.fd = msg_take_fd(m);
	memcpy(out, &j, sizeof(j));
	return 0;
}

/*
 * ---- the signer's ----
 */

/* ipc_k_keys_put - M_K_KEYS */
void
ipc_k_keys_put(struct msg *m, const struct ipc_k_keys *k)
{
	uint32_t	i;

	if (k->n > LIM_SIGNER_KEYS)
		fatalx("M_K_KEYS with %u keys", k->n);
	msg_init(m, M_K_KEYS);
	msg_add_u32(m, k->n);
	for (i = 0; i < k->n; i++) {
		msg_add_str(m, k->v[i].domain);
		msg_add_str(m, k->v[i].selector);
		msg_add_u32(m, k->v[i].alg);
	}
}

/* ipc_k_keys_get - M_K_KEYS: at most LIM_SIGNER_KEYS, known algorithms */
int
ipc_k_keys_get(struct msg *m, struct ipc_k_keys *out, struct err *e)
{
	struct ipc_k_key	v[LIM_SIGNER_KEYS];
	uint32_t		n, i;

	ipc_start(m, M_K_KEYS);
	n = msg_get_u32(m);
	if (n > LIM_SIGNER_KEYS)
		m->bad = true;
	for (i = 0; i < n && !m->bad; i++) {
		v[i].domain = ipc_str(m, LIM_DOMAIN);
		v[i].selector = ipc_str(m, LIM_SELECTOR);
		v[i].alg = msg_get_u32(m);
		if (v[i].alg > K_ALG_UNREADABLE)
			m->bad = true;
	}
	if (ipc_done(m, "M_K_KEYS", e) == -1)
		return -1;
	out->n = n;
	memcpy(out->v, v, n * sizeof(v[0]));
	return 0;
}

/* ipc_k_sign_put - M_K_SIGN */
void
ipc_k_sign_put(struct msg *m, const struct ipc_k_sign *k)
{
	msg_init(m, M_K_SIGN);
	msg_add_u64(m, k->reqid);
	msg_add_str(m, k->domain);
	msg_add_str(m, k->selector);
	msg_add_data(m, k->digest, LIM_K_DIGEST);
}

/* ipc_k_sign_get - M_K_SIGN: the digest exactly LIM_K_DIGEST octets */
int
ipc_k_sign_get(struct msg *m, struct ipc_k_sign *out, struct err *e)
{
	struct ipc_k_sign	k;
	size_t			len = 0;

	ipc_start(m, M_K_SIGN);
	k.reqid = msg_get_u64(m);
	k.domain = ipc_str(m, LIM_DOMAIN);
	k.selector = ipc_str(m, LIM_SELECTOR);
	k.digest = msg_get_data(m, &len);
	if (len != LIM_K_DIGEST)
		m->bad = true;
	if (ipc_done(m, "M_K_SIGN", e) == -1)
		return -1;
	*out = k;
	return 0;
}

/* ipc_k_sign_res_put - M_K_SIGN_RES */
void
ipc_k_sign_res_put(struct msg *m, const struct ipc_k_sign_res *r)
{
	msg_init(m, M_K_SIGN_RES);
	msg_add_u64(m, r->reqid);
	msg_add_u32(m, r->ok ? 1 : 0);
	msg_add_data(m, r->ok ? r->sig : (const unsigned char *)"",
	    r->ok ? r->siglen : 0);
	msg_add_str(m, r->ok ? "" : r->error);
}

/*
 * ipc_k_sign_res_get - M_K_SIGN_RES: ok with a signature of 1 ..
 * LIM_K_SIG octets and no error, or a failure with none
 */
int
ipc_k_sign_res_get(struct msg *m, struct ipc_k_sign_res *out,
    struct err *e)
{
	struct ipc_k_sign_res	r;

	ipc_start(m, M_K_SIGN_RES);
	r.reqid = msg_get_u64(m);
	r.ok = ipc_bool(m);
	r.siglen = 0;
	r.sig = msg_get_data(m, &r.siglen);
	r.error = ipc_str(m, LIM_IPC_TEXT);
	if (r.ok ? r.siglen == 0 || r.siglen > LIM_K_SIG ||
	    r.error[0] != '\0' : r.siglen != 0)
		m->bad = true;
	if (ipc_done(m, "M_K_SIGN_RES", e) == -1)
		return -1;
	*out = r;
	return 0;
}

/* ipc_d_result_put - M_D_RESULT */
void
ipc_d_result_put(struct msg *m, const struct ipc_d_result *r)
{
	uint32_t	i;

	if (r->n > Q_RJOB_MAX)
		fatalx("M_D_RESULT with %u recipients", r->n);
	msg_init(m, M_D_RESULT);
	msg_add_u64(m, r->jobid);
	msg_add_u32(m, r->n);
	for (i = 0; i < r->n; i++) {
		msg_add_u32(m, r->r[i].dr);
		msg_add_str(m, r->r[i].status);
		msg_add_str(m, r->r[i].reply);
		msg_add_str(m, r->r[i].remote);
	}
}

/* ipc_d_result_get - M_D_RESULT */
int
ipc_d_result_get(struct msg *m, struct ipc_d_result *out, struct err *e)
{
	struct ipc_d_result	r;
	uint32_t		i;

	ipc_start(m, M_D_RESULT);
	r.jobid = msg_get_u64(m);
	r.n = msg_get_u32(m);
	if (r.n > Q_RJOB_MAX)
		m->bad = true;
	for (i = 0; i < r.n && !m->bad; i++) {
		r.r[i].dr = msg_get_u32(m);
		r.r[i].status = ipc_str(m, LIM_IPC_TEXT);
		r.r[i].reply = ipc_str(m, LIM_IPC_TEXT);
		r.r[i].remote = ipc_str(m, LIM_IPC_TEXT);
		if (r.r[i].dr > DR_PERM)
			m->bad = true;
	}
	if (ipc_done(m, "M_D_RESULT", e) == -1)
		return -1;
	memcpy(out, &r, offsetof(struct ipc_d_result, r) +
	    r.n * sizeof(r.r[0]));
	return 0;
}

/*
 * ---- the control socket ----
 */

/* ipc_ctl_id_put - M_CTL_Q_SHOW, M_CTL_Q_FLUSH, M_CTL_Q_REMOVE */
void
ipc_ctl_id_put(struct msg *m, uint32_t type, const struct ipc_ctl_id *c)
{
	msg_init(m, type);
	msg_add_str(m, c->id);
}

/* ipc_ctl_id_get - M_CTL_Q_SHOW, M_CTL_Q_FLUSH, M_CTL_Q_REMOVE */
int
ipc_ctl_id_get(struct msg *m, uint32_t type, struct ipc_ctl_id *out,
    struct err *e)
{
	struct ipc_ctl_id	c;

	ipc_start(m, type);
	c.id = ipc_str(m, LIM_IPC_ID);
	if (ipc_done(m, "control request", e) == -1)
		return -1;
	*out = c;
	return 0;
}

/* ipc_ctl_line_put - M_CTL_LINE */
void
ipc_ctl_line_put(struct msg *m, const struct ipc_ctl_line *l)
{
	msg_init(m, M_CTL_LINE);
	msg_add_str(m, l->text);
}

/* ipc_ctl_line_get - M_CTL_LINE */
int
ipc_ctl_line_get(struct msg *m, struct ipc_ctl_line *out, struct err *e)
{
	struct ipc_ctl_line	l;

	ipc_start(m, M_CTL_LINE);
	l.text = ipc_str(m, LIM_IPC_MSG);
	if (ipc_done(m, "M_CTL_LINE", e) == -1)
		return -1;
	*out = l;
	return 0;
}

/* ipc_ctl_end_put - M_CTL_END */
void
ipc_ctl_end_put(struct msg *m, const struct ipc_ctl_end *c)
{
	msg_init(m, M_CTL_END);
	msg_add_u32(m, c->status);
	msg_add_str(m, c->text);
}

/* ipc_ctl_end_get - M_CTL_END */
int
ipc_ctl_end_get(struct msg *m, struct ipc_ctl_end *out, struct err *e)
{
	struct ipc_ctl_end	c;

	ipc_start(m, M_CTL_END);
	c.status = msg_get_u32(m);
	c.text = ipc_str(m, LIM_IPC_TEXT);
	if (ipc_done(m, "M_CTL_END", e) == -1)
		return -1;
	*out = c;
	return 0;
}

/*
 * ---- the inbound checks: smtp <-> verifier ----
 */

/* ipc_v_req_put - M_V_REQ */
void
ipc_v_req_put(struct msg *m, const struct ipc_v_req *r)
{
	const struct ipc_v_sig	*s;
	uint32_t		 i;

	if (r->nsigs > LIM_IPC_SIGS)
		fatalx("M_V_REQ with %u signatures", r->nsigs);
	msg_init(m, M_V_REQ);
	msg_add_u64(m, r->reqid);
	msg_add_u32(m, r->spf_only);
	msg_add_str(m, r->addr);
	msg_add_str(m, r->helo);
	msg_add_str(m, r->from);
	msg_add_str(m, r->author);
	msg_add_u32(m, r->author_bad);
	msg_add_u32(m, r->header_bad);
	msg_add_u32(m, r->nsigs);
	for (i = 0; i < r->nsigs; i++) {
		s = &r->sigs[i];
		msg_add_u32(m, s->usable);
		msg_add_u32(m, s->body_ok);
		msg_add_u32(m, s->partial);
		msg_add_u32(m, s->alg);
		msg_add_str(m, s->d);
		msg_add_str(m, s->s);
		msg_add_str(m, s->i);
		msg_add_str(m, s->b);
		msg_add_u32(m, s->has_x);
		msg_add_u64(m, s->x);
		msg_add_data(m, s->digest, LIM_IPC_DIGEST);
		msg_add_str(m, s->why);
	}
}

/* ipc_v_sig_get - one signature of M_V_REQ (m bad if it is not one) */
static void
ipc_v_sig_get(struct msg *m, struct ipc_v_sig *s)
{
	size_t	len = 0;

	s->usable = ipc_bool(m);
	s->body_ok = ipc_bool(m);
	s->partial = ipc_bool(m);
	if ((s->alg = msg_get_u32(m)) > 1)
		m->bad = true;
	s->d = ipc_str(m, LIM_DOMAIN);
	s->s = ipc_str(m, LIM_DOMAIN);
	s->i = ipc_str(m, LIM_PATH);
	s->b = ipc_str(m, LIM_IPC_DKIM_B);
	s->has_x = ipc_bool(m);
	s->x = msg_get_u64(m);
	s->digest = msg_get_data(m, &len);
	if (s->digest == NULL || len != LIM_IPC_DIGEST)
		m->bad = true;
	s->why = ipc_str(m, LIM_IPC_WHY);
}

/* ipc_v_req_get - M_V_REQ */
int
ipc_v_req_get(struct msg *m, struct ipc_v_req *out, struct err *e)
{
	struct ipc_v_req	*r = &(struct ipc_v_req){ 0 };
	uint32_t		 i;

	ipc_start(m, M_V_REQ);
	r->reqid = msg_get_u64(m);
	r->spf_only = ipc_bool(m);
	r->addr = ipc_str(m, LIM_IPC_ADDRTEXT);
	r->helo = ipc_str(m, LIM_DOMAIN);
	r->from = ipc_str(m, LIM_PATH);
	r->author = ipc_str(m, LIM_DOMAIN);
	r->author_bad = ipc_bool(m);
	r->header_bad = ipc_bool(m);
	r->nsigs = msg_get_u32(m);
	if (r->nsigs > LIM_IPC_SIGS)
		m->bad = true;
	for (i = 0; i < r->nsigs && !m->bad; i++)
		ipc_v_sig_get(m, &r->sigs[i]);
	if (ipc_done(m, "M_V_REQ", e) == -1)
		return -1;
	*out = *r;
	return 0;
}

/* ipc_v_res_put - M_V_RES */
void
ipc_v_res_put(struct msg *m, const struct ipc_v_res *r)
{
	msg_init(m, M_V_RES);
	msg_add_u64(m, r->reqid);
	msg_add_u32(m, r->verdict);
	msg_add_str(m, r->reply);
	msg_add_str(m, r->authres);
}

/* ipc_v_res_get - M_V_RES: a refusal has its reply, an accept none */
int
ipc_v_res_get(struct msg *m, struct ipc_v_res *out, struct err *e)
{
	struct ipc_v_res	r;

	ipc_start(m, M_V_RES);
	r.reqid = msg_get_u64(m);
	r.verdict = msg_get_u32(m);
	r.reply = ipc_str(m, LIM_IPC_TEXT);
	r.authres = ipc_str(m, LIM_IPC_AUTHRES);
	if (r.verdict > V_PERM || (r.verdict == V_ACCEPT) !=
	    (r.reply[0] == '\0'))
		m->bad = true;
	if (ipc_done(m, "M_V_RES", e) == -1)
		return -1;
	*out = r;
	return 0;
}
