/*
 * test_srs.c - the SRS codec: SRS0 and SRS1 both ways, every refusal,
 * case and alphabet of the hash, the day stamp across its wrap-around and
 * at its age limit, secret rotation, length limits, the secrets file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "err.h"
#include "srs.h"

#define DAY	86400
#define NOW	((time_t)1796428800)	/* 2026-12-04 */

static void
mk(struct srs *s, const char *sec0, const char *sec1)
{
	memset(s, 0, sizeof(*s));
	s->maxage = SRS_MAXAGE;
	(void)snprintf(s->secret[s->n++], sizeof(s->secret[0]), "%s", sec0);
	if (sec1 != NULL)
		(void)snprintf(s->secret[s->n++], sizeof(s->secret[0]), "%s",
		    sec1);
}

static void
fwd(const struct srs *s, const char *sender, const char *dom, time_t now,
    char *out)
{
	struct err	e;

	if (srs_forward(s, sender, dom, now, out, LIM_PATH + 1, &e) != SRS_OK)
		fail_msg("forward %s: %s", sender, e.msg);
}

static int
rev(const struct srs *s, const char *addr, time_t now, char *out)
{
	struct err	e;

	return srs_reverse(s, addr, now, out, LIM_PATH + 1, &e);
}

static void
test_roundtrip(void **state)
{
	struct srs	s;
	char		a[LIM_PATH + 1], b[LIM_PATH + 1], c[LIM_PATH + 1];
	char		o[LIM_PATH + 1];

	(void)state;
	mk(&s, "a-secret-of-sixteen", NULL);
	fwd(&s, "Bob@Example.NET", "fwd.test", NOW, a);
	assert_int_equal(strncmp(a, "SRS0=", 5), 0);
	assert_non_null(strstr(a, "=Example.NET=Bob@fwd.test"));
	assert_int_equal(rev(&s, a, NOW, o), SRS_OK);
	assert_string_equal(o, "Bob@Example.NET");
	/* SRS0 of another forwarder: SRS1 keeping the first hop */
	fwd(&s, a, "fwd2.test", NOW, b);
	assert_int_equal(strncmp(b, "SRS1=", 5), 0);
	assert_non_null(strstr(b, "=fwd.test==")); /* host, then "=" rest */
	assert_int_equal(rev(&s, b, NOW, o), SRS_OK);
	assert_string_equal(o, a);
	/* SRS1 again: the same first hop and rest, a new outer hash */
	fwd(&s, b, "fwd3.test", NOW, c);
	assert_int_equal(strncmp(c, "SRS1=", 5), 0);
	assert_string_equal(strchr(c + 5, '='), strchr(b + 5, '=') == NULL ?
	    "" : strstr(c, "=fwd.test=="));
	assert_int_equal(rev(&s, c, NOW, o), SRS_OK);
	assert_string_equal(o, a);
	/* a sender of the forwarding domain itself is kept */
	fwd(&s, "me@fwd.test", "FWD.test", NOW, o);
	assert_string_equal(o, "me@fwd.test");
	/* a separator other than '=' after the tag is read */
	a[4] = '+';
	assert_int_equal(rev(&s, a, NOW, o), SRS_OK);
	a[4] = '-';
	assert_int_equal(rev(&s, a, NOW, o), SRS_OK);
	assert_true(srs_is_srs("srs0+x"));
	assert_true(srs_is_srs("SRS1-x"));
	assert_false(srs_is_srs("SRS2=x"));
	assert_false(srs_is_srs("SRS0x"));
	assert_false(srs_is_srs("SRS"));
	assert_false(srs_is_srs("bob"));
}

static void
test_hash(void **state)
{
	struct srs	s, other;
	char		a[LIM_PATH + 1], o[LIM_PATH + 1], h[8];
	size_t		i;
	char		*p;

	(void)state;
	mk(&s, "a-secret-of-sixteen", NULL);
	/* find a sender whose hash holds a letter and + or / */
	for (i = 0; i < 2000; i++) {
		char	sender[64];

		(void)snprintf(sender, sizeof(sender), "u%zu@example.net", i);
		fwd(&s, sender, "fwd.test", NOW, a);
		memcpy(h, a + 5, 4);
		h[4] = '\0';
		if (strpbrk(h, "+/") != NULL &&
		    strpbrk(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL)
			break;
	}
	assert_true(i < 2000);
	/* case smashed: still ours */
	for (p = a; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	assert_int_equal(rev(&s, a, NOW, o), SRS_OK);
	/* the URL-safe alphabet */
	for (p = a + 5; p < a + 9; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	assert_int_equal(rev(&s, a, NOW, o), SRS_OK);
	/* an altered field, an altered hash, another secret */
	fwd(&s, "bob@example.net", "fwd.test", NOW, a);
	p = strstr(a, "=bob@");
	p[1] = 'B';		/* case of a field does not matter */
	assert_int_equal(rev(&s, a, NOW, o), SRS_OK);
	p[1] = 'x';
	assert_int_equal(rev(&s, a, NOW, o), SRS_BADHASH);
	fwd(&s, "bob@example.net", "fwd.test", NOW, a);
	a[5] = a[5] == '0' ? '1' : '0';
	assert_int_equal(rev(&s, a, NOW, o), SRS_BADHASH);
	fwd(&s, "bob@example.net", "fwd.test", NOW, a);
	mk(&other, "another-secret-sixteen", NULL);
	assert_int_equal(rev(&other, a, NOW, o), SRS_BADHASH);
	/* rotation: the old secret still verifies, the first signs */
	mk(&other, "another-secret-sixteen", "a-secret-of-sixteen");
	assert_int_equal(rev(&other, a, NOW, o), SRS_OK);
	fwd(&other, "bob@example.net", "fwd.test", NOW, o);
	assert_int_equal(rev(&s, o, NOW, a), SRS_BADHASH);
	/* a hash shorter than 4 */
	assert_int_equal(rev(&s, "SRS0=abc=JX=example.net=bob@fwd.test", NOW,
	    o), SRS_BADHASH);
}

static void
test_stamp(void **state)
{
	struct srs	s;
	char		a[LIM_PATH + 1], o[LIM_PATH + 1];
	time_t		t;
	int		k;

	(void)state;
	mk(&s, "a-secret-of-sixteen", NULL);
	fwd(&s, "bob@example.net", "fwd.test", NOW, a);
	assert_int_equal(rev(&s, a, NOW + 21 * DAY, o), SRS_OK);
	assert_int_equal(rev(&s, a, NOW + 22 * DAY, o), SRS_EXPIRED);
	assert_int_equal(rev(&s, a, NOW - DAY, o), SRS_EXPIRED);
	/* across the 1024-day wrap-around of the stamp */
	t = ((NOW / DAY) / 1024 + 1) * 1024 * DAY - 3 * DAY;
	fwd(&s, "bob@example.net", "fwd.test", t, a);
	for (k = 0; k <= 21; k++)
		assert_int_equal(rev(&s, a, t + k * DAY, o), SRS_OK);
	assert_int_equal(rev(&s, a, t + 22 * DAY, o), SRS_EXPIRED);
	/* a stamp outside base32 */
	assert_int_equal(rev(&s, "SRS0=abcd=J1=example.net=bob@fwd.test", NOW,
	    o), SRS_BADHASH);
}

static void
test_malformed(void **state)
{
	static const char	*bad[] = {
		"SRS0=abcd@fwd.test", "SRS0=abcd=JX@fwd.test",
		"SRS0=abcd=JX=example.net@fwd.test",
		"SRS0=abcd=J=example.net=bob@fwd.test",
		"SRS0=abcd=JX==bob@fwd.test", "SRS0=abcd=JX=example.net=@x",
		"SRS1=abcd@fwd.test", "SRS1=abcd=fwd.test@x",
		"SRS1=abcd==x@y", "SRS0=@", "SRS0=a=b=c=d@",
	};
	struct srs	s;
	struct err	e;
	char		o[LIM_PATH + 1], big[600];
	size_t		i;
	int		r;

	(void)state;
	mk(&s, "a-secret-of-sixteen", NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = rev(&s, bad[i], NOW, o);
		if (r != SRS_MALFORMED && r != SRS_NOT)
			fail_msg("%s: %d", bad[i], r);
	}
	assert_int_equal(rev(&s, "bob@fwd.test", NOW, o), SRS_NOT);
	assert_int_equal(rev(&s, "SRS0", NOW, o), SRS_NOT);
	/* forward refuses what it cannot carry */
	assert_int_equal(srs_forward(&s, "", "fwd.test", NOW, o, sizeof(o),
	    &e), SRS_MALFORMED);
	assert_int_equal(srs_forward(&s, "nodomain", "fwd.test", NOW, o,
	    sizeof(o), &e), SRS_MALFORMED);
	assert_int_equal(srs_forward(&s, "\"a b\"@x.test", "fwd.test", NOW, o,
	    sizeof(o), &e), SRS_MALFORMED);
	/* 64 octets of local part at most: a long sender does not fit */
	assert_int_equal(srs_forward(&s, "a-rather-long-local-part-name@"
	    "some.long.domain.example.test", "fwd.test", NOW, o, sizeof(o),
	    &e), SRS_TOOLONG);
	assert_non_null(strstr(e.msg, "64"));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[10] = '@';
	assert_int_equal(srs_forward(&s, big, "fwd.test", NOW, o, sizeof(o),
	    &e), SRS_TOOLONG);
	assert_true(rev(&s, big, NOW, o) < 0);
	/* no secret: nothing is forwarded */
	s.n = 0;
	assert_int_equal(srs_forward(&s, "a@b.test", "fwd.test", NOW, o,
	    sizeof(o), &e), SRS_MALFORMED);
}

static void
test_secrets(void **state)
{
	static const struct {
		const char	*text;
		const char	*msg;
	} bad[] = {
		{ "", "f: no secret" },
		{ "# only\n\n", "f: no secret" },
		{ "short\n", "f:1: a secret has 16 to 256" },
		{ "\nwith a blank inside!!\n", "f:2: a secret is printable" },
		{ "tab\tinside-the-secret\n", "f:1: a secret is printable" },
		{ "1111111111111111\n2222222222222222\n3333333333333333\n"
		  "4444444444444444\n5555555555555555\n6666666666666666\n"
		  "7777777777777777\n8888888888888888\n9999999999999999\n",
		  "f:9: more than 8 secrets" },
	};
	struct srs	s;
	struct err	e;
	char		big[400];
	size_t		i;

	(void)state;
	mk(&s, "the-old-one-kept-here", NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		assert_int_equal(srs_secrets_parse(&s, bad[i].text,
		    strlen(bad[i].text), "f", &e), -1);
		if (strncmp(e.msg, bad[i].msg, strlen(bad[i].msg)) != 0)
			fail_msg("case %zu: %s", i, e.msg);
		assert_int_equal(s.n, 1);
		assert_string_equal(s.secret[0], "the-old-one-kept-here");
	}
	memset(big, 'k', sizeof(big));
	big[257] = '\n';
	assert_int_equal(srs_secrets_parse(&s, big, 258, "f", &e), -1);
	assert_int_equal(srs_secrets_parse(&s, big + 1, 257, "f", &e), 0);
	assert_int_equal(strlen(s.secret[0]), 256);
	{
		const char *t = "# rotation\r\n  new-secret-signs-now  \r\n"
		    "old-secret-verifies-still\n";

		assert_int_equal(srs_secrets_parse(&s, t, strlen(t), "f", &e),
		    0);
	}
	assert_int_equal(s.n, 2);
	assert_string_equal(s.secret[0], "new-secret-signs-now");
	assert_string_equal(s.secret[1], "old-secret-verifies-still");
	assert_int_equal(s.maxage, SRS_MAXAGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_stamp),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_secrets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
