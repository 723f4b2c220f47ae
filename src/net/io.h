/*
 * io.h - one non-blocking connection on the event loop: input and output
 * buffers with hard caps, an idle timeout, and TLS (server side, or
 * client side for outbound) that the session never sees.  The owner gets
 * events through one callback; io_free() is safe from inside it.
 */
#ifndef POSTERN_IO_H
#define POSTERN_IO_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "buf.h"

struct event_base;

enum io_event {
	IO_DATAIN,	/* new bytes in io_in() */
	IO_DRAINED,	/* all output written */
	IO_TLSREADY,	/* TLS handshake done */
	IO_TIMEOUT,	/* no input for the idle timeout */
	IO_CLOSED,	/* peer closed (EOF) */
	IO_ERROR,	/* socket or TLS error: io_error() says which */
};

struct io;
typedef void	(*io_cb)(struct io *, enum io_event, void *arg);

/* io_new - an io owning fd; a TCP fd is made TCP_NODELAY (io_nodelay) */
struct io	*io_new(struct event_base *, int fd, io_cb, void *arg,
		    size_t in_cap, size_t out_cap);
/*
 * io_nodelay - TCP_NODELAY on fd: every write goes out at once instead
 * of waiting (Nagle) for the ACK of the previous one.  0, also for a
 * socket that is not TCP; -1 on error (errno).
 */
int		 io_nodelay(int fd);
/* io_free - close and free; deferred when called from the callback */
void		 io_free(struct io *);
void		 io_set_timeout(struct io *, unsigned seconds);
/* io_pause - stop (true) or resume (false) delivering IO_DATAIN */
void		 io_pause(struct io *, bool);
struct buf	*io_in(struct io *);
/* io_set_in_cap - change the input cap given to io_new (a larger one for
 * a message body, say); what is buffered past a lower one stays */
void		 io_set_in_cap(struct io *, size_t cap);
/* io_write - queue output; flushed when the callback returns (or now) */
int		 io_write(struct io *, const void *, size_t);
/*
 * io_reserve - room for n more output bytes, to be written in place
 * (no copy) and queued by io_commit(io, used), used <= n; NULL if the
 * output would pass its cap or the io is closed
 */
char		*io_reserve(struct io *, size_t n);
void		 io_commit(struct io *, size_t used);
int		 io_printf(struct io *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
size_t		 io_out_pending(const struct io *);
/* io_close_after_flush - close once the output is written (IO_CLOSED) */
void		 io_close_after_flush(struct io *);
/*
 * io_start_tls - begin a server handshake (STARTTLS or implicit TLS).
 * Buffered plaintext input is discarded first: nothing a client sent
 * before the handshake is read after it (CVE-2011-0411 class).
 */
int		 io_start_tls(struct io *, SSL_CTX *);
/*
 * io_start_tls_client - begin a client handshake (outbound STARTTLS);
 * peer is a host name (SNI, name check) or a numeric address (IP check,
 * no SNI); buffered plaintext is dropped.  The handshake does not fail
 * on an unverified certificate.
 */
int		 io_start_tls_client(struct io *, SSL_CTX *, const char *peer);
/* io_tls_verify_result - X509_V_OK (0), an X509_V_ERR_*, or -1: no TLS */
long		 io_tls_verify_result(const struct io *);
bool		 io_is_tls(const struct io *);
const char	*io_tls_version(const struct io *);
const char	*io_tls_cipher(const struct io *);
const char	*io_tls_sni(const struct io *);
const char	*io_error(const struct io *);
int		 io_fd(const struct io *);

#endif
