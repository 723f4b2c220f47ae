/*
 * test_smtp_data.c - the DATA reader: terminator, dot-unstuffing, bare LF
 * and bare CR under both policies (SMTP smuggling shapes), NUL, the line,
 * size and hop limits at their edges, output refusal, pipelined bytes
 * after the terminator; and, on random inputs, that one-shot, byte-by-byte
 * and randomly split feeding agree with each other and with a plain
 * octet-at-a-time reference model written from the rules.  Also our
 * Received header: its exact text and protocol names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "smtp/smtp_data.h"

#define BIG	(1ULL << 30)
#define OUTCAP	(1 << 20)

struct result {
	char			out[4096];
	size_t			outlen;
	enum smtp_data_error	error;
	bool			done;
	size_t			consumed;
	unsigned long long	size;
	unsigned		hops;
};

struct params {
	unsigned long long	max_size;
	size_t			max_line;
	unsigned		max_hops;
	enum bare_lf_policy	policy;
	size_t			outcap;
};

/*
 * run - feed in, cut at the offsets in cuts[] (ncuts of them, ascending);
 * stops feeding once done.
 */
static void
run(const struct params *p, const char *in, size_t len, const size_t *cuts,
    size_t ncuts, struct result *r)
{
	struct smtp_data	d;
	struct buf		out;
	size_t			pos = 0, k, end, n;

	memset(r, 0, sizeof(*r));
	buf_init(&out, p->outcap);
	smtp_data_init(&d, p->max_size, p->max_line, p->max_hops, p->policy);
	for (k = 0; k <= ncuts && !d.done; k++) {
		end = k < ncuts ? cuts[k] : len;
		if (end < pos)
			continue;
		n = smtp_data_feed(&d, in + pos, end - pos, &out);
		assert_true(n <= end - pos);
		if (!d.done)
			assert_int_equal(n, end - pos);
		pos += n;
	}
	/* once done, nothing more is consumed */
	if (d.done)
		assert_int_equal(smtp_data_feed(&d, in + pos, len - pos, &out),
		    0);
	assert_true(buf_avail(&out) < sizeof(r->out));
	r->outlen = buf_avail(&out);
	if (r->outlen > 0)
		memcpy(r->out, buf_ptr(&out), r->outlen);
	r->error = d.error;
	r->done = d.done;
	r->consumed = pos;
	r->size = d.size;
	r->hops = d.hops;
	assert_true(d.size == r->outlen);
	assert_true(d.size <= p->max_size);
	buf_release(&out);
}

static void
assert_same(const struct result *a, const struct result *b, const char *what)
{
	if (a->outlen != b->outlen || memcmp(a->out, b->out, a->outlen) != 0 ||
	    a->error != b->error || a->done != b->done ||
	    a->consumed != b->consumed || a->size != b->size ||
	    a->hops != b->hops)
		fail_msg("%s: out %zu/%zu err %d/%d done %d/%d used %zu/%zu "
		    "hops %u/%u", what, a->outlen, b->outlen, a->error,
		    b->error, a->done, b->done, a->consumed, b->consumed,
		    a->hops, b->hops);
}

struct data_case {
	const char		*in;
	size_t			 inlen;
	enum bare_lf_policy	 policy;
	unsigned long long	 max_size;
	size_t			 max_line;
	unsigned		 max_hops;
	size_t			 outcap;
	const char		*out;
	size_t			 outlen;
	enum smtp_data_error	 error;
	bool			 done;
	size_t			 consumed;	/* 0: all of in */
	unsigned		 hops;
};

#define S(x)	x, sizeof(x) - 1
#define REJ	BARE_LF_REJECT
#define NORM	BARE_LF_NORMALIZE
#define DEF	BIG, 998, 50, OUTCAP

static const struct data_case cases[] = {
	/* the terminator, and the CRLF before it belongs to the body */
	{ S("a\r\n.\r\n"), REJ, DEF, S("a\r\n"), SD_OK, true, 0, 0 },
	{ S(".\r\n"), REJ, DEF, S(""), SD_OK, true, 0, 0 },
	{ S("\r\n.\r\n"), REJ, DEF, S("\r\n"), SD_OK, true, 0, 0 },
	{ S("a\r\n.\r\nQUIT\r\n"), REJ, DEF, S("a\r\n"), SD_OK, true, 6, 0 },
	{ S(".\r\n.\r\n"), REJ, DEF, S(""), SD_OK, true, 3, 0 },
	{ S("a\r\n.\r"), REJ, DEF, S("a\r\n"), SD_OK, false, 0, 0 },
	{ S("a\r\n."), REJ, DEF, S("a\r\n"), SD_OK, false, 0, 0 },
	{ S("a.\r\n.\r\n"), REJ, DEF, S("a.\r\n"), SD_OK, true, 0, 0 },
	{ S("a\r\n .\r\n.\r\n"), REJ, DEF, S("a\r\n .\r\n"), SD_OK, true,
	    0, 0 },
	/* dot-unstuffing */
	{ S("..\r\n.\r\n"), REJ, DEF, S(".\r\n"), SD_OK, true, 0, 0 },
	{ S("..a\r\n.\r\n"), REJ, DEF, S(".a\r\n"), SD_OK, true, 0, 0 },
	{ S(".a\r\n.\r\n"), REJ, DEF, S("a\r\n"), SD_OK, true, 0, 0 },
	{ S("a\r\n...\r\n.\r\n"), REJ, DEF, S("a\r\n..\r\n"), SD_OK, true,
	    0, 0 },
	{ S(". \r\n.\r\n"), REJ, DEF, S(" \r\n"), SD_OK, true, 0, 0 },
	/* smuggling shapes: a bare LF/CR never ends a line */
	{ S("a\n.\r\n"), REJ, DEF, S("a"), SD_ERR_BARE_LF, false, 0, 0 },
	{ S("a\n.\r\n\r\n.\r\n"), REJ, DEF, S("a"), SD_ERR_BARE_LF, true,
	    0, 0 },
	{ S("a\n.\r\n\r\n.\r\n"), NORM, DEF, S("a\r\n.\r\n\r\n"), SD_OK,
	    true, 0, 0 },
	{ S("a\r\n.\n"), NORM, DEF, S("a\r\n\r\n"), SD_OK, false, 0, 0 },
	{ S("a\r\n.\n.\r\n"), NORM, DEF, S("a\r\n\r\n.\r\n"), SD_OK, false,
	    0, 0 },
	{ S("\r\n.\n.\r\n.\r\n"), NORM, DEF, S("\r\n\r\n.\r\n"), SD_OK, true,
	    0, 0 },
	{ S("a\r\n.\n\r\n.\r\n"), NORM, DEF, S("a\r\n\r\n\r\n"), SD_OK, true,
	    0, 0 },
	{ S("a\n.\n"), NORM, DEF, S("a\r\n.\r\n"), SD_OK, false, 0, 0 },
	{ S("a\r.\r\n"), NORM, DEF, S("a\r\n.\r\n"), SD_OK, false, 0, 0 },
	{ S("a\r\n.\r.\r\n"), NORM, DEF, S("a\r\n\r\n.\r\n"), SD_OK, false,
	    0, 0 },
	{ S("a\r\n.\r.\r\n"), REJ, DEF, S("a\r\n"), SD_ERR_BARE_LF, false,
	    0, 0 },
	{ S("a\rb\r\n.\r\n"), NORM, DEF, S("a\r\nb\r\n"), SD_OK, true, 0, 0 },
	{ S("a\rb\r\n.\r\n"), REJ, DEF, S("a"), SD_ERR_BARE_LF, true, 0, 0 },
	{ S(".\rX\r\n.\r\n"), NORM, DEF, S("\r\nX\r\n"), SD_OK, true, 0, 0 },
	{ S("\r\r\n.\r\n"), NORM, DEF, S("\r\n\r\n"), SD_OK, true, 0, 0 },
	{ S("\r\r\n.\r\n"), REJ, DEF, S(""), SD_ERR_BARE_LF, true, 0, 0 },
	{ S("\n.\r\n"), REJ, DEF, S(""), SD_ERR_BARE_LF, false, 0, 0 },
	{ S("\r\n\n\r\n.\r\n"), NORM, DEF, S("\r\n\r\n\r\n"), SD_OK, true,
	    0, 0 },
	/* NUL */
	{ S("a\0b\r\n.\r\n"), REJ, DEF, S("a"), SD_ERR_NUL, true, 0, 0 },
	{ S(".\0\r\n.\r\n"), NORM, DEF, S(""), SD_ERR_NUL, true, 0, 0 },
	{ S("\0"), NORM, DEF, S(""), SD_ERR_NUL, false, 0, 0 },
	/* line limit: text octets after unstuffing, CRLF not counted */
	{ S("abc\r\n.\r\n"), REJ, BIG, 3, 50, OUTCAP, S("abc\r\n"), SD_OK,
	    true, 0, 0 },
	{ S("abcd\r\n.\r\n"), REJ, BIG, 3, 50, OUTCAP, S("abc"), SD_ERR_LINE,
	    true, 0, 0 },
	{ S("..bc\r\n.\r\n"), REJ, BIG, 3, 50, OUTCAP, S(".bc\r\n"), SD_OK,
	    true, 0, 0 },
	{ S("ab\r\ncde\r\nfghi\r\n.\r\n"), REJ, BIG, 3, 50, OUTCAP,
	    S("ab\r\ncde\r\nfgh"), SD_ERR_LINE, true, 0, 0 },
	{ S("abc\nabc\r\n.\r\n"), NORM, BIG, 3, 50, OUTCAP,
	    S("abc\r\nabc\r\n"), SD_OK, true, 0, 0 },
	{ S("\r\n.\r\n"), REJ, BIG, 0, 50, OUTCAP, S("\r\n"), SD_OK, true,
	    0, 0 },
	{ S("x\r\n.\r\n"), REJ, BIG, 0, 50, OUTCAP, S(""), SD_ERR_LINE, true,
	    0, 0 },
	/* size limit: output octets */
	{ S("abc\r\n.\r\n"), REJ, 5, 998, 50, OUTCAP, S("abc\r\n"), SD_OK,
	    true, 0, 0 },
	{ S("abc\r\n.\r\n"), REJ, 4, 998, 50, OUTCAP, S("abc\r"),
	    SD_ERR_SIZE, true, 0, 0 },
	{ S("abc\r\n.\r\n"), REJ, 2, 998, 50, OUTCAP, S("ab"), SD_ERR_SIZE,
	    true, 0, 0 },
	{ S("..\r\n.\r\n"), REJ, 3, 998, 50, OUTCAP, S(".\r\n"), SD_OK, true,
	    0, 0 },
	{ S(".\r\n"), REJ, 0, 998, 50, OUTCAP, S(""), SD_OK, true, 0, 0 },
	{ S("\r\n.\r\n"), REJ, 0, 998, 50, OUTCAP, S(""), SD_ERR_SIZE, true,
	    0, 0 },
	{ S("a\nb\r\n.\r\n"), NORM, 3, 998, 50, OUTCAP, S("a\r\n"),
	    SD_ERR_SIZE, true, 0, 0 },
	/* the out buffer refusing bytes */
	{ S("abcdef\r\n.\r\n"), REJ, BIG, 998, 50, 4, S("abcd"),
	    SD_ERR_OUTPUT, true, 0, 0 },
	{ S("abcdef\r\n.\r\n"), REJ, 6, 998, 50, 6, S("abcdef"),
	    SD_ERR_SIZE, true, 0, 0 },
	{ S("ab\r\n.\r\n"), REJ, BIG, 998, 50, 4, S("ab\r\n"), SD_OK, true,
	    0, 0 },
	/* hops: Received: fields in the header only, case-insensitive */
	{ S("Received: a\r\nreceived: b\r\n\r\nReceived: c\r\n.\r\n"), REJ,
	    BIG, 998, 2, OUTCAP,
	    S("Received: a\r\nreceived: b\r\n\r\nReceived: c\r\n"), SD_OK,
	    true, 0, 2 },
	{ S("Received: a\r\nRECEIVED:b\r\n\r\n.\r\n"), REJ, BIG, 998, 1,
	    OUTCAP, S("Received: a\r\nRECEIVED:"), SD_ERR_HOPS, true, 0, 2 },
	{ S("Received:\r\n.\r\n"), REJ, BIG, 998, 0, OUTCAP, S("Received:"),
	    SD_ERR_HOPS, true, 0, 1 },
	{ S("Received :\r\nReceivedx\r\nX-Received: y\r\nReceive\r\n"
	    " Received: z\r\n.\r\n"), REJ, BIG, 998, 0, OUTCAP,
	    S("Received :\r\nReceivedx\r\nX-Received: y\r\nReceive\r\n"
	    " Received: z\r\n"), SD_OK, true, 0, 0 },
	{ S(".Received: a\r\n..Received: b\r\n.\r\n"), REJ, BIG, 998, 5,
	    OUTCAP, S("Received: a\r\n.Received: b\r\n"), SD_OK, true, 0, 1 },
	{ S("Subject: x\r\n\nReceived: y\r\n.\r\n"), NORM, BIG, 998, 0,
	    OUTCAP, S("Subject: x\r\n\r\nReceived: y\r\n"), SD_OK, true, 0,
	    0 },
	{ S("Subject: x\nReceived: y\r\n.\r\n"), NORM, BIG, 998, 0, OUTCAP,
	    S("Subject: x\r\nReceived:"), SD_ERR_HOPS, true, 0, 1 },
	{ S("Recei"), REJ, BIG, 998, 0, OUTCAP, S("Recei"), SD_OK, false,
	    0, 0 },
	/* line limit shorter than "Received:" */
	{ S("Receiv\r\n.\r\n"), REJ, BIG, 5, 0, OUTCAP, S("Recei"),
	    SD_ERR_LINE, true, 0, 0 },
};

/* all the ways to cut one input: whole, every octet, every single cut */
static void
check_case(size_t idx, const struct data_case *c)
{
	struct params	p = { c->max_size, c->max_line, c->max_hops, c->policy,
			    c->outcap };
	struct result	whole, split;
	size_t		cuts[1024], i, k;
	char		what[64];

	run(&p, c->in, c->inlen, NULL, 0, &whole);
	if (whole.outlen != c->outlen ||
	    memcmp(whole.out, c->out, c->outlen) != 0)
		fail_msg("case %zu: output %zu octets '%.*s'", idx,
		    whole.outlen, (int)whole.outlen, whole.out);
	if (whole.error != c->error || whole.done != c->done)
		fail_msg("case %zu: error %d done %d", idx, whole.error,
		    whole.done);
	assert_int_equal(whole.consumed,
	    c->consumed != 0 ? c->consumed : c->inlen);
	assert_int_equal(whole.hops, c->hops);

	assert_true(c->inlen < sizeof(cuts));
	for (i = 0; i < c->inlen; i++)
		cuts[i] = i;
	run(&p, c->in, c->inlen, cuts, c->inlen, &split);
	(void)snprintf(what, sizeof(what), "case %zu bytewise", idx);
	assert_same(&whole, &split, what);
	for (k = 0; k <= c->inlen; k++) {
		cuts[0] = k;
		run(&p, c->in, c->inlen, cuts, 1, &split);
		(void)snprintf(what, sizeof(what), "case %zu cut %zu", idx, k);
		assert_same(&whole, &split, what);
	}
}

static void
test_table(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(i, &cases[i]);
}

/* a line of exactly max_line (998) octets passes, 999 does not */
static void
test_rfc_line(void **state)
{
	struct params	p = { BIG, 998, 50, BARE_LF_REJECT, OUTCAP };
	struct result	r;
	char		in[1200];

	(void)state;
	memset(in, 'x', sizeof(in));
	memcpy(in + 998, "\r\n.\r\n", 5);
	run(&p, in, 1003, NULL, 0, &r);
	assert_int_equal(r.error, SD_OK);
	assert_int_equal(r.outlen, 1000);
	/* a leading stuffing dot does not count */
	in[0] = '.';
	memset(in + 1, 'x', 998);
	memcpy(in + 999, "\r\n.\r\n", 5);
	run(&p, in, 1004, NULL, 0, &r);
	assert_int_equal(r.error, SD_OK);
	assert_int_equal(r.outlen, 1000);
	memset(in, 'x', sizeof(in));
	memcpy(in + 999, "\r\n.\r\n", 5);
	run(&p, in, 1004, NULL, 0, &r);
	assert_int_equal(r.error, SD_ERR_LINE);
	assert_int_equal(r.outlen, 998);
	assert_true(r.done);
}

static void
test_reply(void **state)
{
	(void)state;
	assert_string_equal(smtp_data_reply(SD_OK), "250 2.0.0 Ok");
	assert_string_equal(smtp_data_reply(SD_ERR_SIZE),
	    "552 5.3.4 Message size exceeds fixed limit");
	assert_string_equal(smtp_data_reply(SD_ERR_LINE),
	    "554 5.6.0 Message has a line too long");
	assert_string_equal(smtp_data_reply(SD_ERR_BARE_LF),
	    "550 5.6.0 Bare LF or CR in message (SMTP requires CRLF line "
	    "ends)");
	assert_string_equal(smtp_data_reply(SD_ERR_NUL),
	    "550 5.6.0 NUL octet in message");
	assert_string_equal(smtp_data_reply(SD_ERR_HOPS),
	    "554 5.4.6 Too many hops (mail loop?)");
	assert_string_equal(smtp_data_reply(SD_ERR_OUTPUT),
	    "451 4.3.0 Local error writing message");
}

/* our Received header: exact text, and the protocol name per RFC 3848 */
static void
test_received(void **state)
{
	static const struct {
		bool		 esmtp, tls, auth, utf8;
		const char	*proto;
	} protos[] = {
		{ false, false, false, false, "SMTP" },
		{ false, true, true, true, "SMTP" },
		{ true, false, false, false, "ESMTP" },
		{ true, false, false, true, "UTF8SMTP" },
		{ true, false, true, false, "ESMTPA" },
		{ true, false, true, true, "UTF8SMTPA" },
		{ true, true, false, false, "ESMTPS" },
		{ true, true, false, true, "UTF8SMTPS" },
		{ true, true, true, false, "ESMTPSA" },
		{ true, true, true, true, "UTF8SMTPSA" },
	};
	struct smtp_data_trace	 t;
	struct buf		 b;
	char			 want[512];
	size_t			 i;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.helo = "client.test";
	t.addr = "192.0.2.7";
	t.hostname = "mail.example.test";
	t.msgid = "0123456789abcdef";
	t.esmtp = true;
	t.now = 86400 + 3723;
	buf_init(&b, 4096);
	assert_int_equal(smtp_data_received(&b, &t), 0);
	assert_int_equal(buf_avail(&b), strlen("Received: from client.test "
	    "([192.0.2.7])\r\n\tby mail.example.test (postern) with ESMTP id "
	    "0123456789abcdef; Fri, 02 Jan 1970 01:02:03 +0000\r\n"));
	assert_memory_equal(buf_ptr(&b), "Received: from client.test "
	    "([192.0.2.7])\r\n\tby mail.example.test (postern) with ESMTP id "
	    "0123456789abcdef; Fri, 02 Jan 1970 01:02:03 +0000\r\n",
	    buf_avail(&b));

	/* TLS details and the only recipient on their own folded lines */
	buf_reset(&b);
	t.tls_version = "TLSv1.3";
	t.tls_cipher = "TLS_AES_256_GCM_SHA384";
	t.rcpt = "alice@example.test";
	assert_int_equal(smtp_data_received(&b, &t), 0);
	(void)snprintf(want, sizeof(want), "Received: from client.test "
	    "([192.0.2.7])\r\n\tby mail.example.test (postern) with ESMTPS id "
	    "0123456789abcdef\r\n\t(version=TLSv1.3 "
	    "cipher=TLS_AES_256_GCM_SHA384)\r\n\tfor <alice@example.test>; "
	    "Fri, 02 Jan 1970 01:02:03 +0000\r\n");
	assert_int_equal(buf_avail(&b), strlen(want));
	assert_memory_equal(buf_ptr(&b), want, strlen(want));

	t.rcpt = NULL;
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		buf_reset(&b);
		t.esmtp = protos[i].esmtp;
		t.tls_version = protos[i].tls ? "TLSv1.3" : NULL;
		t.authenticated = protos[i].auth;
		t.smtputf8 = protos[i].utf8;
		assert_int_equal(smtp_data_received(&b, &t), 0);
		(void)snprintf(want, sizeof(want), "(postern) with %s id ",
		    protos[i].proto);
		assert_non_null(memmem(buf_ptr(&b), buf_avail(&b), want,
		    strlen(want)));
	}

	/* a buffer too small for the header: -1 */
	buf_release(&b);
	buf_init(&b, 40);
	assert_int_equal(smtp_data_received(&b, &t), -1);
	buf_release(&b);
}

/* a large message in big chunks: only the body comes out, exactly */
static void
test_large(void **state)
{
	struct smtp_data	 d;
	struct buf		 out;
	char			*in, *want;
	size_t			 n = 0, w = 0, i, pos, step, used;

	(void)state;
	in = malloc(3 << 20);
	want = malloc(3 << 20);
	assert_non_null(in);
	assert_non_null(want);
	for (i = 0; n < (2 << 20); i++) {
		if (i % 10 == 3) {
			in[n++] = '.';		/* stuffed line */
			in[n++] = '.';
			want[w++] = '.';
		}
		memset(in + n, 'a' + (int)(i % 26), i % 90);
		memset(want + w, 'a' + (int)(i % 26), i % 90);
		n += i % 90;
		w += i % 90;
		memcpy(in + n, "\r\n", 2);
		memcpy(want + w, "\r\n", 2);
		n += 2;
		w += 2;
	}
	memcpy(in + n, ".\r\nNOOP\r\n", 9);
	smtp_data_init(&d, BIG, 998, 50, BARE_LF_REJECT);
	buf_init(&out, 4 << 20);
	for (pos = 0, step = 1; !d.done; pos += used, step = step * 7 % 65521) {
		used = smtp_data_feed(&d, in + pos, step < n + 9 - pos ? step :
		    n + 9 - pos, &out);
	}
	assert_int_equal(pos, n + 3);
	assert_int_equal(d.error, SD_OK);
	assert_int_equal(buf_avail(&out), w);
	assert_memory_equal(buf_ptr(&out), want, w);
	buf_release(&out);
	free(in);
	free(want);
}

/*
 * The reference model: the rules applied one octet at a time, in the
 * plainest way, sharing no code with smtp_data.c.
 */
struct ref {
	const struct params	*p;
	struct result		*r;
	enum smtp_data_error	 err;
	size_t			 olen;		/* octets on the output line */
	bool			 in_hdr;
	char			 hdr[9];
};

static void
ref_fail(struct ref *m, enum smtp_data_error e)
{
	if (m->err == SD_OK)
		m->err = e;
}

/* one output octet; text says whether it counts toward the line */
static void
ref_put(struct ref *m, char c, bool text)
{
	if (m->err != SD_OK)
		return;
	if (text && m->olen + 1 > m->p->max_line) {
		ref_fail(m, SD_ERR_LINE);
		return;
	}
	if (m->r->outlen + 1 > m->p->max_size) {
		ref_fail(m, SD_ERR_SIZE);
		return;
	}
	if (m->r->outlen + 1 > m->p->outcap) {
		ref_fail(m, SD_ERR_OUTPUT);
		return;
	}
	m->r->out[m->r->outlen++] = c;
	if (!text)
		return;
	m->olen++;
	if (m->in_hdr && m->olen <= 9) {
		m->hdr[m->olen - 1] = c;
		if (m->olen == 9 && strncasecmp(m->hdr, "Received:", 9) == 0 &&
		    ++m->r->hops > m->p->max_hops)
			ref_fail(m, SD_ERR_HOPS);
	}
}

static void
ref_crlf(struct ref *m)
{
	if (m->err != SD_OK)
		return;
	ref_put(m, '\r', false);
	ref_put(m, '\n', false);
	if (m->in_hdr && (m->olen == 0 || m->r->outlen > LIM_HEADER_BYTES))
		m->in_hdr = false;
	m->olen = 0;
}

static void
ref_bare(struct ref *m)
{
	if (m->err != SD_OK)
		return;
	if (m->p->policy == BARE_LF_REJECT)
		ref_fail(m, SD_ERR_BARE_LF);
	else
		ref_crlf(m);
}

static void
ref_run(const struct params *p, const char *in, size_t len, struct result *r)
{
	struct ref	m;
	bool		pbol = true, dotonly = false, cr = false;
	size_t		i;
	char		c;

	memset(r, 0, sizeof(*r));
	memset(&m, 0, sizeof(m));
	m.p = p;
	m.r = r;
	m.in_hdr = true;
	for (i = 0; i < len; i++) {
		c = in[i];
		if (cr) {
			cr = false;
			if (c == '\n' && dotonly) {
				r->done = true;
				i++;
				break;
			}
			if (c == '\n') {
				ref_crlf(&m);
				pbol = true;
				continue;
			}
			ref_bare(&m);
			dotonly = false;
		}
		if (pbol) {
			pbol = false;
			if (c == '.') {
				dotonly = true;
				continue;
			}
		}
		if (c == '\r') {
			cr = true;
			continue;
		}
		dotonly = false;
		if (c == '\n')
			ref_bare(&m);
		else if (c == '\0')
			ref_fail(&m, SD_ERR_NUL);
		else
			ref_put(&m, c, true);
	}
	r->consumed = i;
	r->error = m.err;
	r->size = r->outlen;
}

static void
test_random(void **state)
{
	static const char	*atoms[] = {
		"a", "b", ".", "..", "\r", "\n", "\r\n", "\r\n.\r\n", "\0",
		"Received:", "received: x", "xyz", "\r\n.", ".\r", "\n.\r\n",
	};
	struct params		p;
	struct result		whole, bytes, split, ref;
	char			in[600];
	size_t			len, cuts[600], ncuts, i, a, iter;

	(void)state;
	srand(4242);
	for (iter = 0; iter < 20000; iter++) {
		for (len = 0; len < 400;) {
			a = (size_t)rand() % (sizeof(atoms) / sizeof(atoms[0]));
			i = a == 8 ? 1 : strlen(atoms[a]);
			if ((size_t)rand() % 60 == 0)
				break;
			memcpy(in + len, atoms[a], i);
			len += i;
		}
		p.max_size = (size_t)rand() % 3 == 0 ? (size_t)rand() % 300 :
		    BIG;
		p.max_line = (size_t)rand() % 3 == 0 ? (size_t)rand() % 20 :
		    998;
		p.max_hops = (unsigned)rand() % 4;
		p.policy = rand() % 2 ? BARE_LF_REJECT : BARE_LF_NORMALIZE;
		p.outcap = (size_t)rand() % 5 == 0 ? (size_t)rand() % 300 :
		    sizeof(whole.out) - 1;

		run(&p, in, len, NULL, 0, &whole);
		ref_run(&p, in, len, &ref);
		assert_same(&whole, &ref, "reference");
		for (i = 0; i < len; i++)
			cuts[i] = i;
		run(&p, in, len, cuts, len, &bytes);
		assert_same(&whole, &bytes, "bytewise");
		for (ncuts = 0, i = 0; i < len; i += 1 + (size_t)rand() % 40)
			cuts[ncuts++] = i;
		run(&p, in, len, cuts, ncuts, &split);
		assert_same(&whole, &split, "random split");
	}
}

/* strip_run - in fed with strip_id "mx.example.org", split at cut (0: in
 * one piece); the output */
static void
strip_run(const char *in, size_t cut, char *out, size_t outsz,
    unsigned *stripped)
{
	struct smtp_data	d;
	struct buf		b;
	size_t			len = strlen(in), used;

	buf_init(&b, 1 << 20);
	smtp_data_init(&d, 1 << 20, 65536, 100, BARE_LF_REJECT);
	d.strip_id = "mx.example.org";
	used = cut > 0 ? smtp_data_feed(&d, in, cut, &b) : 0;
	assert_int_equal(used, cut);
	used += smtp_data_feed(&d, in + used, len - used, &b);
	assert_true(d.done);
	assert_int_equal(used, len);
	assert_int_equal(d.error, SD_OK);
	assert_true(buf_avail(&b) < outsz);
	assert_true(d.written == buf_avail(&b));
	memcpy(out, buf_ptr(&b), buf_avail(&b));
	out[buf_avail(&b)] = '\0';
	*stripped = d.stripped;
	buf_release(&b);
}

/*
 * test_strip_authres - Authentication-Results fields naming our
 * authserv-id (any case, after comments, folded) leave the header,
 * continuation lines and all; one naming another host stays, as do a
 * field whose name only starts alike, the same text in the body, and
 * everything around them; at every split of the input the same.
 */
static void
test_strip_authres(void **state)
{
	static const struct {
		const char	*in;
		const char	*want;
		unsigned	 stripped;
	} c[] = {
		{ "Authentication-Results: mx.example.org; spf=pass\r\n"
		  "Subject: hi\r\n\r\nbody\r\n.\r\n",
		  "Subject: hi\r\n\r\nbody\r\n", 1 },
		{ "From: a@b.example\r\n"
		  "authentication-results: (forged) MX.Example.ORG;\r\n"
		  "\tdkim=pass header.d=bank.example\r\n"
		  " dmarc=pass\r\n"
		  "Authentication-Results: other.example; spf=fail\r\n"
		  "Authentication-Results-X: mx.example.org\r\n"
		  "Authentication-Results:\r\n mx.example.org; none\r\n"
		  "\r\n"
		  "Authentication-Results: mx.example.org; in the body\r\n"
		  ".\r\n",
		  "From: a@b.example\r\n"
		  "Authentication-Results: other.example; spf=fail\r\n"
		  "Authentication-Results-X: mx.example.org\r\n"
		  "\r\n"
		  "Authentication-Results: mx.example.org; in the body\r\n",
		  2 },
		/* the last field of a message without a body */
		{ "Subject: x\r\nAuthentication-Results: mx.example.org; "
		  "none\r\n.\r\n", "Subject: x\r\n", 1 },
		{ "Auth\r\n\r\n.\r\n", "Auth\r\n\r\n", 0 },
		{ "Authentication-Results: mx.example.org.evil; none\r\n"
		  "\r\n.\r\n",
		  "Authentication-Results: mx.example.org.evil; none\r\n"
		  "\r\n", 0 },
	};
	char		 out[4096], *big, *in;
	unsigned	 st;
	size_t		 i, cut, n;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		for (cut = 0; cut < strlen(c[i].in); cut++) {
			strip_run(c[i].in, cut, out, sizeof(out), &st);
			if (strcmp(out, c[i].want) != 0)
				fail_msg("case %zu cut %zu: got [%s]", i, cut,
				    out);
			assert_int_equal(st, c[i].stripped);
		}
	/* a field longer than the hold is left out whatever it names (a
	 * long comment could hide our id) */
	n = SMTP_DATA_AR_HOLD + 100;
	big = malloc(n + 1);
	in = malloc(n + 256);
	assert_non_null(big);
	assert_non_null(in);
	memset(big, 'c', n);
	big[n] = '\0';
	(void)snprintf(in, n + 256, "Authentication-Results: (%s) "
	    "mx.example.org; none\r\nSubject: s\r\n\r\n.\r\n", big);
	strip_run(in, 0, out, sizeof(out), &st);
	assert_string_equal(out, "Subject: s\r\n\r\n");
	assert_int_equal(st, 1);
	free(big);
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_rfc_line),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_received),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_strip_authres),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
