/*
 * smtp.h - the smtp process: accepts connections on the listeners and
 * runs SMTP sessions.  Unprivileged, hostile input; holds no password
 * hashes and never opens spool paths (the queue hands it descriptors).
 */
#ifndef POSTERN_SMTP_H
#define POSTERN_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "smtp_limits.h"	/* the session-count table the parent maps */

struct conf;
struct listener;
struct tls_store;

/*
 * smtp_main - serve until SIGTERM (tell idle sessions 421, finish open
 * transactions, exit) or SIGUSR1 (stop accepting, let every session end
 * by itself: a reload).  row is this worker's row in shm.  verify_sock
 * is the channel to the verifier, -1 without inbound checks.
 */
void	smtp_main(struct conf *, struct tls_store *, struct listener *,
	    size_t nlisteners, int auth_sock, int queue_sock, int verify_sock,
	    struct smtp_shm *, unsigned row) __attribute__((noreturn));

#endif
