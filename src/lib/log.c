/*
 * log.c - logging for every process: stderr with a timestamp and the
 * process name, and syslog(3) when asked.  log_warn appends
 * strerror(errno); fatal/fatalx exit(1).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_name = "postern";
static bool		 log_syslog;
static bool		 log_verbose;

void
log_init(const char *procname, bool use_syslog, bool debug)
{
	log_name = procname;
	log_syslog = use_syslog;
	log_verbose = debug;
	if (use_syslog)
		openlog("postern", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* log_procname - name a child's lines; reconnect syslog, whose socket
 * the child closed with the rest of the parent's descriptors */
void
log_procname(const char *procname)
{
	log_name = procname;
	if (log_syslog) {
		closelog();
		openlog("postern", LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

static void
log_emit(int pri, const char *errstr, const char *fmt, va_list ap)
{
	char		 line[2048];
	char		 ts[32];
	struct timespec	 now;
	struct tm	 tm;
	int		 saved = errno;

	(void)vsnprintf(line, sizeof(line), fmt, ap);
	if (log_syslog) {
		if (errstr != NULL)
			syslog(pri, "%s: %s: %s", log_name, line, errstr);
		else
			syslog(pri, "%s: %s", log_name, line);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (errstr != NULL)
		fprintf(stderr, "%s.%03ldZ %s[%d]: %s: %s\n", ts,
		    now.tv_nsec / 1000000, log_name, (int)getpid(), line,
		    errstr);
	else
		fprintf(stderr, "%s.%03ldZ %s[%d]: %s\n", ts,
		    now.tv_nsec / 1000000, log_name, (int)getpid(), line);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	char	 errstr[128];

	snprintf(errstr, sizeof(errstr), "%s", strerror(errno));
	va_start(ap, fmt);
	log_emit(LOG_WARNING, errstr, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 errstr[128];

	snprintf(errstr, sizeof(errstr), "%s", strerror(errno));
	va_start(ap, fmt);
	log_emit(LOG_CRIT, errstr, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
