/*
 * fuzz_line.c - line_find() on arbitrary bytes with a max taken from the
 * input: every result is checked against what it promises.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "line.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*buf;
	size_t			 max, avail, len, used, limit;
	enum line_result	 r;

	if (size < 2)
		return 0;
	/* max in [0, 1023], or the real command limit */
	max = ((size_t)data[0] << 8 | data[1]) & 0x3ff;
	if (data[0] & 0x80)
		max = 510;
	buf = (const char *)data + 2;
	avail = size - 2;
	limit = max + 2;
	len = used = (size_t)-1;
	r = line_find(buf, avail, max, &len, &used);
	switch (r) {
	case LINE_OK:
		if (len > max || used != len + 2 || used > avail ||
		    buf[len] != '\r' || buf[len + 1] != '\n' ||
		    memchr(buf, '\r', len) != NULL ||
		    memchr(buf, '\n', len) != NULL ||
		    memchr(buf, '\0', len) != NULL)
			abort();
		break;
	case LINE_BARE_LF:
		if (used != len + 1 || used > avail || used > limit ||
		    buf[len] != '\n' || (len > 0 && buf[len - 1] == '\r') ||
		    memchr(buf, '\n', len) != NULL)
			abort();
		break;
	case LINE_BARE_CR:
	case LINE_NUL:
		if (used != len + 2 || used > avail || len > max ||
		    buf[len] != '\r' || buf[len + 1] != '\n' ||
		    memchr(buf, '\n', len) != NULL)
			abort();
		if (r == LINE_BARE_CR && memchr(buf, '\r', len) == NULL)
			abort();
		if (r == LINE_NUL && (memchr(buf, '\0', len) == NULL ||
		    memchr(buf, '\r', len) != NULL))
			abort();
		break;
	case LINE_MORE:
		if (avail >= limit || memchr(buf, '\n', avail) != NULL)
			abort();
		break;
	case LINE_TOO_LONG:
		if (avail < limit || memchr(buf, '\n', limit) != NULL)
			abort();
		break;
	default:
		abort();
	}
	return 0;
}
