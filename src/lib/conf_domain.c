/*
 * conf_domain.c - the domain table of the config directory: one entry per
 * folder of domains/, with the names of its users and its aliases, and the
 * lookups the recipient checks use.
 *
 * Loaded in the parent (at startup and on SIGHUP) and in the admin verbs,
 * through conf_load(); the lookups run wherever the table is sent, the
 * process that parses hostile input included.  A users file is read for
 * its names only: the file's bytes (hashes included) are wiped as soon as
 * the names are copied, so the table holds no secret.  conf_parse_aliases()
 * is pure and fuzzed.  Lookups are case-insensitive binary searches over
 * tables sorted at load time; duplicates (users, aliases, folder names
 * differing only in case) are load errors.
 *
 * Errors name file and line ("domains/example.com/aliases:3: ...").
 * Limits (bounds.h): local parts at most LIM_LOCAL_PART octets, domain
 * names at most LIM_DOMAIN; the line and file bounds of conf_read.c.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "cmdline.h"
#include "conf.h"
#include "conf_domain.h"
#include "conf_read.h"
#include "err.h"
#include "strutil.h"
#include "xmalloc.h"

/* local_valid - a dot-atom local part (RFC 5321 4.1.2); utf8: RFC 6531 */
static bool
local_valid(const char *s, bool utf8)
{
	static const char	 atext[] = "!#$%&'*+-/=?^_`{|}~";
	size_t			 i, n = strlen(s);

	if (n == 0 || n > LIM_LOCAL_PART || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char	ch = (unsigned char)s[i];

		if (ch == '.' && s[i + 1] == '.')
			return false;
		if (ch >= 0x80 ? !utf8 : !isalnum(ch) && ch != '.' &&
		    strchr(atext, ch) == NULL)
			return false;
	}
	return true;
}

/* strp_cmp - qsort order of a char * array */
static int
strp_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* strp_casecmp - bsearch: a key string against a char * element */
static int
strp_casecmp(const void *key, const void *elt)
{
	return strcasecmp(key, *(char *const *)elt);
}

/* alias_free - release one alias entry */
static void
alias_free(struct alias *a)
{
	size_t	i;

	for (i = 0; i < a->ntargets; i++)
		free(a->targets[i]);
	free(a->targets);
	free(a->local);
}

/* domain_free - release what one domain entry holds */
static void
domain_free(struct domain *d)
{
	size_t	i;

	for (i = 0; i < d->nusers; i++)
		free(d->users[i]);
	free(d->users);
	for (i = 0; i < d->naliases; i++)
		alias_free(&d->aliases[i]);
	free(d->aliases);
	conf_senders_free(d);
	d->users = NULL;
	d->aliases = NULL;
	d->nusers = d->naliases = 0;
	d->catchall = false;
}

/* alias_target - validate one target of an alias line and store it */
static int
alias_target(struct alias *a, const char *t, char *why, size_t whysz)
{
	struct mailbox	 mb;
	struct cmdline	 cmd;
	char		 addr[LIM_PATH + 1];
	const char	*keep = t;

	if (*t == '\0') {
		(void)snprintf(why, whysz, "empty target");
		return -1;
	}
	if (t[0] == '|') {
		if (t[1 + strspn(t + 1, " \t")] == '\0') {
			(void)snprintf(why, whysz, "empty command after \"|\"");
			return -1;
		}
		if (strchr(t, '\t') != NULL) {
			(void)snprintf(why, whysz, "a tab in the command (write "
			    "spaces)");
			return -1;
		}
		if (cmdline_split(t + 1, &cmd, addr, sizeof(addr)) == -1) {
			(void)snprintf(why, whysz, "command \"%.64s\": %.100s",
			    t + 1 + strspn(t + 1, " \t"), addr);
			return -1;
		}
		cmdline_free(&cmd);
	} else if (strchr(t, '@') != NULL) {
		/* a full address: the domain is kept in lower case */
		if (addr_parse_mailbox(t, strlen(t), true, &mb, NULL) == -1 ||
		    addr_format(&mb, addr, sizeof(addr)) == -1) {
			(void)snprintf(why, whysz, "bad address \"%.64s\"", t);
			return -1;
		}
		keep = addr;
	} else if (!local_valid(t, true)) {
		(void)snprintf(why, whysz, "bad target \"%.64s\"", t);
		return -1;
	}
	a->targets = xreallocarray(a->targets, a->ntargets + 1,
	    sizeof(*a->targets));
	a->targets[a->ntargets++] = xstrdup(keep);
	return 0;
}

/* alias_targets - "t, t, | command": a command takes the rest of the line */
static int
alias_targets(struct alias *a, char *s, char *why, size_t whysz)
{
	char	*end;

	for (;;) {
		s += strspn(s, " \t");
		if (*s == '|')
			return alias_target(a, str_trim(s), why, whysz);
		if ((end = strchr(s, ',')) != NULL)
			*end = '\0';
		if (alias_target(a, str_trim(s), why, whysz) == -1)
			return -1;
		if (end == NULL)
			return 0;
		s = end + 1;
	}
}

struct alias_line {
	struct alias	 a;
	unsigned	 lineno;
};

/* alias_line_cmp - by local part, then by line */
static int
alias_line_cmp(const void *x, const void *y)
{
	const struct alias_line	*a = x, *b = y;
	int			 r;

	if ((r = strcmp(a->a.local, b->a.local)) != 0)
		return r;
	return a->lineno < b->lineno ? -1 : a->lineno > b->lineno;
}

/* conf_parse_aliases - parse an aliases file; d's aliases replaced on success */
int
conf_parse_aliases(struct domain *d, const char *text, size_t len,
    const char *fname, struct err *e)
{
	struct conf_read	*l;
	struct alias_line	*v = NULL;
	struct alias		*out;
	char			 why[200], *s, *colon, *local;
	size_t			 n = 0, i;
	enum conf_read_result	 r;
	int			 rc = -1;

	l = xmalloc(sizeof(*l));
	conf_read_init(l, text, len, fname);
	while ((r = conf_read_next(l, &s, e)) == CONF_READ_LINE) {
		if (*s == '\0')
			continue;
		if ((colon = strchr(s, ':')) == NULL) {
			err_set(e, false, 0, "%s:%u: missing \":\" in \"%.64s\"",
			    fname, l->lineno, s);
			goto out;
		}
		*colon = '\0';
		local = str_trim(s);
		if (strcmp(local, "*") != 0 && !local_valid(local, true)) {
			err_set(e, false, 0, "%s:%u: bad local part \"%.64s\"",
			    fname, l->lineno, local);
			goto out;
		}
		v = xreallocarray(v, n + 1, sizeof(*v));
		memset(&v[n], 0, sizeof(v[n]));
		v[n].lineno = l->lineno;
		v[n].a.lineno = l->lineno;
		v[n].a.local = xstrdup(local);
		addr_lower(v[n].a.local);
		n++;
		if (alias_targets(&v[n - 1].a, colon + 1, why,
		    sizeof(why)) == -1) {
			err_set(e, false, 0, "%s:%u: %s", fname, l->lineno, why);
			goto out;
		}
	}
	if (r == CONF_READ_ERROR)
		goto out;
	if (n > 0)
		qsort(v, n, sizeof(*v), alias_line_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(v[i - 1].a.local, v[i].a.local) == 0) {
			err_set(e, false, 0, "%s:%u: duplicate alias \"%.64s\""
			    " (first on line %u)", fname, v[i].lineno,
			    v[i].a.local, v[i - 1].lineno);
			goto out;
		}
	for (i = 0; i < d->naliases; i++)
		alias_free(&d->aliases[i]);
	free(d->aliases);
	out = n > 0 ? xcalloc(n, sizeof(*out)) : NULL;
	d->catchall = false;
	for (i = 0; i < n; i++) {
		out[i] = v[i].a;
		if (strcmp(out[i].local, "*") == 0)
			d->catchall = true;
	}
	d->aliases = out;
	d->naliases = n;
	n = 0;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		alias_free(&v[i].a);
	free(v);
	free(l);
	return rc;
}

/*
 * parse_users - the names of a users file ("name hash" lines).  Only the
 * first field is looked at; the caller wipes the text afterwards.
 */
static int
parse_users(struct domain *d, const char *text, size_t len,
    const char *fname, struct err *e)
{
	struct conf_read	*l;
	char			**v = NULL, *s;
	size_t			 n = 0, i;
	enum conf_read_result	 r;
	int			 rc = -1;

	l = xmalloc(sizeof(*l));
	conf_read_init(l, text, len, fname);
	while ((r = conf_read_next(l, &s, e)) == CONF_READ_LINE) {
		if (*s == '\0')
			continue;
		s[strcspn(s, " \t")] = '\0';
		if (!local_valid(s, false)) {
			err_set(e, false, 0, "%s:%u: bad user name \"%.64s\"",
			    fname, l->lineno, s);
			goto out;
		}
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n] = xstrdup(s);
		addr_lower(v[n++]);
	}
	if (r == CONF_READ_ERROR)
		goto out;
	if (n > 0)
		qsort(v, n, sizeof(*v), strp_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(v[i - 1], v[i]) == 0) {
			err_set(e, false, 0, "%s: duplicate user \"%.64s\"",
			    fname, v[i]);
			goto out;
		}
	d->users = v;
	d->nusers = n;
	v = NULL;
	n = 0;
	rc = 0;
out:
	explicit_bzero(l, sizeof(*l));
	free(l);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

/* senders_users - is each senders line's user one of d's users? */
static int
senders_users(const struct domain *d, const char *path, struct err *e)
{
	size_t	i;

	for (i = 0; i < d->nsenders; i++)
		if (!domain_has_user(d, d->senders[i].user))
			return err_set(e, false, 0, "%s:%u: \"%.64s\" is not "
			    "a user of %s", path, d->senders[i].lineno,
			    d->senders[i].user, d->name);
	return 0;
}

/* users_aliases - no address of d is both a user and an alias */
static int
users_aliases(const struct domain *d, const char *path, struct err *e)
{
	size_t	i;

	for (i = 0; i < d->naliases; i++)
		if (domain_has_user(d, d->aliases[i].local))
			return err_set(e, false, 0, "%s:%u: \"%.64s\" is both a "
			    "user of %s and an alias (remove one)", path,
			    d->aliases[i].lineno, d->aliases[i].local, d->name);
	return 0;
}

/* domain_load - one folder of domains/: its users' names, its aliases,
 * its senders and its domain.conf (t: postern.conf's settings) */
static int
domain_load(struct domain *d, const struct conf *t, int parent,
    const char *name, struct err *e)
{
	char	 path[NAME_MAX + 32], *text = NULL;
	size_t	 len;
	int	 dfd, rc = -1;

	memset(d, 0, sizeof(*d));
	if (!addr_domain_valid(name, strlen(name), false) ||
	    str_copy(d->name, name, sizeof(d->name)) == -1)
		return err_set(e, false, 0, "domains/%s: folder name is not a"
		    " domain", name);
	addr_lower(d->name);
	(void)str_copy(d->suffix_sep, t->suffix_separators,
	    sizeof(d->suffix_sep));
	(void)str_copy(d->drop_chars, t->drop_characters,
	    sizeof(d->drop_chars));
	if ((dfd = openat(parent, name, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return err_set(e, true, errno, "domains/%s: %s", name,
		    strerror(errno));
	(void)snprintf(path, sizeof(path), "domains/%s/users", name);
	if (conf_read_file_at(dfd, "users", path, true, &text, &len, e) == -1)
		goto out;
	if (text != NULL) {
		rc = parse_users(d, text, len, path, e);
		explicit_bzero(text, len);
		free(text);
		text = NULL;
		if (rc == -1)
			goto out;
		rc = -1;
	}
	/* missing is an error, not "no aliases": a file lost by mistake
	 * would otherwise refuse mail for every alias without a word */
	(void)snprintf(path, sizeof(path), "domains/%s/aliases", name);
	if (conf_read_file_at(dfd, "aliases", path, false, &text, &len,
	    e) == -1) {
		if (e != NULL && e->code == ENOENT)
			err_set(e, false, ENOENT, "%s: missing (an empty file "
			    "means no aliases)", path);
		goto out;
	}
	if (text != NULL && (conf_parse_aliases(d, text, len, path, e) == -1 ||
	    users_aliases(d, path, e) == -1))
		goto out;
	free(text);
	text = NULL;
	(void)snprintf(path, sizeof(path), "domains/%s/domain.conf", name);
	if (conf_read_file_at(dfd, "domain.conf", path, true, &text, &len,
	    e) == -1)
		goto out;
	if (text != NULL && conf_parse_domain_conf(d, text, len, path, e) ==
	    -1)
		goto out;
	free(text);
	text = NULL;
	(void)snprintf(path, sizeof(path), "domains/%s/senders", name);
	if (conf_read_file_at(dfd, "senders", path, true, &text, &len, e) == -1)
		goto out;
	if (text != NULL && (conf_parse_senders(d, text, len, path, e) == -1 ||
	    senders_users(d, path, e) == -1))
		goto out;
	rc = 0;
out:
	free(text);
	if (rc == -1)
		domain_free(d);
	(void)close(dfd);
	return rc;
}

/* domain_cmp - qsort order of the domain table */
static int
domain_cmp(const void *x, const void *y)
{
	const struct domain	*a = x, *b = y;

	return strcmp(a->name, b->name);
}

/* domain_casecmp - bsearch: a name against a domain entry */
static int
domain_casecmp(const void *key, const void *elt)
{
	const struct domain	*d = elt;

	return strcasecmp(key, d->name);
}

/* conf_domain_load_table - every folder of DIR/domains/ (none is fine) */
int
conf_domain_load_table(struct conf *t, int cfd, struct err *e)
{
	struct domain	*v = NULL;
	struct dirent	*de;
	struct stat	 st;
	DIR		*dp = NULL;
	size_t		 n = 0, i;
	int		 dfd, rc = -1;

	if ((dfd = openat(cfd, "domains", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		return err_set(e, true, errno, "domains: %s",
		    strerror(errno));
	}
	if ((dp = fdopendir(dfd)) == NULL) {
		err_set(e, true, errno, "domains: %s", strerror(errno));
		(void)close(dfd);
		goto out;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(dp)) == NULL)
			break;
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(dp), de->d_name, &st, 0) == -1) {
			err_set(e, true, errno, "domains/%s: %s", de->d_name,
			    strerror(errno));
			goto out;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		if (domain_load(&v[n], t, dirfd(dp), de->d_name, e) == -1)
			goto out;
		n++;
	}
	if (errno != 0) {
		err_set(e, true, errno, "domains: %s", strerror(errno));
		goto out;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), domain_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(v[i - 1].name, v[i].name) == 0) {
			err_set(e, false, 0, "domains/%s: there twice (folder"
			    " names differ only in case)", v[i].name);
			goto out;
		}
	t->domains = v;
	t->ndomains = n;
	v = NULL;
	n = 0;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		domain_free(&v[i]);
	free(v);
	if (dp != NULL)
		(void)closedir(dp);
	return rc;
}

/* conf_domain_free_table - release c's domain table and empty it */
void
conf_domain_free_table(struct conf *c)
{
	size_t	i;

	for (i = 0; i < c->ndomains; i++)
		domain_free(&c->domains[i]);
	free(c->domains);
	c->domains = NULL;
	c->ndomains = 0;
}

/* conf_domain - the local domain named (case-insensitive), or NULL */
const struct domain *
conf_domain(const struct conf *c, const char *name)
{
	if (c->ndomains == 0)
		return NULL;
	return bsearch(name, c->domains, c->ndomains, sizeof(*c->domains),
	    domain_casecmp);
}

/* domain_has_user - is local (case-insensitive) a user of d? */
bool
domain_has_user(const struct domain *d, const char *local)
{
	return d->nusers > 0 && bsearch(local, d->users, d->nusers,
	    sizeof(*d->users), strp_casecmp) != NULL;
}

/* alias_casecmp - bsearch: a local part against an alias entry */
static int
alias_casecmp(const void *key, const void *elt)
{
	const struct alias	*a = elt;

	return strcasecmp(key, a->local);
}

/* domain_alias - the alias entry for local (exact, not catch-all), or NULL */
const struct alias *
domain_alias(const struct domain *d, const char *local)
{
	if (d->naliases == 0 || strcmp(local, "*") == 0)
		return NULL;
	return bsearch(local, d->aliases, d->naliases, sizeof(*d->aliases),
	    alias_casecmp);
}

/* domain_accepts - does d take mail for local: user, alias (exact, then
 * normalised: conf_norm.c) or catch-all? */
bool
domain_accepts(const struct domain *d, const char *local)
{
	char	base[LIM_LOCAL_PART + 1], suffix[LIM_LOCAL_PART + 1];

	if (domain_has_user(d, local) || domain_alias(d, local) != NULL ||
	    d->catchall)
		return true;
	return domain_normalise(d, local, base, sizeof(base), suffix,
	    sizeof(suffix)) && (domain_has_user(d, base) ||
	    domain_alias(d, base) != NULL);
}
