/*
 * cert.h - a self-signed certificate for the embedded default and for
 * tests: ECDSA P-256, SHA-256, subjectAltName DNS:hostname.
 */
#ifndef POSTERN_CERT_H
#define POSTERN_CERT_H

struct err;

/*
 * cert_selfsigned - write dir/fullchain.pem (0644) and dir/privkey.pem
 * (0600), creating dir (0755) if missing; refuses to overwrite.
 */
int	cert_selfsigned(const char *dir, const char *hostname, struct err *);

#endif
