/*
 * dkim_hdr.h - the header side of DKIM (RFC 6376 5.4, 3.7): a message's
 * header block split into fields, the h= list a signer chooses, and the
 * canonical header block that is hashed and signed.  Pure.
 */
#ifndef POSTERN_DKIM_HDR_H
#define POSTERN_DKIM_HDR_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "mauth/dkim_canon.h"

struct dkim_field {
	const char	*p;		/* the field's first byte */
	size_t		 len;		/* with its continuation lines, CRLFs */
	size_t		 namelen;	/* name, trailing WSP not counted */
};

/*
 * dkim_fields_split - the header fields of msg (up to the empty line
 * that ends them, or all len bytes) into v[0..max); *n fields, *hlen
 * bytes of header (the empty line not counted).  -1 when a line is not a
 * field (no colon, or a continuation with nothing before it) or there
 * are more than max fields.
 */
int	dkim_fields_split(const char *msg, size_t len, struct dkim_field *v,
	    size_t max, size_t *n, size_t *hlen, struct err *);
/* dkim_field_is - is the field's name this one (ASCII, any case)? */
bool	dkim_field_is(const struct dkim_field *, const char *name);
/*
 * dkim_header_block - 5.4.2: for each name of hlist (an h= value: names
 * split by ':', whitespace ignored), the last field of that name not
 * used yet, canonicalised, appended to out; a name with no field left
 * adds nothing (that is how oversigning works)
 */
int	dkim_header_block(enum dkim_canon, const struct dkim_field *, size_t n,
	    const char *hlist, size_t hlistlen, struct buf *out, struct err *);
/*
 * dkim_sig_append - 3.7: the DKIM-Signature field (name included, final
 * CRLF optional) with the value of its b= tag deleted, canonicalised,
 * appended to out without its final CRLF
 */
int	dkim_sig_append(enum dkim_canon, const char *field, size_t len,
	    struct buf *out, struct err *);
/*
 * dkim_sign_hlist - the h= value a signer uses for these fields: each
 * name of the signed set once per field present plus once more, so no
 * copy added in transit can pass (oversigning, 8.15); From always
 */
int	dkim_sign_hlist(const struct dkim_field *, size_t n, struct buf *out);

#endif
