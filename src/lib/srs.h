/*
 * srs.h - the Sender Rewriting Scheme: envelope senders of forwarded mail
 * rewritten under the forwarding domain, and bounces to them reversed.
 *
 * The format is the one shared by libsrs2, python3-srs and postsrsd (the
 * "Guarded" scheme):
 *
 *   SRS0=HHHH=TT=orig.domain=orig-local@forwarder
 *   SRS1=HHHH=first.forwarder==HHHH=TT=orig.domain=orig-local@forwarder
 *
 * HHHH: the first 4 characters of the standard base64 of HMAC-SHA1 under
 * the first secret, over the lowercased fields concatenated (SRS0: TT,
 * domain, local; SRS1: the first forwarder and the rest after its "SRS0");
 * read case-insensitively, in the standard or the URL-safe alphabet
 * ("-" "_"), under any secret.  TT: the day (Unix time / 86400) modulo
 * 1024 in two base32 characters (A-Z, 2-7), valid for maxage days.  The
 * separator after SRS0/SRS1 may be "=", "+" or "-".  Pure: no I/O.
 */
#ifndef POSTERN_SRS_H
#define POSTERN_SRS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct err;

#define SRS_MAX_SECRETS	8
#define SRS_SECRET_MIN	16
#define SRS_SECRET_MAX	256
#define SRS_MAXAGE	21		/* days */
#define SRS_HASHLEN	4

struct srs {
	char		 secret[SRS_MAX_SECRETS][SRS_SECRET_MAX + 1];
	size_t		 n;		/* the first signs, all verify */
	unsigned	 maxage;	/* days */
};

enum srs_result {
	SRS_OK = 0,
	SRS_NOT = -1,		/* not an SRS address */
	SRS_MALFORMED = -2,
	SRS_BADHASH = -3,
	SRS_EXPIRED = -4,	/* or a timestamp from the future */
	SRS_TOOLONG = -5,	/* the result would not fit a path */
};

/* srs_is_srs - does local start with SRS0 or SRS1 and a separator? */
bool	srs_is_srs(const char *local);
/*
 * srs_forward - the SRS address of sender (local@domain) forwarded by
 * fwd_domain at time now, into out: SRS0 for a plain sender, SRS1 for an
 * SRS0 or SRS1 one.  A sender of fwd_domain itself is kept as it is.
 * SRS_OK, or an error (null or quoted sender, longer than 64 octets of
 * local part or LIM_PATH in all) with e set.
 */
int	srs_forward(const struct srs *, const char *sender,
	    const char *fwd_domain, time_t now, char *out, size_t outsz,
	    struct err *);
/*
 * srs_reverse - the address addr (an SRS address of ours) stands for:
 * SRS0 gives the original sender, SRS1 the SRS0 address at the first
 * forwarder.  SRS_OK, or why not with e set.
 */
int	srs_reverse(const struct srs *, const char *addr, time_t now,
	    char *out, size_t outsz, struct err *);
/*
 * srs_secrets_parse - a secrets file: one secret a line (printable, no
 * blank inside, SRS_SECRET_MIN to SRS_SECRET_MAX octets), # comments, at
 * least one, at most SRS_MAX_SECRETS; the first signs.  s is changed only
 * on success; errors name fname and the line.
 */
int	srs_secrets_parse(struct srs *, const char *text, size_t len,
	    const char *fname, struct err *);
/*
 * srs_load - the file "srs_secrets" of the config directory dir into s
 * (initialised: its maxage is kept, 0 meaning SRS_MAXAGE):
 * 0, 1 when there is none (s emptied), -1 with e on an error
 */
int	srs_load(struct srs *, const char *dir, struct err *);

#endif
