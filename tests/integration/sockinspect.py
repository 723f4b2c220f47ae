"""sockinspect.py - look at a live process's TCP socket from a test.

find_socket() finds, among the processes given, the descriptor of the
IPv4 TCP socket with the given remote (and optionally local) address,
through /proc/net/tcp (address -> inode) and /proc/PID/fd (inode ->
descriptor).  sockopt() duplicates that descriptor into the test with
pidfd_getfd(2) (Linux 5.6; needs ptrace rights over the process, which
root has) and reads an option of the very socket the process uses.

Used by test_nodelay.py and test_outbound_client.py."""

import ctypes
import os
import socket
import struct

import pytest

SYS_PIDFD_GETFD = 438       # the same number on every architecture


def _hexaddr(addr, port):
    a = socket.inet_aton(addr)
    return "%08X:%04X" % (struct.unpack("<I", a)[0], port)


def _inodes(local, remote):
    """inodes of the TCP sockets local -> remote (local may be None)"""
    want_r = _hexaddr(*remote)
    want_l = _hexaddr(*local) if local else None
    out = []
    with open("/proc/net/tcp") as f:
        next(f)
        for ln in f:
            fld = ln.split()
            if fld[2] != want_r or (want_l and fld[1] != want_l):
                continue
            out.append(fld[9])
    return out


def find_socket(pids, remote, local=None):
    """(pid, fd) of the socket to remote (addr, port) in one of pids, or
    None"""
    inodes = {"socket:[%s]" % i for i in _inodes(local, remote)}
    for pid in pids:
        d = "/proc/%d/fd" % pid
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for n in names:
            try:
                if os.readlink(os.path.join(d, n)) in inodes:
                    return pid, int(n)
            except OSError:
                continue
    return None


def sockopt(pid, fd, level, opt):
    """getsockopt(level, opt) (an int) on descriptor fd of process pid;
    skips the test where the kernel or the rights do not allow it"""
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        pidfd = os.pidfd_open(pid)
    except OSError as e:
        pytest.skip("pidfd_open: %s" % e)
    try:
        mine = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if mine < 0:
            pytest.skip("pidfd_getfd: %s" % os.strerror(ctypes.get_errno()))
        try:
            s = socket.socket(fileno=mine)
            try:
                return s.getsockopt(level, opt)
            finally:
                s.detach()
        finally:
            os.close(mine)
    finally:
        os.close(pidfd)


def tree(pid):
    """pid and all its descendants"""
    kids = {}
    for n in os.listdir("/proc"):
        if not n.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % n) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rfind(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(n))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out
