/*
 * fuzz_smtp_sasl.c - the AUTH PLAIN and LOGIN decoders on arbitrary bytes,
 * directly and after base64-encoding them (so the field logic is reached
 * too).  Results must fit their buffers and carry no NUL; refusals carry
 * one of the two documented replies.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "smtp/smtp_sasl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	enc[LIM_AUTH_LINE + 8];

/* check_err - e->msg is one of the two replies */
static void
check_err(const struct err *e)
{
	if (strcmp(e->msg, "501 5.5.2 Cannot decode response") != 0 &&
	    strcmp(e->msg, "535 5.7.8 Authentication credentials invalid") != 0)
		abort();
}

/* one_input - run both decoders on s (len bytes of base64 or junk) */
static void
one_input(const char *s, size_t len, size_t usz, size_t psz)
{
	char		user[SMTP_SASL_USER_MAX + 1];
	char		pass[SMTP_SASL_PASS_MAX + 1];
	struct err	e;

	memset(&e, 0, sizeof(e));
	if (smtp_sasl_plain(s, len, user, usz, pass, psz, &e) == 0) {
		if (strlen(user) == 0 || strlen(user) >= usz ||
		    strlen(pass) == 0 || strlen(pass) >= psz)
			abort();
	} else
		check_err(&e);
	memset(&e, 0, sizeof(e));
	if (smtp_sasl_field(s, len, user, usz, &e) == 0) {
		if (strlen(user) == 0 || strlen(user) >= usz)
			abort();
	} else if (strcmp(e.msg, "501 5.5.2 Cannot decode response") != 0)
		abort();
	if (smtp_sasl_is_cancel(s, len) != (len == 1 && s[0] == '*'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	usz, psz;

	if (size < 1)
		return 0;
	/* small buffers now and then, to reach the length checks */
	usz = data[0] & 1 ? 1 + data[0] % 16 : SMTP_SASL_USER_MAX + 1;
	psz = data[0] & 2 ? 1 + data[0] % 32 : SMTP_SASL_PASS_MAX + 1;
	one_input((const char *)data + 1, size - 1, usz, psz);
	if (b64_encode(data + 1, size - 1, enc, sizeof(enc)) == 0)
		one_input(enc, strlen(enc), usz, psz);
	return 0;
}
