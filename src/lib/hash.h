/*
 * hash.h - a 64-bit checksum of bytes, for finding torn writes in the
 * spool (docs/QUEUE-FORMAT.md).  Eight octets a step (little-endian
 * words, a multiply and a shift each), the tail and the length mixed in
 * at the end: any one word changed changes the result.  Streaming: bytes
 * given in any pieces hash as given whole.  Not a defence against anyone
 * choosing the bytes: it tells a complete file from one a crash left half
 * written, zero-filled or holding another file's old blocks.
 */
#ifndef POSTERN_HASH_H
#define POSTERN_HASH_H

#include <stddef.h>
#include <stdint.h>

struct hash64 {
	uint64_t	h;
	uint64_t	len;		/* octets so far */
	uint64_t	tail;		/* the last len % 8 of them */
};

void		hash64_init(struct hash64 *);
void		hash64_add(struct hash64 *, const void *, size_t);
uint64_t	hash64_end(const struct hash64 *);
/* hash64 - the hash of n octets at p, in one call */
uint64_t	hash64(const void *p, size_t n);

#endif
