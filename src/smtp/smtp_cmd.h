/*
 * smtp_cmd.h - pure parsers for SMTP command arguments (RFC 5321 4.1).
 *
 * On failure, e->msg holds the complete reply line to send, e.g.
 * "501 5.1.7 Bad sender address syntax" or "555 5.5.4 Unsupported
 * parameter NOTIFY"; e->code is 0.
 */
#ifndef POSTERN_SMTP_CMD_H
#define POSTERN_SMTP_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

struct err;

enum body_type {
	BODY_7BIT,
	BODY_8BITMIME,
};

struct mail_args {
	bool			 null_sender;	/* MAIL FROM:<> */
	struct mailbox		 mb;
	bool			 had_route;	/* a source route was dropped */
	bool			 has_size;
	unsigned long long	 size;		/* SIZE= (RFC 1870) */
	enum body_type		 body;		/* BODY= (RFC 6152) */
	bool			 smtputf8;	/* SMTPUTF8 (RFC 6531) */
};

struct rcpt_args {
	struct mailbox		 mb;		/* domain "" for <postmaster> */
	bool			 postmaster;	/* RCPT TO:<postmaster> */
	bool			 had_route;
};

/*
 * smtp_cmd_parse_mail - arg is what follows "MAIL ": "FROM:<path> params".
 * Leniency: spaces after the colon are allowed.  Parameters: SIZE=n,
 * BODY=7BIT|8BITMIME, SMTPUTF8, AUTH=xtext (accepted, ignored); anything
 * else is 555.  UTF-8 in the path needs SMTPUTF8 on the same command.
 */
int	smtp_cmd_parse_mail(const char *arg, size_t len, struct mail_args *,
	    struct err *);
/*
 * smtp_cmd_parse_rcpt - arg is what follows "RCPT ": "TO:<path> params".
 * utf8 tells whether the transaction is SMTPUTF8.  No parameters are
 * supported (DSN is not announced): any is 555.
 */
int	smtp_cmd_parse_rcpt(const char *arg, size_t len, bool utf8,
	    struct rcpt_args *, struct err *);
/*
 * smtp_cmd_parse_helo - the EHLO/HELO argument: a domain or an address
 * literal, copied into out.  Anything after the first space is ignored
 * (RFC 5321 4.1.1.1 allows no more, but clients send it).
 */
int	smtp_cmd_parse_helo(const char *arg, size_t len, char *out,
	    size_t outsz, struct err *);

#endif
