/*
 * test_passwd.c - scrypt password hashes: hash/verify round trips, known
 * vectors (computed with Python's hashlib.scrypt, an independent
 * implementation), the strict PHC parser and every bound it enforces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "auth/passwd.h"

/* unpadded base64 of n bytes of value v */
static void
b64_fill(unsigned char v, size_t n, char *out, size_t outsz)
{
	unsigned char	 bytes[128];
	size_t		 len;

	assert_true(n <= sizeof(bytes));
	memset(bytes, v, n);
	assert_int_equal(b64_encode(bytes, n, out, outsz), 0);
	len = strlen(out);
	while (len > 0 && out[len - 1] == '=')
		out[--len] = '\0';
}

/* make_phc - "$scrypt$ln=L,r=R,p=P$<saltlen bytes>$<keylen bytes>" */
static void
make_phc(char *out, size_t outsz, unsigned ln, unsigned r, unsigned p,
    size_t saltlen, size_t keylen)
{
	char	salt[200], key[200];

	b64_fill(0x5a, saltlen, salt, sizeof(salt));
	b64_fill(0xa5, keylen, key, sizeof(key));
	assert_true((size_t)snprintf(out, outsz, "$scrypt$ln=%u,r=%u,p=%u$%s$%s",
	    ln, r, p, salt, key) < outsz);
}

static void
test_hash_verify(void **state)
{
	char		 h[PASSWD_HASH_MAX];
	struct err	 e;

	(void)state;
	assert_int_equal(passwd_hash("s3cret pass", h, sizeof(h), &e), 0);
	/* prefix, 22 chars of salt, '$', 43 chars of key */
	assert_int_equal(strncmp(h, "$scrypt$ln=15,r=8,p=1$", 22), 0);
	assert_int_equal(strlen(h), 22 + 22 + 1 + 43);
	assert_int_equal(h[22 + 22], '$');
	assert_null(strchr(h + 22, '='));
	assert_int_equal(passwd_verify("s3cret pass", h, &e), PASSWD_OK);
	assert_int_equal(passwd_verify("s3cret pas", h, &e), PASSWD_MISMATCH);
	assert_int_equal(passwd_verify("s3cret pass ", h, &e),
	    PASSWD_MISMATCH);
	assert_int_equal(passwd_verify("S3cret pass", h, &e),
	    PASSWD_MISMATCH);
	assert_int_equal(passwd_verify("", h, &e), PASSWD_MISMATCH);
}

static void
test_hash_differs(void **state)
{
	char		 a[PASSWD_HASH_MAX], b[PASSWD_HASH_MAX];
	struct err	 e;

	(void)state;
	assert_int_equal(passwd_hash("same", a, sizeof(a), &e), 0);
	assert_int_equal(passwd_hash("same", b, sizeof(b), &e), 0);
	assert_string_not_equal(a, b);
	/* the salts differ, not just the keys */
	assert_memory_not_equal(a + 22, b + 22, 22);
	assert_int_equal(passwd_verify("same", a, &e), PASSWD_OK);
	assert_int_equal(passwd_verify("same", b, &e), PASSWD_OK);
}

static void
test_hash_edge_passwords(void **state)
{
	char		 h[PASSWD_HASH_MAX], longpw[4097];
	struct err	 e;

	(void)state;
	assert_int_equal(passwd_hash("", h, sizeof(h), &e), 0);
	assert_int_equal(passwd_verify("", h, &e), PASSWD_OK);
	assert_int_equal(passwd_verify("x", h, &e), PASSWD_MISMATCH);
	memset(longpw, 'q', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	assert_int_equal(passwd_hash(longpw, h, sizeof(h), &e), 0);
	assert_int_equal(passwd_verify(longpw, h, &e), PASSWD_OK);
	longpw[4095] = 'r';
	assert_int_equal(passwd_verify(longpw, h, &e), PASSWD_MISMATCH);
}

static void
test_hash_no_room(void **state)
{
	char		 h[PASSWD_HASH_MAX];
	struct err	 e;

	(void)state;
	/* exactly 88 characters and a NUL are needed */
	assert_int_equal(passwd_hash("pw", h, 88, &e), -1);
	assert_int_equal(h[0], '\0');
	assert_int_equal(passwd_hash("pw", h, 89, &e), 0);
	assert_int_equal(strlen(h), 88);
}

/* vectors from hashlib.scrypt(pw, salt=, n=2**ln, r=, p=, dklen=) */
static const struct {
	const char	*pw;
	const char	*phc;
} vectors[] = {
	{ "correct horse", "$scrypt$ln=10,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E" },
	{ "p\xc3\xa4ssw\xc3\xb6rd", "$scrypt$ln=11,r=8,p=2$c2FsdHNhbHQ$"
	    "22hS44NX2m48/aCpfUcR6Q" },
	{ "", "$scrypt$ln=10,r=2,p=1$"
	    "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM$aWd8p4GNvY7cO1RIvNBf"
	    "MHIn1m/QTc9qVdL6mcyD6bxMZ/B0xekleGxUR9F0gHxd" },
};

static void
test_vectors(void **state)
{
	struct err	e;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		assert_int_equal(passwd_verify(vectors[i].pw, vectors[i].phc,
		    &e), PASSWD_OK);
		assert_int_equal(passwd_verify("wrong", vectors[i].phc, &e),
		    PASSWD_MISMATCH);
	}
}

/* malformed hash strings: all PASSWD_ERROR */
static const char *const malformed[] = {
	"",
	"x",
	"$scrypt$",
	"$scrypt$ln=10,r=1,p=1$",
	"$scrypt$ln=10,r=1,p=1$AAECAwQFBgcICQoLDA0ODw",
	"$scrypt$ln=10,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$",
	"$scrypt$ln=10,r=1,p=1$$NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	/* other schemes and spellings */
	"$2b$10$abcdefghijklmnopqrstuv",
	"$SCRYPT$ln=10,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	"scrypt$ln=10,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	" $scrypt$ln=10,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	/* parameters out of order, missing, repeated, badly written */
	"$scrypt$r=1,ln=10,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	"$scrypt$ln=10,r=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	"$scrypt$ln=10,r=1,p=1,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	"$scrypt$ln=010,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	"$scrypt$ln=+10,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	"$scrypt$ln=10,r=1,p=$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	"$scrypt$ln=10 ,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	"$scrypt$ln=10,r=1,p=1,$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	"$scrypt$ln=4294967306,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	/* base64: padded, bad characters, url alphabet, non-canonical */
	"$scrypt$ln=10,r=1,p=1$AAECAwQFBgcICQoLDA0ODw==$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	"$scrypt$ln=10,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E=",
	"$scrypt$ln=10,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM_aNI-U_UmNfBi061C5WB0E",
	"$scrypt$ln=10,r=1,p=1$AAECAwQFBgcICQoLDA0ODx$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	"$scrypt$ln=10,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0F",
	"$scrypt$ln=10,r=1,p=1$AAECAwQF BgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
	"$scrypt$ln=10,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E\n",
	"$scrypt$ln=10,r=1,p=1$AAECAwQFBgcICQoLDA0ODw$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E$",
	/* length 4k+1 is never base64 */
	"$scrypt$ln=10,r=1,p=1$AAECAwQFBgcICQoLD$"
	    "NpEifZX4sYHP03adS1hmM/aNI+U/UmNfBi061C5WB0E",
};

static void
test_malformed(void **state)
{
	struct passwd_phc	ph;
	struct err		e;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (passwd_parse_phc(malformed[i], &ph, &e) != -1)
			fail_msg("parsed: \"%s\"", malformed[i]);
		assert_true(e.msg[0] != '\0');
		assert_int_equal(passwd_verify("correct horse", malformed[i],
		    &e), PASSWD_ERROR);
	}
}

static void
test_too_long(void **state)
{
	char			 s[PASSWD_HASH_MAX + 10];
	struct passwd_phc	 ph;
	struct err		 e;

	(void)state;
	/* longest accepted: two-digit parameters, 32-byte salt, 48-byte key */
	make_phc(s, sizeof(s), 16, 32, 16, PASSWD_SALT_MAX, PASSWD_KEY_MAX);
	assert_true(strlen(s) < PASSWD_HASH_MAX);
	assert_int_equal(passwd_parse_phc(s, &ph, &e), 0);
	/* a string of PASSWD_HASH_MAX characters or more is refused */
	memset(s, 'A', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	memcpy(s, "$scrypt$ln=10,r=1,p=1$", 22);
	s[60] = '$';
	assert_int_equal(passwd_parse_phc(s, &ph, &e), -1);
}

/* the bounds: each row is one string and whether it parses */
static const struct {
	unsigned	 ln, r, p;
	size_t		 salt, key;
	int		 ok;
} bounds[] = {
	{ 10, 1, 1, 16, 32, 1 },		/* smallest cost */
	{ 9, 1, 1, 16, 32, 0 },			/* ln below 10 */
	{ 1, 8, 1, 16, 32, 0 },
	{ 15, 8, 1, 16, 32, 1 },		/* the default */
	{ 15, 1, 1, 16, 32, 1 },		/* r=1: ln < 16 */
	{ 16, 1, 1, 16, 32, 0 },		/* r=1, ln=16: N >= 2^(16r) */
	{ 16, 32, 1, 16, 32, 1 },		/* 128*32*2^16 = 256 MiB */
	{ 17, 32, 1, 16, 32, 0 },		/* 512 MiB */
	{ 20, 2, 1, 16, 32, 1 },		/* 256 MiB */
	{ 20, 3, 1, 16, 32, 0 },		/* 384 MiB */
	{ 20, 8, 1, 16, 32, 0 },		/* 1 GiB */
	{ 20, 32, 16, 16, 32, 0 },		/* 4 GiB */
	{ 21, 2, 1, 16, 32, 0 },		/* ln above 20 */
	{ 99, 8, 1, 16, 32, 0 },
	{ 10, 0, 1, 16, 32, 0 },		/* r below 1 */
	{ 10, 32, 1, 16, 32, 1 },		/* r at 32 */
	{ 10, 33, 1, 16, 32, 0 },		/* r above 32 */
	{ 10, 1, 0, 16, 32, 0 },		/* p below 1 */
	{ 10, 1, 16, 16, 32, 1 },		/* p at 16 */
	{ 10, 1, 17, 16, 32, 0 },		/* p above 16 */
	{ 10, 1, 1, PASSWD_SALT_MIN, 32, 1 },
	{ 10, 1, 1, PASSWD_SALT_MIN - 1, 32, 0 },
	{ 10, 1, 1, PASSWD_SALT_MAX, 32, 1 },
	{ 10, 1, 1, PASSWD_SALT_MAX + 1, 32, 0 },
	{ 10, 1, 1, 16, PASSWD_KEY_MIN, 1 },
	{ 10, 1, 1, 16, PASSWD_KEY_MIN - 1, 0 },
	{ 10, 1, 1, 16, PASSWD_KEY_MAX, 1 },
	{ 10, 1, 1, 16, PASSWD_KEY_MAX + 1, 0 },
};

static void
test_bounds(void **state)
{
	char			 s[400];
	struct passwd_phc	 ph;
	struct err		 e;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		make_phc(s, sizeof(s), bounds[i].ln, bounds[i].r, bounds[i].p,
		    bounds[i].salt, bounds[i].key);
		memset(&ph, 0, sizeof(ph));
		if ((passwd_parse_phc(s, &ph, &e) == 0) != bounds[i].ok)
			fail_msg("row %zu: \"%s\" should %s", i, s,
			    bounds[i].ok ? "parse" : "be refused");
		if (!bounds[i].ok) {
			/* refused before any hashing */
			assert_int_equal(passwd_verify("pw", s, &e),
			    PASSWD_ERROR);
			continue;
		}
		assert_int_equal(ph.ln, bounds[i].ln);
		assert_int_equal(ph.r, bounds[i].r);
		assert_int_equal(ph.p, bounds[i].p);
		assert_int_equal(ph.saltlen, bounds[i].salt);
		assert_int_equal(ph.hashlen, bounds[i].key);
		assert_int_equal(ph.salt[0], 0x5a);
		assert_int_equal(ph.hash[ph.hashlen - 1], 0xa5);
	}
}

static void
test_verify_cheap_bounds(void **state)
{
	char		s[400];
	struct err	e;

	(void)state;
	/* parses, hashes (cheaply), and of course does not match */
	make_phc(s, sizeof(s), 10, 1, 1, 8, 16);
	assert_int_equal(passwd_verify("pw", s, &e), PASSWD_MISMATCH);
	make_phc(s, sizeof(s), 10, 1, 16, 32, 48);
	assert_int_equal(passwd_verify("pw", s, &e), PASSWD_MISMATCH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify),
		cmocka_unit_test(test_hash_differs),
		cmocka_unit_test(test_hash_edge_passwords),
		cmocka_unit_test(test_hash_no_room),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_verify_cheap_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
