/*
 * fuzz_users.c - users_parse() on arbitrary bytes, and the PHC hash parser
 * on the input as a string and on every hash of a parsed file.  Inputs
 * that parse as cheap hashes (ln=10, r and p at most 2) are also verified
 * with a fixed password; dearer ones are not, so a run stays fast.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/passwd.h"
#include "auth/users.h"
#include "err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* check_phc - parse s; verify it if that is cheap */
static void
check_phc(const char *s)
{
	struct passwd_phc	ph;
	struct err		e;

	if (passwd_parse_phc(s, &ph, &e) == -1)
		return;
	if (ph.ln < 10 || ph.ln > 20 || ph.r < 1 || ph.r > 32 || ph.p < 1 ||
	    ph.p > 16 || ph.saltlen < PASSWD_SALT_MIN ||
	    ph.saltlen > PASSWD_SALT_MAX || ph.hashlen < PASSWD_KEY_MIN ||
	    ph.hashlen > PASSWD_KEY_MAX)
		abort();
	if (ph.ln == 10 && ph.r <= 2 && ph.p <= 2 &&
	    passwd_verify("fuzz", s, &e) == PASSWD_ERROR)
		abort();	/* it parsed, so only the KDF could fail */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct users	 u;
	struct err	 e;
	char		*s;
	size_t		 i, j;

	if (users_parse(&u, (const char *)data, size, "fuzz", &e) == 0) {
		for (i = 0; i < u.n; i++) {
			if (!users_name_valid(u.v[i].name))
				abort();
			if (i > 0 && strcmp(u.v[i - 1].name, u.v[i].name) >= 0)
				abort();
			for (j = 0; u.v[i].name[j] != '\0'; j++)
				if (u.v[i].name[j] >= 'A' &&
				    u.v[i].name[j] <= 'Z')
					abort();
			if (users_find(&u, u.v[i].name) != u.v[i].hash)
				abort();
			check_phc(u.v[i].hash);
		}
		users_free(&u);
	}
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_phc(s);
	free(s);
	return 0;
}
