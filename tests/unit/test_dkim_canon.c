/*
 * test_dkim_canon.c - RFC 6376 3.4.5's example, the empty body of each
 * canonicalisation (their well-known SHA-256 hashes), chunking that must
 * not matter, the l= cut, and the edges: no final CRLF, lone CR and LF,
 * whitespace-only lines, header fields without a colon or room.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"
#include "mauth/dkim_canon.h"

struct sink {
	char	buf[8192];
	size_t	n;
	size_t	calls;
};

static void
sink_emit(void *arg, const void *p, size_t n)
{
	struct sink	*s = arg;

	assert_true(s->n + n <= sizeof(s->buf));
	memcpy(s->buf + s->n, p, n);
	s->n += n;
	s->calls++;
}

/* canon - the body canonicalised in chunks of step bytes (0: at once) */
static void
canon(enum dkim_canon c, const char *in, size_t len, size_t step,
    uint64_t limit, struct sink *s, uint64_t *total)
{
	struct dkim_body	b;
	size_t			i, n;

	memset(s, 0, sizeof(*s));
	dkim_body_init(&b, c, limit, sink_emit, s);
	if (step == 0)
		step = len > 0 ? len : 1;
	for (i = 0; i < len; i += n) {
		n = len - i < step ? len - i : step;
		dkim_body_update(&b, in + i, n);
	}
	*total = dkim_body_final(&b);
	s->buf[s->n] = '\0';
}

struct body_case {
	enum dkim_canon	 c;
	const char	*in;
	const char	*want;
};

static const struct body_case bodies[] = {
	/* RFC 6376 3.4.5 */
	{ DKIM_CANON_RELAXED, " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n" },
	{ DKIM_CANON_SIMPLE, " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n" },
	/* empty bodies: simple is one CRLF, relaxed nothing */
	{ DKIM_CANON_SIMPLE, "", "\r\n" },
	{ DKIM_CANON_RELAXED, "", "" },
	{ DKIM_CANON_SIMPLE, "\r\n\r\n", "\r\n" },
	{ DKIM_CANON_RELAXED, "\r\n \t\r\n", "" },
	/* a last line without CRLF gets one */
	{ DKIM_CANON_SIMPLE, "abc", "abc\r\n" },
	{ DKIM_CANON_RELAXED, "abc  ", "abc\r\n" },
	/* empty lines inside stay; leading ones too */
	{ DKIM_CANON_SIMPLE, "\r\na\r\n\r\nb\r\n\r\n", "\r\na\r\n\r\nb\r\n" },
	{ DKIM_CANON_RELAXED, "\r\na\r\n  \r\nb\r\n", "\r\na\r\n\r\nb\r\n" },
	/* simple keeps whitespace-only lines as content */
	{ DKIM_CANON_SIMPLE, "a\r\n \r\n", "a\r\n \r\n" },
	/* relaxed: a leading run becomes one SP */
	{ DKIM_CANON_RELAXED, "\t\t x\r\n", " x\r\n" },
	/* lone CR and LF are bytes of the line */
	{ DKIM_CANON_SIMPLE, "a\rb\nc\r\n", "a\rb\nc\r\n" },
	{ DKIM_CANON_RELAXED, "a \r b\r\n", "a \r b\r\n" },
	{ DKIM_CANON_SIMPLE, "a\r", "a\r\r\n" },
	{ DKIM_CANON_RELAXED, "\r", "\r\r\n" },
	/* CRLF split across chunks is still a line end (step 1 checks) */
	{ DKIM_CANON_RELAXED, "x \r\n\r\n", "x\r\n" },
};

static void
test_bodies(void **state)
{
	struct sink	s;
	uint64_t	total;
	size_t		i, step, steps[] = { 0, 1, 2, 3, 7 };

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		for (step = 0; step < sizeof(steps) / sizeof(steps[0]);
		    step++) {
			canon(bodies[i].c, bodies[i].in, strlen(bodies[i].in),
			    steps[step], UINT64_MAX, &s, &total);
			if (strcmp(s.buf, bodies[i].want) != 0 ||
			    total != strlen(bodies[i].want)) {
				fprintf(stderr, "case %zu step %zu\n", i,
				    steps[step]);
				assert_string_equal(s.buf, bodies[i].want);
			}
		}
}

/* sha_b64 - base64 of SHA-256 over s */
static void
sha_b64(const char *s, size_t n, char *out, size_t outsz)
{
	unsigned char	md[32];
	unsigned int	mdlen;

	assert_int_equal(EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL), 1);
	assert_int_equal(b64_encode(md, mdlen, out, outsz), 0);
}

/* the empty body's bh= values every DKIM implementation knows */
static void
test_empty_hashes(void **state)
{
	struct sink	s;
	uint64_t	total;
	char		h[64];

	(void)state;
	canon(DKIM_CANON_SIMPLE, "", 0, 0, UINT64_MAX, &s, &total);
	sha_b64(s.buf, s.n, h, sizeof(h));
	assert_string_equal(h, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	canon(DKIM_CANON_RELAXED, "", 0, 0, UINT64_MAX, &s, &total);
	sha_b64(s.buf, s.n, h, sizeof(h));
	assert_string_equal(h, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

/* l=: emit sees only the first limit canonical bytes; the total is all */
static void
test_limit(void **state)
{
	struct sink	s;
	uint64_t	total;
	size_t		step;

	(void)state;
	for (step = 0; step < 4; step++) {
		canon(DKIM_CANON_RELAXED, "ab  cd\r\nef\r\n", 12, step, 4, &s,
		    &total);
		assert_int_equal(s.n, 4);
		assert_memory_equal(s.buf, "ab c", 4);
		assert_int_equal(total, 11);
		canon(DKIM_CANON_SIMPLE, "x\r\n", 3, step, 0, &s, &total);
		assert_int_equal(s.n, 0);
		assert_int_equal(total, 3);
	}
}

/* a body larger than the buffer arrives whole, in DKIM_BODY_BUF chunks */
static void
test_large(void **state)
{
	static char	in[6000];
	struct sink	s;
	uint64_t	total;

	(void)state;
	memset(in, 'a', sizeof(in));
	memcpy(in + sizeof(in) - 2, "\r\n", 2);
	canon(DKIM_CANON_SIMPLE, in, sizeof(in), 1000, UINT64_MAX, &s, &total);
	assert_int_equal(s.n, sizeof(in));
	assert_int_equal(total, sizeof(in));
	assert_memory_equal(s.buf, in, sizeof(in));
	assert_int_equal(s.calls, 2);
}

struct header_case {
	enum dkim_canon	 c;
	const char	*in;
	const char	*want;		/* NULL: refused */
};

static const struct header_case headers[] = {
	/* RFC 6376 3.4.5 */
	{ DKIM_CANON_RELAXED, "A: X\r\n", "a:X\r\n" },
	{ DKIM_CANON_RELAXED, "B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n" },
	{ DKIM_CANON_SIMPLE, "B : Y\t\r\n\tZ  \r\n", "B : Y\t\r\n\tZ  \r\n" },
	/* the final CRLF is optional on input, always there on output */
	{ DKIM_CANON_SIMPLE, "Subject: x", "Subject: x\r\n" },
	{ DKIM_CANON_RELAXED, "SUBJECT:x", "subject:x\r\n" },
	/* empty values, whitespace only */
	{ DKIM_CANON_RELAXED, "X-Empty:\r\n", "x-empty:\r\n" },
	{ DKIM_CANON_RELAXED, "X-Empty: \t \r\n \r\n", "x-empty:\r\n" },
	/* colons in the value stay */
	{ DKIM_CANON_RELAXED, "Date : Mon, 1 Jan 2026 10:00:00 +0000",
	    "date:Mon, 1 Jan 2026 10:00:00 +0000\r\n" },
	/* a lone CR is content; a CRLF of a fold is not */
	{ DKIM_CANON_RELAXED, "X: a\rb\r\n c\r\n", "x:a\rb c\r\n" },
	/* no colon */
	{ DKIM_CANON_RELAXED, "not a header\r\n", NULL },
	{ DKIM_CANON_SIMPLE, "", NULL },
};

static void
test_headers(void **state)
{
	char	out[256];
	size_t	i, n;

	(void)state;
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		n = dkim_header_canon(headers[i].c, headers[i].in,
		    strlen(headers[i].in), out, sizeof(out));
		if (headers[i].want == NULL) {
			assert_int_equal(n, 0);
			continue;
		}
		assert_int_equal(n, strlen(headers[i].want));
		assert_string_equal(out, headers[i].want);
	}
}

/* out must hold len + 3 bytes, and nothing is written past outsz */
static void
test_header_room(void **state)
{
	const char	*f = "A: b";
	char		 out[8];

	(void)state;
	assert_int_equal(dkim_header_canon(DKIM_CANON_SIMPLE, f, 4, out, 6), 0);
	assert_int_equal(dkim_header_canon(DKIM_CANON_SIMPLE, f, 4, out, 7), 6);
	assert_string_equal(out, "A: b\r\n");
	assert_int_equal(dkim_header_canon(DKIM_CANON_RELAXED, f, 4, out, 7),
	    5);
	assert_string_equal(out, "a:b\r\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_empty_hashes),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_header_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
