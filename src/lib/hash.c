/*
 * hash.c - FNV-1a, 64 bits (hash.h): streaming, so a body hashed in the
 * pieces it was written in gives the same value as hashed whole.
 */
#include "hash.h"

#define FNV64_PRIME	0x100000001b3ULL

uint64_t
hash64_add(uint64_t h, const void *p, size_t n)
{
	const unsigned char	*s = p;
	size_t			 i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= FNV64_PRIME;
	}
	return h;
}
