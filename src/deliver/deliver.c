/*
 * deliver.c - the deliver process (first cut: answers every job with a
 * temporary failure until outbound SMTP lands; the queue keeps the mail).
 *
 * Runs unprivileged with two channels: the queue's (jobs, each with a
 * read-only body descriptor) and the parent's (reload).
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "conf.h"
#include "deliver.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"

struct deliver {
	struct event_base	*base;
	struct conf		*conf;
	struct chan		*queue;
	struct chan		*parent;
};

static void
deliver_queue_cb(struct chan *c, struct msg *m, void *arg)
{
	struct deliver	*d = arg;
	struct msg	 r;
	uint64_t	 jobid;
	uint32_t	 n, i;

	if (m == NULL) {
		event_base_loopbreak(d->base);
		return;
	}
	if (m->type != M_D_JOB)
		fatalx("deliver: unexpected message %u from queue", m->type);
	jobid = msg_get_u64(m);
	(void)msg_get_str(m);		/* msgid */
	(void)msg_get_str(m);		/* from */
	(void)msg_get_u32(m);		/* flags */
	(void)msg_get_u64(m);		/* size */
	(void)msg_get_str(m);		/* domain */
	n = msg_get_u32(m);
	if (m->bad || n > LIM_RECIPIENTS_MAX * 8)
		fatalx("deliver: bad job");
	for (i = 0; i < n; i++)
		(void)msg_get_str(m);
	if (msg_end(m) == -1)
		fatalx("deliver: bad job");
	msg_init(&r, M_D_RESULT);
	msg_add_u64(&r, jobid);
	msg_add_u32(&r, n);
	for (i = 0; i < n; i++) {
		msg_add_u32(&r, DR_TEMP);
		msg_add_str(&r, "4.4.0");
		msg_add_str(&r, "outbound delivery is not available yet");
		msg_add_str(&r, "");
	}
	chan_send(c, &r);
}

static void
deliver_parent_cb(struct chan *c, struct msg *m, void *arg)
{
	struct deliver	*d = arg;

	(void)c;
	if (m == NULL) {
		event_base_loopbreak(d->base);
		return;
	}
	if (m->type != M_RELOAD || msg_end(m) == -1)
		fatalx("deliver: unexpected message %u from parent", m->type);
}

void
deliver_main(struct conf *conf, int parent_sock, int queue_sock)
{
	struct deliver	d;

	log_procname("deliver");
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);
	if ((d.base = event_base_new()) == NULL)
		fatalx("deliver: event_base_new");
	d.conf = conf;
	d.queue = chan_new(d.base, queue_sock, deliver_queue_cb, &d);
	d.parent = chan_new(d.base, parent_sock, deliver_parent_cb, &d);
	log_info("deliver ready");
	event_base_dispatch(d.base);
	log_info("deliver stopped");
	exit(0);
}
