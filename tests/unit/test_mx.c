/*
 * test_mx.c - the MX plan (mx.c's pure steps): preference order, random
 * order among equal preferences (every permutation, evenly), null MX,
 * implicit MX, failure classes, address families and the bounds on hosts
 * and addresses; address literal plans (RFC 5321 4.1.3: syntax, refused
 * addresses, families) and that mx_resolve() routes a literal without a
 * DNS query.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "addr.h"
#include "err.h"
#include "deliver/dns.h"
#include "deliver/mx.h"

/* --- helpers -------------------------------------------------------------- */

/* splitmix64: a seeded generator for the injected random function */
struct rng {
	uint64_t	s;
};

static uint32_t
rng_next(void *arg, uint32_t upper)
{
	struct rng	*r = arg;
	uint64_t	 z;

	z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (uint32_t)(z % upper);
}

/* a random function that answers out of range: must be clamped */
static uint32_t
rng_wild(void *arg, uint32_t upper)
{
	(void)arg;
	return upper + 7;
}

static struct dns_mx	mxs[DNS_MAX_RR];

/* mx_answer - an MX answer from "PREF HOST,PREF HOST" (NULL: none) */
static struct dns_result
mx_answer(const char *spec)
{
	struct dns_result	 r;
	char			 buf[1024], *rec, *save = NULL;
	size_t			 n = 0;

	memset(&r, 0, sizeof(r));
	r.qtype = DNS_T_MX;
	if (spec == NULL)
		return r;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (rec = strtok_r(buf, ",", &save); rec != NULL;
	    rec = strtok_r(NULL, ",", &save)) {
		if (sscanf(rec, "%u %255s", &mxs[n].pref, mxs[n].host) != 2)
			fail_msg("bad spec %s", rec);
		n++;
	}
	r.nmx = r.nraw = n;
	r.mx = mxs;
	return r;
}

/* plan_str - "PREF HOST,PREF HOST" of a plan */
static const char *
plan_str(const struct mx_plan *p)
{
	static char	 out[8192];
	size_t		 i, o = 0;

	out[0] = '\0';
	for (i = 0; i < p->nhosts; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%u %s",
		    i ? "," : "", p->hosts[i].pref, p->hosts[i].name);
	return out;
}

static void
add_addr(struct sockaddr_storage *ss, const char *text)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':') != NULL) {
		ss->ss_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text,
		    &((struct sockaddr_in6 *)ss)->sin6_addr), 1);
	} else {
		ss->ss_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text,
		    &((struct sockaddr_in *)ss)->sin_addr), 1);
	}
}

/* mkset - an address set from "a,b,c" (may be "") */
static void
mkset(struct mx_addrset *s, enum mx_lookup st, const char *spec)
{
	char	 buf[1024], *a, *save = NULL;

	memset(s, 0, sizeof(*s));
	s->status = st;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (a = strtok_r(buf, ",", &save); a != NULL;
	    a = strtok_r(NULL, ",", &save))
		add_addr(&s->addr[s->n++], a);
}

/* addrs_str - the host's addresses, "a,b,c" */
static const char *
addrs_str(const struct mx_host *h)
{
	static char	 out[2048];
	char		 t[INET6_ADDRSTRLEN];
	size_t		 i, o = 0;

	out[0] = '\0';
	for (i = 0; i < h->naddrs; i++) {
		const struct sockaddr_storage *ss = &h->addrs[i];

		inet_ntop(ss->ss_family, ss->ss_family == AF_INET ?
		    (const void *)&((const struct sockaddr_in *)ss)->sin_addr :
		    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr,
		    t, sizeof(t));
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s",
		    i ? "," : "", t);
	}
	return out;
}

/* --- stage 1: the MX answer ------------------------------------------------- */

struct build_case {
	const char	*what;
	const char	*mx;		/* records, NULL: none */
	int		 rcode;
	bool		 nxdomain, timeout, bogus, secure;
	size_t		 nbad;
	int		 want;
	const char	*hosts;		/* want 0 */
	bool		 temp;		/* want -1 */
	const char	*status;
	const char	*msg;		/* substring of err.msg */
};

static const struct build_case build_cases[] = {
	{ "preference order", "30 c.test,10 a.test,20 b.test", 0,
	    false, false, false, false, 0, 0,
	    "10 a.test,20 b.test,30 c.test", false, NULL, NULL },
	{ "one host", "5 mx.test", 0, false, false, false, false, 0, 0,
	    "5 mx.test", false, NULL, NULL },
	{ "preference edges", "65535 z.test,0 a.test,256 m.test", 0,
	    false, false, false, false, 0, 0,
	    "0 a.test,256 m.test,65535 z.test", false, NULL, NULL },
	{ "duplicate host keeps its best preference",
	    "20 MX.test,10 mx.test,30 other.test", 0,
	    false, false, false, false, 0, 0,
	    "10 mx.test,30 other.test", false, NULL, NULL },
	{ "a dot among real hosts is dropped", "0 .,10 mx.test", 0,
	    false, false, false, false, 0, 0, "10 mx.test", false, NULL, NULL },
	{ "some records malformed", "10 a.test", 0,
	    false, false, false, false, 1, 0, "10 a.test", false, NULL, NULL },
	{ "secure answer", "10 a.test", 0, false, false, false, true, 0, 0,
	    "10 a.test", false, NULL, NULL },
	{ "implicit MX", NULL, 0, false, false, false, false, 0, 0,
	    "0 example.test", false, NULL, NULL },
	{ "null MX", "0 .", 0, false, false, false, false, 0, -1, NULL,
	    false, "5.1.10", "does not accept mail" },
	{ "null MX, odd preference", "10 .", 0, false, false, false, false,
	    0, -1, NULL, false, "5.1.10", "null MX" },
	{ "only dots", "0 .,5 .", 0, false, false, false, false, 0, -1, NULL,
	    false, "5.1.10", "null MX" },
	{ "NXDOMAIN", NULL, 3, true, false, false, false, 0, -1, NULL,
	    false, "5.1.2", "no such domain" },
	{ "rcode 3 alone", NULL, 3, false, false, false, false, 0, -1, NULL,
	    false, "5.1.2", "no such domain" },
	{ "SERVFAIL", NULL, 2, false, false, false, false, 0, -1, NULL,
	    true, "4.4.3", "rcode 2" },
	{ "REFUSED", NULL, 5, false, false, false, false, 0, -1, NULL,
	    true, "4.4.3", "rcode 5" },
	{ "timeout", NULL, 2, false, true, false, false, 0, -1, NULL,
	    true, "4.4.3", "timed out" },
	{ "bogus", "10 a.test", 2, false, false, true, false, 0, -1, NULL,
	    true, "4.4.3", "DNSSEC" },
	{ "bogus NOERROR", "10 a.test", 0, false, false, true, false, 0, -1,
	    NULL, true, "4.4.3", "DNSSEC" },
	{ "every record malformed", NULL, 0, false, false, false, false, 2,
	    -1, NULL, true, "4.4.3", "malformed" },
};

static void
test_build_table(void **state)
{
	struct mx_plan		*p = malloc(sizeof(*p));
	struct dns_result	 r;
	struct rng		 g = { 1 };
	size_t			 i;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < sizeof(build_cases) / sizeof(build_cases[0]); i++) {
		const struct build_case	*c = &build_cases[i];
		int			 got;

		r = mx_answer(c->mx);
		r.rcode = c->rcode;
		r.nxdomain = c->nxdomain;
		r.timeout = c->timeout;
		r.bogus = c->bogus;
		r.secure = c->secure;
		r.nbad = c->nbad;
		memset(p, 0xa5, sizeof(*p));	/* stale contents must go */
		got = mx_plan_build(p, "example.test", &r, rng_next, &g);
		if (got != c->want)
			fail_msg("%s: got %d (%s)", c->what, got, p->err.msg);
		assert_string_equal(p->domain, "example.test");
		if (got == 0) {
			assert_true(p->ok);
			if (strcmp(plan_str(p), c->hosts) != 0)
				fail_msg("%s: %s", c->what, plan_str(p));
			assert_int_equal(p->implicit, c->mx == NULL);
			assert_int_equal(p->mx_secure, c->secure);
			assert_int_equal(p->nbad, c->nbad);
			assert_int_equal(p->hosts[0].naddrs, 0);
			continue;
		}
		assert_false(p->ok);
		assert_int_equal(p->nhosts, 0);
		if (p->err.temp != c->temp)
			fail_msg("%s: temp %d", c->what, p->err.temp);
		assert_string_equal(p->status, c->status);
		if (strstr(p->err.msg, c->msg) == NULL ||
		    strstr(p->err.msg, "example.test") == NULL)
			fail_msg("%s: message %s", c->what, p->err.msg);
	}
	free(p);
}

static void
test_bad_domain(void **state)
{
	struct mx_plan		*p = malloc(sizeof(*p));
	struct dns_result	 r = mx_answer("10 a.test");
	char			 longname[300];

	(void)state;
	assert_int_equal(mx_plan_build(p, "", &r, NULL, NULL), -1);
	assert_false(p->err.temp);
	assert_string_equal(p->status, "5.1.2");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(mx_plan_build(p, longname, &r, NULL, NULL), -1);
	assert_string_equal(p->status, "5.1.2");
	/* the field holds 255 characters (DNS itself refuses past 253) */
	longname[DNS_NAME_SIZE - 1] = '\0';
	assert_int_equal(mx_plan_build(p, longname, &r, NULL, NULL), 0);
	longname[DNS_NAME_SIZE - 1] = 'a';
	longname[DNS_NAME_SIZE] = '\0';
	assert_int_equal(mx_plan_build(p, longname, &r, NULL, NULL), -1);
	free(p);
}

static void
test_long_reason(void **state)
{
	struct mx_plan		*p = malloc(sizeof(*p));
	struct dns_result	 r = mx_answer(NULL);
	char			 why[600];

	(void)state;
	memset(why, 'w', sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	r.why = why;
	r.bogus = true;
	assert_int_equal(mx_plan_build(p, "example.test", &r, NULL, NULL), -1);
	assert_non_null(strstr(p->err.msg, "example.test: MX lookup: DNSSEC"));
	assert_true(strlen(p->err.msg) < sizeof(p->err.msg));
	r.bogus = false;
	r.rcode = DNS_R_SERVFAIL;
	assert_int_equal(mx_plan_build(p, "example.test", &r, NULL, NULL), -1);
	assert_non_null(strstr(p->err.msg, "rcode 2: www"));
	free(p);
}

/* perm_index - which permutation of "a".."d" (n of them) the plan shows */
static size_t
perm_index(const struct mx_plan *p, size_t first, size_t n)
{
	size_t	i, j, idx = 0, used = 0, rank;

	for (i = 0; i < n; i++) {
		size_t	v = (size_t)(p->hosts[first + i].name[0] - 'a');

		rank = 0;
		for (j = 0; j < v; j++)
			if ((used & (1u << j)) == 0)
				rank++;
		used |= 1u << v;
		idx = idx * (n - i) + rank;
	}
	return idx;
}

static void
check_permutations(const char *spec, size_t first, size_t n, size_t nperm,
    size_t runs)
{
	struct mx_plan		*p = malloc(sizeof(*p));
	struct dns_result	 r;
	size_t			 counts[24] = { 0 }, seed, i, expect;
	struct rng		 g;

	assert_non_null(p);
	for (seed = 0; seed < runs; seed++) {
		g.s = seed;
		r = mx_answer(spec);
		assert_int_equal(mx_plan_build(p, "example.test", &r, rng_next,
		    &g), 0);
		assert_string_equal(p->hosts[0].name, "first.test");
		assert_string_equal(p->hosts[p->nhosts - 1].name, "last.test");
		for (i = 0; i < n; i++)
			assert_int_equal(p->hosts[first + i].pref, 10);
		counts[perm_index(p, first, n)]++;
	}
	/* every order turns up, and about equally often */
	expect = runs / nperm;
	for (i = 0; i < nperm; i++)
		if (counts[i] < expect * 7 / 10 || counts[i] > expect * 13 / 10)
			fail_msg("%s: permutation %zu seen %zu times of %zu",
			    spec, i, counts[i], runs);
	free(p);
}

static void
test_equal_permutations(void **state)
{
	(void)state;
	check_permutations("10 a.test,20 last.test,10 b.test,5 first.test,"
	    "10 c.test", 1, 3, 6, 6000);
	check_permutations("10 d.test,10 c.test,20 last.test,10 b.test,"
	    "10 a.test,5 first.test", 1, 4, 24, 24000);
}

static void
test_default_random(void **state)
{
	struct mx_plan		*p = malloc(sizeof(*p));
	struct dns_result	 r;
	bool			 seen[6] = { false };
	size_t			 i;

	(void)state;
	for (i = 0; i < 300; i++) {
		r = mx_answer("5 first.test,10 a.test,10 b.test,10 c.test,"
		    "20 last.test");
		assert_int_equal(mx_plan_build(p, "example.test", &r, NULL,
		    NULL), 0);
		seen[perm_index(p, 1, 3)] = true;
	}
	for (i = 0; i < 6; i++)
		assert_true(seen[i]);
	/* a random function out of range is clamped, not trusted */
	r = mx_answer("10 a.test,10 b.test,10 c.test");
	assert_int_equal(mx_plan_build(p, "example.test", &r, rng_wild, NULL),
	    0);
	assert_int_equal(p->nhosts, 3);
	free(p);
}

/* many_mx - n records: host hNN, preference from pref(i) */
static struct dns_result
many_mx(size_t n, unsigned (*pref)(size_t), bool samehost)
{
	struct dns_result	r;
	size_t			i;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < n; i++) {
		mxs[i].pref = pref(i);
		snprintf(mxs[i].host, sizeof(mxs[i].host), "h%03zu.test",
		    samehost ? (size_t)0 : i);
	}
	r.qtype = DNS_T_MX;
	r.nmx = r.nraw = n;
	r.mx = mxs;
	return r;
}

static unsigned pref_down(size_t i) { return 1000 - (unsigned)i; }
static unsigned pref_same(size_t i) { (void)i; return 10; }

static void
test_host_bounds(void **state)
{
	struct mx_plan		*p = malloc(sizeof(*p));
	struct dns_result	 r;
	struct rng		 g = { 7 };
	bool			 chosen[40] = { false };
	const size_t		 sizes[] = { 1, 31, 32, 33, 40, DNS_MAX_RR };
	size_t			 i, k, seed;
	char			 want[16];

	(void)state;
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		r = many_mx(sizes[k], pref_down, false);
		assert_int_equal(mx_plan_build(p, "example.test", &r, rng_next,
		    &g), 0);
		assert_int_equal(p->nhosts, sizes[k] < MX_MAX_HOSTS ?
		    sizes[k] : MX_MAX_HOSTS);
		/* the best ones are kept, best first */
		for (i = 0; i < p->nhosts; i++) {
			snprintf(want, sizeof(want), "h%03zu.test",
			    sizes[k] - 1 - i);
			assert_string_equal(p->hosts[i].name, want);
		}
	}
	/* 40 equal: 32 distinct hosts, and which ones is random */
	for (seed = 0; seed < 200; seed++) {
		g.s = seed;
		r = many_mx(40, pref_same, false);
		assert_int_equal(mx_plan_build(p, "example.test", &r, rng_next,
		    &g), 0);
		assert_int_equal(p->nhosts, MX_MAX_HOSTS);
		for (i = 0; i < p->nhosts; i++) {
			size_t	j;

			for (j = 0; j < i; j++)
				assert_string_not_equal(p->hosts[i].name,
				    p->hosts[j].name);
			chosen[atoi(p->hosts[i].name + 1)] = true;
		}
	}
	for (i = 0; i < 40; i++)
		assert_true(chosen[i]);
	/* DNS_MAX_RR records of one host: one host */
	r = many_mx(DNS_MAX_RR, pref_down, true);
	assert_int_equal(mx_plan_build(p, "example.test", &r, rng_next, &g), 0);
	assert_int_equal(p->nhosts, 1);
	assert_int_equal(p->hosts[0].pref, 1000 - (DNS_MAX_RR - 1));
	free(p);
}

/* --- stage 2: addresses ------------------------------------------------------ */

#define V4S	"10.0.0.1,10.0.0.2"
#define V6S	"2001:db8::1,2001:db8::2"

struct fam_case {
	enum ip_family_pref	 fam;
	const char		*v4;	/* NULL: not asked */
	enum mx_lookup		 v4st;
	const char		*v6;
	enum mx_lookup		 v6st;
	const char		*want;
	bool			 temp;
};

static const struct fam_case fam_cases[] = {
	{ FAM_BOTH_V6_FIRST, V4S, MXL_OK, V6S, MXL_OK, V6S "," V4S, false },
	{ FAM_BOTH_V4_FIRST, V4S, MXL_OK, V6S, MXL_OK, V4S "," V6S, false },
	{ FAM_V4_ONLY, V4S, MXL_OK, NULL, MXL_NONE, V4S, false },
	{ FAM_V4_ONLY, V4S, MXL_OK, V6S, MXL_OK, V4S, false },
	{ FAM_V6_ONLY, NULL, MXL_NONE, V6S, MXL_OK, V6S, false },
	{ FAM_V6_ONLY, V4S, MXL_OK, V6S, MXL_OK, V6S, false },
	{ FAM_V6_ONLY, V4S, MXL_OK, "", MXL_NOADDR, "", false },
	{ FAM_BOTH_V6_FIRST, V4S, MXL_OK, "", MXL_NOADDR, V4S, false },
	{ FAM_BOTH_V6_FIRST, "", MXL_NOADDR, V6S, MXL_OK, V6S, false },
	{ FAM_BOTH_V6_FIRST, V4S, MXL_OK, "", MXL_TEMP, V4S, true },
	{ FAM_BOTH_V4_FIRST, "", MXL_TEMP, V6S, MXL_OK, V6S, true },
	{ FAM_BOTH_V6_FIRST, "", MXL_NOADDR, "", MXL_NOADDR, "", false },
	{ FAM_BOTH_V6_FIRST, "", MXL_TEMP, "", MXL_NOADDR, "", true },
	{ FAM_V4_ONLY, "", MXL_NOADDR, "", MXL_TEMP, "", false },
	{ FAM_BOTH_V6_FIRST, NULL, MXL_NONE, NULL, MXL_NONE, "", false },
};

static void
test_families(void **state)
{
	struct mx_host		*h = malloc(sizeof(*h));
	struct mx_addrset	*v4 = malloc(sizeof(*v4)), *v6 = malloc(sizeof(*v6));
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(fam_cases) / sizeof(fam_cases[0]); i++) {
		const struct fam_case	*c = &fam_cases[i];

		memset(h, 0, sizeof(*h));
		mkset(v4, c->v4st, c->v4 != NULL ? c->v4 : "");
		mkset(v6, c->v6st, c->v6 != NULL ? c->v6 : "");
		mx_host_set_addrs(h, c->v4 != NULL ? v4 : NULL,
		    c->v6 != NULL ? v6 : NULL, c->fam);
		if (strcmp(addrs_str(h), c->want) != 0)
			fail_msg("case %zu: %s", i, addrs_str(h));
		if (h->addr_temp != c->temp)
			fail_msg("case %zu: temp %d", i, h->addr_temp);
	}
	free(h);
	free(v4);
	free(v6);
}

struct share_case {
	size_t	n6, n4;		/* offered */
	size_t	k6, k4;		/* kept */
};

static const struct share_case share_cases[] = {
	{ 16, 0, 16, 0 }, { 0, 16, 0, 16 }, { 8, 8, 8, 8 }, { 16, 16, 8, 8 },
	{ 9, 7, 9, 7 }, { 9, 8, 8, 8 }, { 7, 9, 7, 9 }, { 3, 16, 3, 13 },
	{ 16, 3, 13, 3 }, { 1, 1, 1, 1 }, { 15, 1, 15, 1 }, { 1, 15, 1, 15 },
	{ 0, 0, 0, 0 }, { 12, 12, 8, 8 },
};

static void
test_address_bounds(void **state)
{
	struct mx_host		*h = malloc(sizeof(*h));
	struct mx_addrset	*v4 = malloc(sizeof(*v4)), *v6 = malloc(sizeof(*v6));
	char			 t[64];
	size_t			 i, j, n4, n6;

	(void)state;
	for (i = 0; i < sizeof(share_cases) / sizeof(share_cases[0]); i++) {
		const struct share_case	*c = &share_cases[i];
		int			 f;

		mkset(v4, c->n4 ? MXL_OK : MXL_NOADDR, "");
		mkset(v6, c->n6 ? MXL_OK : MXL_NOADDR, "");
		for (j = 0; j < c->n4; j++) {
			snprintf(t, sizeof(t), "10.0.0.%zu", j + 1);
			add_addr(&v4->addr[v4->n++], t);
		}
		for (j = 0; j < c->n6; j++) {
			snprintf(t, sizeof(t), "2001:db8::%zx", j + 1);
			add_addr(&v6->addr[v6->n++], t);
		}
		for (f = 0; f < 2; f++) {
			enum ip_family_pref fam = f ? FAM_BOTH_V4_FIRST :
			    FAM_BOTH_V6_FIRST;

			mx_host_set_addrs(h, v4, v6, fam);
			assert_true(h->naddrs <= MX_MAX_ADDRS);
			n4 = n6 = 0;
			for (j = 0; j < h->naddrs; j++) {
				/* each family keeps its first ones, in order */
				if (h->addrs[j].ss_family == AF_INET)
					assert_memory_equal(&h->addrs[j],
					    &v4->addr[n4++], sizeof(h->addrs[j]));
				else
					assert_memory_equal(&h->addrs[j],
					    &v6->addr[n6++], sizeof(h->addrs[j]));
				/* and families do not interleave */
				if (j > 0 && h->addrs[j].ss_family !=
				    h->addrs[j - 1].ss_family)
					assert_int_equal(h->addrs[j].ss_family,
					    f ? AF_INET6 : AF_INET);
			}
			if (n6 != c->k6 || n4 != c->k4)
				fail_msg("case %zu fam %d: kept %zu+%zu", i, f,
				    n6, n4);
		}
	}
	free(h);
	free(v4);
	free(v6);
}

struct set_case {
	int		 qtype;
	const char	*addrs;		/* in the answer */
	int		 rcode;
	bool		 nxdomain, timeout, bogus, secure;
	size_t		 nbad;
	enum mx_lookup	 want;
	size_t		 n;
};

static const struct set_case set_cases[] = {
	{ DNS_T_A, "10.0.0.1,10.0.0.2", 0, false, false, false, false, 0,
	    MXL_OK, 2 },
	{ DNS_T_A, "10.0.0.1,2001:db8::1", 0, false, false, false, false, 0,
	    MXL_OK, 1 },
	{ DNS_T_AAAA, "10.0.0.1,2001:db8::1", 0, false, false, false, true, 0,
	    MXL_OK, 1 },
	{ DNS_T_AAAA, "10.0.0.1", 0, false, false, false, false, 0,
	    MXL_NOADDR, 0 },
	{ DNS_T_A, "", 0, false, false, false, true, 0, MXL_NOADDR, 0 },
	{ DNS_T_A, "", 3, true, false, false, false, 0, MXL_NOADDR, 0 },
	{ DNS_T_A, "", 3, false, false, false, false, 0, MXL_NOADDR, 0 },
	{ DNS_T_A, "", 2, false, false, false, false, 0, MXL_TEMP, 0 },
	{ DNS_T_A, "", 2, false, true, false, false, 0, MXL_TEMP, 0 },
	{ DNS_T_A, "10.0.0.1", 0, false, false, true, false, 0, MXL_TEMP, 0 },
	{ DNS_T_A, "", 0, false, false, false, false, 1, MXL_TEMP, 0 },
	{ DNS_T_A, "10.0.0.1", 0, false, false, false, false, 1, MXL_OK, 1 },
};

static void
test_addrset_from_result(void **state)
{
	struct mx_addrset	*s = malloc(sizeof(*s));
	struct sockaddr_storage	 addrs[DNS_MAX_RR];
	struct dns_result	 r;
	char			 buf[256], *a, *save, t[32];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
		const struct set_case	*c = &set_cases[i];

		memset(&r, 0, sizeof(r));
		r.qtype = c->qtype;
		r.rcode = c->rcode;
		r.nxdomain = c->nxdomain;
		r.timeout = c->timeout;
		r.bogus = c->bogus;
		r.secure = c->secure;
		r.nbad = c->nbad;
		snprintf(buf, sizeof(buf), "%s", c->addrs);
		save = NULL;
		for (a = strtok_r(buf, ",", &save); a != NULL;
		    a = strtok_r(NULL, ",", &save))
			add_addr(&addrs[r.naddr++], a);
		r.addr = addrs;
		mx_addrset_from_result(s, &r);
		if (s->status != c->want || s->n != c->n)
			fail_msg("case %zu: status %d n %zu", i, s->status,
			    s->n);
		assert_int_equal(s->secure, c->secure);
	}
	/* more addresses than a host keeps */
	memset(&r, 0, sizeof(r));
	r.qtype = DNS_T_A;
	for (i = 0; i < 40; i++) {
		snprintf(t, sizeof(t), "10.0.1.%zu", i);
		add_addr(&addrs[r.naddr++], t);
	}
	r.addr = addrs;
	mx_addrset_from_result(s, &r);
	assert_int_equal(s->status, MXL_OK);
	assert_int_equal(s->n, MX_MAX_ADDRS);
	assert_memory_equal(&s->addr[MX_MAX_ADDRS - 1],
	    &addrs[MX_MAX_ADDRS - 1], sizeof(addrs[0]));
	free(s);
}

static void
test_secure_flag(void **state)
{
	struct mx_host		h;
	struct mx_addrset	v4, v6;

	(void)state;
	mkset(&v4, MXL_OK, "10.0.0.1");
	mkset(&v6, MXL_NOADDR, "");
	v4.secure = v6.secure = true;
	mx_host_set_addrs(&h, &v4, &v6, FAM_BOTH_V6_FIRST);
	assert_true(h.secure);
	v6.secure = false;
	mx_host_set_addrs(&h, &v4, &v6, FAM_BOTH_V6_FIRST);
	assert_false(h.secure);
	mx_host_set_addrs(&h, &v4, NULL, FAM_V4_ONLY);
	assert_true(h.secure);
	mx_host_set_addrs(&h, &v4, &v6, FAM_V4_ONLY);
	assert_true(h.secure);
	v6.status = MXL_NONE;
	mx_host_set_addrs(&h, &v4, &v6, FAM_BOTH_V6_FIRST);
	assert_true(h.secure);
	mx_host_set_addrs(&h, NULL, NULL, FAM_BOTH_V6_FIRST);
	assert_false(h.secure);
}

/* --- stage 3: finish -------------------------------------------------------- */

/* plan_with - a plan built from spec, then addresses per host: "" = none,
 * "T" = none and a temporary failure, else an address list */
static int
plan_with(struct mx_plan *p, const char *spec, const char *const *addrs)
{
	struct dns_result	 r = mx_answer(spec);
	struct mx_addrset	 v4, v6;
	struct rng		 g = { 3 };
	size_t			 i;

	if (mx_plan_build(p, "example.test", &r, rng_next, &g) == -1)
		return -2;
	for (i = 0; i < p->nhosts; i++) {
		if (strcmp(addrs[i], "T") == 0) {
			mkset(&v4, MXL_TEMP, "");
			mkset(&v6, MXL_NOADDR, "");
		} else {
			mkset(&v4, *addrs[i] ? MXL_OK : MXL_NOADDR, addrs[i]);
			mkset(&v6, MXL_NOADDR, "");
		}
		mx_host_set_addrs(&p->hosts[i], &v4, &v6, FAM_BOTH_V6_FIRST);
	}
	return mx_plan_finish(p);
}

static void
test_finish(void **state)
{
	struct mx_plan		*p = malloc(sizeof(*p));
	const char *const	 a1[] = { "", "10.0.0.2" };
	const char *const	 a2[] = { "", "" };
	const char *const	 a3[] = { "T", "" };
	const char *const	 a4[] = { "T", "10.0.0.2" };
	const char *const	 a5[] = { "10.0.0.1", "", "10.0.0.3" };
	const char *const	 a6[] = { "" };

	(void)state;
	assert_int_equal(plan_with(p, "10 a.test,20 b.test", a1), 0);
	assert_string_equal(plan_str(p), "20 b.test");
	assert_int_equal(p->nskipped, 1);
	assert_string_equal(addrs_str(&p->hosts[0]), "10.0.0.2");

	assert_int_equal(plan_with(p, "10 a.test,20 b.test", a2), -1);
	assert_false(p->err.temp);
	assert_string_equal(p->status, "5.4.4");
	assert_int_equal(p->nhosts, 0);
	assert_int_equal(p->nskipped, 2);

	assert_int_equal(plan_with(p, "10 a.test,20 b.test", a3), -1);
	assert_true(p->err.temp);
	assert_string_equal(p->status, "4.4.3");

	/* a backup that resolved is used although the best one failed */
	assert_int_equal(plan_with(p, "10 a.test,20 b.test", a4), 0);
	assert_string_equal(plan_str(p), "20 b.test");

	assert_int_equal(plan_with(p, "10 a.test,20 b.test,30 c.test", a5), 0);
	assert_string_equal(plan_str(p), "10 a.test,30 c.test");
	assert_string_equal(addrs_str(&p->hosts[1]), "10.0.0.3");

	/* implicit MX without an address */
	assert_int_equal(plan_with(p, NULL, a6), -1);
	assert_false(p->err.temp);
	assert_string_equal(p->status, "5.4.4");
	assert_non_null(strstr(p->err.msg, "no MX"));

	/* a failed plan stays failed */
	assert_int_equal(plan_with(p, "0 .", a6), -2);
	assert_int_equal(mx_plan_finish(p), -1);
	assert_string_equal(p->status, "5.1.10");
	free(p);
}

static void
test_family_parse(void **state)
{
	enum ip_family_pref	f = FAM_V4_ONLY;

	(void)state;
	assert_int_equal(mx_family_parse("both", &f), 0);
	assert_int_equal(f, FAM_BOTH_V6_FIRST);
	assert_int_equal(mx_family_parse("ipv6-first", &f), 0);
	assert_int_equal(f, FAM_BOTH_V6_FIRST);
	assert_int_equal(mx_family_parse("ipv4-first", &f), 0);
	assert_int_equal(f, FAM_BOTH_V4_FIRST);
	assert_int_equal(mx_family_parse("ipv4", &f), 0);
	assert_int_equal(f, FAM_V4_ONLY);
	assert_int_equal(mx_family_parse("ipv6", &f), 0);
	assert_int_equal(f, FAM_V6_ONLY);
	assert_int_equal(mx_family_parse("IPV4", &f), -1);
	assert_int_equal(mx_family_parse("", &f), -1);
	assert_int_equal(mx_family_parse("ipv4 ", &f), -1);
	assert_int_equal(f, FAM_V6_ONLY);
}

/* --- address literals ---------------------------------------------------- */

struct literal_case {
	const char		*domain;
	enum ip_family_pref	 fam;
	int			 want;
	const char		*addr;		/* want 0: the one address */
	const char		*name;		/* want 0: host (and domain) */
	const char		*status;	/* want -1 */
	const char		*msg;		/* want -1: part of err.msg */
};

#define V6F	FAM_BOTH_V6_FIRST
#define V4F	FAM_BOTH_V4_FIRST
#define V4O	FAM_V4_ONLY
#define V6O	FAM_V6_ONLY
#define BAD4	"not a valid IPv4 address"
#define BAD6	"not a valid IPv6 address"
#define GENERAL	"general address literals are not supported"
#define MAXV6	"IPv6:2001:ffff:ffff:ffff:ffff:ffff:255.255.255.255"

static const struct literal_case literal_cases[] = {
	/* good ones: one host, one address, in every family setting */
	{ "[192.0.2.1]", V6F, 0, "192.0.2.1", "[192.0.2.1]", NULL, NULL },
	{ "[192.0.2.1]", V4F, 0, "192.0.2.1", "[192.0.2.1]", NULL, NULL },
	{ "[192.0.2.1]", V4O, 0, "192.0.2.1", "[192.0.2.1]", NULL, NULL },
	{ "[127.0.0.1]", V6F, 0, "127.0.0.1", "[127.0.0.1]", NULL, NULL },
	{ "[127.0.0.9]", V6F, 0, "127.0.0.9", "[127.0.0.9]", NULL, NULL },
	{ "[10.1.2.3]", V6F, 0, "10.1.2.3", "[10.1.2.3]", NULL, NULL },
	{ "[1.0.0.0]", V6F, 0, "1.0.0.0", "[1.0.0.0]", NULL, NULL },
	{ "[223.255.255.255]", V6F, 0, "223.255.255.255",
	    "[223.255.255.255]", NULL, NULL },
	{ "[255.255.255.254]", V6F, -1, NULL, NULL, "5.1.2", "reserved" },
	{ "[IPv6:fed0::1]", V6F, -1, NULL, NULL, "5.1.2", "site-local" },
	{ "[IPv6:ff00::1]", V6F, -1, NULL, NULL, "5.1.2", "multicast" },
	{ "[IPv6:feff::1]", V6F, -1, NULL, NULL, "5.1.2", "site-local" },
	{ "[IPv6:fc00::1]", V6F, 0, "fc00::1", "[IPv6:fc00::1]", NULL, NULL },
	{ "[IPv6:2001:db8::1]", V6F, 0, "2001:db8::1", "[IPv6:2001:db8::1]",
	    NULL, NULL },
	{ "[IPv6:2001:db8::1]", V6O, 0, "2001:db8::1", "[IPv6:2001:db8::1]",
	    NULL, NULL },
	{ "[IPv6:::1]", V4F, 0, "::1", "[IPv6:::1]", NULL, NULL },
	/* the tag in any case (ABNF strings are case-insensitive) */
	{ "[ipv6:::1]", V6F, 0, "::1", "[IPv6:::1]", NULL, NULL },
	{ "[IPV6:2001:DB8::A]", V6F, 0, "2001:db8::a", "[IPv6:2001:DB8::A]",
	    NULL, NULL },
	/* the longest IPv6 text there is */
	{ "[" MAXV6 "]", V6F, 0, "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    "[" MAXV6 "]", NULL, NULL },
	/* IPv4-mapped: the IPv4 address, with IPv4's rules and family */
	{ "[IPv6:::ffff:192.0.2.7]", V6F, 0, "192.0.2.7",
	    "[IPv6:::ffff:192.0.2.7]", NULL, NULL },
	{ "[IPv6:::ffff:192.0.2.7]", V4O, 0, "192.0.2.7",
	    "[IPv6:::ffff:192.0.2.7]", NULL, NULL },
	{ "[IPv6:::ffff:192.0.2.7]", V6O, -1, NULL, NULL, "5.4.4",
	    "an IPv4 destination, and outbound_ip_family is ipv6" },
	{ "[IPv6:::ffff:0:0]", V6F, -1, NULL, NULL, "5.1.2",
	    "[IPv6:::ffff:0:0]: the unspecified address is not a "
	    "destination" },
	{ "[IPv6:::ffff:224.0.0.1]", V6F, -1, NULL, NULL, "5.1.2",
	    "multicast" },
	/* the family outbound_ip_family excludes: permanent */
	{ "[192.0.2.1]", V6O, -1, NULL, NULL, "5.4.4",
	    "[192.0.2.1]: an IPv4 destination, and outbound_ip_family is "
	    "ipv6" },
	{ "[IPv6:2001:db8::1]", V4O, -1, NULL, NULL, "5.4.4",
	    "[IPv6:2001:db8::1]: an IPv6 destination, and "
	    "outbound_ip_family is ipv4" },
	{ "[ipv6:::1]", V4O, -1, NULL, NULL, "5.4.4",
	    "[IPv6:::1]: an IPv6 destination" },
	/* addresses that are no mail server */
	{ "[0.0.0.0]", V6F, -1, NULL, NULL, "5.1.2",
	    "[0.0.0.0]: the unspecified address is not a destination" },
	{ "[0.1.2.3]", V6F, -1, NULL, NULL, "5.1.2",
	    "0.0.0.0/8 (this network) is not a destination" },
	{ "[0.255.255.255]", V4O, -1, NULL, NULL, "5.1.2", "0.0.0.0/8" },
	{ "[224.0.0.1]", V6F, -1, NULL, NULL, "5.1.2",
	    "[224.0.0.1]: a multicast address is not a destination" },
	{ "[239.255.255.255]", V6F, -1, NULL, NULL, "5.1.2", "multicast" },
	{ "[255.255.255.255]", V6F, -1, NULL, NULL, "5.1.2",
	    "[255.255.255.255]: the broadcast address is not a destination" },
	{ "[IPv6:::]", V6F, -1, NULL, NULL, "5.1.2",
	    "[IPv6:::]: the unspecified address is not a destination" },
	{ "[IPv6:0:0:0:0:0:0:0:0]", V6F, -1, NULL, NULL, "5.1.2",
	    "unspecified" },
	{ "[IPv6:ff02::1]", V6F, -1, NULL, NULL, "5.1.2",
	    "[IPv6:ff02::1]: a multicast address is not a destination" },
	{ "[IPv6:fe80::1]", V6F, -1, NULL, NULL, "5.1.2", "link-local" },
	{ "[240.0.0.1]", V6F, -1, NULL, NULL, "5.1.2",
	    "[240.0.0.1]: 240.0.0.0/4 is reserved, not a destination" },
	{ "[254.255.255.255]", V6F, -1, NULL, NULL, "5.1.2", "reserved" },
	{ "[IPv6:fec0::1]", V6F, -1, NULL, NULL, "5.1.2", "site-local" },
	{ "[IPv6:::192.0.2.1]", V6F, -1, NULL, NULL, "5.1.2",
	    "IPv4-compatible" },
	/* refused before the family: the reason that is always true */
	{ "[0.0.0.0]", V6O, -1, NULL, NULL, "5.1.2", "unspecified" },
	{ "[IPv6:::]", V4O, -1, NULL, NULL, "5.1.2", "unspecified" },
	/* not addresses */
	{ "[1.2.3]", V6F, -1, NULL, NULL, "5.1.2",
	    "[1.2.3]: address literal is " BAD4 },
	{ "[300.1.1.1]", V6F, -1, NULL, NULL, "5.1.2", BAD4 },
	{ "[1.2.3.256]", V6F, -1, NULL, NULL, "5.1.2", BAD4 },
	{ "[1.2.3.4.5]", V6F, -1, NULL, NULL, "5.1.2", BAD4 },
	{ "[01.2.3.4]", V6F, -1, NULL, NULL, "5.1.2", BAD4 },
	{ "[1.2.3.4 ]", V6F, -1, NULL, NULL, "5.1.2", BAD4 },
	{ "[ 1.2.3.4]", V6F, -1, NULL, NULL, "5.1.2", BAD4 },
	{ "[1.2.3.4]]", V6F, -1, NULL, NULL, "5.1.2", BAD4 },
	{ "[[1.2.3.4]", V6F, -1, NULL, NULL, "5.1.2", BAD4 },
	{ "[0x7f.0.0.1]", V6F, -1, NULL, NULL, "5.1.2", BAD4 },
	{ "[2130706433]", V6F, -1, NULL, NULL, "5.1.2", BAD4 },
	{ "[example.test]", V6F, -1, NULL, NULL, "5.1.2", BAD4 },
	{ "[ ]", V6F, -1, NULL, NULL, "5.1.2", BAD4 },
	{ "[IPv6]", V6F, -1, NULL, NULL, "5.1.2", BAD4 },
	{ "[IPv6:1.2.3.4]", V6F, -1, NULL, NULL, "5.1.2",
	    "[IPv6:1.2.3.4]: address literal is " BAD6 },
	{ "[IPv6:]", V6F, -1, NULL, NULL, "5.1.2", BAD6 },
	{ "[IPv6:::1::2]", V6F, -1, NULL, NULL, "5.1.2", BAD6 },
	{ "[IPv6:1:2:3:4:5:6:7:8:9]", V6F, -1, NULL, NULL, "5.1.2", BAD6 },
	{ "[IPv6:fe80::1%lo]", V6F, -1, NULL, NULL, "5.1.2", BAD6 },
	{ "[IPv6:::1 ]", V6F, -1, NULL, NULL, "5.1.2", BAD6 },
	{ "[IPv6:g::1]", V6F, -1, NULL, NULL, "5.1.2", BAD6 },
	/* one character past the longest IPv6 text */
	{ "[IPv6:02001:ffff:ffff:ffff:ffff:ffff:255.255.255.255]", V6F, -1,
	    NULL, NULL, "5.1.2", BAD6 },
	{ "[IPv6:2001:ffff:ffff:ffff:ffff:ffff:255.255.255.2555]", V6F, -1,
	    NULL, NULL, "5.1.2", BAD6 },
	{ "[::1]", V6F, -1, NULL, NULL, "5.1.2",
	    "[::1]: an IPv6 address literal needs the \"IPv6:\" tag" },
	{ "[:1.2.3.4]", V6F, -1, NULL, NULL, "5.1.2", "\"IPv6:\" tag" },
	/* general literals (RFC 5321 4.1.3 General-address-literal) */
	{ "[tag:content]", V6F, -1, NULL, NULL, "5.1.2",
	    "[tag:content]: " GENERAL },
	{ "[x-foo:1.2.3.4]", V6F, -1, NULL, NULL, "5.1.2", GENERAL },
	{ "[IPv6x:::1]", V6F, -1, NULL, NULL, "5.1.2", GENERAL },
	{ "[IPv:::1]", V6F, -1, NULL, NULL, "5.1.2", GENERAL },
	{ "[IPv4:1.2.3.4]", V6F, -1, NULL, NULL, "5.1.2", GENERAL },
	/* not literals at all */
	{ "[]", V6F, -1, NULL, NULL, "5.1.2", "not an address literal" },
	{ "[", V6F, -1, NULL, NULL, "5.1.2", "not an address literal" },
	{ "", V6F, -1, NULL, NULL, "5.1.2", "not an address literal" },
	{ "[1.2.3.4", V6F, -1, NULL, NULL, "5.1.2", "not an address literal" },
	{ "1.2.3.4]", V6F, -1, NULL, NULL, "5.1.2", "not an address literal" },
	{ "example.test", V6F, -1, NULL, NULL, "5.1.2",
	    "not an address literal" },
};

static void
test_literal_table(void **state)
{
	struct mx_plan	*p = malloc(sizeof(*p));
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(literal_cases) / sizeof(literal_cases[0]);
	    i++) {
		const struct literal_case	*c = &literal_cases[i];
		int				 rc;

		memset(p, 0xa5, sizeof(*p));
		rc = mx_plan_literal(p, c->domain, c->fam);
		if (rc != c->want)
			fail_msg("%s (fam %d): got %d, want %d (%s)", c->domain,
			    c->fam, rc, c->want, rc == -1 ? p->err.msg : "");
		assert_true(p->literal);
		assert_false(p->implicit);
		assert_false(p->mx_secure);
		if (rc == 0) {
			assert_true(p->ok);
			assert_int_equal(p->nhosts, 1);
			assert_int_equal(p->hosts[0].naddrs, 1);
			assert_int_equal(p->hosts[0].pref, 0);
			assert_false(p->hosts[0].secure);
			assert_string_equal(addrs_str(&p->hosts[0]), c->addr);
			assert_string_equal(p->hosts[0].name, c->name);
			assert_string_equal(p->domain, c->name);
			/* port 0: the caller's outbound port applies */
			if (p->hosts[0].addrs[0].ss_family == AF_INET)
				assert_int_equal(((struct sockaddr_in *)
				    &p->hosts[0].addrs[0])->sin_port, 0);
			else
				assert_int_equal(((struct sockaddr_in6 *)
				    &p->hosts[0].addrs[0])->sin6_port, 0);
			/* nothing to drop: finish keeps the one host */
			assert_int_equal(mx_plan_finish(p), 0);
			assert_int_equal(p->nhosts, 1);
			continue;
		}
		assert_false(p->ok);
		assert_int_equal(p->nhosts, 0);
		/* never temporary: no retry could change the answer */
		assert_false(p->err.temp);
		assert_string_equal(p->status, c->status);
		if (strstr(p->err.msg, c->msg) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", c->domain,
			    p->err.msg, c->msg);
	}
	free(p);
}

static void
test_literal_bounds(void **state)
{
	struct mx_plan	*p = malloc(sizeof(*p));
	char		 lit[DNS_NAME_SIZE + 8];

	(void)state;
	/* the longest string the plan holds: still only judged on syntax */
	memset(lit, '1', sizeof(lit));
	lit[0] = '[';
	lit[DNS_NAME_SIZE - 2] = ']';
	lit[DNS_NAME_SIZE - 1] = '\0';
	assert_int_equal(mx_plan_literal(p, lit, FAM_BOTH_V6_FIRST), -1);
	assert_string_equal(p->status, "5.1.2");
	if (strstr(p->err.msg, "not a valid IPv4 address") == NULL)
		fail_msg("%s", p->err.msg);
	/* one more does not fit */
	lit[DNS_NAME_SIZE - 2] = '1';
	lit[DNS_NAME_SIZE - 1] = ']';
	lit[DNS_NAME_SIZE] = '\0';
	assert_int_equal(mx_plan_literal(p, lit, FAM_BOTH_V6_FIRST), -1);
	assert_string_equal(p->status, "5.1.2");
	if (strstr(p->err.msg, "...: address literal too long") == NULL ||
	    strncmp(p->err.msg, "[1111", 5) != 0)
		fail_msg("%s", p->err.msg);
	assert_false(p->err.temp);
	free(p);
}

/*
 * the queue and deliver lower-case domains (addr_lower, lower_domain):
 * an IPv6 literal keeps (or gets back) its "IPv6:" tag either way, and the
 * plan names it so
 */
static void
test_literal_lower(void **state)
{
	static const struct {
		const char	*in, *lowered;
	} cases[] = {
		{ "[IPV6:2001:DB8::1]", "[IPv6:2001:db8::1]" },
		{ "[ipv6:::1]", "[IPv6:::1]" },
		{ "[IPv6:::1]", "[IPv6:::1]" },
		{ "[IPv6X:::1]", "[ipv6x:::1]" },	/* a general literal */
		{ "X[IPV6:::1]", "x[ipv6:::1]" },
		{ "[IPV6", "[ipv6" },
		{ "[", "[" },
		{ "", "" },
		{ "[127.0.0.1]", "[127.0.0.1]" },
		{ "MX.Example.TEST", "mx.example.test" },
	};
	struct mx_plan	*p = malloc(sizeof(*p));
	char		 s[64];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(s, sizeof(s), "%s", cases[i].in);
		addr_lower(s);
		assert_string_equal(s, cases[i].lowered);
	}
	assert_int_equal(mx_plan_literal(p, "[ipv6:2001:db8::1]",
	    FAM_BOTH_V6_FIRST), 0);
	assert_string_equal(p->hosts[0].name, "[IPv6:2001:db8::1]");
	free(p);
}

struct lit_wait {
	int		 calls;
	bool		 ok, literal;
	char		 name[DNS_NAME_SIZE];
	char		 status[8];
	char		 addr[INET6_ADDRSTRLEN];
};

static void
lit_cb(void *arg, const struct mx_plan *p)
{
	struct lit_wait	*w = arg;

	w->calls++;
	w->ok = p->ok;
	w->literal = p->literal;
	snprintf(w->status, sizeof(w->status), "%s", p->status);
	if (p->ok) {
		snprintf(w->name, sizeof(w->name), "%s", p->hosts[0].name);
		snprintf(w->addr, sizeof(w->addr), "%s",
		    addrs_str(&p->hosts[0]));
	}
}

/*
 * mx_resolve on a literal: no query goes out (the resolver is a port
 * nothing answers on, and dns_pending stays 0), the callback runs once,
 * from the loop, after mx_resolve returned
 */
static void
test_literal_resolve(void **state)
{
	static const struct {
		const char		*domain;
		enum ip_family_pref	 fam;
		bool			 ok;
		const char		*name, *addr, *status;
	} cases[] = {
		{ "[127.0.0.1]", FAM_BOTH_V6_FIRST, true, "[127.0.0.1]",
		    "127.0.0.1", "" },
		{ "[ipv6:::1]", FAM_BOTH_V6_FIRST, true, "[IPv6:::1]", "::1",
		    "" },
		{ "[ipv6:::1]", FAM_V4_ONLY, false, NULL, NULL, "5.4.4" },
		{ "[0.0.0.0]", FAM_BOTH_V6_FIRST, false, NULL, NULL, "5.1.2" },
		{ "[tag:content]", FAM_BOTH_V6_FIRST, false, NULL, NULL,
		    "5.1.2" },
	};
	struct event_base	*base;
	struct dns		*dns;
	struct mx_req		*req;
	struct lit_wait		 w;
	struct err		 e;
	size_t			 i;

	(void)state;
	assert_non_null(base = event_base_new());
	assert_non_null(dns = dns_new(base, "127.0.0.1:9", NULL, &e));
	dns_set_timeout(dns, 200);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&w, 0, sizeof(w));
		assert_non_null(req = mx_resolve(dns, cases[i].domain,
		    cases[i].fam, lit_cb, &w));
		assert_int_equal(w.calls, 0);
		assert_int_equal(dns_pending(dns), 0);
		assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
		assert_int_equal(w.calls, 1);
		assert_true(w.literal);
		assert_int_equal(w.ok, cases[i].ok);
		assert_string_equal(w.status, cases[i].status);
		if (cases[i].ok) {
			assert_string_equal(w.name, cases[i].name);
			assert_string_equal(w.addr, cases[i].addr);
		}
		assert_int_equal(dns_pending(dns), 0);
	}
	/* cancelled before the loop runs: the callback never comes */
	memset(&w, 0, sizeof(w));
	req = mx_resolve(dns, "[127.0.0.1]", FAM_BOTH_V6_FIRST, lit_cb, &w);
	mx_cancel(req);
	(void)event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(w.calls, 0);
	dns_free(dns);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_table),
		cmocka_unit_test(test_bad_domain),
		cmocka_unit_test(test_long_reason),
		cmocka_unit_test(test_equal_permutations),
		cmocka_unit_test(test_default_random),
		cmocka_unit_test(test_host_bounds),
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_address_bounds),
		cmocka_unit_test(test_addrset_from_result),
		cmocka_unit_test(test_secure_flag),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_family_parse),
		cmocka_unit_test(test_literal_table),
		cmocka_unit_test(test_literal_bounds),
		cmocka_unit_test(test_literal_lower),
		cmocka_unit_test(test_literal_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
