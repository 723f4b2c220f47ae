/*
 * fuzz_dns.c - the DNS rdata parsers and the MX plan on arbitrary bytes.
 *
 * The first byte picks the target; every result is checked against what
 * the function promises (a parsed name encodes back to the bytes it was
 * read from, a plan is ordered and bounded, an address literal's plan is
 * one address that plans again to itself).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "deliver/dns.h"
#include "deliver/mx.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* the input read as a stream of bytes; zeros once it runs out */
struct src {
	const uint8_t	*p;
	size_t		 n;
	size_t		 off;
};

static uint8_t
take(struct src *s)
{
	return s->off < s->n ? s->p[s->off++] : 0;
}

static uint32_t
src_rand(void *arg, uint32_t upper)
{
	struct src	*s = arg;

	return take(s) % upper;
}

/* encode - text name back to wire form; returns its length */
static size_t
encode(const char *text, uint8_t *w)
{
	size_t	o = 0, l;

	if (strcmp(text, ".") == 0) {
		w[0] = 0;
		return 1;
	}
	for (;;) {
		l = strcspn(text, ".");
		w[o++] = (uint8_t)l;
		memcpy(w + o, text, l);
		o += l;
		if (text[l] == '\0')
			break;
		text += l + 1;
	}
	w[o++] = 0;
	return o;
}

static void
check_name(const uint8_t *d, size_t n, size_t outsz)
{
	char	out[DNS_NAME_SIZE + 8];
	uint8_t	w[DNS_NAME_SIZE + 8];
	size_t	used = (size_t)-1, i;

	if (dns_name_from_wire(d, n, &used, out, outsz) == -1) {
		if (used != (size_t)-1)
			abort();
		return;
	}
	if (used > n || used > 255 || strlen(out) + 1 > outsz ||
	    strlen(out) > 253)
		abort();
	for (i = 0; out[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-_.", out[i]) == NULL)
			abort();
	if (encode(out, w) != used || memcmp(w, d, used) != 0)
		abort();
}

static void
check_rdata(uint8_t sel, const uint8_t *d, size_t n)
{
	struct dns_mx		 mx;
	struct sockaddr_storage	 ss;
	char			 txt[512], name[DNS_NAME_SIZE];
	uint8_t			 w[DNS_NAME_SIZE + 8];
	size_t			 tlen, i, o;

	if (dns_parse_mx_rdata(d, n, &mx) == 0) {
		if (n < 3 || mx.pref != ((unsigned)d[0] << 8 | d[1]) ||
		    encode(mx.host, w) != n - 2 || memcmp(w, d + 2, n - 2) != 0)
			abort();
	}
	if (dns_parse_name_rdata(d, n, name, sizeof(name)) == 0 &&
	    (encode(name, w) != n || memcmp(w, d, n) != 0))
		abort();
	if ((dns_parse_addr_rdata(DNS_T_A, d, n, &ss) == 0) != (n == 4) ||
	    (dns_parse_addr_rdata(DNS_T_AAAA, d, n, &ss) == 0) != (n == 16))
		abort();
	if (n <= sizeof(txt) && dns_parse_txt_rdata(d, n, txt,
	    (size_t)sel % sizeof(txt) + 1, &tlen) == 0) {
		if (n == 0 || tlen >= n || txt[tlen] != '\0')
			abort();
		for (i = 0, o = 0; i < n; i += 1 + d[i]) {
			if (memcmp(txt + o, d + i + 1, d[i]) != 0)
				abort();
			o += d[i];
		}
		if (o != tlen || i != n)
			abort();
	}
}

static void
check_forward(const uint8_t *d, size_t n)
{
	char	in[80], out[80];

	if (n >= sizeof(in))
		n = sizeof(in) - 1;
	memcpy(in, d, n);
	in[n] = '\0';
	if (dns_parse_forward(in, out, sizeof(out), NULL) == 0 &&
	    strchr(out, '@') == NULL)
		abort();
}

static const char *const hosts[] = {
	"a.test", "b.test", "A.TEST", "c.test", ".", "d.test", "e.test",
	"mx.example.test",
};

static void
check_plan(struct src *s)
{
	static struct dns_mx	 mxs[DNS_MAX_RR];
	static struct mx_plan	 plan;
	struct mx_addrset	 v4, v6;
	struct dns_result	 r;
	uint8_t			 flags = take(s), b;
	size_t			 i, j, n = take(s);
	enum ip_family_pref	 fam = (enum ip_family_pref)(take(s) % 4);
	int			 rc;

	memset(&r, 0, sizeof(r));
	r.qtype = DNS_T_MX;
	r.rcode = (flags & 1) ? flags >> 5 : 0;
	r.nxdomain = (flags & 2) != 0;
	r.timeout = (flags & 4) != 0 && (flags & 1);
	r.bogus = (flags & 8) != 0 && (flags & 1);
	r.nbad = (flags & 16) != 0;
	for (i = 0; i < n; i++) {
		b = take(s);
		mxs[i].pref = b & 0x3;
		if (b & 0x80)
			snprintf(mxs[i].host, sizeof(mxs[i].host), "h%u.test",
			    (unsigned)take(s));
		else
			snprintf(mxs[i].host, sizeof(mxs[i].host), "%s",
			    hosts[(b >> 2) % 8]);
	}
	r.nmx = r.nraw = n;
	r.mx = mxs;
	rc = mx_plan_build(&plan, "example.test", &r, src_rand, s);
	if (rc == -1) {
		if (plan.ok || plan.nhosts != 0 || plan.status[0] == '\0')
			abort();
		return;
	}
	if (!plan.ok || plan.nhosts == 0 || plan.nhosts > MX_MAX_HOSTS)
		abort();
	for (i = 0; i < plan.nhosts; i++) {
		if (strcmp(plan.hosts[i].name, ".") == 0 ||
		    (i > 0 && plan.hosts[i].pref < plan.hosts[i - 1].pref))
			abort();
		for (j = 0; j < i; j++)
			if (strcasecmp(plan.hosts[i].name,
			    plan.hosts[j].name) == 0)
				abort();
	}
	for (i = 0; i < plan.nhosts; i++) {
		memset(&v4, 0, sizeof(v4));
		memset(&v6, 0, sizeof(v6));
		b = take(s);
		v4.status = (enum mx_lookup)(b % 4);
		v6.status = (enum mx_lookup)((b >> 2) % 4);
		v4.n = take(s) % (MX_MAX_ADDRS + 1);
		v6.n = take(s) % (MX_MAX_ADDRS + 1);
		for (j = 0; j < v4.n; j++)
			v4.addr[j].ss_family = AF_INET;
		for (j = 0; j < v6.n; j++)
			v6.addr[j].ss_family = AF_INET6;
		mx_host_set_addrs(&plan.hosts[i], (b & 0x40) ? NULL : &v4,
		    (b & 0x80) ? NULL : &v6, fam);
		if (plan.hosts[i].naddrs > MX_MAX_ADDRS)
			abort();
		for (j = 0; j < plan.hosts[i].naddrs; j++)
			if ((fam == FAM_V4_ONLY &&
			    plan.hosts[i].addrs[j].ss_family != AF_INET) ||
			    (fam == FAM_V6_ONLY &&
			    plan.hosts[i].addrs[j].ss_family != AF_INET6))
				abort();
	}
	rc = mx_plan_finish(&plan);
	if (rc == 0) {
		if (!plan.ok || plan.nhosts == 0)
			abort();
		for (i = 0; i < plan.nhosts; i++)
			if (plan.hosts[i].naddrs == 0)
				abort();
	} else if (plan.ok || plan.nhosts != 0 || plan.status[0] == '\0')
		abort();
}

/* check_literal - mx_plan_literal on "[" bytes "]" and on bytes alone */
static void
check_literal(uint8_t fam, const uint8_t *p, size_t n)
{
	static const enum ip_family_pref fams[] = { FAM_BOTH_V6_FIRST,
	    FAM_V4_ONLY, FAM_V6_ONLY, FAM_BOTH_V4_FIRST };
	enum ip_family_pref	 f = fams[fam % 4];
	struct mx_plan		 plan, again;
	char			 dom[DNS_NAME_SIZE + 8], a[INET6_ADDRSTRLEN];
	char			 lit[INET6_ADDRSTRLEN + 8];
	const struct sockaddr_storage *ss;
	int			 rc;

	if (n > DNS_NAME_SIZE)
		n = DNS_NAME_SIZE;
	dom[0] = '[';
	memcpy(dom + 1, p, n);
	dom[n + 1] = ']';
	dom[n + 2] = '\0';
	rc = mx_plan_literal(&plan, (fam & 0x80) ? dom + 1 : dom, f);
	if (rc == -1) {
		if (plan.ok || plan.status[0] != '5')
			abort();
		return;
	}
	if (rc != 0 || !plan.ok || !plan.literal || plan.nhosts != 1 ||
	    plan.hosts[0].naddrs != 1 || plan.domain[0] != '[' ||
	    plan.domain[strlen(plan.domain) - 1] != ']')
		abort();
	ss = &plan.hosts[0].addrs[0];
	if ((f == FAM_V4_ONLY && ss->ss_family != AF_INET) ||
	    (f == FAM_V6_ONLY && ss->ss_family != AF_INET6))
		abort();
	/* the address, written as a literal again, is the same plan */
	if (ss->ss_family == AF_INET) {
		(void)inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
		(void)snprintf(lit, sizeof(lit), "[%s]", a);
	} else {
		(void)inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)ss)->sin6_addr, a,
		    sizeof(a));
		(void)snprintf(lit, sizeof(lit), "[IPv6:%s]", a);
	}
	if (mx_plan_literal(&again, lit, f) != 0 ||
	    memcmp(&again.hosts[0].addrs[0], ss, sizeof(*ss)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src	s;

	if (size < 2)
		return 0;
	switch (data[0] % 5) {
	case 0:
		check_name(data + 2, size - 2, (size_t)data[1] + 1);
		check_name(data + 2, size - 2, DNS_NAME_SIZE);
		break;
	case 1:
		check_rdata(data[1], data + 2, size - 2);
		break;
	case 2:
		check_forward(data + 1, size - 1);
		break;
	case 3:
		check_literal(data[1], data + 2, size - 2);
		break;
	default:
		s.p = data + 1;
		s.n = size - 1;
		s.off = 0;
		check_plan(&s);
		break;
	}
	return 0;
}
