/*
 * smtp_auth.c - the AUTH exchange of a session (RFC 4954): PLAIN and
 * LOGIN, only over TLS and only on the submission ports.  The decoded
 * credentials go to the auth process in an M_AUTH_REQ; this process never
 * sees a hash.  A failure is answered only after auth_fail_delay_ms with
 * input paused, and auth_max_failures failures end the session.
 * Runs in the smtp process; passwords are wiped from the stack after use.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "err.h"
#include "io.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "smtp_sasl.h"
#include "smtp_session.h"
#include "strutil.h"

/* smtp_auth_send - ask the auth process about user and pass; input waits */
static void
smtp_auth_send(struct smtp_session *s, const char *user, const char *pass)
{
	struct msg	m;

	(void)snprintf(s->auth_user, sizeof(s->auth_user), "%s", user);
	if (s->w->auth == NULL) {
		s->auth_step = SA_NONE;
		s->auth_user[0] = '\0';
		smtp_reject(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	ipc_auth_req_put(&m, &(struct ipc_auth_req){ .reqid = s->id,
	    .user = user, .password = pass, .client = s->addr });
	chan_send(s->w->auth, &m);
	s->auth_step = SA_NONE;
	s->auth_waiting = true;
	smtp_session_wait(s);
}

/* smtp_auth_line - an AUTH continuation line (a 334 response) */
void
smtp_auth_line(struct smtp_session *s, char *line, size_t len)
{
	char		user[SMTP_SASL_USER_MAX + 1];
	char		pass[SMTP_SASL_PASS_MAX + 1];
	struct err	e;

	s->mode = SM_CMD;
	if (smtp_sasl_is_cancel(line, len)) {
		s->auth_step = SA_NONE;
		smtp_reject(s, "501 5.0.0 Authentication cancelled");
		return;
	}
	switch (s->auth_step) {
	case SA_PLAIN:
		if (smtp_sasl_plain(line, len, user, sizeof(user), pass,
		    sizeof(pass), &e) == -1)
			break;
		smtp_auth_send(s, user, pass);
		explicit_bzero(pass, sizeof(pass));
		return;
	case SA_LOGIN_USER:
		if (smtp_sasl_field(line, len, s->auth_user,
		    sizeof(s->auth_user), &e) == -1)
			break;
		s->auth_step = SA_LOGIN_PASS;
		s->mode = SM_AUTH;
		smtp_reply(s, "334 UGFzc3dvcmQ6");
		return;
	case SA_LOGIN_PASS:
		if (smtp_sasl_field(line, len, pass, sizeof(pass), &e) == -1)
			break;
		(void)snprintf(user, sizeof(user), "%s", s->auth_user);
		smtp_auth_send(s, user, pass);
		explicit_bzero(pass, sizeof(pass));
		return;
	case SA_NONE:
		err_set(&e, false, 0, "503 5.5.1 No AUTH in progress");
		break;
	}
	s->auth_step = SA_NONE;
	explicit_bzero(pass, sizeof(pass));
	smtp_reject(s, "%s", e.msg);
}

/* smtp_auth_cmd - the AUTH command: mechanism, initial response, 334 */
void
smtp_auth_cmd(struct smtp_session *s, const char *arg, size_t len)
{
	size_t		 mlen = strcspn(arg, " ");
	const char	*init = mlen < len ? arg + mlen + 1 : NULL;
	size_t		 ilen = init != NULL ? len - mlen - 1 : 0;
	char		 user[SMTP_SASL_USER_MAX + 1];
	char		 pass[SMTP_SASL_PASS_MAX + 1];
	struct err	 e;

	if ((init == NULL || ilen == 0 ||
	    str_eq_word(arg, mlen, "LOGIN")) &&
	    buf_avail(io_in(s->io)) > 0) {
		/* a 334 exchange follows: nothing may be sent before it */
		smtp_close(s, "554 5.5.0 %s SMTP protocol synchronization "
		    "error (input sent after AUTH)", s->w->conf->hostname);
		return;
	}
	if (s->kind == PORT_SMTP) {
		smtp_reject(s, "503 5.5.1 AUTH is offered on the submission "
		    "ports only");
		return;
	}
	if (!io_is_tls(s->io)) {
		smtp_reject(s, "538 5.7.11 Encryption required for requested "
		    "authentication mechanism");
		return;
	}
	if (s->authenticated) {
		smtp_reject(s, "503 5.5.1 Already authenticated");
		return;
	}
	if (str_eq_word(arg, mlen, "PLAIN")) {
		if (init == NULL || ilen == 0) {
			s->auth_step = SA_PLAIN;
			s->mode = SM_AUTH;
			smtp_reply(s, "334 ");
			return;
		}
		if (ilen == 1 && init[0] == '=') {
			smtp_reject(s, "501 5.5.2 Empty PLAIN response");
			return;
		}
		if (smtp_sasl_plain(init, ilen, user, sizeof(user), pass,
		    sizeof(pass), &e) == -1) {
			smtp_reject(s, "%s", e.msg);
			return;
		}
		smtp_auth_send(s, user, pass);
		explicit_bzero(pass, sizeof(pass));
		return;
	}
	if (str_eq_word(arg, mlen, "LOGIN")) {
		if (init != NULL && ilen > 0) {
			if (smtp_sasl_field(init, ilen, s->auth_user,
			    sizeof(s->auth_user), &e) == -1) {
				smtp_reject(s, "%s", e.msg);
				return;
			}
			s->auth_step = SA_LOGIN_PASS;
			s->mode = SM_AUTH;
			smtp_reply(s, "334 UGFzc3dvcmQ6");
			return;
		}
		s->auth_step = SA_LOGIN_USER;
		s->mode = SM_AUTH;
		smtp_reply(s, "334 VXNlcm5hbWU6");
		return;
	}
	smtp_reject(s, "504 5.5.4 Unrecognized authentication type");
}

/* smtp_auth_delay_done - the failure delay is over: 535, or 421 at the limit */
static void
smtp_auth_delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session	*s = arg;

	(void)fd;
	(void)what;
	if (s->auth_failures >= s->w->conf->auth_max_failures) {
		smtp_close(s, "421 4.7.0 %s Too many authentication failures",
		    s->w->conf->hostname);
		return;
	}
	smtp_session_resume(s, SM_CMD);
	smtp_reject(s, "535 5.7.8 Authentication credentials invalid");
}

/* smtp_auth_result - the auth process answered: 235, 454, or a delayed 535 */
void
smtp_auth_result(struct smtp_session *s, const struct ipc_auth_res *r)
{
	uint32_t	result = r->result;
	struct timeval	tv;
	unsigned	ms = s->w->conf->auth_fail_delay_ms;

	s->auth_waiting = false;

	if (result == AUTH_OK) {
		s->authenticated = true;
		(void)snprintf(s->auth_user, sizeof(s->auth_user), "%s",
		    r->user);
		s->auth_issued = r->issued;
		(void)snprintf(s->auth_ticket, sizeof(s->auth_ticket), "%s",
		    r->ticket);
		log_info("session=%016llx auth user=%s result=ok", SID(s),
		    s->auth_user);
		smtp_session_resume(s, SM_CMD);
		smtp_reply(s, "235 2.7.0 Authentication successful");
		return;
	}
	if (result == AUTH_TEMPFAIL) {
		log_info("session=%016llx auth user=%s result=tempfail",
		    SID(s), s->auth_user);
		s->auth_user[0] = '\0';
		smtp_session_resume(s, SM_CMD);
		smtp_reject(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	s->auth_failures++;
	log_info("session=%016llx auth user=%s result=fail failures=%u",
	    SID(s), s->auth_user, s->auth_failures);
	s->auth_user[0] = '\0';
	/* slow down guessing: answer only after a delay, input paused */
	if (s->delay == NULL)
		s->delay = evtimer_new(s->w->base, smtp_auth_delay_done, s);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(s->delay, &tv);
}
