/*
 * test_verifier_peer.c - the verifier process (verifier_main, forked)
 * against a hostile smtp worker: a request that does not decode, or a
 * message of another type, closes that worker's channel and no other;
 * the process ends, status 0, when its last channel closes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ipc.h"
#include "msg.h"
#include "msgtypes.h"
#include "verify/verifier.h"

/* start - a verifier on two channels; our ends in mine[] */
static pid_t
start(int mine[2])
{
	struct conf	c;
	int		sv[2][2], theirs[2];
	pid_t		pid;
	size_t		i;

	conf_defaults(&c);
	(void)snprintf(c.dns_resolver, sizeof(c.dns_resolver), "127.0.0.1:9");
	(void)snprintf(c.dnssec_trust_anchor, sizeof(c.dnssec_trust_anchor),
	    "%s", CONF_TA_NONE);
	for (i = 0; i < 2; i++) {
		assert_int_equal(msg_socketpair(sv[i]), 0);
		mine[i] = sv[i][0];
		theirs[i] = sv[i][1];
	}
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(mine[0]);
		close(mine[1]);
		verifier_main(&c, theirs, 2);
	}
	close(theirs[0]);
	close(theirs[1]);
	conf_free(&c);
	return pid;
}

/* closed - does the verifier close its end of fd within 5 s? */
static bool
closed(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		b[64];

	if (poll(&pfd, 1, 5000) != 1)
		return false;
	return recv(fd, b, sizeof(b), 0) == 0;
}

/* still_open - nothing, not even a close, on fd for a moment */
static bool
still_open(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 200) == 0;
}

/* finish - close what is left; the verifier exits 0 */
static void
finish(pid_t pid, int fd)
{
	int	st;

	close(fd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* test_bad_request - a truncated M_V_REQ closes that channel only */
static void
test_bad_request(void **state)
{
	struct ipc_v_req	r;
	struct msg		m;
	int			fd[2];
	pid_t			pid;

	(void)state;
	pid = start(fd);
	memset(&r, 0, sizeof(r));
	r.addr = "192.0.2.1";
	r.helo = r.from = r.author = "";
	ipc_v_req_put(&m, &r);
	m.len -= 2;		/* cut into the last field */
	assert_int_equal(msg_send(fd[0], &m), 0);
	msg_free(&m);
	assert_true(closed(fd[0]));
	assert_true(still_open(fd[1]));
	close(fd[0]);
	finish(pid, fd[1]);
}

/* test_other_type - a message the verifier is never sent, and a request
 * whose client address is none */
static void
test_other_type(void **state)
{
	struct ipc_v_req	r;
	struct msg		m;
	int			fd[2];
	pid_t			pid;

	(void)state;
	pid = start(fd);
	ipc_empty_put(&m, M_RELOAD);
	assert_int_equal(msg_send(fd[1], &m), 0);
	msg_free(&m);
	assert_true(closed(fd[1]));
	memset(&r, 0, sizeof(r));
	r.addr = "not an address";
	r.helo = r.from = r.author = "";
	ipc_v_req_put(&m, &r);
	assert_int_equal(msg_send(fd[0], &m), 0);
	msg_free(&m);
	assert_true(closed(fd[0]));
	close(fd[1]);
	finish(pid, fd[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_request),
		cmocka_unit_test(test_other_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
