/*
 * auth.h - the auth process: holds the password hashes, answers
 * M_AUTH_REQ from smtp workers.  No network, no spool.
 */
#ifndef POSTERN_AUTH_H
#define POSTERN_AUTH_H

#include <stddef.h>

struct conf;
struct err;

/*
 * auth_main - serve M_AUTH_REQ on each of the n sockets until all close.
 * The users files are read before this is called (auth_load) while the
 * process may still be privileged.  Never returns; exits 0 when every
 * peer has closed.
 */
struct authdb;
struct authdb	*auth_load(const struct conf *, struct err *);
void		 auth_main(struct authdb *, const int *socks, size_t n)
		    __attribute__((noreturn));
void		 auth_free(struct authdb *);
/* auth_check - the check itself (for ctl and tests): enum auth_result */
int		 auth_check(const struct authdb *, const char *user,
		    const char *password);

#endif
