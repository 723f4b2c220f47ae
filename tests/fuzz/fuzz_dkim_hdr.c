/*
 * fuzz_dkim_hdr.c - a received header block of any bytes: split into
 * fields (each inside the input, in order, not overlapping), every
 * DKIM-Signature field's b= deleted, and the block an h= list from the
 * input selects, built within its cap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "mauth/dkim_hdr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dkim_field	 v[LIM_DKIM_FIELDS];
	const char			*s = (const char *)data, *nl;
	struct buf			 out;
	struct err			 e;
	size_t				 n, hlen, i, hl;

	/* first line: an h= list; the rest: the message */
	if ((nl = memchr(s, '\n', size)) == NULL)
		return 0;
	hl = (size_t)(nl - s);
	s = nl + 1;
	size -= hl + 1;
	if (dkim_fields_split(s, size, v, LIM_DKIM_FIELDS, &n, &hlen, &e) == -1)
		return 0;
	if (hlen > size)
		abort();
	for (i = 0; i < n; i++) {
		if (v[i].p < s || v[i].p + v[i].len > s + hlen ||
		    v[i].namelen >= v[i].len ||
		    (i > 0 && v[i].p != v[i - 1].p + v[i - 1].len))
			abort();
	}
	buf_init(&out, 65536);
	(void)dkim_header_block(i & 1 ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
	    v, n, (const char *)data, hl, &out, &e);
	if (buf_avail(&out) > 65536)
		abort();
	for (i = 0; i < n; i++)
		if (dkim_field_is(&v[i], "DKIM-Signature"))
			(void)dkim_sig_append(DKIM_CANON_RELAXED, v[i].p,
			    v[i].len, &out, &e);
	buf_reset(&out);
	if (dkim_sign_hlist(v, n, &out) == -1)
		abort();
	buf_release(&out);
	return 0;
}
