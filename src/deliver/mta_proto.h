/*
 * mta_proto.h - the pure parts of outbound SMTP (RFC 5321 client side):
 * reply assembly (multi-line replies, RFC 5321 4.2.1), EHLO keyword
 * parsing, enhanced status codes (RFC 3463) and dot-stuffing of the body
 * (RFC 5321 4.5.2).  No I/O, no allocation; unit-tested and fuzzed.
 */
#ifndef POSTERN_MTA_PROTO_H
#define POSTERN_MTA_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* longest reply line we accept, without CRLF (RFC 5321 4.5.3.1.5: 512) */
#define MTA_REPLY_LINE_MAX	2046
/* text kept from one reply (all its lines), more is dropped */
#define MTA_REPLY_TEXT_MAX	4096
/* lines in one reply before it is called malformed */
#define MTA_REPLY_MAX_LINES	200

enum mta_reply_status {
	MR_MORE,	/* a continuation line: more to come */
	MR_DONE,	/* the last line: the reply is complete */
	MR_BAD,		/* not a reply line, or the code changed */
};

struct mta_reply {
	int		 code;		/* 200..599, once a line was seen */
	size_t		 nlines;
	char		 esc[16];	/* first line's enhanced code, or "" */
	char		 first[MTA_REPLY_TEXT_MAX];	/* first line's text */
	/* every line's text (code stripped), '\n'-separated, truncated */
	char		 text[MTA_REPLY_TEXT_MAX];
	size_t		 textlen;
};

/* mta_reply_init - empty reply, ready for its first line */
void	mta_reply_init(struct mta_reply *);
/*
 * mta_reply_add - feed one line (without CRLF) of a reply: "ddd text",
 * "ddd-text" or "ddd".  The code must be 2xx..5xx and the same on every
 * line of one reply, and a line may not hold NUL.
 */
enum mta_reply_status mta_reply_add(struct mta_reply *, const char *line,
	    size_t len);
/*
 * mta_reply_line - the reply in one printable line for logs and results:
 * "CODE first-line-text", control characters and '"' replaced by '?'.
 */
void	mta_reply_line(const struct mta_reply *, char *out, size_t outsz);

/*
 * mta_esc_parse - an enhanced status code "c.sss.ddd" at the start of
 * text (RFC 3463 2), followed by a space or the end; its class must be
 * cls ('2', '4' or '5').  Writes it to out (16 bytes); 0 or -1.
 */
int	mta_esc_parse(const char *text, size_t len, char cls, char out[16]);

/* EHLO extensions postern uses (RFC 1870, 2920, 3207, 6152, 6531, 2034) */
#define MTA_EXT_STARTTLS	0x01u
#define MTA_EXT_SIZE		0x02u
#define MTA_EXT_8BITMIME	0x04u
#define MTA_EXT_SMTPUTF8	0x08u
#define MTA_EXT_PIPELINING	0x10u
#define MTA_EXT_ENHSTATUS	0x20u

struct mta_ext {
	unsigned	 flags;		/* MTA_EXT_* */
	uint64_t	 size_max;	/* SIZE's limit; 0: none given */
};

/*
 * mta_ehlo_parse - the extensions of a 250 EHLO reply's text (as kept in
 * struct mta_reply: lines after the first are keywords with parameters).
 * Keywords are matched without regard to case; unknown ones are ignored.
 */
void	mta_ehlo_parse(const char *text, size_t len, struct mta_ext *);

/*
 * Dot-stuffing for DATA: every line that starts with '.' gets another
 * one; the end adds CRLF when the body does not end with one, then
 * ".\r\n".  A bare LF also counts as a line end for stuffing, so a
 * stored body can never smuggle an end of data.
 */
struct mta_dot {
	bool		 bol;		/* at the beginning of a line */
	char		 last[2];	/* the last two input bytes */
	uint64_t	 total;		/* input bytes seen */
};

void	mta_dot_init(struct mta_dot *);
/*
 * MTA_DOT_ROOM - the most mta_dot_stuff() writes for n bytes: a dot is
 * added only before a '.' that starts a line, and two such bytes are
 * never adjacent (the one before is a LF), so at most ceil(n / 2) dots
 */
#define MTA_DOT_ROOM(n)	((n) + (n) / 2 + 1)
/* mta_dot_stuff - copy n bytes to out (MTA_DOT_ROOM(n)); returns bytes out */
size_t	mta_dot_stuff(struct mta_dot *, const char *in, size_t n, char *out);
/*
 * mta_dot_clean - how many of the n bytes at p can go as they are: up to
 * the first '.' that starts a line (n if none); the state moves past
 * them, so the rest goes through mta_dot_stuff() (a body read straight
 * into the output buffer needs no copy until such a dot)
 */
size_t	mta_dot_clean(struct mta_dot *, const char *p, size_t n);
/* mta_dot_end - the terminator into out (room for 5); returns bytes out */
size_t	mta_dot_end(const struct mta_dot *, char *out);

#endif
