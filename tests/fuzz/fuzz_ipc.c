/*
 * fuzz_ipc.c - every ipc.c decoder on arbitrary datagrams.
 *
 * The first input byte chooses the decoder (and so the message type put
 * in front of the rest); the rest is the payload, loaded with
 * msg_from_bytes().  Must never crash, leak or read out of bounds.  When
 * a decoder accepts, every string lies inside the message within its
 * bound, and encoding the result again gives the same datagram byte for
 * byte: the decoders accept exactly what the encoders write.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "err.h"
#include "ipc.h"
#include "msg.h"
#include "msgtypes.h"
#include "ticket.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* in - s lies inside m with at most max octets */
static void
in(const struct msg *m, const char *s, size_t max)
{
	const unsigned char	*b = (const unsigned char *)s;
	size_t			 n = strlen(s);

	if (n > max || b < m->data || (size_t)(b - m->data) + n >= m->len)
		abort();
}

/* same - the re-encoded message is the input */
static void
same(const struct msg *m, struct msg *again)
{
	if (again->len != m->len || memcmp(again->data, m->data, m->len) != 0)
		abort();
	msg_free(again);
}

static const uint32_t	types[] = {
	M_AUTH_REQ, M_AUTH_RES, M_Q_OPEN, M_Q_OPEN_RES, M_Q_COMMIT,
	M_Q_COMMIT_RES, M_Q_ABORT, M_Q_PEER, M_RELOAD, M_D_JOB, M_D_RESULT,
	M_CTL_Q_SHOW, M_CTL_LINE, M_CTL_END, M_CTL_Q_LIST, M_K_KEYS, M_K_SIGN,
	M_K_SIGN_RES,
	M_V_REQ, M_V_RES, M_Q_RCPT, M_Q_RCPT_RES,
};
#define NTYPES	(sizeof(types) / sizeof(types[0]))

/* decode - the decoder of types[k] on m; on success, check and re-encode */
static void
decode(size_t k, struct msg *m)
{
	static struct ipc_q_open	o;
	static struct ipc_d_job		j;
	static struct ipc_d_result	d;
	static struct ipc_k_keys	kk;
	struct ipc_k_sign		ks;
	struct ipc_k_sign_res		kr;
	static struct ipc_v_req		vq;
	struct ipc_v_res		vr;
	struct ipc_auth_req		aq;
	struct ipc_auth_res		ar;
	struct ipc_q_open_res		qr;
	struct ipc_q_commit		qc;
	struct ipc_q_commit_res		cr;
	struct ipc_q_abort		qa;
	struct ipc_q_rcpt		rq;
	struct ipc_q_rcpt_res		rr;
	struct ipc_fd			f;
	struct ipc_ctl_id		ci;
	struct ipc_ctl_line		cl;
	struct ipc_ctl_end		ce;
	struct msg			again;
	struct err			e;
	uint32_t			i;

	switch (types[k]) {
	case M_AUTH_REQ:
		if (ipc_auth_req_get(m, &aq, &e) == -1)
			return;
		in(m, aq.user, LIM_AUTH_LINE);
		in(m, aq.password, LIM_AUTH_LINE);
		in(m, aq.client, LIM_IPC_TEXT);
		ipc_auth_req_put(&again, &aq);
		break;
	case M_AUTH_RES:
		if (ipc_auth_res_get(m, &ar, &e) == -1)
			return;
		in(m, ar.user, LIM_IPC_MAILBOX);
		in(m, ar.ticket, TICKET_HEX);
		ipc_auth_res_put(&again, &ar);
		break;
	case M_Q_OPEN:
		if (ipc_q_open_get(m, &o, &e) == -1)
			return;
		in(m, o.from, LIM_PATH);
		in(m, o.auth, LIM_IPC_MAILBOX);
		in(m, o.auth_ticket, TICKET_HEX);
		in(m, o.client, Q_CLIENT_MAX);
		if (o.nrcpts > LIM_RECIPIENTS_MAX)
			abort();
		for (i = 0; i < o.nrcpts; i++)
			in(m, o.rcpts[i], LIM_PATH);
		ipc_q_open_put(&again, &o);
		break;
	case M_Q_OPEN_RES:
		/* no descriptor here: only refusals can be accepted */
		if (ipc_q_open_res_get(m, &qr, &e) == -1)
			return;
		if (qr.ok || qr.fd != -1)
			abort();
		in(m, qr.error, LIM_IPC_TEXT);
		ipc_q_open_res_put(&again, &qr);
		break;
	case M_Q_COMMIT:
		if (ipc_q_commit_get(m, &qc, &e) == -1)
			return;
		in(m, qc.id, LIM_IPC_ID);
		in(m, qc.prefix, LIM_PREFIX);
		ipc_q_commit_put(&again, &qc);
		break;
	case M_Q_COMMIT_RES:
		if (ipc_q_commit_res_get(m, &cr, &e) == -1)
			return;
		in(m, cr.id, LIM_IPC_ID);
		in(m, cr.error, LIM_IPC_TEXT);
		ipc_q_commit_res_put(&again, &cr);
		break;
	case M_Q_RCPT:
		if (ipc_q_rcpt_get(m, &rq, &e) == -1)
			return;
		in(m, rq.addr, LIM_PATH);
		if (rq.addr[0] == '\0')
			abort();
		ipc_q_rcpt_put(&again, &rq);
		break;
	case M_Q_RCPT_RES:
		if (ipc_q_rcpt_res_get(m, &rr, &e) == -1)
			return;
		in(m, rr.reply, LIM_IPC_TEXT);
		if (rr.ok != (rr.reply[0] == '\0'))
			abort();
		ipc_q_rcpt_res_put(&again, &rr);
		break;
	case M_Q_ABORT:
		if (ipc_q_abort_get(m, &qa, &e) == -1)
			return;
		in(m, qa.id, LIM_IPC_ID);
		ipc_q_abort_put(&again, &qa);
		break;
	case M_Q_PEER:
		/* it needs a descriptor, and none comes with bytes */
		if (ipc_fd_get(m, M_Q_PEER, &f, &e) != -1)
			abort();
		return;
	case M_RELOAD:
	case M_CTL_Q_LIST:
		if (ipc_empty_get(m, types[k], &e) == -1)
			return;
		ipc_empty_put(&again, types[k]);
		break;
	case M_K_KEYS:
		if (ipc_k_keys_get(m, &kk, &e) == -1)
			return;
		if (kk.n > LIM_SIGNER_KEYS)
			abort();
		for (i = 0; i < kk.n; i++) {
			in(m, kk.v[i].domain, LIM_DOMAIN);
			in(m, kk.v[i].selector, LIM_SELECTOR);
			if (kk.v[i].alg > K_ALG_UNREADABLE)
				abort();
		}
		ipc_k_keys_put(&again, &kk);
		break;
	case M_K_SIGN:
		if (ipc_k_sign_get(m, &ks, &e) == -1)
			return;
		in(m, ks.domain, LIM_DOMAIN);
		in(m, ks.selector, LIM_SELECTOR);
		ipc_k_sign_put(&again, &ks);
		break;
	case M_K_SIGN_RES:
		if (ipc_k_sign_res_get(m, &kr, &e) == -1)
			return;
		if (kr.ok != (kr.siglen > 0) || kr.siglen > LIM_K_SIG)
			abort();
		in(m, kr.error, LIM_IPC_TEXT);
		ipc_k_sign_res_put(&again, &kr);
		break;
	case M_D_JOB:
		if (ipc_d_job_get(m, &j, &e) == -1)
			return;
		if (j.fd != -1 || j.nrcpts == 0 || j.nrcpts > Q_RJOB_MAX)
			abort();
		in(m, j.msgid, LIM_IPC_ID);
		in(m, j.from, LIM_IPC_ADDR);
		in(m, j.domain, LIM_IPC_ADDR);
		in(m, j.prefix, LIM_PREFIX);
		for (i = 0; i < j.nrcpts; i++)
			in(m, j.rcpts[i], LIM_IPC_ADDR);
		ipc_d_job_put(&again, &j);
		break;
	case M_D_RESULT:
		if (ipc_d_result_get(m, &d, &e) == -1)
			return;
		if (d.n > Q_RJOB_MAX)
			abort();
		for (i = 0; i < d.n; i++) {
			if (d.r[i].dr > DR_PERM)
				abort();
			in(m, d.r[i].status, LIM_IPC_TEXT);
			in(m, d.r[i].reply, LIM_IPC_TEXT);
			in(m, d.r[i].remote, LIM_IPC_TEXT);
		}
		ipc_d_result_put(&again, &d);
		break;
	case M_CTL_Q_SHOW:
		if (ipc_ctl_id_get(m, M_CTL_Q_SHOW, &ci, &e) == -1)
			return;
		in(m, ci.id, LIM_IPC_ID);
		ipc_ctl_id_put(&again, M_CTL_Q_SHOW, &ci);
		break;
	case M_CTL_LINE:
		if (ipc_ctl_line_get(m, &cl, &e) == -1)
			return;
		in(m, cl.text, LIM_IPC_MSG);
		ipc_ctl_line_put(&again, &cl);
		break;
	case M_CTL_END:
		if (ipc_ctl_end_get(m, &ce, &e) == -1)
			return;
		in(m, ce.text, LIM_IPC_TEXT);
		ipc_ctl_end_put(&again, &ce);
		break;
	case M_V_REQ:
		if (ipc_v_req_get(m, &vq, &e) == -1)
			return;
		in(m, vq.addr, LIM_IPC_ADDRTEXT);
		in(m, vq.helo, LIM_DOMAIN);
		in(m, vq.from, LIM_PATH);
		in(m, vq.author, LIM_DOMAIN);
		if (vq.nsigs > LIM_IPC_SIGS)
			abort();
		for (i = 0; i < vq.nsigs; i++) {
			const unsigned char	*dg = vq.sigs[i].digest;

			if (vq.sigs[i].alg > 1 || dg < m->data ||
			    dg + LIM_IPC_DIGEST > m->data + m->len)
				abort();
			in(m, vq.sigs[i].d, LIM_DOMAIN);
			in(m, vq.sigs[i].s, LIM_DOMAIN);
			in(m, vq.sigs[i].i, LIM_PATH);
			in(m, vq.sigs[i].b, LIM_IPC_DKIM_B);
			in(m, vq.sigs[i].why, LIM_IPC_WHY);
		}
		ipc_v_req_put(&again, &vq);
		break;
	case M_V_RES:
		if (ipc_v_res_get(m, &vr, &e) == -1)
			return;
		if (vr.verdict > V_PERM || (vr.verdict == V_ACCEPT) !=
		    (vr.reply[0] == '\0'))
			abort();
		in(m, vr.reply, LIM_IPC_TEXT);
		in(m, vr.authres, LIM_IPC_AUTHRES);
		ipc_v_res_put(&again, &vr);
		break;
	default:
		abort();
	}
	same(m, &again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char	*buf;
	struct msg	 m;
	size_t		 k;
	uint32_t	 type;

	if (size < 1 || size > LIM_IPC_MSG - sizeof(uint32_t))
		return 0;
	k = data[0] % NTYPES;
	type = types[k];
	if ((buf = malloc(size - 1 + sizeof(type))) == NULL)
		abort();
	memcpy(buf, &type, sizeof(type));
	memcpy(buf + sizeof(type), data + 1, size - 1);
	if (msg_from_bytes(&m, buf, size - 1 + sizeof(type)) == -1)
		abort();
	free(buf);
	decode(k, &m);
	msg_free(&m);
	return 0;
}
