/*
 * smtp_reply.c - replies of the smtp process: single and multi-line
 * replies, error counting (max_errors) and the EHLO keyword list.  Runs
 * in the smtp process; writes only to the session.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "io.h"
#include "log.h"
#include "smtp_session.h"

/* smtp_vreply - format one reply line, CRLF added, cut to fit */
static void
smtp_vreply(struct smtp_session *s, const char *fmt, va_list ap)
{
	char	line[600];
	int	n;

	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	if (io_write(s->io, line, (size_t)n) == -1)
		log_debug("session=%016llx reply dropped",
		    SID(s));
}

/* smtp_reply - queue one reply line */
void
smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	smtp_vreply(s, fmt, ap);
	va_end(ap);
}

/* smtp_close - a final reply; the session ends once it is written */
void
smtp_close(struct smtp_session *s, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	smtp_vreply(s, fmt, ap);
	va_end(ap);
	s->mode = SM_CLOSING;
	io_close_after_flush(s->io);
}

/* smtp_reject - an error reply; too many of them end the session */
void
smtp_reject(struct smtp_session *s, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	smtp_vreply(s, fmt, ap);
	va_end(ap);
	if (++s->errors >= s->w->conf->max_errors) {
		log_info("session=%016llx too many errors errors=%u",
		    SID(s), s->errors);
		smtp_close(s, "421 4.7.0 %s Too many errors, closing "
		    "connection", s->w->conf->hostname);
	}
}

/* smtp_reply_ehlo - the EHLO reply: the keywords this session may use */
void
smtp_reply_ehlo(struct smtp_session *s)
{
	const struct conf	*c = s->w->conf;
	bool			 tls = io_is_tls(s->io);

	smtp_reply(s, "250-%s Hello %s", c->hostname, s->helo);
	smtp_reply(s, "250-PIPELINING");
	smtp_reply(s, "250-SIZE %llu", c->max_message_size);
	smtp_reply(s, "250-8BITMIME");
	smtp_reply(s, "250-ENHANCEDSTATUSCODES");
	if (!tls && s->kind != PORT_SUBMISSIONS)
		smtp_reply(s, "250-STARTTLS");
	if (tls && s->kind != PORT_SMTP)
		smtp_reply(s, "250-AUTH PLAIN LOGIN");
	smtp_reply(s, "250 SMTPUTF8");
}
