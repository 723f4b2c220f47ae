/*
 * test_buf.c - struct buf: the hard cap, drain and lazy compaction,
 * reserve/commit, printf (small and large), release and reset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"

static void
test_cap(void **state)
{
	struct buf	b;
	char		x[100];

	(void)state;
	memset(x, 'x', sizeof(x));
	buf_init(&b, 10);
	assert_int_equal(buf_avail(&b), 0);
	assert_int_equal(buf_add(&b, x, 10), 0);
	assert_int_equal(buf_avail(&b), 10);
	assert_int_equal(buf_add(&b, x, 1), -1);	/* full */
	assert_int_equal(buf_avail(&b), 10);		/* unchanged */
	assert_int_equal(buf_add(&b, x, 0), 0);		/* nothing is fine */
	buf_drain(&b, 3);
	assert_int_equal(buf_avail(&b), 7);
	assert_int_equal(buf_add(&b, x, 4), -1);	/* cap: readable */
	assert_int_equal(buf_add(&b, x, 3), 0);
	assert_int_equal(buf_avail(&b), 10);
	buf_release(&b);
	assert_int_equal(b.cap, 10);			/* kept */
	assert_int_equal(buf_avail(&b), 0);
	assert_int_equal(buf_add(&b, x, 11), -1);	/* over cap at once */
	assert_int_equal(buf_add(&b, x, 10), 0);
	buf_release(&b);
	buf_release(&b);				/* twice is fine */
	buf_release(NULL);				/* NULL is a no-op */

	buf_init(&b, 0);
	assert_int_equal(buf_add(&b, x, 1), -1);
	assert_int_equal(buf_add(&b, x, 0), 0);
	buf_release(&b);
}

static void
test_drain(void **state)
{
	struct buf	b;
	size_t		i;
	char		c;

	(void)state;
	buf_init(&b, 1000);
	assert_int_equal(buf_addstr(&b, "hello world"), 0);
	buf_drain(&b, 6);
	assert_int_equal(buf_avail(&b), 5);
	assert_memory_equal(buf_ptr(&b), "world", 5);
	buf_drain(&b, 100);				/* past the end */
	assert_int_equal(buf_avail(&b), 0);
	assert_int_equal(b.off, 0);
	/* a long stream through a small window keeps order and stays small */
	for (i = 0; i < 100000; i++) {
		c = (char)('a' + i % 26);
		assert_int_equal(buf_add(&b, &c, 1), 0);
		if (i % 7 == 6) {
			assert_int_equal(buf_avail(&b), 7);
			assert_int_equal(buf_ptr(&b)[0],
			    (char)('a' + (i - 6) % 26));
			assert_int_equal(buf_ptr(&b)[6], c);
			buf_drain(&b, 7);
		}
	}
	assert_true(b.size <= 1024);
	buf_reset(&b);
	assert_int_equal(buf_avail(&b), 0);
	buf_release(&b);
}

static void
test_reserve_commit(void **state)
{
	struct buf	 b;
	char		*w;

	(void)state;
	buf_init(&b, 16);
	/* zero bytes on an empty buffer is a real pointer, not "full" */
	assert_non_null(buf_reserve(&b, 0));
	w = buf_reserve(&b, 16);
	assert_non_null(w);
	memcpy(w, "0123456789abcdef", 16);
	buf_commit(&b, 10);			/* commit less than reserved */
	assert_int_equal(buf_avail(&b), 10);
	assert_memory_equal(buf_ptr(&b), "0123456789", 10);
	assert_null(buf_reserve(&b, 7));	/* 10 + 7 > 16 */
	w = buf_reserve(&b, 6);
	assert_non_null(w);
	memcpy(w, "ABCDEF", 6);
	buf_commit(&b, 6);
	assert_int_equal(buf_avail(&b), 16);
	assert_memory_equal(buf_ptr(&b), "0123456789ABCDEF", 16);
	assert_null(buf_reserve(&b, 1));
	assert_non_null(buf_reserve(&b, 0));
	/* after a drain the room comes back, data moved to the front */
	buf_drain(&b, 12);
	w = buf_reserve(&b, 12);
	assert_non_null(w);
	memcpy(w, "ghijklmnopqr", 12);
	buf_commit(&b, 12);
	assert_int_equal(buf_avail(&b), 16);
	assert_memory_equal(buf_ptr(&b), "CDEFghijklmnopqr", 16);
	assert_null(buf_reserve(&b, SIZE_MAX));
	buf_release(&b);

	/* growth past the first allocation */
	buf_init(&b, 1 << 20);
	w = buf_reserve(&b, 100000);
	assert_non_null(w);
	memset(w, 'z', 100000);
	buf_commit(&b, 100000);
	assert_true(b.size >= 100000);
	assert_int_equal(buf_ptr(&b)[99999], 'z');
	buf_release(&b);
}

static void
test_printf(void **state)
{
	struct buf	b;
	char		big[2000];

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(buf_printf(&b, "%d %s", 42, "x"), 0);
	assert_int_equal(buf_avail(&b), 4);
	assert_memory_equal(buf_ptr(&b), "42 x", 4);
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(buf_avail(&b), 4);
	/* longer than the internal 512-byte staging buffer */
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(buf_printf(&b, "<%s>", big), 0);
	assert_int_equal(buf_avail(&b), 4 + 2 + sizeof(big) - 1);
	assert_int_equal(buf_ptr(&b)[4], '<');
	assert_int_equal(buf_ptr(&b)[buf_avail(&b) - 1], '>');
	/* over the cap: refused whole, buffer unchanged */
	assert_int_equal(buf_printf(&b, "%s%s", big, big), -1);
	assert_int_equal(buf_avail(&b), 4 + 2 + sizeof(big) - 1);
	buf_release(&b);

	buf_init(&b, 5);
	assert_int_equal(buf_printf(&b, "%s", "12345"), 0);
	assert_int_equal(buf_printf(&b, "%s", "6"), -1);
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%s", "123456"), -1);
	assert_int_equal(buf_avail(&b), 0);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_reserve_commit),
		cmocka_unit_test(test_printf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
