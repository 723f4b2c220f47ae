/*
 * hash.h - a 64-bit checksum of bytes, for finding torn writes in the
 * spool (docs/QUEUE-FORMAT.md): FNV-1a, 64 bits.  Not a defence against
 * anyone choosing the bytes: it tells a complete file from one a crash
 * left half written, zero-filled or holding another file's old blocks.
 */
#ifndef POSTERN_HASH_H
#define POSTERN_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH64_INIT	0xcbf29ce484222325ULL	/* the empty input's value */

/* hash64_add - h continued over n bytes at p (start from HASH64_INIT) */
uint64_t	hash64_add(uint64_t h, const void *p, size_t n);

#endif
