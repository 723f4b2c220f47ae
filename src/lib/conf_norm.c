/*
 * conf_norm.c - recipient normalisation of local domains (conf.h):
 * suffix_separators ("+" by default: i+news@ is i@) and drop_characters
 * (none by default; "." makes j.doe@ jdoe@), set in postern.conf for
 * every domain and in a domain's domains/DOMAIN/domain.conf for it alone.
 *
 * Applied to local parts of local domains only, and only when the exact
 * local part is neither a user nor an alias (alias.c, domain_accepts):
 * never to SRS addresses (a "+" or "=" inside "SRS0+..." or a hash is
 * part of the address) nor to postmaster.  Pure: conf_domain.c reads the
 * file and hands its text here.  Errors name file and line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "conf_read.h"
#include "err.h"
#include "srs.h"
#include "strutil.h"
#include "xmalloc.h"

/* conf_norm_chars - check and store a normalisation key's value */
int
conf_norm_chars(const char *v, char *dst, size_t dstsz, char *why,
    size_t whysz)
{
	static const char	ok[] = "!#$%&'*+-/?^_`{|}~.";
	size_t			i, n;

	if (strcmp(v, "none") == 0)
		v = "";
	n = strlen(v);
	if (n > LIM_NORM_CHARS || n >= dstsz) {
		(void)snprintf(why, whysz, "at most %d characters, not %zu",
		    LIM_NORM_CHARS, n);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (strchr(ok, v[i]) == NULL || v[i] == '\0') {
			(void)snprintf(why, whysz, "\"%c\" (0x%02x) cannot be "
			    "used: only %s", v[i] >= 0x21 && v[i] < 0x7f ?
			    v[i] : '?', (unsigned char)v[i], ok);
			return -1;
		}
	return str_copy(dst, v, dstsz);
}

/* domain_normalise - local's base and suffix under d's rules */
bool
domain_normalise(const struct domain *d, const char *local, char *base,
    size_t basesz, char *suffix, size_t suffixsz)
{
	size_t	cut, i, n = 0;

	if (srs_is_srs(local) || strcasecmp(local, "postmaster") == 0 ||
	    local[0] == '\0')
		return false;
	cut = d->suffix_sep[0] != '\0' ? 1 + strcspn(local + 1, d->suffix_sep) :
	    strlen(local);
	if (cut >= basesz || strlen(local + cut) >= suffixsz)
		return false;
	for (i = 0; i < cut; i++)
		if (strchr(d->drop_chars, local[i]) == NULL)
			base[n++] = local[i];
	base[n] = '\0';
	if (n == 0 || (n == cut && local[cut] == '\0'))
		return false;
	(void)snprintf(suffix, suffixsz, "%s", local + cut);
	return true;
}

/* conf_parse_domain_conf - "key = value" lines of a domain.conf */
int
conf_parse_domain_conf(struct domain *d, const char *text, size_t len,
    const char *fname, struct err *e)
{
	struct conf_read	*l = xmalloc(sizeof(*l));
	char			 sep[LIM_NORM_CHARS + 1], drop[LIM_NORM_CHARS + 1];
	char			 why[160], *s, *key, *val, *dst;
	bool			 seen_sep = false, seen_drop = false, *seen;
	enum conf_read_result	 r;
	int			 rc = -1;

	(void)snprintf(sep, sizeof(sep), "%s", d->suffix_sep);
	(void)snprintf(drop, sizeof(drop), "%s", d->drop_chars);
	conf_read_init(l, text, len, fname);
	while ((r = conf_read_next(l, &s, e)) == CONF_READ_LINE) {
		if (*s == '\0')
			continue;
		if (conf_read_kv(l, s, &key, &val, e) == -1)
			goto out;
		if (strcmp(key, "suffix_separators") == 0) {
			dst = sep;
			seen = &seen_sep;
		} else if (strcmp(key, "drop_characters") == 0) {
			dst = drop;
			seen = &seen_drop;
		} else {
			err_set(e, false, 0, "%s:%u: unknown key \"%.64s\" "
			    "(suffix_separators, drop_characters)", fname,
			    l->lineno, key);
			goto out;
		}
		if (*seen) {
			err_set(e, false, 0, "%s:%u: duplicate key \"%s\"",
			    fname, l->lineno, key);
			goto out;
		}
		*seen = true;
		if (conf_norm_chars(val, dst, LIM_NORM_CHARS + 1, why,
		    sizeof(why)) == -1) {
			err_set(e, false, 0, "%s:%u: %s: %s", fname, l->lineno,
			    key, why);
			goto out;
		}
	}
	if (r == CONF_READ_ERROR)
		goto out;
	(void)snprintf(d->suffix_sep, sizeof(d->suffix_sep), "%s", sep);
	(void)snprintf(d->drop_chars, sizeof(d->drop_chars), "%s", drop);
	rc = 0;
out:
	free(l);
	return rc;
}
