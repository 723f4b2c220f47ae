/*
 * author.h - the author domain of a message: the domain of the header's
 * one From address (RFC 5322 3.6.2), which DMARC judges.  Pure.
 */
#ifndef POSTERN_AUTHOR_H
#define POSTERN_AUTHOR_H

#include <stddef.h>

/*
 * author_domain - the domain of the header's (hlen bytes) one From
 * address, lower-cased, into out; -1 when there is no From, more than
 * one, or it names more than one address (DMARC then cannot apply)
 */
int	author_domain(const char *hdr, size_t hlen, char *out, size_t outsz);
/*
 * author_address - that one From address, "local@domain" (the local part
 * as written, its quotes kept; the domain lower-cased), into out; -1 as
 * author_domain, or when it does not fit
 */
int	author_address(const char *hdr, size_t hlen, char *out, size_t outsz);

#endif
