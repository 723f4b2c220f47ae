/*
 * author.c - the author domain of a message (RFC 5322 3.6.2), the
 * domain DMARC judges: that of the header's one From address.
 *
 * Pure, on hostile input (the smtp session calls it on the header as it
 * arrives, `postern verify` on a whole message).  Comments and quoted
 * strings are blanked before anything is looked for, so an address
 * hidden in a display name or a comment never counts; anything that is
 * not exactly one address is refused.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "err.h"
#include "mauth/author.h"
#include "mauth/dkim_hdr.h"
#include "strutil.h"

/*
 * from_clean - the From value with every comment blanked and every
 * quoted string turned into 'q's (RFC 5322 3.2.2-3.2.5, backslash
 * escapes honoured), so no '<', '@' or ',' inside either counts; -1 on an
 * unbalanced quote or comment
 */
static int
from_clean(const char *v, size_t len, char *out)
{
	size_t	i;
	int	depth = 0;
	bool	quoted = false;

	for (i = 0; i < len; i++) {
		char	c = v[i];

		out[i] = c;
		if (quoted || depth > 0) {
			out[i] = quoted ? 'q' : ' ';
			if (c == '\\' && i + 1 < len) {
				out[++i] = quoted ? 'q' : ' ';
				continue;
			}
			if (quoted && c == '"')
				quoted = false;
			else if (!quoted && c == '(')
				depth++;
			else if (!quoted && c == ')')
				depth--;
			continue;
		}
		if (c == '"') {
			quoted = true;
			out[i] = 'q';
		} else if (c == '(') {
			depth = 1;
			out[i] = ' ';
		} else if (c == ')') {
			return -1;
		}
	}
	return quoted || depth > 0 ? -1 : 0;
}

/*
 * author_parse - the one From address: its domain into out, and, if
 * local is not NULL, its local part into local (as written: quoted
 * strings kept, comments and blanks dropped)
 */
static int
author_parse(const char *hdr, size_t hlen, char *out, size_t outsz,
    char *local, size_t localsz)
{
	struct dkim_field	 v[LIM_DKIM_FIELDS];
	struct err		 e;
	char			 clean[LIM_HEADER_BYTES > 65536 ? 65536 :
				    LIM_HEADER_BYTES];
	const char		*colon, *p, *lt, *gt, *at = NULL;
	size_t			 n, used, i, k = 0, found = 0, len, dl;
	size_t			 ln = 0, atpos;

	if (dkim_fields_split(hdr, hlen, v, LIM_DKIM_FIELDS, &n, &used,
	    &e) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (dkim_field_is(&v[i], "From")) {
			k = i;
			found++;
		}
	if (found != 1)
		return -1;
	colon = memchr(v[k].p, ':', v[k].len);
	len = v[k].len - (size_t)(colon + 1 - v[k].p);
	if (len >= sizeof(clean) || from_clean(colon + 1, len, clean) == -1)
		return -1;
	/* one address: no list, no group, at most one angle-addr */
	if (memchr(clean, ',', len) != NULL || memchr(clean, ';', len) !=
	    NULL || memchr(clean, ':', len) != NULL)
		return -1;
	p = clean;
	if ((lt = memchr(clean, '<', len)) != NULL) {
		if (memchr(lt + 1, '<', len - (size_t)(lt + 1 - clean)) ||
		    (gt = memchr(lt, '>', len - (size_t)(lt - clean))) ==
		    NULL)
			return -1;
		for (i = (size_t)(gt + 1 - clean); i < len; i++)
			if (!strchr(" \t\r\n", clean[i]))
				return -1;	/* text after the address */
		p = lt + 1;
		len = (size_t)(gt - p);
	} else if (memchr(clean, '>', len) != NULL) {
		return -1;
	}
	/* exactly one '@' outside quotes and comments */
	for (i = 0; i < len; i++)
		if (p[i] == '@') {
			if (at != NULL)
				return -1;
			at = p + i;
		}
	if (at == NULL)
		return -1;
	atpos = (size_t)(at - clean);
	len -= (size_t)(at + 1 - p);
	at++;
	while (len > 0 && strchr(" \t\r\n", *at)) {
		at++;
		len--;
	}
	for (dl = 0; dl < len && ((at[dl] >= 'a' && at[dl] <= 'z') ||
	    (at[dl] >= 'A' && at[dl] <= 'Z') || (at[dl] >= '0' &&
	    at[dl] <= '9') || at[dl] == '-' || at[dl] == '.' ||
	    at[dl] == '_'); dl++)
		;
	for (i = dl; i < len; i++)
		if (!strchr(" \t\r\n", at[i]))
			return -1;	/* a literal, or junk in the domain */
	if (dl == 0 || dl >= outsz || at[0] == '.' || at[dl - 1] == '.')
		return -1;
	memcpy(out, at, dl);
	out[dl] = '\0';
	str_lower(out);
	if (local == NULL)
		return 0;
	/* the local part from the value itself, where clean kept a mark */
	for (i = (size_t)(p - clean); i < atpos; i++) {
		if (strchr(" \t\r\n", clean[i]))
			continue;
		if (ln + 1 >= localsz)
			return -1;
		local[ln++] = colon[1 + i];
	}
	local[ln] = '\0';
	return ln > 0 ? 0 : -1;
}

/* author_domain - the one From address's domain */
int
author_domain(const char *hdr, size_t hlen, char *out, size_t outsz)
{
	return author_parse(hdr, hlen, out, outsz, NULL, 0);
}

/* author_address - the one From address, local@domain */
int
author_address(const char *hdr, size_t hlen, char *out, size_t outsz)
{
	char	local[LIM_LOCAL_PART + 1], domain[LIM_DOMAIN + 1];

	if (author_parse(hdr, hlen, domain, sizeof(domain), local,
	    sizeof(local)) == -1)
		return -1;
	return snprintf(out, outsz, "%s@%s", local, domain) >= (int)outsz ?
	    -1 : 0;
}
