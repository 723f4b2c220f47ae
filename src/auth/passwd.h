/*
 * passwd.h - password hashing: scrypt through OpenSSL's EVP_KDF, stored as
 * one PHC-style string "$scrypt$ln=15,r=8,p=1$SALT$HASH" (unpadded
 * base64), compared in constant time.
 */
#ifndef POSTERN_PASSWD_H
#define POSTERN_PASSWD_H

#include <stddef.h>

struct err;

#define PASSWD_HASH_MAX	160

enum passwd_result {
	PASSWD_OK,
	PASSWD_MISMATCH,
	PASSWD_ERROR,		/* malformed hash string or KDF failure */
};

/* passwd_hash - hash password with a fresh random salt into out */
int			passwd_hash(const char *password, char *out,
			    size_t outsz, struct err *);
enum passwd_result	passwd_verify(const char *password, const char *phc,
			    struct err *);

#endif
