/*
 * err.c - struct err helpers (STYLE.md pattern C).
 * Pure; used by every process.
 */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

/* err_set - record a failure where the facts are known; always returns -1 */
int
err_set(struct err *e, bool temp, int code, const char *fmt, ...)
{
	va_list	ap;

	if (e == NULL)
		return -1;
	e->temp = temp;
	e->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}
