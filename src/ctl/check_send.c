/*
 * check_send.c - `postern check --send TO` (ctl_check.h): a live round
 * trip.  A test message goes through our own submission port as `postern
 * send` sends it (the user's password on standard input), then the queue
 * is asked about it (`queue show`) until it has left: delivered, with the
 * remote reply, or failed, with why; a deferral is reported as it comes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_check.h"
#include "ctl_queue.h"
#include "msgtypes.h"
#include "xmalloc.h"

#define SEND_POLL_MS	250

struct answer {
	char	text[8192];
	size_t	n;
};

/* collect - one answer line */
static void
collect(void *arg, const char *line)
{
	struct answer	*a = arg;

	if (a->n < sizeof(a->text))
		a->n += (size_t)snprintf(a->text + a->n, sizeof(a->text) - a->n,
		    "%s\n", line);
	if (a->n >= sizeof(a->text))
		a->n = sizeof(a->text) - 1;
}

/* report - the outcome lines of a finished message */
static void
report(struct cctx *c, const char *to, char *text)
{
	char	*p = text, *line;
	bool	 any = false;

	while ((line = strsep(&p, "\n")) != NULL) {
		if (strncmp(line, "rcpt: ", 6) != 0)
			continue;
		any = true;
		if (strstr(line, "> delivered") != NULL)
			cc_add(c, "send", CV_OK, NULL, "%s", line + 6);
		else
			cc_add(c, "send", CV_FAIL, "read the error: the "
			    "remote reply says why", "%s", line + 6);
	}
	if (!any)
		cc_add(c, "send", CV_WARN, NULL, "the message to %s left the "
		    "queue; its outcome is not known", to);
}

/* check_send - submit, then follow the message through the queue */
void
check_send(struct cctx *c, const struct csend *s)
{
	const char	*argv[16];
	struct answer	*a = xcalloc(1, sizeof(*a));
	char		 qid[64], err[1200], *last;
	struct timespec	 tick = { 0, SEND_POLL_MS * 1000000L };
	time_t		 until;
	int		 argc = 0, rc, out = -1;

	argv[argc++] = "send";
	argv[argc++] = "--from";
	argv[argc++] = s->user;
	argv[argc++] = "--to";
	argv[argc++] = s->to;
	argv[argc++] = "--user";
	argv[argc++] = s->user;
	argv[argc++] = "--password-stdin";
	argv[argc++] = "--subject";
	argv[argc++] = "postern check: a round trip";
	if (s->server != NULL) {
		argv[argc++] = "--server";
		argv[argc++] = s->server;
	}
	if (s->insecure)
		argv[argc++] = "--insecure";
	argv[argc] = NULL;
	/* with --json, stdout is the report's: the dialogue goes to stderr */
	fflush(stdout);
	if (s->quiet && (out = dup(1)) != -1)
		(void)dup2(2, 1);
	rc = ctl_send_run(c->confdir, argc, (char **)(uintptr_t)argv, qid,
	    sizeof(qid));
	fflush(stdout);
	if (out != -1) {
		(void)dup2(out, 1);
		(void)close(out);
	}
	if (rc != 0) {
		cc_add(c, "send", CV_FAIL, "the error printed above says why",
		    "the submission of a test message to %s failed", s->to);
		goto done;
	}
	if (qid[0] == '\0') {
		cc_add(c, "send", CV_WARN, NULL, "the message to %s was taken "
		    "but the reply named no queue id to follow", s->to);
		goto done;
	}
	until = time(NULL) + (time_t)s->wait;
	for (;;) {
		a->n = 0;
		a->text[0] = '\0';
		rc = ctl_queue_ask(c->confdir, M_CTL_Q_SHOW, qid, collect, a,
		    err, sizeof(err));
		if (rc == 0 && strstr(a->text, "\ndone: ") != NULL) {
			report(c, s->to, a->text);
			break;
		}
		if (rc != 0) {
			cc_add(c, "send", CV_WARN, NULL, "msgid=%s: the queue "
			    "cannot say: %s", qid, err);
			break;
		}
		if ((last = strstr(a->text, "  last error: ")) != NULL) {
			last += strlen("  last error: ");
			last[strcspn(last, "\n")] = '\0';
			cc_add(c, "send", CV_WARN, "postern queue show ID follows "
			    "its retries", "msgid=%s to %s deferred: %s", qid,
			    s->to, last);
			break;
		}
		if (time(NULL) >= until) {
			cc_add(c, "send", CV_WARN, NULL, "msgid=%s to %s still "
			    "queued after %u s", qid, s->to, s->wait);
			break;
		}
		(void)nanosleep(&tick, NULL);
	}
done:
	free(a);
}
