/*
 * test_dns.c - dns.c's pure parts: wire-format names and rdata (MX, PTR,
 * A/AAAA, TXT) at the edges of every bound, the dns_resolver address
 * forms, reverse-lookup names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "deliver/dns.h"

#define W(x)	(const uint8_t *)(x), sizeof(x) - 1

struct name_case {
	const uint8_t	*wire;
	size_t		 len;
	const char	*want;		/* NULL: must fail */
	size_t		 used;
};

static const struct name_case name_cases[] = {
	{ W("\0"), ".", 1 },
	{ W("\4test\0"), "test", 6 },
	{ W("\3www\7example\3com\0"), "www.example.com", 17 },
	{ W("\3www\7example\3com\0trailing"), "www.example.com", 17 },
	{ W("\4Mail\4TEST\0"), "Mail.TEST", 11 },
	{ W("\6_dmarc\3a-b\0"), "_dmarc.a-b", 12 },
	{ W("\0012\0011\0"), "2.1", 5 },
	/* truncated: no root label, label past the end */
	{ W(""), NULL, 0 },
	{ W("\4test"), NULL, 0 },
	{ W("\5test\0"), NULL, 0 },	/* reads "test\0" as the label: no root */
	{ W("\3www\7example"), NULL, 0 },
	/* compression pointers and obsolete label types */
	{ W("\xc0\x0c"), NULL, 0 },
	{ W("\4mail\xc0\x0c"), NULL, 0 },
	{ W("\x40\0"), NULL, 0 },
	{ W("\x80\0"), NULL, 0 },
	/* bytes a host name cannot hold */
	{ W("\3a b\0"), NULL, 0 },
	{ W("\3a.b\0"), NULL, 0 },
	{ W("\3a*b\0"), NULL, 0 },
	{ W("\3a\0b\0"), NULL, 0 },
	{ W("\3a\\b\0"), NULL, 0 },
	{ W("\3a\xc3\xa9\0"), NULL, 0 },
	{ W("\3a\nb\0"), NULL, 0 },
};

static void
test_name_table(void **state)
{
	char	 out[DNS_NAME_SIZE];
	size_t	 i, used;
	int	 r;

	(void)state;
	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct name_case	*c = &name_cases[i];

		used = 999;
		r = dns_name_from_wire(c->wire, c->len, &used, out, sizeof(out));
		if (c->want == NULL) {
			if (r != -1)
				fail_msg("case %zu: accepted as %s", i, out);
			if (used != 999)
				fail_msg("case %zu: used written on failure", i);
			continue;
		}
		if (r != 0)
			fail_msg("case %zu: refused", i);
		assert_string_equal(out, c->want);
		assert_int_equal(used, c->used);
	}
}

/* wire_of - labels of the given lengths ('a'...), then the root */
static size_t
wire_of(uint8_t *w, const size_t *labels, size_t n)
{
	size_t	i, o = 0;

	for (i = 0; i < n; i++) {
		w[o++] = (uint8_t)labels[i];
		memset(w + o, 'a' + (int)(i % 26), labels[i]);
		o += labels[i];
	}
	w[o++] = 0;
	return o;
}

static void
test_name_bounds(void **state)
{
	uint8_t		 w[600];
	char		 out[DNS_NAME_SIZE], small[8];
	size_t		 len, used;
	const size_t	 l63[] = { 63 }, l64[] = { 64 };
	const size_t	 max[] = { 63, 63, 63, 61 };	/* 255 octets */
	const size_t	 over[] = { 63, 63, 63, 62 };	/* 256 octets */
	size_t		 many[128];
	size_t		 i;

	(void)state;
	len = wire_of(w, l63, 1);
	assert_int_equal(dns_name_from_wire(w, len, &used, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 63);
	len = wire_of(w, l64, 1);
	assert_int_equal(dns_name_from_wire(w, len, &used, out, sizeof(out)), -1);

	len = wire_of(w, max, 4);
	assert_int_equal(len, 255);
	assert_int_equal(dns_name_from_wire(w, len, &used, out, sizeof(out)), 0);
	assert_int_equal(used, 255);
	assert_int_equal(strlen(out), 253);
	/* the longest text fits DNS_NAME_SIZE, one byte less does not */
	assert_int_equal(dns_name_from_wire(w, len, &used, out, 254), 0);
	assert_int_equal(dns_name_from_wire(w, len, &used, out, 253), -1);
	len = wire_of(w, over, 4);
	assert_int_equal(len, 256);
	assert_int_equal(dns_name_from_wire(w, len, &used, out, sizeof(out)), -1);

	/* 127 one-octet labels: 255 octets; 128: too long */
	for (i = 0; i < 128; i++)
		many[i] = 1;
	len = wire_of(w, many, 127);
	assert_int_equal(len, 255);
	assert_int_equal(dns_name_from_wire(w, len, &used, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 253);
	len = wire_of(w, many, 128);
	assert_int_equal(dns_name_from_wire(w, len, &used, out, sizeof(out)), -1);

	/* output too small: refused, output untouched */
	memset(small, 'x', sizeof(small));
	assert_int_equal(dns_name_from_wire(W("\3www\7example\0"), &used,
	    small, sizeof(small)), -1);
	assert_int_equal(small[0], 'x');
	assert_int_equal(dns_name_from_wire(W("\6abcdef\0"), &used, small,
	    sizeof(small)), 0);
	assert_string_equal(small, "abcdef");
	assert_int_equal(dns_name_from_wire(W("\7abcdefg\0"), &used, small,
	    sizeof(small)), 0);
	assert_int_equal(dns_name_from_wire(W("\10abcdefgh\0"), &used, small,
	    sizeof(small)), -1);
	assert_int_equal(dns_name_from_wire(W("\0"), &used, small, 1), -1);
	assert_int_equal(dns_name_from_wire(W("\0"), &used, small, 2), 0);
}

struct mx_case {
	const uint8_t	*rd;
	size_t		 len;
	int		 ok;
	unsigned	 pref;
	const char	*host;
};

static const struct mx_case mx_cases[] = {
	{ W("\0\12\4mail\4test\0"), 1, 10, "mail.test" },
	{ W("\0\0\0"), 1, 0, "." },			/* RFC 7505 null MX */
	{ W("\xff\xff\1m\0"), 1, 65535, "m" },
	{ W("\1\0\1m\0"), 1, 256, "m" },
	{ W("\0\12\4mail\4test\0x"), 0, 0, NULL },	/* trailing byte */
	{ W("\0\12\4mail\4test"), 0, 0, NULL },	/* no root */
	{ W("\0\12"), 0, 0, NULL },
	{ W("\0"), 0, 0, NULL },
	{ W(""), 0, 0, NULL },
	{ W("\0\12\xc0\x0c"), 0, 0, NULL },		/* compressed */
	{ W("\0\12\3a b\0"), 0, 0, NULL },
};

static void
test_mx_rdata(void **state)
{
	struct dns_mx	mx;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(mx_cases) / sizeof(mx_cases[0]); i++) {
		const struct mx_case	*c = &mx_cases[i];
		int			 r;

		memset(&mx, 0, sizeof(mx));
		r = dns_parse_mx_rdata(c->rd, c->len, &mx);
		if (!c->ok) {
			if (r != -1)
				fail_msg("case %zu accepted", i);
			assert_int_equal(mx.host[0], '\0');
			continue;
		}
		if (r != 0)
			fail_msg("case %zu refused", i);
		assert_int_equal(mx.pref, c->pref);
		assert_string_equal(mx.host, c->host);
	}
}

static void
test_name_rdata(void **state)
{
	char	out[DNS_NAME_SIZE], small[5];

	(void)state;
	assert_int_equal(dns_parse_name_rdata(W("\4host\4test\0"), out,
	    sizeof(out)), 0);
	assert_string_equal(out, "host.test");
	assert_int_equal(dns_parse_name_rdata(W("\4host\4test\0\0"), out,
	    sizeof(out)), -1);
	assert_int_equal(dns_parse_name_rdata(W(""), out, sizeof(out)), -1);
	assert_int_equal(dns_parse_name_rdata(W("\4host\0"), small,
	    sizeof(small)), 0);
	assert_int_equal(dns_parse_name_rdata(W("\5hosts\0"), small,
	    sizeof(small)), -1);
}

static void
test_addr_rdata(void **state)
{
	struct sockaddr_storage	 ss;
	char			 text[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

	(void)state;
	assert_int_equal(dns_parse_addr_rdata(DNS_T_A, W("\x7f\0\0\1"), &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(sin->sin_port, 0);
	inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
	assert_string_equal(text, "127.0.0.1");
	assert_int_equal(dns_parse_addr_rdata(DNS_T_AAAA,
	    W("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1"), &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
	assert_string_equal(text, "2001:db8::1");

	assert_int_equal(dns_parse_addr_rdata(DNS_T_A, W("\1\2\3"), &ss), -1);
	assert_int_equal(dns_parse_addr_rdata(DNS_T_A, W("\1\2\3\4\5"), &ss), -1);
	assert_int_equal(dns_parse_addr_rdata(DNS_T_A, W(""), &ss), -1);
	assert_int_equal(dns_parse_addr_rdata(DNS_T_AAAA, W("\1\2\3\4"), &ss),
	    -1);
	assert_int_equal(dns_parse_addr_rdata(DNS_T_A,
	    W("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1"), &ss), -1);
	assert_int_equal(dns_parse_addr_rdata(DNS_T_MX, W("\1\2\3\4"), &ss), -1);
}

struct txt_case {
	const uint8_t	*rd;
	size_t		 len;
	int		 ok;
	const char	*want;
	size_t		 wantlen;
};

static const struct txt_case txt_cases[] = {
	{ W("\3abc"), 1, "abc", 3 },
	{ W("\3abc\2de"), 1, "abcde", 5 },
	{ W("\0"), 1, "", 0 },
	{ W("\0\0\1x"), 1, "x", 1 },
	{ W("\3a\0c"), 1, "a\0c", 3 },			/* NUL kept, by length */
	{ W("\11v=spf1 -a"), 1, "v=spf1 -a", 9 },
	{ W(""), 0, NULL, 0 },				/* RFC 1035: one or more */
	{ W("\4abc"), 0, NULL, 0 },			/* overruns */
	{ W("\3abc\1"), 0, NULL, 0 },
	{ W("\3abc\2d"), 0, NULL, 0 },
};

static void
test_txt_rdata(void **state)
{
	char	out[64], small[4];
	size_t	i, n;
	uint8_t	big[1 + 255 + 1 + 255];

	(void)state;
	for (i = 0; i < sizeof(txt_cases) / sizeof(txt_cases[0]); i++) {
		const struct txt_case	*c = &txt_cases[i];
		int			 r;

		n = 999;
		r = dns_parse_txt_rdata(c->rd, c->len, out, sizeof(out), &n);
		if (!c->ok) {
			if (r != -1)
				fail_msg("case %zu accepted", i);
			assert_int_equal(n, 999);
			continue;
		}
		if (r != 0)
			fail_msg("case %zu refused", i);
		assert_int_equal(n, c->wantlen);
		assert_memory_equal(out, c->want, n);
		assert_int_equal(out[n], '\0');
	}
	/* the output bound: text and NUL must fit */
	assert_int_equal(dns_parse_txt_rdata(W("\3abc"), small, sizeof(small),
	    &n), 0);
	assert_int_equal(dns_parse_txt_rdata(W("\2ab\2cd"), small,
	    sizeof(small), &n), -1);
	/* two full strings: 510 bytes of text from 512 of rdata */
	big[0] = 255;
	memset(big + 1, 'x', 255);
	big[256] = 255;
	memset(big + 257, 'y', 255);
	{
		char	text[511];

		assert_int_equal(dns_parse_txt_rdata(big, sizeof(big), text,
		    sizeof(text), &n), 0);
		assert_int_equal(n, 510);
		assert_int_equal(text[254], 'x');
		assert_int_equal(text[255], 'y');
		assert_int_equal(dns_parse_txt_rdata(big, sizeof(big), text,
		    510, &n), -1);
	}
}

struct fwd_case {
	const char	*in;
	const char	*want;		/* NULL: refused */
};

static const struct fwd_case fwd_cases[] = {
	{ "127.0.0.1", "127.0.0.1@53" },
	{ "127.0.0.1:5353", "127.0.0.1@5353" },
	{ "127.0.0.1:1", "127.0.0.1@1" },
	{ "127.0.0.1:65535", "127.0.0.1@65535" },
	{ "::1", "::1@53" },
	{ "[::1]", "::1@53" },
	{ "[::1]:5353", "::1@5353" },
	{ "2001:db8::53", "2001:db8::53@53" },
	{ "[2001:db8::53]:53", "2001:db8::53@53" },
	{ "127.0.0.1:0", NULL },
	{ "127.0.0.1:65536", NULL },
	{ "127.0.0.1:", NULL },
	{ "127.0.0.1:53x", NULL },
	{ "127.0.0.1:-1", NULL },
	{ ":53", NULL },
	{ "", NULL },
	{ "localhost:53", NULL },
	{ "localhost", NULL },
	{ "[127.0.0.1]:53", NULL },
	{ "[::1", NULL },
	{ "[::1]x", NULL },
	{ "[::1]:", NULL },
	{ "[]:53", NULL },
	{ "1.2.3.4.5", NULL },
	{ "[0000:0000:0000:0000:0000:0000:0000:0000:0000]:53", NULL },
};

static void
test_forward(void **state)
{
	char		out[64];
	struct err	e;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(fwd_cases) / sizeof(fwd_cases[0]); i++) {
		const struct fwd_case	*c = &fwd_cases[i];
		int			 r;

		memset(&e, 0, sizeof(e));
		r = dns_parse_forward(c->in, out, sizeof(out), &e);
		if (c->want == NULL) {
			if (r != -1)
				fail_msg("%s accepted as %s", c->in, out);
			assert_false(e.temp);
			assert_true(e.msg[0] != '\0');
			continue;
		}
		if (r != 0)
			fail_msg("%s refused: %s", c->in, e.msg);
		assert_string_equal(out, c->want);
	}
	assert_int_equal(dns_parse_forward("127.0.0.1:53", out, 12, NULL), -1);
	assert_int_equal(dns_parse_forward("127.0.0.1:53", out, 13, NULL), 0);
}

static void
test_ptr_name(void **state)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	char			 out[DNS_NAME_SIZE];

	(void)state;
	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.10", &sin->sin_addr);
	assert_int_equal(dns_ptr_name(&ss, out, sizeof(out)), 0);
	assert_string_equal(out, "10.2.0.192.in-addr.arpa");
	assert_int_equal(dns_ptr_name(&ss, out, 23), -1);
	assert_int_equal(dns_ptr_name(&ss, out, 24), 0);

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::567:89ab", &sin6->sin6_addr);
	assert_int_equal(dns_ptr_name(&ss, out, sizeof(out)), 0);
	assert_string_equal(out, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_int_equal(dns_ptr_name(&ss, out, 72), -1);
	assert_int_equal(dns_ptr_name(&ss, out, 73), 0);

	ss.ss_family = AF_UNIX;
	assert_int_equal(dns_ptr_name(&ss, out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_table),
		cmocka_unit_test(test_name_bounds),
		cmocka_unit_test(test_mx_rdata),
		cmocka_unit_test(test_name_rdata),
		cmocka_unit_test(test_addr_rdata),
		cmocka_unit_test(test_txt_rdata),
		cmocka_unit_test(test_forward),
		cmocka_unit_test(test_ptr_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
