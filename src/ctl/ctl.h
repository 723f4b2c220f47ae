/*
 * ctl.h - the admin verbs of the postern binary.  Each takes the config
 * directory and its own arguments (argv[0] is the verb) and returns the
 * process exit code; errors are printed to stderr as one clear line.
 */
#ifndef POSTERN_CTL_H
#define POSTERN_CTL_H

#include <stdbool.h>
#include <stddef.h>

int	ctl_init(const char *confdir, int argc, char **argv);
int	ctl_user_add(const char *confdir, int argc, char **argv);
int	ctl_user_remove(const char *confdir, int argc, char **argv);
int	ctl_user_list(const char *confdir, int argc, char **argv);
int	ctl_authenticate(const char *confdir, int argc, char **argv);
int	ctl_serve(const char *confdir, int argc, char **argv);
int	ctl_send(const char *confdir, int argc, char **argv);
/* ctl_send_run - send, the queue id of the message into qid ("" if the
 * reply named none) */
int	ctl_send_run(const char *confdir, int argc, char **argv, char *qid,
	    size_t qidsz);
int	ctl_queue(const char *confdir, int argc, char **argv);
int	ctl_dns(const char *confdir, int argc, char **argv);
int	ctl_verify(const char *confdir, int argc, char **argv);
int	ctl_dkim_keygen_verb(const char *confdir, int argc, char **argv);
int	ctl_aliases_resolve(const char *confdir, int argc, char **argv);
int	ctl_check(const char *confdir, int argc, char **argv);
/* ctl_check_preflight - init's checks (ctl_check.c); warnings + FAILs */
size_t	ctl_check_preflight(const char *confdir, bool dial);

#endif
