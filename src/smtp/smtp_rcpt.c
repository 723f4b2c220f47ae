/*
 * smtp_rcpt.c - RCPT TO: the recipient parsed, checked against the
 * limits and the policy (smtp_policy.c), and added to the transaction.
 *
 * An SRS address of a local domain (a bounce to mail we forwarded) is
 * verified by the queue, which holds the secrets: M_Q_RCPT goes out,
 * input waits, and M_Q_RCPT_RES takes the recipient or refuses it
 * (forged, altered and expired ones: 550 here, never a bounce later).
 * Calls smtp_policy, _cmd and _reply only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "smtp_session.h"
#include "xmalloc.h"

/* rcpt_take - addr into the transaction (once), 250 */
static void
rcpt_take(struct smtp_session *s, const char *addr)
{
	size_t	i;

	for (i = 0; i < s->nrcpts; i++)
		if (strcasecmp(s->rcpts[i], addr) == 0)
			break;
	if (i == s->nrcpts) {
		s->rcpts = xreallocarray(s->rcpts, s->nrcpts + 1,
		    sizeof(*s->rcpts));
		s->rcpts[s->nrcpts++] = xstrdup(addr);
	}
	smtp_session_enter(s, SS_RCPT);
	smtp_reply(s, "250 2.1.5 Ok");
}

/* smtp_rcpt_cmd - RCPT TO: parse, check limits and policy, add it */
void
smtp_rcpt_cmd(struct smtp_session *s, const char *arg, size_t len)
{
	struct rcpt_args	 r;
	struct err		 e;
	struct msg		 m;
	char			 addr[LIM_PATH + 1];
	int			 p;

	if (smtp_cmd_parse_rcpt(arg, len, s->mail.smtputf8, &r, &e) == -1) {
		smtp_reject(s, "%s", e.msg);
		return;
	}
	if (s->nrcpts >= s->w->conf->max_recipients) {
		/* RFC 5321 4.5.3.1.10: the client sends these again in a
		 * later transaction.  Not a client error, so not counted: a
		 * pipelined group past the limit must not lose the session
		 * and the recipients already accepted. */
		smtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	if ((p = smtp_policy_rcpt(s, &r, &e)) == -1) {
		log_info("session=%016llx rcpt rejected: %s", SID(s), e.msg);
		smtp_reject(s, "%s", e.msg);
		return;
	}
	if (r.postmaster)
		(void)snprintf(addr, sizeof(addr), "postmaster");
	else if (addr_format(&r.mb, addr, sizeof(addr)) == -1) {
		smtp_reject(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	if (p == 0) {
		rcpt_take(s, addr);
		return;
	}
	/* an SRS address of ours: the queue verifies it */
	(void)snprintf(s->rcpt_addr, sizeof(s->rcpt_addr), "%s", addr);
	ipc_q_rcpt_put(&m, &(struct ipc_q_rcpt){ .reqid = s->id,
	    .addr = s->rcpt_addr });
	chan_send(s->w->queue, &m);
	s->rcpt_waiting = true;
	smtp_session_wait(s);
}

/* smtp_rcpt_result - the queue's answer about s->rcpt_addr */
void
smtp_rcpt_result(struct smtp_session *s, bool ok, const char *reply)
{
	s->rcpt_waiting = false;
	smtp_session_resume(s, SM_CMD);
	if (ok) {
		rcpt_take(s, s->rcpt_addr);
		return;
	}
	log_info("session=%016llx rcpt rejected: %s", SID(s), reply);
	if (strncmp(reply, "550 ", 4) != 0)
		reply = "451 4.3.0 Recipient cannot be checked now";
	smtp_reject(s, "%s", reply);
}
