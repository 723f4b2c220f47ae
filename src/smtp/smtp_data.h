/*
 * smtp_data.h - the DATA body reader (pure state machine, no I/O).
 *
 * Fed the raw bytes after "354", it finds the end of data strictly at
 * CRLF.CRLF (RFC 5321 4.1.1.4), removes dot-stuffing (4.5.2), and appends
 * the body to out with CRLF line ends.  A bare LF or bare CR never ends a
 * line that could be the terminator and never starts one (SMTP
 * smuggling): under BARE_LF_REJECT it marks the message SD_ERR_BARE_LF,
 * under BARE_LF_NORMALIZE it is stored as CRLF.  On any error, output
 * stops but reading goes on to the terminator so the session stays in
 * step.  It counts Received: header fields (hops) while in the header,
 * and drops every Authentication-Results field that names strip_id (ours:
 * RFC 8601 5, a forgery otherwise) before it reaches out.
 * smtp_data_received() writes our own Received header, from given facts.
 */
#ifndef POSTERN_SMTP_DATA_H
#define POSTERN_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conf.h"

struct buf;

enum smtp_data_error {
	SD_OK,
	SD_ERR_SIZE,		/* 552 5.3.4 Message too big */
	SD_ERR_LINE,		/* 554 5.6.0 Line too long */
	SD_ERR_BARE_LF,		/* 550 5.6.0 Bare LF or CR */
	SD_ERR_NUL,		/* 550 5.6.0 NUL octet */
	SD_ERR_HOPS,		/* 554 5.4.6 Too many hops */
	SD_ERR_OUTPUT,		/* the out buf refused bytes (internal) */
};

/*
 * an Authentication-Results field is held until its end to read its
 * authserv-id; one longer than this is dropped whatever it names (a
 * comment that long before the id could hide ours)
 */
#define SMTP_DATA_AR_HOLD	8192

struct smtp_data {
	/* settings */
	unsigned long long	 max_size;	/* body octets, after unstuffing */
	size_t			 max_line;	/* text octets without CRLF */
	unsigned		 max_hops;
	enum bare_lf_policy	 bare_lf;
	/* drop the A-R fields naming it; NULL: none (set after init) */
	const char		*strip_id;
	/* result */
	enum smtp_data_error	 error;		/* first error seen */
	bool			 done;		/* terminator consumed */
	unsigned long long	 size;		/* body octets produced */
	unsigned		 hops;		/* Received: fields seen */
	unsigned long long	 written;	/* octets put into out */
	unsigned		 stripped;	/* A-R fields dropped */
	/* state (private) */
	int			 st;
	size_t			 linelen;
	bool			 in_header;
	char			 hdr[16];	/* start of the current line */
	size_t			 hdrlen;
	int			 ar;		/* the A-R filter's state */
	int			 ar_cont;	/* a continuation line's */
	bool			 ar_held;	/* a field waits in arbuf */
	size_t			 arlen;
	char			 arbuf[SMTP_DATA_AR_HOLD];
};

void		smtp_data_init(struct smtp_data *, unsigned long long max_size,
		    size_t max_line, unsigned max_hops, enum bare_lf_policy);
/*
 * smtp_data_feed - consume bytes from in; returns how many were consumed.
 * Stops right after the terminator (d->done), leaving the rest (pipelined
 * commands) to the caller.
 */
size_t		smtp_data_feed(struct smtp_data *, const char *in, size_t len,
		    struct buf *out);
/* smtp_data_reply - the reply line for d->error ("250 ..." never) */
const char	*smtp_data_reply(enum smtp_data_error);

/* what the Received header of a message records */
struct smtp_data_trace {
	const char	*helo;		/* the client's EHLO/HELO name */
	const char	*addr;		/* the client's address, as text */
	const char	*hostname;	/* ours */
	const char	*msgid;		/* the queue id */
	const char	*rcpt;		/* the only recipient, or NULL */
	const char	*tls_version;	/* NULL: no TLS */
	const char	*tls_cipher;
	bool		 esmtp;		/* EHLO, not HELO */
	bool		 authenticated;
	bool		 smtputf8;
	time_t		 now;
};

/*
 * smtp_data_received - append the trace header (RFC 5321 4.4), protocol
 * named per RFC 3848 and RFC 6531 (ESMTP, ESMTPS, ESMTPSA, UTF8SMTP...),
 * with the TLS details and the queue id; 0, or -1 if b refused bytes.
 */
int		smtp_data_received(struct buf *,
		    const struct smtp_data_trace *);

#endif
