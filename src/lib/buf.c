/*
 * buf.c - growable byte buffer with a hard cap.  Used for network input
 * and output buffers, so growth is bounded by the cap given at init.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

void
buf_init(struct buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}

void
buf_release(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->size = 0;
}

void
buf_reset(struct buf *b)
{
	b->off = b->len = 0;
}

/* buf_reserve - room for n more bytes at data + len, or NULL past cap */
char *
buf_reserve(struct buf *b, size_t n)
{
	size_t	 need, nsize;

	if (n > b->cap || buf_avail(b) > b->cap - n)
		return NULL;
	if (b->off > 0 && (b->off == b->len || b->len + n > b->size)) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	need = b->len + n;
	if (need > b->size || b->data == NULL) {
		/* data == NULL: even n == 0 gets a real pointer, not NULL + 0 */
		nsize = b->size ? b->size : 256;
		while (nsize < need)
			nsize = nsize > SIZE_MAX / 2 ? need : nsize * 2;
		b->data = xreallocarray(b->data, nsize, 1);
		b->size = nsize;
	}
	return b->data + b->len;
}

void
buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	char	*w;

	if (n == 0)
		return 0;
	if ((w = buf_reserve(b, n)) == NULL)
		return -1;
	memcpy(w, p, n);
	b->len += n;
	return 0;
}

int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[512], *big = NULL;
	int	 n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_add(b, small, (size_t)n);
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	rc = buf_add(b, big, (size_t)n);
	free(big);
	return rc;
}

void
buf_drain(struct buf *b, size_t n)
{
	if (n >= buf_avail(b)) {
		b->off = b->len = 0;
		return;
	}
	b->off += n;
}
