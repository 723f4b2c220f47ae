/*
 * sched.c - the retry schedule of the queue (sched.h).
 *
 * Pure arithmetic, used by the queue process's event loop and its
 * delivery worker; the only outside input is getrandom() for the jitter in
 * sched_next_try().  Delays are computed in 64 bits and capped before any
 * conversion, so no configuration value can overflow them.
 */
#include <sys/random.h>
#include <unistd.h>

#include "queue/sched.h"

/* sched_delay - min(max, min * 2^(attempts-1)) seconds, +-10% jitter */
unsigned
sched_delay(unsigned attempts, unsigned retry_min, unsigned retry_max,
    uint32_t rnd)
{
	uint64_t	d = retry_min > 0 ? retry_min : 1;
	uint64_t	cap = retry_max > 0 ? retry_max : 1;
	int64_t		jit;
	unsigned	i;

	if (cap < d)
		cap = d;
	for (i = 1; i < attempts && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	/* jitter in [-1000, 1000] ten-thousandths: +-10% */
	jit = (int64_t)(rnd % 2001u) - 1000;
	d = (uint64_t)((int64_t)d + (int64_t)d * jit / 10000);
	if (d < 1)
		d = 1;
	if (d > UINT32_MAX)
		d = UINT32_MAX;
	return (unsigned)d;
}

/* sched_next_try - when to try again after `attempts` failures */
time_t
sched_next_try(time_t now, unsigned attempts, unsigned retry_min,
    unsigned retry_max)
{
	uint32_t	rnd;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (uint32_t)now * 2654435761u + (uint32_t)getpid();
	return now + (time_t)sched_delay(attempts, retry_min, retry_max, rnd);
}

/* sched_expired - true once now is at least lifetime seconds past created */
bool
sched_expired(time_t created, time_t now, unsigned lifetime)
{
	return now >= created && (uint64_t)(now - created) >= lifetime;
}

/* sched_retry_floor - retry_min, never 0 */
unsigned
sched_retry_floor(unsigned retry_min)
{
	return retry_min > 0 ? retry_min : 60;
}
