/*
 * test_cmdline.c - a pipe alias's command split into words: blanks,
 * quotes, backslashes, the limits, and the errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"

/* the words joined with "|" */
static void
check(const char *s, const char *want)
{
	struct cmdline	 c;
	char		 why[128], got[2048];
	size_t		 i, n = 0;

	if (cmdline_split(s, &c, why, sizeof(why)) == -1)
		fail_msg("%s: refused: %s", s, why);
	for (i = 0; i < c.argc; i++)
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s",
		    i ? "|" : "", c.argv[i]);
	assert_null(c.argv[c.argc]);
	if (strcmp(got, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", s, got, want);
	cmdline_free(&c);
}

static void
refused(const char *s, const char *why_part)
{
	struct cmdline	 c;
	char		 why[128];

	if (cmdline_split(s, &c, why, sizeof(why)) == 0)
		fail_msg("%s: accepted", s);
	assert_int_equal(c.argc, 0);
	if (strstr(why, why_part) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", s, why, why_part);
}

static void
test_split(void **state)
{
	(void)state;
	check("/bin/x", "/bin/x");
	check("  /bin/x\ta  b\t", "/bin/x|a|b");
	check("/bin/x 'two words' \"and three here\"",
	    "/bin/x|two words|and three here");
	check("/bin/x 'a\"b' \"c'd\"", "/bin/x|a\"b|c'd");
	check("/bin/x \"q\\\"q\" \"b\\\\s\" \"n\\n\"", "/bin/x|q\"q|b\\s|n\\n");
	check("/bin/x a\\ b \\'c", "/bin/x|a b|'c");
	check("/bin/x '' \"\"", "/bin/x||");
	check("/bin/x pre'mid'post", "/bin/x|premidpost");
	check("/bin/x $HOME * ; > /etc/passwd", "/bin/x|$HOME|*|;|>|/etc/passwd");
	check("/bin/x 'it''s'", "/bin/x|its");
}

static void
test_errors(void **state)
{
	(void)state;
	refused("", "empty command");
	refused("   \t ", "empty command");
	refused("bin/x", "absolute path");
	refused("'/bin/x", "unterminated \"'\"");
	refused("/bin/x \"a", "unterminated '\"'");
	refused("/bin/x a\\", "at the end");
	refused("/bin/x a\001", "control character");
	refused("/bin/x \\\001", "control character");
	refused("/bin/x 'a\177'", "control character");
}

/* CMD_MAX_ARGS words and CMD_MAX_LEN octets pass; one more does not */
static void
test_limits(void **state)
{
	struct cmdline	 c;
	char		 big[CMD_MAX_LEN + 8], why[128];
	size_t		 i;

	(void)state;
	(void)snprintf(big, sizeof(big), "/bin/x");
	for (i = 1; i < CMD_MAX_ARGS; i++)
		(void)strcat(big, " a");
	assert_int_equal(cmdline_split(big, &c, why, sizeof(why)), 0);
	assert_int_equal(c.argc, CMD_MAX_ARGS);
	cmdline_free(&c);
	(void)strcat(big, " a");
	refused(big, "more than 64 words");
	memset(big, 'a', CMD_MAX_LEN);
	big[0] = '/';
	big[CMD_MAX_LEN] = '\0';
	assert_int_equal(cmdline_split(big, &c, why, sizeof(why)), 0);
	assert_int_equal(c.argc, 1);
	assert_int_equal(strlen(c.argv[0]), CMD_MAX_LEN);
	cmdline_free(&c);
	big[CMD_MAX_LEN] = 'a';
	big[CMD_MAX_LEN + 1] = '\0';
	refused(big, "longer than 1024");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
