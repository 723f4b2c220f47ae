/*
 * b64.h - base64 (RFC 4648) for AUTH exchanges and keys.
 */
#ifndef POSTERN_B64_H
#define POSTERN_B64_H

#include <stddef.h>

/* b64_encode - encode len bytes into out, NUL-terminated; -1 if no room */
int	b64_encode(const void *in, size_t len, char *out, size_t outsz);
/*
 * b64_decode - strict decode of len chars (padding required, no spaces);
 * writes at most outsz bytes and sets *outlen; -1 on bad input or no room.
 */
int	b64_decode(const char *in, size_t len, unsigned char *out,
	    size_t outsz, size_t *outlen);

#endif
