/*
 * mta.h - one outbound SMTP client connection (RFC 5321, 3207, 2920):
 * tries the addresses of an MX plan in order until one greets and accepts
 * EHLO/HELO, uses STARTTLS when offered, then delivers jobs one after the
 * other over the same connection.  The owner (deliver.c) hands it jobs
 * and gets results and state changes through callbacks, always from the
 * event loop, never from inside an mta_* call.
 */
#ifndef POSTERN_MTA_H
#define POSTERN_MTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

struct event_base;
struct mx_plan;

/* RFC 5321 4.5.3.2 timeouts, in seconds; connect and idle are ours */
#define MTA_T_CONNECT	30
#define MTA_T_GREETING	300	/* 4.5.3.2.1 initial 220 */
#define MTA_T_HELO	300	/* EHLO, HELO, STARTTLS and its handshake */
#define MTA_T_MAIL	300	/* 4.5.3.2.2 */
#define MTA_T_RCPT	300	/* 4.5.3.2.3 */
#define MTA_T_DATA	120	/* 4.5.3.2.4 DATA initiation */
#define MTA_T_BLOCK	180	/* 4.5.3.2.5 each data block */
#define MTA_T_DOT	600	/* 4.5.3.2.6 DATA termination */
#define MTA_T_IDLE	5	/* a connection kept for the next job */
#define MTA_T_QUIT	10	/* waiting for the reply to QUIT */

struct mta_timeouts {
	unsigned	 connect, greeting, helo, mail, rcpt, data, block, dot;
	unsigned	 idle, quit;
};

/*
 * mta_set_timeouts - replace the timeouts of connections made from now on
 * (for test drivers only: postern itself keeps the RFC values above).
 */
void	mta_set_timeouts(const struct mta_timeouts *);
void	mta_get_timeouts(struct mta_timeouts *);

/* one recipient's outcome; dr is an enum dr_result (msgtypes.h) */
struct mta_rcpt_res {
	unsigned	 dr;
	bool		 final;		/* decided */
	bool		 accepted;	/* RCPT got 2xx; DATA decides */
	char		 status[16];	/* "2.0.0", "4.4.1", "5.1.1" */
	char		 reply[256];	/* one printable line */
	char		 remote[320];	/* "host [addr]" or "" */
};

struct mta_job {
	uint64_t		 jobid;
	char			*msgid;
	char			*from;		/* "" for <> */
	uint32_t		 flags;		/* QF_* */
	uint64_t		 size;		/* of the body */
	char			*prefix;	/* sent before the body */
	size_t			 prefix_len;
	char			*domain;
	size_t			 nrcpt;
	char			**rcpt;
	int			 fd;		/* body, read with pread */
	struct mta_rcpt_res	*res;		/* nrcpt results */
	struct mta_job		*next;		/* the owner's list link */
};

/* mta_job_new - an empty job for n recipients (strings owned by the job) */
struct mta_job	*mta_job_new(size_t nrcpt);
/* mta_job_free - frees strings and results, closes fd; NULL: no-op */
void		 mta_job_free(struct mta_job *);
/* mta_rcpt_set - decide one recipient (texts truncated to fit) */
void		 mta_rcpt_set(struct mta_rcpt_res *, unsigned dr,
		    const char *status, const char *reply, const char *remote);
/* mta_job_fail_all - every undecided recipient gets this outcome */
void		 mta_job_fail_all(struct mta_job *, unsigned dr,
		    const char *status, const char *reply, const char *remote);

struct mta_params {
	const char		*helo;		/* our host name */
	SSL_CTX			*tls;		/* client context, or NULL */
	bool			 plain_fallback; /* retry in clear after a
						 * failed handshake */
	unsigned		 port;		/* 25, or the test knob */
	bool			 has_src4, has_src6;
	struct sockaddr_storage	 src4, src6;	/* source addresses */
};

struct mta;

struct mta_cbs {
	/* the job is decided (every result final); the owner frees it */
	void	(*done)(struct mta *, struct mta_job *, void *arg);
	/* the connection waits for another job: mta_give() or leave it */
	void	(*idle)(struct mta *, void *arg);
	/*
	 * the connection is over and m is freed after this returns; job is
	 * a job given but never attempted (hand it to another connection),
	 * or NULL
	 */
	void	(*gone)(struct mta *, struct mta_job *, void *arg);
};

/*
 * mta_start - a connection for plan (copied) carrying job first.  The
 * strings and structures in params must outlive the connection.
 */
struct mta	*mta_start(struct event_base *, const struct mta_params *,
		    const struct mx_plan *, struct mta_job *,
		    const struct mta_cbs *, void *arg);
/* mta_give - the next job, only on an idle connection (after idle()) */
void		 mta_give(struct mta *, struct mta_job *);
/* mta_quit - an idle connection says QUIT and goes (gone() follows) */
void		 mta_quit(struct mta *);
/* mta_domain - the destination domain the connection was made for */
const char	*mta_domain(const struct mta *);

#endif
