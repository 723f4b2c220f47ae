/*
 * smtp_check.c - the session's side of the inbound checks: what is
 * computed from the message while DATA streams, and the request to the
 * verifier process.
 *
 * Runs in the smtp process (hostile input, no DNS, no key).  A
 * transaction on the MX port that did not authenticate is checked when
 * inbound_checks is on.  The message's octets (after unstuffing and the
 * removal of Authentication-Results fields naming us: what is stored)
 * pass through here as smtp_data.c writes them: the header is kept (up
 * to LIM_HEADER_BYTES) until its empty line, then each DKIM signature's
 * header digest is made and its body hash runs over the rest
 * (mauth/dkim_verify.c), and the author domain is read
 * (mauth/author.c).  At the end the results go to the verifier in one
 * M_V_REQ; SPF alone goes at MAIL FROM when spf_reject is on.  The
 * session (smtp_session.c, which calls in here; nothing here calls back)
 * waits, input paused, for the answer at most inbound_check_timeout; no
 * verifier, or no answer in time, is 451 4.7.0, never a pass.  A
 * request's id is the session's id with a sequence number in its top
 * byte (V_REQID_SEQ_SHIFT), so a late answer to an earlier request is
 * told from the one awaited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "bounds.h"
#include "buf.h"
#include "err.h"
#include "ipc.h"
#include "mauth/author.h"
#include "mauth/dkim_verify.h"
#include "msg.h"
#include "msgtypes.h"
#include "smtp_check.h"
#include "smtp_session.h"
#include "xmalloc.h"

struct smtp_check {
	struct buf		 hdr;		/* the header until its end */
	bool			 hdr_done;	/* digests made, body hashing */
	unsigned long long	 fed;		/* message octets seen */
	struct dkim_verify	 dv;
	char			 author[LIM_DOMAIN + 1];
	bool			 author_bad;
	bool			 header_bad;
};

/* smtp_check_applies - is this session's mail checked? */
bool
smtp_check_applies(const struct smtp_session *s)
{
	return s->kind == PORT_SMTP && !s->authenticated &&
	    s->w->conf->inbound_checks;
}

/* smtp_check_begin - the message starts: the stream side, set up */
void
smtp_check_begin(struct smtp_session *s)
{
	smtp_check_free(s);
	s->check = xcalloc(1, sizeof(*s->check));
	buf_init(&s->check->hdr, LIM_HEADER_BYTES);
	s->data.strip_id = s->w->conf->hostname;
}

/* check_header - the header (len octets, its last CRLF included) is
 * whole: each signature's header digest, the author */
static void
check_header(struct smtp_check *k, const char *h, size_t len,
    unsigned max)
{
	struct err	e;

	if (dkim_verify_start(&k->dv, h, len, max, &e) == -1) {
		k->header_bad = k->author_bad = true;
		return;
	}
	k->author_bad = author_domain(h, len, k->author,
	    sizeof(k->author)) == -1;
}

/* smtp_check_feed - the octets smtp_data wrote since the last call */
void
smtp_check_feed(struct smtp_session *s)
{
	struct smtp_check	*k = s->check;
	unsigned		 max = s->w->conf->dkim_max_signatures;
	size_t			 n, from, end, hl, bo;
	const char		*p, *h, *e;

	if (k == NULL || s->data.written == k->fed)
		return;
	n = (size_t)(s->data.written - k->fed);
	k->fed = s->data.written;
	if (s->data.error != SD_OK || n > buf_avail(&s->body))
		return;		/* refused anyway */
	p = buf_ptr(&s->body) + buf_avail(&s->body) - n;
	if (k->hdr_done) {
		if (!k->header_bad)
			dkim_verify_body(&k->dv, p, n);
		return;
	}
	from = buf_avail(&k->hdr) > 3 ? buf_avail(&k->hdr) - 3 : 0;
	if (buf_add(&k->hdr, p, n) == -1) {
		/* larger than any header may be: nothing is judged */
		k->hdr_done = k->header_bad = k->author_bad = true;
		buf_release(&k->hdr);
		return;
	}
	h = buf_ptr(&k->hdr);
	end = buf_avail(&k->hdr);
	if (end >= 2 && memcmp(h, "\r\n", 2) == 0) {
		hl = 0;		/* no header at all: the body starts at once */
		bo = 2;
	} else if ((e = memmem(h + from, end - from, "\r\n\r\n", 4)) !=
	    NULL) {
		hl = (size_t)(e - h) + 2;
		bo = hl + 2;
	} else
		return;
	check_header(k, h, hl, max);
	k->hdr_done = true;
	if (!k->header_bad && bo < end)
		dkim_verify_body(&k->dv, h + bo, end - bo);
	buf_release(&k->hdr);
}

/* check_sigs - the request's signatures, from the digests */
static void
check_sigs(const struct smtp_check *k, struct ipc_v_req *r)
{
	size_t	i;

	for (i = 0; i < k->dv.n && i < LIM_IPC_SIGS; i++) {
		const struct dkim_vsig	*v = &k->dv.v[i];
		struct ipc_v_sig	*g = &r->sigs[r->nsigs++];

		g->usable = v->usable;
		g->body_ok = v->body_ok;
		g->partial = v->partial;
		g->alg = v->sig.alg == DKIM_ALG_ED25519_SHA256 ? 1 : 0;
		g->d = v->sig.d;
		g->s = v->sig.s;
		g->i = v->sig.i;
		g->b = v->sig.b;
		g->has_x = v->sig.has_x;
		g->x = v->sig.x;
		g->digest = v->digest;
		g->why = v->why;
	}
}

/* check_send - M_V_REQ out; -1: no verifier */
static int
check_send(struct smtp_session *s, struct ipc_v_req *r)
{
	struct msg	m;

	if (s->w->verifier == NULL)
		return -1;
	s->check_seq++;
	r->reqid = s->id | (uint64_t)s->check_seq << V_REQID_SEQ_SHIFT;
	r->addr = s->addr;
	r->helo = s->helo;
	r->from = s->from;
	ipc_v_req_put(&m, r);
	chan_send(s->w->verifier, &m);
	s->check_waiting = true;
	return 0;
}

/* smtp_check_mail - at MAIL FROM, SPF alone; -1: no verifier */
int
smtp_check_mail(struct smtp_session *s)
{
	struct ipc_v_req	*r = xcalloc(1, sizeof(*r));
	int			 rc;

	r->spf_only = true;
	r->author = "";
	rc = check_send(s, r);
	free(r);
	return rc;
}

/* smtp_check_end - the message ended: the whole request; -1: none sent
 * (no verifier) */
int
smtp_check_end(struct smtp_session *s)
{
	struct smtp_check	*k = s->check;
	struct ipc_v_req	*r;
	int			 rc;

	if (k == NULL)
		return -1;
	if (!k->hdr_done) {
		/* no empty line: the whole message is header */
		check_header(k, buf_ptr(&k->hdr), buf_avail(&k->hdr),
		    s->w->conf->dkim_max_signatures);
		k->hdr_done = true;
		buf_release(&k->hdr);
	}
	if (!k->header_bad)
		dkim_verify_end(&k->dv);
	r = xcalloc(1, sizeof(*r));
	r->author = k->author;
	r->author_bad = k->author_bad;
	r->header_bad = k->header_bad;
	check_sigs(k, r);
	rc = check_send(s, r);
	free(r);
	return rc;
}

/* smtp_check_answer - is this M_V_RES the one s waits for? (then the
 * wait ends) */
bool
smtp_check_answer(struct smtp_session *s, uint64_t reqid)
{
	if (!s->check_waiting ||
	    reqid != (s->id | (uint64_t)s->check_seq << V_REQID_SEQ_SHIFT))
		return false;
	s->check_waiting = false;
	if (s->check_timer != NULL)
		evtimer_del(s->check_timer);
	return true;
}

/* smtp_check_cancel - stop waiting; was s waiting? */
bool
smtp_check_cancel(struct smtp_session *s)
{
	if (!s->check_waiting)
		return false;
	s->check_waiting = false;
	if (s->check_timer != NULL)
		evtimer_del(s->check_timer);
	return true;
}

/* smtp_check_sid - the id of the session a request id belongs to */
uint64_t
smtp_check_sid(uint64_t reqid)
{
	return reqid & ((1ULL << V_REQID_SEQ_SHIFT) - 1);
}

/* smtp_check_free - the transaction's check state, and the wait */
void
smtp_check_free(struct smtp_session *s)
{
	if (s->check_timer != NULL)
		evtimer_del(s->check_timer);
	s->check_waiting = false;
	s->data.strip_id = NULL;
	if (s->check == NULL)
		return;
	dkim_verify_free(&s->check->dv);
	buf_release(&s->check->hdr);
	free(s->check);
	s->check = NULL;
}
