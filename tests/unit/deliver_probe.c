/*
 * deliver_probe.c - test driver for the deliver process: runs
 * deliver_main() in a child on a socketpair, sends it M_D_JOBs for one
 * body file, and prints each M_D_RESULT (tests/integration/
 * test_outbound_client.py runs it against SMTP peers on loopback).
 *
 *   deliver_probe -C CONFDIR [options] --from ADDR --domain DOMAIN
 *                 BODYFILE RCPT...
 * Options: --jobs N          N jobs for the same message (ids 1..N)
 *          --sequential      send each job after the previous result
 *          --flags 8bit,utf8 QF_8BITMIME / QF_SMTPUTF8
 *          --timeout S       every command timeout (mta_set_timeouts):
 *                            for tests of peers that never answer
 *          --idle S          how long a connection is kept between jobs
 *          --debug           debug logging
 * Output, one line per recipient of each job, in the job's order:
 *   result JOBID RCPT ok|temp|perm STATUS REMOTE|- REPLY
 * Logs go to stderr.  Exit 0 when every job was answered, 1 otherwise,
 * 2 on bad usage.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "deliver/deliver.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "deliver/mta.h"

static void
usage(void)
{
	fprintf(stderr, "usage: deliver_probe -C DIR [--jobs N] "
	    "[--sequential] [--flags 8bit,utf8] [--timeout S] [--idle S] "
	    "[--debug] --from ADDR --domain DOMAIN BODYFILE RCPT...\n");
	exit(2);
}

static void
send_job(int sock, uint64_t id, const char *from, uint32_t flags,
    const char *domain, const char *body, char **rcpt, int nrcpt)
{
	struct ipc_d_job	*j;
	struct msg		 m;
	struct stat		 st;
	int			 fd, i;

	if ((fd = open(body, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		perror(body);
		exit(1);
	}
	if (nrcpt > Q_RJOB_MAX || (j = calloc(1, sizeof(*j))) == NULL) {
		fprintf(stderr, "deliver_probe: at most %d recipients\n",
		    Q_RJOB_MAX);
		exit(1);
	}
	j->jobid = id;
	j->msgid = "probe.msg";
	j->from = from;
	j->flags = flags;
	j->size = (uint64_t)st.st_size;
	j->prefix = "";		/* nothing in front of the body */
	j->domain = domain;
	j->nrcpts = (uint32_t)nrcpt;
	for (i = 0; i < nrcpt; i++)
		j->rcpts[i] = rcpt[i];
	j->fd = fd;
	ipc_d_job_put(&m, j);
	free(j);
	if (msg_send(sock, &m) == -1) {
		perror("msg_send");
		exit(1);
	}
	msg_free(&m);
}

static void
read_result(int sock)
{
	static const char *const dr[] = { "ok", "temp", "perm" };
	struct ipc_d_result	*res;
	struct msg		 m;
	struct err		 e;
	uint32_t		 i, r;

	if (msg_recv(sock, &m) != 1) {
		fprintf(stderr, "deliver_probe: no result\n");
		exit(1);
	}
	if (m.type != M_D_RESULT) {
		fprintf(stderr, "deliver_probe: message %u\n", m.type);
		exit(1);
	}
	if ((res = malloc(sizeof(*res))) == NULL ||
	    ipc_d_result_get(&m, res, &e) == -1) {
		fprintf(stderr, "deliver_probe: malformed result\n");
		exit(1);
	}
	for (i = 0; i < res->n; i++) {
		r = res->r[i].dr;
		printf("result %llu %u %s %s %s %s\n",
		    (unsigned long long)res->jobid, i, dr[r], res->r[i].status,
		    res->r[i].remote[0] != '\0' ? res->r[i].remote : "-",
		    res->r[i].reply);
	}
	free(res);
	msg_free(&m);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "sequential", no_argument, NULL, 's' },
		{ "flags", required_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "idle", required_argument, NULL, 'i' },
		{ "debug", no_argument, NULL, 'd' },
		{ "from", required_argument, NULL, 'F' },
		{ "domain", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	static struct conf	 conf;
	struct mta_timeouts	 t;
	struct err		 e;
	const char		*dir = NULL, *from = NULL, *domain = NULL;
	uint32_t		 flags = 0;
	int			 c, jobs = 1, q[2], p[2], status, i;
	bool			 seq = false, debug = false;
	pid_t			 pid;

	mta_get_timeouts(&t);
	while ((c = getopt_long(argc, argv, "C:", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			dir = optarg;
			break;
		case 'j':
			jobs = atoi(optarg);
			break;
		case 's':
			seq = true;
			break;
		case 'f':
			if (strstr(optarg, "8bit") != NULL)
				flags |= QF_8BITMIME;
			if (strstr(optarg, "utf8") != NULL)
				flags |= QF_SMTPUTF8;
			break;
		case 't':
			t.connect = t.greeting = t.helo = t.mail = t.rcpt =
			    t.data = t.block = t.dot = t.quit =
			    (unsigned)atoi(optarg);
			break;
		case 'i':
			t.idle = (unsigned)atoi(optarg);
			break;
		case 'd':
			debug = true;
			break;
		case 'F':
			from = optarg;
			break;
		case 'D':
			domain = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (dir == NULL || from == NULL || domain == NULL || argc < 2 ||
	    jobs < 1 || jobs > 1000)
		usage();
	log_init("deliver_probe", false, debug);
	if (conf_load(&conf, dir, &e) == -1) {
		fprintf(stderr, "deliver_probe: %s\n", e.msg);
		return 1;
	}
	mta_set_timeouts(&t);
	if (msg_socketpair(q) == -1 || msg_socketpair(p) == -1) {
		perror("socketpair");
		return 1;
	}
	if ((pid = fork()) == -1) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(q[0]);
		close(p[0]);
		deliver_main(&conf, p[1], q[1]);
	}
	close(q[1]);
	close(p[1]);
	alarm(120);
	for (i = 0; i < jobs; i++) {
		send_job(q[0], (uint64_t)i + 1, from, flags, domain, argv[0],
		    argv + 1, argc - 1);
		if (seq)
			read_result(q[0]);
	}
	if (!seq)
		for (i = 0; i < jobs; i++)
			read_result(q[0]);
	close(q[0]);
	close(p[0]);
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "deliver_probe: deliver exited badly\n");
		return 1;
	}
	conf_free(&conf);
	return 0;
}
