/*
 * smtp.h - the smtp process: accepts connections on the listeners and
 * runs SMTP sessions.  Unprivileged, hostile input; holds no password
 * hashes and never opens spool paths (the queue hands it descriptors).
 */
#ifndef POSTERN_SMTP_H
#define POSTERN_SMTP_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct listener;
struct tls_store;

/* shared by all smtp workers of all generations, set up by the parent */
#define SMTP_SHM_ROWS	128		/* worker slots */
#define SMTP_SHM_SLOTS	4096		/* client address hash buckets */

struct smtp_shm {
	uint32_t	total[SMTP_SHM_ROWS];
	uint16_t	ip[SMTP_SHM_ROWS][SMTP_SHM_SLOTS];
};

struct smtp_shm	*smtp_shm_new(void);
void		 smtp_shm_clear_row(struct smtp_shm *, unsigned row);

/*
 * smtp_main - serve until SIGTERM (tell idle sessions 421, finish open
 * transactions, exit) or SIGUSR1 (stop accepting, let every session end
 * by itself: a reload).  row is this worker's row in shm.
 */
void	smtp_main(struct conf *, struct tls_store *, struct listener *,
	    size_t nlisteners, int auth_sock, int queue_sock,
	    struct smtp_shm *, unsigned row) __attribute__((noreturn));

#endif
