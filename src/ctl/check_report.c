/*
 * check_report.c - the lines of `postern check`'s report (ctl_check.h):
 * every check adds to it here, ctl_check.c prints it.  Calls nothing
 * back, so the check files call one way: ctl_check.c runs them, they
 * add here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl_check.h"
#include "xmalloc.h"

/* cc_add - one line of the report */
void
cc_add(struct cctx *c, const char *name, enum cverdict v, const char *fix,
    const char *fmt, ...)
{
	struct citem	*it;
	va_list		 ap;

	c->items = xreallocarray(c->items, c->nitems + 1, sizeof(*c->items));
	it = &c->items[c->nitems++];
	memset(it, 0, sizeof(*it));
	(void)snprintf(it->name, sizeof(it->name), "%s", name);
	it->v = v;
	va_start(ap, fmt);
	(void)vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
	va_end(ap);
	(void)snprintf(it->fix, sizeof(it->fix), "%s", fix != NULL ? fix :
	    "");
}
