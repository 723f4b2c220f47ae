/*
 * test_dkim_hdr.c - RFC 8463 Appendix A reproduced byte for byte: the
 * header block built from its signed message, hashed and signed with
 * the RFC 8032 7.1 key, gives the RFC's b= value, and its body gives the
 * RFC's bh=.  Also: splitting a header (folds, the empty line, errors),
 * bottom-up selection and oversigning, b= deletion, the signer's h= list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"
#include "mauth/dkim_hdr.h"
#include "mauth/dkim_tag.h"

/* RFC 8463 A.3, lines ending in CRLF */
static const char rfc8463[] =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

/* RFC 8032 7.1, test 1: the secret key */
static const char ed_seed_b64[] =
    "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";

static void
emit_sha(void *arg, const void *p, size_t n)
{
	assert_int_equal(EVP_DigestUpdate(arg, p, n), 1);
}

/* tag - a tag's value without whitespace */
static void
tag(const struct dkim_tags *t, const char *name, char *out, size_t outsz)
{
	const struct dkim_tag	*g = dkim_tags_get(t, name);

	assert_non_null(g);
	assert_int_equal(dkim_tag_nows(g, out, outsz), 0);
}

static void
test_rfc8463(void **state)
{
	struct dkim_field	 v[16];
	struct dkim_tags	 t;
	struct dkim_body	 b;
	struct buf		 blk;
	struct err		 e;
	size_t			 n, hlen, siglen = 64, seedlen;
	const char		*hv;
	char			 want_b[128], want_bh[64], got[128], h[128];
	unsigned char		 md[32], seed[32], sig[64];
	unsigned int		 mdlen;
	EVP_MD_CTX		*ctx;
	EVP_PKEY		*key;

	(void)state;
	assert_int_equal(dkim_fields_split(rfc8463, sizeof(rfc8463) - 1, v, 16,
	    &n, &hlen, &e), 0);
	assert_int_equal(n, 6);
	assert_true(dkim_field_is(&v[0], "dkim-signature"));
	assert_memory_equal(rfc8463 + hlen, "\r\nHi.", 5);
	hv = (const char *)memchr(v[0].p, ':', v[0].len) + 1;
	assert_int_equal(dkim_tags_parse(hv, v[0].len - 2 -
	    (size_t)(hv - v[0].p), &t, &e), 0);
	tag(&t, "b", want_b, sizeof(want_b));
	tag(&t, "bh", want_bh, sizeof(want_bh));
	tag(&t, "h", h, sizeof(h));

	/* bh=: the relaxed body's SHA-256 */
	assert_non_null(ctx = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	dkim_body_init(&b, DKIM_CANON_RELAXED, UINT64_MAX, emit_sha, ctx);
	dkim_body_update(&b, rfc8463 + hlen + 2,
	    sizeof(rfc8463) - 1 - hlen - 2);
	(void)dkim_body_final(&b);
	assert_int_equal(EVP_DigestFinal_ex(ctx, md, &mdlen), 1);
	assert_int_equal(b64_encode(md, mdlen, got, sizeof(got)), 0);
	assert_string_equal(got, want_bh);

	/* b=: Ed25519 over the SHA-256 of the header block (RFC 8463 3) */
	buf_init(&blk, 65536);
	assert_int_equal(dkim_header_block(DKIM_CANON_RELAXED, v + 1, n - 1, h,
	    strlen(h), &blk, &e), 0);
	assert_int_equal(dkim_sig_append(DKIM_CANON_RELAXED, v[0].p, v[0].len,
	    &blk, &e), 0);
	assert_int_equal(EVP_Digest(buf_ptr(&blk), buf_avail(&blk), md,
	    &mdlen, EVP_sha256(), NULL), 1);
	assert_int_equal(b64_decode(ed_seed_b64, strlen(ed_seed_b64), seed,
	    sizeof(seed), &seedlen), 0);
	assert_non_null(key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519,
	    NULL, seed, seedlen));
	EVP_MD_CTX_reset(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, key), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, md, mdlen), 1);
	assert_int_equal(b64_encode(sig, siglen, got, sizeof(got)), 0);
	assert_string_equal(got, want_b);

	EVP_PKEY_free(key);
	EVP_MD_CTX_free(ctx);
	buf_release(&blk);
}

/* split: folds belong to their field, the empty line ends the header */
static void
test_split(void **state)
{
	const char		*m = "A: 1\r\nB :\r\n 2\r\n\t3\r\nc:4\r\n\r\nbody: x\r\n";
	struct dkim_field	 v[4];
	struct err		 e;
	size_t			 n, hlen;

	(void)state;
	assert_int_equal(dkim_fields_split(m, strlen(m), v, 4, &n, &hlen, &e),
	    0);
	assert_int_equal(n, 3);
	assert_int_equal(v[1].namelen, 1);
	assert_int_equal(v[1].len, strlen("B :\r\n 2\r\n\t3\r\n"));
	assert_true(dkim_field_is(&v[2], "C"));
	assert_int_equal(hlen, strlen("A: 1\r\nB :\r\n 2\r\n\t3\r\nc:4\r\n"));
	/* too many; a continuation first; no colon */
	assert_int_equal(dkim_fields_split(m, strlen(m), v, 2, &n, &hlen, &e),
	    -1);
	assert_int_equal(dkim_fields_split(" x\r\n", 4, v, 4, &n, &hlen, &e),
	    -1);
	assert_int_equal(dkim_fields_split("x\r\n", 3, v, 4, &n, &hlen, &e),
	    -1);
	/* no body at all */
	assert_int_equal(dkim_fields_split("a:b\r\n", 5, v, 4, &n, &hlen, &e),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(hlen, 5);
}

/* 5.4.2: the last instance first; an extra name adds nothing */
static void
test_select(void **state)
{
	const char		*m = "X: 1\r\nY: a\r\nX: 2\r\n";
	struct dkim_field	 v[4];
	struct buf		 out;
	struct err		 e;
	size_t			 n, hlen;
	const char		*hl = "x : y:x:x:Z";

	(void)state;
	assert_int_equal(dkim_fields_split(m, strlen(m), v, 4, &n, &hlen, &e),
	    0);
	buf_init(&out, 1024);
	assert_int_equal(dkim_header_block(DKIM_CANON_RELAXED, v, n, hl,
	    strlen(hl), &out, &e), 0);
	assert_int_equal(buf_avail(&out), strlen("x:2\r\ny:a\r\nx:1\r\n"));
	assert_memory_equal(buf_ptr(&out), "x:2\r\ny:a\r\nx:1\r\n",
	    buf_avail(&out));
	buf_reset(&out);
	assert_int_equal(dkim_header_block(DKIM_CANON_RELAXED, v, n, "x::y",
	    4, &out, &e), -1);
	buf_release(&out);
}

/* 3.7: the b= value and the whitespace around it go, nothing else */
static void
test_sig_append(void **state)
{
	const char	*f = "DKIM-Signature: v=1; b=ab\r\n cd ; d=x.example\r\n";
	const char	*last = "DKIM-Signature: v=1; d=x; b= ab\r\n\tcd\r\n";
	struct buf	 out;
	struct err	 e;

	(void)state;
	buf_init(&out, 1024);
	assert_int_equal(dkim_sig_append(DKIM_CANON_SIMPLE, f, strlen(f),
	    &out, &e), 0);
	assert_int_equal(buf_avail(&out),
	    strlen("DKIM-Signature: v=1; b=; d=x.example"));
	assert_memory_equal(buf_ptr(&out),
	    "DKIM-Signature: v=1; b=; d=x.example", buf_avail(&out));
	buf_reset(&out);
	assert_int_equal(dkim_sig_append(DKIM_CANON_RELAXED, last,
	    strlen(last), &out, &e), 0);
	assert_memory_equal(buf_ptr(&out), "dkim-signature:v=1; d=x; b=",
	    buf_avail(&out));
	buf_reset(&out);
	assert_int_equal(dkim_sig_append(DKIM_CANON_RELAXED,
	    "DKIM-Signature: v=1", 19, &out, &e), -1);
	assert_int_equal(dkim_sig_append(DKIM_CANON_RELAXED,
	    "DKIM-Signature: b=1; b=2", 24, &out, &e), -1);
	buf_release(&out);
}

/* the signer's h=: present names once more than present, From always */
static void
test_hlist(void **state)
{
	const char		*m = "Subject: a\r\nfrom: b\r\nX-Other: c\r\n"
	    "To: d\r\nTo: e\r\n";
	struct dkim_field	 v[8];
	struct buf		 out;
	struct err		 e;
	size_t			 n, hlen;

	(void)state;
	assert_int_equal(dkim_fields_split(m, strlen(m), v, 8, &n, &hlen, &e),
	    0);
	buf_init(&out, 1024);
	assert_int_equal(dkim_sign_hlist(v, n, &out), 0);
	assert_int_equal(buf_add(&out, "", 1), 0);
	assert_string_equal(buf_ptr(&out),
	    "From:From:Subject:Subject:To:To:To");
	buf_reset(&out);
	assert_int_equal(dkim_sign_hlist(v, 0, &out), 0);
	assert_int_equal(buf_add(&out, "", 1), 0);
	assert_string_equal(buf_ptr(&out), "From");
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8463),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_sig_append),
		cmocka_unit_test(test_hlist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
