/*
 * test_ticket.c - authentication tickets (proc/ticket.c): a ticket
 * checks only for the user and time it was made for, under the key of
 * this process, within the ttl given and TICKET_SKEW; a process that forgot
 * the key checks nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ticket.h"

#define TTL	1800	/* a session_timeout */

static void
test_ticket(void **state)
{
	char		t[TICKET_HEX + 1], t2[TICKET_HEX + 1];
	uint64_t	now;

	(void)state;
	ticket_init();
	now = ticket_now() + 2 * TTL;	/* room for the past */
	ticket_make("carol@example.com", now, t);
	assert_int_equal(strlen(t), TICKET_HEX);
	assert_int_equal(ticket_check("carol@example.com", now, t, now, TTL),
	    TICKET_OK);
	/* another user, another time, one digit changed, cut, empty */
	assert_int_equal(ticket_check("alice@example.com", now, t, now, TTL),
	    TICKET_BAD);
	assert_int_equal(ticket_check("carol@example.com", now - 1, t, now,
	    TTL),
	    TICKET_BAD);
	memcpy(t2, t, sizeof(t));
	t2[5] = t2[5] == '0' ? '1' : '0';
	assert_int_equal(ticket_check("carol@example.com", now, t2, now, TTL),
	    TICKET_BAD);
	t2[5] = t[5];
	t2[TICKET_HEX - 1] = '\0';
	assert_int_equal(ticket_check("carol@example.com", now, t2, now, TTL),
	    TICKET_BAD);
	assert_int_equal(ticket_check("carol@example.com", now, "", now, TTL),
	    TICKET_BAD);
	/* the window: TTL old at most, TICKET_SKEW early at most */
	assert_int_equal(ticket_check("carol@example.com", now, t,
	    now + TTL, TTL), TICKET_OK);
	assert_int_equal(ticket_check("carol@example.com", now, t,
	    now + TTL + 1, TTL), TICKET_EXPIRED);
	assert_int_equal(ticket_check("carol@example.com", now, t,
	    now - TICKET_SKEW, TTL), TICKET_OK);
	assert_int_equal(ticket_check("carol@example.com", now, t,
	    now - TICKET_SKEW - 1, TTL), TICKET_EXPIRED);
	/* a new key: old tickets are not ours any more */
	ticket_init();
	assert_int_equal(ticket_check("carol@example.com", now, t, now, TTL),
	    TICKET_BAD);
	ticket_make("carol@example.com", now, t);
	ticket_forget();
	assert_int_equal(ticket_check("carol@example.com", now, t, now, TTL),
	    TICKET_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
