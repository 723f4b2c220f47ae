/*
 * smtp_cmd.c - pure parsers for the arguments of MAIL, RCPT and EHLO/HELO
 * (RFC 5321 4.1.1 and 4.1.2, RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531
 * SMTPUTF8).
 *
 * Runs in the unprivileged smtp process on hostile input: no I/O, no
 * allocation, no globals; fuzzed by tests/fuzz/fuzz_smtp_cmd.c.  Input is
 * (pointer, length), never assumed NUL-terminated.  On failure e->msg is
 * the complete reply line for the session to send (e->code 0, e->temp
 * false).  Leniency, on purpose: spaces before "FROM:"/"TO:" and after
 * the colon, several spaces between parameters and trailing spaces are
 * accepted; everything else is as the RFC's ABNF.  A source route
 * (<@a,@b:user@c>, RFC 5321 4.1.1.3 and appendix C) is parsed and
 * dropped.  Limits: the path (with its angle brackets) LIM_PATH octets,
 * local part and domain as in addr.c, SIZE at most 20 digits.
 */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "err.h"
#include "bounds.h"
#include "smtp_cmd.h"

#define PARAM_MAX	16	/* parameters on one MAIL or RCPT command */
#define SIZE_DIGITS	20	/* RFC 1870: size-value = 1*20DIGIT */
#define KW_SHOW		32	/* octets of an unknown keyword in a reply */

#define MSG_MAIL_SYNTAX	"501 5.5.4 Syntax: MAIL FROM:<address>"
#define MSG_RCPT_SYNTAX	"501 5.5.4 Syntax: RCPT TO:<address>"
#define MSG_BAD_SENDER	"501 5.1.7 Bad sender address syntax"
#define MSG_BAD_RCPT	"501 5.1.3 Bad recipient address syntax"
#define MSG_PARAM_SYNTAX "501 5.5.4 Syntax error in parameters"

struct param {
	const char	*kw;
	size_t		 kwlen;
	const char	*val;		/* NULL: no "=value" */
	size_t		 vallen;
};

/* smtp_cmd_fail - set the reply line in e; always returns -1 */
static int
smtp_cmd_fail(struct err *e, const char *reply)
{
	return err_set(e, false, 0, "%s", reply);
}

/* smtp_cmd_skip_sp - index of the first non-space at or after i */
static size_t
smtp_cmd_skip_sp(const char *s, size_t len, size_t i)
{
	while (i < len && s[i] == ' ')
		i++;
	return i;
}

/*
 * smtp_cmd_prefix - match the case-insensitive word ("FROM:", "TO:") after
 * optional spaces; returns the index after it and any following spaces,
 * or 0 if it is not there.
 */
static size_t
smtp_cmd_prefix(const char *s, size_t len, const char *word)
{
	size_t	i = smtp_cmd_skip_sp(s, len, 0), wl = strlen(word);

	if (len - i < wl || strncasecmp(s + i, word, wl) != 0)
		return 0;
	return smtp_cmd_skip_sp(s, len, i + wl);
}

/*
 * smtp_cmd_path_end - s[start] is '<'; return the index just after the
 * matching '>', skipping quoted strings (a quoted local part may hold '>'),
 * or 0 if there is none.
 */
static size_t
smtp_cmd_path_end(const char *s, size_t len, size_t start)
{
	size_t	i = start + 1;
	int	inq = 0;

	while (i < len) {
		if (inq && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			inq = !inq;
		else if (!inq && s[i] == '>')
			return i + 1;
		i++;
	}
	return 0;
}

/*
 * smtp_cmd_strip_route - drop an A-d-l ("@a,@b:") at the start of the
 * path's content s (len bytes).  Sets *off to where the mailbox begins and
 * *had_route; -1 if the route is malformed.
 */
static int
smtp_cmd_strip_route(const char *s, size_t len, bool utf8, size_t *off,
    bool *had_route)
{
	size_t	i = 0, start;

	*off = 0;
	*had_route = false;
	if (len == 0 || s[0] != '@')
		return 0;
	for (;;) {
		if (i >= len || s[i] != '@')
			return -1;
		start = ++i;
		while (i < len && s[i] != ',' && s[i] != ':')
			i++;
		if (i >= len)
			return -1;
		if (!addr_domain_valid(s + start, i - start, utf8) &&
		    !addr_literal_valid(s + start, i - start))
			return -1;
		if (s[i++] == ':')
			break;
	}
	*off = i;
	*had_route = true;
	return 0;
}

/* smtp_cmd_is_alnum - ASCII letter or digit */
static bool
smtp_cmd_is_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9');
}

/*
 * smtp_cmd_params - split "kw[=val] kw[=val] ..." (s, len) into p[]:
 * esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"),
 * esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 octets (RFC 6531 3.3,
 * checked no further: only AUTH= carries free text and it is ignored).
 * Returns the count, or -1 on a syntax error or too many parameters.
 */
static int
smtp_cmd_params(const char *s, size_t len, struct param *p, size_t pmax)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, n = 0;

	for (;;) {
		i = smtp_cmd_skip_sp(s, len, i);
		if (i >= len)
			break;
		if (n == pmax)
			return -1;
		p[n].kw = s + i;
		while (i < len && (smtp_cmd_is_alnum(u[i]) ||
		    (u[i] == '-' && s + i != p[n].kw)))
			i++;
		p[n].kwlen = (size_t)(s + i - p[n].kw);
		if (p[n].kwlen == 0)
			return -1;
		p[n].val = NULL;
		p[n].vallen = 0;
		if (i < len && s[i] == '=') {
			p[n].val = s + ++i;
			while (i < len && ((u[i] >= 33 && u[i] <= 126 &&
			    u[i] != '=') || u[i] >= 0x80))
				i++;
			p[n].vallen = (size_t)(s + i - p[n].val);
			if (p[n].vallen == 0)
				return -1;
		}
		if (i < len && s[i] != ' ')
			return -1;
		n++;
	}
	return (int)n;
}

/* smtp_cmd_is_kw - case-insensitive keyword comparison */
static bool
smtp_cmd_is_kw(const struct param *p, const char *kw)
{
	return strlen(kw) == p->kwlen && strncasecmp(p->kw, kw, p->kwlen) == 0;
}

/* smtp_cmd_unsupported - the 555 reply naming the parameter */
static int
smtp_cmd_unsupported(const struct param *p, struct err *e)
{
	int	n = p->kwlen > KW_SHOW ? KW_SHOW : (int)p->kwlen;

	return err_set(e, false, 0, "555 5.5.4 Unsupported parameter %.*s",
	    n, p->kw);
}

/* smtp_cmd_size - RFC 1870 size-value = 1*20DIGIT, fitting 64 bits */
static int
smtp_cmd_size(const struct param *p, unsigned long long *out)
{
	unsigned long long	v = 0;
	unsigned		d;
	size_t			i;

	if (p->val == NULL || p->vallen > SIZE_DIGITS)
		return -1;
	for (i = 0; i < p->vallen; i++) {
		if (p->val[i] < '0' || p->val[i] > '9')
			return -1;
		d = (unsigned)(p->val[i] - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/*
 * smtp_cmd_mail_params - apply MAIL parameters to a; e gets the reply.
 */
static int
smtp_cmd_mail_params(const struct param *p, size_t n, struct mail_args *a,
    struct err *e)
{
	bool	seen_body = false, seen_auth = false;
	size_t	i;

	for (i = 0; i < n; i++) {
		if (smtp_cmd_is_kw(&p[i], "SIZE")) {
			if (a->has_size)
				goto dup;
			if (smtp_cmd_size(&p[i], &a->size) == -1)
				return smtp_cmd_fail(e,
				    "501 5.5.4 Invalid SIZE parameter");
			a->has_size = true;
		} else if (smtp_cmd_is_kw(&p[i], "BODY")) {
			if (seen_body)
				goto dup;
			seen_body = true;
			if (p[i].val != NULL && p[i].vallen == 4 &&
			    strncasecmp(p[i].val, "7BIT", 4) == 0)
				a->body = BODY_7BIT;
			else if (p[i].val != NULL && p[i].vallen == 8 &&
			    strncasecmp(p[i].val, "8BITMIME", 8) == 0)
				a->body = BODY_8BITMIME;
			else
				return smtp_cmd_fail(e,
				    "501 5.5.4 Invalid BODY parameter");
		} else if (smtp_cmd_is_kw(&p[i], "SMTPUTF8")) {
			if (a->smtputf8)
				goto dup;
			if (p[i].val != NULL)
				return smtp_cmd_fail(e,
				    "501 5.5.4 SMTPUTF8 takes no value");
			a->smtputf8 = true;
		} else if (smtp_cmd_is_kw(&p[i], "AUTH")) {
			/* RFC 4954 5: accepted and ignored (never relayed) */
			if (seen_auth)
				goto dup;
			if (p[i].val == NULL)
				return smtp_cmd_fail(e,
				    "501 5.5.4 AUTH parameter needs a value");
			seen_auth = true;
		} else
			return smtp_cmd_unsupported(&p[i], e);
	}
	return 0;
dup:
	return err_set(e, false, 0, "501 5.5.4 Duplicate parameter %.*s",
	    p[i].kwlen > KW_SHOW ? KW_SHOW : (int)p[i].kwlen, p[i].kw);
}

/*
 * smtp_cmd_path - find "<...>" after the prefix and split off the params.
 * On success (*ps, *pl) is the content between the brackets and
 * (*rest, *rlen) what follows the '>'.  Returns -1 with the reply in e.
 */
static int
smtp_cmd_path(const char *arg, size_t len, size_t i, const char *bad,
    const char **ps, size_t *pl, const char **rest, size_t *rlen,
    struct err *e)
{
	size_t	end;

	if (i >= len || arg[i] != '<')
		return smtp_cmd_fail(e, bad);
	if ((end = smtp_cmd_path_end(arg, len, i)) == 0)
		return smtp_cmd_fail(e, bad);
	if (end - i > LIM_PATH)
		return smtp_cmd_fail(e, bad);
	if (end < len && arg[end] != ' ')
		return smtp_cmd_fail(e, bad);
	*ps = arg + i + 1;
	*pl = end - i - 2;
	*rest = arg + end;
	*rlen = len - end;
	return 0;
}

/* smtp_cmd_parse_mail - "FROM:<path> params" (see smtp_cmd.h) */
int
smtp_cmd_parse_mail(const char *arg, size_t len, struct mail_args *out,
    struct err *e)
{
	struct mail_args	 a;
	struct param		 p[PARAM_MAX];
	const char		*ps, *rest;
	size_t			 pl, rlen, i, off;
	int			 n;

	memset(&a, 0, sizeof(a));
	a.body = BODY_7BIT;
	if ((i = smtp_cmd_prefix(arg, len, "FROM:")) == 0 || i >= len)
		return smtp_cmd_fail(e, MSG_MAIL_SYNTAX);
	if (smtp_cmd_path(arg, len, i, MSG_BAD_SENDER, &ps, &pl, &rest, &rlen,
	    e) == -1)
		return -1;
	if ((n = smtp_cmd_params(rest, rlen, p, PARAM_MAX)) == -1)
		return smtp_cmd_fail(e, MSG_PARAM_SYNTAX);
	if (smtp_cmd_mail_params(p, (size_t)n, &a, e) == -1)
		return -1;
	if (pl == 0)
		a.null_sender = true;
	else {
		if (smtp_cmd_strip_route(ps, pl, a.smtputf8, &off,
		    &a.had_route) == -1)
			return smtp_cmd_fail(e, MSG_BAD_SENDER);
		if (addr_parse_mailbox(ps + off, pl - off, a.smtputf8, &a.mb,
		    NULL) == -1)
			return smtp_cmd_fail(e, MSG_BAD_SENDER);
	}
	*out = a;
	return 0;
}

/* smtp_cmd_parse_rcpt - "TO:<path> params" (see smtp_cmd.h) */
int
smtp_cmd_parse_rcpt(const char *arg, size_t len, bool utf8,
    struct rcpt_args *out, struct err *e)
{
	struct rcpt_args	 a;
	struct param		 p[PARAM_MAX];
	const char		*ps, *rest;
	size_t			 pl, rlen, i, off;
	int			 n;

	memset(&a, 0, sizeof(a));
	if ((i = smtp_cmd_prefix(arg, len, "TO:")) == 0 || i >= len)
		return smtp_cmd_fail(e, MSG_RCPT_SYNTAX);
	if (smtp_cmd_path(arg, len, i, MSG_BAD_RCPT, &ps, &pl, &rest, &rlen,
	    e) == -1)
		return -1;
	if ((n = smtp_cmd_params(rest, rlen, p, PARAM_MAX)) == -1)
		return smtp_cmd_fail(e, MSG_PARAM_SYNTAX);
	if (n > 0)
		return smtp_cmd_unsupported(&p[0], e);
	if (smtp_cmd_strip_route(ps, pl, utf8, &off, &a.had_route) == -1)
		return smtp_cmd_fail(e, MSG_BAD_RCPT);
	ps += off;
	pl -= off;
	/* RFC 5321 4.1.1.3: "<Postmaster>" without a domain, any case */
	if (pl == 10 && strncasecmp(ps, "postmaster", 10) == 0) {
		memcpy(a.mb.local, "postmaster", sizeof("postmaster"));
		a.mb.domain[0] = '\0';
		a.postmaster = true;
	} else if (addr_parse_mailbox(ps, pl, utf8, &a.mb, NULL) == -1)
		return smtp_cmd_fail(e, MSG_BAD_RCPT);
	*out = a;
	return 0;
}

/* smtp_cmd_parse_helo - the EHLO/HELO argument (see smtp_cmd.h) */
int
smtp_cmd_parse_helo(const char *arg, size_t len, char *out, size_t outsz,
    struct err *e)
{
	size_t	i, end;
	bool	ok;

	i = smtp_cmd_skip_sp(arg, len, 0);
	for (end = i; end < len && arg[end] != ' '; end++)
		;
	if (end == i)
		return smtp_cmd_fail(e, "501 5.5.4 Invalid domain name");
	if (arg[i] == '[')
		ok = addr_literal_valid(arg + i, end - i);
	else
		ok = addr_domain_valid(arg + i, end - i, false);
	if (!ok || end - i >= outsz)
		return smtp_cmd_fail(e, "501 5.5.4 Invalid domain name");
	memcpy(out, arg + i, end - i);
	out[end - i] = '\0';
	return 0;
}
