/*
 * ctl_send_conn.c - the client side of "postern send": a strict SMTP
 * reply parser (pure) and a blocking connection, plain or TLS.
 *
 * Runs in the postern CLI, as whoever calls it; never in the daemon.
 * Connects to each address of a name in turn, SEND_CONNECT_TIMEOUT
 * seconds each; every read and write then times out after
 * SEND_IO_TIMEOUT seconds.  TLS is >= 1.2; the certificate is checked
 * against the system trust store and a name (or IP address) after the
 * handshake, so that a failure can be reported, and before anything is
 * sent over it.  A reply is bounded by the parser (ctl_send.h); no input
 * buffer grows past the longest reply it accepts.  Progress ("connect
 * ... ok", "starttls ... TLSv1.3 ...") goes to standard output; a
 * failure is also returned in struct err.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "ctl_send.h"
#include "err.h"
#include "io.h"
#include "line.h"
#include "tls.h"

#define CONNECT_TIMEOUT	SEND_CONNECT_TIMEOUT
#define IO_TIMEOUT	SEND_IO_TIMEOUT
#define READ_CHUNK	4096
/* the longest reply the parser accepts, plus one read */
#define IN_CAP		(SEND_REPLY_LINES_MAX * (SEND_REPLY_LINE_MAX + 2) + \
			    READ_CHUNK)

/* --- the reply parser (pure) --------------------------------------------- */

/* reply_code - the code of a line "NNN...", or -1 if not [2-5][0-5][0-9] */
static int
reply_code(const char *l, size_t len)
{
	if (len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '5' ||
	    l[2] < '0' || l[2] > '9')
		return -1;
	return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
}

/* send_reply_parse - parse one complete reply at the start of buf */
enum send_reply_result
send_reply_parse(const char *buf, size_t len, struct send_reply *r,
    size_t *used, struct err *e)
{
	size_t		 off = 0, tlen, lused, i, n;
	const char	*l;
	unsigned char	 ch;
	int		 code;

	r->code = 0;
	r->nlines = 0;
	for (;;) {
		switch (line_find(buf + off, len - off, SEND_REPLY_LINE_MAX,
		    &tlen, &lused)) {
		case LINE_MORE:
			return SEND_REPLY_MORE;
		case LINE_TOO_LONG:
			err_set(e, false, 0, "reply line longer than %d octets",
			    SEND_REPLY_LINE_MAX + 2);
			return SEND_REPLY_BAD;
		case LINE_BARE_LF:
			err_set(e, false, 0, "reply line ends in a bare LF");
			return SEND_REPLY_BAD;
		case LINE_BARE_CR:
			err_set(e, false, 0, "bare CR in a reply line");
			return SEND_REPLY_BAD;
		case LINE_NUL:
			err_set(e, false, 0, "NUL byte in a reply line");
			return SEND_REPLY_BAD;
		case LINE_OK:
			break;
		}
		l = buf + off;
		if ((code = reply_code(l, tlen)) == -1) {
			err_set(e, false, 0, "reply line without a code "
			    "[2-5][0-5][0-9]");
			return SEND_REPLY_BAD;
		}
		if (tlen > 3 && l[3] != ' ' && l[3] != '-') {
			err_set(e, false, 0, "no space or hyphen after the "
			    "reply code %d", code);
			return SEND_REPLY_BAD;
		}
		if (r->nlines > 0 && code != r->code) {
			err_set(e, false, 0, "reply code changes from %d to %d "
			    "within one reply", r->code, code);
			return SEND_REPLY_BAD;
		}
		n = tlen > 4 ? tlen - 4 : 0;
		for (i = 0; i < n; i++) {
			ch = (unsigned char)l[4 + i];
			if (ch == '\t')
				ch = ' ';
			else if (ch < 0x20 || ch == 0x7f)
				ch = '?';
			r->text[r->nlines][i] = (char)ch;
		}
		r->text[r->nlines][n] = '\0';
		r->code = code;
		r->nlines++;
		off += lused;
		if (tlen == 3 || l[3] == ' ') {
			*used = off;
			return SEND_REPLY_OK;
		}
		if (r->nlines == SEND_REPLY_LINES_MAX) {
			err_set(e, false, 0, "reply of more than %d lines",
			    SEND_REPLY_LINES_MAX);
			return SEND_REPLY_BAD;
		}
	}
}

/* tls_errstr - the last OpenSSL error, or errno, or "connection closed" */
static const char *
tls_errstr(char *out, size_t outsz, int saved_errno)
{
	unsigned long	l = ERR_get_error();

	if (l != 0)
		ERR_error_string_n(l, out, outsz);
	else if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)
		(void)snprintf(out, outsz, "timed out after %d s", IO_TIMEOUT);
	else if (saved_errno != 0)
		(void)snprintf(out, outsz, "%s", strerror(saved_errno));
	else
		(void)snprintf(out, outsz, "connection closed by the server");
	ERR_clear_error();
	return out;
}

/* --- the connection ------------------------------------------------------ */

/* send_conn_init - an unconnected c */
void
send_conn_init(struct send_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	buf_init(&c->in, IN_CAP);
}

/* send_conn_close - TLS close_notify if up, close the socket */
void
send_conn_close(struct send_conn *c)
{
	if (c->ssl != NULL) {
		if (!c->broken)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	SSL_CTX_free(c->ctx);
	c->ctx = NULL;
	if (c->fd != -1)
		(void)close(c->fd);
	c->fd = -1;
	buf_release(&c->in);
}

/* connect_one - connect to one address within CONNECT_TIMEOUT; fd or -1 */
static int
connect_one(const struct addrinfo *ai, struct err *e)
{
	struct pollfd	 pfd;
	struct timeval	 tv = { IO_TIMEOUT, 0 };
	socklen_t	 sl = sizeof(int);
	int		 fd, r, soerr = 0;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1)
		return err_set(e, false, errno, "%s", strerror(errno));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS) {
			err_set(e, false, errno, "%s", strerror(errno));
			goto fail;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			r = poll(&pfd, 1, CONNECT_TIMEOUT * 1000);
		while (r == -1 && errno == EINTR);
		if (r == 0) {
			err_set(e, false, ETIMEDOUT, "timed out after %d s",
			    CONNECT_TIMEOUT);
			goto fail;
		}
		if (r == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
		    &sl) == -1) {
			err_set(e, false, errno, "%s", strerror(errno));
			goto fail;
		}
		if (soerr != 0) {
			err_set(e, false, soerr, "%s", strerror(soerr));
			goto fail;
		}
	}
	/* commands and the body go out as written (no Nagle wait) */
	if (io_nodelay(fd) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		err_set(e, false, errno, "%s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	(void)close(fd);
	return -1;
}

/* send_conn_open - resolve host and connect to its addresses in turn */
int
send_conn_open(struct send_conn *c, const char *host, const char *port,
    struct err *e)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 num[INET6_ADDRSTRLEN], why[sizeof(e->msg)];
	bool		 named;
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		if (rc == EAI_SYSTEM)
			return err_set(e, false, errno, "cannot resolve %s: %s",
			    host, strerror(errno));
		return err_set(e, false, 0, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, num, sizeof(num),
		    NULL, 0, NI_NUMERICHOST) != 0)
			(void)snprintf(num, sizeof(num), "?");
		named = strcmp(num, host) != 0;
		if (ai->ai_family == AF_INET6)
			printf("connect [%s]:%s", named ? host : num, port);
		else
			printf("connect %s:%s", named ? host : num, port);
		if (named)
			printf(" (%s)", num);
		printf(" ... ");
		fflush(stdout);
		if ((c->fd = connect_one(ai, e)) != -1) {
			printf("ok\n");
			break;
		}
		printf("%s\n", e->msg);
	}
	freeaddrinfo(res);
	if (c->fd == -1) {
		(void)snprintf(why, sizeof(why), "%s", e->msg);
		return err_set(e, false, e->code, "cannot connect to %s port "
		    "%s: %s", host, port, why);
	}
	return 0;
}

/* conn_fill - read more bytes into c->in (blocking, IO_TIMEOUT) */
static int
conn_fill(struct send_conn *c, struct err *e)
{
	char	 why[200];
	char	*p;
	size_t	 room = c->in.cap - buf_avail(&c->in);
	ssize_t	 n;
	int	 r, se, saved;

	if (room > READ_CHUNK)
		room = READ_CHUNK;
	if (room == 0 || (p = buf_reserve(&c->in, room)) == NULL) {
		c->broken = true;
		return err_set(e, false, 0, "reply longer than %d bytes",
		    IN_CAP - READ_CHUNK);
	}
	if (c->ssl == NULL) {
		do
			n = recv(c->fd, p, room, 0);
		while (n == -1 && errno == EINTR);
		if (n <= 0) {
			saved = n == 0 ? 0 : errno;
			c->broken = true;
			return err_set(e, false, saved, "reading from the "
			    "server: %s", tls_errstr(why, sizeof(why), saved));
		}
	} else {
		ERR_clear_error();
		errno = 0;
		r = SSL_read(c->ssl, p, (int)room);
		if (r <= 0) {
			saved = errno;
			se = SSL_get_error(c->ssl, r);
			c->broken = true;
			if (se == SSL_ERROR_ZERO_RETURN)
				return err_set(e, false, 0, "reading from the "
				    "server: connection closed by the server");
			return err_set(e, false, saved, "reading from the "
			    "server: %s", tls_errstr(why, sizeof(why), saved));
		}
		n = r;
	}
	buf_commit(&c->in, (size_t)n);
	return 0;
}

/* send_conn_reply - read one complete reply into r */
int
send_conn_reply(struct send_conn *c, struct send_reply *r,
    struct err *e)
{
	char	why[sizeof(e->msg)];
	size_t	used;

	for (;;) {
		switch (send_reply_parse(buf_ptr(&c->in), buf_avail(&c->in), r,
		    &used, e)) {
		case SEND_REPLY_OK:
			buf_drain(&c->in, used);
			return 0;
		case SEND_REPLY_BAD:
			c->broken = true;
			(void)snprintf(why, sizeof(why), "%s", e->msg);
			return err_set(e, false, 0, "malformed reply from the "
			    "server: %s", why);
		case SEND_REPLY_MORE:
			break;
		}
		if (conn_fill(c, e) == -1)
			return -1;
	}
}

/* send_conn_write - write all of p (blocking, IO_TIMEOUT) */
int
send_conn_write(struct send_conn *c, const char *p, size_t n, struct err *e)
{
	char	why[200];
	ssize_t	w;
	int	r, saved;

	while (n > 0) {
		errno = 0;
		if (c->ssl != NULL) {
			ERR_clear_error();
			r = SSL_write(c->ssl, p, n > INT_MAX ? INT_MAX :
			    (int)n);
			w = r > 0 ? r : -1;
		} else if ((w = send(c->fd, p, n, MSG_NOSIGNAL)) == -1 &&
		    errno == EINTR)
			continue;
		if (w <= 0) {
			saved = errno;
			c->broken = true;
			return err_set(e, false, saved, "writing to the "
			    "server: %s", tls_errstr(why, sizeof(why), saved));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * send_conn_cmd - send one command line (CRLF added); shown: print it as
 * "-> line".  The line buffer is wiped: it may hold a credential.
 */
int
send_conn_cmd(struct send_conn *c, bool shown, struct err *e,
    const char *fmt, ...)
{
	char	 line[SEND_CMD_MAX + 2];
	va_list	 ap;
	int	 n, rc;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2) {
		explicit_bzero(line, sizeof(line));
		return err_set(e, false, 0, "command too long");
	}
	if (shown)
		printf("-> %s\n", line);
	memcpy(line + n, "\r\n", 2);
	rc = send_conn_write(c, line, (size_t)n + 2, e);
	explicit_bzero(line, sizeof(line));
	return rc;
}

/*
 * send_conn_tls - TLS handshake on c, then report version, cipher and
 * whether the certificate verified against the system store and verify
 * (a DNS name, or an IP address when ip).  Unverified and not insecure:
 * -1, and nothing may be sent over c.
 */
int
send_conn_tls(struct send_conn *c, const char *label, char *verify, bool ip,
    bool insecure, struct err *e)
{
	X509_VERIFY_PARAM	*param;
	X509			*peer;
	char			 why[200];
	long			 vr;
	int			 saved;

	printf("%s ... ", label);
	fflush(stdout);
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1)
		goto tls_error;
	/* the groups every context offers (net/tls.c) */
	if (tls_set_groups(c->ctx, e) == -1) {
		c->broken = true;
		printf("failed\n");
		return -1;
	}
	if (SSL_CTX_set_default_verify_paths(c->ctx) != 1 ||
	    (c->ssl = SSL_new(c->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1)
		goto tls_error;
	/* verify after the handshake, so the failure can be reported */
	SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
	if (verify[0] != '\0') {
		if (ip) {
			param = SSL_get0_param(c->ssl);
			if (X509_VERIFY_PARAM_set1_ip_asc(param, verify) != 1)
				goto tls_error;
		} else if (SSL_set_tlsext_host_name(c->ssl, verify) != 1 ||
		    SSL_set1_host(c->ssl, verify) != 1)
			goto tls_error;
	}
	ERR_clear_error();
	errno = 0;
	if (SSL_connect(c->ssl) != 1) {
		saved = errno;
		c->broken = true;
		tls_errstr(why, sizeof(why), saved);
		printf("failed: %s\n", why);
		return err_set(e, false, saved, "TLS handshake failed: %s%s",
		    why, strcmp(label, "tls") == 0 ? " (a STARTTLS port? try "
		    "--starttls)" : "");
	}
	printf("%s %s, ", SSL_get_version(c->ssl),
	    SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)));
	peer = SSL_get0_peer_certificate(c->ssl);
	vr = SSL_get_verify_result(c->ssl);
	if (peer != NULL && vr == X509_V_OK) {
		printf("certificate verified\n");
		return 0;
	}
	(void)snprintf(why, sizeof(why), "%s", peer == NULL ?
	    "no certificate" : X509_verify_cert_error_string(vr));
	printf("certificate NOT verified (%s)%s\n", why,
	    insecure ? ", going on (--insecure)" : "");
	if (insecure)
		return 0;
	c->broken = true;	/* send nothing more over it */
	return err_set(e, false, 0, "the server's certificate is not verified "
	    "(%s): stopping before anything is sent; --insecure sends anyway",
	    why);
tls_error:
	c->broken = true;
	printf("failed\n");
	return err_set(e, false, 0, "TLS setup failed: %s",
	    tls_errstr(why, sizeof(why), 0));
}
