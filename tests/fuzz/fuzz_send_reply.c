/*
 * fuzz_send_reply - the SMTP reply parser of "postern send" on arbitrary
 * server output: fed whole and then in two pieces, it must never read
 * out of bounds, consume more than it was given, or give a reply outside
 * its declared ranges.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_send.h"
#include "err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const char *buf, size_t len)
{
	static struct send_reply	 r;
	struct err			 e;
	size_t				 used = 0, off = 0;
	enum send_reply_result		 rc;
	int				 guard = 0;

	while (off < len && guard++ < 4096) {
		rc = send_reply_parse(buf + off, len - off, &r, &used, &e);
		if (rc != SEND_REPLY_OK)
			return;
		if (used == 0 || used > len - off)
			abort();
		if (r.code < 200 || r.code > 559 || r.nlines < 1 ||
		    r.nlines > SEND_REPLY_LINES_MAX)
			abort();
		off += used;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	check(copy, size);
	check(copy, size / 2);
	free(copy);
	return 0;
}
