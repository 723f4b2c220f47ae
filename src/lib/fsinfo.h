/*
 * fsinfo.h - what a descriptor's filesystem is (fstatfs f_type) and
 * whether it is known to make everything written durable at syncfs(2).
 */
#ifndef POSTERN_FSINFO_H
#define POSTERN_FSINFO_H

#include <stdbool.h>

struct err;

struct fsinfo {
	unsigned long	 magic;		/* statfs f_type */
	const char	*name;		/* for the log: "ext4", "fuse", ... */
	bool		 syncfs_ok;	/* syncfs known to reach the disk */
	bool		 volatile_fs;	/* in memory: nothing survives a cut */
};

/*
 * fsinfo_lookup - the entry for a statfs f_type (pure); a magic not in
 * the table gets name "unknown" and syncfs_ok false
 */
void	fsinfo_lookup(unsigned long magic, struct fsinfo *);

/* fsinfo_of - fsinfo_lookup of fd's filesystem (fstatfs) */
int	fsinfo_of(int fd, struct fsinfo *, struct err *);

#endif
