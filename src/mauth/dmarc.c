/*
 * dmarc.c - DMARC per RFC 9989 (which obsoletes RFC 7489).
 *
 * Pure.  Records come from anyone's DNS: they are parsed with the tag
 * list grammar shared with DKIM (dkim_tag.c), tag names compared without
 * regard to case, and anything doubtful in a value other than v= is
 * ignored, as the RFC asks, rather than failing the record.  The DNS tree
 * walk replaces the public suffix list: the walk's names come from
 * dmarc_walk_names(), the caller looks each one up (asynchronously, on
 * its own loop) and hands the answers back as dmarc_steps, from which
 * the policy record and the organizational domain are chosen here.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mauth/dkim_tag.h"
#include "mauth/dmarc.h"

/* tag - a tag by name, any case; NULL when absent */
static const struct dkim_tag *
tag(const struct dkim_tags *t, const char *name)
{
	size_t	i, n = strlen(name);

	for (i = 0; i < t->n; i++)
		if (t->v[i].namelen == n &&
		    strncasecmp(t->v[i].name, name, n) == 0)
			return &t->v[i];
	return NULL;
}

/* is - does the tag's value equal word, any case? */
static bool
is(const struct dkim_tag *g, const char *word)
{
	return g->valuelen == strlen(word) &&
	    strncasecmp(g->value, word, g->valuelen) == 0;
}

/* policy - a p/sp/np value; false when not one of the three */
static bool
policy(const struct dkim_tag *g, enum dmarc_policy *out)
{
	if (g == NULL)
		return false;
	if (is(g, "none"))
		*out = DMARC_NONE;
	else if (is(g, "quarantine"))
		*out = DMARC_QUARANTINE;
	else if (is(g, "reject"))
		*out = DMARC_REJECT;
	else
		return false;
	return true;
}

/* copy - a value into a fixed field, whitespace dropped, cut to fit */
static void
copy(const struct dkim_tag *g, char *out, size_t outsz)
{
	if (dkim_tag_nows(g, out, outsz) == -1)
		out[0] = '\0';
}

/* fo_ok - fo= is 0, 1, d or s, colon-separated */
static bool
fo_ok(const char *s)
{
	size_t	i;

	if (s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i % 2 == 1 ? s[i] != ':' : strchr("01ds", s[i]) == NULL)
			return false;
	}
	return i % 2 == 1;
}

/* is_ws - folding whitespace of a record */
static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * lenient_tags - split a record at ';' into name=value pairs, leniently
 * (RFC 9989: what does not parse is ignored, not fatal): parts without
 * '=' or with a bad name are skipped, a repeated name keeps its first
 * value; the pairs point into s
 */
static void
lenient_tags(const char *s, size_t len, struct dkim_tags *t)
{
	size_t	i = 0, st, en, eq, j, k;
	bool	ok;

	t->n = 0;
	while (i <= len && t->n < DKIM_TAGS_MAX) {
		for (st = i; i < len && s[i] != ';'; i++)
			;
		en = i++;
		while (st < en && is_ws(s[st]))
			st++;
		while (en > st && is_ws(s[en - 1]))
			en--;
		for (eq = st; eq < en && s[eq] != '='; eq++)
			;
		if (eq == en || eq == st)
			continue;
		for (k = eq; k > st && is_ws(s[k - 1]); k--)
			;
		for (ok = k > st, j = st; j < k; j++)
			if (!((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' &&
			    s[j] <= 'Z') || (s[j] >= '0' && s[j] <= '9') ||
			    s[j] == '_'))
				ok = false;
		if (!ok)
			continue;
		for (j = 0; j < t->n; j++)
			if (t->v[j].namelen == k - st &&
			    strncasecmp(t->v[j].name, s + st, k - st) == 0)
				break;
		if (j < t->n)
			continue;	/* the first one counts */
		t->v[t->n].name = s + st;
		t->v[t->n].namelen = k - st;
		for (eq++; eq < en && is_ws(s[eq]); eq++)
			;
		t->v[t->n].value = s + eq;
		t->v[t->n].valuelen = en - eq;
		t->n++;
	}
}

/* dmarc_record_is - does a TXT string start a DMARC record (4.10)? */
bool
dmarc_record_is(const char *s, size_t len)
{
	size_t	i = 0;

	while (i < len && is_ws(s[i]))
		i++;
	if (len - i < 8 || strncmp(s + i, "v=DMARC1", 8) != 0)
		return false;
	for (i += 8; i < len && is_ws(s[i]); i++)
		;
	return i == len || s[i] == ';';
}

/* dmarc_record_parse - the record, with RFC 9989's defaults */
int
dmarc_record_parse(const char *s, size_t len, struct dmarc_record *out,
    struct err *e)
{
	struct dkim_tags	 t;
	const struct dkim_tag	*g;
	struct dmarc_record	 r;

	if (!dmarc_record_is(s, len))
		return err_set(e, false, 0, "not a DMARC1 record");
	lenient_tags(s, len, &t);
	/* v=DMARC1 first, the version exact (case as registered) */
	if (t.n == 0 || t.v[0].namelen != 1 || (t.v[0].name[0] | 0x20) != 'v' ||
	    t.v[0].valuelen != 6 || memcmp(t.v[0].value, "DMARC1", 6) != 0)
		return err_set(e, false, 0, "not a DMARC1 record");
	memset(&r, 0, sizeof(r));
	r.p_given = policy(tag(&t, "p"), &r.p);
	if (!policy(tag(&t, "sp"), &r.sp))
		r.sp = r.p;
	if (!policy(tag(&t, "np"), &r.np))
		r.np = r.sp;
	r.adkim_strict = (g = tag(&t, "adkim")) != NULL && is(g, "s");
	r.aspf_strict = (g = tag(&t, "aspf")) != NULL && is(g, "s");
	r.testing = (g = tag(&t, "t")) != NULL && is(g, "y");
	r.psd = DMARC_PSD_U;
	if ((g = tag(&t, "psd")) != NULL)
		r.psd = is(g, "y") ? DMARC_PSD_Y : is(g, "n") ? DMARC_PSD_N :
		    DMARC_PSD_U;
	(void)snprintf(r.fo, sizeof(r.fo), "0");
	if ((g = tag(&t, "fo")) != NULL) {
		char	fo[sizeof(r.fo)];

		copy(g, fo, sizeof(fo));
		if (fo_ok(fo))
			memcpy(r.fo, fo, sizeof(fo));
	}
	if ((g = tag(&t, "rua")) != NULL)
		copy(g, r.rua, sizeof(r.rua));
	if ((g = tag(&t, "ruf")) != NULL)
		copy(g, r.ruf, sizeof(r.ruf));
	/*
	 * 4.10.1: without a valid p the record stands as p=none only when
	 * rua names a report address; otherwise there is no DMARC here
	 */
	if (!r.p_given && strchr(r.rua, ':') == NULL)
		return err_set(e, false, 0, "no valid p= and no rua=");
	*out = r;
	return 0;
}

/* labels - how many labels a name has (a trailing dot not counted) */
static size_t
labels(const char *d)
{
	size_t	n = d[0] != '\0';

	for (; *d != '\0'; d++)
		if (*d == '.' && d[1] != '\0')
			n++;
	return n;
}

/* suffix - the last k labels of d */
static const char *
suffix(const char *d, size_t k)
{
	size_t	skip = labels(d) > k ? labels(d) - k : 0;

	while (skip > 0) {
		d = strchr(d, '.') + 1;
		skip--;
	}
	return d;
}

/* dmarc_walk_names - the domain, then (8 labels or more) its last 7, then up */
size_t
dmarc_walk_names(const char *domain, const char **names)
{
	size_t	n = 0, k = labels(domain);

	if (k == 0)
		return 0;
	names[n++] = domain;
	if (k >= DMARC_WALK_MAX)
		k = DMARC_WALK_MAX;	/* the next is the 7-label suffix */
	while (--k > 0 && n < DMARC_WALK_MAX)
		names[n++] = suffix(domain, k);
	return n;
}

/*
 * dmarc_policy_step - 4.10.1: the author domain's record (the walk's
 * first name), else the organizational domain's, else a public suffix
 * domain's (psd=y); an intermediate name's record is not a policy
 */
int
dmarc_policy_step(const struct dmarc_step *s, size_t n, const char *org)
{
	size_t	i;

	if (n > 0 && s[0].found)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i].found && strcasecmp(s[i].name, org) == 0)
			return (int)i;
	for (i = 0; i < n; i++)
		if (s[i].found && s[i].rec.psd == DMARC_PSD_Y)
			return (int)i;
	return -1;
}

/* dmarc_org_domain - RFC 9989's three rules, longest name first */
const char *
dmarc_org_domain(const char *domain, const struct dmarc_step *s, size_t n)
{
	const char	*fewest = NULL;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (!s[i].found)
			continue;
		if (s[i].rec.psd == DMARC_PSD_N)
			return s[i].name;
		if (s[i].rec.psd == DMARC_PSD_Y && i > 0)
			return suffix(domain, labels(s[i].name) + 1);
		fewest = s[i].name;
	}
	return fewest != NULL ? fewest : domain;
}

/* dmarc_applies - p, sp or np */
enum dmarc_policy
dmarc_applies(const struct dmarc_record *r, const char *domain,
    const char *policy_name, bool nxdomain)
{
	if (strcasecmp(domain, policy_name) == 0)
		return r->p;
	return nxdomain ? r->np : r->sp;
}

/* dmarc_aligned - strict: the same name; relaxed: the same org domain */
bool
dmarc_aligned(bool strict, const char *auth, const char *auth_org,
    const char *author, const char *author_org)
{
	if (strcasecmp(auth, author) == 0)
		return true;
	return !strict && strcasecmp(auth_org, author_org) == 0;
}

/* dmarc_policy_name - the policy as the record writes it */
const char *
dmarc_policy_name(enum dmarc_policy p)
{
	static const char *const names[] = { "none", "quarantine", "reject" };

	return names[p];
}
