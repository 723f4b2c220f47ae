/*
 * smtp_check.h - the session's side of the inbound checks (smtp_check.c):
 * DKIM digests and the author domain while DATA streams, the request to
 * the verifier, the wait for its answer.  Internal to the smtp process.
 */
#ifndef POSTERN_SMTP_CHECK_H
#define POSTERN_SMTP_CHECK_H

#include <stdbool.h>
#include <stdint.h>

struct smtp_session;

/* smtp_check_applies - the MX port, not authenticated, checks on */
bool	smtp_check_applies(const struct smtp_session *);
/* smtp_check_begin - a checked message starts (after smtp_data_init) */
void	smtp_check_begin(struct smtp_session *);
/* smtp_check_feed - after each smtp_data_feed, before the body leaves
 * the buffer: the octets written since */
void	smtp_check_feed(struct smtp_session *);
/*
 * smtp_check_mail, smtp_check_end - send the request (SPF alone at MAIL;
 * everything at the end of DATA); the caller waits for the answer.  -1:
 * no verifier (the caller says 451).
 */
int	smtp_check_mail(struct smtp_session *);
int	smtp_check_end(struct smtp_session *);
/* smtp_check_answer - is reqid the answer s waits for? then not any more */
bool	smtp_check_answer(struct smtp_session *, uint64_t reqid);
/* smtp_check_cancel - stop waiting (the verifier is gone); was s? */
bool	smtp_check_cancel(struct smtp_session *);
/* smtp_check_sid - the id of the session a request id belongs to */
uint64_t smtp_check_sid(uint64_t reqid);
/* smtp_check_free - drop the transaction's check state and the wait */
void	smtp_check_free(struct smtp_session *);

#endif
