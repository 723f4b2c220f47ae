/*
 * fuzz_mta_reply.c - the outbound client's parsers on hostile input:
 * the input is split into lines and fed as one reply (then to the EHLO
 * parser), each line also to the enhanced status parser, and the whole
 * input through dot-stuffing in two pieces; the stuffed output must
 * contain no end-of-data sequence before its terminator.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/mta_proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mta_reply	 r;
	struct mta_ext		 x;
	struct mta_dot		 d;
	const char		*p = (const char *)data, *end = p + size, *nl;
	char			 esc[16], line[300], *out;
	size_t			 n, o, half, i;

	mta_reply_init(&r);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > MTA_REPLY_LINE_MAX)
			n = MTA_REPLY_LINE_MAX;
		(void)mta_esc_parse(p, n, '5', esc);
		if (mta_reply_add(&r, p, n) != MR_MORE)
			break;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	mta_reply_line(&r, line, sizeof(line));
	if (strlen(line) >= sizeof(line))
		abort();
	if (r.textlen != strlen(r.text))
		abort();
	mta_ehlo_parse(r.text, r.textlen, &x);

	if ((out = malloc(2 * size + 8)) == NULL)
		return 0;
	mta_dot_init(&d);
	half = size / 2;
	o = mta_dot_stuff(&d, (const char *)data, half, out);
	o += mta_dot_stuff(&d, (const char *)data + half, size - half,
	    out + o);
	if (o > 2 * size)
		abort();
	o += mta_dot_end(&d, out + o);
	/* the only "\n.\r\n" (after a line end) is the terminator */
	for (i = 0; i + 4 < o; i++)
		if (out[i] == '\n' && out[i + 1] == '.' && out[i + 2] == '\r' &&
		    out[i + 3] == '\n')
			abort();
	if (o < 3 || memcmp(out + o - 3, ".\r\n", 3) != 0)
		abort();
	if (o >= 5 && memcmp(out + o - 5, "\r\n.\r\n", 5) != 0)
		abort();
	free(out);
	return 0;
}
