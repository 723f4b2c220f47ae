/*
 * test_b64.c - base64: RFC 4648 10 vectors, strict decoding (padding,
 * alphabet, unused bits), output size edges, and a random round trip
 * checked against OpenSSL's encoder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"

static const struct {
	const char	*plain;
	const char	*enc;
} vectors[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void
test_vectors(void **state)
{
	char		enc[64];
	unsigned char	dec[64];
	size_t		i, n;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const char *p = vectors[i].plain, *x = vectors[i].enc;

		assert_int_equal(b64_encode(p, strlen(p), enc, sizeof(enc)), 0);
		assert_string_equal(enc, x);
		n = 999;
		assert_int_equal(b64_decode(x, strlen(x), dec, sizeof(dec), &n),
		    0);
		assert_int_equal(n, strlen(p));
		assert_memory_equal(dec, p, n);
	}
}

static const char *bad[] = {
	"Zg", "Zg=", "Zm9", "Zm9vY", "Z===", "====", "Zg==Zg==", "Zm=v",
	"=Zm9", "Zm9v\n", " Zm9v", "Zm9v ", "Zm 9v", "Zm9-", "Zm9_", "Zm9\x80",
	"Zh==",		/* unused bits set: "f" is Zg== */
	"Zm9=",		/* "fo" is Zm8= */
	"Zm8\0", "\0\0\0\0",
};

static void
test_strict(void **state)
{
	unsigned char	dec[64];
	size_t		i, n, len;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = strlen(bad[i]);
		if (strcmp(bad[i], "Zm8") == 0 || len == 0)
			len = 4;	/* the ones with embedded NULs */
		n = 777;
		if (b64_decode(bad[i], len, dec, sizeof(dec), &n) != -1)
			fail_msg("bad %zu accepted", i);
		assert_int_equal(n, 777);
	}
}

static void
test_sizes(void **state)
{
	char		enc[16];
	unsigned char	dec[8];
	size_t		n;

	(void)state;
	/* encode: 3 bytes need 4 chars + NUL */
	assert_int_equal(b64_encode("abc", 3, enc, 5), 0);
	assert_string_equal(enc, "YWJj");
	assert_int_equal(b64_encode("abc", 3, enc, 4), -1);
	assert_int_equal(b64_encode("abcd", 4, enc, 9), 0);
	assert_int_equal(b64_encode("abcd", 4, enc, 8), -1);
	assert_int_equal(b64_encode("", 0, enc, 1), 0);
	assert_string_equal(enc, "");
	assert_int_equal(b64_encode("", 0, enc, 0), -1);
	/* decode: exactly the decoded length is enough */
	assert_int_equal(b64_decode("YWJj", 4, dec, 3, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(b64_decode("YWJj", 4, dec, 2, &n), -1);
	assert_int_equal(b64_decode("YWI=", 4, dec, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(b64_decode("YWI=", 4, dec, 1, &n), -1);
	assert_int_equal(b64_decode("YQ==", 4, dec, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(dec, "a", 1);
	assert_int_equal(b64_decode("YQ==", 4, dec, 0, &n), -1);
	assert_int_equal(b64_decode("", 0, dec, 0, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_random_roundtrip(void **state)
{
	unsigned char	in[300], dec[300];
	char		enc[512], ref[512];
	size_t		len, n;
	int		iter, rl;

	(void)state;
	srand(12345);
	for (iter = 0; iter < 2000; iter++) {
		len = (size_t)rand() % sizeof(in);
		for (n = 0; n < len; n++)
			in[n] = (unsigned char)rand();
		assert_int_equal(b64_encode(in, len, enc, sizeof(enc)), 0);
		rl = EVP_EncodeBlock((unsigned char *)ref, in, (int)len);
		assert_int_equal((size_t)rl, strlen(enc));
		assert_string_equal(enc, ref);
		assert_int_equal(b64_decode(enc, strlen(enc), dec, sizeof(dec),
		    &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, in, len);
	}
}

/* every 4-char group decodes iff re-encoding gives it back (canonical) */
static void
test_canonical(void **state)
{
	const char	*alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/=";
	char		grp[4], back[8];
	unsigned char	dec[3];
	size_t		a, b, c, d, n, ok = 0;

	(void)state;
	for (a = 0; a < 65; a++)
	for (b = 0; b < 65; b++)
	for (c = 0; c < 65; c += 3)
	for (d = 0; d < 65; d += 2) {
		grp[0] = alpha[a];
		grp[1] = alpha[b];
		grp[2] = alpha[c];
		grp[3] = alpha[d];
		if (b64_decode(grp, 4, dec, sizeof(dec), &n) == 0) {
			assert_int_equal(b64_encode(dec, n, back, sizeof(back)),
			    0);
			assert_memory_equal(back, grp, 4);
			ok++;
		}
	}
	assert_true(ok > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_random_roundtrip),
		cmocka_unit_test(test_canonical),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
