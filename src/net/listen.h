/*
 * listen.h - the listening sockets of the three SMTP services.
 */
#ifndef POSTERN_LISTEN_H
#define POSTERN_LISTEN_H

#include <stddef.h>

#include "conf.h"

struct err;

enum port_kind {
	PORT_SMTP,		/* MX, 25: STARTTLS offered, no AUTH */
	PORT_SUBMISSION,	/* 587: STARTTLS, AUTH after TLS */
	PORT_SUBMISSIONS,	/* 465: implicit TLS, AUTH */
};

struct listener {
	int			 fd;
	enum port_kind		 kind;
	struct listen_addr	 addr;
};

/* listen_open - bind and listen on one address (non-blocking socket) */
int		 listen_open(const struct listen_addr *, int *fd,
		    struct err *);
/*
 * listen_open_all - open every listener of c, reusing sockets of old (nold
 * entries, may be NULL) whose kind and address are unchanged; those are
 * moved (old[i].fd = -1).  On failure nothing new stays open.
 */
int		 listen_open_all(const struct conf *c, struct listener *old,
		    size_t nold, struct listener **out, size_t *nout,
		    struct err *);
void		 listen_close_all(struct listener *, size_t);
const char	*listen_kind_name(enum port_kind);

#endif
