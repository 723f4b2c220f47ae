/*
 * alias.h - expansion of a message's recipients through the local
 * domains' users and aliases (pure: reads a struct conf, no I/O).
 *
 * A recipient of a local domain that is a user is delivered locally; else
 * its alias is expanded; else its local part normalised (conf_norm.c:
 * i+news is i, j.doe is jdoe if asked) is looked up as a user and an
 * alias (the suffix is kept for the alias's local targets); else the
 * domain's catch-all "*" is expanded.  Aliases are expanded: a bare name means the same domain, a full address is expanded
 * again, up to ALIAS_MAX_DEPTH levels; "| command" targets are not
 * supported yet and fail.  Addresses of other domains stay as they are,
 * for outbound delivery.  "postmaster" without a domain means postmaster
 * of the host name's domain (or of the first local domain), and a local
 * domain's postmaster with no user or alias is delivered locally anyway
 * (RFC 5321 4.5.1).  Results are deduplicated across the whole message
 * (a command: per alias that names it).
 *
 * An SRS address of a local domain (srs.h: a bounce to mail we forwarded)
 * is recognised first, before users and aliases: verified under the
 * secrets given and expanded as the address it stands for, or failed.
 */
#ifndef POSTERN_ALIAS_H
#define POSTERN_ALIAS_H

#include <stddef.h>
#include <time.h>

struct conf;
struct err;
struct srs;

#define ALIAS_MAX_DEPTH	8

enum alias_kind {
	AK_LOCAL,	/* a mailbox of a local domain: addr is local@domain */
	AK_REMOTE,	/* another domain: outbound delivery */
	AK_FAILED,	/* cannot be delivered: error says why */
	AK_PIPE,	/* a command: addr is "| command" (cmdline.h) */
};

struct alias_dest {
	enum alias_kind	 kind;
	char		*addr;		/* final address */
	char		*orig;		/* the recipient the client gave */
	char		*via;		/* the local alias whose target this
					   is (innermost), NULL if none */
	char		*error;		/* AK_FAILED only */
};

struct alias_dests {
	struct alias_dest	*v;
	size_t			 n;
};

/* what an expansion may use besides the configuration */
struct alias_opts {
	const struct srs	*srs;	/* NULL or no secret: SRS addresses
					   are plain ones */
	time_t			 now;	/* for SRS time stamps */
	/* NULL, or told each step: the address looked at, at what depth,
	 * and what it is (aliases-resolve prints them) */
	void			(*trace)(void *arg, unsigned depth,
				    const char *addr, const char *what);
	void			*trace_arg;
};

/*
 * alias_expand - expand one recipient rcpt (as the client gave it) and
 * append its destinations to out, skipping any already there.  Fails
 * (permanently) only if out would hold more than max entries.
 */
int	alias_expand(const struct conf *, const struct alias_opts *,
	    const char *rcpt,
	    struct alias_dests *out, size_t max, struct err *);
void	alias_dests_free(struct alias_dests *);

#endif
