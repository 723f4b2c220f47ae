/*
 * buf.h - growable byte buffer with a hard cap.
 *
 * A buf never grows past its cap: buf_add() fails with -1 instead.  The
 * readable bytes are data[off .. len); buf_drain() consumes from the front
 * and compacts lazily.  buf_free(NULL) is a no-op.
 */
#ifndef POSTERN_BUF_H
#define POSTERN_BUF_H

#include <stddef.h>

struct buf {
	char	*data;
	size_t	 off;		/* first unread byte */
	size_t	 len;		/* end of written bytes */
	size_t	 size;		/* allocated */
	size_t	 cap;		/* never grow past this many readable bytes */
};

void	 buf_init(struct buf *, size_t cap);
void	 buf_release(struct buf *);		/* free storage, keep cap */
int	 buf_add(struct buf *, const void *, size_t);
int	 buf_addstr(struct buf *, const char *);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_drain(struct buf *, size_t);
void	 buf_reset(struct buf *);
/* reserve room for n more bytes; returns pointer to write at, or NULL */
char	*buf_reserve(struct buf *, size_t n);
void	 buf_commit(struct buf *, size_t n);	/* after writing into reserve */
static inline size_t buf_avail(const struct buf *b) { return b->len - b->off; }
static inline char *buf_ptr(const struct buf *b) { return b->data + b->off; }

#endif
