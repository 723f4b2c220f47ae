/*
 * route.h - where an address goes: a local Maildir, the deliver process
 * (remote), a command (pipe), or nowhere (no safe mailbox name); and the header lines put
 * before a message delivered here.  Pure: reads only the configuration.
 */
#ifndef POSTERN_ROUTE_H
#define POSTERN_ROUTE_H

#include <stdbool.h>

struct conf;

/* route_is_local - is addr in a local domain (delivered to Maildir)? */
bool	 route_is_local(const struct conf *, const char *addr);
/* route_is_remote - addr has a domain, not one of ours (arg: the conf;
 * the shape of qplan's callbacks) */
bool	 route_is_remote(const char *addr, void *conf);
/* route_is_pipe - is addr a pipe alias's "| command" (queue_pipe.c)? */
bool	 route_is_pipe(const char *addr);
/* route_maildir - DATA/mail/<domain>/<local> (lower case) of a local
 * address, or NULL if it cannot name a directory safely */
char	*route_maildir(const struct conf *, const char *addr);
/*
 * route_prefix - Return-Path and Delivered-To, CRLF-terminated, then the
 * message's own prefix (envelope.h), if any
 */
char	*route_prefix(const char *from, const char *addr, const char *extra);

#endif
