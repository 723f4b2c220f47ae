/*
 * cmdline.h - the command of a pipe alias ("| /usr/bin/prog arg 'two
 * words'") split into argv, without a shell (cmdline.c).
 *
 * Words are separated by spaces and tabs.  Inside single quotes every
 * character is literal; inside double quotes a backslash escapes '"' and
 * '\' only; outside quotes a backslash makes the next character literal.
 * Nothing else is special: no variables, no globbing, no redirection.
 * The program (argv[0]) must be an absolute path.  At most CMD_MAX_ARGS
 * words, CMD_MAX_LEN octets in all; no control characters (a tab
 * separates words, or is kept inside quotes).  Pure.
 */
#ifndef POSTERN_CMDLINE_H
#define POSTERN_CMDLINE_H

#include <stddef.h>

#define CMD_MAX_ARGS	64
#define CMD_MAX_LEN	1024

struct cmdline {
	char	*argv[CMD_MAX_ARGS + 1];	/* NULL-terminated */
	size_t	 argc;
};

/*
 * cmdline_split - s into c (each word allocated); 0, or -1 with why
 * (nothing allocated)
 */
int	cmdline_split(const char *s, struct cmdline *c, char *why,
	    size_t whysz);
void	cmdline_free(struct cmdline *);

#endif
