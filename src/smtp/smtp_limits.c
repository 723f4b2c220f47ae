/*
 * smtp_limits.c - the session-count table: how many sessions run overall
 * and from each client address, across all smtp workers.
 *
 * Runs in the smtp process; the parent maps the table before forking the
 * workers and clears the row of a worker that died.  Each worker writes
 * only its own row, so a dead worker's counts never leak; readers sum the
 * rows.  Client addresses are hashed into SMTP_SHM_SLOTS buckets (IPv6
 * per /64): a collision only makes the per-address limit tighter.
 * Limits: max_sessions overall, max_sessions_per_ip per bucket.
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <string.h>

#include "log.h"
#include "smtp_limits.h"

/* smtp_shm_new - map the table, shared with the workers forked later */
struct smtp_shm *
smtp_shm_new(void)
{
	void	*p;

	p = mmap(NULL, sizeof(struct smtp_shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("mmap");
	return p;
}

/* smtp_shm_clear_row - forget a dead worker's counts */
void
smtp_shm_clear_row(struct smtp_shm *shm, unsigned row)
{
	__atomic_store_n(&shm->total[row], 0, __ATOMIC_SEQ_CST);
	memset(shm->ip[row], 0, sizeof(shm->ip[row]));
}

/* smtp_limits_slot - hash a client address into a bucket */
unsigned
smtp_limits_slot(const struct sockaddr_storage *ss)
{
	const unsigned char	*p;
	size_t			 n, i;
	uint32_t		 h = 2166136261u;

	if (ss->ss_family == AF_INET) {
		p = (const unsigned char *)&((const struct sockaddr_in *)
		    (const void *)ss)->sin_addr;
		n = 4;
	} else {
		/* IPv6 clients are counted per /64 */
		p = (const unsigned char *)&((const struct sockaddr_in6 *)
		    (const void *)ss)->sin6_addr;
		n = 8;
	}
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % SMTP_SHM_SLOTS;
}

/* smtp_limits_sum_total - sessions of all workers */
static unsigned
smtp_limits_sum_total(struct smtp_shm *shm)
{
	unsigned	i, t = 0;

	for (i = 0; i < SMTP_SHM_ROWS; i++)
		t += __atomic_load_n(&shm->total[i], __ATOMIC_RELAXED);
	return t;
}

/* smtp_limits_sum_ip - sessions of all workers in one address bucket */
static unsigned
smtp_limits_sum_ip(struct smtp_shm *shm, unsigned slot)
{
	unsigned	i, t = 0;

	for (i = 0; i < SMTP_SHM_ROWS; i++)
		t += __atomic_load_n(&shm->ip[i][slot], __ATOMIC_RELAXED);
	return t;
}

/* smtp_limits_admit - check both limits; count the session in if allowed */
enum smtp_limits_verdict
smtp_limits_admit(struct smtp_shm *shm, unsigned row, unsigned slot,
    unsigned max_total, unsigned max_per_ip)
{
	if (smtp_limits_sum_total(shm) >= max_total)
		return SL_TOTAL;
	if (smtp_limits_sum_ip(shm, slot) >= max_per_ip)
		return SL_PER_IP;
	__atomic_add_fetch(&shm->total[row], 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&shm->ip[row][slot], 1, __ATOMIC_SEQ_CST);
	return SL_OK;
}

/* smtp_limits_release - a session ended: release its counts */
void
smtp_limits_release(struct smtp_shm *shm, unsigned row, unsigned slot)
{
	__atomic_sub_fetch(&shm->total[row], 1, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&shm->ip[row][slot], 1, __ATOMIC_SEQ_CST);
}
