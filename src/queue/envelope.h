/*
 * envelope.h - the versioned envelope text format (docs/QUEUE-FORMAT.md).
 *
 * Pure: dump to a buf, parse from bytes.  A file without its final "end"
 * line, with an unknown version or a malformed line does not parse.
 */
#ifndef POSTERN_ENVELOPE_H
#define POSTERN_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bounds.h"

struct err;
struct buf;

enum rcpt_state {
	RCPT_PENDING,
	RCPT_DONE,
	RCPT_FAILED,		/* permanently; a bounce is due */
	RCPT_BOUNCED,		/* failed, and its DSN is queued (or none
				 * was wanted: null sender) */
};

struct env_rcpt {
	char		*addr;		/* where it goes (after aliases) */
	char		*orig;		/* as the client gave it */
	enum rcpt_state	 state;
	unsigned	 attempts;
	time_t		 next_try;	/* 0: as soon as possible */
	char		*last_error;	/* one line, or NULL */
	char		*via;		/* the local address whose alias gave
					   addr (forward, pipe), or NULL */
	char		*sender;	/* the envelope sender for this
					   recipient when not the message's
					   (SRS of a forward), or NULL */
	/* in memory only, never written: */
	uint64_t	 job;		/* deliver job in flight, 0 if none */
	char		*remote;	/* last remote host, or NULL */
	char		*reply;		/* the reply that took it, or NULL */
};

struct envelope {
	char		 id[32];
	time_t		 created;
	uint64_t	 size;
	char		*from;		/* "" for the null sender */
	char		*auth_user;	/* NULL if not authenticated */
	char		*client;	/* "helo=H addr=A", for logs */
	uint32_t	 flags;		/* QF_* of msgtypes.h */
	time_t		 warned;	/* delay warning sent then; 0: not */
	uint64_t	 body_hash;	/* hash64 of the body, if has_ */
	bool		 has_body_hash;
	char		*prefix;	/* header lines written in front of
					   the body at every delivery (DKIM
					   signatures, added Date, ...):
					   CRLF-terminated, no NUL or other
					   control but TAB; NULL: none */
	struct env_rcpt	*rcpts;
	size_t		 nrcpts;
};

int	envelope_dump(const struct envelope *, struct buf *out);
int	envelope_parse(struct envelope *, const char *text, size_t len,
	    struct err *);
/* envelope_add_rcpt - append a pending recipient (strings are copied) */
void	envelope_add_rcpt(struct envelope *, const char *addr,
	    const char *orig);
void	envelope_free(struct envelope *);
/*
 * envelope_prefix_ok - can p be a prefix: at most ENV_PREFIX_MAX octets
 * of CRLF-terminated lines, each at most ENV_PREFIX_LINE long, no control
 * character but TAB inside a line, no empty line
 */
bool	envelope_prefix_ok(const char *p, size_t len);

#define ENV_PREFIX_MAX	LIM_PREFIX	/* octets, CRLFs included */
#define ENV_PREFIX_LINE	4096		/* octets per line, CRLF excluded */

#endif
