/*
 * fsinfo.c - is a filesystem known to honour syncfs(2)?  Decided from
 * fstatfs's f_type against a table of kernel superblock magics (their
 * values are the kernel's include/uapi/linux/magic.h).  A filesystem is
 * in the table as honouring syncfs only where the kernel's syncfs path
 * (sync_filesystem: every dirty inode written back and waited on, then
 * the filesystem's own ->sync_fs with wait set) is known to make data
 * and directory entries durable, and, since Linux 5.8, to report a
 * writeback error to the caller.  Everything else, and anything not in
 * the table, is "not known": the queue then fdatasyncs each file and
 * fsyncs each directory, which every filesystem that keeps anything
 * implements.  Used by the queue process at start and per Maildir;
 * pure but for the one fstatfs.
 */
#include <sys/vfs.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "err.h"
#include "fsinfo.h"

/*
 * Why each entry is what it is:
 *   ext2/3/4  one magic for all three (ext3 has been the ext4 code
 *             since Linux 4.3); ext4_sync_fs waits for the jbd2 commit
 *             holding the metadata, or without a journal issues a cache
 *             flush itself
 *   xfs       xfs_fs_sync_fs forces the log synchronously
 *   btrfs     btrfs_sync_fs commits the running transaction
 *   f2fs      f2fs_sync_fs writes a checkpoint
 *   tmpfs     nothing to write back and nothing survives a power cut
 *             whichever sync is used; syncfs is the cheaper no-op
 *   fuse      fuse_sync_fs passes nothing to the userspace server unless
 *             it is virtiofs (which shares the magic): not honoured
 *   overlay   ovl_sync_fs syncs the upper layer, whose kind f_type does
 *             not tell: not known
 *   nfs, cifs/smb2, 9p, ecryptfs: named for the log; no ->sync_fs that
 *             commits on the server or lower layer: not known
 */
static const struct fsinfo fsinfo_table[] = {
	{ 0xef53UL,	"ext4",		true,	false },
	{ 0x58465342UL,	"xfs",		true,	false },
	{ 0x9123683eUL,	"btrfs",	true,	false },
	{ 0xf2f52010UL,	"f2fs",		true,	false },
	{ 0x01021994UL,	"tmpfs",	true,	true },
	{ 0x65735546UL,	"fuse",		false,	false },
	{ 0x794c7630UL,	"overlayfs",	false,	false },
	{ 0x6969UL,	"nfs",		false,	false },
	{ 0xff534d42UL,	"cifs",		false,	false },
	{ 0xfe534d42UL,	"smb2",		false,	false },
	{ 0x01021997UL,	"9p",		false,	false },
	{ 0xf15fUL,	"ecryptfs",	false,	false },
};

/* fsinfo_lookup - the table entry for magic, or an "unknown" one */
void
fsinfo_lookup(unsigned long magic, struct fsinfo *fi)
{
	size_t	i;

	for (i = 0; i < sizeof(fsinfo_table) / sizeof(fsinfo_table[0]); i++)
		if (fsinfo_table[i].magic == magic) {
			*fi = fsinfo_table[i];
			return;
		}
	fi->magic = magic;
	fi->name = "unknown";
	fi->syncfs_ok = false;
	fi->volatile_fs = false;
}

/* fsinfo_of - what fd's filesystem is */
int
fsinfo_of(int fd, struct fsinfo *fi, struct err *e)
{
	struct statfs	sf;

	if (fstatfs(fd, &sf) == -1)
		return err_set(e, true, errno, "fstatfs: %s", strerror(errno));
	/* f_type is signed on some ABIs: compare its 32 bits */
	fsinfo_lookup((unsigned long)(unsigned int)sf.f_type, fi);
	return 0;
}
