/*
 * ctl_dkim.h - DKIM keys of the config directory, for the admin verbs:
 * generate one, list a domain's, and say the TXT record each needs.
 */
#ifndef POSTERN_CTL_DKIM_H
#define POSTERN_CTL_DKIM_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "signer/dkim_keys.h"


struct ctl_dkim_key {
	char	 selector[DKIM_SELECTOR_MAX + 1];
	bool	 ed25519;
	int	 bits;
	char	 txt[1024];	/* "v=DKIM1; k=...; p=..." */
};

/*
 * ctl_dkim_keygen - a new key domains/DOMAIN/dkim/SELECTOR.pem (PKCS#8
 * PEM, mode 0640, group of the service user when it exists), never over
 * an existing one; its record in *out
 */
int	ctl_dkim_keygen(const char *confdir, const char *domain,
	    const char *selector, bool ed25519, int bits,
	    struct ctl_dkim_key *out, struct err *);
/* ctl_dkim_keys - the domain's keys, sorted by selector; *n of them */
int	ctl_dkim_keys(const char *confdir, const char *domain,
	    struct ctl_dkim_key *v, size_t max, size_t *n, struct err *);
/*
 * ctl_dkim_txt_zone - the zone-file line for a key:
 * SELECTOR._domainkey.DOMAIN. IN TXT ( "..." "..." ), split in strings of
 * at most 255 bytes (RFC 1035 3.3.14)
 */
int	ctl_dkim_txt_zone(const char *domain, const struct ctl_dkim_key *,
	    struct buf *out);

#endif
