/*
 * smtp_policy.c - who may send what to whom, decided at MAIL and RCPT.
 *
 * Runs in the smtp process, from the config snapshot (domain names, user
 * names and alias keys; never hashes).  Rules: port 25 takes mail only for
 * recipients that exist in local domains and never relays; 587/465 need
 * AUTH before MAIL, an authenticated user sends as itself, the aliases
 * that reach it or what its domain's senders file grants (smtp_sender.c),
 * or as <>, and may send anywhere.  An SRS local part of a local domain
 * is the queue's to judge (it holds the secrets).  Sender-specified routing (source routes, "%",
 * "!", quoted local parts) is refused outright: it is a relay trick, and
 * no legitimate mail needs it today.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "smtp_session.h"
#include "srs.h"
#include "strutil.h"

/*
 * smtp_policy_pipe - a local part starting with "|" is legal (RFC 5321
 * atext) but is what a pipe alias's command looks like in the queue, and
 * no real mailbox has one: refused in both directions
 */
static int
smtp_policy_pipe(const struct mailbox *mb, struct err *e)
{
	if (mb->local[0] != '|')
		return 0;
	return err_set(e, false, 0, "553 5.1.3 <%s@%s>: a local part may not "
	    "begin with \"|\"", mb->local, mb->domain);
}

/* smtp_policy_mail - may this session send from this address */
int
smtp_policy_mail(const struct smtp_session *s, const struct mail_args *m,
    struct err *e)
{
	char	addr[LIM_PATH + 1];

	if (!m->null_sender && smtp_policy_pipe(&m->mb, e) == -1)
		return -1;

	if (s->kind == PORT_SMTP)
		return 0;
	if (!s->authenticated)
		return err_set(e, false, 0,
		    "530 5.7.0 Authentication required");
	if (m->null_sender)
		return 0;
	if (addr_format(&m->mb, addr, sizeof(addr)) == -1)
		return err_set(e, false, 0, "553 5.1.7 Sender address "
		    "cannot be used");
	return smtp_sender_check(s->w->conf, s->auth_user, addr, e);
}

/* smtp_policy_routing - does the local part ask for routing (%, !, quotes) */
static bool
smtp_policy_routing(const struct mailbox *mb)
{
	return mb->quoted || strchr(mb->local, '%') != NULL ||
	    strchr(mb->local, '!') != NULL;
}

/* smtp_policy_rcpt - may this session send to this address */
int
smtp_policy_rcpt(const struct smtp_session *s, const struct rcpt_args *r,
    struct err *e)
{
	const struct domain	*d;
	char			 local[LIM_LOCAL_PART + 1];

	if (r->postmaster)
		return 0;	/* RFC 5321 4.5.1: always accepted */
	if (smtp_policy_pipe(&r->mb, e) == -1)
		return -1;
	if (r->had_route || smtp_policy_routing(&r->mb))
		return err_set(e, false, 0, "553 5.7.1 Sender-specified "
		    "routing is not accepted");
	d = r->mb.literal ? NULL : conf_domain(s->w->conf, r->mb.domain);
	if (d == NULL) {
		if (s->kind != PORT_SMTP && s->authenticated)
			return 0;
		return err_set(e, false, 0, "554 5.7.1 <%s@%s>: Relay access "
		    "denied", r->mb.local, r->mb.domain);
	}
	(void)snprintf(local, sizeof(local), "%s", r->mb.local);
	if (srs_is_srs(local))
		return 1;	/* a bounce to mail we forwarded, maybe */
	str_lower(local);
	if (!domain_accepts(d, local) && strcmp(local, "postmaster") != 0)
		return err_set(e, false, 0, "550 5.1.1 <%s@%s>: Recipient "
		    "address rejected: User unknown", r->mb.local,
		    r->mb.domain);
	return 0;
}
