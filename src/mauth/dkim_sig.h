/*
 * dkim_sig.h - a DKIM-Signature field's value and a DKIM key record
 * (RFC 6376 3.5, 3.6.1, 6.1.1; RFC 8301; RFC 8463), parsed and checked.
 * Pure.
 */
#ifndef POSTERN_DKIM_SIG_H
#define POSTERN_DKIM_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "err.h"
#include "mauth/dkim_canon.h"

enum dkim_alg {
	DKIM_ALG_RSA_SHA256,
	DKIM_ALG_ED25519_SHA256,
};

#define DKIM_B64_MAX	1024	/* b= and p= (RSA-4096 public key: 736) */

struct dkim_sig {
	enum dkim_alg	 alg;
	enum dkim_canon	 hcanon;
	enum dkim_canon	 bcanon;
	char		 d[LIM_DOMAIN + 1];	/* lower-cased */
	char		 s[LIM_DOMAIN + 1];
	char		 i[LIM_PATH + 1];	/* "@d" when absent */
	char		 h[LIM_DKIM_SIG_FIELD];	/* the list as written */
	char		 bh[128];		/* base64, no whitespace */
	char		 b[DKIM_B64_MAX];
	bool		 has_l;
	uint64_t	 l;
	bool		 has_t, has_x;
	uint64_t	 t, x;
};

struct dkim_key {
	bool		 ed25519;	/* k=ed25519, else rsa */
	bool		 revoked;	/* p= empty */
	bool		 testing;	/* t=y */
	bool		 strict;	/* t=s: i= must be in d= exactly */
	char		 p[DKIM_B64_MAX];	/* base64, no whitespace */
};

/*
 * dkim_sig_parse - the value of a DKIM-Signature field (after the colon).
 * -1 with the reason (a permerror for the signature, 6.1.1): a tag list
 * that does not parse, v not 1, a required tag missing (a b bh d h s),
 * an algorithm other than rsa-sha256 or ed25519-sha256 (rsa-sha1 is not
 * valid, RFC 8301), h= without From, i= not in d=, x= before t=.
 */
int	dkim_sig_parse(const char *v, size_t len, struct dkim_sig *,
	    struct err *);
/*
 * dkim_sig_expired - x= is in the past at now (6.1.1; a little clock
 * skew, DKIM_CLOCK_SKEW seconds, allowed)
 */
bool	dkim_sig_expired(const struct dkim_sig *, uint64_t now);
#define DKIM_CLOCK_SKEW	300
/*
 * dkim_key_parse - a key record's TXT (3.6.1).  -1 when it is not a
 * usable key record: bad syntax, v other than DKIM1, k other than rsa or
 * ed25519, h= not allowing sha256, s= not allowing email.  A revoked key
 * (empty p=) parses and says so.
 */
int	dkim_key_parse(const char *txt, size_t len, struct dkim_key *,
	    struct err *);

#endif
