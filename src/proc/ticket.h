/*
 * ticket.h - proof that a user authenticated, which an smtp worker can
 * pass on but not make: the auth process issues a ticket with every
 * successful AUTH (M_AUTH_RES), smtp hands it to the queue with the
 * message (M_Q_OPEN), and the queue believes the user only if the ticket
 * checks.  A ticket is HMAC-SHA256 over the user and the time it was
 * issued, under a key the parent makes at start; only auth and the queue
 * keep that key (every other child forgets it right after fork).
 */
#ifndef POSTERN_TICKET_H
#define POSTERN_TICKET_H

#include <stdbool.h>
#include <stdint.h>

#define TICKET_HEX	64		/* hex digits of a ticket */
#define TICKET_SKEW	60		/* seconds a ticket may be early */

/* ticket_init - a fresh random key (the parent, once, before any fork) */
void	ticket_init(void);
/* ticket_forget - wipe the key (a child that must not issue or check) */
void	ticket_forget(void);
/* ticket_now - the tickets' clock: seconds since boot, never stepped */
uint64_t ticket_now(void);
/* ticket_make - the ticket of user at issued, NUL-terminated hex */
void	ticket_make(const char *user, uint64_t issued,
	    char out[TICKET_HEX + 1]);
enum ticket_verdict {
	TICKET_OK,
	TICKET_EXPIRED,		/* made by us, but issued is out of range */
	TICKET_BAD,		/* not made by us (or no key here) */
};

/*
 * ticket_check - was hex made by ticket_make(user, issued), and is issued
 * within [now - ttl, now + TICKET_SKEW]?  (ttl: the longest session,
 * session_timeout: a ticket outlives no session it was issued in)
 */
enum ticket_verdict ticket_check(const char *user, uint64_t issued,
	    const char *hex, uint64_t now, uint64_t ttl);

#endif
