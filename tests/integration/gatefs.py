#!/usr/bin/python3
"""gatefs.py - a passthrough FUSE filesystem whose fsync can be held.

    gatefs.py BACKING MOUNTPOINT GATE

mounts BACKING at MOUNTPOINT (allow_other, default_permissions, intr,
in the foreground).  While the file GATE exists, every fsync and
fdatasync waits (in steps of 50 ms, at most 120 s) before it is done: a
disk that stops answering syncs, whose waits a fatal signal ends.  Everything else passes straight through.  Used
by test_instance.py with python3-fusepy; unmount with fusermount -u.
"""

import errno
import os
import sys
import time

import fusepy


class GateFS(fusepy.Operations):
    def __init__(self, root, gate):
        self.root = os.path.realpath(root)
        self.gate = gate

    def _p(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def _own(self, path):
        """What the caller makes is the caller's, as on a disk."""
        uid, gid, _ = fusepy.fuse_get_context()
        os.lchown(self._p(path), uid, gid)

    def _hold(self):
        """Wait while the gate is there; a caller killed meanwhile (the
        kernel then sends FUSE_INTERRUPT: mounted with -o intr) is let
        go with EINTR, as a killable wait on a slow disk would."""
        deadline = time.monotonic() + 120
        while os.path.exists(self.gate) and time.monotonic() < deadline:
            if fusepy._libfuse.fuse_interrupted():
                raise fusepy.FuseOSError(errno.EINTR)
            time.sleep(0.05)

    # metadata
    def getattr(self, path, fh=None):
        st = os.lstat(self._p(path))
        return {k: getattr(st, k) for k in (
            "st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime",
            "st_nlink", "st_size", "st_uid", "st_ino")}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._p(path))

    def readlink(self, path):
        return os.readlink(self._p(path))

    def mknod(self, path, mode, dev):
        os.mknod(self._p(path), mode, dev)
        self._own(path)

    def mkdir(self, path, mode):
        os.mkdir(self._p(path), mode)
        self._own(path)

    def rmdir(self, path):
        return os.rmdir(self._p(path))

    def unlink(self, path):
        return os.unlink(self._p(path))

    def symlink(self, target, source):
        os.symlink(source, self._p(target))
        self._own(target)

    def link(self, target, source):
        return os.link(self._p(source), self._p(target))

    def rename(self, old, new):
        return os.rename(self._p(old), self._p(new))

    def chmod(self, path, mode):
        return os.chmod(self._p(path), mode)

    def chown(self, path, uid, gid):
        return os.lchown(self._p(path), uid, gid)

    def utimens(self, path, times=None):
        return os.utime(self._p(path), times, follow_symlinks=False)

    def truncate(self, path, length, fh=None):
        if fh is not None:
            return os.ftruncate(fh, length)
        return os.truncate(self._p(path), length)

    def statfs(self, path):
        st = os.statvfs(self._p(path))
        return {k: getattr(st, k) for k in (
            "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail",
            "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")}

    # data
    def open(self, path, flags):
        return os.open(self._p(path), flags)

    def create(self, path, mode, fi=None):
        fd = os.open(self._p(path), os.O_RDWR | os.O_CREAT, mode)
        self._own(path)
        return fd

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        return os.pwrite(fh, data, offset)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        return os.close(fh)

    def fsync(self, path, datasync, fh):
        self._hold()
        return os.fsync(fh)

    def opendir(self, path):
        return 0

    def releasedir(self, path, fh):
        return 0

    def fsyncdir(self, path, datasync, fh):
        self._hold()
        return 0

    def access(self, path, amode):
        if not os.access(self._p(path), amode):
            raise fusepy.FuseOSError(errno.EACCES)
        return 0


def main():
    backing, mnt, gate = sys.argv[1:4]
    fusepy.FUSE(GateFS(backing, gate), mnt, foreground=True, nothreads=False,
                allow_other=True, default_permissions=True, intr=True)


if __name__ == "__main__":
    main()
