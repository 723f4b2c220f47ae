/*
 * proc.h - the process skeleton: the unprivileged user, and the one block
 * that drops privileges in every child (STYLE.md rule 21).
 */
#ifndef POSTERN_PROC_H
#define POSTERN_PROC_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

struct err;

struct proc_user {
	bool	 drop;		/* started as root: drop to uid/gid */
	uid_t	 uid;
	gid_t	 gid;
	char	 name[64];
};

/* proc_user_lookup - resolve name; when not root, drop is false */
int	proc_user_lookup(const char *name, struct proc_user *, struct err *);
/*
 * proc_drop - become the unprivileged user for good: chroot to dir first
 * when dir is not NULL and we are root, then setgroups, setresgid,
 * setresuid, PR_SET_NO_NEW_PRIVS; verifies that root cannot be regained;
 * sets proc_parent_watch()'s signal again.  Any failure is fatal.
 */
void	proc_drop(const struct proc_user *, const char *chroot_dir,
	    const char *procname);
/*
 * proc_parent_watch - in a child right after fork(): sig when the parent
 * (pid parent) dies, kept across proc_drop(); raised at once (pending if
 * blocked) if the parent is already gone
 */
void	proc_parent_watch(int sig, pid_t parent);
/* proc_close_except - close every descriptor above 2 not in keep */
void	proc_close_except(const int *keep, size_t nkeep);

#endif
