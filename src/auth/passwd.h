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

/* bounds of a stored hash string; see passwd.c for the memory cap */
#define PASSWD_SALT_MIN	8
#define PASSWD_SALT_MAX	32
#define PASSWD_KEY_MIN	16
#define PASSWD_KEY_MAX	48

/* a parsed "$scrypt$ln=L,r=R,p=P$SALT$HASH" string */
struct passwd_phc {
	unsigned	 ln;		/* N = 2^ln */
	unsigned	 r;
	unsigned	 p;
	unsigned char	 salt[PASSWD_SALT_MAX];
	size_t		 saltlen;
	unsigned char	 hash[PASSWD_KEY_MAX];
	size_t		 hashlen;
};

/*
 * passwd_parse_phc - parse and bound-check a hash string (pure, no KDF);
 * -1 with e filled if it is malformed or asks for too much.
 */
int			passwd_parse_phc(const char *phc,
			    struct passwd_phc *out, struct err *);

#endif
