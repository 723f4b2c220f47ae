/*
 * parent.h - the supervising process of "postern serve".
 */
#ifndef POSTERN_PARENT_H
#define POSTERN_PARENT_H

#include <stdbool.h>

/* parent_main - run the server from confdir until SIGTERM; exit code */
int	parent_main(const char *confdir, bool debug);

#endif
