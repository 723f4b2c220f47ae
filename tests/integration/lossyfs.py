#!/usr/bin/python3
"""lossyfs - a FUSE passthrough that keeps only what was made durable.

Every operation on the mount is done on a backing directory, as by any
passthrough; alongside, lossyfs keeps a model of what a power cut would
leave, the least POSIX promises:

  * a regular file's data becomes durable at fsync or fdatasync of that
    file (FUSE_FSYNC): its whole content at that moment is copied into the
    model.  A file whose data was never synced comes back empty.
  * a directory's entries (creations, renames, unlinks, links, mkdir,
    rmdir, symlinks) become durable at fsync of that directory
    (FUSE_FSYNCDIR): the model takes the directory's entry list at that
    moment.  A rename is two entry changes, each durable with its own
    directory's fsync; a directory made and never synced comes back
    empty.
  * syncfs(2) is not passed down: the kernel's FUSE client sends nothing
    for it (only virtiofs does), so, as on a real FUSE filesystem, it
    makes nothing durable.  Neither do close, unmount or the backing
    filesystem's own writeback.
  * at mount, everything already in the backing directory is durable.
  * ownership and mode are the latest ones (not what is modelled).

Nodes are lossyfs's own numbers, not backing inode numbers (which the
backing filesystem reuses), so a hard link stays one node and a new file
never inherits an old file's durable data.

Use:
  lossyfs.py mount BACKING MOUNTPOINT STATE
      mounts (foreground, allow_other) until unmounted (umount MOUNTPOINT),
      then writes the model to STATE/model.json (STATE must be empty or
      absent and on the same filesystem as BACKING).
  lossyfs.py cut BACKING STATE
      the power cut: replaces BACKING's content by what the model says
      survives.  Run it after the mount process has ended.
"""

import errno
import json
import os
import shutil
import stat
import sys

from fusepy import FUSE, FuseOSError, Operations, fuse_get_context


class Lossy(Operations):
    def __init__(self, backing, state):
        self.root = os.path.realpath(backing)
        self.state = state
        self.datadir = os.path.join(state, "data")
        os.makedirs(self.datadir)
        self.next_id = 0
        self.ids = {}       # backing st_ino -> node
        self.meta = {}      # node -> [kind, mode, uid, gid, symlink target]
        self.durable = {}   # node -> True: STATE/data/<node> holds its data
        self.dents = {}     # directory node -> {name: node}, durable
        self.fh = {}        # open file handle -> node
        self.root_node = self._scan(self.root)

    # -- the model ----------------------------------------------------------
    def _new(self, st, target=None):
        n = self.next_id
        self.next_id += 1
        self.ids[st.st_ino] = n
        kind = "d" if stat.S_ISDIR(st.st_mode) else \
            "l" if stat.S_ISLNK(st.st_mode) else "f"
        self.meta[n] = [kind, stat.S_IMODE(st.st_mode), st.st_uid,
                        st.st_gid, target]
        return n

    def _scan(self, path):
        """At mount: path and everything under it, all durable."""
        st = os.lstat(path)
        if st.st_ino in self.ids:       # a hard link seen before
            return self.ids[st.st_ino]
        target = os.readlink(path) if stat.S_ISLNK(st.st_mode) else None
        n = self._new(st, target)
        if stat.S_ISDIR(st.st_mode):
            self.dents[n] = {e: self._scan(os.path.join(path, e))
                             for e in sorted(os.listdir(path))}
        elif stat.S_ISREG(st.st_mode):
            shutil.copyfile(path, os.path.join(self.datadir, str(n)))
            self.durable[n] = True
        return n

    def _node(self, path):
        st = os.lstat(path)
        n = self.ids.get(st.st_ino)
        if n is None:   # not made through the mount: nothing durable
            target = os.readlink(path) if stat.S_ISLNK(st.st_mode) else None
            n = self._new(st, target)
        return n

    def _forget_if_last(self, st):
        """An entry goes: its inode number may be reused once no name
        is left (an open handle keeps its node in self.fh)."""
        if stat.S_ISDIR(st.st_mode) or st.st_nlink <= 1:
            self.ids.pop(st.st_ino, None)

    def _made(self, path, target=None):
        uid, gid, _ = fuse_get_context()
        os.lchown(path, uid, gid)
        self._new(os.lstat(path), target)

    def _real(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def dump(self):
        model = {"root": self.root_node,
                 "meta": {str(k): v for k, v in self.meta.items()},
                 "durable": sorted(self.durable),
                 "dents": {str(k): v for k, v in self.dents.items()}}
        with open(os.path.join(self.state, "model.json"), "w") as f:
            json.dump(model, f)

    # -- syncs ---------------------------------------------------------------
    def fsync(self, path, datasync, fh):
        n = self.fh[fh]
        tmp = os.path.join(self.datadir, "%d.tmp" % n)
        # the handle may be write-only: read through /proc (same inode)
        src = os.open("/proc/self/fd/%d" % fh, os.O_RDONLY)
        try:
            with open(tmp, "wb") as out:
                off = 0
                while True:
                    b = os.pread(src, 1 << 20, off)
                    if not b:
                        break
                    out.write(b)
                    off += len(b)
        finally:
            os.close(src)
        os.replace(tmp, os.path.join(self.datadir, str(n)))
        self.durable[n] = True
        return 0

    def fsyncdir(self, path, datasync, fh):
        real = self._real(path)
        n = self._node(real)
        self.dents[n] = {e: self._node(os.path.join(real, e))
                         for e in sorted(os.listdir(real))}
        return 0

    # -- the passthrough -----------------------------------------------------
    def getattr(self, path, fh=None):
        st = os.lstat(self._real(path))
        return {k: getattr(st, k) for k in (
            "st_mode", "st_ino", "st_nlink", "st_uid", "st_gid", "st_size",
            "st_atime", "st_mtime", "st_ctime", "st_blocks")}

    def access(self, path, amode):
        if not os.path.lexists(self._real(path)):
            raise FuseOSError(errno.ENOENT)
        return 0

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._real(path))

    def readlink(self, path):
        return os.readlink(self._real(path))

    def statfs(self, path):
        sv = os.statvfs(self._real(path))
        return {k: getattr(sv, k) for k in (
            "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail",
            "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")}

    def chmod(self, path, mode):
        real = self._real(path)
        os.chmod(real, mode)
        self.meta[self._node(real)][1] = stat.S_IMODE(mode)
        return 0

    def chown(self, path, uid, gid):
        real = self._real(path)
        os.lchown(real, uid, gid)
        m = self.meta[self._node(real)]
        st = os.lstat(real)
        m[2], m[3] = st.st_uid, st.st_gid
        return 0

    def utimens(self, path, times=None):
        os.utime(self._real(path), times, follow_symlinks=False)
        return 0

    def mkdir(self, path, mode):
        real = self._real(path)
        os.mkdir(real, mode)
        self._made(real)
        return 0

    def mknod(self, path, mode, dev):
        real = self._real(path)
        os.mknod(real, mode, dev)
        self._made(real)
        return 0

    def symlink(self, target, source):
        real = self._real(target)
        os.symlink(source, real)
        self._made(real, source)
        return 0

    def link(self, target, source):
        os.link(self._real(source), self._real(target))
        return 0

    def unlink(self, path):
        real = self._real(path)
        st = os.lstat(real)
        os.unlink(real)
        self._forget_if_last(st)
        return 0

    def rmdir(self, path):
        real = self._real(path)
        st = os.lstat(real)
        os.rmdir(real)
        self._forget_if_last(st)
        return 0

    def rename(self, old, new):
        ro, rn = self._real(old), self._real(new)
        try:
            gone = os.lstat(rn)
        except FileNotFoundError:
            gone = None
        os.rename(ro, rn)
        if gone is not None and gone.st_ino != os.lstat(rn).st_ino:
            self._forget_if_last(gone)
        return 0

    @staticmethod
    def _flags(flags):
        # reads at fsync go through /proc; writes come with their offset
        acc = os.O_RDONLY if flags & os.O_ACCMODE == os.O_RDONLY \
            else os.O_RDWR
        return acc | (flags & os.O_TRUNC) | os.O_CLOEXEC | os.O_NOFOLLOW

    def create(self, path, mode, fi=None):
        real = self._real(path)
        fd = os.open(real, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                     mode)
        self._made(real)
        self.fh[fd] = self.ids[os.fstat(fd).st_ino]
        return fd

    def open(self, path, flags):
        real = self._real(path)
        fd = os.open(real, self._flags(flags))
        self.fh[fd] = self._node(real)
        return fd

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self._real(path), length)
        return 0

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        self.fh.pop(fh, None)
        os.close(fh)
        return 0


def cut(backing, state):
    """Replace backing's content by what the model says survives."""
    with open(os.path.join(state, "model.json")) as f:
        model = json.load(f)
    meta = {int(k): v for k, v in model["meta"].items()}
    dents = {int(k): v for k, v in model["dents"].items()}
    durable = set(model["durable"])
    data = os.path.join(state, "data")
    new = os.path.join(state, "new")
    made = {}       # file node -> the path made for it (hard links)

    def build(n, path):
        kind, mode, uid, gid, target = meta[n]
        if kind == "d":
            if n in made:       # a directory renamed: keep one place
                return
            made[n] = path
            os.mkdir(path)
            for name, child in sorted(dents.get(n, {}).items()):
                build(child, os.path.join(path, name))
        elif kind == "l":
            os.symlink(target, path)
        elif n in made:
            os.link(made[n], path)
            return
        else:
            made[n] = path
            if n in durable:
                shutil.copyfile(os.path.join(data, str(n)), path)
            else:
                open(path, "wb").close()
        os.lchown(path, uid, gid)
        if kind != "l":
            os.chmod(path, mode)

    build(model["root"], new)
    for e in os.listdir(backing):
        p = os.path.join(backing, e)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        else:
            os.unlink(p)
    for e in os.listdir(new):
        os.rename(os.path.join(new, e), os.path.join(backing, e))
    st = os.lstat(new)
    os.chown(backing, st.st_uid, st.st_gid)
    os.chmod(backing, stat.S_IMODE(st.st_mode))
    os.rmdir(new)


def main(argv):
    if len(argv) == 5 and argv[1] == "mount":
        backing, mnt, state = argv[2:]
        fs = Lossy(backing, state)
        FUSE(fs, mnt, foreground=True, nothreads=True, allow_other=True,
             default_permissions=True, use_ino=True, hard_remove=True,
             fsname="lossyfs")
        fs.dump()
        return 0
    if len(argv) == 4 and argv[1] == "cut":
        cut(argv[2], argv[3])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
