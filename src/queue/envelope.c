/*
 * envelope.c - the versioned envelope text format (docs/QUEUE-FORMAT.md).
 *
 * Pure: envelope_dump() writes a struct envelope as text into a buf,
 * envelope_parse() reads it back.  Runs in the queue process and in the
 * admin tools; no I/O, no globals.
 *
 * The text is LF-terminated lines, one field per line, starting with
 * "postern-envelope 2" and ending with "check HASH" and "end", HASH the
 * hash64 (hash.h) of every byte before the check line; a "body HASH"
 * field carries the body's.  Version 1 (no check, no body field) is still
 * read.  The parser is strict: an unknown or duplicate field, a missing
 * required field, a malformed number, a control character, anything
 * after "end", no "end" at all, or (version 2) a missing or wrong check
 * makes the whole file invalid, so a torn write, or a file a crash left
 * with blocks of an older envelope, can never pass for a complete one.  Free text (from, auth, client, error) has control characters
 * replaced by '?' on dump; recipient addresses are written with SP and '%'
 * percent-encoded, because a quoted local part may contain spaces.
 * The prefix (header lines to write in front of the body) is one "head"
 * line for each of its CRLF-terminated lines, in order, with TAB, the
 * other control characters and '%' percent-encoded.
 *
 * Limits: ENV_LINE_MAX octets per line; dump truncates the client and
 * error texts and fails rather than write a line the parser would refuse.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "hash.h"
#include "xmalloc.h"
#include "queue/envelope.h"

#define ENV_MAGIC	"postern-envelope 2"
#define ENV_MAGIC_V1	"postern-envelope 1"
#define ENV_LINE_MAX	16384	/* octets per line, LF excluded */
#define ENV_TEXT_MAX	1024	/* client / error text kept by dump */
#define ENV_NUM_MAX	(1ULL << 62)

/* header fields seen, for duplicate and missing checks */
enum {
	EF_ID		= 1u << 0,
	EF_CREATED	= 1u << 1,
	EF_SIZE		= 1u << 2,
	EF_FROM		= 1u << 3,
	EF_AUTH		= 1u << 4,
	EF_CLIENT	= 1u << 5,
	EF_FLAGS	= 1u << 6,
	EF_WARNED	= 1u << 7,
	EF_BODY		= 1u << 8,
	EF_HEAD		= 1u << 9,	/* repeatable: not a duplicate */
};
#define EF_REQUIRED	(EF_ID | EF_CREATED | EF_SIZE | EF_FROM | EF_CLIENT | \
			    EF_FLAGS)

static const char *const rcpt_state_names[] = {
	[RCPT_PENDING] = "pending",
	[RCPT_DONE] = "done",
	[RCPT_FAILED] = "failed",
	[RCPT_BOUNCED] = "bounced",
};
#define NSTATES	(sizeof(rcpt_state_names) / sizeof(rcpt_state_names[0]))

/* env_id_valid - 1 to 31 ASCII letters or digits */
static bool
env_id_valid(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len >= sizeof(((struct envelope *)0)->id))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

/* dump_text - append s with control characters replaced by '?' */
static int
dump_text(struct buf *out, const char *s, size_t max)
{
	size_t	 i, n = strlen(s);
	char	*w;

	if (n > max)
		n = max;
	if ((w = buf_reserve(out, n)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		w[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	buf_commit(out, n);
	return 0;
}

/* dump_addr - append a recipient address, SP and '%' percent-encoded */
static int
dump_addr(struct buf *out, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)s;
	char			 enc[3];

	if (*p == '\0')
		return -1;
	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return -1;
		if (*p == ' ' || *p == '%') {
			enc[0] = '%';
			enc[1] = hex[*p >> 4];
			enc[2] = hex[*p & 0xf];
			if (buf_add(out, enc, 3) == -1)
				return -1;
		} else if (buf_add(out, p, 1) == -1)
			return -1;
	}
	return 0;
}

/* dump_rcpt_addr - a recipient's optional "KEY ADDR" line, if addr is set */
static int
dump_rcpt_addr(struct buf *out, const char *key, const char *addr)
{
	size_t	start = buf_avail(out);

	if (addr == NULL)
		return 0;
	if (buf_addstr(out, key) == -1 || dump_addr(out, addr) == -1 ||
	    buf_avail(out) - start > ENV_LINE_MAX ||
	    buf_addstr(out, "\n") == -1)
		return -1;
	return 0;
}

/* envelope_prefix_ok - is p a sequence of header lines we may write? */
bool
envelope_prefix_ok(const char *p, size_t len)
{
	size_t	i, start = 0;

	if (len > ENV_PREFIX_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)p[i];

		if (c == '\r') {
			if (i + 1 >= len || p[i + 1] != '\n' || i == start ||
			    i - start > ENV_PREFIX_LINE)
				return false;
			start = ++i + 1;
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			return false;
		}
	}
	return start == len;
}

/* dump_prefix - one "head" line per line of the prefix, encoded */
static int
dump_prefix(struct buf *out, const char *prefix)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 len = strlen(prefix), i;
	unsigned char		 c;
	char			 enc[3];

	if (!envelope_prefix_ok(prefix, len))
		return -1;
	for (i = 0; i < len; i++) {
		if (i == 0 || prefix[i - 1] == '\n')
			if (buf_addstr(out, "head ") == -1)
				return -1;
		c = (unsigned char)prefix[i];
		if (c == '\r') {
			if (buf_addstr(out, "\n") == -1)
				return -1;
			i++;
			continue;
		}
		if (c < 0x20 || c == '%') {
			enc[0] = '%';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 0xf];
			if (buf_add(out, enc, 3) == -1)
				return -1;
		} else if (buf_add(out, &c, 1) == -1)
			return -1;
	}
	return 0;
}

/* envelope_dump - append env as envelope text to out; -1 if it cannot be */
int
envelope_dump(const struct envelope *env, struct buf *out)
{
	const struct env_rcpt	*r;
	size_t			 i, start;
	size_t			 mark = buf_avail(out);

	if (!env_id_valid(env->id, strlen(env->id)) || env->created < 0 ||
	    (unsigned long long)env->created > ENV_NUM_MAX || env->from == NULL)
		goto fail;
	if (buf_printf(out, "%s\nid %s\ncreated %lld\nsize %llu\nfrom ",
	    ENV_MAGIC, env->id, (long long)env->created,
	    (unsigned long long)env->size) == -1)
		goto fail;
	start = buf_avail(out);
	if (dump_text(out, env->from, ENV_LINE_MAX) == -1 ||
	    buf_avail(out) - start > ENV_LINE_MAX - 5 ||
	    buf_addstr(out, "\n") == -1)
		goto fail;
	if (env->auth_user != NULL && env->auth_user[0] != '\0') {
		start = buf_avail(out);
		if (buf_addstr(out, "auth ") == -1 ||
		    dump_text(out, env->auth_user, ENV_LINE_MAX) == -1 ||
		    buf_avail(out) - start > ENV_LINE_MAX ||
		    buf_addstr(out, "\n") == -1)
			goto fail;
	}
	if (buf_addstr(out, "client ") == -1 ||
	    dump_text(out, env->client != NULL ? env->client : "",
	    ENV_TEXT_MAX) == -1 ||
	    buf_printf(out, "\nflags %u\n", (unsigned)env->flags) == -1)
		goto fail;
	if (env->warned < 0 || (unsigned long long)env->warned > ENV_NUM_MAX ||
	    (env->warned > 0 && buf_printf(out, "warned %lld\n",
	    (long long)env->warned) == -1))
		goto fail;
	if (env->has_body_hash && buf_printf(out, "body %016llx\n",
	    (unsigned long long)env->body_hash) == -1)
		goto fail;
	if (env->prefix != NULL && dump_prefix(out, env->prefix) == -1)
		goto fail;
	for (i = 0; i < env->nrcpts; i++) {
		r = &env->rcpts[i];
		if ((size_t)r->state >= NSTATES || r->next_try < 0 ||
		    (unsigned long long)r->next_try > ENV_NUM_MAX ||
		    r->addr == NULL)
			goto fail;
		start = buf_avail(out);
		if (buf_printf(out, "rcpt %s %u %lld ",
		    rcpt_state_names[r->state], r->attempts,
		    (long long)r->next_try) == -1 ||
		    dump_addr(out, r->addr) == -1 ||
		    buf_addstr(out, " ") == -1 ||
		    dump_addr(out, r->orig != NULL ? r->orig : r->addr) == -1)
			goto fail;
		if (buf_avail(out) - start > ENV_LINE_MAX ||
		    buf_addstr(out, "\n") == -1)
			goto fail;
		if (dump_rcpt_addr(out, "via ", r->via) == -1 ||
		    dump_rcpt_addr(out, "sender ", r->sender) == -1)
			goto fail;
		if (r->last_error != NULL &&
		    (buf_addstr(out, "error ") == -1 ||
		    dump_text(out, r->last_error, ENV_TEXT_MAX) == -1 ||
		    buf_addstr(out, "\n") == -1))
			goto fail;
	}
	/* every byte written so far, from the magic on */
	if (buf_printf(out, "check %016llx\nend\n", (unsigned long long)
	    hash64(buf_ptr(out) + mark, buf_avail(out) - mark)) == -1)
		goto fail;
	return 0;
fail:
	/* leave out as it was (buf_reserve may have compacted it) */
	out->len = out->off + mark;
	return -1;
}

/*
 * parse_num - a decimal number of the whole [s, s+len), no sign, no
 * leading zero, at most max
 */
static int
parse_num(const char *s, size_t len, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long	v = 0;
	size_t			i;

	if (len == 0 || len > 20 || (s[0] == '0' && len > 1))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (max - (unsigned)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* parse_hash - exactly 16 lower-case hex digits */
static int
parse_hash(const char *s, size_t len, uint64_t *out)
{
	uint64_t	h = 0;
	size_t		i;

	if (len != 16)
		return -1;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
		h = h << 4 | (uint64_t)(s[i] <= '9' ? s[i] - '0' :
		    s[i] - 'a' + 10);
	}
	*out = h;
	return 0;
}

/* hexval - an upper-case hex digit's value, or -1 */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* parse_addr - decode a percent-encoded address token; NULL if malformed */
static char *
parse_addr(const char *s, size_t len)
{
	char	*out, *w;
	size_t	 i;
	int	 hi, lo;

	if (len == 0)
		return NULL;
	out = w = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			*w++ = s[i];
			continue;
		}
		if (len - i < 3)
			goto bad;
		hi = hexval(s[i + 1]);
		lo = hexval(s[i + 2]);
		/* only what dump encodes, so the encoding is canonical */
		if (hi < 0 || lo < 0 ||
		    (hi * 16 + lo != ' ' && hi * 16 + lo != '%'))
			goto bad;
		*w++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*w = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/*
 * parse_head - a "head" value decoded and appended, with CRLF, to the
 * prefix; only what dump_prefix encodes may be encoded
 */
static int
parse_head(struct envelope *env, const char *v, size_t vlen)
{
	size_t	 have = env->prefix != NULL ? strlen(env->prefix) : 0, i;
	char	*w;
	int	 hi, lo, c;

	/* the bounds are checked on what it decodes to (prefix_ok, below) */
	if (vlen == 0 || vlen > 3 * ENV_PREFIX_LINE ||
	    have + 2 > ENV_PREFIX_MAX)
		return -1;
	env->prefix = xreallocarray(env->prefix, have + vlen + 3, 1);
	w = env->prefix + have;
	for (i = 0; i < vlen; i++) {
		if (v[i] != '%') {
			*w++ = v[i];
			continue;
		}
		if (vlen - i < 3 || (hi = hexval(v[i + 1])) < 0 ||
		    (lo = hexval(v[i + 2])) < 0)
			return -1;
		c = hi * 16 + lo;
		if (c >= 0x20 && c != '%')
			return -1;
		*w++ = (char)c;
		i += 2;
	}
	*w++ = '\r';
	*w++ = '\n';
	*w = '\0';
	return envelope_prefix_ok(env->prefix, (size_t)(w - env->prefix)) ?
	    0 : -1;
}

/* parse_rcpt - "STATE ATTEMPTS NEXT_TRY ADDR ORIG" into r */
static int
parse_rcpt(const char *v, size_t len, struct env_rcpt *r)
{
	const char		*tok[5];
	size_t			 tlen[5], i, ntok = 0, start = 0;
	unsigned long long	 n;

	for (i = 0; i <= len; i++) {
		if (i < len && v[i] != ' ')
			continue;
		if (ntok == 5 || i == start)
			return -1;
		tok[ntok] = v + start;
		tlen[ntok++] = i - start;
		start = i + 1;
	}
	if (ntok != 5)
		return -1;
	memset(r, 0, sizeof(*r));
	for (i = 0; i < NSTATES; i++)
		if (strlen(rcpt_state_names[i]) == tlen[0] &&
		    memcmp(rcpt_state_names[i], tok[0], tlen[0]) == 0)
			break;
	if (i == NSTATES)
		return -1;
	r->state = (enum rcpt_state)i;
	if (parse_num(tok[1], tlen[1], UINT32_MAX, &n) == -1)
		return -1;
	r->attempts = (unsigned)n;
	if (parse_num(tok[2], tlen[2], ENV_NUM_MAX, &n) == -1)
		return -1;
	r->next_try = (time_t)n;
	if ((r->addr = parse_addr(tok[3], tlen[3])) == NULL)
		return -1;
	if ((r->orig = parse_addr(tok[4], tlen[4])) == NULL) {
		free(r->addr);
		r->addr = NULL;
		return -1;
	}
	return 0;
}

/* rcpt_free - release one recipient's strings */
static void
rcpt_free(struct env_rcpt *r)
{
	free(r->addr);
	free(r->orig);
	free(r->last_error);
	free(r->via);
	free(r->sender);
	free(r->remote);
	free(r->reply);
}

/* add_rcpt - append r (taking its strings) to env */
static void
add_rcpt(struct envelope *env, const struct env_rcpt *r)
{
	env->rcpts = xreallocarray(env->rcpts, env->nrcpts + 1,
	    sizeof(*env->rcpts));
	env->rcpts[env->nrcpts++] = *r;
}

/* parse_field - one "key value" line (not the magic, not "end") */
static int
parse_field(struct envelope *env, unsigned *seen, const char *line,
    size_t len, unsigned lineno, int version, bool *last_rcpt, struct err *e)
{
	const char		*sp = memchr(line, ' ', len);
	size_t			 klen = sp != NULL ? (size_t)(sp - line) : len;
	const char		*v = sp != NULL ? sp + 1 : line + len;
	size_t			 vlen = len - (size_t)(v - line);
	unsigned long long	 n;
	unsigned		 bit = 0;
	struct env_rcpt		 r;
	bool			 prev_rcpt = *last_rcpt;

	*last_rcpt = false;
#define KEY(k)	(klen == sizeof(k) - 1 && memcmp(line, k, klen) == 0)
	if (KEY("rcpt")) {
		if (parse_rcpt(v, vlen, &r) == -1)
			return err_set(e, false, 0,
			    "line %u: malformed rcpt", lineno);
		add_rcpt(env, &r);
		*last_rcpt = true;
		return 0;
	}
	if (KEY("error")) {
		if (!prev_rcpt || env->rcpts[env->nrcpts - 1].last_error != NULL)
			return err_set(e, false, 0,
			    "line %u: error without a rcpt", lineno);
		env->rcpts[env->nrcpts - 1].last_error = xstrndup(v, vlen);
		*last_rcpt = true;
		return 0;
	}
	if (KEY("via") || KEY("sender")) {
		char	**slot;

		if (!prev_rcpt)
			return err_set(e, false, 0,
			    "line %u: %.*s without a rcpt", lineno, (int)klen,
			    line);
		slot = KEY("via") ? &env->rcpts[env->nrcpts - 1].via :
		    &env->rcpts[env->nrcpts - 1].sender;
		/* in the order dump writes them, before error, once each */
		if (*slot != NULL || env->rcpts[env->nrcpts - 1].last_error !=
		    NULL || (KEY("via") && env->rcpts[env->nrcpts - 1].sender !=
		    NULL) || (*slot = parse_addr(v, vlen)) == NULL)
			return err_set(e, false, 0, "line %u: bad %.*s",
			    lineno, (int)klen, line);
		*last_rcpt = true;
		return 0;
	}
	if (env->nrcpts > 0)
		return err_set(e, false, 0,
		    "line %u: header field after rcpt", lineno);
	if (KEY("head") && version >= 2) {
		if (sp == NULL || parse_head(env, v, vlen) == -1)
			return err_set(e, false, 0, "line %u: bad head",
			    lineno);
		*seen |= EF_HEAD;
		return 0;
	}
	if (KEY("id"))
		bit = EF_ID;
	else if (KEY("created"))
		bit = EF_CREATED;
	else if (KEY("size"))
		bit = EF_SIZE;
	else if (KEY("from"))
		bit = EF_FROM;
	else if (KEY("auth"))
		bit = EF_AUTH;
	else if (KEY("client"))
		bit = EF_CLIENT;
	else if (KEY("flags"))
		bit = EF_FLAGS;
	else if (KEY("warned"))
		bit = EF_WARNED;
	else if (KEY("body") && version >= 2)
		bit = EF_BODY;
	else
		return err_set(e, false, 0, "line %u: unknown field", lineno);
#undef KEY
	if (*seen & bit)
		return err_set(e, false, 0, "line %u: duplicate field", lineno);
	*seen |= bit;
	/* only "from" and "client" may be empty, and only they omit the SP */
	if (sp == NULL && bit != EF_FROM && bit != EF_CLIENT)
		return err_set(e, false, 0, "line %u: missing value", lineno);
	switch (bit) {
	case EF_ID:
		if (!env_id_valid(v, vlen))
			return err_set(e, false, 0, "line %u: bad id", lineno);
		memcpy(env->id, v, vlen);
		env->id[vlen] = '\0';
		break;
	case EF_CREATED:
		if (parse_num(v, vlen, ENV_NUM_MAX, &n) == -1)
			return err_set(e, false, 0, "line %u: bad number",
			    lineno);
		env->created = (time_t)n;
		break;
	case EF_SIZE:
		if (parse_num(v, vlen, UINT64_MAX, &n) == -1)
			return err_set(e, false, 0, "line %u: bad number",
			    lineno);
		env->size = n;
		break;
	case EF_FROM:
		env->from = xstrndup(v, vlen);
		break;
	case EF_AUTH:
		if (vlen == 0)
			return err_set(e, false, 0, "line %u: empty auth",
			    lineno);
		env->auth_user = xstrndup(v, vlen);
		break;
	case EF_CLIENT:
		env->client = xstrndup(v, vlen);
		break;
	case EF_FLAGS:
		if (parse_num(v, vlen, UINT32_MAX, &n) == -1)
			return err_set(e, false, 0, "line %u: bad number",
			    lineno);
		env->flags = (uint32_t)n;
		break;
	case EF_WARNED:
		if (parse_num(v, vlen, ENV_NUM_MAX, &n) == -1 || n == 0)
			return err_set(e, false, 0, "line %u: bad number",
			    lineno);
		env->warned = (time_t)n;
		break;
	case EF_BODY:
		if (parse_hash(v, vlen, &env->body_hash) == -1)
			return err_set(e, false, 0, "line %u: bad hash",
			    lineno);
		env->has_body_hash = true;
		break;
	}
	return 0;
}

/* envelope_parse - parse exactly len bytes of envelope text into env */
int
envelope_parse(struct envelope *env, const char *text, size_t len,
    struct err *e)
{
	struct envelope	 tmp;
	const char	*p = text, *end = text + len, *lf;
	size_t		 llen;
	unsigned	 lineno = 0, seen = 0;
	bool		 last_rcpt = false, ended = false, checked = false;
	int		 rc = -1, version = 0;
	uint64_t	 want;

	memset(&tmp, 0, sizeof(tmp));
	while (p < end) {
		lineno++;
		if (ended) {
			err_set(e, false, 0, "line %u: data after end", lineno);
			goto out;
		}
		if ((lf = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			err_set(e, false, 0, "line %u: truncated", lineno);
			goto out;
		}
		llen = (size_t)(lf - p);
		if (llen > ENV_LINE_MAX) {
			err_set(e, false, 0, "line %u: too long", lineno);
			goto out;
		}
		if (memchr(p, '\0', llen) != NULL) {
			err_set(e, false, 0, "line %u: NUL", lineno);
			goto out;
		}
		for (size_t i = 0; i < llen; i++)
			if ((unsigned char)p[i] < 0x20 ||
			    (unsigned char)p[i] == 0x7f) {
				err_set(e, false, 0,
				    "line %u: control character", lineno);
				goto out;
			}
		if (lineno == 1) {
			if (llen == sizeof(ENV_MAGIC) - 1 &&
			    memcmp(p, ENV_MAGIC, llen) == 0)
				version = 2;
			else if (llen == sizeof(ENV_MAGIC_V1) - 1 &&
			    memcmp(p, ENV_MAGIC_V1, llen) == 0)
				version = 1;
			else {
				err_set(e, false, 0,
				    "not a postern envelope (version 1 or 2)");
				goto out;
			}
		} else if (llen == 3 && memcmp(p, "end", 3) == 0) {
			if (version >= 2 && !checked) {
				err_set(e, false, 0, "line %u: end without "
				    "check", lineno);
				goto out;
			}
			ended = true;
		} else if (checked) {
			err_set(e, false, 0, "line %u: data after check",
			    lineno);
			goto out;
		} else if (version >= 2 && llen > 6 &&
		    memcmp(p, "check ", 6) == 0) {
			if (parse_hash(p + 6, llen - 6, &want) == -1) {
				err_set(e, false, 0, "line %u: bad hash",
				    lineno);
				goto out;
			}
			if (hash64(text, (size_t)(p - text)) !=
			    want) {
				err_set(e, false, 0, "line %u: check does not "
				    "match: a torn write", lineno);
				goto out;
			}
			checked = true;
		} else if (parse_field(&tmp, &seen, p, llen, lineno, version,
		    &last_rcpt, e) == -1)
			goto out;
		p = lf + 1;
	}
	if (!ended) {
		err_set(e, false, 0, "truncated: no end line");
		goto out;
	}
	if ((seen & EF_REQUIRED) != EF_REQUIRED) {
		err_set(e, false, 0, "missing required field");
		goto out;
	}
	if (tmp.nrcpts == 0) {
		err_set(e, false, 0, "no recipient");
		goto out;
	}
	*env = tmp;
	rc = 0;
out:
	if (rc == -1)
		envelope_free(&tmp);
	return rc;
}

/* envelope_add_rcpt - append a pending recipient (strings are copied) */
void
envelope_add_rcpt(struct envelope *env, const char *addr, const char *orig)
{
	struct env_rcpt	r;

	memset(&r, 0, sizeof(r));
	r.state = RCPT_PENDING;
	r.addr = xstrdup(addr);
	r.orig = xstrdup(orig != NULL ? orig : addr);
	add_rcpt(env, &r);
}

/* envelope_free - release everything env holds and zero it */
void
envelope_free(struct envelope *env)
{
	size_t	i;

	if (env == NULL)
		return;
	for (i = 0; i < env->nrcpts; i++)
		rcpt_free(&env->rcpts[i]);
	free(env->rcpts);
	free(env->from);
	free(env->auth_user);
	free(env->client);
	free(env->prefix);
	memset(env, 0, sizeof(*env));
}
