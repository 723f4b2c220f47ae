/*
 * msgtypes.h - every IPC message between postern's processes: its type,
 * who sends it to whom, and its payload's struct.
 *
 * The codecs in ipc.c are the definition of each payload: the struct in
 * ipc.h (fields in the order they travel, each with its meaning and
 * bound) with its ipc_<type>_put() and ipc_<type>_get().  No process
 * builds or reads a payload field by field.  "fd" means a descriptor
 * travels with the message.  reqid is chosen by the requester and echoed,
 * so answers can come in any order.
 */
#ifndef POSTERN_MSGTYPES_H
#define POSTERN_MSGTYPES_H

enum msg_type {
	M_AUTH_REQ = 1,		/* smtp -> auth: struct ipc_auth_req */
	M_AUTH_RES,		/* auth -> smtp: struct ipc_auth_res */

	M_Q_OPEN,		/* smtp -> queue, at DATA: struct ipc_q_open
				 * (the whole envelope, kept by the queue
				 * for the transaction) */
	M_Q_OPEN_RES,		/* queue -> smtp: struct ipc_q_open_res, fd:
				 * the body file when ok */
	M_Q_COMMIT,		/* smtp -> queue, end of DATA: struct
				 * ipc_q_commit (id and body hash only) */
	M_Q_COMMIT_RES,		/* queue -> smtp: struct ipc_q_commit_res */
	M_Q_ABORT,		/* smtp -> queue: struct ipc_q_abort */

	M_Q_PEER,		/* parent -> queue: struct ipc_fd, the
				 * channel to a new smtp worker */
	M_RELOAD,		/* parent -> queue, parent -> deliver: re-read
				 * the configuration (no payload) */

	M_Q_DELIVER,		/* parent -> queue: struct ipc_fd, the
				 * channel to the deliver process */
	M_D_JOB,		/* queue -> deliver: struct ipc_d_job, fd: the
				 * body, read-only */
	M_D_RESULT,		/* deliver -> queue: struct ipc_d_result,
				 * exactly one for each job */

	M_Q_SIGNER,		/* parent -> queue: struct ipc_fd, the
				 * channel to the signer (the DKIM key
				 * holder) */
	M_K_KEYS,		/* signer -> queue, at start and after each
				 * reload: struct ipc_k_keys, the keys it
				 * holds (names only) */
	M_K_SIGN,		/* queue -> signer: struct ipc_k_sign, a
				 * header digest to sign */
	M_K_SIGN_RES,		/* signer -> queue: struct ipc_k_sign_res,
				 * exactly one for each M_K_SIGN */

	M_V_REQ,		/* smtp -> verifier: struct ipc_v_req */
	M_V_RES,		/* verifier -> smtp: struct ipc_v_res,
				 * exactly one for each request */

	M_Q_RCPT,		/* smtp -> queue, at RCPT: struct
				 * ipc_q_rcpt, an address of ours only the
				 * queue can check (SRS: it holds the
				 * secrets) */
	M_Q_RCPT_RES,		/* queue -> smtp: struct ipc_q_rcpt_res,
				 * exactly one for each M_Q_RCPT */

	/*
	 * postern queue (ctl, as root) -> queue, over the control socket
	 * DATA/queue/control (untrusted-but-local: the queue bounds every
	 * request to Q_CTL_REQ_MAX octets and closes the connection on a
	 * malformed one).  One request per connection; the answer is zero or
	 * more M_CTL_LINE then exactly one M_CTL_END, after which the queue
	 * closes the connection.
	 */
	M_CTL_Q_LIST = 100,	/* no payload: a line per message ("ID AGE
				 * SIZE <FROM> PENDING/TOTAL NEXT"), then one
				 * indented line per recipient pending or
				 * failed, with its last error */
	M_CTL_Q_SHOW,		/* struct ipc_ctl_id: the envelope, one line
				 * a field */
	M_CTL_Q_FLUSH,		/* struct ipc_ctl_id ("": every message):
				 * retry now */
	M_CTL_Q_REMOVE,		/* struct ipc_ctl_id: remove the message */
	M_CTL_LINE,		/* queue -> ctl: struct ipc_ctl_line */
	M_CTL_END,		/* queue -> ctl: struct ipc_ctl_end */
};

enum dr_result {
	DR_OK = 0,		/* accepted by the remote host */
	DR_TEMP = 1,		/* try again later */
	DR_PERM = 2,		/* failed for good: bounce */
};

enum auth_result {
	AUTH_OK = 0,
	AUTH_FAIL = 1,		/* unknown user or wrong password: 535 */
	AUTH_TEMPFAIL = 2,	/* could not check now: 454 */
};

/* a signer key's algorithm (M_K_KEYS): RFC 6376 3.3, RFC 8463 */
enum k_alg {
	K_ALG_RSA_SHA256 = 0,
	K_ALG_ED25519_SHA256 = 1,
	K_ALG_UNREADABLE = 2,	/* the domain has a key that did not read
				 * (selector ""): its mail is refused, 451,
				 * never sent unsigned */
};

/* M_V_RES: what the inbound checks say of a transaction */
enum v_verdict {
	V_ACCEPT = 0,		/* go on (the field goes with the commit) */
	V_TEMP = 1,		/* refuse for now: the 4xx reply */
	V_PERM = 2,		/* refuse: the 5xx reply */
};

/* M_V_REQ's reqid: the session's id with a sequence number in its top
 * byte (smtp's session ids leave it zero), so a late answer to an
 * earlier request of the session is told from the awaited one */
#define V_REQID_SEQ_SHIFT	56

/* M_Q_OPEN and M_D_JOB flags */
#define QF_8BITMIME	0x01u	/* BODY=8BITMIME */
#define QF_SMTPUTF8	0x02u	/* SMTPUTF8 */
#define QF_TLS		0x04u	/* received over TLS */
#define QF_AUTH		0x08u	/* sender authenticated */
#define QF_CHECKED	0x10u	/* inbound checks ran: an Authentication-
				 * Results prefix comes with M_Q_COMMIT, so
				 * no direct delivery (its file is written
				 * at once, nothing goes in front later) */
#define QF_NODSN	0x20u	/* envelope only: it arrived failing SPF, or
				 * DMARC under p=reject (authres_forged):
				 * no DSN to its sender (backscatter) */

#endif
