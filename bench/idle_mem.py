#!/usr/bin/python3
"""idle_mem.py - memory per idle SMTP connection of a running server.

Usage: idle_mem.py --pid ROOTPID --port PORT [--count 1000] [--timeout 60]

Sums the PSS (from /proc/PID/smaps_rollup) of ROOTPID and all its
descendants, opens COUNT TCP connections to 127.0.0.1:PORT, waits until
every one has read its 220 greeting (bounded by --timeout), lets the
server settle, sums PSS again, closes the connections and prints one line:

    conns=N greeted=G baseline_kib=B loaded_kib=L procs=P per_conn_kib=X

The numbers are about the server's process tree only; the client (this
script) is not counted.
"""

import argparse
import os
import resource
import select
import socket
import sys
import time


def children_map():
    """ppid -> [pid] for every process visible in /proc."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        # the comm field may hold spaces and parentheses: split after the
        # last ')'
        rest = stat[stat.rfind(")") + 2:].split()
        ppid = int(rest[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def tree(root):
    """root and all its descendants."""
    kids = children_map()
    out, todo = [], [root]
    while todo and len(out) < 100000:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss(root):
    pids = tree(root)
    return sum(pss_kib(p) for p in pids), len(pids)


def open_idle(port, count, timeout):
    """Open count connections; return (sockets, number greeted)."""
    deadline = time.monotonic() + timeout
    socks, pending = [], {}
    greeted = 0
    poller = select.poll()
    for i in range(count):
        if time.monotonic() > deadline:
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError as e:
            print("connect %d: %s" % (i, e), file=sys.stderr)
            s.close()
            break
        socks.append(s)
        pending[s.fileno()] = b""
        poller.register(s, select.POLLIN)
        # drain greetings as we go so a server that greets slowly is
        # not flooded by an unbounded backlog
        if i % 50 == 49:
            greeted += drain(poller, pending, 0.05)
    while pending and time.monotonic() < deadline:
        greeted += drain(poller, pending, 0.5)
    return socks, greeted


def drain(poller, pending, wait):
    n = 0
    for fd, ev in poller.poll(wait * 1000):
        if fd not in pending:
            continue
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if not data:
            poller.unregister(fd)
            del pending[fd]
            continue
        pending[fd] += data
        if b"\r\n" in pending[fd]:
            ok = pending[fd].startswith(b"220")
            poller.unregister(fd)
            del pending[fd]
            n += 1 if ok else 0
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--settle", type=float, default=2)
    a = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.count + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    time.sleep(a.settle)
    base, _ = tree_pss(a.pid)
    socks, greeted = open_idle(a.port, a.count, a.timeout)
    time.sleep(a.settle)
    loaded, nprocs = tree_pss(a.pid)
    for s in socks:
        s.close()
    per = (loaded - base) / max(1, len(socks))
    print("conns=%d greeted=%d baseline_kib=%d loaded_kib=%d procs=%d "
          "per_conn_kib=%.1f" % (len(socks), greeted, base, loaded, nprocs,
                                 per))
    return 0 if greeted == a.count else 1


if __name__ == "__main__":
    sys.exit(main())
