/*
 * test_envelope.c - the envelope text format: dump/parse round trips,
 * malformed inputs, truncation at every offset, and the limits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "hash.h"
#include "xmalloc.h"
#include "queue/envelope.h"

#define LINE_MAX_ENV	16384	/* ENV_LINE_MAX of envelope.c */

#define GOOD_HEAD							\
    "id 0123456789abcdef0123\n"						\
    "created 1700000000\n"						\
    "size 1234\n"							\
    "from alice@example.org\n"						\
    "auth alice@example.org\n"						\
    "client helo=mx.example.org addr=192.0.2.1\n"				\
    "flags 5\n"
#define GOOD_RCPTS							\
    "rcpt pending 0 0 bob@example.com bob@example.com\n"			\
    "rcpt done 1 1700000100 carol@example.net Carol@Example.NET\n"	\
    "rcpt failed 3 0 dave@example.com dave@example.com\n"		\
    "error mailbox full\n"

static const char good[] =
    "postern-envelope 2\n" GOOD_HEAD "body 0123456789abcdef\n" GOOD_RCPTS
    "check eb7e17fc35a1898f\n"	/* hash64 of every line above */
    "end\n";

/* the same envelope as version 1 wrote it: no body hash, no check */
static const char good_v1[] =
    "postern-envelope 1\n" GOOD_HEAD GOOD_RCPTS "end\n";

/* parse_str - parse a NUL-terminated text */
static int
parse_str(struct envelope *env, const char *s)
{
	struct err	e;

	return envelope_parse(env, s, strlen(s), &e);
}

/* dump_env - dump env into a fresh buf (caller releases) */
static int
dump_env(const struct envelope *env, struct buf *b)
{
	buf_init(b, 1 << 24);
	return envelope_dump(env, b);
}

static void
assert_env_equal(const struct envelope *a, const struct envelope *b)
{
	size_t	i;

	assert_string_equal(a->id, b->id);
	assert_int_equal(a->created, b->created);
	assert_int_equal(a->size, b->size);
	assert_string_equal(a->from, b->from);
	if (a->auth_user == NULL)
		assert_null(b->auth_user);
	else
		assert_string_equal(a->auth_user, b->auth_user);
	assert_string_equal(a->client, b->client);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->nrcpts, b->nrcpts);
	for (i = 0; i < a->nrcpts; i++) {
		assert_string_equal(a->rcpts[i].addr, b->rcpts[i].addr);
		assert_string_equal(a->rcpts[i].orig, b->rcpts[i].orig);
		assert_int_equal(a->rcpts[i].state, b->rcpts[i].state);
		assert_int_equal(a->rcpts[i].attempts, b->rcpts[i].attempts);
		assert_int_equal(a->rcpts[i].next_try, b->rcpts[i].next_try);
		if (a->rcpts[i].last_error == NULL)
			assert_null(b->rcpts[i].last_error);
		else
			assert_string_equal(a->rcpts[i].last_error,
			    b->rcpts[i].last_error);
	}
}

static void
test_parse_good(void **state)
{
	struct envelope	env;
	struct buf	b;

	(void)state;
	assert_int_equal(parse_str(&env, good), 0);
	assert_string_equal(env.id, "0123456789abcdef0123");
	assert_int_equal(env.created, 1700000000);
	assert_int_equal(env.size, 1234);
	assert_string_equal(env.from, "alice@example.org");
	assert_string_equal(env.auth_user, "alice@example.org");
	assert_string_equal(env.client, "helo=mx.example.org addr=192.0.2.1");
	assert_int_equal(env.flags, 5);
	assert_int_equal(env.nrcpts, 3);
	assert_int_equal(env.rcpts[0].state, RCPT_PENDING);
	assert_null(env.rcpts[0].last_error);
	assert_int_equal(env.rcpts[1].state, RCPT_DONE);
	assert_int_equal(env.rcpts[1].attempts, 1);
	assert_int_equal(env.rcpts[1].next_try, 1700000100);
	assert_string_equal(env.rcpts[1].orig, "Carol@Example.NET");
	assert_int_equal(env.rcpts[2].state, RCPT_FAILED);
	assert_string_equal(env.rcpts[2].last_error, "mailbox full");
	assert_true(env.has_body_hash);
	assert_true(env.body_hash == 0x0123456789abcdefULL);
	/* the canonical text dumps back byte for byte */
	assert_int_equal(dump_env(&env, &b), 0);
	assert_int_equal(buf_avail(&b), strlen(good));
	assert_memory_equal(buf_ptr(&b), good, strlen(good));
	buf_release(&b);
	envelope_free(&env);

	/* version 1 is still read (no body hash), and written as 2 */
	assert_int_equal(parse_str(&env, good_v1), 0);
	assert_false(env.has_body_hash);
	assert_int_equal(env.nrcpts, 3);
	assert_int_equal(dump_env(&env, &b), 0);
	assert_memory_equal(buf_ptr(&b), "postern-envelope 2\n", 19);
	assert_null(memmem(buf_ptr(&b), buf_avail(&b), "\nbody ", 6));
	assert_non_null(memmem(buf_ptr(&b), buf_avail(&b), "\ncheck ", 7));
	buf_release(&b);
	envelope_free(&env);
}

#define V2_HEAD	"postern-envelope 2\nid a\ncreated 0\nsize 0\nfrom\nclient\n" \
		"flags 0\nrcpt pending 0 0 a@b a@b\n"

/* v2 - head, its check line ("X": upper-case digits), then tail; static */
static const char *
v2(const char *head, const char *how, const char *tail)
{
	static char	out[1024];

	(void)snprintf(out, sizeof(out), strcmp(how, "X") == 0 ?
	    "%scheck %016llX\n%s" : "%scheck %016llx\n%s", head,
	    (unsigned long long)hash64(head, strlen(head)), tail);
	return out;
}

/*
 * test_torn_writes - what a crash can leave of a version 2 envelope
 * written over an older file never passes: any byte changed, blocks of
 * another envelope spliced in, the check line missing or out of place
 */
static void
test_torn_writes(void **state)
{
	struct envelope	 env, other;
	struct buf	 b;
	char		 text[sizeof(good)], *ck;
	size_t		 i, n = strlen(good), cut;

	(void)state;
	/* every single byte changed before the check line */
	ck = strstr(good, "check ");
	for (i = 0; i < (size_t)(ck - good); i++) {
		memcpy(text, good, sizeof(good));
		text[i] = text[i] == '\n' ? '\n' : (text[i] == 'x' ? 'y' : 'x');
		if (text[i] == good[i])
			continue;
		assert_int_equal(envelope_parse(&env, text, n, NULL), -1);
	}
	/* zeros where a block did not reach the disk */
	memcpy(text, good, sizeof(good));
	memset(text + 100, 0, 50);
	assert_int_equal(envelope_parse(&env, text, n, NULL), -1);
	/* the head of this one, the tail of another (same length) */
	assert_int_equal(parse_str(&other, good), 0);
	other.rcpts[0].attempts = 7;
	assert_int_equal(dump_env(&other, &b), 0);
	assert_int_equal(buf_avail(&b), n);
	for (cut = 1; cut < n; cut += 7) {
		memcpy(text, good, cut);
		memcpy(text + cut, buf_ptr(&b) + cut, n - cut);
		if (memcmp(text, good, n) == 0 ||
		    memcmp(text, buf_ptr(&b), n) == 0)
			continue;
		assert_int_equal(envelope_parse(&env, text, n, NULL), -1);
	}
	buf_release(&b);
	envelope_free(&other);
	/* no check; check not last; check twice; body field in version 1 */
	assert_int_equal(parse_str(&env, "postern-envelope 2\nid a\n"
	    "created 0\nsize 0\nfrom\nclient\nflags 0\n"
	    "rcpt pending 0 0 a@b a@b\nend\n"), -1);
	memcpy(text, good, sizeof(good));
	ck = strstr(text, "check ");
	assert_int_equal(envelope_parse(&env, text, (size_t)(ck - text) +
	    strlen("check eb7e17fc35a1898f\n"), NULL), -1);	/* no end */
	/* computed here: right, then misplaced, doubled, upper-case */
	assert_int_equal(parse_str(&env, v2(V2_HEAD, "", "end\n")), 0);
	envelope_free(&env);
	assert_int_equal(parse_str(&env, v2(V2_HEAD, "", "flags 1\nend\n")),
	    -1);
	assert_int_equal(parse_str(&env, v2(V2_HEAD, "", "check 0\nend\n")),
	    -1);
	assert_int_equal(parse_str(&env, v2(V2_HEAD, "X", "end\n")), -1);
	/* the body field: 16 lower-case hex digits, once */
	assert_int_equal(parse_str(&env, v2(V2_HEAD "body 00000000000000ff\n",
	    "", "end\n")), -1);		/* after a rcpt */
	assert_int_equal(parse_str(&env, v2("postern-envelope 2\nid a\n"
	    "created 0\nsize 0\nfrom\nclient\nflags 0\nbody "
	    "00000000000000ff\nrcpt pending 0 0 a@b a@b\n", "", "end\n")), 0);
	assert_true(env.has_body_hash && env.body_hash == 0xff);
	envelope_free(&env);
	for (i = 0; i < 3; i++) {
		static const char *const bad[] = { "body 00ff\n",
		    "body 00000000000000FF\n",
		    "body 00000000000000ff\nbody 00000000000000ff\n" };
		char	head[512];

		(void)snprintf(head, sizeof(head), "postern-envelope 2\nid a\n"
		    "created 0\nsize 0\nfrom\nclient\nflags 0\n%s"
		    "rcpt pending 0 0 a@b a@b\n", bad[i]);
		assert_int_equal(parse_str(&env, v2(head, "", "end\n")), -1);
	}
	assert_int_equal(parse_str(&env, "postern-envelope 1\nid a\n"
	    "created 0\nsize 0\nfrom\nclient\nflags 0\nbody "
	    "0123456789abcdef\nrcpt pending 0 0 a@b a@b\nend\n"), -1);
}

static void
test_roundtrip_built(void **state)
{
	struct envelope	env, back;
	struct buf	b, b2;
	struct err	e;

	(void)state;
	memset(&env, 0, sizeof(env));
	(void)snprintf(env.id, sizeof(env.id), "%s", "abcdef");
	env.created = 42;
	env.size = UINT64_MAX;
	env.from = xstrdup("");			/* null sender */
	env.client = xstrdup("");
	env.flags = UINT32_MAX;
	envelope_add_rcpt(&env, "\"john doe\"@example.com", NULL);
	envelope_add_rcpt(&env, "100%@example.com", "x y%z@EXAMPLE.com");
	envelope_add_rcpt(&env, "j\xc3\xa9r\xc3\xb4me@example.fr", NULL);
	env.rcpts[1].state = RCPT_FAILED;
	env.rcpts[1].attempts = UINT32_MAX;
	env.rcpts[1].next_try = (time_t)1 << 62;
	env.rcpts[1].last_error = xstrdup("");
	assert_string_equal(env.rcpts[0].orig, env.rcpts[0].addr);

	assert_int_equal(dump_env(&env, &b), 0);
	assert_non_null(memmem(buf_ptr(&b), buf_avail(&b),
	    "\"john%20doe\"@example.com", 24));
	assert_non_null(memmem(buf_ptr(&b), buf_avail(&b),
	    "100%25@example.com x%20y%25z@EXAMPLE.com", 40));
	assert_int_equal(envelope_parse(&back, buf_ptr(&b), buf_avail(&b),
	    &e), 0);
	assert_env_equal(&env, &back);
	assert_null(back.auth_user);
	assert_int_equal(dump_env(&back, &b2), 0);
	assert_int_equal(buf_avail(&b), buf_avail(&b2));
	assert_memory_equal(buf_ptr(&b), buf_ptr(&b2), buf_avail(&b));
	buf_release(&b);
	buf_release(&b2);
	envelope_free(&back);
	envelope_free(&env);
	/* envelope_free leaves a zeroed struct; freeing again is harmless */
	envelope_free(&env);
	envelope_free(NULL);
}

static void
test_dump_sanitizes(void **state)
{
	struct envelope	env, back;
	struct buf	b;
	struct err	e;
	char		long_client[3000];

	(void)state;
	memset(&env, 0, sizeof(env));
	(void)snprintf(env.id, sizeof(env.id), "%s", "1");
	env.from = xstrdup("a\r\nrcpt pending 0 0 evil@x evil@x\r\n@b");
	memset(long_client, 'c', sizeof(long_client) - 1);
	long_client[sizeof(long_client) - 1] = '\0';
	env.client = xstrdup(long_client);
	env.auth_user = xstrdup("u\tser");
	envelope_add_rcpt(&env, "r@x", NULL);
	env.rcpts[0].last_error = xstrdup("line1\nline2\x7f");
	assert_int_equal(dump_env(&env, &b), 0);
	assert_int_equal(envelope_parse(&back, buf_ptr(&b), buf_avail(&b),
	    &e), 0);
	assert_string_equal(back.from,
	    "a??rcpt pending 0 0 evil@x evil@x??@b");
	assert_int_equal(back.nrcpts, 1);
	assert_string_equal(back.auth_user, "u?ser");
	assert_string_equal(back.rcpts[0].last_error, "line1?line2?");
	assert_int_equal(strlen(back.client), 1024);
	buf_release(&b);
	envelope_free(&back);
	envelope_free(&env);
}

static void
test_dump_refuses(void **state)
{
	struct envelope	env;
	struct buf	b;
	size_t		i;

	(void)state;
	for (i = 0; i < 6; i++) {
		memset(&env, 0, sizeof(env));
		(void)snprintf(env.id, sizeof(env.id), "%s", "abc");
		env.from = xstrdup("a@b");
		env.client = xstrdup("c");
		envelope_add_rcpt(&env, "r@x", NULL);
		switch (i) {
		case 0:	/* empty address */
			env.rcpts[0].addr[0] = '\0';
			break;
		case 1:	/* control character in an address */
			env.rcpts[0].addr[1] = '\n';
			break;
		case 2:	/* bad id */
			(void)snprintf(env.id, sizeof(env.id), "%s", "ab-c");
			break;
		case 3:	/* negative time */
			env.created = -1;
			break;
		case 4:	/* bad state */
			env.rcpts[0].state = (enum rcpt_state)7;
			break;
		case 5:	/* address line over the limit */
			free(env.rcpts[0].addr);
			env.rcpts[0].addr = xmalloc(LINE_MAX_ENV);
			memset(env.rcpts[0].addr, 'a', LINE_MAX_ENV - 1);
			env.rcpts[0].addr[LINE_MAX_ENV - 1] = '\0';
			break;
		}
		/* the buffer is left exactly as it was */
		buf_init(&b, 1 << 24);
		assert_int_equal(buf_addstr(&b, "keep"), 0);
		assert_int_equal(envelope_dump(&env, &b), -1);
		assert_int_equal(buf_avail(&b), 4);
		assert_memory_equal(buf_ptr(&b), "keep", 4);
		buf_release(&b);
		envelope_free(&env);
	}
	/* a buffer too small for the text */
	memset(&env, 0, sizeof(env));
	(void)snprintf(env.id, sizeof(env.id), "%s", "abc");
	env.from = xstrdup("a@b");
	env.client = xstrdup("c");
	envelope_add_rcpt(&env, "r@x", NULL);
	buf_init(&b, 40);
	assert_int_equal(envelope_dump(&env, &b), -1);
	assert_int_equal(buf_avail(&b), 0);
	buf_release(&b);
	envelope_free(&env);
}

/* replace_line - good_v1 with line `from` (a prefix) replaced by `to` (""
 * drops it); the result is static.  Version 1 has no check line, so each
 * case tests the field it changes (the fields are the same in both). */
static const char *
replace_line(const char *from, const char *to)
{
	static char	 out[sizeof(good_v1) + 512];
	const char	*p = strstr(good_v1, from), *eol;
	size_t		 n;

	assert_non_null(p);
	eol = strchr(p, '\n') + 1;
	n = (size_t)(p - good_v1);
	memcpy(out, good_v1, n);
	(void)snprintf(out + n, sizeof(out) - n, "%s%s", to, eol);
	return out;
}

static void
test_malformed(void **state)
{
	static const struct {
		const char	*line;	/* start of the line in good */
		const char	*with;	/* replacement, with its LF, or "" */
	} cases[] = {
		{ "postern-envelope", "postern-envelope 2\n" },	/* no check */
		{ "postern-envelope", "postern-envelope 3\n" },
		{ "postern-envelope", "postern-envelope 1 \n" },
		{ "flags", "flags 5\nbody 0123456789abcdef\n" },	/* v2 only */
		{ "postern-envelope", "" },
		{ "id ", "" },
		{ "id ", "id \n" },
		{ "id ", "id abc-def\n" },
		{ "id ", "id 0123456789abcdef0123456789abcdef\n" },
		{ "id ", "id 1\nid 2\n" },
		{ "created", "" },
		{ "created", "created\n" },
		{ "created", "created \n" },
		{ "created", "created -1\n" },
		{ "created", "created 01\n" },
		{ "created", "created 1x\n" },
		{ "created", "created  1\n" },
		{ "created", "created 4611686018427387905\n" },
		{ "size", "" },
		{ "size", "size 18446744073709551616\n" },
		{ "size", "size +5\n" },
		{ "from", "" },
		{ "auth", "auth \n" },
		{ "auth", "auth\n" },
		{ "auth", "auth a\nauth b\n" },
		{ "client", "" },
		{ "flags", "" },
		{ "flags", "flags 4294967296\n" },
		{ "flags", "flags 0x5\n" },
		{ "flags", "flags 5\nwhat ever\n" },
		{ "flags", "flags 5\nFROM x\n" },
		{ "rcpt pending", "rcpt pending 0 0 a@b\n" },
		{ "rcpt pending", "rcpt pending 0 0 a@b a@b extra\n" },
		{ "rcpt pending", "rcpt pending 0 0 a@b  a@b\n" },
		{ "rcpt pending", "rcpt pending 0 0 a@b a@b \n" },
		{ "rcpt pending", "rcpt waiting 0 0 a@b a@b\n" },
		{ "rcpt pending", "rcpt Pending 0 0 a@b a@b\n" },
		{ "rcpt pending", "rcpt pending 4294967296 0 a@b a@b\n" },
		{ "rcpt pending", "rcpt pending 0 -1 a@b a@b\n" },
		{ "rcpt pending", "rcpt pending 0 0 a%2@b a@b\n" },
		{ "rcpt pending", "rcpt pending 0 0 a%41@b a@b\n" },
		{ "rcpt pending", "rcpt pending 0 0 a%zz@b a@b\n" },
		{ "rcpt pending", "rcpt pending 0 0 a%20@b a%2\n" },
		{ "rcpt pending", "rcpt pending 0 0 a%0A@b a@b\n" },
		{ "rcpt pending", "rcpt pending 0 0 a%2f@b a@b\n" },
		{ "rcpt pending", "rcpt\n" },
		{ "rcpt pending", "error first\nrcpt pending 0 0 a@b a@b\n" },
		{ "rcpt done", "rcpt done 1 0 c@d c@d\nsize 5\n" },
		{ "error", "error one\nerror two\n" },
		{ "error", "error x\rx\n" },
		{ "error", "error x\tx\n" },
		{ "rcpt pending", "" },		/* with done and failed left: */
		{ "end", "" },
		{ "end", "end\nend\n" },
		{ "end", "end\nx" },
		{ "end", "end\n\n" },
		{ "end", "end " },
		{ "end", "END\n" },
		{ "end", "end\r\n" },
		{ "end", "end" },
	};
	struct envelope	 env;
	struct err	 e;
	const char	*text;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		text = replace_line(cases[i].line, cases[i].with);
		memset(&e, 0, sizeof(e));
		if (envelope_parse(&env, text, strlen(text), &e) == 0) {
			/* dropping the first rcpt alone leaves a valid file */
			if (strcmp(cases[i].with, "") == 0 &&
			    strcmp(cases[i].line, "rcpt pending") == 0) {
				envelope_free(&env);
				continue;
			}
			fail_msg("case %zu parsed: %s", i, text);
		}
		assert_true(e.msg[0] != '\0');
		assert_false(e.temp);
	}
	/* no recipient at all */
	text = "postern-envelope 1\nid a\ncreated 1\nsize 1\nfrom\nclient\n"
	    "flags 0\nend\n";
	assert_int_equal(parse_str(&env, text), -1);
	/* empty from and client without the space are fine */
	text = "postern-envelope 1\nid a\ncreated 0\nsize 0\nfrom\nclient\n"
	    "flags 0\nrcpt pending 0 0 a b\nend\n";
	assert_int_equal(parse_str(&env, text), 0);
	assert_string_equal(env.from, "");
	assert_string_equal(env.client, "");
	envelope_free(&env);
	/* header fields in another order */
	text = "postern-envelope 1\nflags 0\nclient x\nfrom y\nsize 0\n"
	    "created 0\nid a\nrcpt pending 0 0 a b\nend\n";
	assert_int_equal(parse_str(&env, text), 0);
	envelope_free(&env);
	/* empty input, NUL inside */
	assert_int_equal(envelope_parse(&env, "", 0, NULL), -1);
	assert_int_equal(envelope_parse(&env, good, sizeof(good), NULL), -1);
}

static void
test_truncated_everywhere(void **state)
{
	struct envelope	 env;
	struct err	 e;
	size_t		 n, len = strlen(good);
	char		*copy;

	(void)state;
	for (n = 0; n < len; n++) {
		/* an exact-size heap copy so ASan sees any overread */
		copy = xmalloc(n + 1);
		memcpy(copy, good, n);
		assert_int_equal(envelope_parse(&env, copy, n, &e), -1);
		free(copy);
	}
	copy = xmalloc(len);
	memcpy(copy, good, len);
	assert_int_equal(envelope_parse(&env, copy, len, &e), 0);
	envelope_free(&env);
	free(copy);
}

static void
test_line_limit(void **state)
{
	struct envelope	 env, back;
	struct buf	 b;
	struct err	 e;
	char		*from;

	(void)state;
	/* "from " + value is exactly the limit: fine */
	memset(&env, 0, sizeof(env));
	(void)snprintf(env.id, sizeof(env.id), "%s", "a");
	env.client = xstrdup("");
	from = xmalloc(LINE_MAX_ENV - 5 + 2);
	memset(from, 'f', LINE_MAX_ENV - 5);
	from[LINE_MAX_ENV - 5] = '\0';
	env.from = from;
	envelope_add_rcpt(&env, "a@b", NULL);
	assert_int_equal(dump_env(&env, &b), 0);
	assert_int_equal(envelope_parse(&back, buf_ptr(&b), buf_avail(&b),
	    &e), 0);
	assert_int_equal(strlen(back.from), LINE_MAX_ENV - 5);
	envelope_free(&back);
	buf_release(&b);
	/* one more octet: dump refuses, and parse refuses such a line */
	from[LINE_MAX_ENV - 5] = 'f';
	from[LINE_MAX_ENV - 4] = '\0';
	assert_int_equal(dump_env(&env, &b), -1);
	buf_release(&b);
	envelope_free(&env);

	buf_init(&b, 1 << 20);
	assert_int_equal(buf_printf(&b, "postern-envelope 1\nid a\ncreated 0\n"
	    "size 0\nclient\nflags 0\nfrom "), 0);
	for (size_t i = 0; i < LINE_MAX_ENV - 4; i++)
		assert_int_equal(buf_addstr(&b, "f"), 0);
	assert_int_equal(buf_addstr(&b, "\nrcpt pending 0 0 a b\nend\n"), 0);
	assert_int_equal(envelope_parse(&back, buf_ptr(&b), buf_avail(&b),
	    &e), -1);
	buf_release(&b);
}

static void
test_number_limits(void **state)
{
	struct envelope	 env;
	const char	*ok =
	    "postern-envelope 1\nid a\ncreated 4611686018427387904\n"
	    "size 18446744073709551615\nfrom\nclient\nflags 4294967295\n"
	    "rcpt pending 4294967295 4611686018427387904 a b\nend\n";

	(void)state;
	assert_int_equal(parse_str(&env, ok), 0);
	assert_int_equal(env.created, (time_t)1 << 62);
	assert_int_equal(env.size, UINT64_MAX);
	assert_int_equal(env.flags, UINT32_MAX);
	assert_int_equal(env.rcpts[0].attempts, UINT32_MAX);
	assert_int_equal(env.rcpts[0].next_try, (time_t)1 << 62);
	envelope_free(&env);
}

/* the "warned" header field (optional) and the "bounced" state */
static void
test_warned_and_bounced(void **state)
{
	static const char *const bad[] = {
		"warned 0\n", "warned\n", "warned \n", "warned -1\n",
		"warned 01\n", "warned 4611686018427387905\n",
		"warned 5\nwarned 6\n",
	};
	struct envelope	 env, env2;
	struct buf	 b;
	const char	*text;
	char		*with;
	size_t		 i;

	(void)state;
	/* a file of before the field: still version 1, warned 0 */
	assert_int_equal(parse_str(&env, good), 0);
	assert_int_equal(env.warned, 0);
	assert_int_equal(dump_env(&env, &b), 0);
	assert_null(memmem(buf_ptr(&b), buf_avail(&b), "warned", 6));
	buf_release(&b);
	/* set: dumped, parsed back; in-memory fields are not written */
	env.warned = 1700000500;
	env.rcpts[2].state = RCPT_BOUNCED;
	env.rcpts[0].job = 42;
	env.rcpts[0].remote = xstrdup("mx.example.com [192.0.2.9]");
	assert_int_equal(dump_env(&env, &b), 0);
	assert_int_equal(buf_add(&b, "", 1), 0);	/* a NUL for strstr */
	assert_non_null(strstr(buf_ptr(&b), "\nwarned 1700000500\n"));
	assert_non_null(strstr(buf_ptr(&b),
	    "\nrcpt bounced 3 0 dave@example.com dave@example.com\n"));
	assert_null(strstr(buf_ptr(&b), "192.0.2.9"));
	b.len--;		/* the NUL out again */
	assert_int_equal(envelope_parse(&env2, buf_ptr(&b), buf_avail(&b),
	    &(struct err){ 0 }), 0);
	assert_int_equal(env2.warned, 1700000500);
	assert_int_equal(env2.rcpts[2].state, RCPT_BOUNCED);
	assert_int_equal(env2.rcpts[0].job, 0);
	assert_null(env2.rcpts[0].remote);
	envelope_free(&env2);
	buf_release(&b);
	/* a negative time is refused on dump, out unchanged */
	env.warned = -1;
	buf_init(&b, 1 << 20);
	assert_int_equal(envelope_dump(&env, &b), -1);
	assert_int_equal(buf_avail(&b), 0);
	buf_release(&b);
	envelope_free(&env);
	/* the field in any header position, at most once, a number > 0 */
	text = replace_line("flags", "flags 5\nwarned 1\n");
	assert_int_equal(parse_str(&env, text), 0);
	assert_int_equal(env.warned, 1);
	envelope_free(&env);
	text = replace_line("id ", "warned 4611686018427387904\n"
	    "id 0123456789abcdef0123\n");
	assert_int_equal(parse_str(&env, text), 0);
	assert_int_equal(env.warned, (time_t)1 << 62);
	envelope_free(&env);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		xasprintf(&with, "flags 5\n%s", bad[i]);
		text = replace_line("flags", with);
		free(with);
		assert_int_equal(parse_str(&env, text), -1);
	}
	/* not after a rcpt */
	text = replace_line("end", "warned 5\nend\n");
	assert_int_equal(parse_str(&env, text), -1);
}

/* with_check - v2 text: lines, then the check of them and end */
static char *
with_check(const char *lines)
{
	char	*t;

	xasprintf(&t, "%scheck %016llx\nend\n", lines,
	    (unsigned long long)hash64(lines, strlen(lines)));
	return t;
}

static void
test_prefix(void **state)
{
	static const char	 pfx[] =
	    "DKIM-Signature: v=1; a=rsa-sha256; d=example.org;\r\n"
	    "\tb=abc%def\r\n"
	    "Subject: caf\xc3\xa9\r\n";
	static const char *const bad_pfx[] = {
		"A: b\n", "A: b", "A: b\r\n\r\n", "\r\n", "A: \x01\r\n",
		"A: b\rc\r\n", "A: \x7f\r\n",
	};
	static const char *const bad_head[] = {
		"head\n", "head \n", "head a%0D\n", "head a%0A\n",
		"head %41\n", "head %0\n", "head %zz\n", "head a%7F\n",
	};
	struct envelope	 env, back;
	struct buf	 b;
	char		*lines, *text, *big;
	size_t		 i;

	(void)state;
	assert_int_equal(parse_str(&env, good), 0);
	assert_null(env.prefix);
	env.prefix = xstrdup(pfx);
	assert_int_equal(dump_env(&env, &b), 0);
	assert_int_equal(buf_add(&b, "", 1), 0);
	assert_non_null(strstr(buf_ptr(&b), "\nhead DKIM-Signature: v=1; "
	    "a=rsa-sha256; d=example.org;\nhead %09b=abc%25def\n"
	    "head Subject: caf\xc3\xa9\nrcpt "));
	b.len--;
	assert_int_equal(envelope_parse(&back, buf_ptr(&b), buf_avail(&b),
	    &(struct err){ 0 }), 0);
	assert_string_equal(back.prefix, pfx);
	assert_env_equal(&env, &back);
	envelope_free(&back);
	buf_release(&b);
	/* what could not be written back is refused on dump, out unchanged */
	for (i = 0; i < sizeof(bad_pfx) / sizeof(bad_pfx[0]); i++) {
		free(env.prefix);
		env.prefix = xstrdup(bad_pfx[i]);
		assert_false(envelope_prefix_ok(env.prefix,
		    strlen(env.prefix)));
		buf_init(&b, 1 << 20);
		assert_int_equal(envelope_dump(&env, &b), -1);
		assert_int_equal(buf_avail(&b), 0);
		buf_release(&b);
	}
	/* the bounds: ENV_PREFIX_MAX in all, ENV_PREFIX_LINE a line */
	free(env.prefix);
	big = xmalloc(ENV_PREFIX_MAX + 1);
	memset(big, 'a', ENV_PREFIX_MAX);
	big[ENV_PREFIX_LINE] = '\r';
	big[ENV_PREFIX_LINE + 1] = '\n';
	big[ENV_PREFIX_LINE + 2] = '\0';
	assert_true(envelope_prefix_ok(big, ENV_PREFIX_LINE + 2));
	big[ENV_PREFIX_LINE] = 'a';
	big[ENV_PREFIX_LINE + 1] = '\r';
	big[ENV_PREFIX_LINE + 2] = '\n';
	assert_false(envelope_prefix_ok(big, ENV_PREFIX_LINE + 3));
	memset(big, 'a', ENV_PREFIX_MAX);
	for (i = 0; i + 100 <= ENV_PREFIX_MAX; i += 100) {
		big[i + 98] = '\r';
		big[i + 99] = '\n';
	}
	assert_true(envelope_prefix_ok(big, i));
	assert_false(envelope_prefix_ok(big, ENV_PREFIX_MAX + 1));
	/*
	 * exactly ENV_PREFIX_MAX, its last line mostly TABs (3 octets each
	 * in the file): what dump writes, parse reads back
	 */
	memset(big, 'a', ENV_PREFIX_MAX);
	for (i = 0; i + 100 <= ENV_PREFIX_MAX - 1000; i += 100) {
		memcpy(big + i, "A: ", 3);
		big[i + 98] = '\r';
		big[i + 99] = '\n';
	}
	memcpy(big + i, "B:", 2);
	memset(big + i + 2, '\t', ENV_PREFIX_MAX - i - 4);
	big[ENV_PREFIX_MAX - 2] = '\r';
	big[ENV_PREFIX_MAX - 1] = '\n';
	big[ENV_PREFIX_MAX] = '\0';
	assert_true(ENV_PREFIX_MAX - i - 2 <= ENV_PREFIX_LINE);
	assert_true(envelope_prefix_ok(big, ENV_PREFIX_MAX));
	assert_int_equal(parse_str(&back, good), 0);
	back.prefix = xstrdup(big);
	assert_int_equal(dump_env(&back, &b), 0);
	envelope_free(&back);
	assert_int_equal(envelope_parse(&back, buf_ptr(&b), buf_avail(&b),
	    &(struct err){ 0 }), 0);
	assert_string_equal(back.prefix, big);
	envelope_free(&back);
	buf_release(&b);
	free(big);
	env.prefix = NULL;
	envelope_free(&env);
	/* malformed head lines, a head after a rcpt, a head in version 1 */
	for (i = 0; i < sizeof(bad_head) / sizeof(bad_head[0]); i++) {
		xasprintf(&lines, "postern-envelope 2\n" GOOD_HEAD "%s"
		    GOOD_RCPTS, bad_head[i]);
		text = with_check(lines);
		assert_int_equal(parse_str(&env, text), -1);
		free(lines);
		free(text);
	}
	text = with_check("postern-envelope 2\n" GOOD_HEAD "head A: b\n"
	    "head B:%09c\n" GOOD_RCPTS);
	assert_int_equal(parse_str(&env, text), 0);
	assert_string_equal(env.prefix, "A: b\r\nB:\tc\r\n");
	envelope_free(&env);
	free(text);
	text = with_check("postern-envelope 2\n" GOOD_HEAD GOOD_RCPTS
	    "head A: b\n");
	assert_int_equal(parse_str(&env, text), -1);
	free(text);
	assert_int_equal(parse_str(&env, "postern-envelope 1\n" GOOD_HEAD
	    "head A: b\n" GOOD_RCPTS "end\n"), -1);
}

/* via and sender: a recipient's optional lines, in dump's order, once each */
static void
test_via_sender(void **state)
{
	static const char	*bad[] = {
		"via i@example.org\nrcpt pending 0 0 a@b a@b\n",
		"rcpt pending 0 0 a@b a@b\nvia x@y\nvia x@y\n",
		"rcpt pending 0 0 a@b a@b\nsender x@y\nvia x@y\n",
		"rcpt pending 0 0 a@b a@b\nerror e\nvia x@y\n",
		"rcpt pending 0 0 a@b a@b\nerror e\nsender x@y\n",
		"rcpt pending 0 0 a@b a@b\nsender x@y\nsender x@y\n",
		"rcpt pending 0 0 a@b a@b\nvia\n",
		"rcpt pending 0 0 a@b a@b\nvia \n",
		"rcpt pending 0 0 a@b a@b\nsender a%2@b\n",
		"rcpt pending 0 0 a@b a@b\nerror e\nerror f\n",
	};
	struct envelope	 env, back;
	struct buf	 b;
	char		 text[512];
	size_t		 i;

	(void)state;
	(void)snprintf(text, sizeof(text), "postern-envelope 1\n" GOOD_HEAD
	    "rcpt pending 0 0 me@gmail.test i@example.org\n"
	    "via i@example.org\n"
	    "sender SRS0=AbCd=T2=example.net=bob@example.org\n"
	    "rcpt failed 1 0 |/usr/bin/x%%20-a i@example.org\n"
	    "via i@example.org\nerror exit 67\n"
	    "rcpt pending 0 0 c@d c@d\nend\n");
	assert_int_equal(parse_str(&env, text), 0);
	assert_int_equal(env.nrcpts, 3);
	assert_string_equal(env.rcpts[0].via, "i@example.org");
	assert_string_equal(env.rcpts[0].sender,
	    "SRS0=AbCd=T2=example.net=bob@example.org");
	assert_string_equal(env.rcpts[1].addr, "|/usr/bin/x -a");
	assert_string_equal(env.rcpts[1].via, "i@example.org");
	assert_null(env.rcpts[1].sender);
	assert_string_equal(env.rcpts[1].last_error, "exit 67");
	assert_null(env.rcpts[2].via);
	assert_null(env.rcpts[2].sender);
	assert_int_equal(dump_env(&env, &b), 0);
	assert_int_equal(envelope_parse(&back, buf_ptr(&b), buf_avail(&b),
	    NULL), 0);
	assert_env_equal(&env, &back);
	for (i = 0; i < 2; i++) {
		assert_string_equal(back.rcpts[i].via, env.rcpts[i].via);
	}
	assert_string_equal(back.rcpts[0].sender, env.rcpts[0].sender);
	assert_null(back.rcpts[2].via);
	envelope_free(&back);
	buf_release(&b);
	envelope_free(&env);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(text, sizeof(text), "postern-envelope 1\n"
		    GOOD_HEAD "%send\n", bad[i]);
		if (parse_str(&env, text) == 0)
			fail_msg("case %zu parsed: %s", i, text);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_torn_writes),
		cmocka_unit_test(test_roundtrip_built),
		cmocka_unit_test(test_dump_sanitizes),
		cmocka_unit_test(test_dump_refuses),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_number_limits),
		cmocka_unit_test(test_warned_and_bounced),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_via_sender),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
