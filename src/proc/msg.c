/*
 * msg.c - typed IPC messages and event-driven channels.
 *
 * Runs in every process.  A message is one SOCK_SEQPACKET datagram, so
 * framing is the kernel's; descriptors travel with SCM_RIGHTS.  Readers
 * are exact: msg_end() fails on a short or a long message, and the caller
 * treats that as a broken invariant (fatalx), never as input to cope with.
 * Limits: LIM_IPC_MSG bytes a message, one descriptor a message.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "log.h"
#include "msg.h"
#include "xmalloc.h"

struct chan_out {
	struct chan_out	*next;
	struct msg	 m;
};

struct chan {
	int		 fd;
	struct event	*rev;
	struct event	*wev;
	chan_cb		 cb;
	void		*arg;
	struct chan_out	*head;
	struct chan_out	*tail;
	unsigned char	*rbuf;
	bool		 failed;	/* a send failed; report from the loop */
	bool		 closed;
};

/* msg_grow - make room for n more bytes (LIM_IPC_MSG at most) */
static void
msg_grow(struct msg *m, size_t n)
{
	size_t	ncap;

	if (n > LIM_IPC_MSG - m->len)
		fatalx("ipc message type %u too large", m->type);
	if (m->len + n <= m->cap)
		return;
	ncap = m->cap ? m->cap : 256;
	while (ncap < m->len + n)
		ncap *= 2;
	m->data = xreallocarray(m->data, ncap, 1);
	m->cap = ncap;
}

/* msg_init - start a message of the given type */
void
msg_init(struct msg *m, uint32_t type)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->type = type;
	msg_add_u32(m, type);
}

/* msg_add_raw - bytes as they are, no length */
static void
msg_add_raw(struct msg *m, const void *p, size_t n)
{
	msg_grow(m, n);
	if (n > 0)
		memcpy(m->data + m->len, p, n);
	m->len += n;
}

/* msg_add_data - u32 length, the bytes (what msg_get_data() reads) */
void
msg_add_data(struct msg *m, const void *p, size_t n)
{
	if (n > LIM_IPC_MSG)
		fatalx("ipc message type %u too large", m->type);
	msg_add_u32(m, (uint32_t)n);
	msg_add_raw(m, p, n);
}

/* msg_add_u32 - a u32, host order */
void
msg_add_u32(struct msg *m, uint32_t v)
{
	msg_add_raw(m, &v, sizeof(v));
}

/* msg_add_u64 - a u64, host order */
void
msg_add_u64(struct msg *m, uint64_t v)
{
	msg_add_raw(m, &v, sizeof(v));
}

/* msg_add_str - u32 length, the bytes, a NUL */
void
msg_add_str(struct msg *m, const char *s)
{
	size_t	n = strlen(s);

	if (n >= LIM_IPC_MSG)
		fatalx("ipc message type %u too large", m->type);
	msg_add_u32(m, (uint32_t)n);
	msg_add_raw(m, s, n + 1);
}

/* msg_set_fd - attach a descriptor, closing one attached before */
void
msg_set_fd(struct msg *m, int fd)
{
	if (m->fd != -1)
		close(m->fd);
	m->fd = fd;
}

/* msg_free - wipe and free the data, close an unclaimed descriptor */
void
msg_free(struct msg *m)
{
	if (m == NULL)
		return;
	/* messages are small and may carry a password: wipe them */
	if (m->data != NULL)
		explicit_bzero(m->data, m->len);
	free(m->data);
	m->data = NULL;
	m->len = m->cap = m->pos = 0;
	if (m->fd != -1)
		close(m->fd);
	m->fd = -1;
}

/* msg_take - the next n bytes, or NULL (and the message bad) */
static const void *
msg_take(struct msg *m, size_t n)
{
	const void	*p;

	if (m->bad || m->len - m->pos < n) {
		m->bad = true;
		return NULL;
	}
	p = m->data + m->pos;
	m->pos += n;
	return p;
}

/* msg_get_u32 - the next u32; 0 (and the message bad) on error */
uint32_t
msg_get_u32(struct msg *m)
{
	const void	*p = msg_take(m, sizeof(uint32_t));
	uint32_t	 v = 0;

	if (p != NULL)
		memcpy(&v, p, sizeof(v));
	return v;
}

/* msg_get_u64 - the next u64; 0 (and the message bad) on error */
uint64_t
msg_get_u64(struct msg *m)
{
	const void	*p = msg_take(m, sizeof(uint64_t));
	uint64_t	 v = 0;

	if (p != NULL)
		memcpy(&v, p, sizeof(v));
	return v;
}

/* msg_get_str - a string in place; "" (and the message bad) on error */
const char *
msg_get_str(struct msg *m)
{
	uint32_t	 n = msg_get_u32(m);
	const char	*s;

	if (m->bad || n >= m->len)
		goto bad;
	if ((s = msg_take(m, (size_t)n + 1)) == NULL)
		goto bad;
	if (s[n] != '\0' || memchr(s, '\0', n) != NULL)
		goto bad;
	return s;
bad:
	m->bad = true;
	return "";
}

/* msg_get_data - u32 length and bytes in place; NULL if bad */
const void *
msg_get_data(struct msg *m, size_t *len)
{
	uint32_t	 n = msg_get_u32(m);
	const void	*p;

	if (m->bad || (p = msg_take(m, n)) == NULL) {
		m->bad = true;
		*len = 0;
		return NULL;
	}
	*len = n;
	return p;
}

/* msg_take_fd - the passed descriptor, now the caller's; -1 if none */
int
msg_take_fd(struct msg *m)
{
	int	fd = m->fd;

	m->fd = -1;
	return fd;
}

/* msg_end - 0 if every byte was read and nothing ran short */
int
msg_end(struct msg *m)
{
	if (m->bad || m->pos != m->len)
		return -1;
	return 0;
}

/* msg_from_bytes - a datagram as received; reading starts after the type */
int
msg_from_bytes(struct msg *m, const void *p, size_t n)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (n < sizeof(uint32_t) || n > LIM_IPC_MSG)
		return -1;
	m->data = xmalloc(n);
	memcpy(m->data, p, n);
	m->len = m->cap = n;
	m->type = msg_get_u32(m);
	return 0;
}

/* msg_sendmsg - one datagram with its fd; non-blocking or not per socket */
static int
msg_sendmsg(int sock, const struct msg *m, int flags)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cm;
	struct cmsghdr	*c;
	ssize_t		 n;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = m->data;
	iov.iov_len = m->len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (m->fd != -1) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &m->fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	return 0;
}

/* msg_recvmsg - one datagram into m: 1 message, 0 closed, -1 error */
static int
msg_recvmsg(int sock, struct msg *m, unsigned char *buf, int flags)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 4)];
	}		 cm;
	struct cmsghdr	*c;
	ssize_t		 n;
	int		 fd = -1, extra;
	size_t		 i, nfd;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = LIM_IPC_MSG;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			memcpy(&extra, CMSG_DATA(c) + i * sizeof(int),
			    sizeof(int));
			if (fd == -1)
				fd = extra;
			else
				close(extra);
		}
	}
	if (n == 0) {
		if (fd != -1)
			close(fd);
		return 0;
	}
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0)
		fatalx("ipc message truncated");
	if (msg_from_bytes(m, buf, (size_t)n) == -1)
		fatalx("ipc message of %zd bytes", n);
	m->fd = fd;
	return 1;
}

/* msg_recv - blocking receive of one message */
int
msg_recv(int sock, struct msg *m)
{
	unsigned char	*buf = xmalloc(LIM_IPC_MSG);
	int		 rc;

	rc = msg_recvmsg(sock, m, buf, 0);
	/* it may have carried a password */
	explicit_bzero(buf, LIM_IPC_MSG);
	free(buf);
	return rc;
}

/* msg_send - blocking send of one message; its descriptor closed after */
int
msg_send(int sock, struct msg *m)
{
	int	rc;

	rc = msg_sendmsg(sock, m, 0);
	if (m->fd != -1) {
		close(m->fd);
		m->fd = -1;
	}
	return rc;
}

/* msg_sockbuf - ask for sz; the kernel caps SO_SNDBUF at
 * net.core.wmem_max (212992 by default, too small for a LIM_IPC_MSG
 * datagram: EMSGSIZE), so the privileged parent forces it */
static void
msg_sockbuf(int fd, int sz)
{
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

/* msg_socketpair - a SOCK_SEQPACKET pair with room for large messages */
int
msg_socketpair(int sv[2])
{
	int	sz = 4 * LIM_IPC_MSG;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	msg_sockbuf(sv[0], sz);
	msg_sockbuf(sv[1], sz);
	return 0;
}

/* chan_closed - tell the owner, once, that the channel is gone */
static void
chan_closed(struct chan *c)
{
	if (c->closed)
		return;
	c->closed = true;
	event_del(c->rev);
	event_del(c->wev);
	c->cb(c, NULL, c->arg);
}

/* chan_flush - send queued messages until the socket is full */
static void
chan_flush(struct chan *c)
{
	struct chan_out	*o;

	while ((o = c->head) != NULL) {
		if (msg_sendmsg(c->fd, &o->m, MSG_DONTWAIT) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS) {
				event_add(c->wev, NULL);
				return;
			}
			/* report the failure from the loop, not from inside
			 * the caller's chan_send() */
			log_warn("ipc send");
			c->failed = true;
			event_active(c->rev, EV_READ, 0);
			return;
		}
		c->head = o->next;
		if (c->head == NULL)
			c->tail = NULL;
		msg_free(&o->m);
		free(o);
	}
}

/* chan_on_write - the socket has room again */
static void
chan_on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	chan_flush(arg);
}

/* chan_on_read - messages arrived: hand them to the owner */
static void
chan_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct chan	*c = arg;
	struct msg	 m;
	int		 rc, i;

	(void)what;
	if (c->failed) {
		chan_closed(c);
		return;
	}
	/* a bounded number per wakeup keeps the loop fair */
	for (i = 0; i < 64 && !c->closed; i++) {
		rc = msg_recvmsg(fd, &m, c->rbuf, MSG_DONTWAIT);
		if (rc == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (rc <= 0) {
			if (rc == -1)
				log_warn("ipc receive");
			chan_closed(c);
			return;
		}
		c->cb(c, &m, c->arg);
		msg_free(&m);
	}
}

/* chan_new - a channel on a socket, reading at once */
struct chan *
chan_new(struct event_base *base, int fd, chan_cb cb, void *arg)
{
	struct chan	*c = xcalloc(1, sizeof(*c));
	int		 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("fcntl ipc socket");
	c->fd = fd;
	c->cb = cb;
	c->arg = arg;
	c->rbuf = xmalloc(LIM_IPC_MSG);
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, chan_on_read, c);
	c->wev = event_new(base, fd, EV_WRITE, chan_on_write, c);
	if (c->rev == NULL || c->wev == NULL)
		fatalx("event_new");
	event_add(c->rev, NULL);
	return c;
}

/* chan_send - queue m for sending; never calls back */
void
chan_send(struct chan *c, struct msg *m)
{
	struct chan_out	*o;

	if (c->closed || c->failed) {
		msg_free(m);
		return;
	}
	o = xcalloc(1, sizeof(*o));
	o->m = *m;
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (c->tail != NULL)
		c->tail->next = o;
	else
		c->head = o;
	c->tail = o;
	if (c->head == o)
		chan_flush(c);
}

/* chan_fd - the channel's socket */
int
chan_fd(const struct chan *c)
{
	return c->fd;
}

/* chan_free - drop what is queued, close the socket */
void
chan_free(struct chan *c)
{
	struct chan_out	*o, *next;

	if (c == NULL)
		return;
	for (o = c->head; o != NULL; o = next) {
		next = o->next;
		msg_free(&o->m);
		free(o);
	}
	event_free(c->rev);
	event_free(c->wev);
	close(c->fd);
	free(c->rbuf);
	free(c);
}
