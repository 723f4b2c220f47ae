/*
 * test_queue_sched.c - the queue's scheduler and its bounce and expiry
 * decisions (queue_sched.c, queue_bounce.c) on a real spool in a
 * temporary directory, with a fake clock and no threads: a job posted to
 * the Maildir or commit thread stays on that worker's input list, where
 * the test looks at it.  Covers: a due local recipient starts a job, a
 * later one arms the timer; expiry with and without a bounce; a bounce
 * and a delay warning queued as new messages and marked once their
 * commit is back (a warning only once); a message back from the Maildir
 * thread (removed, envelope not updated, removal asked meanwhile); admin
 * flush.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/queue.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "xmalloc.h"
#include "queue/envelope.h"
#include "queue/queue_commit.h"
#include "queue/queue_local.h"
#include "queue/queue_sched.h"
#include "queue/queue_state.h"
#include "queue/sched.h"
#include "queue/spool.h"
#include "tqueue.h"
#include "tutil.h"

#define NOW		((time_t)1800000000)	/* the fake clock's start */
#define LIFETIME	(5 * 86400)
#define ALICE		"alice@example.com"
#define REMOTE		"bob@remote.org"

static time_t	fake_now = NOW;

/* fake_clock - the scheduler's clock in these tests */
static time_t
fake_clock(void)
{
	return fake_now;
}

struct fixture {
	char		 dir[64];
	struct queue	 q;
};

/* make_conf - example.com with user alice; retry 60..3600 s */
static struct conf *
make_conf(const char *data_dir)
{
	struct conf	*c = xcalloc(1, sizeof(*c));
	struct domain	*d;

	conf_defaults(c);
	(void)snprintf(c->hostname, sizeof(c->hostname), "mx.example.com");
	(void)snprintf(c->data_dir, sizeof(c->data_dir), "%s", data_dir);
	c->retry_min = 60;
	c->retry_max = 3600;
	c->queue_lifetime = LIFETIME;
	c->delay_warning = 0;
	c->ndomains = 1;
	c->domains = xcalloc(1, sizeof(*c->domains));
	d = &c->domains[0];
	(void)snprintf(d->name, sizeof(d->name), "example.com");
	d->nusers = 1;
	d->users = xcalloc(1, sizeof(*d->users));
	d->users[0] = xstrdup("alice");
	return c;
}

static int
setup(void **state)
{
	struct fixture	*f = xcalloc(1, sizeof(*f));
	char		 sdir[128];
	struct err	 e;

	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/test_qsched.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		fail_msg("mkdtemp");
	f->q.conf = make_conf(f->dir);
	f->q.conf_owned = true;
	if ((f->q.base = event_base_new()) == NULL)
		fail_msg("event_base_new");
	queue_state_init(&f->q, queue_sched_run);
	f->q.clock = fake_clock;
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
	fake_now = NOW;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	tqueue_drop_commits(&f->q);
	queue_local_free(&f->q);
	queue_state_free(&f->q);
	spool_close(&f->q.sp);
	event_base_free(f->q.base);
	conf_free(f->q.conf);
	free(f->q.conf);
	tutil_rm_rf(f->dir);
	free(f);
	return 0;
}

/* nitems - items waiting on a worker's input */
static size_t
nitems(const struct worker *w)
{
	const struct witem	*it;
	size_t			 n = 0;

	TAILQ_FOREACH(it, &w->in, entry)
		n++;
	return n;
}

/*
 * add_msg - a message from `from` to rcpt, created `age` seconds before
 * the fake now; with a body published in the spool (DSNs read it)
 */
static struct qmsg *
add_msg(struct queue *q, const char *from, const char *rcpt, time_t age)
{
	static const char	 body[] = "From: <alice@example.com>\r\n"
	    "Subject: hello\r\n\r\nhi\r\n";
	struct envelope		 env;
	struct buf		 b;
	struct err		 e;
	char			 id[SPOOL_ID_LEN + 1];
	int			 fd;

	if (spool_create_body(&q->sp, id, O_RDWR, &fd, &e) == -1)
		fail_msg("spool_create_body: %s", e.msg);
	assert_int_equal(write(fd, body, sizeof(body) - 1),
	    (ssize_t)(sizeof(body) - 1));
	close(fd);
	memset(&env, 0, sizeof(env));
	(void)snprintf(env.id, sizeof(env.id), "%s", id);
	env.created = fake_now - age;
	env.from = xstrdup(from);
	env.client = xstrdup("test");
	env.size = sizeof(body) - 1;
	envelope_add_rcpt(&env, rcpt, rcpt);
	buf_init(&b, 1 << 20);
	assert_int_equal(envelope_dump(&env, &b), 0);
	if (spool_write_env(&q->sp, id, &b, &e) == -1 ||
	    spool_publish(&q->sp, id, &e) == -1)
		fail_msg("spool: %s", e.msg);
	buf_release(&b);
	return qmsg_new(q, &env);
}

/* timer_pending - is m's retry timer armed? */
static bool
timer_pending(const struct qmsg *m)
{
	return event_pending(m->timer, EV_TIMEOUT, NULL) != 0;
}

/* a due local recipient: one Maildir job, m busy until it is back */
static void
test_due_local_starts_job(void **state)
{
	struct fixture	*f = *state;
	struct qmsg	*m = add_msg(&f->q, REMOTE, ALICE, 10);

	queue_sched_run(&f->q, m);
	assert_true(m->busy);
	assert_int_equal(nitems(&f->q.dw), 1);
	assert_false(timer_pending(m));
	/* busy: looked at again, nothing more happens */
	queue_sched_run(&f->q, m);
	assert_int_equal(nitems(&f->q.dw), 1);
}

/* a local recipient not yet due: no job, the timer armed */
static void
test_later_retry_arms_timer(void **state)
{
	struct fixture	*f = *state;
	struct qmsg	*m = add_msg(&f->q, REMOTE, ALICE, 10);

	m->env.rcpts[0].next_try = fake_now + 300;
	m->env.rcpts[0].attempts = 1;
	queue_sched_run(&f->q, m);
	assert_false(m->busy);
	assert_int_equal(nitems(&f->q.dw), 0);
	assert_true(timer_pending(m));
	/* the clock passes next_try: now it goes */
	fake_now += 301;
	queue_sched_run(&f->q, m);
	assert_true(m->busy);
	assert_int_equal(nitems(&f->q.dw), 1);
}

/*
 * queue_lifetime reached, null sender: the recipient fails, no DSN is
 * made for <> (bounced at once), and the envelope is rewritten
 */
static void
test_expiry_null_sender_no_dsn(void **state)
{
	struct fixture	*f = *state;
	struct qmsg	*m = add_msg(&f->q, "", REMOTE, LIFETIME + 1);

	queue_sched_run(&f->q, m);
	assert_int_equal(m->env.rcpts[0].state, RCPT_BOUNCED);
	assert_int_equal(nitems(&f->q.cw), 0);
	assert_true(m->busy);			/* the rewrite job */
	assert_int_equal(nitems(&f->q.dw), 1);
}

/* one second short of queue_lifetime: still pending, timer for expiry */
static void
test_not_expired_waits(void **state)
{
	struct fixture	*f = *state;
	struct qmsg	*m = add_msg(&f->q, "", REMOTE, LIFETIME - 1);

	queue_sched_run(&f->q, m);
	assert_int_equal(m->env.rcpts[0].state, RCPT_PENDING);
	assert_false(m->busy);
	assert_int_equal(nitems(&f->q.dw), 0);
	assert_true(timer_pending(m));
}

/*
 * expired with a sender: a bounce is queued as a new message to the
 * sender, m waits for it; once its commit is back the recipient is
 * marked bounced and the bounce is a message of its own
 */
static void
test_expiry_bounces_to_sender(void **state)
{
	struct fixture	*f = *state;
	struct qmsg	*m = add_msg(&f->q, ALICE, REMOTE, LIFETIME + 1);
	struct commit	*c;
	struct qmsg	*dm;

	queue_sched_run(&f->q, m);
	assert_int_equal(m->env.rcpts[0].state, RCPT_FAILED);
	assert_true(m->dsn);
	assert_int_equal(nitems(&f->q.cw), 1);
	assert_int_equal(nitems(&f->q.dw), 0);
	c = (struct commit *)(void *)TAILQ_FIRST(&f->q.cw.in);
	assert_string_equal(c->env.from, "");
	assert_int_equal(c->env.nrcpts, 1);
	assert_string_equal(c->env.rcpts[0].addr, ALICE);
	/* waiting for its DSN: nothing else happens */
	queue_sched_run(&f->q, m);
	assert_int_equal(nitems(&f->q.cw), 1);
	TAILQ_REMOVE(&f->q.cw.in, &c->w, entry);
	c->rc = 0;
	c->done(&f->q, c);
	assert_false(m->dsn);
	assert_int_equal(m->env.rcpts[0].state, RCPT_BOUNCED);
	assert_true(m->dirty);
	assert_true(m->touched);
	dm = TAILQ_NEXT(m, entry);
	assert_non_null(dm);
	assert_ptr_not_equal(dm, m);
	assert_string_equal(dm->env.from, "");
	assert_true(dm->touched);
}

/* a failed DSN commit: nothing marked, m retried after the floor */
static void
test_dsn_commit_failed_retries(void **state)
{
	struct fixture	*f = *state;
	struct qmsg	*m = add_msg(&f->q, ALICE, REMOTE, LIFETIME + 1);
	struct commit	*c;

	queue_sched_run(&f->q, m);
	assert_int_equal(nitems(&f->q.cw), 1);
	c = (struct commit *)(void *)TAILQ_FIRST(&f->q.cw.in);
	TAILQ_REMOVE(&f->q.cw.in, &c->w, entry);
	c->rc = -1;
	c->done(&f->q, c);
	assert_false(m->dsn);
	assert_int_equal(m->env.rcpts[0].state, RCPT_FAILED);
	assert_true(timer_pending(m));
	assert_int_equal(qmsg_pending(&m->env), 0);
	/* one message only: the DSN was not kept */
	assert_ptr_equal(TAILQ_FIRST(&f->q.msgs), m);
	assert_null(TAILQ_NEXT(m, entry));
}

/* a delay warning once delay_warning has passed, and only once */
static void
test_delay_warning_once(void **state)
{
	struct fixture	*f = *state;
	struct qmsg	*m;
	struct commit	*c;

	f->q.conf->delay_warning = 3600;
	m = add_msg(&f->q, ALICE, REMOTE, 3599);
	queue_sched_run(&f->q, m);
	assert_int_equal(nitems(&f->q.cw), 0);		/* not yet */
	assert_false(m->dsn);
	fake_now += 2;
	queue_sched_run(&f->q, m);
	assert_true(m->dsn);
	assert_int_equal(nitems(&f->q.cw), 1);
	c = (struct commit *)(void *)TAILQ_FIRST(&f->q.cw.in);
	TAILQ_REMOVE(&f->q.cw.in, &c->w, entry);
	c->rc = 0;
	c->done(&f->q, c);
	assert_int_equal(m->env.warned, fake_now);
	assert_int_equal(m->env.rcpts[0].state, RCPT_PENDING);
	/* the rewrite goes to the Maildir thread; then never again */
	m->busy = false;
	m->dirty = false;
	fake_now += 7200;
	queue_sched_run(&f->q, m);
	assert_int_equal(nitems(&f->q.cw), 0);
	assert_false(m->dsn);
}

/* back from the Maildir thread, removed: forgotten and freed */
static void
test_back_removed_frees(void **state)
{
	struct fixture	*f = *state;
	struct qmsg	*m = add_msg(&f->q, REMOTE, ALICE, 10);
	char		 id[SPOOL_ID_LEN + 1];

	memcpy(id, m->env.id, sizeof(id));
	m->busy = true;
	m->back = QB_REMOVED;
	qmsg_touch(m);
	queue_sched_run(&f->q, m);
	assert_null(qmsg_find(&f->q, id));
	assert_true(TAILQ_EMPTY(&f->q.touched));
}

/* back, its envelope not updated: retried after retry_min, no job */
static void
test_back_unsaved_retries(void **state)
{
	struct fixture	*f = *state;
	struct qmsg	*m = add_msg(&f->q, REMOTE, ALICE, 10);

	m->env.rcpts[0].state = RCPT_DONE;
	m->busy = true;
	m->back = QB_UNSAVED;
	queue_sched_run(&f->q, m);
	assert_false(m->busy);
	assert_true(m->dirty);
	assert_int_equal(m->back, QB_NONE);
	assert_int_equal(nitems(&f->q.dw), 0);
	assert_true(timer_pending(m));
	/* the timer fires: the rewrite (and removal) job goes */
	queue_sched_run(&f->q, m);
	assert_true(m->busy);
	assert_int_equal(nitems(&f->q.dw), 1);
}

/* an admin removal asked while busy is done when it comes back */
static void
test_remove_while_busy(void **state)
{
	struct fixture	*f = *state;
	struct qmsg	*m = add_msg(&f->q, REMOTE, ALICE, 10);
	char		 id[SPOOL_ID_LEN + 1];

	memcpy(id, m->env.id, sizeof(id));
	m->busy = true;
	assert_int_equal(queue_sched_remove(&f->q, m, NULL), 1);
	assert_non_null(qmsg_find(&f->q, id));
	m->back = QB_SAVED;
	queue_sched_run(&f->q, m);
	assert_null(qmsg_find(&f->q, id));
	assert_int_equal(nitems(&f->q.dw), 0);
}

/* admin flush: a recipient waiting for its retry goes now */
static void
test_flush_now(void **state)
{
	struct fixture	*f = *state;
	struct qmsg	*m = add_msg(&f->q, REMOTE, ALICE, 10);

	m->env.rcpts[0].next_try = fake_now + 3000;
	queue_sched_flush(&f->q, m);
	assert_int_equal(m->env.rcpts[0].next_try, 0);
	assert_true(m->touched);
	queue_sched_run(&f->q, m);
	assert_true(m->busy);
	assert_int_equal(nitems(&f->q.dw), 1);
}

/* the retry floor: retry_min, 60 s when it is 0 */
static void
test_retry_floor(void **state)
{
	(void)state;
	assert_int_equal(sched_retry_floor(0), 60);
	assert_int_equal(sched_retry_floor(1), 1);
	assert_int_equal(sched_retry_floor(900), 900);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_due_local_starts_job,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_later_retry_arms_timer,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_null_sender_no_dsn,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_expired_waits,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_bounces_to_sender,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsn_commit_failed_retries,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_delay_warning_once,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_back_removed_frees,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_back_unsaved_retries,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_while_busy,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_now,
		    setup, teardown),
		cmocka_unit_test(test_retry_floor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
