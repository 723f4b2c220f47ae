/*
 * test_bounce.c - delivery status notifications: the message is parsed
 * back here (top header fields, boundary, three parts, the per-recipient
 * fields, CRLF only, no line over 998 octets) for one and three
 * recipients, failed, delayed and mixed; the original's body never
 * appears; its header section is cut at the empty line or at 64 KiB;
 * header injection through every value; folding of long values; argument
 * and size errors leave the output alone; the bounce_wanted() table.
 * Each message is also checked by tests/unit/check_dsn.py with Python's
 * email package when /usr/bin/python3 and the script are found.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "queue/bounce.h"

#define OUT_CAP		(4 * 1024 * 1024)
#define ARRIVAL		((time_t)1700000000)	/* Tue, 14 Nov 2023 22:13:20 UTC */
#define BODY_MARK	"BODY-MUST-NOT-APPEAR"

/* a bounce taken apart */
struct dsn {
	char	*raw;		/* the whole message, NUL-terminated */
	size_t	 len;
	char	*top;		/* top-level header section, CRLF kept */
	char	 boundary[128];
	char	*phdr[3];	/* each part's header section */
	char	*pbody[3];	/* each part's content */
	size_t	 pblen[3];
	char	*text;		/* part 1 unfolded: CRLF and indent -> " " */
};

static char	checker[PATH_MAX];	/* check_dsn.py, or "" */

/* dupn - NUL-terminated copy of n bytes */
static char *
dupn(const char *p, size_t n)
{
	char	*s = malloc(n + 1);

	assert_non_null(s);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* orig_fd - a descriptor holding an original message */
static int
orig_fd(const char *data, size_t len)
{
	int	fd = memfd_create("orig", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	return fd;
}

/* checker_find - check_dsn.py beside this file (via __FILE__), if any */
static void
checker_find(void)
{
	char		 dir[PATH_MAX], exe[PATH_MAX];
	const char	*slash = strrchr(__FILE__, '/');
	ssize_t		 n;
	int		 len;

	checker[0] = '\0';
	if (access("/usr/bin/python3", X_OK) != 0) {
		print_message("python check skipped: no /usr/bin/python3\n");
		return;
	}
	len = slash == NULL ? 1 : (int)(slash - __FILE__);
	(void)snprintf(dir, sizeof(dir), "%.*s", len,
	    slash == NULL ? "." : __FILE__);
	if (snprintf(checker, sizeof(checker), "%s/check_dsn.py", dir) >=
	    (int)sizeof(checker))
		checker[0] = '\0';
	if (dir[0] != '/' && access(checker, R_OK) != 0 &&
	    (n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		/* relative to the build directory the compiler ran in */
		exe[n] = '\0';
		if (strrchr(exe, '/') != NULL)
			*strrchr(exe, '/') = '\0';
		if (snprintf(checker, sizeof(checker), "%s/%s/check_dsn.py",
		    exe, dir) >= (int)sizeof(checker))
			checker[0] = '\0';
	}
	if (checker[0] == '\0' || access(checker, R_OK) != 0 ||
	    strchr(checker, '\'') != NULL) {
		print_message("python check skipped: %s not found\n", checker);
		checker[0] = '\0';
	}
}

/* python_check - run check_dsn.py on the message; skipped without it */
static void
python_check(const struct dsn *d, size_t nrcpts)
{
	char	 path[] = "/tmp/test_bounce.XXXXXX", cmd[PATH_MAX * 2];
	int	 fd, st;

	if (checker[0] == '\0')
		return;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, d->raw, d->len), (ssize_t)d->len);
	close(fd);
	(void)snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' %zu < '%s'",
	    checker, nrcpts, path);
	st = system(cmd);
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		fprintf(stderr, "%s failed; message kept in %s\n", cmd, path);
		fail();
	}
	unlink(path);
}

/* lines_check - CRLF only, no line over 998 octets, ends with CRLF */
static void
lines_check(const char *s, size_t len)
{
	size_t	i, col = 0;

	assert_true(len >= 2);
	assert_memory_equal(s + len - 2, "\r\n", 2);
	for (i = 0; i < len; i++) {
		if (s[i] == '\r') {
			assert_true(i + 1 < len && s[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		assert_true(s[i] != '\n');
		assert_true(s[i] != '\0');
		col++;
		if (col > 998)
			fail_msg("line over 998 octets at %zu", i);
	}
}

/* count - occurrences of needle in s */
static size_t
count(const char *s, const char *needle)
{
	size_t	n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/*
 * field - the unfolded value of the idx-th (from 0) field `name` in a
 * header section, without the blank after the colon; NULL if absent
 */
static char *
field(const char *sec, const char *name, int idx)
{
	size_t		 nl = strlen(name), n = 0;
	const char	*p = sec, *v, *e;
	char		*out, *q;

	for (;;) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':' && idx-- == 0)
			break;
		if ((p = strstr(p, "\r\n")) == NULL || p[2] == '\0')
			return NULL;
		p += 2;
	}
	v = p + nl + 1;
	while (*v == ' ')
		v++;
	for (e = v; (e = strstr(e, "\r\n")) != NULL &&
	    (e[2] == ' ' || e[2] == '\t'); e += 2)
		;
	if (e == NULL)
		e = v + strlen(v);
	out = q = malloc((size_t)(e - v) + 1);
	assert_non_null(out);
	for (; v < e; v++) {
		if (v[0] == '\r' && v[1] == '\n') {
			v++;
			continue;
		}
		*q++ = *v;
		n++;
	}
	*q = '\0';
	return out;
}

/* field_is - does the field hold exactly want (NULL: is it absent)? */
static void
field_is(const char *sec, const char *name, int idx, const char *want)
{
	char	*v = field(sec, name, idx);

	if (want == NULL) {
		if (v != NULL)
			fail_msg("%s[%d] present: \"%s\"", name, idx, v);
		return;
	}
	if (v == NULL)
		fail_msg("%s[%d] absent, want \"%s\"", name, idx, want);
	if (strcmp(v, want) != 0)
		fail_msg("%s[%d] = \"%s\", want \"%s\"", name, idx, v, want);
	free(v);
}

/* flatten - text with each line end and the indent after it one space */
static char *
flatten(const char *s)
{
	char	*out = dupn(s, strlen(s)), *q = out;

	while (*s != '\0') {
		if (s[0] == '\r' && s[1] == '\n') {
			for (s += 2; *s == ' '; s++)
				;
			*q++ = ' ';
		} else
			*q++ = *s++;
	}
	*q = '\0';
	return out;
}

/* dsn_parse - take the bounce apart; fails the test on any bad structure */
static void
dsn_parse(struct dsn *d, const char *raw, size_t len)
{
	const char	*p, *b, *end, *sep;
	char		 delim[160], last[160];
	int		 i;

	memset(d, 0, sizeof(*d));
	d->raw = dupn(raw, len);
	d->len = len;
	assert_int_equal(strlen(d->raw), len);
	lines_check(raw, len);

	assert_non_null(end = strstr(d->raw, "\r\n\r\n"));
	d->top = dupn(d->raw, (size_t)(end - d->raw) + 2);
	assert_non_null(b = strstr(d->top, "boundary=\""));
	b += strlen("boundary=\"");
	assert_true(strcspn(b, "\"") < sizeof(d->boundary));
	memcpy(d->boundary, b, strcspn(b, "\""));
	d->boundary[strcspn(b, "\"")] = '\0';
	assert_true(strlen(d->boundary) >= 16 && strlen(d->boundary) <= 70);

	(void)snprintf(delim, sizeof(delim), "\r\n--%s\r\n", d->boundary);
	(void)snprintf(last, sizeof(last), "\r\n--%s--\r\n", d->boundary);
	/* the boundary occurs only in its four delimiters and the header */
	assert_int_equal(count(d->raw, d->boundary), 5);
	assert_int_equal(count(d->raw, delim), 3);
	assert_int_equal(count(d->raw, last), 1);
	assert_true(strcmp(d->raw + len - strlen(last), last) == 0);

	p = strstr(d->raw, delim);
	for (i = 0; i < 3; i++) {
		p += strlen(delim);
		end = i < 2 ? strstr(p, delim) : strstr(p, last);
		assert_non_null(end);
		assert_non_null(sep = strstr(p, "\r\n\r\n"));
		assert_true(sep <= end);
		assert_true(sep + 4 <= end);
		d->phdr[i] = dupn(p, (size_t)(sep - p) + 2);
		/* the CRLF before a delimiter belongs to it (RFC 2046 5.1.1) */
		d->pblen[i] = (size_t)(end - (sep + 4));
		d->pbody[i] = dupn(sep + 4, d->pblen[i]);
		p = end;
	}
	d->text = flatten(d->pbody[0]);
}

static void
dsn_free(struct dsn *d)
{
	int	i;

	for (i = 0; i < 3; i++) {
		free(d->phdr[i]);
		free(d->pbody[i]);
	}
	free(d->text);
	free(d->top);
	free(d->raw);
}

/* build - a bounce for m with this original, taken apart; 0 or -1 */
static int
build(const struct bounce_msg *m, const char *orig, size_t olen,
    struct dsn *d, struct err *e)
{
	struct buf	out;
	int		fd = orig_fd(orig, olen), rc;

	buf_init(&out, OUT_CAP);
	rc = bounce_build(m, fd, &out, e);
	close(fd);
	if (rc == 0)
		dsn_parse(d, buf_ptr(&out), buf_avail(&out));
	buf_release(&out);
	return rc;
}

/* must_build - build and check the common structure */
static void
must_build(const struct bounce_msg *m, const char *orig, size_t olen,
    struct dsn *d)
{
	struct err	e;

	memset(&e, 0, sizeof(e));
	if (build(m, orig, olen, d, &e) == -1)
		fail_msg("bounce_build: %s", e.msg);
	assert_non_null(strstr(d->phdr[0], "Content-Type: text/plain"));
	field_is(d->phdr[1], "Content-Type", 0, "message/delivery-status");
	field_is(d->phdr[2], "Content-Type", 0, "text/rfc822-headers");
	field_is(d->top, "Auto-Submitted", 0, "auto-replied");
	field_is(d->top, "MIME-Version", 0, "1.0");
	assert_null(strstr(d->raw, BODY_MARK));
	python_check(d, m->nrcpts);
}

static const char orig_msg[] =
    "Received: from client.example (client.example [192.0.2.7])\r\n"
    "\tby mx.test with ESMTPS id Q1; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: Bob <bob@remote.example>\r\n"
    "Subject: hello\r\n"
    "Message-ID: <m1@example.org>\r\n"
    "\r\n"
    "Dear Bob,\r\n" BODY_MARK "\r\n"
    "Subject: not a header, part of the body\r\n";

static void
test_one_failed(void **state)
{
	struct bounce_rcpt r = {
		.addr = "bob@remote.example", .orig = "bob@remote.example",
		.status = "5.1.1",
		.diag = "550 5.1.1 <bob@remote.example>: user unknown",
		/* as the queue has it: host name, then address */
		.remote_mta = "mx.remote.example [192.0.2.7]", .failed = true,
	};
	struct bounce_msg m = {
		.id = "Q1", .hostname = "mx.test",
		.from = "alice@example.org", .arrival = ARRIVAL,
		.rcpts = &r, .nrcpts = 1,
	};
	struct dsn	 d;
	char		*v;

	(void)state;
	must_build(&m, orig_msg, sizeof(orig_msg) - 1, &d);

	field_is(d.top, "From", 0,
	    "Mail Delivery System <MAILER-DAEMON@mx.test>");
	field_is(d.top, "To", 0, "<alice@example.org>");
	field_is(d.top, "Subject", 0, "Undelivered Mail Returned to Sender");
	assert_non_null(v = field(d.top, "Message-ID", 0));
	assert_true(strncmp(v, "<Q1.bounce.", 11) == 0);
	assert_true(strlen(v) > 20 &&
	    strcmp(v + strlen(v) - 9, "@mx.test>") == 0);
	free(v);
	assert_non_null(v = field(d.top, "Date", 0));
	assert_true(strlen(v) == 31 && v[3] == ',' && v[26] == '+');
	free(v);
	assert_non_null(v = field(d.top, "Content-Type", 0));
	assert_true(strncmp(v, "multipart/report; "
	    "report-type=delivery-status;", 46) == 0);
	free(v);
	field_is(d.top, "Content-Transfer-Encoding", 0, NULL);
	field_is(d.phdr[0], "Content-Type", 0, "text/plain; charset=us-ascii");

	/* per-message fields, then one group */
	field_is(d.pbody[1], "Reporting-MTA", 0, "dns; mx.test");
	field_is(d.pbody[1], "X-Postern-Queue-ID", 0, "Q1");
	field_is(d.pbody[1], "Arrival-Date", 0,
	    "Tue, 14 Nov 2023 22:13:20 +0000");
	assert_int_equal(count(d.pbody[1], "\r\n\r\n"), 1);
	field_is(d.pbody[1], "Original-Recipient", 0, NULL);
	field_is(d.pbody[1], "Final-Recipient", 0, "rfc822; bob@remote.example");
	field_is(d.pbody[1], "Action", 0, "failed");
	field_is(d.pbody[1], "Status", 0, "5.1.1");
	/* the name only (RFC 3464 2.3.5); the words say which address */
	field_is(d.pbody[1], "Remote-MTA", 0, "dns; mx.remote.example");
	field_is(d.pbody[1], "Diagnostic-Code", 0,
	    "smtp; 550 5.1.1 <bob@remote.example>: user unknown");
	field_is(d.pbody[1], "Will-Retry-Until", 0, NULL);

	/* the original header section, exactly, and nothing of its body */
	assert_int_equal(d.pblen[2], strstr(orig_msg, "\r\n\r\n") + 2 -
	    orig_msg);
	assert_memory_equal(d.pbody[2], orig_msg, d.pblen[2]);
	assert_null(strstr(d.raw, "Dear Bob"));
	assert_null(strstr(d.raw, "not a header"));

	/* plain words */
	assert_non_null(strstr(d.text, "mail delivery system at mx.test"));
	assert_non_null(strstr(d.text,
	    "<bob@remote.example>: delivery failed"));
	assert_non_null(strstr(d.text, "the mailbox does not exist"));
	assert_non_null(strstr(d.text, "The mail server mx.remote.example "
	    "[192.0.2.7] said: 550 5.1.1"));
	assert_non_null(strstr(d.text, "queue id Q1"));
	assert_null(strstr(d.text, "not delivered yet"));
	assert_null(strstr(d.text, "you sent it to"));
	dsn_free(&d);
}

static void
test_three_mixed(void **state)
{
	struct bounce_rcpt r[3] = {
		{ .addr = "carol@remote.example", .orig = "info@example.org",
		  .status = "5.2.2", .diag = "552 5.2.2 mailbox full",
		  .remote_mta = "mx2.remote.example", .failed = true },
		{ .addr = "dave@slow.example", .orig = "dave@slow.example",
		  .status = "4.4.1", .diag = NULL, .remote_mta = NULL,
		  .failed = false },
		{ .addr = "erin@local.test", .orig = NULL, .status = NULL,
		  .diag = "mailbox unavailable", .remote_mta = NULL,
		  .failed = true },
	};
	struct bounce_msg m = {
		.id = "Q3", .hostname = "mx.test",
		.from = "alice@example.org", .arrival = ARRIVAL,
		.rcpts = r, .nrcpts = 3, .retry_hours = 120,
	};
	struct dsn	d;

	(void)state;
	must_build(&m, orig_msg, sizeof(orig_msg) - 1, &d);
	field_is(d.top, "Subject", 0, "Undelivered Mail Returned to Sender");
	assert_int_equal(count(d.pbody[1], "\r\n\r\n"), 3);
	assert_int_equal(count(d.pbody[1], "Final-Recipient:"), 3);

	field_is(d.pbody[1], "Original-Recipient", 0, "rfc822; info@example.org");
	field_is(d.pbody[1], "Original-Recipient", 1, NULL);
	field_is(d.pbody[1], "Final-Recipient", 0,
	    "rfc822; carol@remote.example");
	field_is(d.pbody[1], "Final-Recipient", 1, "rfc822; dave@slow.example");
	field_is(d.pbody[1], "Final-Recipient", 2, "rfc822; erin@local.test");
	field_is(d.pbody[1], "Action", 0, "failed");
	field_is(d.pbody[1], "Action", 1, "delayed");
	field_is(d.pbody[1], "Action", 2, "failed");
	field_is(d.pbody[1], "Status", 0, "5.2.2");
	field_is(d.pbody[1], "Status", 1, "4.4.1");
	field_is(d.pbody[1], "Status", 2, "5.0.0");
	field_is(d.pbody[1], "Remote-MTA", 0, "dns; mx2.remote.example");
	field_is(d.pbody[1], "Remote-MTA", 1, NULL);
	field_is(d.pbody[1], "Diagnostic-Code", 0, "smtp; 552 5.2.2 mailbox full");
	field_is(d.pbody[1], "Diagnostic-Code", 1,
	    "x-postern; mailbox unavailable");
	field_is(d.pbody[1], "Diagnostic-Code", 2, NULL);
	/* only the delayed one will be retried: arrival + 120 hours */
	field_is(d.pbody[1], "Will-Retry-Until", 0,
	    "Sun, 19 Nov 2023 22:13:20 +0000");
	field_is(d.pbody[1], "Will-Retry-Until", 1, NULL);
	/* the second group holds no Remote-MTA: check fields stay in it */
	assert_true(strstr(d.pbody[1], "Will-Retry-Until") <
	    strstr(d.pbody[1], "erin@"));

	assert_non_null(strstr(d.text,
	    "<carol@remote.example>: delivery failed"));
	assert_non_null(strstr(d.text, "(you sent it to <info@example.org>)"));
	assert_non_null(strstr(d.text, "the mailbox is full (5.2.2)"));
	assert_non_null(strstr(d.text,
	    "<dave@slow.example>: not delivered yet"));
	assert_non_null(strstr(d.text, "Sun, 19 Nov 2023 22:13:20 +0000"));
	assert_non_null(strstr(d.text, "Details: mailbox unavailable"));
	assert_non_null(strstr(d.text, "permanent error"));
	dsn_free(&d);
}

static void
test_warning(void **state)
{
	struct bounce_rcpt r[3] = {
		{ .addr = "a@slow.example", .status = "4.4.1",
		  .diag = "421 4.4.1 try later", .remote_mta = "mx.slow.example" },
		{ .addr = "b@slow.example", .status = "4.7.0",
		  .diag = NULL, .remote_mta = "mx.slow.example" },
		{ .addr = "c@other.example", .status = NULL,
		  .diag = "451 4.3.0 temporary failure" },
	};
	struct bounce_msg m = {
		.id = "QW", .hostname = "mx.test", .from = "<alice@example.org>",
		.arrival = ARRIVAL, .rcpts = r, .nrcpts = 3, .warning = true,
		.retry_hours = 120,
	};
	struct dsn	d;
	int		i;

	(void)state;
	must_build(&m, orig_msg, sizeof(orig_msg) - 1, &d);
	field_is(d.top, "Subject", 0, "Delayed Mail (still being retried)");
	field_is(d.top, "To", 0, "<alice@example.org>");
	for (i = 0; i < 3; i++) {
		field_is(d.pbody[1], "Action", i, "delayed");
		field_is(d.pbody[1], "Will-Retry-Until", i,
		    "Sun, 19 Nov 2023 22:13:20 +0000");
	}
	field_is(d.pbody[1], "Status", 2, "4.3.0");
	field_is(d.pbody[1], "Diagnostic-Code", 1,
	    "smtp; 451 4.3.0 temporary failure");
	assert_non_null(strstr(d.text, "warning only"));
	assert_non_null(strstr(d.text, "until Sun, 19 Nov 2023"));
	assert_null(strstr(d.text, "delivery failed"));
	assert_null(strstr(d.text, "permanent"));

	/* no retry time given: no date promised */
	dsn_free(&d);
	m.retry_hours = 0;
	must_build(&m, orig_msg, sizeof(orig_msg) - 1, &d);
	field_is(d.pbody[1], "Will-Retry-Until", 0, NULL);
	assert_null(strstr(d.text, "until"));
	dsn_free(&d);
}

static void
test_injection(void **state)
{
	struct bounce_rcpt r = {
		.addr = "bob@remote.example\r\nBcc: evil@x",
		.orig = "x\r\n\r\nInjected-Body: 1",
		.status = "5.1.1\r\nX-Status: 1",
		.diag = "550 no\r\nBcc: evil@x\r\n\r\n--fake\x01\x7f\x1b[0m end",
		.remote_mta = "mx.remote.example\r\nX-Evil: 1", .failed = true,
	};
	struct bounce_msg m = {
		.id = "Q\r\nX-Id: 1", .hostname = "mx.test\r\nX-Host: 1",
		.from = "alice@example.org\r\nBcc: evil@x", .arrival = ARRIVAL,
		.rcpts = &r, .nrcpts = 1,
	};
	static const char *const bad[] = {
		"\r\nBcc:", "\r\nX-Status", "\r\nX-Evil", "\r\nX-Id",
		"\r\nX-Host", "\r\nInjected-Body", "\r\n--fake", "\x01",
		"\x7f", "\x1b",
	};
	struct dsn	d;
	size_t		i;

	(void)state;
	must_build(&m, orig_msg, sizeof(orig_msg) - 1, &d);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(d.raw, bad[i]) != NULL)
			fail_msg("injected: bad[%zu]", i);
	field_is(d.top, "To", 0, "<alice@example.orgBcc: evil@x>");
	field_is(d.top, "From", 0,
	    "Mail Delivery System <MAILER-DAEMON@mx.testX-Host1>");
	assert_non_null(strstr(d.top, "<QX-Id1.bounce."));
	field_is(d.pbody[1], "Status", 0, "5.0.0");
	field_is(d.pbody[1], "Remote-MTA", 0, "dns; mx.remote.example");
	field_is(d.pbody[1], "Diagnostic-Code", 0,
	    "smtp; 550 noBcc: evil@x--fake[0m end");
	field_is(d.pbody[1], "Final-Recipient", 0,
	    "rfc822; bob@remote.exampleBcc: evil@x");
	dsn_free(&d);
}

/* fill - n octets of "word " repeated (spaces: foldable) or of 'x' */
static char *
fill(size_t n, bool spaces)
{
	char	*s = malloc(n + 1);
	size_t	 i;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		s[i] = spaces ? "word "[i % 5] : (char)('a' + i % 26);
	if (spaces && n > 0 && s[n - 1] == ' ')
		s[n - 1] = 'z';
	s[n] = '\0';
	return s;
}

static void
test_long_values(void **state)
{
	char		*spaced = fill(3000, true), *solid = fill(2500, false);
	char		*addr = fill(1500, false), *want, *v, *unfolded;
	char		 diag[3100];
	struct bounce_rcpt r[2] = {
		{ .addr = addr, .status = "5.0.0", .failed = true },
		{ .addr = "b@remote.example", .status = "5.0.0", .failed = true,
		  .remote_mta = "mx.remote.example" },
	};
	struct bounce_msg m = {
		.id = "QL", .hostname = "mx.test", .from = "alice@example.org",
		.rcpts = r, .nrcpts = 2,
	};
	struct dsn	 d;
	size_t		 i, j;

	(void)state;
	(void)snprintf(diag, sizeof(diag), "550 5.0.0 %s", spaced);
	r[0].diag = diag;
	r[1].diag = solid;
	must_build(&m, orig_msg, sizeof(orig_msg) - 1, &d);

	/* a value with spaces unfolds to itself, lines at most 78 */
	assert_non_null(want = malloc(strlen(diag) + 8));
	(void)snprintf(want, strlen(diag) + 8, "smtp; %s", diag);
	field_is(d.pbody[1], "Diagnostic-Code", 0, want);
	free(want);
	v = strstr(d.pbody[1], "Diagnostic-Code:");
	i = 0;
	do {
		j = strcspn(v + i, "\r");
		assert_true(j <= 78);
		i += j + 2;
	} while (v[i] == ' ');
	/* a word longer than a line is cut at 998, continued after a blank */
	assert_non_null(v = field(d.pbody[1], "Diagnostic-Code", 1));
	assert_non_null(unfolded = malloc(strlen(v) + 1));
	for (i = j = 0; v[i] != '\0'; i++)
		if (!(v[i] == ' ' && i > 0 && v[i - 1] != ';'))
			unfolded[j++] = v[i];
	unfolded[j] = '\0';
	assert_true(strncmp(unfolded, "x-postern; ", 11) == 0);
	assert_string_equal(unfolded + 11, solid);
	free(unfolded);
	free(v);
	/* the long address too, and the ones after it are intact */
	assert_non_null(v = field(d.pbody[1], "Final-Recipient", 0));
	assert_int_equal(strlen(v), strlen("rfc822; ") + 1500 + 1);
	free(v);
	field_is(d.pbody[1], "Final-Recipient", 1, "rfc822; b@remote.example");
	field_is(d.pbody[1], "Remote-MTA", 0, "dns; mx.remote.example");
	dsn_free(&d);
	free(addr);
	free(solid);
	free(spaced);
}

/* orig_build - a header section of about hlen octets, then a body */
static char *
orig_build(size_t hlen, bool blank, size_t *lenp)
{
	size_t	 cap = hlen + 256, len = 0;
	char	*s = malloc(cap);
	int	 n = 0;

	assert_non_null(s);
	while (len + 40 < hlen)
		len += (size_t)snprintf(s + len, cap - len,
		    "X-Fill-%06d: abcdefghijklmnopqrstu\r\n", n++);
	len += (size_t)snprintf(s + len, cap - len, "X-Last: end\r\n");
	if (blank)
		len += (size_t)snprintf(s + len, cap - len, "\r\n%s\r\n",
		    BODY_MARK);
	*lenp = len;
	return s;
}

static void
test_headers_cap(void **state)
{
	struct bounce_rcpt r = {
		.addr = "b@remote.example", .status = "5.1.1", .failed = true,
	};
	struct bounce_msg m = {
		.id = "QC", .hostname = "mx.test", .from = "alice@example.org",
		.rcpts = &r, .nrcpts = 1,
	};
	static const struct {
		size_t	hlen;
		bool	blank;
		bool	whole;		/* all headers included */
	} cases[] = {
		{ 1000, true, true },
		{ BOUNCE_MAX_HEADERS - 200, true, true },
		{ BOUNCE_MAX_HEADERS - 2, false, true },
		{ BOUNCE_MAX_HEADERS + 100, true, false },
		{ 200 * 1024, false, false },
		{ 200 * 1024, true, false },
	};
	struct dsn	 d;
	char		*o;
	size_t		 olen, i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = orig_build(cases[i].hlen, cases[i].blank, &olen);
		must_build(&m, o, olen, &d);
		assert_true(d.pblen[2] <= BOUNCE_MAX_HEADERS);
		assert_true(strncmp(d.pbody[2], "X-Fill-000000:", 14) == 0);
		assert_memory_equal(d.pbody[2], o, d.pblen[2]);
		if (cases[i].whole) {
			assert_non_null(strstr(d.pbody[2], "X-Last: end\r\n"));
			assert_int_equal(d.pblen[2], cases[i].blank ?
			    olen - strlen(BODY_MARK) - 4 : olen);
		} else {
			assert_null(strstr(d.pbody[2], "X-Last"));
			/* complete lines only, as many as fit */
			assert_true(d.pblen[2] > BOUNCE_MAX_HEADERS - 40);
			assert_memory_equal(d.pbody[2] + d.pblen[2] - 23,
			    "abcdefghijklmnopqrstu\r\n", 23);
		}
		dsn_free(&d);
		free(o);
	}
}

static void
test_headers_edge(void **state)
{
	struct bounce_rcpt r = {
		.addr = "b@remote.example", .status = "5.1.1", .failed = true,
	};
	struct bounce_msg m = {
		.id = "QE", .hostname = "mx.test", .from = "alice@example.org",
		.rcpts = &r, .nrcpts = 1,
	};
	static const struct {
		const char	*orig;
		size_t		 len;	/* 0: strlen */
		const char	*want;	/* the headers part's content */
	} cases[] = {
		{ "", 0, "" },
		{ "\r\n" BODY_MARK "\r\n", 0, "" },
		{ "\n" BODY_MARK "\n", 0, "" },
		/* LF line ends become CRLF; the body still stays out */
		{ "A: 1\nB: 2\n\tcont\n\n" BODY_MARK "\n", 0,
		  "A: 1\r\nB: 2\r\n\tcont\r\n" },
		/* no empty line, no final line end */
		{ "A: 1\r\nB: 2", 0, "A: 1\r\nB: 2\r\n" },
		/* bare CR and NUL dropped, a line left empty dropped */
		{ "A: 1\rx\r\nB:\0 2\r\n\0\r\nC: 3\r\n\r\n" BODY_MARK, 46,
		  "A: 1x\r\nB: 2\r\nC: 3\r\n" },
		/* CR CR LF is not an empty line */
		{ "A: 1\r\n\r\r\nB: 2\r\n\r\n" BODY_MARK, 0,
		  "A: 1\r\nB: 2\r\n" },
		/* 8-bit octets are kept */
		{ "Subject: caf\xc3\xa9\r\n\r\n" BODY_MARK, 0,
		  "Subject: caf\xc3\xa9\r\n" },
	};
	struct dsn	 d;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		must_build(&m, cases[i].orig, cases[i].len ? cases[i].len :
		    strlen(cases[i].orig), &d);
		if (strcmp(d.pbody[2], cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\"", i, d.pbody[2]);
		if (strchr(cases[i].want, '\xc3') != NULL) {
			field_is(d.phdr[2], "Content-Transfer-Encoding", 0,
			    "8bit");
			field_is(d.top, "Content-Transfer-Encoding", 0,
			    "8bit");
		} else
			field_is(d.top, "Content-Transfer-Encoding", 0, NULL);
		dsn_free(&d);
	}
}

static void
test_long_header_lines(void **state)
{
	struct bounce_rcpt r = {
		.addr = "b@remote.example", .status = "5.1.1", .failed = true,
	};
	struct bounce_msg m = {
		.id = "QH", .hostname = "mx.test", .from = "alice@example.org",
		.rcpts = &r, .nrcpts = 1,
	};
	char		*o, *line = fill(2500, false), *got;
	size_t		 olen, i, j;
	struct dsn	 d;

	(void)state;
	assert_non_null(o = malloc(4000));
	olen = (size_t)snprintf(o, 4000, "X-Long: %s\r\nSubject: s\r\n\r\n"
	    BODY_MARK "\r\n", line);
	must_build(&m, o, olen, &d);
	/* cut at 998, continued after one blank: nothing lost */
	assert_non_null(got = field(d.pbody[2], "X-Long", 0));
	for (i = j = 0; got[i] != '\0'; i++)
		if (got[i] != ' ')
			got[j++] = got[i];
	got[j] = '\0';
	assert_string_equal(got, line);
	free(got);
	assert_int_equal(strcspn(d.pbody[2], "\r"), 998);
	field_is(d.pbody[2], "Subject", 0, "s");

	/* a single line over the cap: what there is, cut into lines */
	free(o);
	olen = BOUNCE_MAX_HEADERS + 5000;
	assert_non_null(o = malloc(olen));
	memset(o, 'h', olen);
	dsn_free(&d);
	must_build(&m, o, olen, &d);
	assert_true(d.pblen[2] >= BOUNCE_MAX_HEADERS);
	assert_int_equal(count(d.pbody[2], "h"), BOUNCE_MAX_HEADERS);
	dsn_free(&d);
	free(o);
	free(line);
}

static void
test_status_words(void **state)
{
	static const struct {
		const char	*status, *diag;
		bool		 failed;
		const char	*want_status, *want_words;
	} cases[] = {
		{ "5.1.1", NULL, true, "5.1.1", "the mailbox does not exist" },
		{ "5.1.10", NULL, true, "5.1.10", "does not accept mail" },
		{ "5.2.2", NULL, true, "5.2.2", "the mailbox is full" },
		{ "4.4.7", NULL, true, "4.4.7", "in the queue for too long" },
		{ "5.7.1", NULL, true, "5.7.1", "refused it by policy" },
		{ "5.3.9", NULL, true, "5.3.9", "receiving mail system" },
		{ "5.9.9", NULL, true, "5.9.9", "an unspecified problem" },
		{ "5.123.456", NULL, true, "5.123.456", "unspecified" },
		{ "5.1234.1", NULL, true, "5.0.0", "unspecified" },
		{ "3.1.1", NULL, true, "5.0.0", "unspecified" },
		{ "5.1", NULL, true, "5.0.0", "unspecified" },
		{ "5.1.1 ", NULL, true, "5.0.0", "unspecified" },
		{ "", NULL, false, "4.0.0", "unspecified" },
		{ NULL, "550 5.7.1 relay denied", true, "5.7.1", "by policy" },
		{ NULL, "550-5.1.1 no such user", true, "5.1.1", "not exist" },
		{ "junk", "452 4.2.2 over quota", false, "4.2.2",
		  "the mailbox is full" },
		{ NULL, "550 4.2.2 classes differ", true, "5.0.0", "unspec" },
		{ NULL, "550 no code", true, "5.0.0", "unspecified" },
		{ NULL, "55", true, "5.0.0", "unspecified" },
	};
	struct bounce_rcpt r = { .addr = "b@remote.example" };
	struct bounce_msg m = {
		.id = "QS", .hostname = "mx.test", .from = "alice@example.org",
		.rcpts = &r, .nrcpts = 1,
	};
	struct dsn	d;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r.status = cases[i].status;
		r.diag = cases[i].diag;
		r.failed = cases[i].failed;
		must_build(&m, orig_msg, sizeof(orig_msg) - 1, &d);
		field_is(d.pbody[1], "Status", 0, cases[i].want_status);
		if (strstr(d.text, cases[i].want_words) == NULL)
			fail_msg("case %zu: no \"%s\" in:\n%s", i,
			    cases[i].want_words, d.pbody[0]);
		dsn_free(&d);
	}
}

static void
test_unique(void **state)
{
	struct bounce_rcpt r = {
		.addr = "b@remote.example", .status = "5.1.1", .failed = true,
	};
	struct bounce_msg m = {
		.id = "QU", .hostname = "mx.test", .from = "alice@example.org",
		.rcpts = &r, .nrcpts = 1,
	};
	struct dsn	 a, b;
	char		*ida, *idb;

	(void)state;
	must_build(&m, orig_msg, sizeof(orig_msg) - 1, &a);
	must_build(&m, orig_msg, sizeof(orig_msg) - 1, &b);
	assert_non_null(ida = field(a.top, "Message-ID", 0));
	assert_non_null(idb = field(b.top, "Message-ID", 0));
	assert_string_not_equal(ida, idb);
	assert_string_not_equal(a.boundary, b.boundary);
	free(idb);
	free(ida);
	dsn_free(&b);
	dsn_free(&a);
}

static void
test_errors(void **state)
{
	struct bounce_rcpt r = {
		.addr = "b@remote.example", .status = "5.1.1", .failed = true,
	}, noaddr = { .addr = NULL, .failed = true };
	struct bounce_msg base = {
		.id = "QX", .hostname = "mx.test", .from = "alice@example.org",
		.rcpts = &r, .nrcpts = 1,
	}, m;
	static const struct {
		int	what;
	} cases[] = { { 0 }, { 1 }, { 2 }, { 3 }, { 4 }, { 5 }, { 6 }, { 7 },
	    { 8 } };
	struct buf	out;
	struct err	e;
	size_t		i;
	int		fd = orig_fd(orig_msg, sizeof(orig_msg) - 1), use_fd;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m = base;
		use_fd = fd;
		buf_init(&out, OUT_CAP);
		switch (cases[i].what) {
		case 0: m.from = ""; break;
		case 1: m.from = "<>"; break;
		case 2: m.from = "MAILER-DAEMON@example.org"; break;
		case 3: m.from = NULL; break;
		case 4: m.nrcpts = 0; break;
		case 5: m.rcpts = &noaddr; break;
		case 6: m.hostname = "\r\n"; break;
		case 7: use_fd = -1; break;
		case 8: out.cap = 600; break;
		}
		assert_int_equal(buf_add(&out, "keep", 4), 0);
		memset(&e, 0, sizeof(e));
		if (bounce_build(&m, use_fd, &out, &e) != -1)
			fail_msg("case %zu: built", i);
		assert_int_equal(e.temp, cases[i].what == 7);
		assert_true(e.msg[0] != '\0');
		assert_int_equal(buf_avail(&out), 4);
		assert_memory_equal(buf_ptr(&out), "keep", 4);
		buf_release(&out);
	}
	/* appends after what the buf holds */
	buf_init(&out, OUT_CAP);
	assert_int_equal(buf_add(&out, "keep", 4), 0);
	assert_int_equal(bounce_build(&base, fd, &out, NULL), 0);
	assert_memory_equal(buf_ptr(&out), "keepFrom: ", 10);
	buf_release(&out);
	close(fd);
}

static void
test_wanted(void **state)
{
	static const struct {
		const char	*from;
		bool		 want;
	} cases[] = {
		{ "alice@example.org", true },
		{ "<alice@example.org>", true },
		{ "postmaster@example.org", true },
		{ "postmaster", true },
		{ "mailer-daemon.x@example.org", true },
		{ "x-mailer-daemon@example.org", true },
		{ "mailer-daemo@example.org", true },
		{ "\"mailer-daemon@x\"@example.org", true },
		{ "", false },
		{ "<>", false },
		{ NULL, false },
		{ "MAILER-DAEMON@example.org", false },
		{ "mailer-daemon@example.org", false },
		{ "Mailer-Daemon@example.org", false },
		{ "<MAILER-DAEMON@example.org>", false },
		{ "MAILER-DAEMON", false },
		{ "\"mailer-daemon\"@example.org", false },
		{ "mailer-daemon@a@example.org", true },	/* local "mailer-daemon@a" */
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (bounce_wanted(cases[i].from) != cases[i].want)
			fail_msg("case %zu (%s): want %d", i,
			    cases[i].from ? cases[i].from : "NULL",
			    cases[i].want);
}

/*
 * test_prefix - the returned header is the one delivered: the envelope's
 * prefix (signatures, an added Message-ID) in front of the stored one
 */
static void
test_prefix(void **state)
{
	struct bounce_rcpt r = {
		.addr = "bob@remote.example", .orig = "bob@remote.example",
		.status = "5.1.1", .diag = "550 5.1.1 user unknown",
		.failed = true,
	};
	struct bounce_msg m = {
		.id = "Q1", .hostname = "mx.test",
		.from = "alice@example.org", .arrival = ARRIVAL,
		.rcpts = &r, .nrcpts = 1,
		.prefix = "DKIM-Signature: v=1; d=example.org;\r\n"
		    "\tb=abc\r\nMessage-ID: <added@mx.test>\r\n",
	};
	struct dsn	 d;
	char		*dk, *rc;

	(void)state;
	must_build(&m, orig_msg, sizeof(orig_msg) - 1, &d);
	assert_non_null(strstr(d.pbody[2], "Message-ID: <added@mx.test>"));
	assert_non_null(dk = strstr(d.pbody[2], "DKIM-Signature: v=1;"));
	assert_non_null(rc = strstr(d.pbody[2], "Received: from client"));
	assert_true(dk < rc);
	dsn_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_failed),
		cmocka_unit_test(test_three_mixed),
		cmocka_unit_test(test_warning),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_headers_cap),
		cmocka_unit_test(test_headers_edge),
		cmocka_unit_test(test_long_header_lines),
		cmocka_unit_test(test_status_words),
		cmocka_unit_test(test_unique),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_wanted),
		cmocka_unit_test(test_prefix),
	};

	/* dates in the report are local time: make them UTC */
	(void)setenv("TZ", "UTC0", 1);
	tzset();
	checker_find();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
