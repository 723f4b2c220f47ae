/*
 * log.h - the four logging verbs (plus info/debug) of every process.
 *
 * log_warn appends strerror(errno), log_warnx does not; fatal and fatalx
 * exit(1) after logging.  Lines go to stderr with a timestamp and the
 * process name, and to syslog(3) when log_init() was asked to.  Every line
 * about a session or message carries session=ID / msgid=ID as key=value.
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdbool.h>

void	log_init(const char *procname, bool use_syslog, bool debug);
void	log_procname(const char *procname);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
