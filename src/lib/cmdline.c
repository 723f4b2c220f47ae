/*
 * cmdline.c - a pipe alias's command split into words (cmdline.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "xmalloc.h"

/* cmdline_free - release the words */
void
cmdline_free(struct cmdline *c)
{
	size_t	i;

	for (i = 0; i < c->argc; i++)
		free(c->argv[i]);
	c->argc = 0;
	c->argv[0] = NULL;
}

/* fail - why, and nothing kept */
static int
fail(struct cmdline *c, char *why, size_t whysz, const char *msg)
{
	cmdline_free(c);
	(void)snprintf(why, whysz, "%s", msg);
	return -1;
}

/* cmdline_split - s into words */
int
cmdline_split(const char *s, struct cmdline *c, char *why, size_t whysz)
{
	char	 word[CMD_MAX_LEN + 1];
	size_t	 n, len = strlen(s);
	char	 q;
	bool	 in_word;

	c->argc = 0;
	c->argv[0] = NULL;
	if (len > CMD_MAX_LEN)
		return fail(c, why, whysz, "command longer than 1024 octets");
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		n = 0;
		in_word = true;
		q = '\0';
		while (in_word) {
			unsigned char	ch = (unsigned char)*s;

			if (ch == '\0') {
				if (q != '\0')
					return fail(c, why, whysz,
					    q == '\'' ? "unterminated \"'\"" :
					    "unterminated '\"'");
				break;
			}
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return fail(c, why, whysz, "control character "
				    "in the command");
			s++;
			if (q == '\'') {
				if (ch == '\'')
					q = '\0';
				else
					word[n++] = (char)ch;
			} else if (q == '"') {
				if (ch == '"')
					q = '\0';
				else if (ch == '\\' && (*s == '"' ||
				    *s == '\\'))
					word[n++] = *s++;
				else
					word[n++] = (char)ch;
			} else if (ch == ' ' || ch == '\t')
				in_word = false;
			else if (ch == '\'' || ch == '"')
				q = (char)ch;
			else if (ch == '\\') {
				if (*s == '\0')
					return fail(c, why, whysz, "\"\\\" at "
					    "the end of the command");
				if (((unsigned char)*s < 0x20 && *s != '\t') ||
				    *s == 0x7f)
					continue;	/* caught next turn */
				word[n++] = *s++;
			} else
				word[n++] = (char)ch;
		}
		if (c->argc == CMD_MAX_ARGS)
			return fail(c, why, whysz, "more than 64 words in the "
			    "command");
		word[n] = '\0';
		c->argv[c->argc++] = xstrdup(word);
		c->argv[c->argc] = NULL;
	}
	if (c->argc == 0)
		return fail(c, why, whysz, "empty command");
	if (c->argv[0][0] != '/')
		return fail(c, why, whysz, "the program must be an absolute "
		    "path");
	return 0;
}
