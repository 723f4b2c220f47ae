/*
 * test_net_sock.c - the socket set-up of net/: a listener from
 * listen_open() is TCP_NODELAY and so is every socket accepted from it
 * (inherited on Linux, before any io exists); io_new() makes a connected
 * socket TCP_NODELAY (outbound); io_nodelay() leaves a non-TCP socket
 * alone; output written in place (io_reserve/io_commit) reaches the peer;
 * io_set_in_cap() bounds what is read (raised: more is read at once;
 * lowered below what is buffered: nothing lost, nothing more read).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "err.h"
#include "io.h"
#include "listen.h"

/* nodelay - the TCP_NODELAY flag of fd (0 or 1), -1 on error */
static int
nodelay(int fd)
{
	int		on = -1;
	socklen_t	len = sizeof(on);

	if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) == -1)
		return -1;
	return on != 0;
}

static void
no_cb(struct io *io, enum io_event ev, void *arg)
{
	(void)io;
	(void)ev;
	(void)arg;
}

/* pair - a listener on host, a plain client connected to it, the
 * accepted socket; false if host cannot be bound here */
static bool
pair(const char *host, int *lfd, int *cfd, int *afd)
{
	struct listen_addr	 la;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	struct err		 e;
	int			 i;

	memset(&la, 0, sizeof(la));
	(void)snprintf(la.host, sizeof(la.host), "%s", host);
	(void)snprintf(la.port, sizeof(la.port), "0");
	if (listen_open(&la, lfd, &e) == -1)
		return false;
	assert_int_equal(getsockname(*lfd, (struct sockaddr *)&ss, &sl), 0);
	/* a socket of our own, nothing set on it: the default */
	*cfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*cfd >= 0);
	assert_int_equal(nodelay(*cfd), 0);
	assert_int_equal(connect(*cfd, (struct sockaddr *)&ss, sl), 0);
	/* the listener is non-blocking: the connection may take a moment */
	for (i = 0; i < 1000; i++) {
		*afd = accept4(*lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (*afd >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			break;
		usleep(1000);
	}
	assert_true(*afd >= 0);
	return true;
}

static void
check_family(const char *host)
{
	struct event_base	*base = event_base_new();
	struct io		*ai, *ci;
	int			 lfd, cfd, afd;

	assert_non_null(base);
	if (!pair(host, &lfd, &cfd, &afd)) {
		event_base_free(base);
		if (strchr(host, ':') != NULL)
			return;		/* no IPv6 on this machine */
		fail_msg("cannot listen on %s", host);
	}
	assert_int_equal(nodelay(lfd), 1);
	/* accepted: set from the start, inherited from the listener */
	assert_int_equal(nodelay(afd), 1);
	/* connected (outbound): not yet; io_new sets it */
	assert_int_equal(nodelay(cfd), 0);
	ci = io_new(base, cfd, no_cb, NULL, 1024, 1024);
	assert_int_equal(nodelay(cfd), 1);
	ai = io_new(base, afd, no_cb, NULL, 1024, 1024);
	assert_int_equal(nodelay(afd), 1);
	io_free(ci);
	io_free(ai);
	close(lfd);
	event_base_free(base);
}

static void
test_ipv4(void **state)
{
	(void)state;
	check_family("127.0.0.1");
}

static void
test_ipv6(void **state)
{
	(void)state;
	check_family("::1");
}

static void
test_not_tcp(void **state)
{
	int	sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(io_nodelay(sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
}

static void
test_reserve_commit(void **state)
{
	struct event_base	*base = event_base_new();
	struct io		*io;
	char			*w, got[16];
	int			 sv[2], i;
	ssize_t			 n = -1;

	(void)state;
	assert_non_null(base);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	io = io_new(base, sv[0], no_cb, NULL, 1024, 16);
	assert_null(io_reserve(io, 17));	/* past the cap */
	assert_non_null(w = io_reserve(io, 16));
	memcpy(w, "hello", 5);
	io_commit(io, 5);
	assert_int_equal(io_out_pending(io), 5);
	for (i = 0; i < 100 && n < 0; i++) {
		(void)event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		n = read(sv[1], got, sizeof(got));
	}
	assert_int_equal(n, 5);
	assert_memory_equal(got, "hello", 5);
	assert_int_equal(io_out_pending(io), 0);
	io_free(io);
	close(sv[1]);
	event_base_free(base);
}

/* keep_cb - count IO_DATAIN, leave the input where it is */
static void
keep_cb(struct io *io, enum io_event ev, void *arg)
{
	(void)io;
	if (ev == IO_DATAIN)
		(*(int *)arg)++;
}

/* spin - run the loop a bounded number of times */
static void
spin(struct event_base *base)
{
	int	i;

	for (i = 0; i < 20; i++)
		(void)event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static void
test_in_cap(void **state)
{
	struct event_base	*base = event_base_new();
	struct io		*io;
	char			 data[4096];
	int			 sv[2], events = 0;

	(void)state;
	assert_non_null(base);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	memset(data, 'x', sizeof(data));
	io = io_new(base, sv[0], keep_cb, &events, 1024, 16);
	assert_int_equal(write(sv[1], data, sizeof(data)), sizeof(data));
	spin(base);
	assert_int_equal(buf_avail(io_in(io)), 1024);	/* the cap */
	io_set_in_cap(io, 4096);
	spin(base);
	assert_int_equal(buf_avail(io_in(io)), 4096);	/* the rest, too */
	/* lowered below what is buffered: kept, and nothing more read */
	io_set_in_cap(io, 1024);
	assert_int_equal(write(sv[1], data, 100), 100);
	spin(base);
	assert_int_equal(buf_avail(io_in(io)), 4096);
	/* drained: reading resumes, up to the new cap */
	buf_drain(io_in(io), 4096);
	io_set_in_cap(io, 1024);
	spin(base);
	assert_int_equal(buf_avail(io_in(io)), 100);
	assert_true(events >= 3);
	io_free(io);
	close(sv[1]);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_not_tcp),
		cmocka_unit_test(test_reserve_commit),
		cmocka_unit_test(test_in_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
