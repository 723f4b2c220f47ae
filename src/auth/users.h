/*
 * users.h - one domain's users file: "name hash" per line, # comments.
 *
 * Names are local parts, stored lower case.  Saving is atomic: a
 * temporary file, fsync, rename, fsync of the directory; mode 0640.
 */
#ifndef POSTERN_USERS_H
#define POSTERN_USERS_H

#include <stdbool.h>
#include <stddef.h>

struct err;

struct user_entry {
	char	*name;
	char	*hash;
};

struct users {
	struct user_entry	*v;
	size_t			 n;
};

/* users_load - read path; a missing file is an empty list */
int		 users_load(struct users *, const char *path, struct err *);
int		 users_parse(struct users *, const char *text, size_t len,
		    const char *fname, struct err *);
const char	*users_find(const struct users *, const char *name);
/* users_set - add or replace name's hash */
int		 users_set(struct users *, const char *name, const char *hash);
/* users_remove - -1 if name is not there */
int		 users_remove(struct users *, const char *name);
int		 users_save(const struct users *, const char *path,
		    struct err *);
void		 users_free(struct users *);
/* users_name_valid - is name a dot-atom local part of at most 64 octets? */
bool		 users_name_valid(const char *name);

#endif
