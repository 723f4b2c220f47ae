/*
 * users.c - one domain's users file, DIR/domains/DOMAIN/users.
 *
 * Format (written by users_save, read by users_parse):
 *
 *	# comment
 *	name $scrypt$ln=15,r=8,p=1$SALT$HASH
 *
 * One user a line: a local part, blanks (spaces or tabs), the password
 * hash (see passwd.c), nothing after it.  Lines that are empty or whose
 * first non-blank is '#' are skipped; a trailing CR is ignored.  A name is
 * a dot-atom (RFC 5322 3.2.3) of at most 64 octets (RFC 5321 4.5.3.1.1),
 * stored lower case; the same name twice is an error.  Errors name
 * file:line.  The hash is not checked here (a bad one fails at login,
 * with a warning naming the user), only that it has no control bytes.
 *
 * In memory the entries are sorted by name (strcmp on the lower-case
 * names), so lookups are a binary search.  users_save writes them in that
 * order to DIR/.users.tmpXXXXXX, fsyncs it, sets mode 0640 (and, when run
 * as root, group "postern" if that group exists, so the unprivileged auth
 * process can read it), renames it over the file and fsyncs DIR.  Comments
 * of a hand-edited file are not kept.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "bounds.h"
#include "strutil.h"
#include "users.h"
#include "xmalloc.h"

/* a users file larger than this is refused (about 200,000 users) */
#define USERS_FILE_MAX		(32 * 1024 * 1024)
/* the group that may read users files (the auth process runs in it) */
#define USERS_GROUP		"postern"

/* one parsed entry and the line it came from */
struct parsed {
	struct user_entry	 ent;
	unsigned		 line;
};

/* is_atext - RFC 5322 3.2.3 atext, ASCII only */
static bool
is_atext(unsigned char c)
{
	if (isalnum(c) && c < 0x80)
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* users_name_valid - is name a dot-atom local part of at most 64 octets? */
bool
users_name_valid(const char *name)
{
	size_t	i, n = strlen(name);

	if (n == 0 || n > LIM_LOCAL_PART || name[0] == '.' ||
	    name[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (name[i] == '.') {
			if (name[i + 1] == '.')
				return false;
		} else if (!is_atext((unsigned char)name[i]))
			return false;
	}
	return true;
}

/* hash_valid - one non-empty field without blanks or control bytes */
static bool
hash_valid(const char *hash)
{
	size_t	n = strlen(hash);

	return n > 0 && n < LIM_CONF_LINE && !str_has_ctl(hash, n) &&
	    strchr(hash, ' ') == NULL;
}

/* cmp_parsed - order by name, then by line */
static int
cmp_parsed(const void *a, const void *b)
{
	const struct parsed	*pa = a, *pb = b;
	int			 c = strcmp(pa->ent.name, pb->ent.name);

	if (c != 0)
		return c;
	return pa->line < pb->line ? -1 : pa->line > pb->line;
}

/* cmp_key - bsearch: key is a name of any case, entries are lower case */
static int
cmp_key(const void *key, const void *ent)
{
	return strcasecmp(key, ((const struct user_entry *)ent)->name);
}

/* free_parsed - free n parsed entries and the array */
static void
free_parsed(struct parsed *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(p[i].ent.name);
		free(p[i].ent.hash);
	}
	free(p);
}

/*
 * parse_line - split one line (NUL-terminated, no LF) into name and hash.
 * Returns 1 for an entry, 0 for a blank or comment line, -1 on error.
 */
static int
parse_line(char *line, char **name, char **hash, const char *fname,
    unsigned lineno, struct err *e)
{
	char	*s = line, *n, *h;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '#')
		return 0;
	n = s;
	s += strcspn(s, " \t");
	if (*s == '\0')
		return err_set(e, false, 0, "%s:%u: no password hash after "
		    "the user name", fname, lineno);
	*s++ = '\0';
	s += strspn(s, " \t");
	h = s;
	s += strcspn(s, " \t");
	if (*s != '\0') {
		*s++ = '\0';
		s += strspn(s, " \t");
		if (*s != '\0')
			return err_set(e, false, 0, "%s:%u: extra field after "
			    "the password hash", fname, lineno);
	}
	if (*h == '\0')
		return err_set(e, false, 0, "%s:%u: no password hash after "
		    "the user name", fname, lineno);
	if (!users_name_valid(n))
		return err_set(e, false, 0, "%s:%u: invalid user name "
		    "\"%.64s\" (a dot-atom local part of at most %d octets)",
		    fname, lineno, n, LIM_LOCAL_PART);
	if (!hash_valid(h))
		return err_set(e, false, 0, "%s:%u: control character in the "
		    "password hash", fname, lineno);
	str_lower(n);
	*name = n;
	*hash = h;
	return 1;
}

/*
 * users_parse - parse a users file's text (pure).  u is written only on
 * success (its old contents are not freed).
 */
int
users_parse(struct users *u, const char *text, size_t len,
    const char *fname, struct err *e)
{
	struct parsed	*p = NULL;
	size_t		 n = 0, cap = 0, off = 0, i, llen;
	unsigned	 lineno = 0, dupline = 0;
	char		 line[LIM_CONF_LINE + 2];
	char		*name = NULL, *hash = NULL;
	const char	*nl, *dupname = NULL;
	int		 r, rc = -1;

	while (off < len) {
		lineno++;
		nl = memchr(text + off, '\n', len - off);
		llen = (nl != NULL ? (size_t)(nl - text) : len) - off;
		if (llen > 0 && text[off + llen - 1] == '\r')
			llen--;
		if (llen > LIM_CONF_LINE) {
			err_set(e, false, 0, "%s:%u: line longer than %d "
			    "octets", fname, lineno, LIM_CONF_LINE);
			goto out;
		}
		if (memchr(text + off, '\0', llen) != NULL) {
			err_set(e, false, 0, "%s:%u: NUL byte", fname, lineno);
			goto out;
		}
		memcpy(line, text + off, llen);
		line[llen] = '\0';
		off = nl != NULL ? (size_t)(nl - text) + 1 : len;
		if ((r = parse_line(line, &name, &hash, fname, lineno,
		    e)) == -1)
			goto out;
		if (r == 0)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			p = xreallocarray(p, cap, sizeof(*p));
		}
		p[n].ent.name = xstrdup(name);
		p[n].ent.hash = xstrdup(hash);
		p[n].line = lineno;
		n++;
	}
	if (n > 0)
		qsort(p, n, sizeof(*p), cmp_parsed);
	/* report the duplicate that comes first in the file */
	for (i = 1; i < n; i++)
		if (strcmp(p[i - 1].ent.name, p[i].ent.name) == 0 &&
		    (dupname == NULL || p[i].line < dupline)) {
			dupname = p[i].ent.name;
			dupline = p[i].line;
		}
	if (dupname != NULL) {
		err_set(e, false, 0, "%s:%u: duplicate user \"%s\"", fname,
		    dupline, dupname);
		goto out;
	}
	u->v = xcalloc(n, sizeof(*u->v));
	for (i = 0; i < n; i++)
		u->v[i] = p[i].ent;
	u->n = n;
	free(p);
	p = NULL;
	n = 0;
	rc = 0;
out:
	explicit_bzero(line, sizeof(line));
	free_parsed(p, n);
	return rc;
}

/* users_load - read path; a missing file is an empty list */
int
users_load(struct users *u, const char *path, struct err *e)
{
	struct stat	 st;
	char		*text = NULL;
	size_t		 got = 0;
	ssize_t		 r;
	int		 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT) {
			u->v = NULL;
			u->n = 0;
			return 0;
		}
		return err_set(e, true, errno, "%s: %s", path,
		    strerror(errno));
	}
	if (fstat(fd, &st) == -1) {
		err_set(e, true, errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, false, 0, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > USERS_FILE_MAX) {
		err_set(e, false, 0, "%s: larger than %d bytes", path,
		    USERS_FILE_MAX);
		goto out;
	}
	text = xmalloc((size_t)st.st_size + 1);
	/* read until EOF; a file that grew meanwhile is refused */
	for (;;) {
		r = read(fd, text + got, (size_t)st.st_size + 1 - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_set(e, true, errno, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > (size_t)st.st_size) {
			err_set(e, true, 0, "%s: changed while reading", path);
			goto out;
		}
	}
	rc = users_parse(u, text, got, path, e);
out:
	if (text != NULL) {
		explicit_bzero(text, got);
		free(text);
	}
	close(fd);
	return rc;
}

/* users_find - the hash of name (any case), or NULL */
const char *
users_find(const struct users *u, const char *name)
{
	const struct user_entry	*ent;

	if (u->n == 0)
		return NULL;
	ent = bsearch(name, u->v, u->n, sizeof(*u->v), cmp_key);
	return ent != NULL ? ent->hash : NULL;
}

/* users_set - add or replace name's hash; -1 if name or hash is invalid */
int
users_set(struct users *u, const char *name, const char *hash)
{
	size_t	 lo = 0, hi = u->n, mid;
	int	 c;

	if (!users_name_valid(name) || !hash_valid(hash))
		return -1;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcasecmp(name, u->v[mid].name)) == 0) {
			free(u->v[mid].hash);
			u->v[mid].hash = xstrdup(hash);
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	u->v = xreallocarray(u->v, u->n + 1, sizeof(*u->v));
	memmove(&u->v[lo + 1], &u->v[lo], (u->n - lo) * sizeof(*u->v));
	u->v[lo].name = xstrdup(name);
	str_lower(u->v[lo].name);
	u->v[lo].hash = xstrdup(hash);
	u->n++;
	return 0;
}

/* users_remove - -1 if name is not there */
int
users_remove(struct users *u, const char *name)
{
	struct user_entry	*ent;
	size_t			 i;

	if (u->n == 0 ||
	    (ent = bsearch(name, u->v, u->n, sizeof(*u->v), cmp_key)) == NULL)
		return -1;
	i = (size_t)(ent - u->v);
	free(ent->name);
	free(ent->hash);
	memmove(&u->v[i], &u->v[i + 1], (u->n - i - 1) * sizeof(*u->v));
	u->n--;
	return 0;
}

/* set_owner - as root, give the file to group USERS_GROUP if it exists */
static int
set_owner(int fd)
{
	struct group	*gr;

	if (geteuid() != 0)
		return 0;
	errno = 0;
	if ((gr = getgrnam(USERS_GROUP)) == NULL)
		return errno == 0 || errno == ENOENT ? 0 : -1;
	return fchown(fd, 0, gr->gr_gid);
}

/* sync_dir - fsync the directory that holds path */
static int
sync_dir(const char *dir)
{
	int	fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* users_save - write u to path atomically, mode 0640 */
int
users_save(const struct users *u, const char *path, struct err *e)
{
	char		 dir[PATH_MAX], tmp[PATH_MAX];
	const char	*slash;
	FILE		*fp = NULL;
	size_t		 i;
	int		 fd = -1, rc = -1;

	tmp[0] = '\0';
	if ((slash = strrchr(path, '/')) == NULL)
		(void)str_copy(dir, ".", sizeof(dir));
	else if (slash == path)
		(void)str_copy(dir, "/", sizeof(dir));
	else if ((size_t)(slash - path) >= sizeof(dir))
		return err_set(e, false, 0, "%s: path too long", path);
	else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.users.tmpXXXXXX", dir) >=
	    sizeof(tmp)) {
		tmp[0] = '\0';
		return err_set(e, false, 0, "%s: path too long", path);
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		err_set(e, true, errno, "%s: %s", tmp, strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		err_set(e, true, errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	for (i = 0; i < u->n; i++)
		fprintf(fp, "%s %s\n", u->v[i].name, u->v[i].hash);
	if (fflush(fp) == EOF || ferror(fp)) {
		err_set(e, true, errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fsync(fileno(fp)) == -1) {
		err_set(e, true, errno, "fsync %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fileno(fp), 0640) == -1 || set_owner(fileno(fp)) == -1) {
		err_set(e, true, errno, "%s: set mode or owner: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (fclose(fp) == EOF) {
		fp = NULL;
		err_set(e, true, errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fp = NULL;
	if (rename(tmp, path) == -1) {
		err_set(e, true, errno, "rename %s to %s: %s", tmp, path,
		    strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	if (sync_dir(dir) == -1) {
		err_set(e, true, errno, "fsync %s: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	if (fd != -1)
		close(fd);
	if (tmp[0] != '\0')
		(void)unlink(tmp);
	return rc;
}

/* users_free - free the entries; u is left empty */
void
users_free(struct users *u)
{
	size_t	i;

	if (u == NULL)
		return;
	for (i = 0; i < u->n; i++) {
		free(u->v[i].name);
		free(u->v[i].hash);
	}
	free(u->v);
	u->v = NULL;
	u->n = 0;
}
