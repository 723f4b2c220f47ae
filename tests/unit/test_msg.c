/*
 * test_msg.c - typed IPC messages (msg.c): exact round trips of every field
 * type over a SOCK_SEQPACKET pair, strict readers (one field too many,
 * bytes left over, crafted strings and lengths), descriptor passing and
 * closing, peer close, the LIM_IPC_MSG edge (over it is fatalx, checked
 * in a forked child), and the event-driven struct chan: ordered exchange
 * both ways, an outgoing queue larger than the socket buffer, NULL once
 * when the peer goes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "msg.h"
#include "msgtypes.h"

/* ---- helpers ---- */

/* pattern - n bytes that depend on seed and position, NULs included */
static void
pattern(unsigned char *p, size_t n, unsigned seed)
{
	size_t	i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 7 + seed * 13) & 0xff);
}

/* text - n printable characters and a NUL */
static char *
text(size_t n, unsigned seed)
{
	char	*s = malloc(n + 1);
	size_t	 i;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		s[i] = (char)('a' + (i + seed) % 26);
	s[n] = '\0';
	return s;
}

static bool
fd_closed(int fd)
{
	errno = 0;
	return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

static int
count_fds(void)
{
	DIR		*d = opendir("/proc/self/fd");
	struct dirent	*e;
	int		 n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
pair(int sv[2])
{
	assert_int_equal(msg_socketpair(sv), 0);
}

/* sendrecv - send m over a fresh pair, receive it into r */
static void
sendrecv(struct msg *m, struct msg *r)
{
	int	sv[2];

	pair(sv);
	assert_int_equal(msg_send(sv[0], m), 0);
	assert_int_equal(msg_recv(sv[1], r), 1);
	close(sv[0]);
	close(sv[1]);
}

/* ---- round trips: a table of messages, each a list of fields ---- */

enum fkind { F_END, F_U32, F_U64, F_STR, F_DATA };

struct field {
	enum fkind	 kind;
	uint64_t	 num;		/* F_U32, F_U64 */
	const char	*str;		/* F_STR, F_DATA; NULL: generated */
	size_t		 len;		/* generated or F_DATA length */
};

#define U32(v)		{ F_U32, (v), NULL, 0 }
#define U64(v)		{ F_U64, (v), NULL, 0 }
#define STR(s)		{ F_STR, 0, (s), 0 }
#define GSTR(n)		{ F_STR, 0, NULL, (n) }
#define DATA(s, n)	{ F_DATA, 0, (s), (n) }
#define GDATA(n)	{ F_DATA, 0, NULL, (n) }
#define END		{ F_END, 0, NULL, 0 }

struct rt_case {
	uint32_t	type;
	struct field	f[12];
};

static const struct rt_case rt_cases[] = {
	{ M_RELOAD, { END } },
	{ M_Q_OPEN, { U64(42), END } },
	{ 0, { U32(0), U32(1), U32(UINT32_MAX), END } },
	{ UINT32_MAX, { U64(0), U64(UINT64_MAX), U64(0x0123456789abcdefULL),
	    END } },
	{ 7, { STR(""), STR("a"), STR("two words"), STR(""), END } },
	{ 8, { GSTR(1000), GSTR(65536), GSTR(200000), END } },
	{ 9, { DATA("", 0), DATA("x", 1), DATA("a\0b\0", 4), GDATA(3000),
	    GDATA(0), END } },
	{ M_AUTH_REQ, { U64(1), STR("user@example.org"), STR("pass word"),
	    STR("192.0.2.1"), END } },
	{ M_Q_COMMIT, { U64(99), STR("0123abcd"), STR(""), U32(0x0f),
	    STR(""), STR("helo=h addr=a"), U32(2), STR("a@b"), STR("c@d"),
	    END } },
	{ 10, { U32(5), STR("mix"), GDATA(100000), U64(6), STR(""),
	    DATA("", 0), U32(7), GSTR(3), END } },
};

static void
add_fields(struct msg *m, const struct field *f)
{
	unsigned char	*p;
	char		*s;
	unsigned	 i;

	for (i = 0; f[i].kind != F_END; i++) {
		switch (f[i].kind) {
		case F_U32:
			msg_add_u32(m, (uint32_t)f[i].num);
			break;
		case F_U64:
			msg_add_u64(m, f[i].num);
			break;
		case F_STR:
			if (f[i].str != NULL) {
				msg_add_str(m, f[i].str);
				break;
			}
			s = text(f[i].len, i);
			msg_add_str(m, s);
			free(s);
			break;
		case F_DATA:
			if (f[i].str != NULL) {
				msg_add_data(m, f[i].str, f[i].len);
				break;
			}
			p = malloc(f[i].len + 1);
			assert_non_null(p);
			pattern(p, f[i].len, i);
			msg_add_data(m, p, f[i].len);
			free(p);
			break;
		case F_END:
			break;
		}
	}
}

static void
check_fields(struct msg *m, const struct field *f)
{
	unsigned char	*p;
	const void	*d;
	const char	*got;
	char		*s;
	size_t		 len;
	unsigned	 i;

	for (i = 0; f[i].kind != F_END; i++) {
		switch (f[i].kind) {
		case F_U32:
			assert_int_equal(msg_get_u32(m), f[i].num);
			break;
		case F_U64:
			assert_true(msg_get_u64(m) == f[i].num);
			break;
		case F_STR:
			got = msg_get_str(m);
			if (f[i].str != NULL) {
				assert_string_equal(got, f[i].str);
				break;
			}
			s = text(f[i].len, i);
			assert_int_equal(strlen(got), f[i].len);
			assert_string_equal(got, s);
			free(s);
			break;
		case F_DATA:
			len = 12345;
			d = msg_get_data(m, &len);
			assert_non_null(d);
			assert_int_equal(len, f[i].len);
			if (f[i].str != NULL) {
				assert_memory_equal(d, f[i].str, len);
				break;
			}
			p = malloc(len + 1);
			assert_non_null(p);
			pattern(p, len, i);
			assert_memory_equal(d, p, len);
			free(p);
			break;
		case F_END:
			break;
		}
		assert_false(m->bad);
	}
}

static void
test_roundtrip(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(rt_cases) / sizeof(rt_cases[0]); i++) {
		const struct rt_case	*c = &rt_cases[i];
		struct msg		 m, r, b;

		msg_init(&m, c->type);
		add_fields(&m, c->f);
		assert_true(m.len <= LIM_IPC_MSG);

		/* the same bytes loaded directly */
		assert_int_equal(msg_from_bytes(&b, m.data, m.len), 0);
		assert_int_equal(b.type, c->type);
		check_fields(&b, c->f);
		assert_int_equal(msg_end(&b), 0);
		msg_free(&b);

		/* and over a socket */
		sendrecv(&m, &r);
		assert_int_equal(r.type, c->type);
		assert_int_equal(r.len, m.len);
		assert_int_equal(r.fd, -1);
		check_fields(&r, c->f);
		if (msg_end(&r) != 0)
			fail_msg("case %zu: msg_end", i);
		assert_int_equal(msg_take_fd(&r), -1);
		msg_free(&r);
		msg_free(&m);
	}
}

/* the layout msg.h documents: u32 type, u32/u64 host order, strings as
 * u32 length + bytes + NUL, data as u32 length + bytes */
static void
test_layout(void **state)
{
	unsigned char	 want[64], *p = want;
	uint32_t	 v32;
	uint64_t	 v64;
	struct msg	 m;

	(void)state;
	msg_init(&m, M_AUTH_RES);
	msg_add_u32(&m, 0x01020304);
	msg_add_u64(&m, 0x1122334455667788ULL);
	msg_add_str(&m, "ab");
	msg_add_data(&m, "\0z", 2);

	v32 = M_AUTH_RES;
	memcpy(p, &v32, 4), p += 4;
	v32 = 0x01020304;
	memcpy(p, &v32, 4), p += 4;
	v64 = 0x1122334455667788ULL;
	memcpy(p, &v64, 8), p += 8;
	v32 = 2;
	memcpy(p, &v32, 4), p += 4;
	memcpy(p, "ab", 3), p += 3;
	memcpy(p, &v32, 4), p += 4;
	memcpy(p, "\0z", 2), p += 2;

	assert_int_equal(m.type, M_AUTH_RES);
	assert_int_equal(m.fd, -1);
	assert_false(m.bad);
	assert_int_equal(m.len, (size_t)(p - want));
	assert_memory_equal(m.data, want, m.len);
	msg_free(&m);
	assert_null(m.data);
	msg_free(&m);		/* twice is harmless */
	msg_free(NULL);
}

/* reading one field too many, of each kind, marks the message bad */
static void
test_read_past_end(void **state)
{
	const char	*kinds = "uqsd";
	size_t		 i, len;
	struct msg	 m, r;

	(void)state;
	for (i = 0; kinds[i] != '\0'; i++) {
		msg_init(&m, 5);
		msg_add_u32(&m, 1);
		msg_add_str(&m, "x");
		sendrecv(&m, &r);
		msg_free(&m);
		assert_int_equal(msg_get_u32(&r), 1);
		assert_string_equal(msg_get_str(&r), "x");
		assert_false(r.bad);
		switch (kinds[i]) {
		case 'u':
			assert_int_equal(msg_get_u32(&r), 0);
			break;
		case 'q':
			assert_true(msg_get_u64(&r) == 0);
			break;
		case 's':
			assert_string_equal(msg_get_str(&r), "");
			break;
		case 'd':
			len = 99;
			assert_null(msg_get_data(&r, &len));
			assert_int_equal(len, 0);
			break;
		}
		assert_true(r.bad);
		assert_int_equal(msg_end(&r), -1);
		msg_free(&r);
	}
}

/* fewer reads than fields: msg_end fails though nothing was bad */
static void
test_leftover(void **state)
{
	struct msg	m, r;

	(void)state;
	msg_init(&m, 5);
	msg_add_u32(&m, 1);
	msg_add_u64(&m, 2);
	sendrecv(&m, &r);
	msg_free(&m);
	assert_int_equal(msg_get_u32(&r), 1);
	assert_false(r.bad);
	assert_int_equal(msg_end(&r), -1);
	assert_false(r.bad);
	/* reading the rest makes it whole */
	assert_true(msg_get_u64(&r) == 2);
	assert_int_equal(msg_end(&r), 0);
	msg_free(&r);

	/* a type-only message with nothing read is complete */
	msg_init(&m, M_RELOAD);
	sendrecv(&m, &r);
	msg_free(&m);
	assert_int_equal(r.type, M_RELOAD);
	assert_int_equal(msg_end(&r), 0);
	msg_free(&r);
}

/* ---- crafted datagrams: type 1, a u32, then raw bytes ---- */

struct craft_case {
	const char	*name;
	bool		 nolen;		/* no u32 after the type */
	uint32_t	 len;
	const char	*bytes;
	size_t		 nbytes;
	const char	*reads;		/* u32 u64 str data: "uqsd" */
	bool		 bad;
	int		 end;
	const char	*want;		/* first 's' or 'd' read, if not bad */
};

#define B(x)	x, sizeof(x) - 1

static const struct craft_case craft_cases[] = {
	{ "str ok", false, 3, B("abc\0"), "s", false, 0, "abc" },
	{ "str empty", false, 0, B("\0"), "s", false, 0, "" },
	{ "str no NUL", false, 3, B("abcd"), "s", true, -1, NULL },
	{ "str NUL missing at end", false, 3, B("abc"), "s", true, -1, NULL },
	{ "str empty no NUL", false, 0, B(""), "s", true, -1, NULL },
	{ "str empty not NUL", false, 0, B("x"), "s", true, -1, NULL },
	{ "str embedded NUL", false, 3, B("a\0c\0"), "s", true, -1, NULL },
	{ "str NUL first", false, 3, B("\0bc\0"), "s", true, -1, NULL },
	{ "str len past end", false, 10, B("abc\0"), "s", true, -1, NULL },
	{ "str len one past", false, 4, B("abc\0"), "s", true, -1, NULL },
	{ "str len = msg len", false, 12, B("abc\0"), "s", true, -1, NULL },
	{ "str len max", false, UINT32_MAX, B("abc\0"), "s", true, -1, NULL },
	{ "str len max-1", false, UINT32_MAX - 1, B("abc\0"), "s", true, -1,
	    NULL },
	{ "str then extra", false, 1, B("a\0x"), "s", false, -1, "a" },
	{ "str, bad is sticky", false, 9, B("abc\0"), "su", true, -1, NULL },
	{ "data ok", false, 4, B("ab\0d"), "d", false, 0, "ab\0d" },
	{ "data empty", false, 0, B(""), "d", false, 0, "" },
	{ "data len past end", false, 5, B("abcd"), "d", true, -1, NULL },
	{ "data len max", false, UINT32_MAX, B("abcd"), "d", true, -1, NULL },
	{ "data then extra", false, 1, B("ab"), "d", false, -1, "a" },
	{ "u32", false, 5, B(""), "u", false, 0, NULL },
	{ "u32 twice", false, 5, B(""), "uu", true, -1, NULL },
	{ "u64 of 4 bytes", false, 5, B(""), "q", true, -1, NULL },
	{ "u64 of 7 bytes", false, 5, B("abc"), "q", true, -1, NULL },
	{ "u64 of 8 bytes", false, 5, B("abcd"), "q", false, 0, NULL },
	{ "u32 of 3 bytes", true, 0, B("abc"), "u", true, -1, NULL },
	{ "u32 of 3, unread", true, 0, B("abc"), "", false, -1, NULL },
	{ "type only", true, 0, B(""), "", false, 0, NULL },
	{ "type only, read u32", true, 0, B(""), "u", true, -1, NULL },
	{ "type only, read str", true, 0, B(""), "s", true, -1, NULL },
	{ "type only, read data", true, 0, B(""), "d", true, -1, NULL },
};

static void
test_crafted(void **state)
{
	unsigned char	 buf[64];
	uint32_t	 type = 1;
	const void	*d;
	const char	*s;
	size_t		 i, j, n, len;
	struct msg	 m;

	(void)state;
	for (i = 0; i < sizeof(craft_cases) / sizeof(craft_cases[0]); i++) {
		const struct craft_case	*c = &craft_cases[i];
		const char		*got = NULL;
		size_t			 gotlen = 0;

		n = 0;
		memcpy(buf, &type, 4), n += 4;
		if (!c->nolen)
			memcpy(buf + n, &c->len, 4), n += 4;
		memcpy(buf + n, c->bytes, c->nbytes), n += c->nbytes;
		assert_int_equal(msg_from_bytes(&m, buf, n), 0);
		assert_int_equal(m.type, 1);
		for (j = 0; c->reads[j] != '\0'; j++) {
			switch (c->reads[j]) {
			case 'u':
				(void)msg_get_u32(&m);
				break;
			case 'q':
				(void)msg_get_u64(&m);
				break;
			case 's':
				s = msg_get_str(&m);
				assert_non_null(s);
				if (m.bad)
					assert_string_equal(s, "");
				if (got == NULL) {
					got = s;
					gotlen = strlen(s);
				}
				break;
			case 'd':
				d = msg_get_data(&m, &len);
				if (m.bad) {
					assert_null(d);
					assert_int_equal(len, 0);
				}
				if (got == NULL) {
					got = d;
					gotlen = len;
				}
				break;
			}
		}
		if (m.bad != c->bad)
			fail_msg("%s: bad %d", c->name, m.bad);
		if (msg_end(&m) != c->end)
			fail_msg("%s: msg_end %d", c->name, msg_end(&m));
		if (!c->bad && c->want != NULL) {
			assert_non_null(got);
			if (gotlen != strlen(c->want) && c->reads[0] == 's')
				fail_msg("%s: length %zu", c->name, gotlen);
			if (memcmp(got, c->want, gotlen) != 0)
				fail_msg("%s: content", c->name);
		}
		msg_free(&m);
	}
}

/* the exact data lengths of crafted data fields */
static void
test_crafted_data_len(void **state)
{
	unsigned char	 buf[16] = { 0 };
	uint32_t	 v = 4;
	const void	*d;
	size_t		 len;
	struct msg	 m;

	(void)state;
	memcpy(buf + 4, &v, 4);
	memcpy(buf + 8, "ab\0d", 4);
	assert_int_equal(msg_from_bytes(&m, buf, 12), 0);
	d = msg_get_data(&m, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(d, "ab\0d", 4);
	assert_int_equal(msg_end(&m), 0);
	msg_free(&m);
}

static void
test_from_bytes_size(void **state)
{
	static const struct {
		size_t	n;
		int	rc;
	} sz[] = {
		{ 0, -1 }, { 1, -1 }, { 3, -1 }, { 4, 0 }, { 5, 0 },
		{ LIM_IPC_MSG - 1, 0 }, { LIM_IPC_MSG, 0 },
		{ LIM_IPC_MSG + 1, -1 }, { 4 * LIM_IPC_MSG, -1 },
	};
	unsigned char	*buf = calloc(1, 4 * LIM_IPC_MSG);
	struct msg	 m;
	size_t		 i;

	(void)state;
	assert_non_null(buf);
	buf[0] = 9;
	for (i = 0; i < sizeof(sz) / sizeof(sz[0]); i++) {
		if (msg_from_bytes(&m, buf, sz[i].n) != sz[i].rc)
			fail_msg("size %zu", sz[i].n);
		/* freeable either way */
		assert_int_equal(m.fd, -1);
		if (sz[i].rc == 0) {
			assert_int_equal(m.type, 9);
			assert_int_equal(m.len, sz[i].n);
			assert_int_equal(m.pos, 4);
		}
		msg_free(&m);
	}
	free(buf);
}

/* ---- descriptors ---- */

static void
test_fd_pass(void **state)
{
	int		 sv[2], p[2], fd, wfd;
	char		 buf[16];
	struct msg	 m, r;

	(void)state;
	pair(sv);
	assert_int_equal(pipe(p), 0);
	msg_init(&m, M_Q_OPEN_RES);
	msg_add_u64(&m, 1);
	msg_set_fd(&m, p[1]);
	wfd = p[1];
	assert_int_equal(msg_send(sv[0], &m), 0);
	/* the sender's copy is closed once sent */
	assert_int_equal(m.fd, -1);
	assert_true(fd_closed(wfd));
	msg_free(&m);

	assert_int_equal(msg_recv(sv[1], &r), 1);
	assert_true(msg_get_u64(&r) == 1);
	assert_int_equal(msg_end(&r), 0);
	fd = msg_take_fd(&r);
	assert_true(fd >= 0);
	assert_int_equal(msg_take_fd(&r), -1);
	assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	msg_free(&r);
	/* taken: msg_free left it open */
	assert_false(fd_closed(fd));
	assert_int_equal(write(fd, "through", 7), 7);
	close(fd);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "through", 7);
	/* every writer is gone */
	assert_int_equal(read(p[0], buf, sizeof(buf)), 0);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}

static void
test_fd_closed_unsent(void **state)
{
	int		 sv[2], p[2], q[2], fd;
	struct msg	 m, r;

	(void)state;
	/* freed unsent */
	assert_int_equal(pipe(p), 0);
	msg_init(&m, 1);
	msg_set_fd(&m, p[1]);
	msg_free(&m);
	assert_true(fd_closed(p[1]));
	assert_int_equal(m.fd, -1);
	close(p[0]);

	/* replaced: the first is closed */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	msg_init(&m, 1);
	msg_set_fd(&m, p[1]);
	msg_set_fd(&m, q[1]);
	assert_true(fd_closed(p[1]));
	assert_false(fd_closed(q[1]));
	msg_free(&m);
	assert_true(fd_closed(q[1]));
	close(p[0]);
	close(q[0]);

	/* received but not taken: msg_free closes it */
	pair(sv);
	assert_int_equal(pipe(p), 0);
	msg_init(&m, 1);
	msg_set_fd(&m, p[1]);
	assert_int_equal(msg_send(sv[0], &m), 0);
	msg_free(&m);
	assert_int_equal(msg_recv(sv[1], &r), 1);
	fd = r.fd;
	assert_true(fd >= 0);
	msg_free(&r);
	assert_true(fd_closed(fd));
	close(p[0]);

	/* a failed send closes it too, and raises no SIGPIPE */
	assert_int_equal(pipe(p), 0);
	close(sv[1]);
	msg_init(&m, 1);
	msg_set_fd(&m, p[1]);
	errno = 0;
	assert_int_equal(msg_send(sv[0], &m), -1);
	assert_int_equal(errno, EPIPE);
	assert_true(fd_closed(p[1]));
	msg_free(&m);
	close(p[0]);
	close(sv[0]);
}

/* a datagram carrying three descriptors: the first is kept, the rest are
 * closed, none leaks */
static void
test_fd_extra(void **state)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(3 * sizeof(int))];
	}		 cm;
	int		 sv[2], p[2], fds[3], before, fd;
	uint32_t	 type = 3;
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*c;
	struct msg	 r;
	char		 ch;

	(void)state;
	pair(sv);
	assert_int_equal(pipe(p), 0);
	fds[0] = p[1];
	fds[1] = p[1];
	fds[2] = p[0];
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = &type;
	iov.iov_len = sizeof(type);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	assert_int_equal(sendmsg(sv[0], &mh, 0), (ssize_t)sizeof(type));

	before = count_fds();
	assert_int_equal(msg_recv(sv[1], &r), 1);
	assert_int_equal(r.type, 3);
	assert_int_equal(msg_end(&r), 0);
	assert_int_equal(count_fds(), before + 1);
	fd = msg_take_fd(&r);
	msg_free(&r);
	assert_int_equal(write(fd, "k", 1), 1);
	assert_int_equal(read(p[0], &ch, 1), 1);
	assert_int_equal(ch, 'k');
	close(fd);
	assert_int_equal(count_fds(), before);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

static void
test_peer_close(void **state)
{
	int		sv[2];
	struct msg	m, r;

	(void)state;
	pair(sv);
	close(sv[1]);
	assert_int_equal(msg_recv(sv[0], &r), 0);
	close(sv[0]);

	/* queued messages come first, then the close */
	pair(sv);
	msg_init(&m, 11);
	msg_add_str(&m, "last words");
	assert_int_equal(msg_send(sv[1], &m), 0);
	assert_int_equal(msg_send(sv[1], &m), 0);
	msg_free(&m);
	close(sv[1]);
	assert_int_equal(msg_recv(sv[0], &r), 1);
	assert_string_equal(msg_get_str(&r), "last words");
	assert_int_equal(msg_end(&r), 0);
	msg_free(&r);
	assert_int_equal(msg_recv(sv[0], &r), 1);
	msg_free(&r);
	assert_int_equal(msg_recv(sv[0], &r), 0);
	assert_int_equal(msg_recv(sv[0], &r), 0);
	close(sv[0]);

	/* a bad socket is an error */
	errno = 0;
	assert_int_equal(msg_recv(-1, &r), -1);
	assert_int_equal(errno, EBADF);
}

/* ---- the size limit ---- */

/* a message of exactly LIM_IPC_MSG bytes, as data and as a string */
static void
test_max_size(void **state)
{
	unsigned char	*p;
	const void	*d;
	const char	*s;
	size_t		 n, len;
	struct msg	 m, r;
	char		*str;
	int		 sv[2], sz = 0;
	socklen_t	 sl = sizeof(sz);

	(void)state;
	/* unprivileged, SO_SNDBUF stops at 2 * net.core.wmem_max; the kernel
	 * wants sk_sndbuf - 32 >= the datagram (else EMSGSIZE) */
	pair(sv);
	assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, &sl), 0);
	close(sv[0]);
	close(sv[1]);
	if ((size_t)sz < LIM_IPC_MSG + 32) {
		print_message("skipped: SO_SNDBUF %d; run as root or raise "
		    "net.core.wmem_max\n", sz);
		skip();
	}
	n = LIM_IPC_MSG - 8;
	p = malloc(n);
	assert_non_null(p);
	pattern(p, n, 5);
	msg_init(&m, 21);
	msg_add_data(&m, p, n);
	assert_int_equal(m.len, LIM_IPC_MSG);
	sendrecv(&m, &r);
	msg_free(&m);
	assert_int_equal(r.len, LIM_IPC_MSG);
	d = msg_get_data(&r, &len);
	assert_int_equal(len, n);
	assert_memory_equal(d, p, n);
	assert_int_equal(msg_end(&r), 0);
	msg_free(&r);
	free(p);

	str = text(LIM_IPC_MSG - 9, 3);
	msg_init(&m, 22);
	msg_add_str(&m, str);
	assert_int_equal(m.len, LIM_IPC_MSG);
	sendrecv(&m, &r);
	msg_free(&m);
	s = msg_get_str(&r);
	assert_int_equal(strlen(s), LIM_IPC_MSG - 9);
	assert_string_equal(s, str);
	assert_int_equal(msg_end(&r), 0);
	msg_free(&r);
	free(str);

	/* u32 by u32 up to the brim */
	msg_init(&m, 23);
	while (m.len < LIM_IPC_MSG)
		msg_add_u32(&m, (uint32_t)m.len);
	assert_int_equal(m.len, LIM_IPC_MSG);
	sendrecv(&m, &r);
	msg_free(&m);
	for (n = 4; n < LIM_IPC_MSG; n += 4)
		assert_int_equal(msg_get_u32(&r), n);
	assert_int_equal(msg_end(&r), 0);
	msg_free(&r);
}

/* over - one way past LIM_IPC_MSG each; fatalx (exit 1) expected */
static void
over(int which)
{
	static unsigned char	 big[LIM_IPC_MSG];
	struct msg		 m;
	char			*s;

	msg_init(&m, 1);
	switch (which) {
	case 0:		/* data one byte over */
		msg_add_data(&m, big, LIM_IPC_MSG - 7);
		break;
	case 1:		/* a huge length must not wrap */
		msg_add_data(&m, "", SIZE_MAX);
		break;
	case 2:		/* a string whose NUL is one over */
		s = text(LIM_IPC_MSG - 8, 0);
		msg_add_str(&m, s);
		free(s);
		break;
	case 3:		/* a u32 past the brim */
		while (m.len < LIM_IPC_MSG)
			msg_add_u32(&m, 0);
		msg_add_u32(&m, 0);
		break;
	case 4:		/* a u64 straddling the limit */
		while (m.len < LIM_IPC_MSG - 4)
			msg_add_u32(&m, 0);
		msg_add_u64(&m, 0);
		break;
	}
	msg_free(&m);
}

/* each over() in a child must exit(1) */
static void
test_over_size(void **state)
{
	pid_t	pid;
	int	which, st, nul;

	(void)state;
	for (which = 0; which < 5; which++) {
		fflush(NULL);
		pid = fork();
		assert_true(pid != -1);
		if (pid == 0) {
			if ((nul = open("/dev/null", O_WRONLY)) != -1)
				(void)dup2(nul, STDERR_FILENO);
			over(which);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 1)
			fail_msg("case %d: status %#x, want exit 1", which, st);
	}
}

/* ---- struct chan ---- */

#define EX_N		1000
#define BIG_N		200
#define BIG_LEN		(100 * 1024)

struct side {
	struct chan		*c;
	struct event_base	*base;
	struct side		*peer;
	unsigned		 id;
	unsigned		 sent;
	unsigned		 got;
	unsigned		 nulls;
	unsigned		 total;		/* to send and to receive */
	size_t			 biglen;	/* 0: small messages */
	bool			 free_on_null;
	int			 last_fd;	/* fd seen and left in cb */
};

static bool	in_send;

static void
side_send(struct side *s, struct chan *c, unsigned seq)
{
	unsigned char	*p;
	char		 str[64];
	struct msg	 m;
	size_t		 n;

	msg_init(&m, 100 + s->id);
	msg_add_u32(&m, seq);
	msg_add_u64(&m, (uint64_t)seq * 0x9e3779b97f4a7c15ULL);
	(void)snprintf(str, sizeof(str), "seq %u from %u", seq, s->id);
	msg_add_str(&m, str);
	n = s->biglen ? s->biglen : (seq * 37) % 4000;
	p = malloc(n + 1);
	assert_non_null(p);
	pattern(p, n, seq + s->id);
	msg_add_data(&m, p, n);
	free(p);
	in_send = true;
	chan_send(c, &m);
	in_send = false;
	/* chan_send took it over */
	assert_null(m.data);
	assert_int_equal(m.fd, -1);
}

static void
side_check(struct side *s, struct msg *m)
{
	unsigned	 seq = s->got, from = s->peer->id;
	unsigned char	*p;
	const void	*d;
	char		 str[64];
	size_t		 n, len;

	assert_int_equal(m->type, 100 + from);
	assert_int_equal(msg_get_u32(m), seq);
	assert_true(msg_get_u64(m) == (uint64_t)seq * 0x9e3779b97f4a7c15ULL);
	(void)snprintf(str, sizeof(str), "seq %u from %u", seq, from);
	assert_string_equal(msg_get_str(m), str);
	n = s->peer->biglen ? s->peer->biglen : (seq * 37) % 4000;
	d = msg_get_data(m, &len);
	assert_int_equal(len, n);
	p = malloc(n + 1);
	assert_non_null(p);
	pattern(p, n, seq + from);
	assert_memory_equal(d, p, n);
	free(p);
	assert_int_equal(msg_end(m), 0);
	s->got++;
}

static void
side_cb(struct chan *c, struct msg *m, void *arg)
{
	struct side	*s = arg;

	assert_false(in_send);
	assert_true(c == s->c);
	if (m == NULL) {
		s->nulls++;
		if (s->free_on_null) {
			chan_free(c);
			s->c = NULL;
		}
		return;
	}
	if (m->fd != -1) {
		s->last_fd = m->fd;
		return;
	}
	side_check(s, m);
	/* answer from inside the callback while the rest still flows */
	if (s->sent < s->total)
		side_send(s, c, s->sent++);
	if (s->got == s->total && s->peer->got == s->peer->total)
		event_base_loopexit(s->base, NULL);
}

static void
sides(struct side *a, struct side *b, struct event_base *base)
{
	int	sv[2];

	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	pair(sv);
	a->base = b->base = base;
	a->id = 1;
	b->id = 2;
	a->peer = b;
	b->peer = a;
	a->last_fd = b->last_fd = -1;
	a->c = chan_new(base, sv[0], side_cb, a);
	b->c = chan_new(base, sv[1], side_cb, b);
	assert_non_null(a->c);
	assert_non_null(b->c);
	assert_int_equal(chan_fd(a->c), sv[0]);
	assert_int_equal(chan_fd(b->c), sv[1]);
	assert_true((fcntl(sv[0], F_GETFL) & O_NONBLOCK) != 0);
}

/* exchange - queue `early` each way, run the loop until all arrive */
static void
exchange(unsigned total, size_t biglen, unsigned early)
{
	struct event_base	*base = event_base_new();
	struct side		 a, b;
	unsigned		 i;

	assert_non_null(base);
	sides(&a, &b, base);
	a.total = b.total = total;
	a.biglen = b.biglen = biglen;
	for (i = 0; i < early; i++) {
		side_send(&a, a.c, a.sent++);
		side_send(&b, b.c, b.sent++);
	}
	assert_int_equal(a.got, 0);
	assert_int_equal(event_base_dispatch(base), 0);
	assert_int_equal(a.got, total);
	assert_int_equal(b.got, total);
	assert_int_equal(a.sent, total);
	assert_int_equal(b.sent, total);
	assert_int_equal(a.nulls, 0);
	assert_int_equal(b.nulls, 0);
	chan_free(a.c);
	chan_free(b.c);
	event_base_free(base);
}

static void
test_chan_exchange(void **state)
{
	(void)state;
	alarm(60);
	/* 600 each way before the loop, 400 sent from callbacks */
	exchange(EX_N, 0, 600);
	/* all before the loop */
	exchange(EX_N, 0, EX_N);
	/* one to start, the rest ping-pong */
	exchange(EX_N, 0, 1);
	alarm(0);
}

/* 20 MiB each way queued before the loop: far more than the socket
 * buffer, so chan_send must queue rather than block or drop */
static void
test_chan_queue(void **state)
{
	(void)state;
	alarm(60);
	exchange(BIG_N, BIG_LEN, BIG_N);
	alarm(0);
}

static void
test_chan_peer_close(void **state)
{
	struct event_base	*base = event_base_new();
	struct side		 a, b;

	(void)state;
	alarm(60);
	/* the callback frees its channel on NULL */
	sides(&a, &b, base);
	a.free_on_null = true;
	chan_free(b.c);
	assert_int_equal(event_base_dispatch(base), 1);	/* nothing left */
	assert_int_equal(a.nulls, 1);
	assert_null(a.c);

	/* messages already sent arrive, in order, before the NULL */
	sides(&a, &b, base);
	a.total = b.total = 10;
	side_send(&b, b.c, b.sent++);
	side_send(&b, b.c, b.sent++);
	side_send(&b, b.c, b.sent++);
	chan_free(b.c);
	b.c = NULL;
	/* a's answers fail: that is reported once, from the loop */
	(void)event_base_dispatch(base);
	assert_int_equal(a.got, 3);
	assert_int_equal(a.nulls, 1);
	/* once: running the loop again reports nothing more */
	(void)event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(a.nulls, 1);
	/* sending on a closed channel drops the message */
	side_send(&a, a.c, 99);
	(void)event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(a.nulls, 1);
	chan_free(a.c);
	event_base_free(base);
	alarm(0);
}

/* the send fails (EPIPE): NULL once, never from inside chan_send */
static void
test_chan_send_fails(void **state)
{
	struct event_base	*base = event_base_new();
	struct side		 a, b;
	int			 p[2], sv[2];
	unsigned		 i;
	struct msg		 m;

	(void)state;
	alarm(60);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	pair(sv);
	a.base = base;
	a.peer = &b;
	a.last_fd = -1;
	a.c = chan_new(base, sv[0], side_cb, &a);
	close(sv[1]);
	for (i = 0; i < 5; i++)
		side_send(&a, a.c, a.sent++);
	assert_int_equal(a.nulls, 0);
	(void)event_base_dispatch(base);
	assert_int_equal(a.nulls, 1);

	/* a descriptor handed to a dead channel is closed */
	assert_int_equal(pipe(p), 0);
	msg_init(&m, 1);
	msg_set_fd(&m, p[1]);
	chan_send(a.c, &m);
	assert_true(fd_closed(p[1]));
	close(p[0]);
	chan_free(a.c);
	event_base_free(base);
	alarm(0);
}

/* chan_free with a queue still full of big messages frees them all and
 * closes their descriptors */
static void
test_chan_free_queued(void **state)
{
	struct event_base	*base = event_base_new();
	struct side		 a, b;
	int			 p[2], sv[2];
	unsigned		 i;
	struct msg		 m;

	(void)state;
	alarm(60);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	pair(sv);
	a.base = base;
	a.peer = &b;
	a.biglen = BIG_LEN;
	a.c = chan_new(base, sv[0], side_cb, &a);
	for (i = 0; i < 100; i++)
		side_send(&a, a.c, a.sent++);
	assert_int_equal(pipe(p), 0);
	msg_init(&m, 1);
	msg_set_fd(&m, p[1]);
	chan_send(a.c, &m);
	(void)event_base_loop(base, EVLOOP_NONBLOCK);
	/* the peer never read: the fd is still queued with its message */
	assert_false(fd_closed(p[1]));
	assert_int_equal(a.nulls, 0);
	chan_free(a.c);
	assert_true(fd_closed(p[1]));
	assert_true(fd_closed(sv[0]));
	close(p[0]);
	close(sv[1]);
	event_base_free(base);
	alarm(0);
}

/* a descriptor over a channel; one left in the message is closed */
static void
test_chan_fd(void **state)
{
	struct event_base	*base = event_base_new();
	struct side		 a, b;
	int			 p[2], fd;
	struct msg		 m;
	char			 buf[8];

	(void)state;
	alarm(60);
	sides(&a, &b, base);
	assert_int_equal(pipe(p), 0);
	msg_init(&m, 1);
	msg_set_fd(&m, p[1]);
	chan_send(a.c, &m);
	assert_true(fd_closed(p[1]));		/* sent right away */
	(void)event_base_loop(base, EVLOOP_ONCE);
	fd = b.last_fd;
	assert_true(fd >= 0);
	/* side_cb did not take it: it was closed after the callback */
	assert_true(fd_closed(fd));
	assert_int_equal(read(p[0], buf, sizeof(buf)), 0);
	close(p[0]);
	chan_free(a.c);
	chan_free(b.c);
	event_base_free(base);
	alarm(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_read_past_end),
		cmocka_unit_test(test_leftover),
		cmocka_unit_test(test_crafted),
		cmocka_unit_test(test_crafted_data_len),
		cmocka_unit_test(test_from_bytes_size),
		cmocka_unit_test(test_fd_pass),
		cmocka_unit_test(test_fd_closed_unsent),
		cmocka_unit_test(test_fd_extra),
		cmocka_unit_test(test_peer_close),
		cmocka_unit_test(test_max_size),
		cmocka_unit_test(test_over_size),
		cmocka_unit_test(test_chan_exchange),
		cmocka_unit_test(test_chan_queue),
		cmocka_unit_test(test_chan_peer_close),
		cmocka_unit_test(test_chan_send_fails),
		cmocka_unit_test(test_chan_free_queued),
		cmocka_unit_test(test_chan_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
