/*
 * hash.c - the spool's 64-bit checksum (hash.h).  Each full 8-octet word
 * w (little-endian) steps h = (h ^ w) * K, h ^= h >> 32: for a fixed
 * word a bijection of h, and for a fixed h one of w, so a change in any
 * word reaches the end.  The end mixes in the partial last word and the
 * length, then spreads every bit (the MurmurHash3 finalizer).
 */
#include <endian.h>
#include <string.h>

#include "hash.h"

#define HASH_K	0x9e3779b97f4a7c15ULL

/* word - 8 octets at p, little-endian: one load (a byte loop here,
 * and the state kept in memory, made hashing a 100 KiB body a tenth of
 * the smtp worker's time) */
static uint64_t
word(const unsigned char *p)
{
	uint64_t	w;

	memcpy(&w, p, sizeof(w));
	return le64toh(w);
}

static uint64_t
step(uint64_t h, uint64_t w)
{
	h = (h ^ w) * HASH_K;
	return h ^ h >> 32;
}

void
hash64_init(struct hash64 *s)
{
	s->h = 0x243f6a8885a308d3ULL;
	s->len = 0;
	s->tail = 0;
}

void
hash64_add(struct hash64 *s, const void *data, size_t n)
{
	const unsigned char	*p = data;
	unsigned		 have = (unsigned)(s->len % 8);
	uint64_t		 h;

	s->len += n;
	/* first the partial word left by the previous call */
	while (have != 0 && n > 0) {
		s->tail |= (uint64_t)*p++ << (8 * have);
		n--;
		if (++have == 8) {
			s->h = step(s->h, s->tail);
			s->tail = 0;
			have = 0;
		}
	}
	/* in a local: p may alias *s, which would keep h in memory */
	for (h = s->h; n >= 8; p += 8, n -= 8)
		h = step(h, word(p));
	s->h = h;
	for (have = 0; n > 0; n--, have++)
		s->tail |= (uint64_t)*p++ << (8 * have);
}

uint64_t
hash64_end(const struct hash64 *s)
{
	uint64_t	h = step(step(s->h, s->tail), s->len);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

uint64_t
hash64(const void *p, size_t n)
{
	struct hash64	s;

	hash64_init(&s);
	hash64_add(&s, p, n);
	return hash64_end(&s);
}
