/*
 * tutil.h - small helpers shared by the unit tests that work in a
 * temporary directory.  Header-only (static inline) so each test links
 * only what it uses.
 */
#ifndef POSTERN_TUTIL_H
#define POSTERN_TUTIL_H

#include <sys/stat.h>

#include <ftw.h>
#include <unistd.h>

static inline int
tutil_rm_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* tutil_rm_rf - remove path and everything below it (no symlink follow) */
static inline void
tutil_rm_rf(const char *path)
{
	(void)nftw(path, tutil_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
