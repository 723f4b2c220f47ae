/*
 * syncpool.h - concurrent fdatasync of a batch of descriptors
 * (syncpool.c).
 */
#ifndef POSTERN_SYNCPOOL_H
#define POSTERN_SYNCPOOL_H

#include <stddef.h>

struct syncpool;

/* sync_start - the helpers (called with every signal blocked) */
struct syncpool	*sync_start(void);
/* sync_all - fdatasync n descriptors (-1 skipped) with the helpers;
 * errs[i]: errno of fds[i], 0 if synced */
void		 sync_all(struct syncpool *, const int *fds, int *errs,
		    size_t n);
/* sync_stop - end and join the helpers (NULL: nothing) */
void		 sync_stop(struct syncpool *);

#endif
