/*
 * io.c - buffered, timed, optionally TLS connection on the event loop.
 *
 * Used by the smtp process (hostile input) and later by outbound
 * delivery.  The io owns the socket, both buffers (hard caps given at
 * creation) and the SSL object; the session above it sees only events and
 * bytes.  Rules it keeps: input is never read past in_cap; at the start of
 * a handshake buffered plaintext is dropped; SSL_pending() data is drained
 * after each read; a callback may io_free() its own io (freed on return).
 * Buffers shrink back when idle, so an idle connection costs little.
 *
 * Writes: whatever the owner queues during one callback (a reply, a
 * pipelined group of replies, body chunks) leaves in one send() or
 * SSL_write() (full TLS records), never piece by piece; and every TCP
 * socket an io gets is TCP_NODELAY (io_nodelay), so that a small write
 * after another one, a reply after the TLS 1.3 session tickets, is not
 * held by Nagle until the peer's delayed ACK (about 40 ms).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "io.h"
#include "log.h"
#include "xmalloc.h"

#define IO_READ_CHUNK	65536	/* one read at most; the input cap bounds it */
#define IO_IDLE_KEEP	8192	/* buffers above this are freed when empty */

enum io_tls {
	IOT_NONE,
	IOT_HANDSHAKE,
	IOT_ON,
};

struct io {
	int			 fd;
	struct event		*rev;
	struct event		*wev;
	struct event		*tev;
	struct event		*kick;
	io_cb			 cb;
	void			*arg;
	struct buf		 in;
	struct buf		 out;
	SSL			*ssl;
	enum io_tls		 tls;
	bool			 want_read;	/* SSL asked for readability */
	bool			 want_write;	/* SSL asked for writability */
	bool			 tls_pending;	/* handshake once output is out */
	bool			 paused;
	bool			 client;	/* TLS client side (outbound) */
	bool			 closing;
	bool			 dead;		/* final event delivered */
	int			 in_cb;
	bool			 freed;
	unsigned		 timeout;
	char			 err[128];
};

static void	io_update(struct io *);
static void	io_do_read(struct io *);
static void	io_flush(struct io *);
static void	io_handshake(struct io *);

static void
io_really_free(struct io *io)
{
	event_free(io->rev);
	event_free(io->wev);
	event_free(io->tev);
	event_free(io->kick);
	if (io->ssl != NULL)
		SSL_free(io->ssl);
	if (io->fd != -1)
		close(io->fd);
	buf_release(&io->in);
	buf_release(&io->out);
	free(io);
}

/* io_dispatch - call the owner; true if the io was freed meanwhile */
static bool
io_dispatch(struct io *io, enum io_event ev)
{
	if (io->dead)
		return false;
	if (ev == IO_CLOSED || ev == IO_ERROR || ev == IO_TIMEOUT) {
		if (ev != IO_TIMEOUT)
			io->dead = true;
	}
	io->in_cb++;
	io->cb(io, ev, io->arg);
	io->in_cb--;
	if (io->freed && io->in_cb == 0) {
		io_really_free(io);
		return true;
	}
	return false;
}

static void
io_fail(struct io *io, const char *what)
{
	unsigned long	 e = ERR_get_error();
	char		 ebuf[96];

	if (e != 0) {
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		snprintf(io->err, sizeof(io->err), "%s: %s", what, ebuf);
	} else if (errno != 0)
		snprintf(io->err, sizeof(io->err), "%s: %s", what,
		    strerror(errno));
	else
		snprintf(io->err, sizeof(io->err), "%s", what);
	ERR_clear_error();
	event_del(io->rev);
	event_del(io->wev);
	event_del(io->tev);
	(void)io_dispatch(io, IO_ERROR);
}

static void
io_shrink(struct io *io)
{
	if (buf_avail(&io->in) == 0 && io->in.size > IO_IDLE_KEEP)
		buf_release(&io->in);
	if (buf_avail(&io->out) == 0 && io->out.size > IO_IDLE_KEEP)
		buf_release(&io->out);
}

/*
 * io_kick_pending - plaintext left inside OpenSSL (a record larger than
 * the room we had) makes the socket look idle: come back for it
 */
static void
io_kick_pending(struct io *io)
{
	if (io->tls == IOT_ON && !io->paused && SSL_pending(io->ssl) > 0 &&
	    buf_avail(&io->in) < io->in.cap)
		event_active(io->kick, 0, 0);
}

/* io_after_cb - flush replies the callback queued, then re-arm */
static void
io_after_cb(struct io *io)
{
	if (io->dead)
		return;
	io_kick_pending(io);
	if (io->tls != IOT_HANDSHAKE && buf_avail(&io->out) > 0)
		io_flush(io);
	else
		io_update(io);
}

static void
io_handshake(struct io *io)
{
	int	rc, e;

	ERR_clear_error();
	rc = io->client ? SSL_connect(io->ssl) : SSL_accept(io->ssl);
	if (rc == 1) {
		io->tls = IOT_ON;
		io->want_read = io->want_write = false;
		if (io_dispatch(io, IO_TLSREADY))
			return;
		/* a client may have sent its first command with the Finished */
		if (!io->dead && !io->paused && SSL_pending(io->ssl) > 0)
			event_active(io->kick, 0, 0);
		io_after_cb(io);	/* may free io: nothing after it */
		return;
	}
	e = SSL_get_error(io->ssl, rc);
	if (e == SSL_ERROR_WANT_READ) {
		io->want_read = true;
		io->want_write = false;
	} else if (e == SSL_ERROR_WANT_WRITE) {
		io->want_write = true;
		io->want_read = false;
	} else {
		io_fail(io, e == SSL_ERROR_SYSCALL && errno == 0 ?
		    "TLS handshake: connection closed" : "TLS handshake");
		return;
	}
	io_update(io);
}

/* io_read_some - append to io->in: >0 bytes, 0 EOF, -1 would block, -2 error */
static ssize_t
io_read_some(struct io *io, char *w, size_t room)
{
	ssize_t	n;
	int	rc, e;

	if (io->tls == IOT_NONE) {
		do
			n = read(io->fd, w, room);
		while (n == -1 && errno == EINTR);
		if (n == -1)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? -1 : -2;
		return n;
	}
	ERR_clear_error();
	rc = SSL_read(io->ssl, w, (int)(room > INT32_MAX ? INT32_MAX : room));
	if (rc > 0)
		return rc;
	e = SSL_get_error(io->ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return -1;
	if (e == SSL_ERROR_WANT_WRITE) {
		io->want_write = true;
		return -1;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)
		return 0;	/* EOF without close_notify */
	return -2;
}

static void
io_do_read(struct io *io)
{
	size_t	 room, got = 0;
	ssize_t	 n;
	char	*w;
	bool	 eof = false;

	if (io->tls_pending)
		return;
	for (;;) {
		/* the cap may have been lowered below what is buffered */
		if (buf_avail(&io->in) >= io->in.cap)
			break;
		room = io->in.cap - buf_avail(&io->in);
		if (room > IO_READ_CHUNK)
			room = IO_READ_CHUNK;
		if ((w = buf_reserve(&io->in, room)) == NULL)
			break;
		n = io_read_some(io, w, room);
		if (n == -1)
			break;
		if (n == -2) {
			io_fail(io, io->tls == IOT_NONE ? "read" : "TLS read");
			return;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		buf_commit(&io->in, (size_t)n);
		got += (size_t)n;
		/* plain sockets: one read per wakeup is enough */
		if (io->tls == IOT_NONE && (size_t)n < room)
			break;
	}
	if (got > 0) {
		if (io->timeout > 0) {
			struct timeval tv = { (time_t)io->timeout, 0 };

			event_add(io->tev, &tv);
		}
		if (!io->paused) {
			if (io_dispatch(io, IO_DATAIN))
				return;
		}
	}
	if (eof) {
		event_del(io->rev);
		event_del(io->wev);
		event_del(io->tev);
		(void)io_dispatch(io, IO_CLOSED);
		return;
	}
	io_after_cb(io);
}

static void
io_flush(struct io *io)
{
	ssize_t	n;
	int	rc, e;

	io->want_write = false;
	while (buf_avail(&io->out) > 0) {
		if (io->tls == IOT_NONE) {
			do
				n = send(io->fd, buf_ptr(&io->out),
				    buf_avail(&io->out), MSG_NOSIGNAL);
			while (n == -1 && errno == EINTR);
			if (n == -1) {
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				io_fail(io, "write");
				return;
			}
		} else {
			ERR_clear_error();
			rc = SSL_write(io->ssl, buf_ptr(&io->out),
			    (int)(buf_avail(&io->out) > INT32_MAX ? INT32_MAX :
			    buf_avail(&io->out)));
			if (rc <= 0) {
				e = SSL_get_error(io->ssl, rc);
				if (e == SSL_ERROR_WANT_WRITE)
					break;
				if (e == SSL_ERROR_WANT_READ) {
					io->want_read = true;
					break;
				}
				io_fail(io, "TLS write");
				return;
			}
			n = rc;
		}
		buf_drain(&io->out, (size_t)n);
	}
	if (buf_avail(&io->out) == 0) {
		if (io->tls_pending) {
			/* the STARTTLS reply is out: now the handshake */
			io->tls_pending = false;
			io->tls = IOT_HANDSHAKE;
			io->want_read = true;
			io_handshake(io);
			return;
		}
		if (io->closing) {
			if (io->ssl != NULL && io->tls == IOT_ON)
				(void)SSL_shutdown(io->ssl);
			(void)shutdown(io->fd, SHUT_WR);
			event_del(io->rev);
			event_del(io->wev);
			event_del(io->tev);
			(void)io_dispatch(io, IO_CLOSED);
			return;
		}
		if (io_dispatch(io, IO_DRAINED))
			return;
		/* after the owner had its chance to refill (a body being
		 * streamed keeps its buffer) */
		io_shrink(io);
	}
	io_update(io);
}

/* io_update - arm the read and write events for what is wanted now */
static void
io_update(struct io *io)
{
	bool	r, w;

	if (io->dead || io->freed)
		return;
	if (io->tls == IOT_HANDSHAKE) {
		r = io->want_read;
		w = io->want_write;
	} else if (io->tls_pending) {
		r = false;
		w = true;
	} else {
		r = !io->closing && buf_avail(&io->in) < io->in.cap &&
		    (!io->paused || io->tls == IOT_ON) ;
		/* while paused, a plain socket is not read: the kernel
		 * buffer applies back-pressure */
		if (io->paused && io->tls == IOT_NONE)
			r = false;
		r = r || io->want_read;
		w = buf_avail(&io->out) > 0 || io->want_write || io->closing;
	}
	if (r)
		event_add(io->rev, NULL);
	else
		event_del(io->rev);
	if (w)
		event_add(io->wev, NULL);
	else
		event_del(io->wev);
}

static void
io_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct io	*io = arg;

	(void)fd;
	(void)what;
	if (io->tls == IOT_HANDSHAKE) {
		io_handshake(io);
		return;
	}
	if (io->want_read && buf_avail(&io->out) > 0) {
		/* SSL_write wanted to read; the level-triggered read event
		 * brings us back for the input itself */
		io->want_read = false;
		io_flush(io);
		return;
	}
	io_do_read(io);
}

static void
io_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct io	*io = arg;

	(void)fd;
	(void)what;
	if (io->tls == IOT_HANDSHAKE) {
		io_handshake(io);
		return;
	}
	if (io->want_write && buf_avail(&io->out) == 0) {
		/* SSL_read wanted to write */
		io->want_write = false;
		io_do_read(io);
		return;
	}
	io_flush(io);
}

static void
io_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct io	*io = arg;

	(void)fd;
	(void)what;
	if (io_dispatch(io, IO_TIMEOUT))
		return;
	io_after_cb(io);
}

/* io_on_kick - resume after a pause: input left in the buffer or in SSL */
static void
io_on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct io	*io = arg;

	(void)fd;
	(void)what;
	if (io->dead || io->paused || io->tls == IOT_HANDSHAKE)
		return;
	/* first what is already buffered, then what OpenSSL holds */
	if (buf_avail(&io->in) > 0 && io_dispatch(io, IO_DATAIN))
		return;
	if (io->dead || io->paused)
		return;
	if (io->tls == IOT_ON && SSL_pending(io->ssl) > 0 &&
	    buf_avail(&io->in) < io->in.cap)
		io_do_read(io);
	else
		io_after_cb(io);
}

/* io_nodelay - TCP_NODELAY on a TCP socket; anything else is left alone */
int
io_nodelay(int fd)
{
	int	on = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		return errno == EOPNOTSUPP || errno == ENOPROTOOPT ||
		    errno == ENOTSOCK ? 0 : -1;
	return 0;
}

struct io *
io_new(struct event_base *base, int fd, io_cb cb, void *arg, size_t in_cap,
    size_t out_cap)
{
	struct io	*io = xcalloc(1, sizeof(*io));

	if (io_nodelay(fd) == -1)
		log_debug("io: TCP_NODELAY: %s", strerror(errno));
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
	buf_init(&io->in, in_cap);
	buf_init(&io->out, out_cap);
	io->rev = event_new(base, fd, EV_READ | EV_PERSIST, io_on_read, io);
	io->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, io_on_write, io);
	io->tev = event_new(base, -1, 0, io_on_timeout, io);
	io->kick = event_new(base, -1, 0, io_on_kick, io);
	if (io->rev == NULL || io->wev == NULL || io->tev == NULL ||
	    io->kick == NULL)
		fatalx("event_new");
	io_update(io);
	return io;
}

void
io_free(struct io *io)
{
	if (io == NULL)
		return;
	if (io->in_cb > 0) {
		io->freed = true;
		event_del(io->rev);
		event_del(io->wev);
		event_del(io->tev);
		event_del(io->kick);
		return;
	}
	io_really_free(io);
}

void
io_set_timeout(struct io *io, unsigned seconds)
{
	struct timeval	tv = { (time_t)seconds, 0 };

	io->timeout = seconds;
	if (seconds > 0)
		event_add(io->tev, &tv);
	else
		event_del(io->tev);
}

void
io_pause(struct io *io, bool pause)
{
	if (io->paused == pause)
		return;
	io->paused = pause;
	if (!pause)
		event_active(io->kick, 0, 0);
	if (io->in_cb == 0)
		io_update(io);
}

struct buf *
io_in(struct io *io)
{
	return &io->in;
}

int
io_write(struct io *io, const void *p, size_t n)
{
	if (io->dead || io->freed)
		return -1;
	if (buf_add(&io->out, p, n) == -1)
		return -1;
	/* never flush here: a failed write would free the io (and its
	 * owner) under the caller's feet; the write event does it */
	if (io->in_cb == 0)
		io_update(io);
	return 0;
}

/* io_set_in_cap - a new input cap; input buffered past it stays, and no
 * more is read until the owner has drained it below */
void
io_set_in_cap(struct io *io, size_t cap)
{
	io->in.cap = cap;
	if (io->in_cb == 0)
		io_update(io);
}

/* io_reserve - output room to write in place (io_commit queues it) */
char *
io_reserve(struct io *io, size_t n)
{
	if (io->dead || io->freed)
		return NULL;
	return buf_reserve(&io->out, n);
}

/* io_commit - queue n bytes written at io_reserve()'s pointer */
void
io_commit(struct io *io, size_t n)
{
	buf_commit(&io->out, n);
	if (io->in_cb == 0)
		io_update(io);
}

int
io_printf(struct io *io, const char *fmt, ...)
{
	va_list	 ap;
	char	 line[1024];
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	return io_write(io, line, (size_t)n);
}

size_t
io_out_pending(const struct io *io)
{
	return buf_avail(&io->out);
}

void
io_close_after_flush(struct io *io)
{
	io->closing = true;
	if (io->in_cb == 0)
		io_update(io);
}

int
io_start_tls(struct io *io, SSL_CTX *ctx)
{
	if (io->tls != IOT_NONE)
		return -1;
	if ((io->ssl = SSL_new(ctx)) == NULL)
		return -1;
	if (SSL_set_fd(io->ssl, io->fd) != 1)
		return -1;
	SSL_set_mode(io->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/* nothing sent in the clear before the handshake is read after it */
	buf_reset(&io->in);
	if (buf_avail(&io->out) > 0) {
		/* the reply to STARTTLS goes out in the clear first */
		io->tls_pending = true;
		if (io->in_cb == 0)
			io_update(io);
		return 0;
	}
	/* the client speaks first in a handshake: wait for its hello */
	io->tls = IOT_HANDSHAKE;
	io->want_read = true;
	io->want_write = false;
	if (io->in_cb == 0)
		io_update(io);
	return 0;
}

/*
 * io_start_tls_client - begin a client handshake (outbound STARTTLS,
 * after the peer's 220).  Whatever the peer sent in the clear after that
 * reply is dropped, like on the server side.  The certificate is checked
 * against the context's store and peer: a host name (also sent as SNI,
 * SSL_set1_host) or a numeric address (an address literal destination:
 * matched against the certificate's IP addresses, and no SNI, which
 * carries names only: RFC 6066 3).  The handshake goes on when the check
 * fails: io_tls_verify_result() tells the owner.
 */
int
io_start_tls_client(struct io *io, SSL_CTX *ctx, const char *peer)
{
	unsigned char	ip[sizeof(struct in6_addr)];
	char		name[256];
	bool		numeric;

	if (io->tls != IOT_NONE || io->tls_pending || io->ssl != NULL)
		return -1;
	if ((io->ssl = SSL_new(ctx)) == NULL)
		return -1;
	if (SSL_set_fd(io->ssl, io->fd) != 1)
		goto fail;
	SSL_set_mode(io->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_set_connect_state(io->ssl);
	numeric = peer != NULL && (inet_pton(AF_INET, peer, ip) == 1 ||
	    inet_pton(AF_INET6, peer, ip) == 1);
	if (numeric && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(io->ssl),
	    peer) != 1)
		goto fail;
	/* a copy: the SNI macro casts its argument to a plain void * */
	if (!numeric && peer != NULL && *peer != '\0' &&
	    (snprintf(name, sizeof(name), "%s", peer) >= (int)sizeof(name) ||
	    SSL_set_tlsext_host_name(io->ssl, name) != 1 ||
	    SSL_set1_host(io->ssl, peer) != 1))
		goto fail;
	/* opportunistic: verify, record, never abort on the result */
	SSL_set_verify(io->ssl, SSL_VERIFY_NONE, NULL);
	io->client = true;
	buf_reset(&io->in);
	/* the client speaks first: send the hello when writable */
	io->tls = IOT_HANDSHAKE;
	io->want_read = false;
	io->want_write = true;
	if (io->in_cb == 0)
		io_update(io);
	return 0;
fail:
	ERR_clear_error();
	SSL_free(io->ssl);
	io->ssl = NULL;
	return -1;
}

long
io_tls_verify_result(const struct io *io)
{
	if (io->ssl == NULL || io->tls != IOT_ON)
		return -1;
	return SSL_get_verify_result(io->ssl);
}

bool
io_is_tls(const struct io *io)
{
	return io->tls == IOT_ON;
}

const char *
io_tls_version(const struct io *io)
{
	return io->ssl != NULL ? SSL_get_version(io->ssl) : "";
}

const char *
io_tls_cipher(const struct io *io)
{
	return io->ssl != NULL ? SSL_get_cipher_name(io->ssl) : "";
}

const char *
io_tls_sni(const struct io *io)
{
	const char	*s;

	if (io->ssl == NULL)
		return "";
	s = SSL_get_servername(io->ssl, TLSEXT_NAMETYPE_host_name);
	return s != NULL ? s : "";
}

const char *
io_error(const struct io *io)
{
	return io->err;
}

int
io_fd(const struct io *io)
{
	return io->fd;
}
