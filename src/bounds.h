/*
 * bounds.h - every bound on hostile input, named, with its reference.
 *
 * Configurable limits have their default here (DEF_*) and their hard
 * bounds (LIM_*); conf.c enforces the bounds.
 */
#ifndef POSTERN_BOUNDS_H
#define POSTERN_BOUNDS_H

/* RFC 5321 4.5.3.1.1: local part at most 64 octets */
#define LIM_LOCAL_PART		64
/* RFC 5321 4.5.3.1.2: domain at most 255 octets */
#define LIM_DOMAIN		255
/* RFC 5321 4.5.3.1.3: path at most 256 octets including < > */
#define LIM_PATH		256
/* RFC 5321 4.5.3.1.4: command line 512 octets including CRLF */
#define LIM_CMD_LINE		510
/* RFC 4954 4: AUTH line 12,288 octets including CRLF */
#define LIM_AUTH_LINE		12286
/* RFC 5321 4.5.3.1.6: text line 1,000 octets including CRLF */
#define DEF_TEXT_LINE		998
#define LIM_TEXT_LINE_MAX	65536
/* message size (SIZE, RFC 1870) */
#define DEF_MESSAGE_SIZE	(25ULL * 1024 * 1024)
#define LIM_MESSAGE_SIZE_MAX	(1ULL << 31)
/* RFC 5321 4.5.3.1.8: at least 100 recipients must be accepted */
#define DEF_RECIPIENTS		100
#define LIM_RECIPIENTS_MIN	100
#define LIM_RECIPIENTS_MAX	1000
/* RFC 5321 6.3: loop detection by counting Received headers */
#define DEF_MAX_HOPS		50
/* errors (4xx/5xx replies) before a session is closed with 421 */
#define DEF_MAX_ERRORS		10
/* RFC 5321 4.5.3.2.7: server timeout waiting for the next command, 5 min */
#define DEF_IDLE_TIMEOUT	300
/* a whole session, start to end */
#define DEF_SESSION_TIMEOUT	1800
/* concurrent sessions, overall and per client address */
#define DEF_MAX_SESSIONS	1000
#define DEF_MAX_SESSIONS_PER_IP	20
/* AUTH failures in a session before it is closed; delay after each one */
#define DEF_AUTH_MAX_FAILURES	3
#define DEF_AUTH_FAIL_DELAY_MS	1000
/* Header bytes read when counting Received hops */
#define LIM_HEADER_BYTES	(1024 * 1024)
/* listen addresses per kind */
#define LIM_LISTEN		8
/* one IPC message (SOCK_SEQPACKET datagram) */
#define LIM_IPC_MSG		(512 * 1024)
/*
 * IPC fields (src/proc/ipc.c bounds every string it reads): a message id
 * (the queue's are SPOOL_ID_LEN hex characters); one line of text (an
 * error, a status, a remote reply, a client description); a mailbox
 * (local@domain, as auth canonicalises it); an address the queue hands
 * to deliver (from smtp, LIM_PATH, or from an aliases line)
 */
#define LIM_IPC_ID		31
#define LIM_IPC_TEXT		1024
#define LIM_IPC_MAILBOX		(LIM_LOCAL_PART + 1 + LIM_DOMAIN)
#define LIM_IPC_ADDR		4096
/*
 * header lines the queue keeps with a message and writes in front of its
 * stored body at delivery (DKIM signatures, Authentication-Results, an
 * added Date or Message-ID), CRLFs included
 */
#define LIM_PREFIX		(64 * 1024)
/*
 * the signer: keys it may hold (M_K_KEYS), a selector (one DNS label),
 * the digest it signs (SHA-256) and the longest signature (RSA-4096)
 */
#define LIM_SIGNER_KEYS		256
#define LIM_DKIM_KEYS		16	/* keys of one domain */
#define LIM_SELECTOR		63
#define LIM_K_DIGEST		32
#define LIM_K_SIG		512
/*
 * the inbound checks' request and answer (M_V_REQ, M_V_RES): DKIM
 * signatures per message (mauth/dkim_verify.h's DKIM_VERIFY_MAX), a
 * signature's b= in base64 (dkim_sig.h's DKIM_B64_MAX less its NUL), its
 * SHA-256 digest, a reason, a client address as text, the
 * Authentication-Results field (verify/check.h's buffer less its NUL)
 */
#define LIM_IPC_SIGS		8
#define LIM_IPC_DKIM_B		1023
#define LIM_IPC_DIGEST		32
#define LIM_IPC_WHY		255
#define LIM_IPC_ADDRTEXT	63
#define LIM_IPC_AUTHRES		8191
/* characters a recipient normalisation key may name (suffix_separators,
 * drop_characters) */
#define LIM_NORM_CHARS		16
/* users file / aliases file line, config line */
/* addresses granted to one user by a domain's senders file */
#define LIM_SENDER_GRANTS	256
#define LIM_CONF_LINE		4096
/*
 * DKIM (RFC 6376): header fields looked at in one message, and the
 * longest DKIM-Signature field verified (an RSA-4096 b= is 684 bytes,
 * a long h= list a few hundred more)
 */
#define LIM_DKIM_FIELDS		1000
#define LIM_DKIM_SIG_FIELD	8192
/* the queue: client text (smtp's "helo=H addr=A") kept per message;
 * longer in an M_Q_OPEN makes it malformed */
#define Q_CLIENT_MAX		1024
/* the queue's control socket: octets of one request from "postern
 * queue" (an id and a verb); more closes the connection */
#define Q_CTL_REQ_MAX		4096
/* the queue: recipients per M_D_JOB and per M_D_RESULT read from the
 * deliver process (RFC 5321 4.5.3.1.8: 100 recipients per transaction) */
#define Q_RJOB_MAX		100

#endif
