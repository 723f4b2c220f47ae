/*
 * smtp_limits.h - the session-count table shared by every smtp worker:
 * max_sessions overall and max_sessions_per_ip, checked at accept and
 * released when a session ends.  Internal to the smtp process, except
 * for the table itself, which the parent sets up (see smtp.h).
 */
#ifndef POSTERN_SMTP_LIMITS_H
#define POSTERN_SMTP_LIMITS_H

#include <sys/socket.h>

#include <stdint.h>

/* shared by all smtp workers of all generations, set up by the parent */
#define SMTP_SHM_ROWS	128		/* worker slots */
#define SMTP_SHM_SLOTS	4096		/* client address hash buckets */

struct smtp_shm {
	uint32_t	total[SMTP_SHM_ROWS];
	uint16_t	ip[SMTP_SHM_ROWS][SMTP_SHM_SLOTS];
};

/* smtp_shm_new - map the table, shared with the workers forked later */
struct smtp_shm	*smtp_shm_new(void);
/* smtp_shm_clear_row - forget a dead worker's counts */
void		 smtp_shm_clear_row(struct smtp_shm *, unsigned row);

enum smtp_limits_verdict {
	SL_OK,		/* counted in: the session may start */
	SL_TOTAL,	/* max_sessions reached */
	SL_PER_IP,	/* max_sessions_per_ip reached for this address */
};

/* smtp_limits_slot - the table bucket of a client address (IPv6: /64) */
unsigned	smtp_limits_slot(const struct sockaddr_storage *);
/*
 * smtp_limits_admit - check both limits; on SL_OK the session is counted
 * in row (this worker's) and slot, and smtp_limits_release() must follow.
 */
enum smtp_limits_verdict smtp_limits_admit(struct smtp_shm *, unsigned row,
		    unsigned slot, unsigned max_total, unsigned max_per_ip);
/* smtp_limits_release - a session counted by smtp_limits_admit() ended */
void		smtp_limits_release(struct smtp_shm *, unsigned row,
		    unsigned slot);

#endif
