/*
 * authres.h - the Authentication-Results header field (RFC 8601): built
 * from the results of the inbound checks, and the authserv-id of a
 * received one, so that fields claiming ours are removed.  Pure.
 */
#ifndef POSTERN_AUTHRES_H
#define POSTERN_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define AUTHRES_DKIM_MAX	8	/* signatures reported */

struct authres_dkim {
	const char	*result;	/* pass, fail, neutral, ... */
	const char	*reason;	/* NULL, or a short text */
	const char	*d;		/* header.d */
	const char	*s;		/* header.s */
	const char	*b;		/* first bytes of b=, or NULL */
};

struct authres {
	const char		*authserv_id;	/* our host name */
	const char		*spf;		/* NULL: not evaluated */
	const char		*spf_reason;
	const char		*mailfrom;	/* smtp.mailfrom, or NULL */
	const char		*helo;		/* smtp.helo when checked */
	struct authres_dkim	 dkim[AUTHRES_DKIM_MAX];
	size_t			 ndkim;
	bool			 dkim_none;	/* checked, no signature */
	const char		*dmarc;		/* NULL: not evaluated */
	const char		*dmarc_reason;
	const char		*header_from;	/* header.from */
	const char		*policy;	/* policy.dmarc, or NULL */
};

/*
 * authres_build - "Authentication-Results: id; method=result prop=value
 * ...", folded one method a line, ending in CRLF; "none" when nothing
 * was evaluated.  Values that are not atoms are quoted; control bytes
 * become '?'.  -1 if out's cap is reached.
 */
int	authres_build(const struct authres *, struct buf *out);
/*
 * authres_id_is - does the value of a received Authentication-Results
 * field (after its colon) name authserv-id id, in any case, after any
 * comments and folding (RFC 8601 2.2, 5)?
 */
bool	authres_id_is(const char *value, size_t len, const char *id);
/*
 * authres_forged - does a field authres_build wrote (in text, with other
 * header lines maybe) say SPF fail, or DMARC fail under policy reject?
 * Mail like that is likely forged: no DSN goes to its sender.  Reads
 * only the method lines authres_build folds in ("\r\n\tspf=..."), never
 * a quoted value.
 */
bool	authres_forged(const char *text);

#endif
