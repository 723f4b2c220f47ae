/*
 * route.c - where an address goes (route.h): a recipient of a local
 * domain is delivered to DATA/mail/<domain>/<local> (lower case), one
 * with a domain not ours goes to the deliver process, and one whose parts
 * cannot name a directory safely fails.  Also the header lines written
 * before a message delivered here.  Pure: no I/O, no state but the
 * configuration passed in.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "addr.h"
#include "bounds.h"
#include "conf.h"
#include "xmalloc.h"
#include "queue/qplan.h"
#include "queue/route.h"

/* route_is_local - is addr in a local domain (delivered to Maildir)? */
bool
route_is_local(const struct conf *cf, const char *addr)
{
	const char	*d = qplan_domain(addr);

	return d != NULL && conf_domain(cf, d) != NULL;
}

/* route_is_remote - addr has a domain, not one of ours */
bool
route_is_remote(const char *addr, void *arg)
{
	const struct conf	*cf = arg;

	return qplan_domain(addr) != NULL && !route_is_local(cf, addr);
}

/* path_part_ok - can s name one directory under DATA/mail safely? */
static bool
path_part_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > LIM_DOMAIN || s[0] == '.')
		return false;
	for (i = 0; i < len; i++)
		if (s[i] == '/' || (unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] == 0x7f)
			return false;
	return true;
}

/* route_maildir - DATA/mail/<domain>/<local> (lower case) */
char *
route_maildir(const struct conf *cf, const char *addr)
{
	const char	*at = strrchr(addr, '@');
	char		*p;

	if (at == NULL || !path_part_ok(addr, (size_t)(at - addr)) ||
	    !path_part_ok(at + 1, strlen(at + 1)))
		return NULL;
	xasprintf(&p, "%s/mail/%s/%.*s", cf->data_dir, at + 1,
	    (int)(at - addr), addr);
	addr_lower(p + strlen(cf->data_dir));
	return p;
}

/* route_is_pipe - "| command" */
bool
route_is_pipe(const char *addr)
{
	return addr[0] == '|';
}

/* route_prefix - Return-Path, Delivered-To, then extra */
char *
route_prefix(const char *from, const char *addr, const char *extra)
{
	char	*p;

	xasprintf(&p, "Return-Path: <%s>\r\nDelivered-To: %s\r\n%s", from,
	    addr, extra != NULL ? extra : "");
	return p;
}
