/*
 * test_sched.c - the retry schedule: exponential backoff with its cap,
 * the +-10% jitter bounds, degenerate settings, and expiry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_next_try),
		cmocka_unit_test(test_expired),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
