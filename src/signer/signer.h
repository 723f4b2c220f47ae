/*
 * signer.h - the signer process: the only process of the server that
 * holds the DKIM private keys (signer.c).
 */
#ifndef POSTERN_SIGNER_H
#define POSTERN_SIGNER_H

#include "conf.h"

/* signer_main - serve the queue until its channel or the parent's closes */
void	signer_main(struct conf *, int parent_sock, int queue_sock)
	    __attribute__((noreturn));

#endif
