/*
 * addr.c - RFC 5321 mailbox and domain syntax (pure, no I/O).
 *
 * Parses "local@domain" exactly as RFC 5321 4.1.2 writes it:
 *   local  = Dot-string / Quoted-string
 *            (atext of RFC 5322 3.2.3; no leading, trailing or double dot;
 *             qtextSMTP and quoted-pairSMTP, the quotes kept in the result)
 *   domain = sub-domain *("." sub-domain) / address-literal
 *            (labels of letters, digits and hyphens, 1-63 octets, neither
 *             starting nor ending with a hyphen; "[1.2.3.4]" or
 *             "[IPv6:...]", both checked with inet_pton(3))
 * With utf8 (SMTPUTF8, RFC 6531 3.3) well-formed UTF-8 (RFC 3629) is also
 * allowed in the local part and in domain labels.  Limits: local part
 * LIM_LOCAL_PART, domain LIM_DOMAIN octets (RFC 5321 4.5.3.1).  Host
 * names are stored in ASCII lower case (an IPv6 literal's tag as
 * "IPv6:", by addr_lower), the local part as given.  No allocation, no
 * globals; fuzzed by tests/fuzz/fuzz_addr.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "err.h"
#include "strutil.h"

#define LABEL_MAX	63
#define V6_TAG		"IPv6:"
#define V6_TAG_LEN	(sizeof(V6_TAG) - 1)

/* addr_is_alpha - ASCII letter */
static int
addr_is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* addr_is_digit - ASCII digit */
static int
addr_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* addr_is_atext - RFC 5322 3.2.3 atext (ASCII only) */
static int
addr_is_atext(unsigned char c)
{
	if (addr_is_alpha(c) || addr_is_digit(c))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/*
 * addr_utf8_len - length of the well-formed UTF-8 sequence at s (n bytes
 * available) whose first octet is >= 0x80, or 0 if it is not one
 * (RFC 3629 4: no overlong forms, no surrogates, nothing past U+10FFFF).
 */
static size_t
addr_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		need, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < need)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

/*
 * addr_dot_string_len - length of the Dot-string local part at the start
 * of s, stopping at the first octet that cannot continue it; 0 if none.
 * The caller checks what follows.
 */
static size_t
addr_dot_string_len(const unsigned char *s, size_t len, bool utf8)
{
	size_t	i = 0, u;
	int	atom = 0;	/* octets in the current atom */

	while (i < len) {
		if (s[i] == '.') {
			if (atom == 0)
				return 0;	/* leading or double dot */
			atom = 0;
			i++;
		} else if (addr_is_atext(s[i])) {
			atom = 1;
			i++;
		} else if (utf8 && s[i] >= 0x80 &&
		    (u = addr_utf8_len(s + i, len - i)) > 0) {
			atom = 1;
			i += u;
		} else
			break;
	}
	if (atom == 0)
		return 0;		/* empty or trailing dot */
	return i;
}

/*
 * addr_quoted_len - length of the Quoted-string at the start of s,
 * quotes included, or 0 if it is malformed or unterminated.
 */
static size_t
addr_quoted_len(const unsigned char *s, size_t len, bool utf8)
{
	size_t	i = 1, u;

	if (len == 0 || s[0] != '"')
		return 0;
	while (i < len) {
		if (s[i] == '"')
			return i + 1;
		if (s[i] == '\\') {
			/* quoted-pairSMTP = %d92 %d32-126 */
			if (i + 1 >= len || s[i + 1] < 32 || s[i + 1] > 126)
				return 0;
			i += 2;
		} else if (s[i] >= 32 && s[i] <= 126)
			i++;	/* qtextSMTP: %d32-33 / %d35-91 / %d93-126 */
		else if (utf8 && s[i] >= 0x80 &&
		    (u = addr_utf8_len(s + i, len - i)) > 0)
			i += u;
		else
			return 0;
	}
	return 0;
}

/* addr_label_valid - one sub-domain: Let-dig [Ldh-str], 1-63 octets */
static bool
addr_label_valid(const unsigned char *s, size_t len, bool utf8)
{
	size_t	i = 0, u;

	if (len == 0 || len > LABEL_MAX)
		return false;
	if (s[0] == '-' || s[len - 1] == '-')
		return false;
	while (i < len) {
		if (addr_is_alpha(s[i]) || addr_is_digit(s[i]) || s[i] == '-')
			i++;
		else if (utf8 && s[i] >= 0x80 &&
		    (u = addr_utf8_len(s + i, len - i)) > 0)
			i += u;
		else
			return false;
	}
	return true;
}

/* addr_domain_valid - is s (len bytes) a syntactically valid domain name? */
bool
addr_domain_valid(const char *s, size_t len, bool utf8)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 start = 0, i;

	if (len == 0 || len > LIM_DOMAIN)
		return false;
	for (i = 0; i <= len; i++) {
		if (i == len || p[i] == '.') {
			if (!addr_label_valid(p + start, i - start, utf8))
				return false;
			start = i + 1;
		}
	}
	return true;
}

/*
 * addr_literal_valid - is s (len bytes) an address literal, "[IPv4]" or
 * "[IPv6:addr]" (RFC 5321 4.1.3)?  General (tagged) literals are refused.
 */
bool
addr_literal_valid(const char *s, size_t len)
{
	char			tmp[INET6_ADDRSTRLEN + 1];
	struct in6_addr		a6;
	struct in_addr		a4;
	size_t			n;

	if (len < 3 || len > LIM_DOMAIN || s[0] != '[' || s[len - 1] != ']')
		return false;
	s++;
	n = len - 2;
	if (n > V6_TAG_LEN && strncasecmp(s, V6_TAG, V6_TAG_LEN) == 0) {
		s += V6_TAG_LEN;
		n -= V6_TAG_LEN;
		if (n >= sizeof(tmp) || memchr(s, '\0', n) != NULL)
			return false;
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		return inet_pton(AF_INET6, tmp, &a6) == 1;
	}
	if (n >= sizeof(tmp) || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET, tmp, &a4) == 1;
}

/*
 * addr_lower - ASCII lower-case a string in place; an IPv6 address
 * literal keeps its tag as RFC 5321 4.1.3 spells it, "[IPv6:...]", so a
 * domain lower-cased anywhere has one form.
 */
void
addr_lower(char *s)
{
	str_lower(s);
	if (s[0] == '[' && strncmp(s + 1, "ipv6:", V6_TAG_LEN) == 0)
		memcpy(s + 1, V6_TAG, V6_TAG_LEN);
}

/* addr_parse_mailbox - parse exactly len bytes "local@domain" */
int
addr_parse_mailbox(const char *s, size_t len, bool utf8,
    struct mailbox *out, struct err *e)
{
	const unsigned char	*p = (const unsigned char *)s;
	const char		*dom;
	size_t			 llen, dlen;
	bool			 quoted, literal;

	quoted = len > 0 && p[0] == '"';
	if (quoted)
		llen = addr_quoted_len(p, len, utf8);
	else
		llen = addr_dot_string_len(p, len, utf8);
	if (llen == 0)
		return err_set(e, false, 0, "invalid local part");
	if (llen >= len || p[llen] != '@')
		return err_set(e, false, 0, "invalid local part or missing @");
	if (llen > LIM_LOCAL_PART)
		return err_set(e, false, 0, "local part longer than %d octets",
		    LIM_LOCAL_PART);
	dom = s + llen + 1;
	dlen = len - llen - 1;
	if (dlen == 0)
		return err_set(e, false, 0, "missing domain");
	if (dlen > LIM_DOMAIN)
		return err_set(e, false, 0, "domain longer than %d octets",
		    LIM_DOMAIN);
	literal = dom[0] == '[';
	if (literal ? !addr_literal_valid(dom, dlen) :
	    !addr_domain_valid(dom, dlen, utf8))
		return err_set(e, false, 0, "invalid domain");

	memcpy(out->local, s, llen);
	out->local[llen] = '\0';
	memcpy(out->domain, dom, dlen);
	out->domain[dlen] = '\0';
	addr_lower(out->domain);		/* "[IPv6:" stays so */
	out->quoted = quoted;
	out->literal = literal;
	return 0;
}

/*
 * addr_format - "local@domain" into out; returns -1 if it does not fit.
 * A mailbox without domain (RCPT TO:<postmaster>) gives the local part.
 */
int
addr_format(const struct mailbox *mb, char *out, size_t outsz)
{
	int	n;

	if (mb->domain[0] == '\0')
		n = snprintf(out, outsz, "%s", mb->local);
	else
		n = snprintf(out, outsz, "%s@%s", mb->local, mb->domain);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}
