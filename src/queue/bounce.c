/*
 * bounce.c - delivery status notifications, RFC 3464 (bounce.h).
 *
 * Runs in the queue process.  Pure apart from pread() on the original
 * message's descriptor, time() and getrandom(): it builds the whole
 * notification in memory and appends it to the caller's buf only when it
 * is complete, so a failure leaves the output untouched.
 *
 * Hostile input: the original message (its header section is copied) and
 * the remote servers' replies (diagnostics).  Neither can inject a header
 * or a MIME boundary: every value is stripped of CR, LF and control
 * characters (value_clean) and folded below 998 octets (fold_add); the
 * copied headers get CRLF line ends and are broken at 998 octets
 * (head_copy); the boundary is random and checked against all three parts.
 * At most BOUNCE_MAX_HEADERS octets of the original are read, and the
 * whole notification is bounded by the cap of the caller's buf.
 *
 * Never bounces to the null sender or to MAILER-DAEMON (RFC 5321 6.1,
 * RFC 3834): bounce_build() refuses such a sender.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "strutil.h"
#include "xmalloc.h"
#include "queue/bounce.h"

/* RFC 5322 2.1.1: a line is at most 998 octets, excluding CRLF */
#define LINE_MAX_OCTETS	998
/* where fields and text are folded when they can be (RFC 5322 2.1.1) */
#define FOLD_WIDTH	78
#define TEXT_WIDTH	74
/* tries at a boundary that occurs in none of the parts */
#define BOUNDARY_TRIES	16

/* a bounce's bytes and whether one of them did not fit under the cap */
struct wr {
	struct buf	b;
	bool		full;
};

/* counter for Message-IDs and boundaries; shared by the queue's threads */
static atomic_uint_fast64_t	bounce_seq;

/* plain words for the enhanced status codes (RFC 3463) people meet most */
static const struct {
	const char	*code;		/* "subject.detail" */
	const char	*words;
} status_words[] = {
	{ "1.1", "the mailbox does not exist" },
	{ "1.2", "the destination domain does not exist or takes no mail" },
	{ "1.3", "the address is not valid" },
	{ "1.6", "the mailbox has moved" },
	{ "1.10", "the destination domain does not accept mail" },
	{ "2.1", "the mailbox is disabled" },
	{ "2.2", "the mailbox is full" },
	{ "2.3", "the message is larger than the mailbox accepts" },
	{ "3.4", "the message is larger than the receiving system accepts" },
	{ "4.1", "the receiving mail server did not answer" },
	{ "4.2", "the connection to the receiving mail server broke" },
	{ "4.3", "the destination could not be looked up in the DNS" },
	{ "4.4", "no mail server could be found for the destination" },
	{ "4.6", "the message was caught in a mail loop" },
	{ "4.7", "the message stayed in the queue for too long" },
	{ "5.3", "the message has too many recipients" },
	{ "7.1", "the receiving system refused it by policy" },
};

/* the same by subject alone, indexed by the middle number 0..7 */
static const char *const subject_words[] = {
	"an unspecified problem",
	"a problem with the address",
	"a problem with the mailbox",
	"a problem with the receiving mail system",
	"a network or routing problem",
	"a mail protocol problem",
	"a problem with the message content",
	"a security or policy problem",
};

static const char *const wdays[] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};
static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* wr_add - append n bytes unless the cap has been reached */
static void
wr_add(struct wr *w, const void *p, size_t n)
{
	if (!w->full && buf_add(&w->b, p, n) == -1)
		w->full = true;
}

static void
wr_str(struct wr *w, const char *s)
{
	wr_add(w, s, strlen(s));
}

/* wr_fmt - append formatted text (our own short strings only) */
static void __attribute__((format(printf, 2, 3)))
wr_fmt(struct wr *w, const char *fmt, ...)
{
	va_list	 ap;
	char	*s = NULL;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		w->full = true;
		return;
	}
	wr_add(w, s, (size_t)n);
	free(s);
}

/*
 * fold_add - append prefix and value as one logical line: broken at a
 * space before `width` octets where one can be, never past 998 octets (a
 * word longer than that is cut), continuation lines starting with indent.
 * A space where the line is broken is replaced by indent, so a header
 * field (indent " ") unfolds to exactly its value.  value must come from
 * value_clean() (no CR, LF, leading, trailing or doubled blanks).
 */
static void
fold_add(struct wr *w, const char *prefix, const char *value,
    const char *indent, size_t width)
{
	size_t	 col = strlen(prefix), ilen = strlen(indent);
	size_t	 left = strlen(value), room, brk, i;
	const char *p = value;

	wr_str(w, prefix);
	while (left > 0) {
		if (col + left <= width)
			break;
		/* the last space that keeps the line within width */
		brk = 0;
		room = width > col ? width - col : 0;
		for (i = room < left - 1 ? room : left - 1; i > 0; i--)
			if (p[i] == ' ') {
				brk = i;
				break;
			}
		/* else the first one within the hard limit */
		for (i = 1; brk == 0 && i < left && col + i <= LINE_MAX_OCTETS;
		    i++)
			if (p[i] == ' ')
				brk = i;
		if (brk == 0 && col + left <= LINE_MAX_OCTETS)
			break;
		if (brk > 0) {
			wr_add(w, p, brk);
			p += brk + 1;
			left -= brk + 1;
		} else {
			/* one word past the limit: cut it */
			brk = LINE_MAX_OCTETS - col;
			wr_add(w, p, brk);
			p += brk;
			left -= brk;
		}
		wr_str(w, "\r\n");
		wr_str(w, indent);
		col = ilen;
	}
	wr_add(w, p, left);
	wr_str(w, "\r\n");
}

/*
 * value_clean - a copy of s fit for a header field or a line of text:
 * control characters and DEL dropped (CR and LF among them, so no value
 * can start a header), blanks collapsed to one space, none at either end.
 * NULL gives "".  8-bit octets are kept.
 */
static char *
value_clean(const char *s)
{
	char		*out, *q;
	unsigned char	 c;
	bool		 blank = false;

	if (s == NULL)
		return xstrdup("");
	out = q = xmalloc(strlen(s) + 1);
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == ' ' || c == '\t') {
			blank = q != out;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			continue;
		if (blank)
			*q++ = ' ';
		blank = false;
		*q++ = (char)c;
	}
	*q = '\0';
	return out;
}

/*
 * token_clean - a copy of s with only the octets of a host name, address
 * literal or queue id (letters, digits, "-._" and, for literals, ":[]")
 */
static char *
token_clean(const char *s, bool literal)
{
	char	*out, *q;
	char	 c;

	if (s == NULL)
		return xstrdup("");
	out = q = xmalloc(strlen(s) + 1);
	for (; *s != '\0'; s++) {
		c = *s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || (literal && (c == ':' || c == '[' || c == ']')))
			*q++ = c;
	}
	*q = '\0';
	return out;
}

/*
 * mta_name - the Remote-MTA name (RFC 3464 2.3.5, type dns): the host
 * name alone of the queue's "mx.example [192.0.2.1]" (up to the first
 * blank or line break), token_clean()ed
 */
static char *
mta_name(const char *s)
{
	char	*name, *out;

	if (s == NULL)
		return xstrdup("");
	name = xstrndup(s, strcspn(s, " \t\r\n"));
	out = token_clean(name, true);
	free(name);
	return out;
}

/* date_fmt - RFC 5322 3.3 date-time, local time with its offset */
static void
date_fmt(time_t t, char *out, size_t outsz)
{
	struct tm	tm;
	long		off;

	if (localtime_r(&t, &tm) == NULL && gmtime_r(&t, &tm) == NULL) {
		(void)str_fmt(out, outsz, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	off = tm.tm_gmtoff / 60;
	(void)str_fmt(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
	    wdays[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

/* status_valid - is s[0..len) an enhanced status code "c.sss.ddd"? */
static bool
status_valid(const char *s, size_t len)
{
	size_t	i = 2, n;
	int	part;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.')
		return false;
	for (part = 0; part < 2; part++) {
		for (n = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			n++;
		if (n < 1 || n > 3)
			return false;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
	}
	return i == len;
}

/*
 * status_pick - the recipient's status: its own if well formed, else
 * the enhanced code of its diagnostic ("550 5.1.1 ...") when the classes
 * agree, else 5.0.0 (failed) or 4.0.0 (delayed)
 */
static void
status_pick(const struct bounce_rcpt *r, char *out, size_t outsz)
{
	const char	*d = r->diag, *s;
	size_t		 n;

	if (r->status != NULL && status_valid(r->status, strlen(r->status)) &&
	    str_copy(out, r->status, outsz) == 0)
		return;
	if (d != NULL && d[0] >= '2' && d[0] <= '5' && d[1] >= '0' &&
	    d[1] <= '9' && d[2] >= '0' && d[2] <= '9' &&
	    (d[3] == ' ' || d[3] == '-')) {
		s = d + 4;
		n = strcspn(s, " \t\r\n");
		if (status_valid(s, n) && s[0] == d[0] && n < outsz) {
			memcpy(out, s, n);
			out[n] = '\0';
			return;
		}
	}
	/* our own errors: "x.y.z text" */
	if (d != NULL && (d[0] == '4' || d[0] == '5') && d[1] == '.') {
		n = strcspn(d, " \t\r\n");
		if (status_valid(d, n) && n < outsz) {
			memcpy(out, d, n);
			out[n] = '\0';
			return;
		}
	}
	(void)str_copy(out, r->failed ? "5.0.0" : "4.0.0", outsz);
}

/* status_explain - what a status code means, in plain words */
static const char *
status_explain(const char *status)
{
	const char	*sd = strchr(status, '.') + 1;	/* valid: has two */
	size_t		 i;

	for (i = 0; i < sizeof(status_words) / sizeof(status_words[0]); i++)
		if (strcmp(sd, status_words[i].code) == 0)
			return status_words[i].words;
	if (sd[0] >= '0' && sd[0] <= '7' && sd[1] == '.')
		return subject_words[sd[0] - '0'];
	return subject_words[0];
}

/* random64 - 64 random bits; the counter keeps them distinct regardless */
static uint64_t
random64(void)
{
	uint64_t	r, z;

	z = atomic_fetch_add(&bounce_seq, 1) + 1;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	/* splitmix64 of counter, time and pid */
	z = z * 0x9e3779b97f4a7c15ULL ^ (uint64_t)time(NULL) ^
	    ((uint64_t)getpid() << 32);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * head_read - up to BOUNCE_MAX_HEADERS octets from the start of fd, and
 * the length of the header section in them: up to (not including) the
 * first empty line; without one, everything, less a partial last line
 * when the cap cut it and there is a complete line before it.
 */
static int
head_read(int fd, char **textp, size_t *lenp, struct err *e)
{
	char		*p = xmalloc(BOUNCE_MAX_HEADERS);
	const char	*lf;
	size_t		 len = 0, pos = 0, end;
	ssize_t		 n;

	while (len < BOUNCE_MAX_HEADERS) {
		n = pread(fd, p + len, BOUNCE_MAX_HEADERS - len, (off_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(e, true, errno, "bounce: read message: %s",
			    strerror(errno));
			free(p);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	end = len;
	while (pos < len) {
		if ((lf = memchr(p + pos, '\n', len - pos)) == NULL) {
			if (len == BOUNCE_MAX_HEADERS && pos > 0)
				end = pos;
			break;
		}
		if ((size_t)(lf - p) == pos ||
		    ((size_t)(lf - p) == pos + 1 && p[pos] == '\r')) {
			end = pos;
			break;
		}
		pos = (size_t)(lf - p) + 1;
	}
	*textp = p;
	*lenp = end;
	return 0;
}

/*
 * head_copy - append header text with CRLF line ends: LF (with or without
 * CR) ends a line, other CRs and NULs are dropped, lines left empty are
 * dropped (an empty line would end the section), and a line reaching 998
 * octets continues on the next one after a space.
 */
static void
head_copy(struct wr *w, const char *p, size_t n)
{
	char	 chunk[1024];
	size_t	 i, cn = 0, col = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || p[i] == '\n') {
			if (col > 0) {
				chunk[cn++] = '\r';
				chunk[cn++] = '\n';
			}
			col = 0;
		} else if (p[i] != '\r' && p[i] != '\0') {
			if (col == LINE_MAX_OCTETS) {
				chunk[cn++] = '\r';
				chunk[cn++] = '\n';
				chunk[cn++] = ' ';
				col = 1;
			}
			chunk[cn++] = p[i];
			col++;
		}
		if (cn > sizeof(chunk) - 4) {
			wr_add(w, chunk, cn);
			cn = 0;
		}
	}
	wr_add(w, chunk, cn);
}

/* has_8bit - does the buffer hold an octet above 127? */
static bool
has_8bit(const struct wr *w)
{
	const unsigned char	*p = (const unsigned char *)buf_ptr(&w->b);
	size_t			 i, n = buf_avail(&w->b);

	for (i = 0; i < n; i++)
		if (p[i] > 0x7f)
			return true;
	return false;
}

/* para - append a paragraph of text and the empty line after it */
static void
para(struct wr *w, const char *text)
{
	char	*v = value_clean(text);

	fold_add(w, "", v, "", TEXT_WIDTH);
	wr_str(w, "\r\n");
	free(v);
}

/* text_rcpt - the plain-words lines about one recipient */
static void
text_rcpt(struct wr *w, const struct bounce_rcpt *r)
{
	char	 status[16], *addr, *orig, *diag, *mta, *s;

	addr = value_clean(r->addr);
	orig = value_clean(r->orig);
	diag = value_clean(r->diag);
	mta = value_clean(r->remote_mta);	/* name and address */
	status_pick(r, status, sizeof(status));

	(void)xasprintf(&s, "<%s>: %s", addr, r->failed ? "delivery failed" :
	    "not delivered yet, still trying");
	fold_add(w, "", s, "    ", TEXT_WIDTH);
	free(s);
	if (*orig != '\0' && strcmp(orig, addr) != 0) {
		(void)xasprintf(&s, "(you sent it to <%s>)", orig);
		fold_add(w, "    ", s, "      ", TEXT_WIDTH);
		free(s);
	}
	(void)xasprintf(&s, "Reason: %s (%s).", status_explain(status),
	    status);
	fold_add(w, "    ", s, "      ", TEXT_WIDTH);
	free(s);
	if (*diag != '\0') {
		if (*mta != '\0')
			(void)xasprintf(&s, "The mail server %s said: %s", mta,
			    diag);
		else
			(void)xasprintf(&s, "Details: %s", diag);
		fold_add(w, "    ", s, "      ", TEXT_WIDTH);
		free(s);
	}
	wr_str(w, "\r\n");
	free(mta);
	free(diag);
	free(orig);
	free(addr);
}

/* text_build - the human-readable part */
static void
text_build(struct wr *w, const struct bounce_msg *m, const char *host,
    const char *id, time_t until)
{
	char	 date[64], *s;
	size_t	 i, nfailed = 0;

	for (i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i].failed)
			nfailed++;
	(void)xasprintf(&s, "This is the mail delivery system at %s.", host);
	para(w, s);
	free(s);
	if (m->warning)
		para(w, "This is a warning only; you do not need to send your "
		    "message again.");
	if (nfailed > 0)
		para(w, "Your message could not be delivered to the "
		    "recipients marked \"delivery failed\" below. This is a "
		    "permanent error: no further attempts will be made for "
		    "them.");
	if (nfailed < m->nrcpts) {
		if (until > 0) {
			date_fmt(until, date, sizeof(date));
			(void)xasprintf(&s, "Your message has not been "
			    "delivered yet to the recipients marked \"not "
			    "delivered yet\" below. Delivery will be tried "
			    "again until %s; if it has not succeeded by then, "
			    "you will receive another message.", date);
		} else
			s = xstrdup("Your message has not been delivered yet "
			    "to the recipients marked \"not delivered yet\" "
			    "below. Delivery will be tried again; if it does "
			    "not succeed, you will receive another message.");
		para(w, s);
		free(s);
	}
	if (m->arrival > 0) {
		date_fmt(m->arrival, date, sizeof(date));
		(void)xasprintf(&s, "Your message (queue id %s) was received "
		    "on %s.", id, date);
	} else
		(void)xasprintf(&s, "Your message has queue id %s.", id);
	para(w, s);
	free(s);
	for (i = 0; i < m->nrcpts; i++)
		text_rcpt(w, &m->rcpts[i]);
	fold_add(w, "", "The headers of your message are attached below; "
	    "its body is not.", "", TEXT_WIDTH);
}

/* dsn_rcpt - one recipient's fields, RFC 3464 2.3 */
static void
dsn_rcpt(struct wr *w, const struct bounce_rcpt *r, time_t until)
{
	char		 status[16], date[64], *addr, *orig, *diag, *mta;
	const char	*type;

	addr = value_clean(r->addr);
	orig = value_clean(r->orig);
	diag = value_clean(r->diag);
	mta = mta_name(r->remote_mta);
	status_pick(r, status, sizeof(status));

	wr_str(w, "\r\n");
	if (*orig != '\0' && strcmp(orig, addr) != 0)
		fold_add(w, "Original-Recipient: rfc822; ", orig, " ",
		    FOLD_WIDTH);
	fold_add(w, "Final-Recipient: rfc822; ", addr, " ", FOLD_WIDTH);
	wr_fmt(w, "Action: %s\r\n", r->failed ? "failed" : "delayed");
	wr_fmt(w, "Status: %s\r\n", status);
	if (*mta != '\0')
		fold_add(w, "Remote-MTA: dns; ", mta, " ", FOLD_WIDTH);
	if (*diag != '\0') {
		/* an SMTP reply is type smtp; our own words are not */
		type = diag[0] >= '2' && diag[0] <= '5' && diag[1] >= '0' &&
		    diag[1] <= '9' && diag[2] >= '0' && diag[2] <= '9' &&
		    (diag[3] == ' ' || diag[3] == '-' || diag[3] == '\0') ?
		    "Diagnostic-Code: smtp; " : "Diagnostic-Code: x-postern; ";
		fold_add(w, type, diag, " ", FOLD_WIDTH);
	}
	if (!r->failed && until > 0) {
		date_fmt(until, date, sizeof(date));
		wr_fmt(w, "Will-Retry-Until: %s\r\n", date);
	}
	free(mta);
	free(diag);
	free(orig);
	free(addr);
}

/* dsn_build - the message/delivery-status part, RFC 3464 2.2 and 2.3 */
static void
dsn_build(struct wr *w, const struct bounce_msg *m, const char *host,
    const char *id, time_t until)
{
	char	date[64];
	size_t	i;

	fold_add(w, "Reporting-MTA: dns; ", host, " ", FOLD_WIDTH);
	fold_add(w, "X-Postern-Queue-ID: ", id, " ", FOLD_WIDTH);
	if (m->arrival > 0) {
		date_fmt(m->arrival, date, sizeof(date));
		wr_fmt(w, "Arrival-Date: %s\r\n", date);
	}
	for (i = 0; i < m->nrcpts; i++)
		dsn_rcpt(w, &m->rcpts[i], until);
}

/* boundary_pick - a boundary found in none of the parts */
static int
boundary_pick(char *out, size_t outsz, struct wr *const parts[], size_t n)
{
	size_t	i, t;
	bool	seen;

	for (t = 0; t < BOUNDARY_TRIES; t++) {
		if (str_fmt(out, outsz, "=_postern_%016llx%08llx",
		    (unsigned long long)random64(),
		    (unsigned long long)(random64() & 0xffffffffULL)) == -1)
			return -1;
		seen = false;
		for (i = 0; i < n && !seen; i++)
			seen = memmem(buf_ptr(&parts[i]->b),
			    buf_avail(&parts[i]->b), out, strlen(out)) != NULL;
		if (!seen)
			return 0;
	}
	return -1;
}

/* part_add - one body part: delimiter, its header fields, its content */
static void
part_add(struct wr *w, const char *boundary, const char *type,
    const char *desc, const struct wr *content)
{
	wr_fmt(w, "\r\n--%s\r\n", boundary);
	wr_fmt(w, "Content-Type: %s\r\n", type);
	wr_fmt(w, "Content-Description: %s\r\n", desc);
	if (has_8bit(content))
		wr_str(w, "Content-Transfer-Encoding: 8bit\r\n");
	wr_str(w, "\r\n");
	wr_add(w, buf_ptr(&content->b), buf_avail(&content->b));
}

/* args_check - refuse what cannot make a bounce */
static int
args_check(const struct bounce_msg *m, struct err *e)
{
	size_t	i;

	if (m->id == NULL || m->hostname == NULL || m->from == NULL)
		return err_set(e, false, EINVAL, "bounce: missing id, "
		    "hostname or sender");
	/* m->id is not cleaned yet: it stays out of the messages */
	if (!bounce_wanted(m->from))
		return err_set(e, false, EINVAL, "bounce: no bounce to the "
		    "null sender or MAILER-DAEMON");
	if (m->nrcpts == 0 || m->rcpts == NULL)
		return err_set(e, false, EINVAL, "bounce: no recipients");
	for (i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i].addr == NULL || *m->rcpts[i].addr == '\0')
			return err_set(e, false, EINVAL, "bounce: recipient "
			    "%zu has no address", i);
	return 0;
}

int
bounce_build(const struct bounce_msg *m, int body_fd, struct buf *out,
    struct err *e)
{
	struct wr	 text, dsn, head, all;
	struct wr	*parts[] = { &text, &dsn, &head };
	char		 boundary[64], date[64], *host = NULL, *id = NULL;
	char		*from = NULL, *to = NULL, *orig = NULL;
	size_t		 olen = 0;
	time_t		 now = time(NULL), until = 0;
	int		 rc = -1;

	memset(&text, 0, sizeof(text));
	memset(&dsn, 0, sizeof(dsn));
	memset(&head, 0, sizeof(head));
	memset(&all, 0, sizeof(all));
	buf_init(&text.b, out->cap);
	buf_init(&dsn.b, out->cap);
	buf_init(&head.b, out->cap);
	buf_init(&all.b, out->cap);
	/* a real pointer even for a part left empty (memmem, buf_ptr) */
	(void)buf_reserve(&text.b, 0);
	(void)buf_reserve(&dsn.b, 0);
	(void)buf_reserve(&head.b, 0);
	if (args_check(m, e) == -1)
		goto out;
	host = token_clean(m->hostname, false);
	id = token_clean(m->id, false);
	from = value_clean(m->from);
	if ((olen = strlen(from)) >= 2 && from[0] == '<' &&
	    from[olen - 1] == '>') {
		memmove(from, from + 1, olen - 2);
		from[olen - 2] = '\0';
	}
	if (*host == '\0' || *id == '\0' || *from == '\0') {
		err_set(e, false, EINVAL, "bounce: bad hostname, queue id or "
		    "sender");
		goto out;
	}
	if (head_read(body_fd, &orig, &olen, e) == -1)
		goto out;
	if (m->prefix != NULL && m->prefix[0] != '\0') {
		/* the header as it was delivered: ours in front */
		size_t	 plen = strlen(m->prefix);
		char	*both = xmalloc(plen + olen + 1);

		memcpy(both, m->prefix, plen);
		memcpy(both + plen, orig, olen);
		free(orig);
		orig = both;
		olen += plen;
	}
	if (m->retry_hours > 0 && (m->arrival > 0 ? m->arrival : now) <=
	    INT64_MAX - (int64_t)m->retry_hours * 3600)
		until = (m->arrival > 0 ? m->arrival : now) +
		    (time_t)m->retry_hours * 3600;

	text_build(&text, m, host, id, until);
	dsn_build(&dsn, m, host, id, until);
	head_copy(&head, orig, olen);
	if (boundary_pick(boundary, sizeof(boundary), parts, 3) == -1) {
		err_set(e, false, 0, "bounce: %s: no usable MIME boundary",
		    id);
		goto out;
	}

	/* RFC 5322 3.6, RFC 3834 5, RFC 3464 2 */
	wr_fmt(&all, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n",
	    host);
	(void)xasprintf(&to, "<%s>", from);
	fold_add(&all, "To: ", to, " ", FOLD_WIDTH);
	wr_fmt(&all, "Subject: %s\r\n", m->warning ?
	    "Delayed Mail (still being retried)" :
	    "Undelivered Mail Returned to Sender");
	date_fmt(now, date, sizeof(date));
	wr_fmt(&all, "Date: %s\r\n", date);
	wr_fmt(&all, "Message-ID: <%s.bounce.%llu.%016llx@%s>\r\n", id,
	    (unsigned long long)atomic_fetch_add(&bounce_seq, 1),
	    (unsigned long long)random64(), host);
	wr_str(&all, "Auto-Submitted: auto-replied\r\n");
	wr_str(&all, "MIME-Version: 1.0\r\n");
	wr_fmt(&all, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n", boundary);
	if (has_8bit(&all) || has_8bit(&text) || has_8bit(&dsn) ||
	    has_8bit(&head))
		wr_str(&all, "Content-Transfer-Encoding: 8bit\r\n");
	wr_str(&all, "\r\nThis is a delivery status notification (RFC 3464) "
	    "in MIME format.\r\n");
	part_add(&all, boundary, has_8bit(&text) ?
	    "text/plain; charset=utf-8" : "text/plain; charset=us-ascii",
	    "Notification", &text);
	part_add(&all, boundary, "message/delivery-status", "Delivery report",
	    &dsn);
	part_add(&all, boundary, "text/rfc822-headers",
	    "Headers of the original message", &head);
	wr_fmt(&all, "\r\n--%s--\r\n", boundary);

	if (text.full || dsn.full || head.full || all.full ||
	    buf_add(out, buf_ptr(&all.b), buf_avail(&all.b)) == -1) {
		err_set(e, false, 0, "bounce: %s: larger than %zu octets", id,
		    out->cap);
		goto out;
	}
	rc = 0;
out:
	buf_release(&all.b);
	buf_release(&head.b);
	buf_release(&dsn.b);
	buf_release(&text.b);
	free(orig);
	free(to);
	free(from);
	free(id);
	free(host);
	return rc;
}

bool
bounce_wanted(const char *envelope_from)
{
	const char	*s = envelope_from, *at;
	size_t		 len;

	if (s == NULL)
		return false;
	len = strlen(s);
	if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
		s++;
		len -= 2;
	}
	if (len == 0)
		return false;
	/* the local part ends at the last "@" (a quoted one may hold "@") */
	for (at = s + len; at > s && at[-1] != '@'; at--)
		;
	if (at > s)
		len = (size_t)(at - 1 - s);
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	return !str_eq_word(s, len, "mailer-daemon");
}
