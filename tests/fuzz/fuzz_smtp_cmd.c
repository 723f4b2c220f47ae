/*
 * fuzz_smtp_cmd.c - the MAIL, RCPT and EHLO argument parsers on arbitrary
 * bytes (the first octet picks the parser).  Accepted paths must hold a
 * mailbox that parses again; refusals must carry a one-line SMTP reply.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"
#include "smtp/smtp_cmd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* check_reply - e->msg is "DDD D.D.D text" on one line */
static void
check_reply(const struct err *e)
{
	size_t	n = strlen(e->msg);

	if (n < 10 || (e->msg[0] != '5' && e->msg[0] != '4') ||
	    e->msg[3] != ' ' || strpbrk(e->msg, "\r\n") != NULL)
		abort();
}

/* check_mb - a parsed mailbox formats and parses back to itself */
static void
check_mb(const struct mailbox *mb, bool utf8)
{
	struct mailbox	again;
	char		fmt[LIM_LOCAL_PART + LIM_DOMAIN + 2];

	if (addr_format(mb, fmt, sizeof(fmt)) == -1)
		abort();
	if (addr_parse_mailbox(fmt, strlen(fmt), utf8, &again, NULL) == -1 ||
	    strcmp(again.local, mb->local) != 0 ||
	    strcmp(again.domain, mb->domain) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_args	 m;
	struct rcpt_args	 r;
	struct err		 e;
	char			 helo[LIM_DOMAIN + 1];
	const char		*s;
	size_t			 len;

	if (size < 1)
		return 0;
	s = (const char *)data + 1;
	len = size - 1;
	memset(&e, 0, sizeof(e));
	switch (data[0] % 4) {
	case 0:
		if (smtp_cmd_parse_mail(s, len, &m, &e) == -1) {
			check_reply(&e);
			break;
		}
		if (!m.null_sender)
			check_mb(&m.mb, m.smtputf8);
		break;
	case 1:
	case 2:
		if (smtp_cmd_parse_rcpt(s, len, data[0] & 2, &r, &e) == -1) {
			check_reply(&e);
			break;
		}
		if (r.postmaster) {
			if (strcmp(r.mb.local, "postmaster") != 0 ||
			    r.mb.domain[0] != '\0')
				abort();
		} else
			check_mb(&r.mb, data[0] & 2);
		break;
	default:
		if (smtp_cmd_parse_helo(s, len, helo, sizeof(helo), &e) == -1) {
			check_reply(&e);
			break;
		}
		if (helo[0] == '\0' || strchr(helo, ' ') != NULL ||
		    (!addr_domain_valid(helo, strlen(helo), false) &&
		    !addr_literal_valid(helo, strlen(helo))))
			abort();
		break;
	}
	return 0;
}
