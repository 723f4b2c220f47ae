/*
 * fuzz_cmdline.c - cmdline_split() on arbitrary bytes (up to the first
 * NUL): it must either refuse with a reason and keep nothing, or give
 * 1..CMD_MAX_ARGS words, the first an absolute path, none holding a
 * control character but tab (quoted), their lengths within the input's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmdline	 c;
	char		*s = xstrndup((const char *)data, size), why[128];
	size_t		 i, j, total = 0;

	why[0] = '\0';
	if (cmdline_split(s, &c, why, sizeof(why)) == -1) {
		if (why[0] == '\0' || c.argc != 0)
			abort();
		free(s);
		return 0;
	}
	if (c.argc == 0 || c.argc > CMD_MAX_ARGS || c.argv[c.argc] != NULL ||
	    c.argv[0][0] != '/')
		abort();
	for (i = 0; i < c.argc; i++) {
		for (j = 0; c.argv[i][j] != '\0'; j++)
			if (((unsigned char)c.argv[i][j] < 0x20 &&
			    c.argv[i][j] != '\t') || c.argv[i][j] == 0x7f)
				abort();
		total += j;
	}
	if (total > strlen(s))
		abort();
	cmdline_free(&c);
	free(s);
	return 0;
}
