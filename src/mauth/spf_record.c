/*
 * spf_record.c - SPF records, RFC 7208 4.5-4.6, 5, 6 and 12:
 *
 *   record    = "v=spf1" *( 1*SP ( directive / modifier ) ) *SP
 *   directive = [ "+" / "-" / "?" / "~" ] mechanism
 *   mechanism = all / include / a / mx / ptr / ip4 / ip6 / exists
 *   modifier  = redirect / explanation / unknown-modifier
 *
 * Pure; records come from anyone's DNS, so every term is checked against
 * the grammar here and any doubt is a permerror (4.6): an unknown
 * mechanism, a CIDR length out of range, an address that does not
 * parse, a domain-spec that does not end in a top label or a macro, or
 * redirect/exp given twice.  Mechanism and modifier names are ASCII
 * case-insensitive.  Domain-specs stay unexpanded macro strings.
 */
#include <arpa/inet.h>

#include <string.h>
#include <strings.h>

#include "mauth/spf_macro.h"
#include "mauth/spf_record.h"

static const struct {
	const char	*name;
	enum spf_mech	 mech;
} mechs[] = {
	{ "all",	SPF_MECH_ALL },
	{ "include",	SPF_MECH_INCLUDE },
	{ "a",		SPF_MECH_A },
	{ "mx",		SPF_MECH_MX },
	{ "ptr",	SPF_MECH_PTR },
	{ "ip4",	SPF_MECH_IP4 },
	{ "ip6",	SPF_MECH_IP6 },
	{ "exists",	SPF_MECH_EXISTS },
};

/* spf_record_is_spf - "v=spf1" then a space or the end */
bool
spf_record_is_spf(const char *s, size_t len)
{
	return len >= 6 && strncasecmp(s, "v=spf1", 6) == 0 &&
	    (len == 6 || s[6] == ' ');
}

/* spf_qual_name - the result a qualifier gives */
const char *
spf_qual_name(enum spf_qual q)
{
	static const char *const names[] = { "pass", "fail", "softfail",
	    "neutral" };

	return names[q];
}

/* span - bytes of s (len at most) before the first byte of set */
static size_t
span(const char *s, size_t len, const char *set)
{
	size_t	i;

	for (i = 0; i < len && strchr(set, s[i]) == NULL; i++)
		;
	return i;
}

/* is_alnum - ASCII letter or digit */
static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/*
 * spf_domain_spec_ok - 7.1 domain-end: "." toplabel ["."], or a macro
 * at the very end; toplabel has a letter, or a hyphen inside it
 */
bool
spf_domain_spec_ok(const char *s, size_t len)
{
	struct err	 e;
	size_t		 end = len, start, i;
	bool		 alpha = false, hyphen = false;

	if (len == 0 || spf_macro_check(s, len, false, &e) == -1)
		return false;
	if (s[len - 1] == '}')
		return true;	/* ends in a macro-expand */
	if (end > 0 && s[end - 1] == '.')
		end--;
	for (start = end; start > 0 && s[start - 1] != '.'; start--)
		;
	if (start == 0 || start == end)
		return false;	/* no "." before the top label, or empty */
	if (s[start] == '-' || s[end - 1] == '-')
		return false;
	for (i = start; i < end; i++) {
		if (s[i] == '-')
			hyphen = true;
		else if (!is_alnum(s[i]))
			return false;
		else if (s[i] > '9')
			alpha = true;
	}
	return alpha || hyphen;
}

/* cidr - "/N" with N in 0..max (no leading zero); -1 if malformed */
static int
cidr(const char *s, size_t len, int max)
{
	int	v = 0;
	size_t	i;

	if (len < 2 || s[0] != '/' || len > 4 || (s[1] == '0' && len > 2))
		return -1;
	for (i = 1; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/*
 * split_cidr - a/mx: strip a trailing dual-cidr-length ("/N", "//M" or
 * "/N//M") off [s, s+*len), filling t; -1 if one is there but malformed
 */
static int
split_cidr(const char *s, size_t *len, struct spf_term *t)
{
	size_t	n = *len, j;

	for (j = n; j > 0 && s[j - 1] >= '0' && s[j - 1] <= '9'; j--)
		;
	if (j >= 2 && j < n && s[j - 1] == '/' && s[j - 2] == '/') {
		if ((t->cidr6 = cidr(s + j - 1, n - j + 1, 128)) == -1)
			return -1;
		n = j - 2;
		for (j = n; j > 0 && s[j - 1] >= '0' && s[j - 1] <= '9'; j--)
			;
	}
	if (j >= 1 && j < n && s[j - 1] == '/') {
		if ((t->cidr4 = cidr(s + j - 1, n - j + 1, 32)) == -1)
			return -1;
		n = j - 1;
	}
	*len = n;
	return 0;
}

/* parse_ip - ip4:/ip6: network [ "/" length ] */
static int
parse_ip(const char *s, size_t len, struct spf_term *t, struct err *e)
{
	char		 a[INET6_ADDRSTRLEN + 1];
	const char	*slash = memchr(s, '/', len);
	size_t		 alen = slash != NULL ? (size_t)(slash - s) : len;
	bool		 v6 = t->mech == SPF_MECH_IP6;

	if (alen == 0 || alen >= sizeof(a))
		return err_set(e, false, 0, "SPF: bad %s address",
		    v6 ? "ip6" : "ip4");
	memcpy(a, s, alen);
	a[alen] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, a, v6 ? (void *)&t->ip6 :
	    (void *)&t->ip4) != 1)
		return err_set(e, false, 0, "SPF: bad %s address %s",
		    v6 ? "ip6" : "ip4", a);
	if (slash != NULL) {
		int	c = cidr(slash, len - alen, v6 ? 128 : 32);

		if (c == -1)
			return err_set(e, false, 0, "SPF: bad CIDR length");
		if (v6)
			t->cidr6 = c;
		else
			t->cidr4 = c;
	}
	return 0;
}

/* parse_mech - one directive (qualifier already taken) into t */
static int
parse_mech(const char *s, size_t len, struct spf_term *t, struct err *e)
{
	size_t	i, nl = span(s, len, ":/");
	int	m = -1;

	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strlen(mechs[i].name) == nl &&
		    strncasecmp(s, mechs[i].name, nl) == 0)
			m = (int)i;
	if (m == -1)
		return err_set(e, false, 0, "SPF: unknown mechanism %.*s",
		    (int)(nl > 40 ? 40 : nl), s);
	t->mech = mechs[m].mech;
	t->cidr4 = 32;
	t->cidr6 = 128;
	s += nl;
	len -= nl;
	switch (t->mech) {
	case SPF_MECH_ALL:
		if (len != 0)
			return err_set(e, false, 0, "SPF: all takes nothing");
		return 0;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		if (len < 2 || s[0] != ':')
			return err_set(e, false, 0, "SPF: ip4/ip6 need ':'");
		return parse_ip(s + 1, len - 1, t, e);
	case SPF_MECH_A:
	case SPF_MECH_MX:
		if (split_cidr(s, &len, t) == -1)
			return err_set(e, false, 0, "SPF: bad CIDR length");
		break;
	default:
		break;
	}
	if (len == 0) {
		if (t->mech == SPF_MECH_INCLUDE || t->mech == SPF_MECH_EXISTS)
			return err_set(e, false, 0, "SPF: %s needs a domain",
			    mechs[m].name);
		return 0;
	}
	if (s[0] != ':' || !spf_domain_spec_ok(s + 1, len - 1))
		return err_set(e, false, 0, "SPF: bad domain-spec after %s",
		    mechs[m].name);
	t->domain = s + 1;
	t->domainlen = len - 1;
	return 0;
}

/* parse_modifier - name "=" value; redirect and exp once each */
static int
parse_modifier(const char *s, size_t len, size_t nl, struct spf_record *r,
    struct err *e)
{
	const char	*v = s + nl + 1;
	size_t		 vl = len - nl - 1, i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return err_set(e, false, 0, "SPF: bad modifier name");
	for (i = 1; i < nl; i++)
		if (!is_alnum(s[i]) && strchr("-_.", s[i]) == NULL)
			return err_set(e, false, 0, "SPF: bad modifier name");
	if ((nl == 8 && strncasecmp(s, "redirect", 8) == 0) ||
	    (nl == 3 && strncasecmp(s, "exp", 3) == 0)) {
		bool	redir = nl == 8;

		if ((redir ? r->redirect : r->exp) != NULL)
			return err_set(e, false, 0, "SPF: %s twice",
			    redir ? "redirect" : "exp");
		if (!spf_domain_spec_ok(v, vl))
			return err_set(e, false, 0, "SPF: bad domain-spec "
			    "for %s", redir ? "redirect" : "exp");
		if (redir) {
			r->redirect = v;
			r->redirectlen = vl;
		} else {
			r->exp = v;
			r->explen = vl;
		}
		return 0;
	}
	return spf_macro_check(v, vl, false, e);	/* ignored (6) */
}

/* spf_record_parse - the whole record, or a permerror */
int
spf_record_parse(const char *s, size_t len, struct spf_record *out,
    struct err *e)
{
	static const char	 quals[] = "+-~?";
	struct spf_record	*r = out, tmp;
	const char		*q;
	size_t			 i = 6, j, nl;

	if (!spf_record_is_spf(s, len))
		return err_set(e, false, 0, "SPF: not a v=spf1 record");
	memset(&tmp, 0, sizeof(tmp));
	r = &tmp;
	for (;;) {
		while (i < len && s[i] == ' ')
			i++;
		if (i == len)
			break;
		for (j = i; j < len && s[j] != ' '; j++)
			;
		nl = span(s + i, j - i, ":/=");
		if (nl < j - i && s[i + nl] == '=' && nl > 0) {
			if (parse_modifier(s + i, j - i, nl, r, e) == -1)
				return -1;
		} else {
			struct spf_term	*t;

			if (r->n == SPF_TERMS_MAX)
				return err_set(e, false, 0, "SPF: more than "
				    "%d terms", SPF_TERMS_MAX);
			t = &r->t[r->n];
			t->qual = SPF_QUAL_PASS;
			if ((q = memchr(quals, s[i], 4)) != NULL) {
				t->qual = q[0] == '+' ? SPF_QUAL_PASS :
				    q[0] == '-' ? SPF_QUAL_FAIL :
				    q[0] == '~' ? SPF_QUAL_SOFTFAIL :
				    SPF_QUAL_NEUTRAL;
				i++;
			}
			if (i == j || parse_mech(s + i, j - i, t, e) == -1)
				return i == j ? err_set(e, false, 0, "SPF: "
				    "qualifier without mechanism") : -1;
			r->n++;
		}
		i = j;
	}
	*out = tmp;
	return 0;
}
