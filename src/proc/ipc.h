/*
 * ipc.h - one typed codec per IPC message (ipc.c): the structs below are
 * the definition of every payload (msgtypes.h lists the types and who
 * sends them to whom).  Fields travel in the order they are declared.
 *
 * ipc_<type>_put() starts the message (msg_init) and adds every field;
 * the caller sends it.  ipc_<type>_get() reads a received message of that
 * type: exact (msg_end's leftover check), every string and list bounded
 * (bounds.h), and *out filled only on success; strings point into the
 * message and live as long as it does.  On failure it returns -1 with e
 * set; what the caller does then is the caller's rule: a trusted sibling
 * is a broken invariant (fatalx), a hostile smtp worker loses its channel,
 * "postern queue" its connection.
 */
#ifndef POSTERN_IPC_H
#define POSTERN_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

struct err;
struct msg;

/* M_AUTH_REQ, smtp -> auth: check a password */
struct ipc_auth_req {
	uint64_t	 reqid;		/* the session's, echoed */
	const char	*user;		/* full address, as the client sent it
					   (LIM_AUTH_LINE) */
	const char	*password;	/* (LIM_AUTH_LINE) */
	const char	*client;	/* client address, for logs and
					   throttling (LIM_IPC_TEXT) */
};

/* M_AUTH_RES, auth -> smtp */
struct ipc_auth_res {
	uint64_t	 reqid;
	uint32_t	 result;	/* enum auth_result */
	const char	*user;		/* canonical user (lower-case domain);
					   "" unless AUTH_OK (LIM_IPC_MAILBOX) */
	uint64_t	 issued;	/* AUTH_OK: the ticket's time */
	const char	*ticket;	/* AUTH_OK: ticket.h's proof of user
					   at issued, TICKET_HEX digits;
					   else "" */
};

/*
 * M_Q_OPEN, smtp -> queue, at DATA: the whole envelope, which the queue
 * keeps for the transaction (M_Q_COMMIT does not repeat it).  Ask for a
 * new message: an id and a body file to write.  The queue may make that
 * file the final Maildir file (a single local recipient: direct
 * delivery), its header lines already written: smtp only appends.
 */
struct ipc_q_open {
	uint64_t	 reqid;
	const char	*from;		/* "" for <> (LIM_PATH) */
	uint32_t	 flags;		/* QF_*: all known at DATA */
	const char	*auth;		/* authenticated user, "" if none
					   (LIM_IPC_MAILBOX) */
	uint64_t	 auth_issued;	/* its ticket (M_AUTH_RES), which the */
	const char	*auth_ticket;	/* queue checks; "" if none */
	const char	*client;	/* "helo=H addr=A" (Q_CLIENT_MAX) */
	uint32_t	 nrcpts;	/* 1 .. LIM_RECIPIENTS_MAX on the wire:
					   0 is let through, the queue refuses
					   it at commit */
	const char	*rcpts[LIM_RECIPIENTS_MAX];	/* (LIM_PATH each) */
};

/* M_Q_OPEN_RES, queue -> smtp */
struct ipc_q_open_res {
	uint64_t	 reqid;
	bool		 ok;
	const char	*id;		/* "" unless ok (LIM_IPC_ID) */
	const char	*error;		/* "" when ok (LIM_IPC_TEXT) */
	int		 fd;		/* ok: the body file, O_WRONLY (empty,
					   or O_APPEND after the queue's header
					   lines); else -1.  put: the message
					   takes it; get: the caller's */
};

/*
 * M_Q_COMMIT, smtp -> queue, at the end of DATA: only what is new since
 * M_Q_OPEN.  smtp has closed the file; the queue takes the size from the
 * file it opened.
 */
struct ipc_q_commit {
	uint64_t	 reqid;
	const char	*id;		/* (LIM_IPC_ID) */
	uint64_t	 body_hash;	/* hash64 of every byte smtp wrote into
					   the body file (the spool's envelope
					   keeps it to tell a complete body
					   after a crash) */
	const char	*prefix;	/* header lines for the front of the
					   body (the Authentication-Results
					   field of a checked session), CRLF
					   each, "" (or NULL: put) for none
					   (LIM_PREFIX; the queue checks the
					   lines) */
};

/* M_Q_COMMIT_RES, queue -> smtp */
struct ipc_q_commit_res {
	uint64_t	 reqid;
	const char	*id;		/* (LIM_IPC_ID) */
	bool		 ok;
	bool		 temp;		/* a failure is temporary (4xx) */
	const char	*error;		/* "" when ok (LIM_IPC_TEXT) */
};

/* M_Q_ABORT, smtp -> queue: the transaction was aborted; drop it */
/* M_Q_RCPT: may this recipient be taken (an SRS address of ours)? */
struct ipc_q_rcpt {
	uint64_t	 reqid;
	const char	*addr;		/* (LIM_PATH) */
};

/* M_Q_RCPT_RES: the queue's answer */
struct ipc_q_rcpt_res {
	uint64_t	 reqid;
	bool		 ok;
	const char	*reply;		/* the refusal, "" when ok
					   (LIM_IPC_TEXT) */
};

struct ipc_q_abort {
	const char	*id;		/* (LIM_IPC_ID) */
};

/* M_Q_PEER (parent -> queue: a new smtp worker's channel), M_Q_DELIVER
 * and M_Q_SIGNER (parent -> queue: the deliver process's, the signer's
 * channel): a descriptor only */
struct ipc_fd {
	int		 fd;		/* never -1 */
};

/*
 * M_D_JOB, queue -> deliver: one domain's recipients of a message; the
 * body travels as fd, read-only, read with pread from offset 0 (trace
 * header included).
 */
struct ipc_d_job {
	uint64_t	 jobid;
	const char	*msgid;		/* (LIM_IPC_ID) */
	const char	*from;		/* "" for <> (LIM_IPC_ADDR) */
	uint32_t	 flags;		/* QF_* */
	uint64_t	 size;		/* body octets */
	const char	*prefix;	/* header lines sent before the body,
					   "" for none (LIM_PREFIX) */
	const char	*domain;	/* every recipient's (LIM_IPC_ADDR) */
	uint32_t	 nrcpts;	/* 1 .. Q_RJOB_MAX */
	const char	*rcpts[Q_RJOB_MAX];	/* (LIM_IPC_ADDR each) */
	int		 fd;		/* the body, or -1 if none came */
};

/* one key of M_K_KEYS */
struct ipc_k_key {
	const char	*domain;	/* d= (LIM_DOMAIN) */
	const char	*selector;	/* s= (LIM_SELECTOR) */
	uint32_t	 alg;		/* enum k_alg */
};

/* M_K_KEYS, signer -> queue: every key the signer holds now */
struct ipc_k_keys {
	uint32_t	 n;		/* 0 .. LIM_SIGNER_KEYS */
	struct ipc_k_key v[LIM_SIGNER_KEYS];
};

/* M_K_SIGN, queue -> signer: sign this digest with that key */
struct ipc_k_sign {
	uint64_t	 reqid;
	const char	*domain;	/* (LIM_DOMAIN) */
	const char	*selector;	/* (LIM_SELECTOR) */
	const unsigned char *digest;	/* exactly LIM_K_DIGEST octets */
};

/* M_K_SIGN_RES, signer -> queue */
struct ipc_k_sign_res {
	uint64_t	 reqid;
	bool		 ok;
	const unsigned char *sig;	/* ok: 1 .. LIM_K_SIG octets */
	size_t		 siglen;	/* 0 unless ok */
	const char	*error;		/* "" when ok (LIM_IPC_TEXT) */
};

/* one recipient's outcome in M_D_RESULT */
struct ipc_d_rcpt {
	uint32_t	 dr;		/* enum dr_result */
	const char	*status;	/* "2.0.0", "4.4.1", "5.1.1"
					   (LIM_IPC_TEXT) */
	const char	*reply;		/* one line: the remote reply, or what
					   went wrong here (LIM_IPC_TEXT) */
	const char	*remote;	/* "host [addr]", "" when none was
					   reached (LIM_IPC_TEXT) */
};

/* M_D_RESULT, deliver -> queue: exactly one for each job, a result for
 * each of its recipients in its order */
struct ipc_d_result {
	uint64_t		 jobid;
	uint32_t		 n;	/* 0 .. Q_RJOB_MAX */
	struct ipc_d_rcpt	 r[Q_RJOB_MAX];
};

/* M_CTL_Q_SHOW, M_CTL_Q_FLUSH ("": every message), M_CTL_Q_REMOVE, ctl
 * -> queue over the control socket */
struct ipc_ctl_id {
	const char	*id;		/* (LIM_IPC_ID) */
};

/* M_CTL_LINE, queue -> ctl: one or more lines of an answer */
struct ipc_ctl_line {
	const char	*text;		/* (bounded by the message only) */
};

/* M_CTL_END, queue -> ctl: the last message of an answer */
struct ipc_ctl_end {
	uint32_t	 status;	/* 0 ok, 1 unknown id, 2 failed */
	const char	*text;		/* "" or one line for stderr
					   (LIM_IPC_TEXT) */
};

/*
 * one DKIM signature in M_V_REQ: what the session computed while DATA
 * streamed (mauth/dkim_verify.c), all the key check needs
 */
struct ipc_v_sig {
	bool		 usable;	/* parsed, digests made */
	bool		 body_ok;	/* bh= matched */
	bool		 partial;	/* l= shorter than the body */
	uint32_t	 alg;		/* enum dkim_alg: 0 rsa, 1 ed25519 */
	const char	*d;		/* (LIM_DOMAIN) */
	const char	*s;		/* (LIM_DOMAIN) */
	const char	*i;		/* (LIM_PATH) */
	const char	*b;		/* base64 (LIM_IPC_DKIM_B) */
	bool		 has_x;
	uint64_t	 x;		/* x=, when has_x */
	const void	*digest;	/* LIM_IPC_DIGEST octets exactly */
	const char	*why;		/* "" or why not usable or failed
					   (LIM_IPC_WHY) */
};

/*
 * M_V_REQ, smtp -> verifier: check one transaction (spf_only: at MAIL,
 * SPF alone; else at the end of DATA, everything)
 */
struct ipc_v_req {
	uint64_t	 reqid;		/* the session's, echoed */
	bool		 spf_only;
	const char	*addr;		/* the client's address, text
					   (LIM_IPC_ADDRTEXT) */
	const char	*helo;		/* (LIM_DOMAIN) */
	const char	*from;		/* MAIL FROM, "" for <> (LIM_PATH) */
	const char	*author;	/* From's domain, "" if none
					   (LIM_DOMAIN) */
	bool		 author_bad;	/* no From, or not one address */
	bool		 header_bad;	/* the header did not split */
	uint32_t	 nsigs;		/* 0 .. LIM_IPC_SIGS */
	struct ipc_v_sig sigs[LIM_IPC_SIGS];
};

/* M_V_RES, verifier -> smtp */
struct ipc_v_res {
	uint64_t	 reqid;
	uint32_t	 verdict;	/* enum v_verdict */
	const char	*reply;		/* "" for V_ACCEPT, else the whole
					   reply line (LIM_IPC_TEXT) */
	const char	*authres;	/* the Authentication-Results field,
					   CRLF-terminated; "" after spf_only
					   (LIM_IPC_AUTHRES) */
};

/* the recipient list ("u32 n, then n strings"), shared by every codec
 * that carries one; get: -1 (message bad) past max or maxlen */
void	ipc_strs_put(struct msg *, const char *const *, uint32_t n);
int	ipc_strs_get(struct msg *, const char **, uint32_t max, size_t maxlen,
	    uint32_t *n);

void	ipc_auth_req_put(struct msg *, const struct ipc_auth_req *);
int	ipc_auth_req_get(struct msg *, struct ipc_auth_req *, struct err *);
void	ipc_auth_res_put(struct msg *, const struct ipc_auth_res *);
int	ipc_auth_res_get(struct msg *, struct ipc_auth_res *, struct err *);
void	ipc_q_open_put(struct msg *, const struct ipc_q_open *);
int	ipc_q_open_get(struct msg *, struct ipc_q_open *, struct err *);
void	ipc_q_open_res_put(struct msg *, const struct ipc_q_open_res *);
int	ipc_q_open_res_get(struct msg *, struct ipc_q_open_res *,
	    struct err *);
void	ipc_q_commit_put(struct msg *, const struct ipc_q_commit *);
int	ipc_q_commit_get(struct msg *, struct ipc_q_commit *, struct err *);
void	ipc_q_commit_res_put(struct msg *, const struct ipc_q_commit_res *);
int	ipc_q_commit_res_get(struct msg *, struct ipc_q_commit_res *,
	    struct err *);
void	ipc_q_rcpt_put(struct msg *, const struct ipc_q_rcpt *);
int	ipc_q_rcpt_get(struct msg *, struct ipc_q_rcpt *, struct err *);
void	ipc_q_rcpt_res_put(struct msg *, const struct ipc_q_rcpt_res *);
int	ipc_q_rcpt_res_get(struct msg *, struct ipc_q_rcpt_res *,
	    struct err *);
void	ipc_q_abort_put(struct msg *, const struct ipc_q_abort *);
int	ipc_q_abort_get(struct msg *, struct ipc_q_abort *, struct err *);
/* type: M_Q_PEER or M_Q_DELIVER */
void	ipc_fd_put(struct msg *, uint32_t type, const struct ipc_fd *);
int	ipc_fd_get(struct msg *, uint32_t type, struct ipc_fd *,
	    struct err *);
/* type: M_RELOAD or M_CTL_Q_LIST (no payload) */
void	ipc_empty_put(struct msg *, uint32_t type);
int	ipc_empty_get(struct msg *, uint32_t type, struct err *);
void	ipc_d_job_put(struct msg *, const struct ipc_d_job *);
int	ipc_d_job_get(struct msg *, struct ipc_d_job *, struct err *);
void	ipc_k_keys_put(struct msg *, const struct ipc_k_keys *);
int	ipc_k_keys_get(struct msg *, struct ipc_k_keys *, struct err *);
void	ipc_k_sign_put(struct msg *, const struct ipc_k_sign *);
int	ipc_k_sign_get(struct msg *, struct ipc_k_sign *, struct err *);
void	ipc_k_sign_res_put(struct msg *, const struct ipc_k_sign_res *);
int	ipc_k_sign_res_get(struct msg *, struct ipc_k_sign_res *,
	    struct err *);
void	ipc_d_result_put(struct msg *, const struct ipc_d_result *);
int	ipc_d_result_get(struct msg *, struct ipc_d_result *, struct err *);
/* type: M_CTL_Q_SHOW, M_CTL_Q_FLUSH or M_CTL_Q_REMOVE */
void	ipc_ctl_id_put(struct msg *, uint32_t type, const struct ipc_ctl_id *);
int	ipc_ctl_id_get(struct msg *, uint32_t type, struct ipc_ctl_id *,
	    struct err *);
void	ipc_ctl_line_put(struct msg *, const struct ipc_ctl_line *);
int	ipc_ctl_line_get(struct msg *, struct ipc_ctl_line *, struct err *);
void	ipc_ctl_end_put(struct msg *, const struct ipc_ctl_end *);
int	ipc_ctl_end_get(struct msg *, struct ipc_ctl_end *, struct err *);
void	ipc_v_req_put(struct msg *, const struct ipc_v_req *);
int	ipc_v_req_get(struct msg *, struct ipc_v_req *, struct err *);
void	ipc_v_res_put(struct msg *, const struct ipc_v_res *);
int	ipc_v_res_get(struct msg *, struct ipc_v_res *, struct err *);

#endif
