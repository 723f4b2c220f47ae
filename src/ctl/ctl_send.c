/*
 * ctl_send.c - "postern send": one test message through submission.
 *
 *	postern [-C DIR] send --from ADDR --to ADDR [--to ADDR...]
 *	    [--server HOST:PORT] [--user U --password-stdin]
 *	    [--starttls|--tls] [--subject S] [--insecure]
 *
 * A blocking SMTP client, run by the administrator from a terminal: it
 * connects (10 s per address), says EHLO, starts TLS (STARTTLS, or
 * implicit TLS on 465 or with --tls), authenticates with PLAIN (or LOGIN)
 * when --user is given, and submits a short message (Date, From, To,
 * Subject, Message-ID, a body naming the host and the time), printing
 * each protocol step on standard output and finally "queued as ID".
 *
 * The server defaults to the first submission_listen address of
 * DIR/postern.conf (a wildcard address means loopback), else
 * 127.0.0.1:587.  The certificate is checked against the system trust
 * store and the server's name (the host of --server, or the config's
 * hostname when the address is numeric); an unverified certificate stops
 * the session before anything is sent over it, unless --insecure.  The
 * password (one line of standard input) is sent only over TLS, is never
 * printed, and is wiped after use.  Server replies are parsed strictly
 * and bounded, every read and write times out after 30 s: the connection
 * and the parser are in ctl_send_conn.c; this file holds the options,
 * the defaults, the message and the dialogue.
 *
 * Exit codes: 0 the message was accepted, 1 it was not (the server's reply
 * or the local error on stderr), 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "addr.h"
#include "b64.h"
#include "bounds.h"
#include "buf.h"
#include "conf.h"
#include "ctl.h"
#include "ctl_send.h"
#include "err.h"
#include "strutil.h"
#include "xmalloc.h"

#define PASSWORD_MAX	1024		/* bytes, as user-add */
#define USER_MAX	(LIM_LOCAL_PART + 1 + LIM_DOMAIN)
#define SUBJECT_MAX	200		/* bytes of --subject */
#define SUBJECT_DEFAULT	"postern test message"
#define CONF_TEXT_MAX	(1024 * 1024)	/* postern.conf read for defaults */
/* AUTH PLAIN "\0user\0password" in base64, with the command */
#define AUTH_RAW_MAX	(USER_MAX + PASSWORD_MAX + 2)
#define AUTH_TOK_MAX	((AUTH_RAW_MAX + 2) / 3 * 4 + 1)
#define MESSAGE_MAX	(64 * 1024)

enum send_mode {
	MODE_DEFAULT,		/* STARTTLS, or TLS on port 465 */
	MODE_STARTTLS,
	MODE_TLS,
};

struct send_opts {
	const char	 *from;
	const char	**to;
	size_t		  nto;
	const char	 *server;
	const char	 *user;
	bool		  password_stdin;
	enum send_mode	  mode;
	const char	 *subject;
	bool		  insecure;
};

struct exts {
	bool	 starttls;
	bool	 auth_plain;
	bool	 auth_login;
	bool	 auth;
};

struct send_ctx {
	const struct send_opts	*o;
	struct send_conn	 c;
	struct send_reply	*r;
	struct exts		 ext;
	char			 host[LIM_DOMAIN + 1];
	char			 port[8];
	char			 verify[LIM_DOMAIN + 1];	/* name or IP */
	bool			 verify_ip;
	enum send_mode		 mode;
	char			 ehlo[LIM_DOMAIN + 1];
	char			 me[LIM_DOMAIN + 1];	/* named in the body */
	char			 password[PASSWORD_MAX + 2];
	char			 queue_id[SEND_REPLY_TEXT_MAX + 1];
};

/* --- printing ------------------------------------------------------------ */

/* reply_print - every line of r, as "<- NNN-text" */
static void
reply_print(const struct send_reply *r)
{
	size_t	i;
	bool	last;

	for (i = 0; i < r->nlines; i++) {
		last = i + 1 == r->nlines;
		if (last && r->text[i][0] == '\0')
			printf("<- %d\n", r->code);
		else
			printf("<- %d%c%s\n", r->code, last ? ' ' : '-',
			    r->text[i]);
	}
}

/* reply_join - r on one line: "NNN text / text" (truncated to fit) */
static void
reply_join(const struct send_reply *r, char *out, size_t outsz)
{
	size_t	i, n;
	int	w;

	w = snprintf(out, outsz, "%d", r->code);
	n = w < 0 ? 0 : (size_t)w;
	for (i = 0; i < r->nlines && n < outsz; i++) {
		if (r->text[i][0] == '\0')
			continue;
		w = snprintf(out + n, outsz - n, "%s%s", i == 0 ? " " : " / ",
		    r->text[i]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

/* --- the SMTP dialogue --------------------------------------------------- */

/*
 * expect - read a reply; print it as "<- " lines when shown; -1 with
 * "what: reply" unless its code is want.
 */
static int
expect(struct send_ctx *x, int want, bool shown, const char *what,
    struct err *e)
{
	char	line[200];

	if (send_conn_reply(&x->c, x->r, e) == -1)
		return -1;
	if (shown)
		reply_print(x->r);
	if (x->r->code == want)
		return 0;
	reply_join(x->r, line, sizeof(line));
	return err_set(e, false, 0, "%s: %s", what, line);
}

/*
 * step - send "VERB:<addr>" and read its reply, printed on one line as
 * "verb:<addr> ... ok", or the reply itself when it is not a 2xx.
 */
static int
step(struct send_ctx *x, const char *verb, const char *addr, struct err *e)
{
	char	line[200], label[LIM_PATH + 16];
	size_t	i;

	(void)snprintf(label, sizeof(label), "%s:<%s>", verb, addr);
	for (i = 0; label[i] != '\0' && label[i] != ':'; i++)
		if (label[i] >= 'A' && label[i] <= 'Z')
			label[i] = (char)(label[i] - 'A' + 'a');
	printf("%s ... ", label);
	fflush(stdout);
	if (send_conn_cmd(&x->c, false, e, "%s:<%s>", verb, addr) == -1 ||
	    send_conn_reply(&x->c, x->r, e) == -1) {
		printf("%s\n", e->msg);
		return -1;
	}
	reply_join(x->r, line, sizeof(line));
	if (x->r->code / 100 != 2) {
		printf("%s\n", line);
		return err_set(e, false, 0, "%s refused: %s", label, line);
	}
	printf("ok\n");
	return 0;
}

/* ehlo - EHLO and its extensions */
static int
ehlo(struct send_ctx *x, struct err *e)
{
	const char	*t, *w;
	size_t		 i, kl, wl;

	if (send_conn_cmd(&x->c, true, e, "EHLO %s", x->ehlo) == -1 ||
	    expect(x, 250, true, "EHLO refused", e) == -1)
		return -1;
	memset(&x->ext, 0, sizeof(x->ext));
	for (i = 1; i < x->r->nlines; i++) {
		t = x->r->text[i];
		kl = strcspn(t, " ");
		if (str_eq_word(t, kl, "STARTTLS"))
			x->ext.starttls = true;
		if (!str_eq_word(t, kl, "AUTH"))
			continue;
		x->ext.auth = true;
		for (w = t + kl; *w != '\0'; w += wl) {
			w += strspn(w, " ");
			wl = strcspn(w, " ");
			if (str_eq_word(w, wl, "PLAIN"))
				x->ext.auth_plain = true;
			else if (str_eq_word(w, wl, "LOGIN"))
				x->ext.auth_login = true;
		}
	}
	return 0;
}

/* auth_login_steps - the rest of AUTH LOGIN: user, then password */
static int
auth_login_steps(struct send_ctx *x, char *tok, size_t toksz, struct err *e)
{
	const char	*u = x->o->user;

	if (send_conn_cmd(&x->c, false, e, "AUTH LOGIN") == -1 ||
	    send_conn_reply(&x->c, x->r, e) == -1)
		return -1;
	if (x->r->code != 334)
		return 0;
	if (b64_encode(u, strlen(u), tok, toksz) == -1)
		return err_set(e, false, 0, "user name too long");
	if (send_conn_cmd(&x->c, false, e, "%s", tok) == -1 ||
	    send_conn_reply(&x->c, x->r, e) == -1)
		return -1;
	if (x->r->code != 334)
		return 0;
	if (b64_encode(x->password, strlen(x->password), tok, toksz) == -1)
		return err_set(e, false, 0, "password too long");
	if (send_conn_cmd(&x->c, false, e, "%s", tok) == -1 ||
	    send_conn_reply(&x->c, x->r, e) == -1)
		return -1;
	return 0;
}

/* auth - AUTH PLAIN (or LOGIN) as --user; only ever over TLS */
static int
auth(struct send_ctx *x, struct err *e)
{
	char		 raw[AUTH_RAW_MAX], tok[AUTH_TOK_MAX], line[200];
	const char	*u = x->o->user, *mech;
	size_t		 ul = strlen(u), pl = strlen(x->password);
	int		 rc = -1;

	if (x->c.ssl == NULL)	/* by construction; never weaken this */
		return err_set(e, false, 0, "refusing to send the password "
		    "without TLS");
	if (!x->ext.auth)
		return err_set(e, false, 0, "the server offers no AUTH");
	if (!x->ext.auth_plain && !x->ext.auth_login)
		return err_set(e, false, 0, "the server offers neither AUTH "
		    "PLAIN nor LOGIN");
	mech = x->ext.auth_plain ? "PLAIN" : "LOGIN";
	printf("auth %s as %s ... ", mech, u);
	fflush(stdout);
	if (x->ext.auth_plain) {
		/* RFC 4616: authzid (empty) NUL authcid NUL passwd */
		raw[0] = '\0';
		memcpy(raw + 1, u, ul);
		raw[1 + ul] = '\0';
		memcpy(raw + 2 + ul, x->password, pl);
		if (b64_encode(raw, 2 + ul + pl, tok, sizeof(tok)) == -1)
			err_set(e, false, 0, "credentials too long");
		else if (send_conn_cmd(&x->c, false, e, "AUTH PLAIN %s",
		    tok) == 0)
			rc = send_conn_reply(&x->c, x->r, e);
	} else
		rc = auth_login_steps(x, tok, sizeof(tok), e);
	if (rc == -1) {
		printf("%s\n", e->msg);
		goto out;
	}
	rc = -1;
	reply_join(x->r, line, sizeof(line));
	if (x->r->code == 334) {
		/* a challenge where none belongs: cancel (RFC 4954 4) */
		printf("%s\n", line);
		if (send_conn_cmd(&x->c, false, e, "*") == 0)
			(void)send_conn_reply(&x->c, x->r, e);
		err_set(e, false, 0, "unexpected AUTH challenge: %s", line);
		goto out;
	}
	if (x->r->code != 235) {
		printf("%s\n", line);
		err_set(e, false, 0, "authentication failed: %s", line);
		goto out;
	}
	printf("ok\n");
	rc = 0;
out:
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(tok, sizeof(tok));
	return rc;
}

/* queue_id - the token after "queued as " in the DATA reply, if any */
static void
queue_id(const struct send_reply *r, char *out, size_t outsz)
{
	const char	*p;
	size_t		 i, n;

	out[0] = '\0';
	for (i = 0; i < r->nlines; i++) {
		if ((p = strcasestr(r->text[i], "queued as ")) == NULL)
			continue;
		p += strlen("queued as ");
		n = strcspn(p, " ;,()<>[]\"");
		while (n > 0 && p[n - 1] == '.')
			n--;
		if (n == 0 || n >= outsz)
			continue;
		memcpy(out, p, n);
		out[n] = '\0';
		return;
	}
}

/* --- the message --------------------------------------------------------- */

/* utf8_len - length of the well-formed UTF-8 sequence at s, or 0 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t		 len, i;
	unsigned	 cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/*
 * subject_check - printable ASCII or well-formed UTF-8, no control
 * characters, at most SUBJECT_MAX bytes; *ascii says which.
 */
static int
subject_check(const char *s, bool *ascii)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), i, l;

	*ascii = true;
	if (n > SUBJECT_MAX)
		return -1;
	for (i = 0; i < n; i += l) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return -1;
		if ((l = utf8_len(p + i, n - i)) == 0)
			return -1;
		if (l > 1)
			*ascii = false;
	}
	return 0;
}

/*
 * add_subject - "Subject: S", as RFC 2047 B encoded-words (UTF-8) on
 * folded lines when S is not ASCII; each word encodes at most 39 bytes,
 * cut between characters, so lines stay under 78 columns.
 */
static int
add_subject(struct buf *m, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			 word[64];
	size_t			 n = strlen(s), i, j, l;
	bool			 ascii;

	if (subject_check(s, &ascii) == -1)
		return -1;
	if (ascii)
		return buf_printf(m, "Subject: %s\r\n", s);
	if (buf_addstr(m, "Subject:") == -1)
		return -1;
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && (l = utf8_len(p + j, n - j)) > 0 &&
		    j + l - i <= 39; j += l)
			;
		if (b64_encode(p + i, j - i, word, sizeof(word)) == -1 ||
		    buf_printf(m, "%s=?UTF-8?B?%s?=", i == 0 ? " " : "\r\n ",
		    word) == -1)
			return -1;
	}
	return buf_addstr(m, "\r\n");
}

/*
 * message_build - the test message, without the final ".".  No line of it
 * starts with "." (headers, folded lines, fixed text), so it needs no
 * dot-stuffing (RFC 5321 4.5.2).
 */
static int
message_build(struct buf *m, const struct send_ctx *x, struct err *e)
{
	const struct send_opts	*o = x->o;
	const char		*dom = strrchr(o->from, '@') + 1;
	unsigned char		 rnd[8];
	char			 date[64], hex[sizeof(rnd) * 2 + 1];
	struct tm		 tm;
	time_t			 now = time(NULL);
	size_t			 i;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		return err_set(e, false, 0, "cannot format the date");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return err_set(e, false, 0, "no random bytes for the "
		    "Message-ID");
	for (i = 0; i < sizeof(rnd); i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	if (dom[0] == '[')
		dom = x->ehlo;
	if (buf_printf(m, "Date: %s\r\nFrom: <%s>\r\nTo: <%s>", date,
	    o->from, o->to[0]) == -1)
		goto toolong;
	for (i = 1; i < o->nto; i++)
		if (buf_printf(m, ",\r\n <%s>", o->to[i]) == -1)
			goto toolong;
	if (buf_addstr(m, "\r\n") == -1 ||
	    add_subject(m, o->subject) == -1 ||
	    buf_printf(m, "Message-ID: <%lld.%s@%s>\r\n", (long long)now, hex,
	    dom) == -1 ||
	    buf_printf(m, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "\r\n"
	    "This is a test message sent by \"postern send\".\r\n"
	    "\r\n"
	    "Host: %s\r\n"
	    "Time: %s\r\n", x->me, date) == -1)
		goto toolong;
	return 0;
toolong:
	return err_set(e, false, 0, "message longer than %d bytes",
	    MESSAGE_MAX);
}

/* send_data - DATA, the message, "."; the final reply names the queue id */
static int
send_data(struct send_ctx *x, struct err *e)
{
	struct buf	 m;
	char		 line[200];
	int		 rc = -1;

	buf_init(&m, MESSAGE_MAX);
	if (message_build(&m, x, e) == -1)
		goto out;
	printf("data ... ");
	fflush(stdout);
	if (send_conn_cmd(&x->c, false, e, "DATA") == -1 ||
	    send_conn_reply(&x->c, x->r, e) == -1) {
		printf("%s\n", e->msg);
		goto out;
	}
	if (x->r->code != 354) {
		reply_join(x->r, line, sizeof(line));
		printf("%s\n", line);
		err_set(e, false, 0, "DATA refused: %s", line);
		goto out;
	}
	if (buf_addstr(&m, ".\r\n") == -1) {
		err_set(e, false, 0, "message too long");
		goto out;
	}
	if (send_conn_write(&x->c, buf_ptr(&m), buf_avail(&m), e) == -1 ||
	    send_conn_reply(&x->c, x->r, e) == -1) {
		printf("%s\n", e->msg);
		goto out;
	}
	reply_join(x->r, line, sizeof(line));
	printf("%s\n", line);
	if (x->r->code / 100 != 2) {
		err_set(e, false, 0, "message refused: %s", line);
		goto out;
	}
	queue_id(x->r, x->queue_id, sizeof(x->queue_id));
	rc = 0;
out:
	buf_release(&m);
	return rc;
}

/*
 * ehlo_name - the EHLO argument: this host's name if it is a domain with
 * a dot, else the address literal of the local end (RFC 5321 4.1.4);
 * and the name the body gives for this host.
 */
static void
ehlo_name(struct send_ctx *x)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 name[LIM_DOMAIN + 2], num[INET6_ADDRSTRLEN];
	bool			 valid;

	memset(name, 0, sizeof(name));
	valid = gethostname(name, sizeof(name) - 1) == 0 &&
	    addr_domain_valid(name, strlen(name), false);
	if (valid && strchr(name, '.') != NULL)
		(void)str_copy(x->ehlo, name, sizeof(x->ehlo));
	else {
		(void)str_copy(x->ehlo, "[127.0.0.1]", sizeof(x->ehlo));
		if (getsockname(x->c.fd, (struct sockaddr *)&ss, &sl) == 0 &&
		    getnameinfo((struct sockaddr *)&ss, sl, num, sizeof(num),
		    NULL, 0, NI_NUMERICHOST) == 0)
			(void)snprintf(x->ehlo, sizeof(x->ehlo),
			    ss.ss_family == AF_INET6 ? "[IPv6:%s]" : "[%s]",
			    num);
	}
	(void)str_copy(x->me, valid ? name : x->ehlo, sizeof(x->me));
}

/* session - the whole dialogue; 0 once the message was accepted */
static int
session(struct send_ctx *x, struct err *e)
{
	struct err	qe;
	char		why[sizeof(e->msg)];
	size_t		i;
	int		rc = -1;

	if (send_conn_open(&x->c, x->host, x->port, e) == -1)
		return -1;
	ehlo_name(x);
	if (x->mode == MODE_TLS && send_conn_tls(&x->c, "tls", x->verify,
	    x->verify_ip, x->o->insecure, e) == -1)
		goto out;
	if (expect(x, 220, true, "the server refused the session", e) == -1) {
		if (x->mode == MODE_STARTTLS && (e->code == EAGAIN ||
		    e->code == EWOULDBLOCK)) {
			(void)snprintf(why, sizeof(why), "%s", e->msg);
			err_set(e, false, e->code, "%s with no greeting (a "
			    "port with implicit TLS? try --tls)", why);
		}
		goto out;
	}
	if (ehlo(x, e) == -1)
		goto out;
	if (x->mode == MODE_STARTTLS) {
		if (!x->ext.starttls) {
			err_set(e, false, 0, "the server does not offer "
			    "STARTTLS (--tls for implicit TLS)");
			goto out;
		}
		if (send_conn_cmd(&x->c, true, e, "STARTTLS") == -1 ||
		    expect(x, 220, true, "STARTTLS refused", e) == -1)
			goto out;
		if (buf_avail(&x->c.in) > 0) {
			/* plaintext after 220 would be read as if under TLS */
			x->c.broken = true;
			err_set(e, false, 0, "the server sent data after its "
			    "220 reply to STARTTLS: refusing to go on");
			goto out;
		}
		if (send_conn_tls(&x->c, "starttls", x->verify, x->verify_ip,
		    x->o->insecure, e) == -1 || ehlo(x, e) == -1)
			goto out;
	}
	if (x->o->user != NULL && auth(x, e) == -1)
		goto out;
	if (step(x, "MAIL FROM", x->o->from, e) == -1)
		goto out;
	for (i = 0; i < x->o->nto; i++)
		if (step(x, "RCPT TO", x->o->to[i], e) == -1)
			goto out;
	if (send_data(x, e) == -1)
		goto out;
	rc = 0;
out:
	if (!x->c.broken && x->c.fd != -1) {
		if (send_conn_cmd(&x->c, true, &qe, "QUIT") == 0 &&
		    send_conn_reply(&x->c, x->r, &qe) == 0)
			reply_print(x->r);
	}
	return rc;
}

/* --- options and defaults ------------------------------------------------ */

/* split_server - "host:port", "[v6]:port", "host", "[v6]" or bare v6 */
static int
split_server(const char *arg, char *host, size_t hostsz, char *port,
    size_t portsz, const char *defport)
{
	const char		*end, *colon, *p;
	unsigned long long	 n;
	size_t			 hl;

	if (arg[0] == '[') {
		if ((end = strchr(arg, ']')) == NULL)
			return -1;
		hl = (size_t)(end - arg - 1);
		arg++;
		p = end[1] == ':' ? end + 2 : end[1] == '\0' ? defport : NULL;
	} else if ((colon = strrchr(arg, ':')) != NULL &&
	    strchr(arg, ':') == colon) {
		hl = (size_t)(colon - arg);
		p = colon + 1;
	} else {
		hl = strlen(arg);	/* a name, or a bare IPv6 address */
		p = defport;
	}
	if (p == NULL || hl == 0 || hl >= hostsz ||
	    str_has_ctl(arg, hl) || memchr(arg, ' ', hl) != NULL ||
	    str_to_ull(p, 1, 65535, &n) == -1)
		return -1;
	memcpy(host, arg, hl);
	host[hl] = '\0';
	(void)snprintf(port, portsz, "%llu", n);
	return 0;
}

/* is_numeric - is host an IPv4 or IPv6 address? */
static bool
is_numeric(const char *host)
{
	struct in6_addr	a;

	return inet_pton(AF_INET, host, &a) == 1 ||
	    inet_pton(AF_INET6, host, &a) == 1;
}

/*
 * conf_read - DIR/postern.conf parsed onto the defaults; 1 if there is no
 * such file, 0 read, -1 error (e).  Only postern.conf: no users, no keys.
 */
static int
conf_read(const char *confdir, struct conf *c, struct err *e)
{
	char	 path[PATH_MAX];
	char	*text = NULL;
	size_t	 len = 0;
	ssize_t	 n;
	int	 fd, rc = -1;

	conf_defaults(c);
	if ((size_t)snprintf(path, sizeof(path), "%s/postern.conf", confdir)
	    >= sizeof(path))
		return err_set(e, false, 0, "%s/postern.conf: path too long",
		    confdir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		return err_set(e, false, errno, "%s: %s", path,
		    strerror(errno));
	}
	text = xmalloc(CONF_TEXT_MAX + 1);
	for (;;) {
		n = read(fd, text + len, CONF_TEXT_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(e, false, errno, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONF_TEXT_MAX) {
			err_set(e, false, 0, "%s: larger than %d bytes", path,
			    CONF_TEXT_MAX);
			goto out;
		}
	}
	text[len] = '\0';
	if (conf_parse(c, text, len, path, e) == -1)
		goto out;
	rc = 0;
out:
	free(text);
	(void)close(fd);
	return rc;
}

/* loopback_for - the loopback address for a wildcard listen address */
static const char *
loopback_for(const char *host)
{
	if (strcmp(host, "0.0.0.0") == 0)
		return "127.0.0.1";
	if (strcmp(host, "::") == 0)
		return "::1";
	return host;
}

/*
 * resolve_target - fill host, port, mode and the name to verify from the
 * options and, where they leave it open, DIR/postern.conf.  -1: usage
 * (*usage set) or a config error.
 */
static int
resolve_target(struct send_ctx *x, const char *confdir, bool *usage,
    struct err *e)
{
	const struct send_opts		*o = x->o;
	const struct listen_addr	*la = NULL;
	struct conf			*c;
	struct err			 ce;
	int				 have = -1, rc = -1;

	c = xmalloc(sizeof(*c));
	x->mode = o->mode;
	if (o->server != NULL) {
		if (split_server(o->server, x->host, sizeof(x->host), x->port,
		    sizeof(x->port), o->mode == MODE_TLS ? "465" : "587")
		    == -1) {
			*usage = true;
			err_set(e, false, 0, "--server %s: expected HOST:PORT",
			    o->server);
			goto out;
		}
	} else {
		if ((have = conf_read(confdir, c, e)) == -1)
			goto out;
		if (have == 0 && o->mode != MODE_TLS &&
		    c->submission_listen.n > 0)
			la = &c->submission_listen.addr[0];
		else if (have == 0 && o->mode != MODE_STARTTLS &&
		    c->submissions_listen.n > 0) {
			la = &c->submissions_listen.addr[0];
			x->mode = MODE_TLS;
		}
		(void)str_copy(x->host, la != NULL ? loopback_for(la->host) :
		    "127.0.0.1", sizeof(x->host));
		(void)str_copy(x->port, la != NULL ? la->port :
		    o->mode == MODE_TLS ? "465" : "587", sizeof(x->port));
	}
	if (x->mode == MODE_DEFAULT)
		x->mode = strcmp(x->port, "465") == 0 ? MODE_TLS :
		    MODE_STARTTLS;
	if (!is_numeric(x->host)) {
		(void)str_copy(x->verify, x->host, sizeof(x->verify));
		rc = 0;
		goto out;
	}
	if (have == -1 && (have = conf_read(confdir, c, &ce)) == -1)
		fprintf(stderr, "postern send: %s (verifying the certificate "
		    "for %s)\n", ce.msg, x->host);
	if (have == 0)
		(void)str_copy(x->verify, c->hostname, sizeof(x->verify));
	else {
		(void)str_copy(x->verify, x->host, sizeof(x->verify));
		x->verify_ip = true;
	}
	rc = 0;
out:
	free(c);
	return rc;
}

/* read_password - one line of standard input, LF or CRLF dropped */
static int
read_password(char *pw, size_t pwsz, struct err *e)
{
	size_t	n = 0;
	bool	toolong = false, nul = false;
	ssize_t	r;
	char	ch;

	for (;;) {
		r = read(STDIN_FILENO, &ch, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			explicit_bzero(pw, pwsz);
			return err_set(e, false, errno, "reading the password: "
			    "%s", strerror(errno));
		}
		if (r == 0 || ch == '\n')
			break;
		if (ch == '\0')
			nul = true;
		if (n + 1 < pwsz)
			pw[n++] = ch;
		else
			toolong = true;
	}
	ch = '\0';
	if (n > 0 && pw[n - 1] == '\r')
		n--;
	pw[n] = '\0';
	if (toolong || nul || n == 0) {
		explicit_bzero(pw, pwsz);
		if (toolong)
			return err_set(e, false, 0, "password longer than %d "
			    "bytes", PASSWORD_MAX);
		if (nul)
			return err_set(e, false, 0, "password with a NUL byte");
		return err_set(e, false, 0, "no password on standard input");
	}
	return 0;
}

/* opt_value - "--name V" or "--name=V" at argv[*i]: 1, 0 no match, -1 */
static int
opt_value(int argc, char **argv, int *i, const char *name, const char **v)
{
	size_t	n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*v = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*v = argv[++*i];
	return 1;
}

/* check_mailbox - is a a mailbox "local@domain" usable in a path? */
static bool
check_mailbox(const char *a)
{
	struct mailbox	mb;
	struct err	e;

	return strlen(a) <= LIM_PATH - 2 &&
	    addr_parse_mailbox(a, strlen(a), false, &mb, &e) == 0;
}

/* parse_opts - the options of the send verb; -1 with a message: usage */
static int
parse_opts(int argc, char **argv, struct send_opts *o, struct err *e)
{
	const char	*v;
	bool		 ascii;
	int		 i, m;

	o->subject = SUBJECT_DEFAULT;
	o->to = xreallocarray(NULL, (size_t)argc, sizeof(*o->to));
	for (i = 1; i < argc; i++) {
		v = NULL;
		if ((m = opt_value(argc, argv, &i, "--from", &v)) != 0) {
			if (m == -1 || o->from != NULL)
				break;
			o->from = v;
		} else if ((m = opt_value(argc, argv, &i, "--to", &v)) != 0) {
			if (m == -1)
				break;
			o->to[o->nto++] = v;
		} else if ((m = opt_value(argc, argv, &i, "--server", &v))
		    != 0) {
			if (m == -1 || o->server != NULL)
				break;
			o->server = v;
		} else if ((m = opt_value(argc, argv, &i, "--user", &v)) != 0) {
			if (m == -1 || o->user != NULL)
				break;
			o->user = v;
		} else if ((m = opt_value(argc, argv, &i, "--subject", &v))
		    != 0) {
			if (m == -1)
				break;
			o->subject = v;
		} else if (strcmp(argv[i], "--password-stdin") == 0)
			o->password_stdin = true;
		else if (strcmp(argv[i], "--starttls") == 0 &&
		    o->mode != MODE_TLS)
			o->mode = MODE_STARTTLS;
		else if (strcmp(argv[i], "--tls") == 0 &&
		    o->mode != MODE_STARTTLS)
			o->mode = MODE_TLS;
		else if (strcmp(argv[i], "--insecure") == 0)
			o->insecure = true;
		else
			break;
	}
	if (i < argc)
		return err_set(e, false, 0, "unexpected or repeated argument "
		    "\"%s\"", argv[i]);
	if (o->from == NULL || o->nto == 0)
		return err_set(e, false, 0, "--from and --to are required");
	if (o->nto > DEF_RECIPIENTS)
		return err_set(e, false, 0, "at most %d recipients",
		    DEF_RECIPIENTS);
	if ((o->user != NULL) != o->password_stdin)
		return err_set(e, false, 0, "--user and --password-stdin go "
		    "together");
	if (!check_mailbox(o->from))
		return err_set(e, false, 0, "--from %s: not an address "
		    "local@domain", o->from);
	for (i = 0; (size_t)i < o->nto; i++)
		if (!check_mailbox(o->to[i]))
			return err_set(e, false, 0, "--to %s: not an address "
			    "local@domain", o->to[i]);
	if (o->user != NULL && (o->user[0] == '\0' ||
	    strlen(o->user) > USER_MAX ||
	    str_has_ctl(o->user, strlen(o->user))))
		return err_set(e, false, 0, "--user: empty, too long or with "
		    "control characters");
	if (subject_check(o->subject, &ascii) == -1)
		return err_set(e, false, 0, "--subject: at most %d bytes of "
		    "UTF-8 text without control characters", SUBJECT_MAX);
	return 0;
}

/* ctl_send - the send verb */
int
ctl_send(const char *confdir, int argc, char **argv)
{
	return ctl_send_run(confdir, argc, argv, NULL, 0);
}

/* ctl_send_run - the verb; the queue id (or "") into qid when given */
int
ctl_send_run(const char *confdir, int argc, char **argv, char *qid,
    size_t qidsz)
{
	struct send_opts	 o;
	struct send_ctx		*x;
	struct err		 e;
	bool			 usage = false;
	int			 rc = 1;

	memset(&o, 0, sizeof(o));
	memset(&e, 0, sizeof(e));
	x = xcalloc(1, sizeof(*x));
	x->o = &o;
	send_conn_init(&x->c);
	x->r = xmalloc(sizeof(*x->r));
	(void)setvbuf(stdout, NULL, _IOLBF, 0);
	(void)signal(SIGPIPE, SIG_IGN);
	if (parse_opts(argc, argv, &o, &e) == -1) {
		usage = true;
		goto out;
	}
	if (resolve_target(x, confdir, &usage, &e) == -1)
		goto out;
	if (o.user != NULL &&
	    read_password(x->password, sizeof(x->password), &e) == -1)
		goto out;
	if (session(x, &e) == -1)
		goto out;
	if (x->queue_id[0] != '\0')
		printf("queued as %s\n", x->queue_id);
	else
		printf("accepted (the reply names no queue id)\n");
	if (qid != NULL)
		(void)snprintf(qid, qidsz, "%s", x->queue_id);
	rc = 0;
out:
	if (rc != 0) {
		fflush(stdout);
		fprintf(stderr, "postern send: %s\n", e.msg);
	}
	if (usage) {
		fprintf(stderr, "usage: postern [-C DIR] send --from ADDR "
		    "--to ADDR [--to ADDR...] [--server HOST:PORT]\n"
		    "    [--user U --password-stdin] [--starttls|--tls] "
		    "[--subject S] [--insecure]\n");
		rc = 2;
	}
	send_conn_close(&x->c);
	explicit_bzero(x->password, sizeof(x->password));
	free(x->r);
	free(x);
	free(o.to);
	return rc;
}
