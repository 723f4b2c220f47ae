/*
 * dkim_keys.h - the DKIM private keys of the config directory,
 * DIR/domains/DOMAIN/dkim/SELECTOR.pem, read: by the signer (the only
 * process of the server that holds them) and by the admin verbs that
 * print their records.
 */
#ifndef POSTERN_DKIM_KEYS_H
#define POSTERN_DKIM_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "bounds.h"
#include "err.h"

#define DKIM_SELECTOR_MAX	63	/* one DNS label */
#define DKIM_KEYS_MAX		LIM_DKIM_KEYS	/* keys of one domain */

struct dkim_keyent {
	char		 selector[DKIM_SELECTOR_MAX + 1];
	EVP_PKEY	*k;
	bool		 ed25519;	/* else RSA */
	int		 bits;
};

/*
 * dkim_keys_read - every SELECTOR.pem of the domain, parsed, sorted by
 * selector; *n = 0 when there is no dkim/ folder.  -1 naming the file
 * when one is not a selector's name, cannot be read, is not a PEM
 * private key, is neither RSA nor Ed25519, or is an RSA key under
 * DKIM_RSA_MIN_BITS; nothing is kept then.
 */
int	dkim_keys_read(const char *confdir, const char *domain,
	    struct dkim_keyent *v, size_t max, size_t *n, struct err *);
/* dkim_keys_free - the keys of v[0..n) */
void	dkim_keys_free(struct dkim_keyent *v, size_t n);
/* dkim_keys_dir - DIR/domains/DOMAIN/dkim into out */
int	dkim_keys_dir(const char *confdir, const char *domain, char *out,
	    size_t outsz, struct err *);
/* dkim_keys_selector_ok - one DNS label of letters, digits, inner '-' */
bool	dkim_keys_selector_ok(const char *);

#endif
