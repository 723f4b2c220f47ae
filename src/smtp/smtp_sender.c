/*
 * smtp_sender.c - which addresses an authenticated user may send as.
 *
 * Its own; any address of a local domain whose expansion (alias.c, the
 * same code the queue delivers with) reaches the user's own mailbox: an
 * alias, a chain of them, or the catch-all of a domain it receives; and
 * what the user's domain grants in its senders file (conf_senders.c).
 * Everything else is refused with 550 5.7.1 naming those rules.  Pure:
 * reads the config snapshot, which holds no secret.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "err.h"
#include "smtp_session.h"
#include "alias.h"
#include "mauth/author.h"

/* reaches - does addr (of a local domain) expand to user's mailbox? */
static bool
reaches(const struct conf *c, const char *addr, const char *user)
{
	struct alias_dests	out;
	struct err		e;
	size_t			i;
	bool			yes = false;

	memset(&out, 0, sizeof(out));
	if (alias_expand(c, NULL, addr, &out, LIM_RECIPIENTS_MAX, &e) == 0)
		for (i = 0; i < out.n && !yes; i++)
			yes = out.v[i].kind == AK_LOCAL &&
			    strcasecmp(out.v[i].addr, user) == 0;
	alias_dests_free(&out);
	return yes;
}

/* sender_check - may user send as addr (what: which of them it is) */
static int
sender_check(const struct conf *c, const char *user, const char *addr,
    const char *what, struct err *e)
{
	const char		*uat = strrchr(user, '@'), *at = strrchr(addr, '@');
	const struct domain	*ud, *ad;
	char			 ulocal[LIM_LOCAL_PART + 1];

	if (addr[0] == '"')
		return err_set(e, false, 0, "550 5.7.1 %s <%s>: a quoted local "
		    "part is not taken from a submission (write it unquoted)",
		    what, addr);
	if (strcasecmp(addr, user) == 0)
		return 0;
	ad = at != NULL ? conf_domain(c, at + 1) : NULL;
	if (ad != NULL && reaches(c, addr, user))
		return 0;
	ud = uat != NULL ? conf_domain(c, uat + 1) : NULL;
	if (ud != NULL && (size_t)(uat - user) < sizeof(ulocal)) {
		(void)snprintf(ulocal, sizeof(ulocal), "%.*s",
		    (int)(uat - user), user);
		if (domain_sender_granted(ud, ulocal, addr))
			return 0;
	}
	return err_set(e, false, 0, "550 5.7.1 %s <%s> not owned by "
	    "authenticated user %s (its own address, the aliases that reach "
	    "it, or domains/%s/senders)", what, addr, user,
	    ud != NULL ? ud->name : "DOMAIN");
}

/* smtp_sender_check - may user send as addr: 0, or -1 with the reply */
int
smtp_sender_check(const struct conf *c, const char *user, const char *addr,
    struct err *e)
{
	return sender_check(c, user, addr, "Sender address", e);
}

/* has_from - does the header hold a From: field at all? */
static bool
has_from(const char *hdr, size_t len)
{
	size_t	i = 0, k;

	while (i < len) {
		if (len - i >= 4 && strncasecmp(hdr + i, "From", 4) == 0) {
			for (k = i + 4; k < len && (hdr[k] == ' ' ||
			    hdr[k] == '\t'); k++)
				;
			if (k < len && hdr[k] == ':')
				return true;
		}
		while (i < len && hdr[i] != '\n')
			i++;
		i++;
	}
	return false;
}

/* smtp_sender_header - may user send a message with this header's From
 * (none is fine: the client may leave it to the recipients' software) */
int
smtp_sender_header(const struct conf *c, const char *user, const char *hdr,
    size_t len, struct err *e)
{
	char	from[LIM_PATH + 1];

	if (!has_from(hdr, len))
		return 0;
	if (author_address(hdr, len, from, sizeof(from)) == -1)
		return err_set(e, false, 0, "550 5.7.1 The From: header must "
		    "hold exactly one address, one authenticated user %s may "
		    "send as", user);
	return sender_check(c, user, from, "From: address", e);
}
