"""One instance per data dir: a second `serve` on a data dir in use
refuses, naming the first parent's PID, or waits for one that stops;
when the parent is killed
(SIGKILL, the parent alone) its children notice at once and end (the
smtp workers close the listeners and say 421 to idle sessions, the queue
finishes its commits), a new `serve` started meanwhile waits for the
last of them before it starts its own queue, and nothing acknowledged
before the kill is lost.  A queue stuck on a disk that stops answering
syncs (gatefs.py, a FUSE passthrough) still ends within its bound."""

import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import free_base, greet, send_data, split_delivered, \
    wait_group_gone
from dnsserver import DNSServer
from mxpeer import MXPeer, free_port, send, wait_for

ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@client.test"
BOUND = 40      # seconds: the bound of every wait for processes to end


# --- processes --------------------------------------------------------------

def _stat(pid):
    """(state, ppid) of a process, or None once it is gone (or a
    zombie: it holds no descriptor any more)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return None
    rest = st[st.rfind(")") + 2:].split()
    if rest[0] == "Z":
        return None
    return rest[0], int(rest[1])


def alive(pid):
    return _stat(pid) is not None


def children(ppid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st and st[1] == ppid:
                out.append(int(name))
    return sorted(out)


def wait_gone(pids, timeout=BOUND):
    """The pids still alive after waiting up to timeout for them."""
    wait_for(lambda: not any(alive(p) for p in pids), timeout, 0.02)
    return [p for p in pids if alive(p)]


def listening(port):
    """Whether a connection to port on 127.0.0.1 or ::1 is accepted."""
    for host in ("127.0.0.1", "::1"):
        try:
            with socket.create_connection((host, port), 0.5):
                return True
        except OSError:
            pass
    return False


def kill_parent(s):
    """SIGKILL the parent only: its children stay, orphaned, in its
    process group (killed at the end by the caller's finally)."""
    kids = children(s.pid)
    assert kids, "no children of %d" % s.pid
    s.crashed_ok = True
    os.kill(s.pid, signal.SIGKILL)
    s.proc.wait(10)
    return s.pid, kids


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    wait_group_gone(pgid)


def serve_again(s):
    """`serve` again on s's config (and data dir), its output appended to
    s's log; s.proc is the new parent (stopped at teardown).  Returns
    the log offset where its lines begin."""
    mark = len(s.log())
    s.generation += 1
    s.stderr_file = open(s.logpath, "ab")
    s.stderr_file.write(b"=== start %d ===\n" % s.generation)
    s.stderr_file.flush()
    s.proc = subprocess.Popen([s.bin, "-C", str(s.confdir), "serve"],
                              stdin=subprocess.DEVNULL, stdout=s.stderr_file,
                              stderr=s.stderr_file, start_new_session=True)
    s.crashed_ok = False
    return mark


def pid_of(s, what, since=0):
    m = re.search(r"%s started pid=(\d+)" % what, s.log()[since:])
    assert m, s.log()[since:]
    return int(m.group(1))


# --- a second serve ----------------------------------------------------------

def test_second_serve_refuses_and_first_serves_on(server):
    s = server()
    conf2 = s.top / "conf2"
    shutil.copytree(s.confdir, conf2, symlinks=True)
    base = free_base(3)
    ports = (base, base + 1, base + 2)
    for key, p in zip(("smtp_listen", "submission_listen",
                       "submissions_listen"), ports):
        text = (conf2 / "postern.conf").read_text()
        text = re.sub(r"(?m)^%s\s*=.*$" % key,
                      "%s = 127.0.0.1:%d, [::1]:%d" % (key, p, p), text)
        (conf2 / "postern.conf").write_text(text)
    second = subprocess.Popen([s.bin, "-C", str(conf2), "serve"],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    try:
        out, _ = second.communicate(timeout=20)
    finally:
        kill_group(second.pid)
    assert second.returncode != 0, out
    assert re.search(r"data_dir %s is in use by postern pid %d \(running\)"
                     % (re.escape(str(s.datadir)), s.pid), out), out
    # nothing started, nothing bound
    for word in ("queue started", "deliver started", "generation",
                 "listening addr="):
        assert word not in out, out
    assert not any(listening(p) for p in ports)
    assert (s.datadir / "owner").read_text() == \
        "pid=%d state=running\n" % s.pid
    # the first goes on
    with s.raw("smtp") as r:
        greet(r)
        code, lines = send_data(r, SENDER, [ALICE],
                                b"Subject: still here\r\n\r\nhi\r\n")
        assert code == 250, lines
    (data,) = s.wait_mail(ALICE, 1)
    assert b"Subject: still here" in data


def test_new_serve_waits_for_a_stopping_instance(server):
    """SIGTERM with a transaction open: the old instance finishes it
    while a new serve waits, and the new one starts once it is gone."""
    s = server()
    mid = s.raw("smtp")
    greet(mid)
    mid.expect(250, "MAIL FROM:<%s>" % SENDER)
    mid.expect(250, "RCPT TO:<%s>" % ALICE)
    old, old_pid = s.proc, s.pid
    try:
        s.signal(signal.SIGTERM)
        owner = s.datadir / "owner"
        assert wait_for(lambda: owner.read_text() ==
                        "pid=%d state=stopping\n" % old_pid), \
            owner.read_text()
        mark = serve_again(s)
        assert s.wait_log(r"in use by postern pid %d \(stopping\): "
                          r"waiting up to 30 s" % old_pid, BOUND,
                          since=mark), s.log()[mark:]
        # the old one still takes the message of the open transaction
        mid.expect(354, "DATA")
        mid.send(b"Subject: across a restart\r\n\r\nhi\r\n.\r\n")
        mid.expect(250)
        # then it is idle: told goodbye (421) by the drain, or at QUIT
        try:
            code, lines = mid.cmd("QUIT")
            assert code in (221, 421), lines
        except (EOFError, OSError):
            pass
        mid.close()
        assert old.wait(BOUND) == 0
        assert s.wait_log(r"postern ready", BOUND, since=mark), \
            s.log()[mark:]
        assert "is free now" in s.log()[mark:]
        (data,) = s.wait_mail(ALICE, 1)
        assert b"Subject: across a restart" in data
    finally:
        kill_group(old_pid)


# --- the parent killed -------------------------------------------------------

def test_parent_killed_children_drain_and_end(server):
    s = server()
    idle = s.raw("smtp")
    greet(idle)
    pgid, kids = kill_parent(s)
    try:
        # the idle session is told, as at SIGTERM
        code, lines = idle.reply(timeout=BOUND)
        assert code == 421, lines
        assert idle.closed(BOUND)
        idle.close()
        # no port accepts connections any more
        ports = (s.smtp_port, s.sub_port, s.subs_port)
        assert wait_for(lambda: not any(listening(p) for p in ports),
                        BOUND), [p for p in ports if listening(p)]
        left = wait_gone(kids)
        assert not left, (left, s.log()[-3000:])
        assert re.search(r"queue\[\d+\]: stopping: .* why=parent closed",
                         s.log())
    finally:
        kill_group(pgid)


# --- a new serve while the orphans drain -------------------------------------

R = "127.0.0.61"
ZONE = {"remote-orphan.test": {"MX": "10 mx.remote-orphan.test"},
        "mx.remote-orphan.test": {"A": R}}


@pytest.fixture
def slow_peer():
    """(dns, port, peer): remote-orphan.test's MX, an aiosmtpd peer that
    holds the end of DATA for 6 s (a delivery in flight)."""
    dns = DNSServer(ZONE).start()
    port = free_port((R,))
    peer = MXPeer(R, port, hold=6).start()
    yield dns, port, peer
    peer.stop()
    dns.stop()


def test_new_serve_waits_for_orphans(server, slow_peer):
    dns, port, peer = slow_peer
    s = server(conf={"dns_resolver": "127.0.0.1:%d" % dns.port,
                     "outbound_smtp_port": str(port),
                     "dnssec_trust_anchor": "none"})
    send(s, ALICE, ["bob@remote-orphan.test"], ["in flight"])
    assert wait_for(lambda: peer.data_started == 1), s.log()[-3000:]
    old_queue = pid_of(s, "queue")
    old_deliver = pid_of(s, "deliver")
    pgid, kids = kill_parent(s)
    try:
        peer.hold = 0       # the retry after the restart is not held
        mark = serve_again(s)
        new_queue = None
        deadline = time.monotonic() + BOUND
        while new_queue is None and time.monotonic() < deadline:
            # sampled before the log, so an old process seen alive here
            # was alive when the new queue's line was looked for
            old = [p for p in (old_queue, old_deliver) if alive(p)]
            m = re.search(r"queue started pid=(\d+)", s.log()[mark:])
            if m:
                new_queue = int(m.group(1))
                assert not old, "a new queue beside old processes %r" % old
            elif s.proc.poll() is not None:
                break
            time.sleep(0.02)
        log = s.log()[mark:]
        assert new_queue is not None, log
        assert old_queue in kids and old_deliver in kids
        # it said whom it waited for: the dead parent or its queue
        assert re.search(r"in use by postern pid (%d \(running\)|%d "
                         r"\(draining\)): waiting up to 30 s" %
                         (pgid, old_queue), log), log
        assert "is free now" in log
        assert not wait_gone(kids)
        assert s.wait_log(r"postern ready", BOUND, since=mark), log
        # the delivery cut short is made again by the new instance
        assert wait_for(lambda: len(peer.messages) >= 2, BOUND)
        assert all(b"Subject: in flight" in m["content"]
                   for m in peer.messages)
        assert s.wait_queue_empty(BOUND)
    finally:
        kill_group(pgid)


def test_acked_before_parent_killed_delivered_after_restart(server,
                                                           slow_peer):
    """Messages answered 250 just before the parent is killed, while a
    remote delivery keeps the old instance draining: the new serve waits
    for it, then every message is delivered, unaltered."""
    dns, port, peer = slow_peer
    s = server(conf={"dns_resolver": "127.0.0.1:%d" % dns.port,
                     "outbound_smtp_port": str(port),
                     "dnssec_trust_anchor": "none"})
    send(s, ALICE, ["bob@remote-orphan.test"], ["in flight"])
    assert wait_for(lambda: peer.data_started == 1), s.log()[-3000:]
    old_queue = pid_of(s, "queue")
    bodies = {}
    with s.raw("smtp") as r:
        greet(r)
        for i in range(8):
            tok = "acked-%d" % i
            hexed = os.urandom(3000 * i).hex()
            bodies[tok] = (b"Subject: %s\r\nX-Token: %s\r\n\r\n" %
                           (tok.encode(), tok.encode()) +
                           b"".join(hexed[k:k + 76].encode() + b"\r\n"
                                    for k in range(0, len(hexed), 76)) +
                           b"end\r\n")
            # two recipients: a spool message, delivered after the 250
            code, lines = send_data(r, SENDER, [ALICE, BOB], bodies[tok])
            assert code == 250, lines
        pgid, kids = kill_parent(s)
    try:
        peer.hold = 0
        mark = serve_again(s)
        assert s.wait_log(r"postern ready", BOUND, since=mark), \
            s.log()[mark:]
        log = s.log()[mark:]
        assert re.search(r"in use by postern pid (%d \(running\)|%d "
                         r"\(draining\)): waiting" % (pgid, old_queue),
                         log), log
        assert not wait_gone(kids)
        for addr in (ALICE, BOB):
            def tokens():
                got = {}
                for f in s.mail_files(addr):
                    body = split_delivered(f.read_bytes())[3]
                    m = re.search(rb"X-Token: (\S+)", body)
                    got.setdefault(m.group(1).decode(), []).append(body)
                return got
            assert wait_for(lambda: set(tokens()) == set(bodies), BOUND), \
                (addr, sorted(tokens()))
            for tok, copies in tokens().items():
                for c in copies:
                    assert c == bodies[tok], "altered %s" % tok
        assert wait_for(lambda: len(peer.messages) >= 2, BOUND)
        assert s.wait_queue_empty(BOUND)
    finally:
        kill_group(pgid)


# --- the queue's bound -------------------------------------------------------

@pytest.fixture
def gated_data(request):
    """mount(s): s's data dir becomes a gatefs mount (gatefs.py) of a
    backing dir; returns the gate file (present: syncs wait).  Unmounted
    at teardown."""
    pytest.importorskip("fusepy")
    if not os.path.exists("/dev/fuse") or not shutil.which("fusermount"):
        pytest.skip("no FUSE here")
    mounts = []

    def mount(s):
        backing = s.top / "backing"
        backing.mkdir()
        os.chmod(backing, 0o755)
        gate = s.top / "gate"
        fs = subprocess.Popen(
            ["/usr/bin/python3", str(pathlib.Path(__file__).parent /
                                     "gatefs.py"),
             str(backing), str(s.datadir), str(gate)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        mounts.append((fs, s.datadir, gate))
        assert wait_for(lambda: os.path.ismount(s.datadir), 10)
        s.chown_data()
        return gate
    yield mount
    for fs, mnt, gate in mounts:
        try:
            gate.unlink()
        except FileNotFoundError:
            pass
        subprocess.run(["fusermount", "-u", "-z", str(mnt)],
                       stderr=subprocess.DEVNULL)
        try:
            fs.wait(10)
        except subprocess.TimeoutExpired:
            fs.kill()
            fs.wait(5)


def test_orphaned_queue_ends_within_its_bound(server, gated_data):
    """A disk that stops answering syncs while the parent is killed: the
    queue, stuck in a commit, still exits after Q_STOP_MAX (20 s), the
    message it never acknowledged is not claimed, and the lock is free."""
    s = server(conf={"sync_method": "file"}, start=False)
    gate = gated_data(s)
    s.start()
    with s.raw("smtp") as r:
        greet(r)
        code, lines = send_data(r, SENDER, [ALICE, BOB],
                                b"Subject: before\r\n\r\nhi\r\n")
        assert code == 250, lines
    gate.touch()
    stuck = s.raw("smtp")
    try:
        greet(stuck)
        stuck.expect(250, "MAIL FROM:<%s>" % SENDER)
        stuck.expect(250, "RCPT TO:<%s>" % ALICE)
        stuck.expect(250, "RCPT TO:<%s>" % BOB)
        stuck.expect(354, "DATA")
        stuck.send(b"Subject: never synced\r\n\r\nhi\r\n.\r\n")
        with pytest.raises((TimeoutError, EOFError)):
            stuck.reply(timeout=1)      # the commit waits on the disk
        pgid, kids = kill_parent(s)
        try:
            left = wait_gone(kids)
            assert not left, (left, s.log()[-3000:])
            assert re.search(r"queue\[\d+\]: still busy 20 s after the "
                             r"parent left: exiting now", s.log())
            # never answered 250
            try:
                code, lines = stuck.reply(timeout=1)
                assert code != 250, lines
            except (TimeoutError, EOFError, OSError):
                pass
            assert gate.exists()        # it was the bound, not the disk
        finally:
            kill_group(pgid)
    finally:
        stuck.close()
    gate.unlink()
    mark = serve_again(s)
    assert s.wait_log(r"postern ready", BOUND, since=mark), s.log()[mark:]
    # acknowledged before the disk hung: delivered, now or from the spool
    assert wait_for(lambda: any(b"Subject: before" in f.read_bytes()
                                for f in s.mail_files(BOB)), BOUND), \
        s.log()[mark:]
