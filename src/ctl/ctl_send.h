/*
 * ctl_send.h - the client side of "postern send" (ctl_send_conn.c): an
 * SMTP reply parser (pure, no I/O) and a blocking connection.
 *
 * A reply is one or more lines "NNN-text" ending with "NNN text" or a bare
 * "NNN" (RFC 5321 4.2), every line with the same code, each ending in CRLF.
 * The parser is strict: a bare LF or CR, a NUL byte, a code that is not
 * [2-5][0-5][0-9], a line without a separator, a change of code, a line
 * over the RFC limit and a reply of too many lines are errors.  Other
 * control characters in the text are stored as '?', so the text is safe to
 * print on a terminal.
 */
#ifndef POSTERN_CTL_SEND_H
#define POSTERN_CTL_SEND_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"
#include "buf.h"

struct err;
struct ssl_st;
struct ssl_ctx_st;

/* RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with its CRLF */
#define SEND_REPLY_LINE_MAX	510
/* the text after "NNN-" */
#define SEND_REPLY_TEXT_MAX	(SEND_REPLY_LINE_MAX - 4)
/* lines in one reply (an EHLO reply has one per extension) */
#define SEND_REPLY_LINES_MAX	64

struct send_reply {
	int	 code;				/* 200 .. 559 */
	size_t	 nlines;			/* 1 .. SEND_REPLY_LINES_MAX */
	char	 text[SEND_REPLY_LINES_MAX][SEND_REPLY_TEXT_MAX + 1];
};

enum send_reply_result {
	SEND_REPLY_MORE,	/* no complete reply yet; read more */
	SEND_REPLY_OK,		/* *r is the reply; *used bytes consumed */
	SEND_REPLY_BAD,		/* malformed; e says why; stop reading */
};

/*
 * send_reply_parse - parse the reply at the start of buf (len bytes).
 * *r and *used are meaningful only for SEND_REPLY_OK.
 */
enum send_reply_result send_reply_parse(const char *buf, size_t len,
	    struct send_reply *r, size_t *used, struct err *e);

/* seconds: to connect to one address; for each read or write after */
#define SEND_CONNECT_TIMEOUT	10
#define SEND_IO_TIMEOUT		30
/* RFC 4954 4: the longest command line, an AUTH one (without CRLF) */
#define SEND_CMD_MAX		LIM_AUTH_LINE

struct send_conn {
	int			 fd;
	struct ssl_ctx_st	*ctx;
	struct ssl_st		*ssl;		/* non-NULL once TLS is up */
	struct buf		 in;		/* bytes not parsed yet */
	bool			 broken;	/* I/O failed: say no QUIT */
};

/* send_conn_init - an unconnected c */
void	send_conn_init(struct send_conn *c);
/*
 * send_conn_open - resolve host, connect to its addresses in turn,
 * printing "connect HOST:PORT ... ok" (or why not) for each
 */
int	send_conn_open(struct send_conn *c, const char *host,
	    const char *port, struct err *e);
/*
 * send_conn_tls - TLS handshake, printing "label ... VERSION CIPHER,
 * certificate verified" or "NOT verified (why)"; verify is a DNS name
 * (also sent as SNI), or an IP address when ip, or "" for none.  An
 * unverified certificate is -1 unless insecure.
 */
int	send_conn_tls(struct send_conn *c, const char *label, char *verify,
	    bool ip, bool insecure, struct err *e);
/* send_conn_reply - read one complete reply into r */
int	send_conn_reply(struct send_conn *c, struct send_reply *r,
	    struct err *e);
/* send_conn_write - write all of p */
int	send_conn_write(struct send_conn *c, const char *p, size_t n,
	    struct err *e);
/*
 * send_conn_cmd - send one command line, CRLF added; shown: print it as
 * "-> line" (never pass shown with a credential in the line)
 */
int	send_conn_cmd(struct send_conn *c, bool shown, struct err *e,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* send_conn_close - close_notify if TLS is up and sound, close, free */
void	send_conn_close(struct send_conn *c);

#endif
