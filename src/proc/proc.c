/*
 * proc.c - privilege drop and descriptor hygiene for the children.
 *
 * Called in each child right after fork(), before it touches any input:
 * the visible privilege boundary of every process.  A child that must
 * hear of its parent's death (the smtp workers) asks for a signal then
 * (PR_SET_PDEATHSIG); the kernel clears that setting when the effective
 * uid or gid changes, so proc_drop() sets it again, and each time the
 * parent is checked to be still there (it may have died before the
 * prctl), raising the signal if not.
 */
#include <sys/prctl.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "proc.h"

static int	proc_death_sig;		/* 0: not asked */
static pid_t	proc_death_parent;

/* proc_parent_arm - (again) the signal at the parent's death */
static void
proc_parent_arm(void)
{
	if (proc_death_sig == 0)
		return;
	if (prctl(PR_SET_PDEATHSIG, proc_death_sig, 0, 0, 0) == -1)
		fatal("prctl pdeathsig");
	/* died before the prctl: the kernel will not tell us */
	if (getppid() != proc_death_parent)
		(void)raise(proc_death_sig);
}

/* proc_parent_watch - a signal at the parent's death, kept across proc_drop */
void
proc_parent_watch(int sig, pid_t parent)
{
	proc_death_sig = sig;
	proc_death_parent = parent;
	proc_parent_arm();
}

/* proc_user_lookup - the unprivileged user to run as (nothing unless root) */
int
proc_user_lookup(const char *name, struct proc_user *u, struct err *e)
{
	struct passwd	*pw;

	memset(u, 0, sizeof(*u));
	if (geteuid() != 0)
		return 0;
	errno = 0;
	if ((pw = getpwnam(name)) == NULL)
		return err_set(e, false, errno, "user \"%s\" does not exist: "
		    "create it (useradd --system --no-create-home --shell "
		    "/usr/sbin/nologin %s) or set \"user\" in postern.conf",
		    name, name);
	if (pw->pw_uid == 0)
		return err_set(e, false, 0, "user \"%s\" is root: postern "
		    "needs an unprivileged user", name);
	u->drop = true;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	(void)snprintf(u->name, sizeof(u->name), "%s", name);
	return 0;
}

/* proc_drop - chroot and drop to the user for good (STYLE rule 21) */
void
proc_drop(const struct proc_user *u, const char *chroot_dir,
    const char *procname)
{
	log_procname(procname);
	if (!u->drop) {
		(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		return;
	}
	if (chroot_dir != NULL) {
		if (chroot(chroot_dir) == -1)
			fatal("chroot %s", chroot_dir);
		if (chdir("/") == -1)
			fatal("chdir /");
	}
	if (setgroups(1, &u->gid) == -1)
		fatal("setgroups");
	if (setresgid(u->gid, u->gid, u->gid) == -1)
		fatal("setresgid");
	if (setresuid(u->uid, u->uid, u->uid) == -1)
		fatal("setresuid");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl no_new_privs");
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("could regain root after dropping privileges");
	/* the credential change cleared the parent-death signal */
	proc_parent_arm();
}

/* proc_close_except - close every descriptor but stdio and keep[] */
void
proc_close_except(const int *keep, size_t nkeep)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd, dfd;
	size_t		 i;
	int		 close_list[4096];
	size_t		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL && n < 4096) {
		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		if (fd <= 2 || fd == dfd)
			continue;
		for (i = 0; i < nkeep; i++)
			if (keep[i] == fd)
				break;
		if (i == nkeep)
			close_list[n++] = fd;
	}
	closedir(d);
	for (i = 0; i < n; i++)
		close(close_list[i]);
}
