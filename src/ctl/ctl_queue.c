/*
 * ctl_queue.c - "postern queue list | show ID | flush [ID] | remove ID":
 * asks the running queue process over its control socket
 * DATA/queue/control (M_CTL_* of msgtypes.h) and prints the answer lines
 * to stdout, an error to stderr.  Exit 0 on success, 1 for an unknown id
 * or a failure, 2 for bad usage.  Run as root (or as the postern user).
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "ctl_queue.h"
#include "err.h"
#include "ipc.h"
#include "msg.h"
#include "msgtypes.h"

#define CTLQ_TIMEOUT	30	/* seconds without an answer */
#define CTLQ_CONNECT_TRIES 20	/* 100 ms apart: a queue starting up */

/* usage_queue - one line to stderr */
static int
usage_queue(void)
{
	fprintf(stderr, "usage: postern queue list | show ID | flush [ID] | "
	    "remove ID\n");
	return 2;
}

/* ctlq_connect - the queue's control socket, or -1 (said on stderr) */
static int
ctlq_connect(const char *confdir)
{
	struct conf		 c;
	struct err		 e;
	struct sockaddr_un	 sun;
	struct timeval		 tv = { CTLQ_TIMEOUT, 0 };
	int			 fd, tries;

	memset(&c, 0, sizeof(c));
	if (conf_load(&c, confdir, &e) == -1) {
		fprintf(stderr, "postern queue: %s\n", e.msg);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/queue/control", c.data_dir) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "postern queue: data_dir too long\n");
		conf_free(&c);
		return -1;
	}
	conf_free(&c);
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "postern queue: socket: %s\n", strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* a server just started may not have its queue up yet: wait a bit */
	for (tries = 0; connect(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1; tries++) {
		if ((errno != ENOENT && errno != ECONNREFUSED &&
		    errno != EINTR) || tries >= CTLQ_CONNECT_TRIES) {
			fprintf(stderr, "postern queue: cannot reach the queue "
			    "at %s: %s (is postern running?)\n", sun.sun_path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		(void)nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
	return fd;
}

/* ctl_queue_ask - one request, each answer line to line(arg, text) */
int
ctl_queue_ask(const char *confdir, uint32_t type, const char *id,
    void (*line)(void *, const char *), void *arg, char *err, size_t errsz)
{
	struct msg		 m;
	struct ipc_ctl_line	 l;
	struct ipc_ctl_end	 end;
	int			 fd, rc, ret = -1;

	(void)snprintf(err, errsz, "malformed answer from the queue");
	if ((fd = ctlq_connect(confdir)) == -1) {
		(void)snprintf(err, errsz, "the queue cannot be reached");
		return -1;
	}
	if (type == M_CTL_Q_LIST)
		ipc_empty_put(&m, type);
	else
		ipc_ctl_id_put(&m, type, &(struct ipc_ctl_id){ .id = id });
	rc = msg_send(fd, &m);
	msg_free(&m);
	if (rc == -1) {
		(void)snprintf(err, errsz, "send: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		if ((rc = msg_recv(fd, &m)) != 1) {
			(void)snprintf(err, errsz, "%s", rc == 0 ? "the queue "
			    "closed the connection without an answer" :
			    strerror(errno));
			goto out;
		}
		if (m.type == M_CTL_LINE) {
			if (ipc_ctl_line_get(&m, &l, NULL) == -1)
				goto bad;
			line(arg, l.text);
			msg_free(&m);
			continue;
		}
		if (ipc_ctl_end_get(&m, &end, NULL) == -1)
			goto bad;
		(void)snprintf(err, errsz, "%s", end.text);
		ret = end.status == 0 ? 0 : 1;
		msg_free(&m);
		goto out;
	}
bad:
	msg_free(&m);
out:
	close(fd);
	return ret;
}

/* print_line - an answer line to stdout */
static void
print_line(void *arg, const char *text)
{
	(void)arg;
	printf("%s\n", text);
}

/* ctl_queue - the verb */
int
ctl_queue(const char *confdir, int argc, char **argv)
{
	uint32_t	type;
	char		err[LIM_IPC_TEXT + 64];
	int		rc;

	if (argc < 2)
		return usage_queue();
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		type = M_CTL_Q_LIST;
	else if (strcmp(argv[1], "show") == 0 && argc == 3)
		type = M_CTL_Q_SHOW;
	else if (strcmp(argv[1], "flush") == 0 && (argc == 2 || argc == 3))
		type = M_CTL_Q_FLUSH;
	else if (strcmp(argv[1], "remove") == 0 && argc == 3)
		type = M_CTL_Q_REMOVE;
	else
		return usage_queue();
	if (argc == 3 && (strlen(argv[2]) == 0 || strlen(argv[2]) > 64)) {
		fprintf(stderr, "postern queue: bad message id\n");
		return 1;
	}
	rc = ctl_queue_ask(confdir, type, argc == 3 ? argv[2] : "",
	    print_line, NULL, err, sizeof(err));
	fflush(stdout);
	if (rc == 0)
		return 0;
	if (rc == 1)
		fprintf(stderr, "postern queue: %s%s%s\n", argc == 3 ? argv[2] :
		    "", argc == 3 ? ": " : "", err);
	else if (strcmp(err, "the queue cannot be reached") != 0)
		fprintf(stderr, "postern queue: %s\n", err);
	return 1;
}
