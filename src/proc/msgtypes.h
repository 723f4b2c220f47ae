/*
 * msgtypes.h - every IPC message between postern's processes.
 *
 * Fields are listed in the order they are added and read.  "fd" means a
 * descriptor travels with the message.  reqid is chosen by the requester
 * and echoed, so answers can come in any order.
 */
#ifndef POSTERN_MSGTYPES_H
#define POSTERN_MSGTYPES_H

enum msg_type {
	/* smtp -> auth: u64 reqid, str user (full address), str password,
	 * str client address (for logs and throttling) */
	M_AUTH_REQ = 1,
	/* auth -> smtp: u64 reqid, u32 auth_result, str canonical user
	 * (lower-case domain; "" unless AUTH_OK) */
	M_AUTH_RES,

	/* smtp -> queue: u64 reqid, str mail from ("" for <>), u32 n, then
	 * n × str recipient (the same as M_Q_COMMIT will carry).  Ask for a
	 * new message: an id and a body file to write.  The queue may make
	 * that file the final Maildir file (a single local recipient: direct
	 * delivery), its header lines already written: smtp only appends. */
	M_Q_OPEN,
	/* queue -> smtp: u64 reqid, u32 ok (1/0), str id (or "" ), str error
	 * text ("" when ok); fd: the body file, O_WRONLY, when ok (empty, or
	 * O_APPEND after the queue's header lines) */
	M_Q_OPEN_RES,
	/* smtp -> queue: u64 reqid, str id, str mail from ("" for <>),
	 * u32 flags (QF_*), str auth user ("" if none), str client
	 * ("helo=H addr=A"), u32 n, then n × str recipient, u64 body hash
	 * (hash64 of every byte smtp wrote into the body file; the spool's
	 * envelope keeps it to tell a complete body after a crash).  The
	 * smtp side has closed the file: the queue takes the size from the
	 * file it opened. */
	M_Q_COMMIT,
	/* queue -> smtp: u64 reqid, str id, u32 ok (1/0), u32 temp (1/0),
	 * str error text */
	M_Q_COMMIT_RES,
	/* smtp -> queue: str id.  The transaction was aborted; drop it. */
	M_Q_ABORT,

	/* parent -> queue: fd: channel to a new smtp worker */
	M_Q_PEER,
	/* parent -> queue, parent -> deliver: re-read the configuration
	 * (no payload) */
	M_RELOAD,

	/* parent -> queue: fd: the channel to the deliver process */
	M_Q_DELIVER,
	/* queue -> deliver: u64 jobid, str msgid, str from ("" for <>),
	 * u32 flags (QF_*), u64 size (body octets), str domain (every
	 * recipient's), u32 n, n x str recipient; fd: the body, read-only,
	 * read with pread from offset 0 (trace header included) */
	M_D_JOB,
	/* deliver -> queue: u64 jobid, u32 n (the job's recipients, in its
	 * order), n x { u32 dr_result, str status ("2.0.0", "4.4.1",
	 * "5.1.1"), str reply (one line: the remote reply, or what went
	 * wrong here), str remote ("host [addr]", or "" when none was
	 * reached) }.  Exactly one result for each job. */
	M_D_RESULT,

	/*
	 * postern queue (ctl, as root) -> queue, over the control socket
	 * DATA/queue/control (untrusted-but-local: the queue bounds every
	 * request to Q_CTL_REQ_MAX octets and closes the connection on a
	 * malformed one).  One request per connection; the answer is zero or
	 * more M_CTL_LINE then exactly one M_CTL_END, after which the queue
	 * closes the connection.
	 */
	M_CTL_Q_LIST = 100,	/* no fields: a line per message ("ID AGE SIZE
				 * <FROM> PENDING/TOTAL NEXT"), then one
				 * indented line per recipient pending or
				 * failed, with its last error */
	M_CTL_Q_SHOW,		/* str id: the envelope, one line a field */
	M_CTL_Q_FLUSH,		/* str id ("": every message): retry now */
	M_CTL_Q_REMOVE,		/* str id: remove the message */
	/* queue -> ctl: str text (one or more lines, each ending in LF) */
	M_CTL_LINE,
	/* queue -> ctl: u32 status (0 ok, 1 unknown id, 2 failed), str
	 * message ("" or one line for stderr) */
	M_CTL_END,
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

/* M_Q_COMMIT flags */
#define QF_8BITMIME	0x01u	/* BODY=8BITMIME */
#define QF_SMTPUTF8	0x02u	/* SMTPUTF8 */
#define QF_TLS		0x04u	/* received over TLS */
#define QF_AUTH		0x08u	/* sender authenticated */

#endif
