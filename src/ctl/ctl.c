/*
 * ctl.c - the "serve" verb: option parsing, then the parent process.
 * The other verbs live in ctl_*.c.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "parent/parent.h"

int
ctl_serve(const char *confdir, int argc, char **argv)
{
	bool	debug = false;
	int	i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-d") == 0 || strcmp(argv[i], "--debug")
		    == 0)
			debug = true;
		else {
			fprintf(stderr, "postern serve: unknown option %s\n",
			    argv[i]);
			return 2;
		}
	}
	return parent_main(confdir, debug);
}
