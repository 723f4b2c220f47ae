/*
 * dkim_tag.h - the tag=value list of RFC 6376 3.2 (DKIM-Signature
 * headers, DKIM key records).  Pure: no I/O, no allocation.
 */
#ifndef POSTERN_DKIM_TAG_H
#define POSTERN_DKIM_TAG_H

#include <stddef.h>

#include "err.h"

#define DKIM_TAGS_MAX	32	/* more tags than any known use has */

struct dkim_tag {
	const char	*name;		/* into the parsed text */
	size_t		 namelen;
	const char	*value;		/* folding whitespace around it trimmed */
	size_t		 valuelen;
};

struct dkim_tags {
	struct dkim_tag	 v[DKIM_TAGS_MAX];
	size_t		 n;
};

/*
 * dkim_tags_parse - parse exactly len bytes; the tags point into s.
 * A syntax error, a duplicate tag name or more than DKIM_TAGS_MAX tags
 * make the whole list invalid (3.2); *out is written only on success.
 */
int	dkim_tags_parse(const char *s, size_t len, struct dkim_tags *out,
	    struct err *);
/* dkim_tags_get - the tag of this name (case-sensitive, 3.2), or NULL */
const struct dkim_tag *dkim_tags_get(const struct dkim_tags *,
	    const char *name);
/*
 * dkim_tag_nows - a value with all whitespace removed (b=, bh=, p=),
 * NUL-terminated in out; -1 if it does not fit
 */
int	dkim_tag_nows(const struct dkim_tag *, char *out, size_t outsz);

#endif
