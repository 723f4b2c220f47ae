/*
 * fuzz_datalock.c - datalock_parse() on arbitrary bytes: DATA/owner is
 * written by the unprivileged queue and read by a root `serve`.  Must
 * never crash or read out of bounds; what it accepts is a positive PID
 * and a known state, and formats back to exactly the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datalock.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct datalock_owner	 o;
	char			 back[DATALOCK_LINE_MAX];
	char			*copy;
	int			 n;

	/* an exact-size copy, so a read past the end is caught */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (datalock_parse(copy, size, &o) == 0) {
		if (o.pid <= 0 || o.state == DL_UNKNOWN)
			abort();
		n = datalock_format(back, sizeof(back), &o);
		if (n < 0 || (size_t)n != size || memcmp(back, copy, size) != 0)
			abort();
	} else if (o.pid != 0 || o.state != DL_UNKNOWN)
		abort();
	free(copy);
	return 0;
}
