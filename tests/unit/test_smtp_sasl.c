/*
 * test_smtp_sasl.c - AUTH PLAIN and LOGIN decoders: good responses,
 * authzid rules, empty and over-long fields, NULs, bad base64, the reply
 * lines, the output buffers at their edges, and the "*" cancel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "b64.h"
#include "err.h"
#include "smtp/smtp_sasl.h"

#define DECODE	"501 5.5.2 Cannot decode response"
#define INVALID	"535 5.7.8 Authentication credentials invalid"

/* enc - base64 of n raw bytes into a static buffer */
static const char *
enc(const void *raw, size_t n)
{
	static char	out[20000];

	assert_int_equal(b64_encode(raw, n, out, sizeof(out)), 0);
	return out;
}

#define RAW(x)	x, sizeof(x) - 1

struct plain_case {
	const char	*raw;
	size_t		 rawlen;
	const char	*reply;		/* NULL: accepted */
	const char	*user;
	const char	*pass;
};

static const struct plain_case plains[] = {
	{ RAW("\0joe@example.com\0secret"), NULL, "joe@example.com", "secret" },
	{ RAW("joe\0joe\0pw"), NULL, "joe", "pw" },
	{ RAW("\0u\0p"), NULL, "u", "p" },
	{ RAW("\0u\0p w \xc3\xa9"), NULL, "u", "p w \xc3\xa9" },
	{ RAW("bob\0joe\0pw"), INVALID, NULL, NULL },
	{ RAW("Joe\0joe\0pw"), INVALID, NULL, NULL },
	{ RAW("joex\0joe\0pw"), INVALID, NULL, NULL },
	{ RAW("\0\0pw"), DECODE, NULL, NULL },
	{ RAW("\0joe\0"), DECODE, NULL, NULL },
	{ RAW("\0\0"), DECODE, NULL, NULL },
	{ RAW("joe\0pw"), DECODE, NULL, NULL },
	{ RAW("joepw"), DECODE, NULL, NULL },
	{ RAW(""), DECODE, NULL, NULL },
	{ RAW("\0joe\0pw\0"), DECODE, NULL, NULL },
	{ RAW("\0joe\0pw\0x"), DECODE, NULL, NULL },
};

static void
test_plain(void **state)
{
	char		user[SMTP_SASL_USER_MAX + 1];
	char		pass[SMTP_SASL_PASS_MAX + 1];
	const char	*b;
	struct err	e;
	size_t		i;
	int		rc;

	(void)state;
	for (i = 0; i < sizeof(plains) / sizeof(plains[0]); i++) {
		const struct plain_case *c = &plains[i];

		b = enc(c->raw, c->rawlen);
		memset(user, 'U', sizeof(user));
		memset(pass, 'P', sizeof(pass));
		memset(&e, 0, sizeof(e));
		rc = smtp_sasl_plain(b, strlen(b), user, sizeof(user), pass,
		    sizeof(pass), &e);
		if (c->reply == NULL) {
			if (rc != 0)
				fail_msg("plain %zu: %s", i, e.msg);
			assert_string_equal(user, c->user);
			assert_string_equal(pass, c->pass);
			continue;
		}
		if (rc != -1)
			fail_msg("plain %zu accepted", i);
		assert_string_equal(e.msg, c->reply);
		assert_false(e.temp);
		/* nothing written on failure */
		assert_int_equal(user[0], 'U');
		assert_int_equal(pass[0], 'P');
	}
}

static void
test_plain_bad_base64(void **state)
{
	static const char *bad[] = {
		"=", "AGpvZQBwdw", "AGpvZQBwdw=", "AGpv ZQBw", "AGpvZQBwdw==\r",
		"*", "AGpvZQBwdx==",
	};
	char		user[64], pass[64];
	struct err	e;
	size_t		i;

	(void)state;
	/* sanity: the well-formed version of the same credentials */
	assert_int_equal(smtp_sasl_plain("AGpvZQBwdw==", 12, user,
	    sizeof(user), pass, sizeof(pass), &e), 0);
	assert_string_equal(user, "joe");
	assert_string_equal(pass, "pw");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (smtp_sasl_plain(bad[i], strlen(bad[i]), user, sizeof(user),
		    pass, sizeof(pass), &e) != -1)
			fail_msg("bad %zu accepted", i);
		assert_string_equal(e.msg, DECODE);
	}
	/* e may be NULL */
	assert_int_equal(smtp_sasl_plain("=", 1, user, sizeof(user), pass,
	    sizeof(pass), NULL), -1);
}

/* user and password must fit their buffers with the NUL */
static void
test_plain_limits(void **state)
{
	char		raw[SMTP_SASL_USER_MAX + SMTP_SASL_PASS_MAX + 8];
	char		user[SMTP_SASL_USER_MAX + 1];
	char		pass[SMTP_SASL_PASS_MAX + 1];
	const char	*b;
	struct err	e;
	size_t		ul, pl;

	(void)state;
	for (ul = SMTP_SASL_USER_MAX - 1; ul <= SMTP_SASL_USER_MAX + 1; ul++)
		for (pl = SMTP_SASL_PASS_MAX - 1; pl <= SMTP_SASL_PASS_MAX + 1;
		    pl++) {
			raw[0] = '\0';
			memset(raw + 1, 'u', ul);
			raw[1 + ul] = '\0';
			memset(raw + 2 + ul, 'p', pl);
			b = enc(raw, 2 + ul + pl);
			if (ul <= SMTP_SASL_USER_MAX &&
			    pl <= SMTP_SASL_PASS_MAX) {
				assert_int_equal(smtp_sasl_plain(b, strlen(b),
				    user, sizeof(user), pass, sizeof(pass), &e),
				    0);
				assert_int_equal(strlen(user), ul);
				assert_int_equal(strlen(pass), pl);
			} else {
				assert_int_equal(smtp_sasl_plain(b, strlen(b),
				    user, sizeof(user), pass, sizeof(pass), &e),
				    -1);
				assert_string_equal(e.msg, DECODE);
			}
		}
	/* base64 longer than an AUTH line is refused outright */
	{
		static char	long64[LIM_AUTH_LINE + 8];

		memset(long64, 'A', sizeof(long64));
		assert_int_equal(smtp_sasl_plain(long64, LIM_AUTH_LINE + 2,
		    user, sizeof(user), pass, sizeof(pass), &e), -1);
		assert_string_equal(e.msg, DECODE);
	}
}

static void
test_field(void **state)
{
	char		out[16];
	struct err	e;
	const char	*b;

	(void)state;
	/* the usual 334 prompts decode as expected */
	b = "am9lQGV4YW1wbGUuY29t";
	assert_int_equal(smtp_sasl_field(b, strlen(b), out, sizeof(out), &e),
	    0);
	assert_string_equal(out, "joe@example.com");
	b = enc("x", 1);
	assert_int_equal(smtp_sasl_field(b, strlen(b), out, sizeof(out), &e),
	    0);
	assert_string_equal(out, "x");
	/* exactly outsz - 1 fits, outsz does not */
	b = enc("0123456789abcde", 15);
	assert_int_equal(smtp_sasl_field(b, strlen(b), out, sizeof(out), &e),
	    0);
	b = enc("0123456789abcdef", 16);
	memset(out, 'Z', sizeof(out));
	assert_int_equal(smtp_sasl_field(b, strlen(b), out, sizeof(out), &e),
	    -1);
	assert_string_equal(e.msg, DECODE);
	assert_int_equal(out[0], 'Z');
	/* NUL anywhere is refused */
	b = enc("a\0b", 3);
	assert_int_equal(smtp_sasl_field(b, strlen(b), out, sizeof(out), &e),
	    -1);
	assert_string_equal(e.msg, DECODE);
	b = enc("\0", 1);
	assert_int_equal(smtp_sasl_field(b, strlen(b), out, sizeof(out), &e),
	    -1);
	/* empty, "=", bad base64 */
	assert_int_equal(smtp_sasl_field("", 0, out, sizeof(out), &e), -1);
	assert_string_equal(e.msg, DECODE);
	assert_int_equal(smtp_sasl_field("=", 1, out, sizeof(out), &e), -1);
	assert_int_equal(smtp_sasl_field("am9l", 3, out, sizeof(out), &e), -1);
	assert_int_equal(smtp_sasl_field("am9l!", 5, out, sizeof(out), &e), -1);
	assert_int_equal(smtp_sasl_field("*", 1, out, sizeof(out), NULL), -1);
}

static void
test_cancel(void **state)
{
	(void)state;
	assert_int_equal(smtp_sasl_is_cancel("*", 1), 1);
	assert_int_equal(smtp_sasl_is_cancel("*x", 1), 1);
	assert_int_equal(smtp_sasl_is_cancel("*x", 2), 0);
	assert_int_equal(smtp_sasl_is_cancel("* ", 2), 0);
	assert_int_equal(smtp_sasl_is_cancel(" *", 2), 0);
	assert_int_equal(smtp_sasl_is_cancel("", 0), 0);
	assert_int_equal(smtp_sasl_is_cancel("=", 1), 0);
	assert_int_equal(smtp_sasl_is_cancel("**", 2), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_plain_bad_base64),
		cmocka_unit_test(test_plain_limits),
		cmocka_unit_test(test_field),
		cmocka_unit_test(test_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
