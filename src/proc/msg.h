/*
 * msg.h - typed IPC between postern's processes (STYLE.md rule 22).
 *
 * A message is one SOCK_SEQPACKET datagram of at most LIM_IPC_MSG bytes:
 * a u32 type, then fields added in order (u32, u64 in host order; strings
 * as u32 length + bytes + NUL), and optionally one file descriptor passed
 * with SCM_RIGHTS.  Readers take fields in the same order; a short read
 * marks the message bad, and msg_end() fails on a bad message or on bytes
 * left over.  A bad message from a sibling process is a broken invariant:
 * the reader calls fatalx().
 *
 * struct chan wraps a non-blocking socket on a libevent base with an
 * outgoing queue, so senders never block; a blocking pair of calls serves
 * simple processes and tests.
 */
#ifndef POSTERN_MSG_H
#define POSTERN_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

struct msg {
	uint32_t	 type;
	unsigned char	*data;		/* whole datagram, type included */
	size_t		 len;
	size_t		 pos;		/* read cursor */
	size_t		 cap;
	int		 fd;		/* passed descriptor or -1 */
	bool		 bad;		/* a read ran past the end */
};

/* building */
void		 msg_init(struct msg *, uint32_t type);
void		 msg_add_u32(struct msg *, uint32_t);
void		 msg_add_u64(struct msg *, uint64_t);
void		 msg_add_str(struct msg *, const char *);
void		 msg_add_data(struct msg *, const void *, size_t);
/* msg_set_fd - attach fd; the message owns it and closes it once sent */
void		 msg_set_fd(struct msg *, int fd);
void		 msg_free(struct msg *);		/* closes an unclaimed fd */

/* reading */
uint32_t	 msg_get_u32(struct msg *);
uint64_t	 msg_get_u64(struct msg *);
const char	*msg_get_str(struct msg *);	/* into the message; "" if bad */
const void	*msg_get_data(struct msg *, size_t *len);
int		 msg_take_fd(struct msg *);	/* caller owns it; -1 if none */
int		 msg_end(struct msg *);		/* -1 if bad or bytes left */
/* msg_from_bytes - load a received datagram (for tests and fuzzing) */
int		 msg_from_bytes(struct msg *, const void *, size_t);

/* blocking: 1 got a message, 0 peer closed, -1 error (errno set) */
int		 msg_recv(int sock, struct msg *);
/* blocking send: 0 or -1 (errno set); the fd, if any, is closed after */
int		 msg_send(int sock, struct msg *);

/* event-driven channel */
struct chan;
/* cb gets each message (it is freed after cb returns; take the fd to keep
 * it) and NULL once when the peer has closed or the socket failed; only
 * that last call may chan_free() the channel.  cb is never called from
 * inside chan_send(). */
typedef void	(*chan_cb)(struct chan *, struct msg *, void *arg);
struct chan	*chan_new(struct event_base *, int fd, chan_cb, void *arg);
/* chan_send - queue m for sending; takes over its data and fd */
void		 chan_send(struct chan *, struct msg *);
int		 chan_fd(const struct chan *);
void		 chan_free(struct chan *);		/* closes the socket */

/* msg_socketpair - SOCK_SEQPACKET pair, CLOEXEC, large buffers */
int		 msg_socketpair(int sv[2]);

#endif
