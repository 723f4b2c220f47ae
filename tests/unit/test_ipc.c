/*
 * test_ipc.c - the typed IPC codecs (ipc.c), one family at a time: a
 * sample of every message type round-trips field by field (through a
 * real SOCK_SEQPACKET pair, descriptors included); every truncation of it
 * fails, one byte more fails, another type fails, and a failed read
 * leaves the output struct as it was; each bound (strings, lists, enums,
 * booleans, the ok/descriptor rule) is accepted at its limit and refused
 * one past it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "err.h"
#include "ipc.h"
#include "msg.h"
#include "msgtypes.h"
#include "ticket.h"

/* ---- helpers ---- */

/* text - n printable characters (the seed varies them) */
static char *
text(size_t n, unsigned seed)
{
	char	*s = malloc(n + 1);
	size_t	 i;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		s[i] = (char)('a' + (i + seed) % 26);
	s[n] = '\0';
	return s;
}

/* devnull - a descriptor to pass */
static int
devnull(void)
{
	int	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* reload - the bytes of built message m as received (no descriptor) */
static void
reload(const struct msg *m, size_t len, struct msg *r)
{
	assert_int_equal(msg_from_bytes(r, m->data, len), 0);
}

/* ---- the sample of each family: put, and a get that checks it ---- */

static const char	*rcpts3[] = { "a@example.org", "b@example.org",
			    "postmaster" };

static void
put_auth_req(struct msg *m)
{
	ipc_auth_req_put(m, &(struct ipc_auth_req){ .reqid = 7,
	    .user = "u@example.org", .password = "pass word",
	    .client = "192.0.2.1" });
}

static int
get_auth_req(struct msg *m, struct err *e)
{
	struct ipc_auth_req	r;

	if (ipc_auth_req_get(m, &r, e) == -1)
		return -1;
	assert_int_equal(r.reqid, 7);
	assert_string_equal(r.user, "u@example.org");
	assert_string_equal(r.password, "pass word");
	assert_string_equal(r.client, "192.0.2.1");
	return 0;
}

#define TICKET64	"0123456789abcdef0123456789abcdef" \
			"0123456789abcdef0123456789abcdef"

static void
put_auth_res(struct msg *m)
{
	ipc_auth_res_put(m, &(struct ipc_auth_res){ .reqid = UINT64_MAX,
	    .result = AUTH_OK, .user = "u@example.org", .issued = 1ULL << 40,
	    .ticket = TICKET64 });
}

static int
get_auth_res(struct msg *m, struct err *e)
{
	struct ipc_auth_res	r;

	if (ipc_auth_res_get(m, &r, e) == -1)
		return -1;
	assert_true(r.reqid == UINT64_MAX);
	assert_int_equal(r.result, AUTH_OK);
	assert_string_equal(r.user, "u@example.org");
	assert_true(r.issued == 1ULL << 40);
	assert_string_equal(r.ticket, TICKET64);
	return 0;
}

static void
put_q_open(struct msg *m)
{
	struct ipc_q_open	o = { .reqid = 11, .from = "",
				    .flags = QF_8BITMIME | QF_TLS,
				    .auth = "u@example.org",
				    .auth_issued = 77, .auth_ticket = TICKET64,
				    .client = "helo=h addr=a", .nrcpts = 3 };

	memcpy(o.rcpts, rcpts3, sizeof(rcpts3));
	ipc_q_open_put(m, &o);
}

static int
get_q_open(struct msg *m, struct err *e)
{
	struct ipc_q_open	*o = malloc(sizeof(*o));
	uint32_t		 i;

	assert_non_null(o);
	if (ipc_q_open_get(m, o, e) == -1) {
		free(o);
		return -1;
	}
	assert_int_equal(o->reqid, 11);
	assert_string_equal(o->from, "");
	assert_int_equal(o->flags, QF_8BITMIME | QF_TLS);
	assert_string_equal(o->auth, "u@example.org");
	assert_int_equal(o->auth_issued, 77);
	assert_string_equal(o->auth_ticket, TICKET64);
	assert_string_equal(o->client, "helo=h addr=a");
	assert_int_equal(o->nrcpts, 3);
	for (i = 0; i < 3; i++)
		assert_string_equal(o->rcpts[i], rcpts3[i]);
	free(o);
	return 0;
}

static void
put_q_open_res(struct msg *m)
{
	ipc_q_open_res_put(m, &(struct ipc_q_open_res){ .reqid = 12,
	    .ok = true, .id = "0123456789abcdef0123", .error = "",
	    .fd = devnull() });
}

static int
get_q_open_res(struct msg *m, struct err *e)
{
	struct ipc_q_open_res	r;

	if (ipc_q_open_res_get(m, &r, e) == -1)
		return -1;
	assert_int_equal(r.reqid, 12);
	assert_true(r.ok);
	assert_string_equal(r.id, "0123456789abcdef0123");
	assert_string_equal(r.error, "");
	assert_true(r.fd >= 0);
	assert_int_equal(msg_take_fd(m), -1);	/* it is ours now */
	close(r.fd);
	return 0;
}

static void
put_q_commit(struct msg *m)
{
	ipc_q_commit_put(m, &(struct ipc_q_commit){ .reqid = 13,
	    .id = "0123456789abcdef0123",
	    .body_hash = 0x0123456789abcdefULL,
	    .prefix = "Authentication-Results: mx.example; spf=pass\r\n" });
}

static int
get_q_commit(struct msg *m, struct err *e)
{
	struct ipc_q_commit	c;

	if (ipc_q_commit_get(m, &c, e) == -1)
		return -1;
	assert_int_equal(c.reqid, 13);
	assert_string_equal(c.id, "0123456789abcdef0123");
	assert_true(c.body_hash == 0x0123456789abcdefULL);
	assert_string_equal(c.prefix,
	    "Authentication-Results: mx.example; spf=pass\r\n");
	return 0;
}

static void
put_q_commit_res(struct msg *m)
{
	ipc_q_commit_res_put(m, &(struct ipc_q_commit_res){ .reqid = 14,
	    .id = "abc", .ok = false, .temp = true, .error = "disk full" });
}

static int
get_q_commit_res(struct msg *m, struct err *e)
{
	struct ipc_q_commit_res	r;

	if (ipc_q_commit_res_get(m, &r, e) == -1)
		return -1;
	assert_int_equal(r.reqid, 14);
	assert_string_equal(r.id, "abc");
	assert_false(r.ok);
	assert_true(r.temp);
	assert_string_equal(r.error, "disk full");
	return 0;
}

static void
put_q_rcpt(struct msg *m)
{
	ipc_q_rcpt_put(m, &(struct ipc_q_rcpt){ .reqid = 15,
	    .addr = "SRS0=AbCd=T2=example.net=bob@example.org" });
}

static int
get_q_rcpt(struct msg *m, struct err *e)
{
	struct ipc_q_rcpt	r;

	if (ipc_q_rcpt_get(m, &r, e) == -1)
		return -1;
	assert_int_equal(r.reqid, 15);
	assert_string_equal(r.addr, "SRS0=AbCd=T2=example.net=bob@example.org");
	return 0;
}

static void
put_q_rcpt_res(struct msg *m)
{
	ipc_q_rcpt_res_put(m, &(struct ipc_q_rcpt_res){ .reqid = 16,
	    .ok = false, .reply = "550 5.1.1 expired" });
}

static int
get_q_rcpt_res(struct msg *m, struct err *e)
{
	struct ipc_q_rcpt_res	r;

	if (ipc_q_rcpt_res_get(m, &r, e) == -1)
		return -1;
	assert_int_equal(r.reqid, 16);
	assert_false(r.ok);
	assert_string_equal(r.reply, "550 5.1.1 expired");
	return 0;
}

static void
put_q_abort(struct msg *m)
{
	ipc_q_abort_put(m, &(struct ipc_q_abort){ .id = "abc" });
}

static int
get_q_abort(struct msg *m, struct err *e)
{
	struct ipc_q_abort	a;

	if (ipc_q_abort_get(m, &a, e) == -1)
		return -1;
	assert_string_equal(a.id, "abc");
	return 0;
}

static void
put_fd(struct msg *m)
{
	ipc_fd_put(m, M_Q_PEER, &(struct ipc_fd){ .fd = devnull() });
}

static int
get_fd(struct msg *m, struct err *e)
{
	struct ipc_fd	f;

	if (ipc_fd_get(m, M_Q_PEER, &f, e) == -1)
		return -1;
	assert_true(f.fd >= 0);
	close(f.fd);
	return 0;
}

static void
put_empty(struct msg *m)
{
	ipc_empty_put(m, M_RELOAD);
}

static int
get_empty(struct msg *m, struct err *e)
{
	return ipc_empty_get(m, M_RELOAD, e);
}

static void
put_d_job(struct msg *m)
{
	struct ipc_d_job	j = { .jobid = 15, .msgid = "abc",
				    .from = "f@example.net", .flags = QF_SMTPUTF8,
				    .size = 1ULL << 40,
				    .prefix = "DKIM-Signature: a=b\r\n",
				    .domain = "example.org",
				    .nrcpts = 3, .fd = devnull() };

	memcpy(j.rcpts, rcpts3, sizeof(rcpts3));
	ipc_d_job_put(m, &j);
}

static int
get_d_job(struct msg *m, struct err *e)
{
	struct ipc_d_job	j;
	uint32_t		i;

	if (ipc_d_job_get(m, &j, e) == -1)
		return -1;
	assert_int_equal(j.jobid, 15);
	assert_string_equal(j.msgid, "abc");
	assert_string_equal(j.from, "f@example.net");
	assert_int_equal(j.flags, QF_SMTPUTF8);
	assert_true(j.size == 1ULL << 40);
	assert_string_equal(j.prefix, "DKIM-Signature: a=b\r\n");
	assert_string_equal(j.domain, "example.org");
	assert_int_equal(j.nrcpts, 3);
	for (i = 0; i < 3; i++)
		assert_string_equal(j.rcpts[i], rcpts3[i]);
	assert_true(j.fd >= 0);
	close(j.fd);
	return 0;
}

static void
put_d_result(struct msg *m)
{
	struct ipc_d_result	r = { .jobid = 16, .n = 2 };

	r.r[0] = (struct ipc_d_rcpt){ DR_OK, "2.0.0", "250 ok", "mx [::1]" };
	r.r[1] = (struct ipc_d_rcpt){ DR_PERM, "5.1.1", "no such user", "" };
	ipc_d_result_put(m, &r);
}

static int
get_d_result(struct msg *m, struct err *e)
{
	struct ipc_d_result	r;

	if (ipc_d_result_get(m, &r, e) == -1)
		return -1;
	assert_int_equal(r.jobid, 16);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.r[0].dr, DR_OK);
	assert_string_equal(r.r[0].status, "2.0.0");
	assert_string_equal(r.r[0].reply, "250 ok");
	assert_string_equal(r.r[0].remote, "mx [::1]");
	assert_int_equal(r.r[1].dr, DR_PERM);
	assert_string_equal(r.r[1].status, "5.1.1");
	assert_string_equal(r.r[1].reply, "no such user");
	assert_string_equal(r.r[1].remote, "");
	return 0;
}

static void
put_ctl_id(struct msg *m)
{
	ipc_ctl_id_put(m, M_CTL_Q_REMOVE, &(struct ipc_ctl_id){ .id = "abc" });
}

static int
get_ctl_id(struct msg *m, struct err *e)
{
	struct ipc_ctl_id	c;

	if (ipc_ctl_id_get(m, M_CTL_Q_REMOVE, &c, e) == -1)
		return -1;
	assert_string_equal(c.id, "abc");
	return 0;
}

static void
put_ctl_line(struct msg *m)
{
	ipc_ctl_line_put(m, &(struct ipc_ctl_line){ .text = "a line\nb" });
}

static int
get_ctl_line(struct msg *m, struct err *e)
{
	struct ipc_ctl_line	l;

	if (ipc_ctl_line_get(m, &l, e) == -1)
		return -1;
	assert_string_equal(l.text, "a line\nb");
	return 0;
}

static void
put_ctl_end(struct msg *m)
{
	ipc_ctl_end_put(m, &(struct ipc_ctl_end){ .status = 2,
	    .text = "failed" });
}

static int
get_ctl_end(struct msg *m, struct err *e)
{
	struct ipc_ctl_end	c;

	if (ipc_ctl_end_get(m, &c, e) == -1)
		return -1;
	assert_int_equal(c.status, 2);
	assert_string_equal(c.text, "failed");
	return 0;
}

static const unsigned char	digest32[LIM_K_DIGEST] = { 1, 2, 3, [31] = 9 };

static void
put_k_keys(struct msg *m)
{
	struct ipc_k_keys	*k = calloc(1, sizeof(*k));

	assert_non_null(k);
	k->n = 2;
	k->v[0] = (struct ipc_k_key){ "example.org", "p2026",
	    K_ALG_RSA_SHA256 };
	k->v[1] = (struct ipc_k_key){ "example.org", "e2026",
	    K_ALG_ED25519_SHA256 };
	ipc_k_keys_put(m, k);
	free(k);
}

static int
get_k_keys(struct msg *m, struct err *e)
{
	struct ipc_k_keys	*k = calloc(1, sizeof(*k));

	assert_non_null(k);
	if (ipc_k_keys_get(m, k, e) == -1) {
		free(k);
		return -1;
	}
	assert_int_equal(k->n, 2);
	assert_string_equal(k->v[1].domain, "example.org");
	assert_string_equal(k->v[0].selector, "p2026");
	assert_int_equal(k->v[1].alg, K_ALG_ED25519_SHA256);
	free(k);
	return 0;
}

static void
put_k_sign(struct msg *m)
{
	ipc_k_sign_put(m, &(struct ipc_k_sign){ .reqid = 3,
	    .domain = "example.org", .selector = "p2026",
	    .digest = digest32 });
}

static int
get_k_sign(struct msg *m, struct err *e)
{
	struct ipc_k_sign	k;

	if (ipc_k_sign_get(m, &k, e) == -1)
		return -1;
	assert_int_equal(k.reqid, 3);
	assert_string_equal(k.domain, "example.org");
	assert_string_equal(k.selector, "p2026");
	assert_memory_equal(k.digest, digest32, LIM_K_DIGEST);
	return 0;
}

static void
put_k_sign_res(struct msg *m)
{
	ipc_k_sign_res_put(m, &(struct ipc_k_sign_res){ .reqid = 4,
	    .ok = true, .sig = digest32, .siglen = 20, .error = "" });
}

static int
get_k_sign_res(struct msg *m, struct err *e)
{
	struct ipc_k_sign_res	r;

	if (ipc_k_sign_res_get(m, &r, e) == -1)
		return -1;
	assert_int_equal(r.reqid, 4);
	assert_true(r.ok);
	assert_int_equal(r.siglen, 20);
	assert_memory_equal(r.sig, digest32, 20);
	assert_string_equal(r.error, "");
	return 0;
}

static const unsigned char vdigest32[LIM_IPC_DIGEST] = { 1, 2, 3, 4, 5, 6,
	7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
	25, 26, 27, 28, 29, 30, 31, 32 };

/* v_sig_sample - signature k of the M_V_REQ sample */
static void
v_sig_sample(struct ipc_v_sig *s, unsigned k)
{
	s->usable = k != 1;
	s->body_ok = k == 0;
	s->partial = k == 2;
	s->alg = k == 2 ? 1 : 0;
	s->d = k == 0 ? "example.org" : "example.net";
	s->s = "sel";
	s->i = "@example.org";
	s->b = "AAAA";
	s->has_x = k == 2;
	s->x = k == 2 ? 1ULL << 33 : 0;
	s->digest = vdigest32;
	s->why = k == 1 ? "no b= tag" : "";
}

static void
put_v_req(struct msg *m)
{
	struct ipc_v_req	r = { .reqid = 21, .spf_only = false,
				    .addr = "2001:db8::25",
				    .helo = "mx.example.net",
				    .from = "a@example.net",
				    .author = "example.org",
				    .author_bad = false,
				    .header_bad = true, .nsigs = 3 };
	unsigned		k;

	for (k = 0; k < 3; k++)
		v_sig_sample(&r.sigs[k], k);
	ipc_v_req_put(m, &r);
}

static int
get_v_req(struct msg *m, struct err *e)
{
	struct ipc_v_req	r;
	struct ipc_v_sig	w;
	unsigned		k;

	if (ipc_v_req_get(m, &r, e) == -1)
		return -1;
	assert_int_equal(r.reqid, 21);
	assert_false(r.spf_only);
	assert_string_equal(r.addr, "2001:db8::25");
	assert_string_equal(r.helo, "mx.example.net");
	assert_string_equal(r.from, "a@example.net");
	assert_string_equal(r.author, "example.org");
	assert_false(r.author_bad);
	assert_true(r.header_bad);
	assert_int_equal(r.nsigs, 3);
	for (k = 0; k < 3; k++) {
		v_sig_sample(&w, k);
		assert_int_equal(r.sigs[k].usable, w.usable);
		assert_int_equal(r.sigs[k].body_ok, w.body_ok);
		assert_int_equal(r.sigs[k].partial, w.partial);
		assert_int_equal(r.sigs[k].alg, w.alg);
		assert_string_equal(r.sigs[k].d, w.d);
		assert_string_equal(r.sigs[k].s, w.s);
		assert_string_equal(r.sigs[k].i, w.i);
		assert_string_equal(r.sigs[k].b, w.b);
		assert_int_equal(r.sigs[k].has_x, w.has_x);
		assert_true(r.sigs[k].x == w.x);
		assert_memory_equal(r.sigs[k].digest, vdigest32,
		    LIM_IPC_DIGEST);
		assert_string_equal(r.sigs[k].why, w.why);
	}
	return 0;
}

static void
put_v_res(struct msg *m)
{
	ipc_v_res_put(m, &(struct ipc_v_res){ .reqid = 22,
	    .verdict = V_PERM, .reply = "550 5.7.1 DMARC policy of "
	    "example.org is reject",
	    .authres = "Authentication-Results: mx.example;\r\n\tdmarc=fail"
	    "\r\n" });
}

static int
get_v_res(struct msg *m, struct err *e)
{
	struct ipc_v_res	r;

	if (ipc_v_res_get(m, &r, e) == -1)
		return -1;
	assert_int_equal(r.reqid, 22);
	assert_int_equal(r.verdict, V_PERM);
	assert_string_equal(r.reply, "550 5.7.1 DMARC policy of example.org "
	    "is reject");
	assert_string_equal(r.authres, "Authentication-Results: mx.example;"
	    "\r\n\tdmarc=fail\r\n");
	return 0;
}

struct family {
	const char	*name;
	void		(*put)(struct msg *);
	int		(*get)(struct msg *, struct err *);
	bool		 fd;		/* the sample carries a descriptor */
};

static const struct family families[] = {
	{ "auth_req", put_auth_req, get_auth_req, false },
	{ "auth_res", put_auth_res, get_auth_res, false },
	{ "q_open", put_q_open, get_q_open, false },
	{ "q_open_res", put_q_open_res, get_q_open_res, true },
	{ "q_commit", put_q_commit, get_q_commit, false },
	{ "q_commit_res", put_q_commit_res, get_q_commit_res, false },
	{ "q_rcpt", put_q_rcpt, get_q_rcpt, false },
	{ "q_rcpt_res", put_q_rcpt_res, get_q_rcpt_res, false },
	{ "q_abort", put_q_abort, get_q_abort, false },
	{ "fd", put_fd, get_fd, true },
	{ "empty", put_empty, get_empty, false },
	{ "d_job", put_d_job, get_d_job, true },
	{ "d_result", put_d_result, get_d_result, false },
	{ "ctl_id", put_ctl_id, get_ctl_id, false },
	{ "ctl_line", put_ctl_line, get_ctl_line, false },
	{ "ctl_end", put_ctl_end, get_ctl_end, false },
	{ "k_keys", put_k_keys, get_k_keys, false },
	{ "k_sign", put_k_sign, get_k_sign, false },
	{ "k_sign_res", put_k_sign_res, get_k_sign_res, false },
	{ "v_req", put_v_req, get_v_req, false },
	{ "v_res", put_v_res, get_v_res, false },
};
#define NFAMILIES	(sizeof(families) / sizeof(families[0]))

/* ---- every family: the generic properties ---- */

/* test_roundtrip - sample over a real socket pair, read back exactly */
static void
test_roundtrip(void **state)
{
	struct msg	m, r;
	struct err	e;
	size_t		i;
	int		sv[2];

	(void)state;
	for (i = 0; i < NFAMILIES; i++) {
		assert_int_equal(msg_socketpair(sv), 0);
		families[i].put(&m);
		assert_int_equal(msg_send(sv[0], &m), 0);
		assert_int_equal(msg_recv(sv[1], &r), 1);
		assert_int_equal(families[i].fd, r.fd != -1);
		if (families[i].get(&r, &e) != 0)
			fail_msg("%s: %s", families[i].name, e.msg);
		/* a second read of the same message gives the same (the
		 * descriptor, once taken, is gone) */
		if (!families[i].fd)
			assert_int_equal(families[i].get(&r, &e), 0);
		msg_free(&m);
		msg_free(&r);
		close(sv[0]);
		close(sv[1]);
	}
}

/* test_truncated - every prefix of every sample is refused */
static void
test_truncated(void **state)
{
	struct msg	m, r;
	struct err	e;
	size_t		i, len;

	(void)state;
	for (i = 0; i < NFAMILIES; i++) {
		families[i].put(&m);
		for (len = sizeof(uint32_t); len < m.len; len++) {
			reload(&m, len, &r);
			if (families[i].fd)
				r.fd = devnull();
			if (families[i].get(&r, &e) != -1)
				fail_msg("%s: %zu of %zu bytes accepted",
				    families[i].name, len, m.len);
			msg_free(&r);
		}
		msg_free(&m);
	}
}

/* test_leftover - one byte more, or another type, is refused */
static void
test_leftover(void **state)
{
	struct msg	m, r;
	struct err	e;
	size_t		i;
	uint32_t	other = 99;

	(void)state;
	for (i = 0; i < NFAMILIES; i++) {
		families[i].put(&m);
		msg_add_data(&m, "", 0);	/* u32 0 after the payload */
		reload(&m, m.len - 3, &r);	/* one byte more */
		if (families[i].fd)
			r.fd = devnull();
		assert_int_equal(families[i].get(&r, &e), -1);
		msg_free(&r);
		reload(&m, m.len - 4, &r);	/* exact: accepted */
		if (families[i].fd)
			r.fd = devnull();
		assert_int_equal(families[i].get(&r, &e), 0);
		msg_free(&r);
		memcpy(m.data, &other, sizeof(other));
		reload(&m, m.len - 4, &r);	/* another type */
		if (families[i].fd)
			r.fd = devnull();
		assert_int_equal(families[i].get(&r, &e), -1);
		msg_free(&r);
		msg_free(&m);
	}
}

/* test_untouched - a failed read leaves *out as it was */
static void
test_untouched(void **state)
{
	struct ipc_q_open	*o = malloc(sizeof(*o)), *o2 = malloc(sizeof(*o));
	struct ipc_d_result	 d, d2;
	struct msg		 m, r;
	struct err		 e;

	(void)state;
	assert_non_null(o);
	assert_non_null(o2);
	memset(o, 0xa5, sizeof(*o));
	memcpy(o2, o, sizeof(*o));
	put_q_open(&m);
	reload(&m, m.len - 1, &r);
	assert_int_equal(ipc_q_open_get(&r, o, &e), -1);
	assert_memory_equal(o, o2, sizeof(*o));
	msg_free(&r);
	msg_free(&m);
	memset(&d, 0x5a, sizeof(d));
	d2 = d;
	put_d_result(&m);
	reload(&m, m.len - 1, &r);
	assert_int_equal(ipc_d_result_get(&r, &d, &e), -1);
	assert_memory_equal(&d, &d2, sizeof(d));
	msg_free(&r);
	msg_free(&m);
	free(o);
	free(o2);
}

/* ---- bounds, family by family ---- */

/* q_open_try - an M_Q_OPEN built by hand (n recipients of rlen octets,
 * LIM_RECIPIENTS_MAX + 1 of them at most really there), read */
static int
q_open_try(size_t flen, size_t clen, uint32_t n, size_t rlen)
{
	struct ipc_q_open	*o = malloc(sizeof(*o));
	struct msg		 m, r;
	struct err		 e;
	char			*from = text(flen, 1), *client = text(clen, 2);
	char			*rcpt = text(rlen, 3);
	uint32_t		 i;
	int			 rc;

	assert_non_null(o);
	msg_init(&m, M_Q_OPEN);
	msg_add_u64(&m, 1);
	msg_add_str(&m, from);
	msg_add_u32(&m, 0);
	msg_add_str(&m, "");
	msg_add_u64(&m, 0);
	msg_add_str(&m, "");
	msg_add_str(&m, client);
	msg_add_u32(&m, n);
	for (i = 0; i < n && i <= LIM_RECIPIENTS_MAX; i++)
		msg_add_str(&m, rcpt);
	reload(&m, m.len, &r);
	rc = ipc_q_open_get(&r, o, &e);
	if (rc == 0)
		assert_int_equal(o->nrcpts, n);
	msg_free(&r);
	msg_free(&m);
	free(from);
	free(client);
	free(rcpt);
	free(o);
	return rc;
}

/* test_q_open_bounds - LIM_PATH, Q_CLIENT_MAX, LIM_RECIPIENTS_MAX */
static void
test_q_open_bounds(void **state)
{
	(void)state;
	assert_int_equal(q_open_try(LIM_PATH, Q_CLIENT_MAX,
	    LIM_RECIPIENTS_MAX, LIM_PATH), 0);
	assert_int_equal(q_open_try(0, 0, 0, 0), 0);
	assert_int_equal(q_open_try(LIM_PATH + 1, 10, 1, 10), -1);
	assert_int_equal(q_open_try(10, Q_CLIENT_MAX + 1, 1, 10), -1);
	assert_int_equal(q_open_try(10, 10, LIM_RECIPIENTS_MAX + 1, 10), -1);
	assert_int_equal(q_open_try(10, 10, 1, LIM_PATH + 1), -1);
	assert_int_equal(q_open_try(10, 10, UINT32_MAX, 10), -1);
}

/* test_strs - the shared list codec: max and maxlen */
static void
test_strs(void **state)
{
	const char	*v[4] = { "a", "bb", "ccc", "dddd" }, *out[4];
	struct msg	 m, r;
	uint32_t	 n = 99;

	(void)state;
	msg_init(&m, 1);
	ipc_strs_put(&m, v, 4);
	reload(&m, m.len, &r);
	assert_int_equal(ipc_strs_get(&r, out, 4, 4, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(out[3], "dddd");
	assert_int_equal(msg_end(&r), 0);
	msg_free(&r);
	reload(&m, m.len, &r);
	assert_int_equal(ipc_strs_get(&r, out, 3, 4, &n), -1);
	msg_free(&r);
	reload(&m, m.len, &r);
	assert_int_equal(ipc_strs_get(&r, out, 4, 3, &n), -1);
	assert_int_equal(n, 4);		/* untouched */
	msg_free(&r);
	msg_free(&m);
}

/* d_job_try - an M_D_JOB of n recipients of rlen octets */
static int
d_job_try(uint32_t n, size_t rlen, size_t idlen, size_t plen)
{
	struct ipc_d_job	j;
	struct msg		m, r;
	struct err		e;
	char			*rcpt = text(rlen, 4), *id = text(idlen, 5);
	char			*pfx = text(plen, 6);
	uint32_t		i;
	int			rc;

	msg_init(&m, M_D_JOB);
	msg_add_u64(&m, 1);
	msg_add_str(&m, id);
	msg_add_str(&m, "");
	msg_add_u32(&m, 0);
	msg_add_u64(&m, 0);
	msg_add_str(&m, pfx);
	msg_add_str(&m, "example.org");
	msg_add_u32(&m, n);
	for (i = 0; i < n; i++)
		msg_add_str(&m, rcpt);
	reload(&m, m.len, &r);
	rc = ipc_d_job_get(&r, &j, &e);
	if (rc == 0)
		assert_int_equal(j.fd, -1);	/* none came */
	msg_free(&r);
	msg_free(&m);
	free(rcpt);
	free(id);
	free(pfx);
	return rc;
}

/* test_d_job_bounds - 1 .. Q_RJOB_MAX recipients, LIM_IPC_ADDR,
 * LIM_IPC_ID, LIM_PREFIX */
static void
test_d_job_bounds(void **state)
{
	(void)state;
	assert_int_equal(d_job_try(Q_RJOB_MAX, LIM_IPC_ADDR, LIM_IPC_ID, 0),
	    0);
	assert_int_equal(d_job_try(0, 10, 3, 0), -1);
	assert_int_equal(d_job_try(Q_RJOB_MAX + 1, 10, 3, 0), -1);
	assert_int_equal(d_job_try(1, LIM_IPC_ADDR + 1, 3, 0), -1);
	assert_int_equal(d_job_try(1, 10, LIM_IPC_ID + 1, 0), -1);
	assert_int_equal(d_job_try(1, 10, 3, LIM_PREFIX), 0);
	assert_int_equal(d_job_try(1, 10, 3, LIM_PREFIX + 1), -1);
}

/* d_result_try - an M_D_RESULT of n results, each dr and a reply */
static int
d_result_try(uint32_t n, uint32_t dr, size_t rlen)
{
	struct ipc_d_result	res;
	struct msg		m, r;
	struct err		e;
	char			*reply = text(rlen, 6);
	uint32_t		i;
	int			rc;

	msg_init(&m, M_D_RESULT);
	msg_add_u64(&m, 1);
	msg_add_u32(&m, n);
	for (i = 0; i < n; i++) {
		msg_add_u32(&m, dr);
		msg_add_str(&m, "4.4.1");
		msg_add_str(&m, reply);
		msg_add_str(&m, "");
	}
	reload(&m, m.len, &r);
	rc = ipc_d_result_get(&r, &res, &e);
	msg_free(&r);
	msg_free(&m);
	free(reply);
	return rc;
}

/* test_d_result_bounds - Q_RJOB_MAX results, dr_result, LIM_IPC_TEXT */
static void
test_d_result_bounds(void **state)
{
	(void)state;
	assert_int_equal(d_result_try(Q_RJOB_MAX, DR_PERM, LIM_IPC_TEXT), 0);
	assert_int_equal(d_result_try(0, DR_OK, 1), 0);
	assert_int_equal(d_result_try(Q_RJOB_MAX + 1, DR_OK, 1), -1);
	assert_int_equal(d_result_try(1, DR_PERM + 1, 1), -1);
	assert_int_equal(d_result_try(1, DR_OK, LIM_IPC_TEXT + 1), -1);
}

/* test_auth_bounds - LIM_AUTH_LINE, LIM_IPC_MAILBOX, auth_result,
 * TICKET_HEX */
static void
test_auth_bounds(void **state)
{
	struct ipc_auth_req	 q;
	struct ipc_auth_res	 a;
	struct msg		 m, r;
	struct err		 e;
	char			*big = text(LIM_AUTH_LINE, 7);
	char			*mb = text(LIM_IPC_MAILBOX + 1, 8);

	(void)state;
	ipc_auth_req_put(&m, &(struct ipc_auth_req){ 1, "u", big, "c" });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_auth_req_get(&r, &q, &e), 0);
	msg_free(&r);
	msg_free(&m);
	free(big);
	big = text(LIM_AUTH_LINE + 1, 7);
	ipc_auth_req_put(&m, &(struct ipc_auth_req){ 1, "u", big, "c" });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_auth_req_get(&r, &q, &e), -1);
	msg_free(&r);
	msg_free(&m);
	ipc_auth_res_put(&m, &(struct ipc_auth_res){ 1, AUTH_OK, mb, 0,
	    "" });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_auth_res_get(&r, &a, &e), -1);
	msg_free(&r);
	msg_free(&m);
	mb[LIM_IPC_MAILBOX] = '\0';
	ipc_auth_res_put(&m, &(struct ipc_auth_res){ 1, AUTH_TEMPFAIL, mb,
	    0, "" });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_auth_res_get(&r, &a, &e), 0);
	msg_free(&r);
	msg_free(&m);
	ipc_auth_res_put(&m, &(struct ipc_auth_res){ 1, AUTH_TEMPFAIL + 1,
	    "", 0, "" });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_auth_res_get(&r, &a, &e), -1);
	msg_free(&r);
	msg_free(&m);
	/* a ticket is TICKET_HEX digits at most */
	free(big);
	big = text(TICKET_HEX + 1, 9);
	ipc_auth_res_put(&m, &(struct ipc_auth_res){ 1, AUTH_OK, "u", 5,
	    big });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_auth_res_get(&r, &a, &e), -1);
	msg_free(&r);
	msg_free(&m);
	big[TICKET_HEX] = '\0';
	ipc_auth_res_put(&m, &(struct ipc_auth_res){ 1, AUTH_OK, "u", 5,
	    big });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_auth_res_get(&r, &a, &e), 0);
	msg_free(&r);
	msg_free(&m);
	free(big);
	free(mb);
}

/* sign_res_try - an M_K_SIGN_RES by hand: ok, siglen octets, error */
static int
sign_res_try(uint32_t ok, size_t siglen, const char *error)
{
	struct ipc_k_sign_res	 r;
	struct msg		 m, b;
	struct err		 e;
	unsigned char		*sig = calloc(1, siglen + 1);
	int			 rc;

	assert_non_null(sig);
	msg_init(&m, M_K_SIGN_RES);
	msg_add_u64(&m, 1);
	msg_add_u32(&m, ok);
	msg_add_data(&m, sig, siglen);
	msg_add_str(&m, error);
	reload(&m, m.len, &b);
	rc = ipc_k_sign_res_get(&b, &r, &e);
	msg_free(&b);
	msg_free(&m);
	free(sig);
	return rc;
}

/*
 * test_signer_bounds - LIM_SIGNER_KEYS keys of LIM_DOMAIN/LIM_SELECTOR
 * names and known algorithms; a digest of exactly LIM_K_DIGEST; a
 * signature of 1 .. LIM_K_SIG octets only with ok and no error
 */
static void
test_signer_bounds(void **state)
{
	struct ipc_k_keys	*k = calloc(1, sizeof(*k));
	struct ipc_k_sign	 s;
	struct msg		 m, r;
	struct err		 e;
	char			*dom = text(LIM_DOMAIN, 1);
	char			*sel = text(LIM_SELECTOR + 1, 2);
	uint32_t		 i;

	(void)state;
	assert_non_null(k);
	msg_init(&m, M_K_KEYS);
	msg_add_u32(&m, LIM_SIGNER_KEYS);
	for (i = 0; i < LIM_SIGNER_KEYS; i++) {
		msg_add_str(&m, dom);
		msg_add_str(&m, "s");
		msg_add_u32(&m, K_ALG_ED25519_SHA256);
	}
	reload(&m, m.len, &r);
	assert_int_equal(ipc_k_keys_get(&r, k, &e), 0);
	assert_int_equal(k->n, LIM_SIGNER_KEYS);
	msg_free(&r);
	msg_free(&m);
	/* one key too many; a selector too long; an unknown algorithm */
	msg_init(&m, M_K_KEYS);
	msg_add_u32(&m, LIM_SIGNER_KEYS + 1);
	reload(&m, m.len, &r);
	assert_int_equal(ipc_k_keys_get(&r, k, &e), -1);
	msg_free(&r);
	msg_free(&m);
	msg_init(&m, M_K_KEYS);
	msg_add_u32(&m, 1);
	msg_add_str(&m, "example.org");
	msg_add_str(&m, sel);
	msg_add_u32(&m, K_ALG_RSA_SHA256);
	reload(&m, m.len, &r);
	assert_int_equal(ipc_k_keys_get(&r, k, &e), -1);
	msg_free(&r);
	msg_free(&m);
	msg_init(&m, M_K_KEYS);
	msg_add_u32(&m, 1);
	msg_add_str(&m, "example.org");
	msg_add_str(&m, "s");
	msg_add_u32(&m, K_ALG_UNREADABLE + 1);
	reload(&m, m.len, &r);
	assert_int_equal(ipc_k_keys_get(&r, k, &e), -1);
	msg_free(&r);
	msg_free(&m);
	/* a digest of 31 or 33 octets */
	for (i = 0; i < 2; i++) {
		msg_init(&m, M_K_SIGN);
		msg_add_u64(&m, 1);
		msg_add_str(&m, "example.org");
		msg_add_str(&m, "s");
		msg_add_data(&m, dom, LIM_K_DIGEST - 1 + 2 * i);
		reload(&m, m.len, &r);
		assert_int_equal(ipc_k_sign_get(&r, &s, &e), -1);
		msg_free(&r);
		msg_free(&m);
	}
	assert_int_equal(sign_res_try(1, 1, ""), 0);
	assert_int_equal(sign_res_try(1, LIM_K_SIG, ""), 0);
	assert_int_equal(sign_res_try(1, LIM_K_SIG + 1, ""), -1);
	assert_int_equal(sign_res_try(1, 0, ""), -1);
	assert_int_equal(sign_res_try(1, 5, "error too"), -1);
	assert_int_equal(sign_res_try(0, 0, "no such key"), 0);
	assert_int_equal(sign_res_try(0, 5, "no such key"), -1);
	assert_int_equal(sign_res_try(2, 0, ""), -1);
	free(k);
	free(dom);
	free(sel);
}

/* v_req_try - an M_V_REQ of n signatures, each field at the given
 * lengths (the first signature's digest dlen octets, its bools bv) */
static int
v_req_try(uint32_t n, size_t alen, size_t dlen, size_t blen, size_t wlen,
    size_t glen, uint32_t bv, uint32_t alg)
{
	struct msg	 m, r;
	struct err	 e;
	struct ipc_v_req out;
	char		*a = text(alen, 1), *d = text(dlen, 2);
	char		*b = text(blen, 3);
	char		*w = text(wlen, 4);
	unsigned char	 dg[LIM_IPC_DIGEST + 1];
	uint32_t	 i;
	int		 rc;

	memset(dg, 7, sizeof(dg));
	msg_init(&m, M_V_REQ);
	msg_add_u64(&m, 1);
	msg_add_u32(&m, 0);
	msg_add_str(&m, a);
	msg_add_str(&m, d);
	msg_add_str(&m, "f@example.org");
	msg_add_str(&m, d);
	msg_add_u32(&m, 0);
	msg_add_u32(&m, 0);
	msg_add_u32(&m, n);
	for (i = 0; i < n; i++) {
		msg_add_u32(&m, i == 0 ? bv : 1);
		msg_add_u32(&m, 1);
		msg_add_u32(&m, 0);
		msg_add_u32(&m, i == 0 ? alg : 0);
		msg_add_str(&m, d);
		msg_add_str(&m, "s");
		msg_add_str(&m, "@x");
		msg_add_str(&m, b);
		msg_add_u32(&m, 0);
		msg_add_u64(&m, 0);
		msg_add_data(&m, dg, i == 0 ? glen : LIM_IPC_DIGEST);
		msg_add_str(&m, w);
	}
	reload(&m, m.len, &r);
	rc = ipc_v_req_get(&r, &out, &e);
	msg_free(&r);
	msg_free(&m);
	free(a);
	free(d);
	free(b);
	free(w);
	return rc;
}

/* test_v_bounds - M_V_REQ: LIM_IPC_SIGS signatures, the address, domain,
 * b= and reason lengths, a digest of exactly LIM_IPC_DIGEST octets,
 * booleans, the algorithm; M_V_RES: the verdict, its reply rule and the
 * field's length */
static void
test_v_bounds(void **state)
{
	struct ipc_v_res	 v;
	struct msg		 m, r;
	struct err		 e;
	char			*ar;
	const size_t		 D = LIM_DOMAIN, A = LIM_IPC_ADDRTEXT,
				 B = LIM_IPC_DKIM_B, W = LIM_IPC_WHY,
				 G = LIM_IPC_DIGEST;

	(void)state;
	assert_int_equal(v_req_try(LIM_IPC_SIGS, A, D, B, W, G, 1, 1), 0);
	assert_int_equal(v_req_try(0, A, D, B, W, G, 1, 0), 0);
	assert_int_equal(v_req_try(LIM_IPC_SIGS + 1, 9, 9, 9, 9, G, 1, 0), -1);
	assert_int_equal(v_req_try(1, A + 1, 9, 9, 9, G, 1, 0), -1);
	assert_int_equal(v_req_try(1, 9, D + 1, 9, 9, G, 1, 0), -1);
	assert_int_equal(v_req_try(1, 9, 9, B + 1, 9, G, 1, 0), -1);
	assert_int_equal(v_req_try(1, 9, 9, 9, W + 1, G, 1, 0), -1);
	assert_int_equal(v_req_try(1, 9, 9, 9, 9, G - 1, 1, 0), -1);
	assert_int_equal(v_req_try(1, 9, 9, 9, 9, G + 1, 1, 0), -1);
	assert_int_equal(v_req_try(1, 9, 9, 9, 9, G, 2, 0), -1);
	assert_int_equal(v_req_try(1, 9, 9, 9, 9, G, 1, 2), -1);

	/* M_Q_COMMIT's prefix: LIM_PREFIX octets at most */
	ar = text(LIM_PREFIX + 1, 6);
	ipc_q_commit_put(&m, &(struct ipc_q_commit){ 1, "id", 0, ar });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_q_commit_get(&r, &(struct ipc_q_commit){ 0 }, &e),
	    -1);
	msg_free(&r);
	msg_free(&m);
	ar[LIM_PREFIX] = '\0';
	ipc_q_commit_put(&m, &(struct ipc_q_commit){ 1, "id", 0, ar });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_q_commit_get(&r, &(struct ipc_q_commit){ 0 }, &e),
	    0);
	msg_free(&r);
	msg_free(&m);
	free(ar);

	ar = text(LIM_IPC_AUTHRES + 1, 5);
	ipc_v_res_put(&m, &(struct ipc_v_res){ 1, V_ACCEPT, "", ar });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_v_res_get(&r, &v, &e), -1);
	msg_free(&r);
	msg_free(&m);
	ar[LIM_IPC_AUTHRES] = '\0';
	ipc_v_res_put(&m, &(struct ipc_v_res){ 1, V_ACCEPT, "", ar });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_v_res_get(&r, &v, &e), 0);
	msg_free(&r);
	msg_free(&m);
	/* a refusal without its reply, an accept with one, an unknown
	 * verdict */
	ipc_v_res_put(&m, &(struct ipc_v_res){ 1, V_TEMP, "", "" });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_v_res_get(&r, &v, &e), -1);
	msg_free(&r);
	msg_free(&m);
	ipc_v_res_put(&m, &(struct ipc_v_res){ 1, V_ACCEPT, "250 x", "" });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_v_res_get(&r, &v, &e), -1);
	msg_free(&r);
	msg_free(&m);
	ipc_v_res_put(&m, &(struct ipc_v_res){ 1, V_PERM + 1, "5", "" });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_v_res_get(&r, &v, &e), -1);
	msg_free(&r);
	msg_free(&m);
	free(ar);
}

/* test_answer_rules - ids bounded; booleans 0/1; ok means a descriptor
 * and no error, a refusal no id */
static void
test_answer_rules(void **state)
{
	struct ipc_q_open_res	 o;
	struct ipc_q_commit_res	 c;
	struct ipc_q_commit	 qc;
	struct msg		 m, r;
	struct err		 e;
	char			*id = text(LIM_IPC_ID, 9), *id2;

	(void)state;
	id2 = text(LIM_IPC_ID + 1, 9);
	ipc_q_commit_put(&m, &(struct ipc_q_commit){ 1, id, 0, "" });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_q_commit_get(&r, &qc, &e), 0);
	msg_free(&r);
	msg_free(&m);
	ipc_q_commit_put(&m, &(struct ipc_q_commit){ 1, id2, 0, "" });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_q_commit_get(&r, &qc, &e), -1);
	msg_free(&r);
	msg_free(&m);
	/* ok without a descriptor */
	ipc_q_open_res_put(&m, &(struct ipc_q_open_res){ 1, true, "x", "",
	    -1 });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_q_open_res_get(&r, &o, &e), -1);
	assert_non_null(strstr(e.msg, "descriptor"));
	msg_free(&r);
	msg_free(&m);
	/* a refusal: no descriptor needed, the error text kept */
	ipc_q_open_res_put(&m, &(struct ipc_q_open_res){ 1, false, "",
	    "queue unavailable", -1 });
	reload(&m, m.len, &r);
	assert_int_equal(ipc_q_open_res_get(&r, &o, &e), 0);
	assert_false(o.ok);
	assert_int_equal(o.fd, -1);
	assert_string_equal(o.error, "queue unavailable");
	msg_free(&r);
	msg_free(&m);
	/* a refusal with an id, or ok = 2: not as the putter writes it */
	msg_init(&m, M_Q_OPEN_RES);
	msg_add_u64(&m, 1);
	msg_add_u32(&m, 0);
	msg_add_str(&m, "x");
	msg_add_str(&m, "no");
	reload(&m, m.len, &r);
	assert_int_equal(ipc_q_open_res_get(&r, &o, &e), -1);
	msg_free(&r);
	msg_free(&m);
	msg_init(&m, M_Q_COMMIT_RES);
	msg_add_u64(&m, 1);
	msg_add_str(&m, "x");
	msg_add_u32(&m, 2);
	msg_add_u32(&m, 0);
	msg_add_str(&m, "");
	reload(&m, m.len, &r);
	assert_int_equal(ipc_q_commit_res_get(&r, &c, &e), -1);
	msg_free(&r);
	msg_free(&m);
	free(id);
	free(id2);
}

/* test_fd_rules - M_Q_PEER needs its descriptor; M_RELOAD takes none */
static void
test_fd_rules(void **state)
{
	struct ipc_fd	f;
	struct msg	m, r;
	struct err	e;

	(void)state;
	ipc_empty_put(&m, M_Q_PEER);
	reload(&m, m.len, &r);
	assert_int_equal(ipc_fd_get(&r, M_Q_PEER, &f, &e), -1);
	msg_free(&r);
	msg_free(&m);
	ipc_empty_put(&m, M_RELOAD);
	reload(&m, m.len, &r);
	r.fd = devnull();
	assert_int_equal(ipc_empty_get(&r, M_RELOAD, &e), -1);
	msg_free(&r);
	msg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_leftover),
		cmocka_unit_test(test_untouched),
		cmocka_unit_test(test_q_open_bounds),
		cmocka_unit_test(test_strs),
		cmocka_unit_test(test_d_job_bounds),
		cmocka_unit_test(test_d_result_bounds),
		cmocka_unit_test(test_signer_bounds),
		cmocka_unit_test(test_auth_bounds),
		cmocka_unit_test(test_answer_rules),
		cmocka_unit_test(test_v_bounds),
		cmocka_unit_test(test_fd_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
