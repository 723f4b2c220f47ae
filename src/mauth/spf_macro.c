/*
 * spf_macro.c - SPF macro strings, RFC 7208 7.
 *
 *   macro-string = *( macro-expand / macro-literal )
 *   macro-expand = ( "%{" macro-letter transformers *delimiter "}" )
 *                  / "%%" / "%_" / "%-"
 *   macro-literal = %x21-24 / %x26-7E
 *   transformers = *DIGIT [ "r" ]     ; a DIGIT count must be nonzero
 *   delimiter    = "." / "-" / "+" / "," / "/" / "_" / "="
 *
 * Pure; the strings come from anyone's DNS.  Every value is bounded
 * (SPF_MACRO_OUT per expansion, 128 parts per split), an upper-case
 * letter URL-encodes its value (7.3), and nothing is looked up here.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>

#include "mauth/spf_macro.h"

#define PARTS_MAX	128	/* labels of a name, nibbles of an address */

/* is_delim - a delimiter of 7.1 */
static bool
is_delim(char c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

/* letter_ok - a macro letter; c, r, t only in explanations */
static bool
letter_ok(char c, bool exp)
{
	c = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	if (c != '\0' && strchr("slodiphv", c) != NULL)
		return true;
	return exp && c != '\0' && strchr("crt", c) != NULL;
}

/*
 * parse_expand - the macro at s[*i] (just past "%{"): letter, digits,
 * 'r', delimiters, "}"; 0 and *i past the "}", or -1
 */
static int
parse_expand(const char *s, size_t len, size_t *i, bool exp, char *letter,
    unsigned *keep, bool *rev, char *delims, struct err *e)
{
	size_t	nd = 0;

	delims[0] = '\0';
	if (*i >= len || !letter_ok(s[*i], exp))
		return err_set(e, false, 0, "SPF macro: bad letter");
	*letter = s[(*i)++];
	*keep = 0;
	*rev = false;
	if (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
			if (*keep > 1000)
				return err_set(e, false, 0, "SPF macro: "
				    "transformer too large");
			*keep = *keep * 10 + (unsigned)(s[(*i)++] - '0');
		}
		if (*keep == 0)
			return err_set(e, false, 0, "SPF macro: zero "
			    "transformer");
	}
	if (*i < len && (s[*i] == 'r' || s[*i] == 'R')) {
		*rev = true;
		(*i)++;
	}
	while (*i < len && is_delim(s[*i])) {
		if (nd < 7 && memchr(delims, s[*i], nd) == NULL) {
			delims[nd++] = s[*i];
			delims[nd] = '\0';
		}
		(*i)++;
	}
	delims[nd] = '\0';
	if (*i >= len || s[*i] != '}')
		return err_set(e, false, 0, "SPF macro: '}' expected");
	(*i)++;
	return 0;
}

/* spf_macro_check - the syntax alone */
int
spf_macro_check(const char *s, size_t len, bool exp, struct err *e)
{
	char		letter, delims[8];
	unsigned	keep;
	bool		rev;
	size_t		i = 0;

	while (i < len) {
		if (s[i] != '%') {
			/* 6.2: explain-string = *( macro-string / SP ) */
			if (((unsigned char)s[i] < 0x21 &&
			    !(exp && s[i] == ' ')) ||
			    (unsigned char)s[i] > 0x7e)
				return err_set(e, false, 0, "SPF macro "
				    "string: bad byte");
			i++;
			continue;
		}
		if (++i >= len)
			return err_set(e, false, 0, "SPF macro string: "
			    "lone '%%'");
		if (s[i] == '%' || s[i] == '_' || s[i] == '-') {
			i++;
			continue;
		}
		if (s[i++] != '{')
			return err_set(e, false, 0, "SPF macro string: "
			    "bad '%%' escape");
		if (parse_expand(s, len, &i, exp, &letter, &keep, &rev,
		    delims, e) == -1)
			return -1;
	}
	return 0;
}

/* value - the letter's value into v (vsz bytes); -1 if it does not fit */
static int
value(const struct spf_macro_ctx *c, char letter, char *v, size_t vsz)
{
	const unsigned char	*b = c->ip6.s6_addr;
	size_t			 i, n = 0;
	int			 r;

	switch (letter | 0x20) {
	case 's':
		r = snprintf(v, vsz, "%s@%s", c->local, c->sender_domain);
		break;
	case 'l':
		r = snprintf(v, vsz, "%s", c->local);
		break;
	case 'o':
		r = snprintf(v, vsz, "%s", c->sender_domain);
		break;
	case 'd':
		r = snprintf(v, vsz, "%s", c->domain);
		break;
	case 'p':
		r = snprintf(v, vsz, "%s", c->ptr != NULL ? c->ptr : "unknown");
		break;
	case 'h':
		r = snprintf(v, vsz, "%s", c->helo);
		break;
	case 'r':
		r = snprintf(v, vsz, "%s", c->receiver != NULL ?
		    c->receiver : "unknown");
		break;
	case 't':
		r = snprintf(v, vsz, "%llu", c->now);
		break;
	case 'v':
		r = snprintf(v, vsz, "%s", c->family == AF_INET6 ? "ip6" :
		    "in-addr");
		break;
	case 'c':
		if (c->family == AF_INET6)
			return inet_ntop(AF_INET6, &c->ip6, v,
			    (socklen_t)vsz) == NULL ? -1 : 0;
		return inet_ntop(AF_INET, &c->ip4, v, (socklen_t)vsz) ==
		    NULL ? -1 : 0;
	case 'i':
		if (c->family != AF_INET6)
			return inet_ntop(AF_INET, &c->ip4, v,
			    (socklen_t)vsz) == NULL ? -1 : 0;
		/* 7.3: IPv6 as dot-separated nibbles, high first */
		if (vsz < 64)
			return -1;
		for (i = 0; i < 16; i++) {
			n += (size_t)snprintf(v + n, vsz - n, "%x.%x.",
			    b[i] >> 4, b[i] & 15);
		}
		v[n - 1] = '\0';
		return 0;
	default:
		return -1;
	}
	return r < 0 || (size_t)r >= vsz ? -1 : 0;
}

/* put - append n bytes to out; -1 if they do not fit */
static int
put(char *out, size_t outsz, size_t *o, const char *p, size_t n)
{
	if (*o + n >= outsz)
		return -1;
	memcpy(out + *o, p, n);
	*o += n;
	return 0;
}

/* put_url - 7.3: an upper-case macro's value, URL-encoded (RFC 3986) */
static int
put_url(char *out, size_t outsz, size_t *o, const char *p, size_t n)
{
	char	hex[4];
	size_t	i;

	for (i = 0; i < n; i++) {
		unsigned char	ch = (unsigned char)p[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL) {
			if (put(out, outsz, o, p + i, 1) == -1)
				return -1;
			continue;
		}
		(void)snprintf(hex, sizeof(hex), "%%%02X", ch);
		if (put(out, outsz, o, hex, 3) == -1)
			return -1;
	}
	return 0;
}

/* expand_one - one %{...}: split, reverse, keep the right parts, join */
static int
expand_one(const struct spf_macro_ctx *c, char letter, unsigned keep,
    bool rev, const char *delims, char *out, size_t outsz, size_t *o)
{
	char		 v[SPF_MACRO_OUT], joined[SPF_MACRO_OUT];
	const char	*part[PARTS_MAX];
	size_t		 plen[PARTS_MAX], np = 0, i, first, n = 0, start;
	const char	*d = delims[0] != '\0' ? delims : ".";

	if (value(c, letter, v, sizeof(v)) == -1)
		return -1;
	for (start = 0, i = 0;; i++) {
		if (v[i] == '\0' || strchr(d, v[i]) != NULL) {
			if (np == PARTS_MAX)
				return -1;
			part[np] = v + start;
			plen[np++] = i - start;
			start = i + 1;
			if (v[i] == '\0')
				break;
		}
	}
	if (rev)
		for (i = 0; i < np / 2; i++) {
			const char	*tp = part[i];
			size_t		 tl = plen[i];

			part[i] = part[np - 1 - i];
			plen[i] = plen[np - 1 - i];
			part[np - 1 - i] = tp;
			plen[np - 1 - i] = tl;
		}
	first = keep > 0 && keep < np ? np - keep : 0;
	for (i = first; i < np; i++) {
		if (i > first && put(joined, sizeof(joined), &n, ".", 1) == -1)
			return -1;
		if (put(joined, sizeof(joined), &n, part[i], plen[i]) == -1)
			return -1;
	}
	if (letter >= 'A' && letter <= 'Z')
		return put_url(out, outsz, o, joined, n);
	return put(out, outsz, o, joined, n);
}

/* spf_macro_expand - the whole string */
int
spf_macro_expand(const char *s, size_t len, const struct spf_macro_ctx *c,
    bool exp, bool domain, char *out, size_t outsz, struct err *e)
{
	char		letter, delims[8];
	unsigned	keep;
	bool		rev;
	size_t		i = 0, o = 0, cut;

	if (spf_macro_check(s, len, exp, e) == -1)
		return -1;
	if (outsz == 0)
		return err_set(e, false, 0, "SPF macro: no room");
	while (i < len) {
		if (s[i] != '%') {
			if (put(out, outsz, &o, s + i, 1) == -1)
				goto toolong;
			i++;
			continue;
		}
		i++;
		if (s[i] == '%' || s[i] == '_' || s[i] == '-') {
			const char *lit = s[i] == '%' ? "%" : s[i] == '_' ?
			    " " : "%20";

			if (put(out, outsz, &o, lit, strlen(lit)) == -1)
				goto toolong;
			i++;
			continue;
		}
		i++;	/* "{" */
		(void)parse_expand(s, len, &i, exp, &letter, &keep, &rev,
		    delims, e);
		if (expand_one(c, letter, keep, rev, delims, out, outsz,
		    &o) == -1)
			goto toolong;
	}
	out[o] = '\0';
	if (domain && o > 253) {
		/* drop whole labels from the left until 253 bytes remain */
		for (cut = 0; o - cut > 253;) {
			const char *dot = memchr(out + cut, '.', o - cut);

			if (dot == NULL)
				return err_set(e, false, 0, "SPF macro: "
				    "label too long");
			cut = (size_t)(dot - out) + 1;
		}
		memmove(out, out + cut, o - cut + 1);
	}
	return 0;
toolong:
	out[0] = '\0';
	return err_set(e, false, 0, "SPF macro: expansion too long");
}
