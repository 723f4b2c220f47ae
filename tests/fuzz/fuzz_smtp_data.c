/*
 * fuzz_smtp_data.c - the DATA reader on arbitrary bytes.  The first octets
 * choose the limits, the policy and the seed of a random split; the body
 * is fed whole, in the random split, and (when short) octet by octet.
 * All three must agree exactly (output, error, done, octets consumed,
 * counters), and the output never exceeds max_size or the out buffer.
 * Half the runs strip Authentication-Results fields naming "mx.test":
 * then the output is what was written (never more than was received).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "smtp/smtp_data.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define HDR	6

struct cfg {
	unsigned long long	 max_size;
	size_t			 max_line;
	unsigned		 max_hops;
	enum bare_lf_policy	 policy;
	size_t			 outcap;
	bool			 strip;
};

struct res {
	struct buf		 out;
	struct smtp_data	 d;
	size_t			 used;
};

/* next_rand - a small deterministic generator for the split points */
static uint32_t
next_rand(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

/* feed - mode 0 whole, 1 octet by octet, 2 random chunks from seed */
static void
feed(const struct cfg *c, const char *in, size_t len, int mode,
    uint32_t seed, struct res *r)
{
	size_t	pos = 0, n, got;

	buf_init(&r->out, c->outcap);
	smtp_data_init(&r->d, c->max_size, c->max_line, c->max_hops,
	    c->policy);
	r->d.strip_id = c->strip ? "mx.test" : NULL;
	while (pos < len && !r->d.done) {
		if (mode == 0)
			n = len - pos;
		else if (mode == 1)
			n = 1;
		else
			n = next_rand(&seed) % 64;	/* 0 is a valid feed */
		if (n > len - pos)
			n = len - pos;
		got = smtp_data_feed(&r->d, in + pos, n, &r->out);
		if (got > n || (!r->d.done && got != n))
			abort();
		pos += got;
		if (r->d.size > c->max_size ||
		    buf_avail(&r->out) != r->d.written ||
		    r->d.written > r->d.size ||
		    (!c->strip && r->d.written != r->d.size) ||
		    buf_avail(&r->out) > c->outcap)
			abort();
	}
	r->used = pos;
	if (r->d.done && smtp_data_feed(&r->d, in + pos, len - pos,
	    &r->out) != 0)
		abort();
	if (r->d.done && (pos < 3 || memcmp(in + pos - 3, ".\r\n", 3) != 0))
		abort();
}

/* same - two runs agree on everything observable */
static void
same(const struct res *a, const struct res *b)
{
	if (a->used != b->used || a->d.error != b->d.error ||
	    a->d.done != b->d.done || a->d.size != b->d.size ||
	    a->d.hops != b->d.hops || a->d.stripped != b->d.stripped ||
	    buf_avail(&a->out) != buf_avail(&b->out) ||
	    (buf_avail(&a->out) > 0 && memcmp(buf_ptr(&a->out),
	    buf_ptr(&b->out), buf_avail(&a->out)) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t	 lines[] = { 0, 1, 5, 9, 10, 78, 998, 65536 };
	struct cfg		 c;
	struct res		 whole, split, bytes;
	const char		*in;
	size_t			 len;
	uint32_t		 seed;

	if (size < HDR)
		return 0;
	c.policy = data[0] & 1 ? BARE_LF_NORMALIZE : BARE_LF_REJECT;
	c.max_line = lines[data[0] >> 1 & 7];
	c.max_hops = data[0] >> 4 & 3;
	c.max_size = data[1] == 0xff ? 1ULL << 40 : (unsigned long long)
	    data[1] * 8;
	c.outcap = data[0] & 0x40 ? (size_t)data[1] * 5 : (size_t)1 << 24;
	c.strip = (data[0] & 0x80) != 0;
	seed = (uint32_t)data[2] | (uint32_t)data[3] << 8 |
	    (uint32_t)data[4] << 16 | (uint32_t)data[5] << 24;
	in = (const char *)data + HDR;
	len = size - HDR;

	feed(&c, in, len, 0, 0, &whole);
	feed(&c, in, len, 2, seed, &split);
	same(&whole, &split);
	buf_release(&split.out);
	if (len <= 4096) {
		feed(&c, in, len, 1, 0, &bytes);
		same(&whole, &bytes);
		buf_release(&bytes.out);
	}
	if (whole.d.error != SD_OK &&
	    strncmp(smtp_data_reply(whole.d.error), "250", 3) == 0)
		abort();
	buf_release(&whole.out);
	return 0;
}
