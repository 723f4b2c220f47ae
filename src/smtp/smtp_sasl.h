/*
 * smtp_sasl.h - pure SASL decoders for the AUTH exchange (RFC 4954, RFC 4616
 * PLAIN, and the LOGIN mechanism).
 */
#ifndef POSTERN_SMTP_SASL_H
#define POSTERN_SMTP_SASL_H

#include <stddef.h>

#include "bounds.h"

struct err;

#define SMTP_SASL_USER_MAX	(LIM_LOCAL_PART + 1 + LIM_DOMAIN)
#define SMTP_SASL_PASS_MAX	1024

/*
 * smtp_sasl_plain - decode base64 "authzid NUL authcid NUL passwd".
 * authzid must be empty or equal to authcid.  "=" (empty response) is a
 * failure.  On failure e->msg is the full reply ("501 5.5.2 ...").
 */
int	smtp_sasl_plain(const char *b64, size_t len, char *user, size_t usz,
	    char *pass, size_t psz, struct err *);
/* smtp_sasl_field - decode one base64 LOGIN field (no NUL allowed) */
int	smtp_sasl_field(const char *b64, size_t len, char *out, size_t outsz,
	    struct err *);
/* smtp_sasl_is_cancel - is the line "*" (client cancels, 501) */
int	smtp_sasl_is_cancel(const char *line, size_t len);

#endif
