/*
 * test_hash.c - the spool's checksum (src/lib/hash.c): fixed values (the
 * spool on disk depends on them), the same result whatever pieces the
 * bytes come in, and every single-octet change and truncation seen.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "hash.h"

static void
test_values(void **state)
{
	static const struct {
		const char	*in;
		uint64_t	 want;
	} cases[] = {
		{ "", 0x0d10703113ef6f2dULL },
		{ "a", 0x0fa799a44981f7cbULL },
		{ "abcdefgh", 0x397dd048cfd5b4cbULL },
		{ "abcdefghi", 0xcb7d579b47704caaULL },
		{ "postern", 0x21b4cbf95c180a24ULL },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_true(hash64(cases[i].in, strlen(cases[i].in)) ==
		    cases[i].want);
}

static void
test_pieces(void **state)
{
	unsigned char	buf[300];
	struct hash64	s;
	uint64_t	whole;
	size_t		i, off, n;

	(void)state;
	srand(7);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rand();
	whole = hash64(buf, sizeof(buf));
	for (i = 0; i < 200; i++) {
		hash64_init(&s);
		for (off = 0; off < sizeof(buf); off += n) {
			n = (size_t)rand() % 20;	/* empty pieces too */
			if (n > sizeof(buf) - off)
				n = sizeof(buf) - off;
			hash64_add(&s, buf + off, n);
		}
		assert_true(hash64_end(&s) == whole);
	}
}

static void
test_changes_seen(void **state)
{
	unsigned char	buf[100];
	uint64_t	whole;
	size_t		i, bit;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	whole = hash64(buf, sizeof(buf));
	for (i = 0; i < sizeof(buf); i++)
		for (bit = 0; bit < 8; bit++) {
			buf[i] ^= (unsigned char)(1u << bit);
			assert_true(hash64(buf, sizeof(buf)) != whole);
			buf[i] ^= (unsigned char)(1u << bit);
		}
	/* zeros where bytes were, and every shorter length */
	memset(buf + 40, 0, 8);
	assert_true(hash64(buf, sizeof(buf)) != whole);
	memset(buf + 40, 'x', 8);
	for (i = 0; i < sizeof(buf); i++)
		assert_true(hash64(buf, i) != whole);
	/* trailing zeros are not nothing */
	memset(buf, 0, sizeof(buf));
	assert_true(hash64(buf, 3) != hash64(buf, 4));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_changes_seen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
