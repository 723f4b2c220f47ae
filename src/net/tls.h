/*
 * tls.h - server TLS contexts: one per certificate folder
 * (certs/NAME/fullchain.pem + privkey.pem), chosen by SNI, the one named
 * after the hostname by default.  TLS 1.2 and later, forward-secret AEAD
 * ciphers only, ECDHE on X25519, P-256 or P-384.
 */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <openssl/ssl.h>

struct err;
struct tls_store;

/*
 * tls_store_load - load every certs/NAME/ under certdir; default_name
 * picks the default (else the first, in name order).  No certificate at
 * all is an error.
 */
struct tls_store	*tls_store_load(const char *certdir,
			    const char *default_name, struct err *);
SSL_CTX			*tls_store_ctx(struct tls_store *);
void			 tls_store_free(struct tls_store *);
/*
 * tls_set_groups - the key exchange groups of every context, server and
 * client: X25519, P-256, P-384 (no finite-field group)
 */
int			 tls_set_groups(SSL_CTX *, struct err *);
/* tls_server_ctx_new - a hardened server context for one cert/key pair */
SSL_CTX			*tls_server_ctx_new(const char *chain, const char *key,
			    struct err *);

#endif
