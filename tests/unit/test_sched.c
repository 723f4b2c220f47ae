/*
 * test_sched.c - the retry schedule: exponential backoff with its cap,
 * the +-10% jitter bounds, degenerate settings, and expiry; and the
 * queue's pure decisions of qplan.c: deliver jobs grouped by domain,
 * results applied, expiry, delay warnings, when a message is finished.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msgtypes.h"
#include "xmalloc.h"
#include "queue/envelope.h"
#include "queue/qplan.h"
#include "queue/sched.h"

#define NOJIT	1000u	/* rnd % 2001 == 1000: no jitter */

static void
test_backoff(void **state)
{
	static const struct {
		unsigned	attempts, min, max, want;
	} cases[] = {
		{ 1, 300, 14400, 300 },
		{ 2, 300, 14400, 600 },
		{ 3, 300, 14400, 1200 },
		{ 4, 300, 14400, 2400 },
		{ 5, 300, 14400, 4800 },
		{ 6, 300, 14400, 9600 },
		{ 7, 300, 14400, 14400 },	/* capped */
		{ 8, 300, 14400, 14400 },
		{ 100, 300, 14400, 14400 },
		{ UINT_MAX, 300, 14400, 14400 },
		{ 0, 300, 14400, 300 },		/* treated as the first */
		{ 1, 0, 14400, 1 },		/* min 0: one second */
		{ 3, 0, 14400, 4 },
		{ 5, 600, 60, 600 },		/* max below min: min */
		{ 32, 1, UINT_MAX, 1u << 31 },
		{ 64, 1, UINT_MAX, UINT_MAX },	/* no overflow */
		{ 40, UINT_MAX, UINT_MAX, UINT_MAX },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (sched_delay(cases[i].attempts, cases[i].min, cases[i].max,
		    NOJIT) != cases[i].want)
			fail_msg("case %zu: got %u, want %u", i,
			    sched_delay(cases[i].attempts, cases[i].min,
			    cases[i].max, NOJIT), cases[i].want);
}

static void
test_jitter(void **state)
{
	uint32_t	r;
	unsigned	d;

	(void)state;
	assert_int_equal(sched_delay(1, 1000, 100000, 0), 900);
	assert_int_equal(sched_delay(1, 1000, 100000, 2000), 1100);
	assert_int_equal(sched_delay(1, 1000, 100000, 2001), 900);
	assert_int_equal(sched_delay(7, 1000, 10000, 2000), 11000);
	for (r = 0; r < 50000; r += 7) {
		d = sched_delay(2, 1000, 100000, r * 2654435761u);
		assert_true(d >= 1800 && d <= 2200);
	}
	/* never below one second */
	assert_int_equal(sched_delay(1, 1, 1, 0), 1);
	assert_int_equal(sched_delay(1, 0, 0, 0), 1);
}

static void
test_next_try(void **state)
{
	time_t	now = 1700000000, t;
	int	i;

	(void)state;
	for (i = 0; i < 200; i++) {
		t = sched_next_try(now, 3, 100, 1000);
		assert_true(t >= now + 360 && t <= now + 440);
	}
}

static void
test_expired(void **state)
{
	(void)state;
	assert_false(sched_expired(1000, 1000, 5));
	assert_false(sched_expired(1000, 1004, 5));
	assert_true(sched_expired(1000, 1005, 5));
	assert_true(sched_expired(1000, 99999, 5));
	assert_true(sched_expired(1000, 1000, 0));
	/* a clock set back: not expired */
	assert_false(sched_expired(1000, 999, 5));
}

#define NOW	((time_t)1700000000)

/* is_remote - every domain but local.test */
static bool
is_remote(const char *addr, void *arg)
{
	const char	*d = qplan_domain(addr);

	(void)arg;
	return d != NULL && strcasecmp(d, "local.test") != 0;
}

/* mkenv - an envelope of these recipients (all pending, due) */
static void
mkenv(struct envelope *env, const char *const *addrs, size_t n)
{
	size_t	i;

	memset(env, 0, sizeof(*env));
	(void)snprintf(env->id, sizeof(env->id), "abc");
	env->created = NOW - 100;
	env->from = xstrdup("s@local.test");
	for (i = 0; i < n; i++)
		envelope_add_rcpt(env, addrs[i], NULL);
}

static void
test_group(void **state)
{
	static const char *const a[] = {
		"a@x.com", "b@local.test", "c@X.COM", "d@y.org", "e@x.com",
		"f@x.com", "g@x.com", "nodomain", "h@y.org", "i@",
	};
	struct envelope	 env;
	size_t		 ri[16], n;
	time_t		 next = 0;

	(void)state;
	mkenv(&env, a, 10);
	env.rcpts[4].next_try = NOW + 50;	/* e: later */
	env.rcpts[5].job = 7;			/* f: in flight */
	env.rcpts[6].state = RCPT_DONE;		/* g: done */
	env.rcpts[8].next_try = NOW + 20;	/* h: later, earliest */
	/* one domain, case-insensitive, due ones only */
	assert_true(qplan_group(&env, NOW, is_remote, NULL, 16, ri, &n,
	    &next));
	assert_int_equal(n, 2);
	assert_int_equal(ri[0], 0);
	assert_int_equal(ri[1], 2);
	assert_int_equal(next, NOW + 20);
	/* a next already earlier is kept */
	next = NOW + 5;
	assert_true(qplan_group(&env, NOW, is_remote, NULL, 16, ri, &n,
	    &next));
	assert_int_equal(next, NOW + 5);
	/* at most max */
	assert_true(qplan_group(&env, NOW, is_remote, NULL, 1, ri, &n, NULL));
	assert_int_equal(n, 1);
	assert_int_equal(ri[0], 0);
	/* in flight: the next domain */
	env.rcpts[0].job = env.rcpts[2].job = 8;
	assert_true(qplan_group(&env, NOW, is_remote, NULL, 16, ri, &n, NULL));
	assert_int_equal(n, 1);
	assert_int_equal(ri[0], 3);
	env.rcpts[3].job = 9;
	next = 0;
	assert_false(qplan_group(&env, NOW, is_remote, NULL, 16, ri, &n,
	    &next));
	assert_int_equal(n, 0);
	assert_int_equal(next, NOW + 20);
	/* time passes: e and h are due, e's domain first */
	assert_true(qplan_group(&env, NOW + 50, is_remote, NULL, 16, ri, &n,
	    NULL));
	assert_int_equal(n, 1);
	assert_int_equal(ri[0], 4);
	envelope_free(&env);
}

/* one job: one domain and one envelope sender; a pipe target has no domain */
static void
test_group_sender(void **state)
{
	static const char *const a[] = {
		"a@x.com", "b@x.com", "c@x.com", "d@x.com", "|/bin/x a@x.com",
	};
	struct envelope	 env;
	size_t		 ri[16], n;

	(void)state;
	mkenv(&env, a, 5);
	env.rcpts[1].sender = xstrdup("SRS0=h=t=o.net=u@local.test");
	env.rcpts[3].sender = xstrdup("SRS0=h=t=o.net=u@local.test");
	assert_string_equal(qplan_sender(&env, &env.rcpts[0]), "s@local.test");
	assert_string_equal(qplan_sender(&env, &env.rcpts[1]),
	    "SRS0=h=t=o.net=u@local.test");
	assert_null(qplan_domain(a[4]));
	assert_true(qplan_group(&env, NOW, is_remote, NULL, 16, ri, &n, NULL));
	assert_int_equal(n, 2);
	assert_int_equal(ri[0], 0);
	assert_int_equal(ri[1], 2);
	env.rcpts[0].job = env.rcpts[2].job = 1;
	assert_true(qplan_group(&env, NOW, is_remote, NULL, 16, ri, &n, NULL));
	assert_int_equal(n, 2);
	assert_int_equal(ri[0], 1);
	assert_int_equal(ri[1], 3);
	env.rcpts[1].job = env.rcpts[3].job = 2;
	assert_false(qplan_group(&env, NOW, is_remote, NULL, 16, ri, &n, NULL));
	envelope_free(&env);
}

static void
test_apply(void **state)
{
	static const struct {
		uint32_t		 dr;
		const char		*reply;
		time_t			 created;	/* seconds before NOW */
		unsigned		 attempts;	/* before */
		enum qplan_outcome	 out;
		enum rcpt_state		 st;
		const char		*err;		/* prefix, or NULL */
	} cases[] = {
		{ DR_OK, "250 2.0.0 ok", 10, 0, QP_DONE, RCPT_DONE, NULL },
		{ DR_OK, "250 ok", 10, 3, QP_DONE, RCPT_DONE, NULL },
		{ DR_TEMP, "451 4.3.0 later", 10, 0, QP_DEFERRED,
		    RCPT_PENDING, "451 4.3.0 later" },
		{ DR_TEMP, "", 10, 2, QP_DEFERRED, RCPT_PENDING,
		    "4.0.0 delivery failed" },
		{ DR_PERM, "550 5.1.1 unknown", 10, 0, QP_FAILED, RCPT_FAILED,
		    "550 5.1.1 unknown" },
		{ DR_PERM, NULL, 10, 0, QP_FAILED, RCPT_FAILED,
		    "5.0.0 delivery failed" },
		/* lifetime 1000: just before, at, after */
		{ DR_TEMP, "451 x", 999, 0, QP_DEFERRED, RCPT_PENDING,
		    "451 x" },
		{ DR_TEMP, "451 x", 1000, 4, QP_EXPIRED, RCPT_FAILED,
		    QPLAN_EXPIRED " (last error: 451 x)" },
		{ DR_PERM, "554 no", 5000, 4, QP_FAILED, RCPT_FAILED,
		    "554 no" },
	};
	static const char *const a[] = { "a@x.com" };
	struct qplan_conf	 c = { 60, 3600, 1000, 0 };
	struct envelope		 env;
	struct env_rcpt		*r;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mkenv(&env, a, 1);
		r = &env.rcpts[0];
		env.created = NOW - cases[i].created;
		r->attempts = cases[i].attempts;
		r->job = 5;
		r->last_error = xstrdup("old");
		assert_int_equal(qplan_apply(&env, 0, cases[i].dr,
		    cases[i].reply, "mx [192.0.2.1]", NOW, &c), cases[i].out);
		assert_int_equal(r->state, cases[i].st);
		assert_int_equal(r->job, 0);
		assert_string_equal(r->remote, "mx [192.0.2.1]");
		if (cases[i].err == NULL)
			assert_null(r->last_error);
		else
			assert_string_equal(r->last_error, cases[i].err);
		if (cases[i].dr == DR_OK)
			assert_int_equal(r->attempts, cases[i].attempts);
		else
			assert_int_equal(r->attempts, cases[i].attempts + 1);
		if (cases[i].out == QP_DEFERRED) {
			/* sched.h: min(max, min * 2^(n-1)) +-10% */
			unsigned d = 60u << cases[i].attempts;
			assert_in_range(r->next_try, NOW + d * 9 / 10,
			    NOW + d * 11 / 10);
		}
		envelope_free(&env);
	}
	/* no remote: none kept */
	mkenv(&env, a, 1);
	(void)qplan_apply(&env, 0, DR_TEMP, "x", "", NOW, &c);
	assert_null(env.rcpts[0].remote);
	envelope_free(&env);
}

static void
test_expire(void **state)
{
	static const char *const a[] = {
		"a@x.com", "b@local.test", "c@x.com", "d@x.com", "e@x.com",
	};
	struct envelope	 env;

	(void)state;
	mkenv(&env, a, 5);
	env.rcpts[1].last_error = xstrdup("disk full");
	env.rcpts[2].job = 3;			/* in flight: its result */
	env.rcpts[3].state = RCPT_DONE;
	env.rcpts[4].state = RCPT_BOUNCED;
	/* created NOW - 100: lifetime 101 not reached, 100 reached */
	assert_int_equal(qplan_expire(&env, NOW, 101), 0);
	assert_int_equal(env.rcpts[0].state, RCPT_PENDING);
	assert_int_equal(qplan_expire(&env, NOW, 100), 2);
	assert_int_equal(env.rcpts[0].state, RCPT_FAILED);
	assert_string_equal(env.rcpts[0].last_error, QPLAN_EXPIRED);
	assert_int_equal(env.rcpts[1].state, RCPT_FAILED);
	assert_string_equal(env.rcpts[1].last_error,
	    QPLAN_EXPIRED " (last error: disk full)");
	assert_int_equal(env.rcpts[2].state, RCPT_PENDING);
	assert_int_equal(env.rcpts[3].state, RCPT_DONE);
	assert_int_equal(env.rcpts[4].state, RCPT_BOUNCED);
	assert_int_equal(qplan_expire(&env, NOW, 100), 0);
	envelope_free(&env);
}

static void
test_warn_due(void **state)
{
	static const char *const a[] = { "a@local.test", "b@x.com" };
	struct envelope	 env;

	(void)state;
	mkenv(&env, a, 2);			/* created NOW - 100 */
	assert_false(qplan_warn_due(&env, NOW, 0, is_remote, NULL));
	assert_false(qplan_warn_due(&env, NOW, 101, is_remote, NULL));
	assert_true(qplan_warn_due(&env, NOW, 100, is_remote, NULL));
	env.rcpts[1].job = 4;			/* in flight is still pending */
	assert_true(qplan_warn_due(&env, NOW, 1, is_remote, NULL));
	env.warned = NOW - 1;			/* once */
	assert_false(qplan_warn_due(&env, NOW, 1, is_remote, NULL));
	env.warned = 0;
	env.rcpts[1].state = RCPT_DONE;		/* only local left */
	assert_false(qplan_warn_due(&env, NOW, 1, is_remote, NULL));
	envelope_free(&env);
}

static void
test_finished(void **state)
{
	static const struct {
		enum rcpt_state	 s[3];
		bool		 finished;
	} cases[] = {
		{ { RCPT_DONE, RCPT_DONE, RCPT_DONE }, true },
		{ { RCPT_DONE, RCPT_BOUNCED, RCPT_BOUNCED }, true },
		{ { RCPT_DONE, RCPT_FAILED, RCPT_BOUNCED }, false },
		{ { RCPT_PENDING, RCPT_DONE, RCPT_DONE }, false },
		{ { RCPT_BOUNCED, RCPT_BOUNCED, RCPT_PENDING }, false },
	};
	static const char *const a[] = { "a@x.com", "b@x.com", "c@x.com" };
	struct envelope	 env;
	size_t		 i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mkenv(&env, a, 3);
		for (j = 0; j < 3; j++)
			env.rcpts[j].state = cases[i].s[j];
		assert_int_equal(qplan_finished(&env), cases[i].finished);
		envelope_free(&env);
	}
	mkenv(&env, a, 3);
	env.rcpts[1].job = 1;
	assert_int_equal(qplan_count(&env, RCPT_PENDING, false), 3);
	assert_int_equal(qplan_count(&env, RCPT_PENDING, true), 1);
	envelope_free(&env);
	assert_null(qplan_domain("nodomain"));
	assert_null(qplan_domain("a@"));
	assert_string_equal(qplan_domain("\"a@b\"@c.d"), "c.d");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_next_try),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_group_sender),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_warn_due),
		cmocka_unit_test(test_finished),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
