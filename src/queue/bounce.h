/*
 * bounce.h - delivery status notifications (RFC 3464), built by the queue
 * for a message whose recipients failed or are delayed (pure apart from
 * reading the original message through a file descriptor with pread).
 *
 * bounce_build() writes one complete RFC 5322 message, CRLF line ends, no
 * line over 998 octets:
 *   From: Mail Delivery System <MAILER-DAEMON@hostname>, To: <from>,
 *   Subject "Undelivered Mail Returned to Sender" or, for a warning,
 *   "Delayed Mail (still being retried)", Date, a fresh Message-ID
 *   <id.bounce.N.R@hostname>, Auto-Submitted: auto-replied (RFC 3834), and a
 *   multipart/report; report-type=delivery-status body of three parts:
 *   1. text/plain: what happened to each recipient, in plain words;
 *   2. message/delivery-status: Reporting-MTA, Arrival-Date, then per
 *      recipient Original-Recipient (only when orig differs from addr),
 *      Final-Recipient, Action (failed/delayed), Status, Remote-MTA,
 *      Diagnostic-Code and, for a delayed recipient with retry_hours > 0,
 *      Will-Retry-Until;
 *   3. text/rfc822-headers: the original message's header section only
 *      (up to its first empty line), read from offset 0 of body_fd; at most
 *      BOUNCE_MAX_HEADERS octets of the original are read, and without an
 *      empty line in them what there is (complete lines) is included.  The
 *      body of the original never appears in a bounce.
 * Every caller-supplied value is made header-safe (CR, LF and other control
 * characters removed) and long ones are folded.  The boundary is random and
 * checked against the text of all three parts.
 */
#ifndef POSTERN_BOUNCE_H
#define POSTERN_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct buf;
struct err;

/* octets of the original message read for the text/rfc822-headers part */
#define BOUNCE_MAX_HEADERS	(64 * 1024)

struct bounce_rcpt {
	const char	*addr;		/* final recipient (after aliases) */
	const char	*orig;		/* as the client gave it, or NULL */
	const char	*status;	/* "5.1.1"; NULL or malformed: taken from
					 * diag, else 5.0.0 / 4.0.0 */
	const char	*diag;		/* remote reply line, e.g. "550 5.1.1
					 * <x@y>: user unknown", or NULL */
	const char	*remote_mta;	/* host name, or NULL */
	bool		 failed;	/* true: failed; false: delayed */
};

struct bounce_msg {
	const char		*id;		/* our queue id */
	const char		*hostname;	/* our host name */
	const char		*from;		/* envelope sender: the bounce goes there */
	time_t			 arrival;	/* when we accepted it; 0: unknown */
	const struct bounce_rcpt *rcpts;
	size_t			 nrcpts;	/* at least 1 */
	bool			 warning;	/* a delay warning, not a failure */
	unsigned		 retry_hours;	/* we give up retry_hours after
						 * arrival; 0: not said */
	const char		*prefix;	/* header lines delivered in
						 * front of the stored message
						 * (its envelope's), or NULL */
};

/*
 * bounce_build - append the notification for m to out.  body_fd is the
 * original message (read with pread, its offset is not moved).  Returns
 * 0, or -1 with e set and out unchanged: a permanent error for bad
 * arguments (including a sender bounce_wanted() refuses) or an output
 * larger than out's cap, a temporary one when body_fd cannot be read.
 */
int	bounce_build(const struct bounce_msg *m, int body_fd, struct buf *out,
	    struct err *e);

/*
 * bounce_wanted - may a bounce be sent to this envelope sender?  Never to
 * the null sender ("" or "<>", so never for a bounce itself) nor to a
 * sender whose local part is MAILER-DAEMON, in any case (RFC 5321 6.1,
 * RFC 3834).
 */
bool	bounce_wanted(const char *envelope_from);

#endif
