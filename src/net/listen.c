/*
 * listen.c - bind and listen on the configured addresses.
 *
 * Runs in the parent, privileged, before any child is started; the smtp
 * workers inherit the sockets.  IPv6 sockets are IPV6_V6ONLY so that
 * "0.0.0.0:25" and "[::]:25" can both be bound.  Listeners are
 * TCP_NODELAY: on Linux an accepted socket inherits it, so even the
 * first write of a session (or the 421 of a refused one) is not delayed;
 * io_new() sets it again on every socket it gets, accepted or connected.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "io.h"
#include "listen.h"
#include "xmalloc.h"

#define LISTEN_BACKLOG	1024

int
listen_open(const struct listen_addr *la, int *fdp, struct err *e)
{
	struct addrinfo	 hints, *ai = NULL;
	int		 fd = -1, on = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(la->host, la->port, &hints, &ai)) != 0)
		return err_set(e, false, 0, "listen %s:%s: %s", la->host,
		    la->port, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (ai->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (io_nodelay(fd) == -1)
		goto fail;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		goto fail;
	if (listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	freeaddrinfo(ai);
	*fdp = fd;
	return 0;
fail:
	err_set(e, errno == EACCES || errno == EADDRINUSE ? false : true,
	    errno, "listen %s%s%s:%s: %s", strchr(la->host, ':') ? "[" : "",
	    la->host, strchr(la->host, ':') ? "]" : "", la->port,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	freeaddrinfo(ai);
	return -1;
}

/* listen_reuse - index of an open old listener for kind and la, or -1 */
static int
listen_reuse(const struct listener *old, size_t nold, enum port_kind kind,
    const struct listen_addr *la)
{
	size_t	i;

	for (i = 0; i < nold; i++) {
		if (old[i].fd != -1 && old[i].kind == kind &&
		    strcmp(old[i].addr.host, la->host) == 0 &&
		    strcmp(old[i].addr.port, la->port) == 0)
			return (int)i;
	}
	return -1;
}

int
listen_open_all(const struct conf *c, struct listener *old, size_t nold,
    struct listener **out, size_t *nout, struct err *e)
{
	const struct listen_list	*lists[3] = { &c->smtp_listen,
	    &c->submission_listen, &c->submissions_listen };
	struct listener			*v;
	int				*reuse;
	size_t				 n = 0, k, i, total = 0;
	int				 fd = -1, idx;

	for (k = 0; k < 3; k++)
		total += lists[k]->n;
	v = xcalloc(total ? total : 1, sizeof(*v));
	reuse = xcalloc(total ? total : 1, sizeof(*reuse));
	for (k = 0; k < 3; k++) {
		for (i = 0; i < lists[k]->n; i++) {
			idx = listen_reuse(old, nold, (enum port_kind)k,
			    &lists[k]->addr[i]);
			if (idx >= 0)
				fd = old[idx].fd;
			else if (listen_open(&lists[k]->addr[i], &fd, e) == -1)
				goto fail;
			reuse[n] = idx;
			v[n].fd = fd;
			v[n].kind = (enum port_kind)k;
			v[n].addr = lists[k]->addr[i];
			n++;
		}
	}
	/* all opened: only now do the reused sockets change hands */
	for (i = 0; i < n; i++)
		if (reuse[i] >= 0)
			old[reuse[i]].fd = -1;
	free(reuse);
	*out = v;
	*nout = n;
	return 0;
fail:
	/* close what we opened; the old listeners stay untouched */
	for (i = 0; i < n; i++)
		if (reuse[i] < 0)
			close(v[i].fd);
	free(reuse);
	free(v);
	return -1;
}

/* listen_close_all - close and free a listener array */
void
listen_close_all(struct listener *v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		if (v[i].fd != -1)
			close(v[i].fd);
	free(v);
}

const char *
listen_kind_name(enum port_kind k)
{
	switch (k) {
	case PORT_SMTP:
		return "smtp";
	case PORT_SUBMISSION:
		return "submission";
	case PORT_SUBMISSIONS:
		return "submissions";
	}
	return "?";
}
