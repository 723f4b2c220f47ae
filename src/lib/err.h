/*
 * err.h - one error convention for all of postern (STYLE.md pattern C).
 *
 * Fallible functions return 0 or -1 and describe the failure in a
 * caller-supplied struct err.  The function that fails fills it; the caller
 * decides whether and how to log.  e may be NULL when the caller does not
 * care.
 */
#ifndef POSTERN_ERR_H
#define POSTERN_ERR_H

#include <stdbool.h>

struct err {
	int	 code;		/* errno value, or 0 */
	bool	 temp;		/* true: 4xx / retry later; false: 5xx / give up */
	char	 msg[256];	/* one line, fit for a log and an SMTP reply */
};

/* err_set - record a failure where the facts are known; always returns -1 */
int	err_set(struct err *, bool temp, int code, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

#endif
