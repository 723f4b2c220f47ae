/*
 * ctl_queue.h - asking the running queue over its control socket
 * (ctl_queue.c), for the verbs that need its answers.
 */
#ifndef POSTERN_CTL_QUEUE_H
#define POSTERN_CTL_QUEUE_H

#include <stddef.h>
#include <stdint.h>

/*
 * ctl_queue_ask - one request (M_CTL_Q_*, id for those that take one):
 * each answer line to line(arg, text); 0 done, 1 the queue said no (err
 * says why), -1 it could not be asked (err; ctlq_connect also said so on
 * stderr)
 */
int	ctl_queue_ask(const char *confdir, uint32_t type, const char *id,
	    void (*line)(void *, const char *), void *arg, char *err,
	    size_t errsz);

#endif
