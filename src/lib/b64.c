/*
 * b64.c - base64 (RFC 4648 4) for AUTH exchanges and keys.
 *
 * Pure, no allocation.  Decoding is strict, as RFC 4954 4 lets a server
 * be: the length is a multiple of four, padding is required and only at
 * the end, no whitespace or other characters, and the unused low bits of
 * the last symbol are zero (RFC 4648 3.5), so every byte string has
 * exactly one accepted encoding.  Output never goes past the size given.
 */
#include <stdint.h>

#include "b64.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* b64_value - the 6-bit value of an alphabet character, or -1 */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* b64_encode - encode len bytes into out, NUL-terminated; -1 if no room */
int
b64_encode(const void *in, size_t len, char *out, size_t outsz)
{
	const unsigned char	*p = in;
	size_t			 need, i, o = 0;
	uint32_t		 v;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
		return -1;
	need = (len + 2) / 3 * 4 + 1;
	if (outsz < need) {
		if (outsz > 0)
			out[0] = '\0';
		return -1;
	}
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return 0;
}

/*
 * b64_decode - strict decode of len chars (padding required, no spaces);
 * writes at most outsz bytes and sets *outlen; -1 on bad input or no room.
 */
int
b64_decode(const char *in, size_t len, unsigned char *out, size_t outsz,
    size_t *outlen)
{
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 i, o = 0, pad = 0, need;
	int			 a, b, c, d;

	if (len % 4 != 0)
		return -1;
	if (len > 0 && p[len - 1] == '=')
		pad = p[len - 2] == '=' ? 2 : 1;
	need = len / 4 * 3 - pad;
	if (need > outsz)
		return -1;
	for (i = 0; i < len; i += 4) {
		a = b64_value(p[i]);
		b = b64_value(p[i + 1]);
		if (i + 4 == len && pad > 0) {
			c = pad == 2 ? 0 : b64_value(p[i + 2]);
			d = 0;
		} else {
			c = b64_value(p[i + 2]);
			d = b64_value(p[i + 3]);
		}
		if (a < 0 || b < 0 || c < 0 || d < 0)
			return -1;
		if (i + 4 == len && pad == 2 && (b & 0x0f) != 0)
			return -1;	/* non-zero unused bits */
		if (i + 4 == len && pad == 1 && (c & 0x03) != 0)
			return -1;
		out[o++] = (unsigned char)(a << 2 | b >> 4);
		if (i + 4 == len && pad == 2)
			break;
		out[o++] = (unsigned char)((b & 0x0f) << 4 | c >> 2);
		if (i + 4 == len && pad == 1)
			break;
		out[o++] = (unsigned char)((c & 0x03) << 6 | d);
	}
	*outlen = o;
	return 0;
}
