/*
 * fuzz_msg.c - msg.c readers on arbitrary datagrams.
 *
 * The first input bytes choose a pattern of reads (two bits each: u32,
 * u64, str, data), the whole input is loaded with msg_from_bytes() and
 * read by that pattern until the message goes bad or the pattern ends,
 * then msg_end().  Must never crash, leak or read out of bounds; every
 * string returned is NUL-terminated inside the message with no NUL
 * before, every data field lies inside the message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define PATTERN_BYTES	4	/* up to 16 reads */

static void
check_inside(const struct msg *m, const void *p, size_t n)
{
	const unsigned char	*b = p;

	if (b < m->data || n > m->len ||
	    (size_t)(b - m->data) > m->len - n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*pat = data;
	size_t		 npat = size < PATTERN_BYTES ? size : PATTERN_BYTES;
	size_t		 i, len, before;
	const char	*s;
	const void	*d;
	struct msg	 m;
	int		 end;

	/* the pattern bytes are part of the message too */
	if (msg_from_bytes(&m, data, size) == -1) {
		if (size >= sizeof(uint32_t) && size <= LIM_IPC_MSG)
			abort();
		msg_free(&m);
		return 0;
	}
	if (m.pos != sizeof(uint32_t) || m.len != size || m.fd != -1)
		abort();
	for (i = 0; i < npat * 4 && !m.bad; i++) {
		before = m.pos;
		switch ((pat[i / 4] >> ((i % 4) * 2)) & 3) {
		case 0:
			(void)msg_get_u32(&m);
			break;
		case 1:
			(void)msg_get_u64(&m);
			break;
		case 2:
			s = msg_get_str(&m);
			if (s == NULL)
				abort();
			if (m.bad) {
				if (*s != '\0')
					abort();
				break;
			}
			len = strlen(s);
			check_inside(&m, s, len + 1);
			if (m.pos != before + 4 + len + 1)
				abort();
			break;
		case 3:
			d = msg_get_data(&m, &len);
			if (m.bad) {
				if (d != NULL || len != 0)
					abort();
				break;
			}
			check_inside(&m, d, len);
			if (m.pos != before + 4 + len)
				abort();
			break;
		}
		if (m.pos > m.len)
			abort();
	}
	end = msg_end(&m);
	if (end != ((m.bad || m.pos != m.len) ? -1 : 0))
		abort();
	if (msg_take_fd(&m) != -1)
		abort();
	msg_free(&m);
	return 0;
}
