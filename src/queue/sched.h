/*
 * sched.h - the retry schedule of the queue (pure, no I/O).
 *
 * After the n-th failed attempt (n >= 1) a recipient waits
 * min(retry_max, retry_min * 2^(n-1)) seconds, give or take 10 percent so
 * that messages that failed together do not all retry together.  A
 * recipient still undelivered queue_lifetime seconds after the message was
 * created is given up.
 */
#ifndef POSTERN_SCHED_H
#define POSTERN_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/*
 * sched_delay - seconds to wait after `attempts` failed attempts; rnd is
 * any 32-bit random value and picks the jitter (rnd % 2001 - 1000 in
 * tenths of a percent).  Never less than 1.
 */
unsigned	sched_delay(unsigned attempts, unsigned retry_min,
		    unsigned retry_max, uint32_t rnd);
/* sched_next_try - now + sched_delay() with a fresh random jitter */
time_t		sched_next_try(time_t now, unsigned attempts,
		    unsigned retry_min, unsigned retry_max);
/* sched_retry_floor - the shortest wait before trying again (a failed
 * write, a lost job): retry_min, or 60 s when it is 0 */
unsigned	sched_retry_floor(unsigned retry_min);
/* sched_expired - has a message created at `created` outlived lifetime? */
bool		sched_expired(time_t created, time_t now, unsigned lifetime);

#endif
