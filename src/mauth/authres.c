/*
 * authres.c - Authentication-Results, RFC 8601.
 *
 * Pure.  The field we add carries values taken from hostile input (the
 * MAIL FROM address, the HELO name, the From domain, d= and s= of
 * received signatures): each is written as an atom when it is one, else
 * as a quoted-string with '"' and '\' escaped, and every control byte
 * becomes '?', so no value can end the field, add a property or forge a
 * result.  Reading a received field needs only its authserv-id (2.2):
 * comments and folding before it are skipped, nested comments bounded.
 */
#include <string.h>
#include <strings.h>

#include "mauth/authres.h"

#define COMMENT_DEPTH	8	/* nested comments followed at most */

/*
 * atom_char - an RFC 2045 token character (RFC 8601 2.2's value), plus
 * '@' of a local@domain pvalue; '/', '=' and '?' are tspecials, so a
 * base64 header.b goes out quoted
 */
static bool
atom_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-^_`{|}~.@", c) != NULL);
}

/* put_value - v as an atom, or quoted */
static int
put_value(struct buf *out, const char *v)
{
	const unsigned char	*p;
	bool			 atom = v[0] != '\0';

	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (!atom_char(*p))
			atom = false;
	if (atom)
		return buf_addstr(out, v);
	if (buf_add(out, "\"", 1) == -1)
		return -1;
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		char	c = *p < 0x20 || *p == 0x7f ? '?' : (char)*p;

		if ((c == '"' || c == '\\') && buf_add(out, "\\", 1) == -1)
			return -1;
		if (buf_add(out, &c, 1) == -1)
			return -1;
	}
	return buf_add(out, "\"", 1);
}

/* put_reason - " reason=..." when there is one */
static int
put_reason(struct buf *out, const char *reason)
{
	if (reason == NULL)
		return 0;
	if (buf_addstr(out, " reason=") == -1)
		return -1;
	return put_value(out, reason);
}

/* put_prop - " name=value" when there is a value */
static int
put_prop(struct buf *out, const char *name, const char *v)
{
	if (v == NULL)
		return 0;
	if (buf_printf(out, " %s=", name) == -1)
		return -1;
	return put_value(out, v);
}

/* method - ";\r\n\tmethod=result" */
static int
method(struct buf *out, const char *name, const char *result)
{
	return buf_printf(out, ";\r\n\t%s=%s", name, result);
}

/* authres_build - one field, one method per line */
int
authres_build(const struct authres *a, struct buf *out)
{
	size_t	i;
	bool	any = false;

	if (buf_addstr(out, "Authentication-Results: ") == -1 ||
	    put_value(out, a->authserv_id) == -1)
		return -1;
	if (a->spf != NULL) {
		any = true;
		if (method(out, "spf", a->spf) == -1 ||
		    put_reason(out, a->spf_reason) == -1 ||
		    put_prop(out, "smtp.mailfrom", a->mailfrom) == -1 ||
		    put_prop(out, "smtp.helo", a->helo) == -1)
			return -1;
	}
	for (i = 0; i < a->ndkim && i < AUTHRES_DKIM_MAX; i++) {
		const struct authres_dkim	*d = &a->dkim[i];

		any = true;
		if (method(out, "dkim", d->result) == -1 ||
		    put_reason(out, d->reason) == -1 ||
		    put_prop(out, "header.d", d->d) == -1 ||
		    put_prop(out, "header.s", d->s) == -1 ||
		    put_prop(out, "header.b", d->b) == -1)
			return -1;
	}
	if (a->ndkim == 0 && a->dkim_none) {
		any = true;
		if (method(out, "dkim", "none") == -1)
			return -1;
	}
	if (a->dmarc != NULL) {
		any = true;
		if (method(out, "dmarc", a->dmarc) == -1 ||
		    put_reason(out, a->dmarc_reason) == -1 ||
		    put_prop(out, "header.from", a->header_from) == -1 ||
		    put_prop(out, "policy.dmarc", a->policy) == -1)
			return -1;
	}
	if (!any && buf_addstr(out, "; none") == -1)
		return -1;
	return buf_addstr(out, "\r\n");
}

/* authres_forged - SPF fail, or DMARC fail with policy.dmarc=reject */
bool
authres_forged(const char *text)
{
	const char	*p, *end;
	size_t		 n;

	if (strstr(text, "\r\n\tspf=fail;") != NULL ||
	    strstr(text, "\r\n\tspf=fail ") != NULL ||
	    strstr(text, "\r\n\tspf=fail\r\n") != NULL)
		return true;
	for (p = text; (p = strstr(p, "\r\n\tdmarc=fail")) != NULL; p++) {
		/* the method's line: policy.dmarc is its last property */
		p += 2;
		if ((end = strstr(p, "\r\n")) == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if (n > 0 && p[n - 1] == ';')
			n--;
		if (n >= 20 && memcmp(p + n - 20, " policy.dmarc=reject", 20) ==
		    0)
			return true;
	}
	return false;
}

/* skip_cfws - whitespace, folds and (nested) comments; false if unclosed */
static bool
skip_cfws(const char *s, size_t len, size_t *i)
{
	int	depth = 0;

	while (*i < len) {
		char	c = s[*i];

		if (depth > 0 && c == '\\' && *i + 1 < len) {
			*i += 2;
			continue;
		}
		if (c == '(') {
			if (++depth > COMMENT_DEPTH)
				return false;
		} else if (c == ')' && depth > 0) {
			depth--;
		} else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' &&
		    c != '\n') {
			break;
		}
		(*i)++;
	}
	return depth == 0;
}

/* authres_id_is - the authserv-id, a token or a quoted-string */
bool
authres_id_is(const char *s, size_t len, const char *id)
{
	char	got[256];
	size_t	i = 0, n = 0;

	if (!skip_cfws(s, len, &i) || i == len)
		return false;
	if (s[i] == '"') {
		for (i++; i < len && s[i] != '"'; i++) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			if (n + 1 >= sizeof(got))
				return false;
			got[n++] = s[i];
		}
		if (i == len)
			return false;
	} else {
		for (; i < len && strchr(" \t\r\n;(", s[i]) == NULL; i++) {
			if (n + 1 >= sizeof(got))
				return false;
			got[n++] = s[i];
		}
	}
	got[n] = '\0';
	return n > 0 && strcasecmp(got, id) == 0;
}
