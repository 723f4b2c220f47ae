/*
 * smtp_data.c - the DATA body reader: a pure, streaming state machine.
 *
 * Runs in the unprivileged smtp process on hostile input; no I/O, no
 * allocation, no globals; fuzzed by tests/fuzz/fuzz_smtp_data.c.  Bytes
 * arrive in chunks of any size, split anywhere; the result (output,
 * error, counters, bytes consumed) does not depend on the split.
 *
 * Rules (RFC 5321 4.1.1.4, 4.5.2, 2.3.8; SMTP smuggling):
 *  - the data starts at a line start; only CRLF ends a line;
 *  - a line that is exactly "." CRLF ends the data; the CRLF before it
 *    belongs to the body; feeding stops right after its LF;
 *  - a line starting with "." loses that dot (dot-unstuffing);
 *  - a bare LF or bare CR never ends a line for these two rules: under
 *    BARE_LF_REJECT it is SD_ERR_BARE_LF, under BARE_LF_NORMALIZE it is
 *    written as CRLF, and the output line (header tracking, line length)
 *    restarts after it, but the protocol line does not;
 *  - NUL is SD_ERR_NUL; an output line longer than max_line octets (CRLF
 *    not counted) is SD_ERR_LINE; more than max_size output octets is
 *    SD_ERR_SIZE; more than max_hops "Received:" fields in the header
 *    (up to the first empty line, at most LIM_HEADER_BYTES) is
 *    SD_ERR_HOPS; out refusing bytes is SD_ERR_OUTPUT;
 *  - with strip_id set, an Authentication-Results field of the header
 *    (its continuation lines included) whose authserv-id is strip_id is
 *    left out of the output (RFC 8601 5: we add ours, a received one
 *    naming us is forged), as is one longer than SMTP_DATA_AR_HOLD; the
 *    field is held back until its end (the next line that is no
 *    continuation, the empty line, or the end of data) to read the id
 *    after any comments (authres_id_is).  Sizes and limits count the
 *    octets received; written counts what reached out.
 * The first error is kept; from then on nothing is written, and input is
 * only scanned for the terminator, so the session stays in step.  Output
 * is the exact prefix of the body written before the failing octet.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "bounds.h"
#include "mauth/authres.h"
#include "smtp_data.h"

#define RECEIVED	"Received:"
#define RECEIVED_LEN	(sizeof(RECEIVED) - 1)
#define AUTHRES		"Authentication-Results:"
#define AUTHRES_LEN	(sizeof(AUTHRES) - 1)

/* the A-R filter, on output lines of the header */
enum sd_ar {
	AR_OFF,		/* no stripping, or past the header */
	AR_BOL,		/* at the start of an output line */
	AR_NAME,	/* matching the field name, octets held */
	AR_HOLD,	/* an A-R field: held to its end */
	AR_PASS,	/* another field: out */
	AR_DROP,	/* a field being left out */
};

enum sd_state {
	SDS_BOL,	/* at the start of a line (after a real CRLF) */
	SDS_DOT,	/* a "." at the start of a line was dropped */
	SDS_DOT_CR,	/* ".\r" at the start of a line: end if LF follows */
	SDS_TEXT,	/* inside a line */
	SDS_CR,		/* CR inside a line, held back until the next octet */
	SDS_DONE,	/* terminator consumed */
};

enum { SC_CR, SC_LF, SC_NUL, SC_N };

/*
 * struct sd_scan - the next CR, LF and NUL in one chunk, each found by
 * memchr once and reused while it lies ahead, so a chunk is scanned at
 * most once per octet value whatever the line structure.
 */
struct sd_scan {
	const char	*in;
	size_t		 len;
	size_t		 next[SC_N];	/* offset of the next one, or len */
	bool		 known[SC_N];
};

static const char sd_scan_chars[SC_N] = { '\r', '\n', '\0' };

/* sd_next - offset of the next octet of kind k at or after i, or len */
static size_t
sd_next(struct sd_scan *sc, int k, size_t i)
{
	const char	*p;

	if (!sc->known[k] || sc->next[k] < i) {
		p = memchr(sc->in + i, sd_scan_chars[k], sc->len - i);
		sc->next[k] = p != NULL ? (size_t)(p - sc->in) : sc->len;
		sc->known[k] = true;
	}
	return sc->next[k];
}

/* sd_fail - record the first error */
static void
sd_fail(struct smtp_data *d, enum smtp_data_error err)
{
	if (d->error == SD_OK)
		d->error = err;
}

/* sd_put - n octets into out (room checked by the caller), counted */
static int
sd_put(struct smtp_data *d, const char *p, size_t n, struct buf *out)
{
	if (n > 0 && buf_add(out, p, n) == -1)
		return -1;
	d->written += n;
	return 0;
}

/* sd_room - octets out may still take, a held field's counted as taken
 * (it may go out whole), so that what fits is the same at any split */
static size_t
sd_room(const struct smtp_data *d, const struct buf *out)
{
	size_t	used = buf_avail(out) + d->arlen;

	return used < out->cap ? out->cap - used : 0;
}

/* sd_hold - n octets of an A-R field into the hold (past it: dropped) */
static void
sd_hold(struct smtp_data *d, const char *p, size_t n)
{
	if (n > sizeof(d->arbuf) - d->arlen) {
		d->ar = AR_DROP;	/* too long to judge: left out */
		d->ar_held = false;
		d->arlen = 0;
		d->stripped++;
		return;
	}
	memcpy(d->arbuf + d->arlen, p, n);
	d->arlen += n;
}

/* sd_ar_resolve - the held octets are whole: a field naming strip_id is
 * dropped, anything else (a name that stopped matching) goes out */
static int
sd_ar_resolve(struct smtp_data *d, struct buf *out)
{
	size_t	n = d->arlen;

	if (!d->ar_held) {
		d->arlen = 0;
		return 0;
	}
	d->ar_held = false;
	d->arlen = 0;
	if (n >= AUTHRES_LEN && authres_id_is(d->arbuf + AUTHRES_LEN,
	    n - AUTHRES_LEN, d->strip_id)) {
		d->stripped++;
		return 0;
	}
	return sd_put(d, d->arbuf, n, out);
}

/*
 * sd_out - n output octets through the A-R filter (header lines only;
 * they always end in CRLF here): how many it took, fewer than n when out
 * (held octets counted) is full or refused octets
 */
static size_t
sd_out(struct smtp_data *d, const char *p, size_t n, struct buf *out)
{
	const char	*nl;
	size_t		 i = 0, k, room;

	while (i < n) {
		room = sd_room(d, out);
		if (d->ar == AR_OFF || d->strip_id == NULL) {
			k = n - i < room ? n - i : room;
			return sd_put(d, p + i, k, out) == -1 ? i : i + k;
		}
		switch (d->ar) {
		case AR_BOL:
			if (p[i] == ' ' || p[i] == '\t') {
				/* a continuation: as its field (a held one
				 * stays held) */
				d->ar = d->ar_held ? AR_HOLD : d->ar_cont;
				continue;
			}
			if (sd_ar_resolve(d, out) == -1)
				return i;
			if (p[i] == '\r' || !d->in_header) {
				d->ar = AR_OFF;	/* the header is over */
				continue;
			}
			d->ar = AR_NAME;
			d->ar_held = true;
			continue;
		case AR_NAME:
			if ((p[i] | 0x20) != (AUTHRES[d->arlen] | 0x20)) {
				/* another field: what was held goes out */
				d->ar_held = false;
				k = d->arlen;
				d->arlen = 0;
				if (sd_put(d, d->arbuf, k, out) == -1)
					return i;
				d->ar = d->ar_cont = AR_PASS;
				continue;
			}
			if (room == 0)
				return i;
			sd_hold(d, p + i, 1);
			i++;
			if (d->arlen == AUTHRES_LEN)
				d->ar = AR_HOLD;
			continue;
		default:	/* AR_HOLD, AR_PASS, AR_DROP: to the line end */
			nl = memchr(p + i, '\n', n - i);
			k = nl != NULL ? (size_t)(nl - p) + 1 : n;
			if (d->ar != AR_DROP && k - i > room) {
				if (room == 0)
					return i;	/* full */
				k = i + room;
				nl = NULL;
			}
			if (d->ar == AR_PASS && sd_put(d, p + i, k - i,
			    out) == -1)
				return i;
			if (d->ar == AR_HOLD)
				sd_hold(d, p + i, k - i);
			d->ar_cont = d->ar;
			i = k;
			if (nl != NULL)
				d->ar = AR_BOL;
			continue;
		}
	}
	return n;
}

/* sd_ar_end - the data ended: a field still held is judged now */
static void
sd_ar_end(struct smtp_data *d, struct buf *out)
{
	if (d->ar != AR_OFF && out != NULL && d->error == SD_OK &&
	    sd_ar_resolve(d, out) == -1)
		sd_fail(d, SD_ERR_OUTPUT);
	d->ar = AR_OFF;
}

/*
 * sd_emit - append n body octets, up to what max_size and out allow;
 * the octet that does not fit sets the error (size checked first).
 */
static void
sd_emit(struct smtp_data *d, const char *p, size_t n, struct buf *out)
{
	enum smtp_data_error	 err = SD_OK;
	unsigned long long	 left = d->max_size - d->size;
	size_t			 take = n, got;

	if (d->error != SD_OK)
		return;
	if (take > left) {
		take = (size_t)left;
		err = SD_ERR_SIZE;
	}
	if (out != NULL) {
		got = sd_out(d, p, take, out);
		if (got < take) {
			take = got;
			err = SD_ERR_OUTPUT;
		}
	}
	d->size += take;
	if (err != SD_OK)
		sd_fail(d, err);
}

/* sd_line_end - bookkeeping after an output CRLF */
static void
sd_line_end(struct smtp_data *d)
{
	/* RFC 5322 2.1: the header ends at the first empty line */
	if (d->in_header && (d->linelen == 0 || d->size > LIM_HEADER_BYTES))
		d->in_header = false;
	d->linelen = 0;
	d->hdrlen = 0;
}

/* sd_eol - write CRLF and end the output line */
static void
sd_eol(struct smtp_data *d, struct buf *out)
{
	sd_emit(d, "\r\n", 2, out);
	sd_line_end(d);
}

/* sd_bare - a bare LF or bare CR: reject, or store it as CRLF */
static void
sd_bare(struct smtp_data *d, struct buf *out)
{
	if (d->error != SD_OK)
		return;
	if (d->bare_lf == BARE_LF_REJECT)
		sd_fail(d, SD_ERR_BARE_LF);
	else
		sd_eol(d, out);
}

/*
 * sd_text - write the run of plain octets at i (at least one), and its
 * CRLF too when it follows in this chunk; returns the new offset.
 */
static size_t
sd_text(struct smtp_data *d, struct sd_scan *sc, size_t i, struct buf *out)
{
	const char	*p = sc->in + i;
	size_t		 stop, n, room;
	bool		 track, crlf;

	stop = sd_next(sc, SC_CR, i);
	if ((n = sd_next(sc, SC_LF, i)) < stop)
		stop = n;
	if ((n = sd_next(sc, SC_NUL, i)) < stop)
		stop = n;
	n = stop - i;

	/* the first octets of a header line are looked at for Received: */
	track = d->in_header && d->linelen < RECEIVED_LEN;
	if (track && n > RECEIVED_LEN - d->linelen)
		n = RECEIVED_LEN - d->linelen;
	room = d->max_line - d->linelen;
	if (n > room) {
		sd_emit(d, p, room, out);
		sd_fail(d, SD_ERR_LINE);
		return i + room;
	}
	crlf = !track && stop == i + n && stop + 1 < sc->len &&
	    sc->in[stop] == '\r' && sc->in[stop + 1] == '\n';
	sd_emit(d, p, crlf ? n + 2 : n, out);
	if (track && d->error == SD_OK) {
		memcpy(d->hdr + d->hdrlen, p, n);
		d->hdrlen += n;
		if (d->hdrlen == RECEIVED_LEN &&
		    strncasecmp(d->hdr, RECEIVED, RECEIVED_LEN) == 0 &&
		    ++d->hops > d->max_hops)
			sd_fail(d, SD_ERR_HOPS);
	}
	d->linelen += n;
	if (!crlf)
		return i + n;
	sd_line_end(d);
	d->st = SDS_BOL;
	return stop + 2;
}

/* smtp_data_init - ready a reader for one message */
void
smtp_data_init(struct smtp_data *d, unsigned long long max_size,
    size_t max_line, unsigned max_hops, enum bare_lf_policy bare_lf)
{
	memset(d, 0, sizeof(*d));
	d->max_size = max_size;
	d->max_line = max_line;
	d->max_hops = max_hops;
	d->bare_lf = bare_lf;
	d->error = SD_OK;
	d->st = SDS_BOL;
	d->in_header = true;
	d->ar = AR_BOL;		/* unused while strip_id is NULL */
	d->ar_cont = AR_PASS;
}

/*
 * smtp_data_feed - consume bytes from in; returns how many were consumed.
 * Stops right after the terminator (d->done).
 */
size_t
smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
    struct buf *out)
{
	struct sd_scan	 sc;
	size_t		 i = 0;
	char		 c;

	memset(&sc, 0, sizeof(sc));
	sc.in = in;
	sc.len = len;
	while (i < len && d->st != SDS_DONE) {
		c = in[i];
		switch (d->st) {
		case SDS_BOL:
			if (c == '.') {
				d->st = SDS_DOT;
				i++;
			} else
				d->st = SDS_TEXT;
			break;
		case SDS_DOT:
			if (c == '\r') {
				d->st = SDS_DOT_CR;
				i++;
			} else
				d->st = SDS_TEXT;
			break;
		case SDS_DOT_CR:
			if (c == '\n') {
				d->st = SDS_DONE;
				i++;
				break;
			}
			sd_bare(d, out);	/* "." then a bare CR */
			d->st = SDS_TEXT;
			break;
		case SDS_CR:
			if (c == '\n') {
				sd_eol(d, out);
				d->st = SDS_BOL;
				i++;
				break;
			}
			sd_bare(d, out);
			d->st = SDS_TEXT;
			break;
		default:	/* SDS_TEXT */
			if (c == '\r') {
				d->st = SDS_CR;
				i++;
			} else if (d->error != SD_OK)
				i = sd_next(&sc, SC_CR, i);
			else if (c == '\n') {
				sd_bare(d, out);
				i++;
			} else if (c == '\0') {
				sd_fail(d, SD_ERR_NUL);
				i++;
			} else
				i = sd_text(d, &sc, i, out);
			break;
		}
	}
	d->done = d->st == SDS_DONE;
	if (d->done)
		sd_ar_end(d, out);
	return i;
}

/* smtp_data_reply - the reply line for an outcome */
const char *
smtp_data_reply(enum smtp_data_error err)
{
	switch (err) {
	case SD_OK:
		return "250 2.0.0 Ok";
	case SD_ERR_SIZE:
		return "552 5.3.4 Message size exceeds fixed limit";
	case SD_ERR_LINE:
		return "554 5.6.0 Message has a line too long";
	case SD_ERR_BARE_LF:
		return "550 5.6.0 Bare LF or CR in message "
		    "(SMTP requires CRLF line ends)";
	case SD_ERR_NUL:
		return "550 5.6.0 NUL octet in message";
	case SD_ERR_HOPS:
		return "554 5.4.6 Too many hops (mail loop?)";
	case SD_ERR_OUTPUT:
		return "451 4.3.0 Local error writing message";
	}
	return "451 4.3.0 Local error writing message";
}

/* smtp_data_received - the trace header for a message (see smtp_data.h) */
int
smtp_data_received(struct buf *b, const struct smtp_data_trace *t)
{
	char		 date[64];
	struct tm	 tm;
	const char	*proto;
	bool		 tls = t->tls_version != NULL;
	int		 rc = 0;

	gmtime_r(&t->now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (!t->esmtp)
		proto = "SMTP";
	else if (tls && t->authenticated)
		proto = t->smtputf8 ? "UTF8SMTPSA" : "ESMTPSA";
	else if (tls)
		proto = t->smtputf8 ? "UTF8SMTPS" : "ESMTPS";
	else if (t->authenticated)
		proto = t->smtputf8 ? "UTF8SMTPA" : "ESMTPA";
	else
		proto = t->smtputf8 ? "UTF8SMTP" : "ESMTP";
	rc |= buf_printf(b, "Received: from %s ([%s])\r\n\tby %s (postern) "
	    "with %s id %s", t->helo, t->addr, t->hostname, proto, t->msgid);
	if (tls)
		rc |= buf_printf(b, "\r\n\t(version=%s cipher=%s)",
		    t->tls_version, t->tls_cipher);
	if (t->rcpt != NULL)
		rc |= buf_printf(b, "\r\n\tfor <%s>", t->rcpt);
	rc |= buf_printf(b, "; %s\r\n", date);
	return rc == 0 ? 0 : -1;
}
