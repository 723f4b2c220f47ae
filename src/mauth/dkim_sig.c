/*
 * dkim_sig.c - DKIM-Signature values and key records, RFC 6376 3.5,
 * 3.6.1 and 6.1.1, with RFC 8301 (no rsa-sha1) and RFC 8463 (Ed25519).
 *
 * Pure; both inputs are hostile (a received header, anyone's DNS).  The
 * tag grammar is dkim_tag.c's; this file checks what each tag may hold
 * and the rules between tags.  Every value is copied into a fixed field
 * and a value that does not fit makes the signature or key invalid.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mauth/dkim_sig.h"
#include "mauth/dkim_tag.h"
#include "strutil.h"

/* val - a tag's value into out, as written; -1 if it does not fit */
static int
val(const struct dkim_tag *g, char *out, size_t outsz)
{
	if (g->valuelen >= outsz)
		return -1;
	memcpy(out, g->value, g->valuelen);
	out[g->valuelen] = '\0';
	return 0;
}

/* is - the value equals word exactly */
static bool
is(const struct dkim_tag *g, const char *word)
{
	return g->valuelen == strlen(word) &&
	    memcmp(g->value, word, g->valuelen) == 0;
}

/* is_ci - the value equals word, ASCII case aside */
static bool
is_ci(const struct dkim_tag *g, const char *word)
{
	return g->valuelen == strlen(word) &&
	    strncasecmp(g->value, word, g->valuelen) == 0;
}

static bool	list_has(const struct dkim_tag *, const char *);

/* num - a decimal of at most 12 digits (3.5: l, t, x) */
static int
num(const struct dkim_tag *g, uint64_t *out)
{
	char			 buf[16];
	unsigned long long	 v;

	if (g->valuelen == 0 || g->valuelen > 12 || val(g, buf,
	    sizeof(buf)) == -1 || str_to_ull(buf, 0, 999999999999ULL,
	    &v) == -1)
		return -1;
	*out = v;
	return 0;
}

/* canon - c= : header[/body], simple when absent */
static int
canon(const struct dkim_tag *g, struct dkim_sig *s)
{
	const char	*slash = memchr(g->value, '/', g->valuelen);
	size_t		 hl = slash != NULL ? (size_t)(slash - g->value) :
			    g->valuelen;

	s->hcanon = s->bcanon = DKIM_CANON_SIMPLE;
	if (hl == 7 && strncasecmp(g->value, "relaxed", 7) == 0)
		s->hcanon = DKIM_CANON_RELAXED;
	else if (!(hl == 6 && strncasecmp(g->value, "simple", 6) == 0))
		return -1;
	if (slash == NULL)
		return 0;
	hl = g->valuelen - hl - 1;
	if (hl == 7 && strncasecmp(slash + 1, "relaxed", 7) == 0)
		s->bcanon = DKIM_CANON_RELAXED;
	else if (!(hl == 6 && strncasecmp(slash + 1, "simple", 6) == 0))
		return -1;
	return 0;
}

/* has_from - does the h= list name From (6.1.1: it must)? */
static bool
has_from(const char *h)
{
	const char	*p = h;
	size_t		 n;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		n = strcspn(p, ":");
		{
			size_t	m = n;

			while (m > 0 && strchr(" \t\r\n", p[m - 1]) != NULL)
				m--;
			if (m == 4 && strncasecmp(p, "from", 4) == 0)
				return true;
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return false;
}

/*
 * name_ok - a domain or selector (3.1, 3.5 d=): labels of 1-63 letters,
 * digits, '-' or '_' (selectors and _domainkey names), 253 bytes at most
 */
static bool
name_ok(const char *n)
{
	size_t	i, label = 0, len = strlen(n);

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		char	c = n[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* in_domain - is the i= domain d or a subdomain of d? */
static bool
in_domain(const char *idom, const char *d)
{
	size_t	il = strlen(idom), dl = strlen(d);

	if (il == dl)
		return strcasecmp(idom, d) == 0;
	return il > dl && idom[il - dl - 1] == '.' &&
	    strcasecmp(idom + il - dl, d) == 0;
}

/* dkim_sig_parse - 6.1.1's checks, in its order */
int
dkim_sig_parse(const char *v, size_t len, struct dkim_sig *out,
    struct err *e)
{
	static const char *const req[] = { "v", "a", "b", "bh", "d", "h",
	    "s" };
	struct dkim_tags	 t;
	const struct dkim_tag	*g;
	struct dkim_sig		 s;
	const char		*at;
	size_t			 k;

	if (dkim_tags_parse(v, len, &t, e) == -1)
		return -1;
	for (k = 0; k < sizeof(req) / sizeof(req[0]); k++)
		if (dkim_tags_get(&t, req[k]) == NULL)
			return err_set(e, false, 0, "signature missing %s=",
			    req[k]);
	memset(&s, 0, sizeof(s));
	if (!is(dkim_tags_get(&t, "v"), "1"))
		return err_set(e, false, 0, "signature version not 1");
	/* ABNF literals: any case */
	g = dkim_tags_get(&t, "a");
	if (is_ci(g, "rsa-sha256"))
		s.alg = DKIM_ALG_RSA_SHA256;
	else if (is_ci(g, "ed25519-sha256"))
		s.alg = DKIM_ALG_ED25519_SHA256;
	else if (is_ci(g, "rsa-sha1"))
		return err_set(e, false, 0, "rsa-sha1 is not valid (RFC "
		    "8301)");
	else
		return err_set(e, false, 0, "unknown signature algorithm");
	if (dkim_tag_nows(dkim_tags_get(&t, "b"), s.b, sizeof(s.b)) == -1 ||
	    s.b[0] == '\0' ||
	    dkim_tag_nows(dkim_tags_get(&t, "bh"), s.bh, sizeof(s.bh)) == -1 ||
	    s.bh[0] == '\0')
		return err_set(e, false, 0, "bad b= or bh=");
	if (val(dkim_tags_get(&t, "d"), s.d, sizeof(s.d)) == -1 ||
	    !name_ok(s.d) || val(dkim_tags_get(&t, "s"), s.s,
	    sizeof(s.s)) == -1 || !name_ok(s.s))
		return err_set(e, false, 0, "bad d= or s=");
	str_lower(s.d);
	if (val(dkim_tags_get(&t, "h"), s.h, sizeof(s.h)) == -1 ||
	    !has_from(s.h))
		return err_set(e, false, 0, "h= does not sign From");
	if ((g = dkim_tags_get(&t, "c")) != NULL && canon(g, &s) == -1)
		return err_set(e, false, 0, "unknown canonicalization");
	/* 3.5: q= is a list; dns/txt is the one method there is */
	if ((g = dkim_tags_get(&t, "q")) != NULL && !list_has(g, "dns/txt"))
		return err_set(e, false, 0, "unknown query method");
	if ((g = dkim_tags_get(&t, "i")) != NULL) {
		if (val(g, s.i, sizeof(s.i)) == -1 ||
		    (at = strrchr(s.i, '@')) == NULL ||
		    !in_domain(at + 1, s.d))
			return err_set(e, false, 0, "i= not within d=");
	} else {
		(void)snprintf(s.i, sizeof(s.i), "@%s", s.d);
	}
	if ((g = dkim_tags_get(&t, "l")) != NULL) {
		if (num(g, &s.l) == -1)
			return err_set(e, false, 0, "bad l=");
		s.has_l = true;
	}
	if ((g = dkim_tags_get(&t, "t")) != NULL) {
		if (num(g, &s.t) == -1)
			return err_set(e, false, 0, "bad t=");
		s.has_t = true;
	}
	if ((g = dkim_tags_get(&t, "x")) != NULL) {
		if (num(g, &s.x) == -1 || (s.has_t && s.x <= s.t))
			return err_set(e, false, 0, "bad x=");
		s.has_x = true;
	}
	*out = s;
	return 0;
}

/* dkim_sig_expired - past x=, beyond the skew allowed */
bool
dkim_sig_expired(const struct dkim_sig *s, uint64_t now)
{
	return s->has_x && s->x + DKIM_CLOCK_SKEW < now;
}

/* list_has - does a colon-separated list hold word (whitespace aside)? */
static bool
list_has(const struct dkim_tag *g, const char *word)
{
	size_t	i = 0, s, n = strlen(word), m;

	while (i < g->valuelen) {
		while (i < g->valuelen && strchr(" \t\r\n", g->value[i]))
			i++;
		for (s = i; i < g->valuelen && g->value[i] != ':'; i++)
			;
		for (m = i - s; m > 0 && strchr(" \t\r\n",
		    g->value[s + m - 1]); m--)
			;
		if (m == n && strncasecmp(g->value + s, word, n) == 0)
			return true;
		i++;
	}
	return false;
}

/* dkim_key_parse - a key record of 3.6.1 */
int
dkim_key_parse(const char *txt, size_t len, struct dkim_key *out,
    struct err *e)
{
	struct dkim_tags	 t;
	const struct dkim_tag	*g;
	struct dkim_key		 k;

	if (dkim_tags_parse(txt, len, &t, e) == -1)
		return -1;
	memset(&k, 0, sizeof(k));
	if ((g = dkim_tags_get(&t, "v")) != NULL &&
	    (g != &t.v[0] || !is(g, "DKIM1")))
		return err_set(e, false, 0, "key record: v= not DKIM1 first");
	if ((g = dkim_tags_get(&t, "k")) != NULL) {
		if (is(g, "ed25519"))
			k.ed25519 = true;
		else if (!is(g, "rsa"))
			return err_set(e, false, 0, "key record: unknown "
			    "key type");
	}
	if ((g = dkim_tags_get(&t, "h")) != NULL && !list_has(g, "sha256"))
		return err_set(e, false, 0, "key record: h= excludes sha256");
	if ((g = dkim_tags_get(&t, "s")) != NULL && !list_has(g, "*") &&
	    !list_has(g, "email"))
		return err_set(e, false, 0, "key record: not for email");
	if ((g = dkim_tags_get(&t, "t")) != NULL) {
		k.testing = list_has(g, "y");
		k.strict = list_has(g, "s");
	}
	if ((g = dkim_tags_get(&t, "p")) == NULL)
		return err_set(e, false, 0, "key record: no p=");
	if (dkim_tag_nows(g, k.p, sizeof(k.p)) == -1)
		return err_set(e, false, 0, "key record: p= too long");
	k.revoked = k.p[0] == '\0';
	*out = k;
	return 0;
}
