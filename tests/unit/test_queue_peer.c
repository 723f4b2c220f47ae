/*
 * test_queue_peer.c - the queue's side of an smtp worker's channel
 * (queue_peer.c) on a real spool in a temporary directory, the test
 * playing the smtp worker over a socketpair with the ipc.c codecs, and
 * the commit thread never started (a commit waits on its input, where
 * the test looks at it).  Covers: the envelope travels once (M_Q_OPEN's
 * sender, recipients, flags, user and client are what the commit's
 * envelope holds; M_Q_COMMIT adds the body hash); the envelope is still
 * checked at commit (5xx, channel kept); a commit of an unknown id is
 * answered and the channel kept; a malformed M_Q_OPEN (one recipient
 * too many) or an M_Q_COMMIT that repeats the envelope (the old layout)
 * closes the channel and discards the worker's open message; the user
 * is believed only with auth's ticket (a forged or missing one closes
 * the channel, an expired one is refused and the channel kept).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "conf.h"
#include "err.h"
#include "hash.h"
#include "ipc.h"
#include "msg.h"
#include "msgtypes.h"
#include "ticket.h"
#include "xmalloc.h"
#include "queue/envelope.h"
#include "queue/queue_commit.h"
#include "queue/queue_local.h"
#include "queue/queue_peer.h"
#include "queue/queue_sched.h"
#include "queue/queue_state.h"
#include "queue/spool.h"
#include "tqueue.h"
#include "tutil.h"

#define BODY	"Subject: hi\r\n\r\nhello\r\n"

struct fixture {
	char		 dir[64];
	struct queue	 q;
	int		 sock;		/* the smtp worker's end */
};

static int
setup(void **state)
{
	struct fixture	*f = xcalloc(1, sizeof(*f));
	struct conf	*c = xcalloc(1, sizeof(*c));
	char		 sdir[128];
	struct err	 e;
	int		 sv[2];

	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/test_qpeer.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		fail_msg("mkdtemp");
	conf_defaults(c);
	(void)snprintf(c->hostname, sizeof(c->hostname), "mx.example.com");
	(void)snprintf(c->data_dir, sizeof(c->data_dir), "%s", f->dir);
	f->q.conf = c;
	f->q.conf_owned = true;
	if ((f->q.base = event_base_new()) == NULL)
		fail_msg("event_base_new");
	queue_state_init(&f->q, queue_sched_run);
	f->q.dkeys_known = true;	/* the signer said: no keys */
	/* workers never started: what is posted waits on their input */
	f->q.cw.efd = f->q.dw.efd = -1;
	f->q.csync_fd = f->q.dsync_fd = -1;
	TAILQ_INIT(&f->q.cw.in);
	TAILQ_INIT(&f->q.cw.out);
	TAILQ_INIT(&f->q.dw.in);
	TAILQ_INIT(&f->q.dw.out);
	(void)snprintf(sdir, sizeof(sdir), "%s/queue", f->dir);
	if (spool_open(&f->q.sp, sdir, &e) == -1)
		fail_msg("spool_open: %s", e.msg);
	assert_int_equal(msg_socketpair(sv), 0);
	queue_peer_new(&f->q, sv[0]);
	f->sock = sv[1];
	alarm(30);		/* a blocking read never hangs the suite */
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	alarm(0);
	tqueue_drop_commits(&f->q);
	queue_peer_free_all(&f->q);
	queue_local_free(&f->q);
	queue_state_free(&f->q);
	spool_close(&f->q.sp);
	event_base_free(f->q.base);
	conf_free(f->q.conf);
	free(f->q.conf);
	close(f->sock);
	tutil_rm_rf(f->dir);
	free(f);
	return 0;
}

/* turn - let the queue's loop read and answer what is there */
static void
turn(struct fixture *f)
{
	int	i;

	for (i = 0; i < 5; i++)
		(void)event_base_loop(f->q.base, EVLOOP_NONBLOCK);
}

/* send_turn - m to the queue (then freed), and a few loop turns */
static void
send_turn(struct fixture *f, struct msg *m)
{
	assert_int_equal(msg_send(f->sock, m), 0);
	msg_free(m);
	turn(f);
}

/*
 * open_as - M_Q_OPEN of one envelope from user (with auth's ticket for
 * it, made at issued, or with ticket as given when not NULL); the answer
 * (id into id), or -1 when the queue closed the channel
 */
static int
open_as(struct fixture *f, const char *from, const char *rcpt,
    const char *user, uint64_t issued, const char *ticket, char *id,
    size_t idsz)
{
	struct ipc_q_open	*o = xcalloc(1, sizeof(*o));
	struct ipc_q_open_res	 r;
	struct msg		 m;
	struct err		 e;
	char			 t[TICKET_HEX + 1];

	o->reqid = 5;
	o->from = from;
	o->flags = QF_8BITMIME | QF_TLS | QF_AUTH;
	o->auth = user;
	o->auth_issued = issued;
	if (ticket == NULL)
		ticket_make(user, issued, t);
	o->auth_ticket = ticket != NULL ? ticket : t;
	o->client = "helo=client.example addr=192.0.2.7";
	o->nrcpts = 1;
	o->rcpts[0] = rcpt;
	ipc_q_open_put(&m, o);
	free(o);
	send_turn(f, &m);
	if (msg_recv(f->sock, &m) == 0)
		return -1;
	assert_int_equal(ipc_q_open_res_get(&m, &r, &e), 0);
	assert_int_equal(r.reqid, 5);
	if (!r.ok) {
		msg_free(&m);
		return -2;
	}
	(void)snprintf(id, idsz, "%s", r.id);
	msg_free(&m);
	return r.fd;
}

/* open_tx - open_as carol@example.com with a good ticket */
static int
open_tx(struct fixture *f, const char *from, const char *rcpt, char *id,
    size_t idsz)
{
	int	fd = open_as(f, from, rcpt, "carol@example.com", ticket_now(),
	    NULL, id, idsz);

	assert_true(fd >= 0);
	return fd;
}

/* write_body - BODY into the queue's file, closed; its hash */
static uint64_t
write_body(int fd)
{
	assert_int_equal(write(fd, BODY, strlen(BODY)), (ssize_t)strlen(BODY));
	close(fd);
	return hash64(BODY, strlen(BODY));
}

/* closed - the queue has closed the channel */
static void
closed(struct fixture *f)
{
	struct msg	m;

	assert_int_equal(msg_recv(f->sock, &m), 0);
}

/* test_envelope_once - the commit's envelope is M_Q_OPEN's */
static void
test_envelope_once(void **state)
{
	struct fixture	*f = *state;
	struct commit	*c;
	struct msg	 m;
	char		 id[64];
	uint64_t	 h;

	h = write_body(open_tx(f, "carol@example.com", "bob@remote.org", id,
	    sizeof(id)));
	ipc_q_commit_put(&m, &(struct ipc_q_commit){ .reqid = 6, .id = id,
	    .body_hash = h });
	send_turn(f, &m);
	assert_non_null(TAILQ_FIRST(&f->q.cw.in));
	c = (struct commit *)(void *)TAILQ_FIRST(&f->q.cw.in);
	assert_string_equal(c->id, id);
	assert_string_equal(c->env.from, "carol@example.com");
	assert_int_equal(c->env.flags, QF_8BITMIME | QF_TLS | QF_AUTH);
	assert_string_equal(c->env.auth_user, "carol@example.com");
	assert_string_equal(c->env.client,
	    "helo=client.example addr=192.0.2.7");
	assert_int_equal(c->env.nrcpts, 1);
	assert_string_equal(c->env.rcpts[0].addr, "bob@remote.org");
	assert_true(c->env.has_body_hash);
	assert_true(c->env.body_hash == h);
	assert_int_equal(c->env.size, strlen(BODY));
}

/* test_bad_envelope - still refused at commit, for good; channel kept */
static void
test_bad_envelope(void **state)
{
	struct fixture		*f = *state;
	struct ipc_q_commit_res	 r;
	struct msg		 m;
	struct err		 e;
	char			 id[64];
	uint64_t		 h;

	h = write_body(open_tx(f, "carol@example.com", "bob\r@remote.org", id,
	    sizeof(id)));
	ipc_q_commit_put(&m, &(struct ipc_q_commit){ .reqid = 6, .id = id,
	    .body_hash = h });
	send_turn(f, &m);
	assert_null(TAILQ_FIRST(&f->q.cw.in));
	assert_int_equal(msg_recv(f->sock, &m), 1);
	assert_int_equal(ipc_q_commit_res_get(&m, &r, &e), 0);
	assert_false(r.ok);
	assert_false(r.temp);
	assert_string_equal(r.error, "bad recipient from smtp");
	msg_free(&m);
	/* the channel still works */
	close(open_tx(f, "", "bob@remote.org", id, sizeof(id)));
}

/* test_unknown_id - answered (temporary), the channel kept */
static void
test_unknown_id(void **state)
{
	struct fixture		*f = *state;
	struct ipc_q_commit_res	 r;
	struct msg		 m;
	struct err		 e;
	char			 id[64];

	ipc_q_commit_put(&m, &(struct ipc_q_commit){ .reqid = 9,
	    .id = "00000000000000000000", .body_hash = 0 });
	send_turn(f, &m);
	assert_int_equal(msg_recv(f->sock, &m), 1);
	assert_int_equal(ipc_q_commit_res_get(&m, &r, &e), 0);
	assert_int_equal(r.reqid, 9);
	assert_false(r.ok);
	assert_true(r.temp);
	assert_string_equal(r.error, "unknown transaction");
	msg_free(&m);
	close(open_tx(f, "", "bob@remote.org", id, sizeof(id)));
}

/* test_too_many_rcpts - a malformed M_Q_OPEN closes the channel */
static void
test_too_many_rcpts(void **state)
{
	struct fixture	*f = *state;
	struct msg	 m;
	uint32_t	 i;

	msg_init(&m, M_Q_OPEN);
	msg_add_u64(&m, 1);
	msg_add_str(&m, "");
	msg_add_u32(&m, 0);
	msg_add_str(&m, "");
	msg_add_u64(&m, 0);
	msg_add_str(&m, "");
	msg_add_str(&m, "helo=h addr=a");
	msg_add_u32(&m, LIM_RECIPIENTS_MAX + 1);
	for (i = 0; i < LIM_RECIPIENTS_MAX + 1; i++)
		msg_add_str(&m, "bob@remote.org");
	send_turn(f, &m);
	closed(f);
}

/* test_old_commit - M_Q_COMMIT repeating the envelope is malformed: the
 * channel closes and the open message is discarded */
static void
test_old_commit(void **state)
{
	struct fixture	*f = *state;
	struct msg	 m;
	struct err	 e;
	char		 id[64];
	uint64_t	 h, size;

	h = write_body(open_tx(f, "carol@example.com", "bob@remote.org", id,
	    sizeof(id)));
	assert_int_equal(spool_tmp_body_size(&f->q.sp, id, &size, &e), 0);
	msg_init(&m, M_Q_COMMIT);
	msg_add_u64(&m, 6);
	msg_add_str(&m, id);
	msg_add_str(&m, "carol@example.com");
	msg_add_u32(&m, 0);
	msg_add_str(&m, "");
	msg_add_str(&m, "helo=h addr=a");
	msg_add_u32(&m, 1);
	msg_add_str(&m, "bob@remote.org");
	msg_add_u64(&m, h);
	send_turn(f, &m);
	closed(f);
	assert_null(TAILQ_FIRST(&f->q.cw.in));
	assert_int_equal(spool_tmp_body_size(&f->q.sp, id, &size, &e), -1);
}

/*
 * test_ticket_forged - a user whose ticket auth did not make (another
 * user's, none, a QF_AUTH without a user) closes the channel
 */
static void
test_ticket_forged(void **state)
{
	struct fixture	*f = *state;
	char		 id[64], t[TICKET_HEX + 1];

	ticket_make("alice@example.com", ticket_now(), t);
	assert_int_equal(open_as(f, "carol@example.com", "bob@remote.org",
	    "carol@example.com", ticket_now(), t, id, sizeof(id)), -1);
}

static void
test_ticket_missing(void **state)
{
	struct fixture	*f = *state;
	char		 id[64];

	assert_int_equal(open_as(f, "carol@example.com", "bob@remote.org",
	    "carol@example.com", ticket_now(), "", id, sizeof(id)), -1);
}

static void
test_auth_flag_alone(void **state)
{
	struct fixture	*f = *state;
	char		 id[64];

	assert_int_equal(open_as(f, "carol@example.com", "bob@remote.org",
	    "", 0, "", id, sizeof(id)), -1);
}

/*
 * test_ticket_expired - ours but older than the longest session, or
 * from the future: refused, the channel kept
 */
static void
test_ticket_expired(void **state)
{
	struct fixture	*f = *state;
	char		 id[64];
	uint64_t	 now = ticket_now();

	assert_int_equal(open_as(f, "carol@example.com", "bob@remote.org",
	    "carol@example.com", now + TICKET_SKEW + 3600, NULL, id,
	    sizeof(id)), -2);
	if (now > f->q.conf->session_timeout + 5)
		assert_int_equal(open_as(f, "carol@example.com",
		    "bob@remote.org", "carol@example.com",
		    now - f->q.conf->session_timeout - 5, NULL, id,
		    sizeof(id)), -2);
	/* the channel still works */
	close(open_tx(f, "", "bob@remote.org", id, sizeof(id)));
}

/*
 * test_keys_unknown - before the signer has said its keys, an
 * authenticated user's message is not committed (451), never unsigned
 */
static void
test_keys_unknown(void **state)
{
	struct fixture		*f = *state;
	struct ipc_q_commit_res	 r;
	struct msg		 m;
	struct err		 e;
	char			 id[64];
	uint64_t		 h;

	f->q.dkeys_known = false;
	h = write_body(open_tx(f, "carol@example.com", "bob@remote.org", id,
	    sizeof(id)));
	ipc_q_commit_put(&m, &(struct ipc_q_commit){ .reqid = 6, .id = id,
	    .body_hash = h });
	send_turn(f, &m);
	assert_null(TAILQ_FIRST(&f->q.cw.in));
	assert_int_equal(msg_recv(f->sock, &m), 1);
	assert_int_equal(ipc_q_commit_res_get(&m, &r, &e), 0);
	assert_false(r.ok);
	assert_true(r.temp);
	msg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_envelope_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_envelope, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_id, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_too_many_rcpts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_old_commit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ticket_forged, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ticket_missing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_auth_flag_alone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ticket_expired, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_keys_unknown, setup,
		    teardown),
	};

	ticket_init();

	return cmocka_run_group_tests(tests, NULL, NULL);
}
