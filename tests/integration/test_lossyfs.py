"""Durable on every filesystem: data_dir (or the Maildirs) on a FUSE
filesystem that keeps only what was fsynced (lossyfs.py), a power cut
(SIGKILL, unmount, the backing tree rolled back to what was made
durable), a restart: every message answered 250 is still there.  FUSE
does not pass syncfs down, so sync_method auto must take per-file syncs
there; sync_method filesystem set anyway is warned about, and loses the
mail (which shows the harness drops what was not synced)."""

import ctypes
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import greet, send_data, split_delivered
from dnsserver import DNSServer
from mxpeer import wait_for
from test_durability import body_for, token_of

ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@client.test"
REMOTE = "far@elsewhere.example"
LOSSYFS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "lossyfs.py")
FUSE_MAGIC = "0x65735546"

pytestmark = pytest.mark.skipif(
    not os.path.exists("/dev/fuse") or os.geteuid() != 0,
    reason="needs /dev/fuse and root (mount, allow_other)")


class LossyMount:
    """lossyfs over top/backing at mnt; each mount keeps its model in a
    state directory of its own."""

    def __init__(self, top, mnt):
        self.top = top
        self.backing = top / "lossy-backing"
        self.mnt = mnt
        self.backing.mkdir()
        os.chmod(self.backing, 0o755)
        self.mnt.mkdir(exist_ok=True)
        self.proc = None
        self.gen = 0
        self.state = None

    def mount(self):
        self.gen += 1
        self.state = self.top / ("lossy-state-%d" % self.gen)
        log = open(self.top / "lossyfs.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, LOSSYFS, "mount", str(self.backing),
             str(self.mnt), str(self.state)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        assert wait_for(lambda: os.path.ismount(self.mnt) or
                        self.proc.poll() is not None, 10)
        assert os.path.ismount(self.mnt), \
            (self.top / "lossyfs.log").read_text()

    def unmount(self):
        """Unmount and wait for the harness (it then saves its model)."""
        if self.proc is None:
            return
        for _ in range(50):
            if not os.path.ismount(self.mnt):
                break
            if subprocess.run(["umount", str(self.mnt)],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            subprocess.run(["umount", "-l", str(self.mnt)],
                           capture_output=True)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        rc, self.proc = self.proc.returncode, None
        return rc

    def power_cut(self):
        """Only what was made durable is left; then mounted again."""
        assert self.unmount() == 0, (self.top / "lossyfs.log").read_text()
        subprocess.run([sys.executable, LOSSYFS, "cut", str(self.backing),
                        str(self.state)], check=True, timeout=60)
        self.mount()


@pytest.fixture
def lossy(server):
    """lossy(conf, where): a server whose data_dir ("data") or Maildirs
    ("mail": data_dir/mail) are on a lossyfs mount; not started."""
    made = []

    def make(conf=None, where="data"):
        s = server(conf=conf, start=False)
        mnt = s.datadir if where == "data" else s.datadir / "mail"
        m = LossyMount(s.top, mnt)
        made.append((s, m))
        m.mount()
        s.chown_data()
        return s, m

    yield make
    for s, m in made:
        s.stop()
        m.unmount()


def delivered(s, addr):
    out = {}
    for f in s.mail_files(addr):
        stored = split_delivered(f.read_bytes())[3]
        out.setdefault(token_of(stored), []).append(stored)
    return out


def send_batch(s):
    """Acknowledged mail of every kind: several recipients (the spool,
    then the delivery thread), a remote one held back (stays in the
    spool), then, the Maildirs existing, direct deliveries.  Returns
    ({addr: {token: body}}, [msgids held]); the last 250 is the last
    thing before the caller's cut."""
    want = {ALICE: {}, BOB: {}}
    with s.raw("smtp") as r:
        greet(r)
        for i in range(4):
            tok = "multi-%d" % i
            body = body_for(tok, 3000 * i + 200)
            code, lines = send_data(r, SENDER, [ALICE, BOB], body)
            assert code == 250, lines
            want[ALICE][tok] = want[BOB][tok] = body
    c = s.submission(ALICE)
    for i in range(3):
        tok = "held-%d" % i
        body = body_for(tok, 2000)
        c.sendmail(ALICE, [REMOTE, BOB], body)
        want[BOB][tok] = body
    c.quit()
    # the Maildirs exist once a first message is in: the rest go direct
    assert wait_for(lambda: len(delivered(s, ALICE)) >= 1 and
                    len(delivered(s, BOB)) >= 1, 30)
    with s.raw("smtp") as r:
        greet(r)
        for i in range(5):
            tok = "direct-%d" % i
            body = body_for(tok, 10000 * i + 100)
            code, lines = send_data(r, SENDER, [ALICE], body)
            assert code == 250, lines
            want[ALICE][tok] = body
    held = re.findall(r"msgid=([0-9a-f]{20}) queued size=\d+ "
                      r"from=<%s> nrcpt=2 " % re.escape(ALICE), s.log())
    return want, held


def assert_all_there(s, want):
    for addr, toks in want.items():
        assert wait_for(lambda: set(toks) <= set(delivered(s, addr)), 30), \
            (addr, sorted(set(toks) - set(delivered(s, addr))))
        for tok, copies in delivered(s, addr).items():
            assert tok in toks, "unknown message %r for %s" % (tok, addr)
            for c in copies:
                assert c == toks[tok], "partial or altered %s" % tok


@pytest.fixture
def dns():
    d = DNSServer({"elsewhere.example": "SERVFAIL"}).start()
    yield d
    d.stop()


def conf_with(dns, **kw):
    c = {"retry_min": "3600", "retry_max": "7200",
         "dns_resolver": "127.0.0.1:%d" % dns.port}
    c.update(kw)
    return c


def test_harness_drops_what_was_not_synced(server):
    """lossyfs itself: after a cut, a file whose directory was fsynced
    but not the file is empty, one whose directory was not fsynced after
    it was made is gone (syncfs made nothing durable), a file and its
    directory fsynced are kept with the bytes of the fsync."""
    s = server(start=False)
    m = LossyMount(s.top, s.top / "mnt")
    m.mount()
    try:
        mnt = m.mnt
        (mnt / "entry-only").write_bytes(b"its data never synced")
        fd = os.open(mnt / "synced", os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"synced bytes")
        os.fdatasync(fd)
        os.close(fd)
        d = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(d)
        os.close(d)
        (mnt / "no-entry").write_bytes(b"x")
        with open(mnt / "synced", "ab") as f:
            f.write(b" and more")
        fd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
        assert ctypes.CDLL(None, use_errno=True).syncfs(fd) == 0
        os.close(fd)
        m.power_cut()
        assert sorted(os.listdir(mnt)) == ["entry-only", "synced"]
        assert (mnt / "synced").read_bytes() == b"synced bytes"
        assert (mnt / "entry-only").read_bytes() == b""
    finally:
        m.unmount()


def test_default_on_fuse_survives_power_cut(lossy, dns):
    s, m = lossy(conf=conf_with(dns))
    s.start()
    assert s.wait_log(r"sync_method auto: per-file fdatasync and directory "
                      r"fsync on the spool's fuse \(%s\)" % FUSE_MAGIC)
    want, held = send_batch(s)
    assert len(held) == 3, s.log()[-3000:]
    s.kill9()
    m.power_cut()
    s.start()
    assert_all_there(s, want)
    # the remote recipient's messages are still queued, intact
    envs = {p.name for p in s.queue_files("env")}
    assert set(held) <= envs, (held, envs)
    for mid in held:
        assert s.wait_log(r"msgid=%s loaded" % mid), s.log()[-3000:]
    assert "is broken" not in s.log()


def test_filesystem_on_fuse_is_warned_and_loses_mail(lossy, dns):
    """Obeyed, with a warning; and on this filesystem syncfs keeps
    nothing: acknowledged mail is gone after the cut (the harness is
    sharp enough to catch a missing sync)."""
    s, m = lossy(conf=conf_with(dns, sync_method="filesystem"))
    s.start()
    assert s.wait_log(r"sync_method filesystem \(configured\): the spool's "
                      r"filesystem fuse \(%s\) is not known to honour "
                      r"syncfs" % FUSE_MAGIC)
    want, held = send_batch(s)
    s.kill9()
    m.power_cut()
    mark = len(s.log())
    s.start()
    assert s.wait_log(r"queue ready", since=mark)
    got = set(delivered(s, ALICE)) | set(delivered(s, BOB))
    lost = (set(want[ALICE]) | set(want[BOB])) - got
    envs = {p.name for p in s.queue_files("env")}
    print("sync_method filesystem on fuse: %d of %d local messages and "
          "%d of %d held ones lost" % (
              len(lost), len(set(want[ALICE]) | set(want[BOB])),
              len(set(held) - envs), len(held)))
    assert lost or not set(held) <= envs, "nothing lost without fsync"


def test_filesystem_warns_of_maildirs_on_fuse(lossy, dns):
    s, m = lossy(conf=conf_with(dns, sync_method="filesystem"), where="mail")
    s.start()
    assert s.wait_log(r"sync_method filesystem \(configured\): the "
                      r"Maildirs under \S+/mail are on fuse \(%s\), not "
                      r"known to honour syncfs" % FUSE_MAGIC)


def test_maildirs_on_fuse_get_file_syncs(lossy, dns):
    """The spool on a filesystem that honours syncfs (syncfs there), the
    Maildirs on FUSE: deliveries into them, through the spool and
    direct, are synced per file and survive the cut."""
    s, m = lossy(conf=conf_with(dns), where="mail")
    s.start()
    assert s.wait_log(r"sync_method auto: syncfs on the spool's")
    assert s.wait_log(r"sync_method for the Maildirs under \S+/mail: "
                      r"per-file fdatasync and directory fsync on fuse "
                      r"\(%s\)" % FUSE_MAGIC)
    want, held = send_batch(s)
    # every local copy delivered (into FUSE) before the cut
    assert wait_for(lambda: all(set(t) <= set(delivered(s, a))
                                for a, t in want.items()), 30)
    s.kill9()
    m.power_cut()
    s.start()
    assert_all_there(s, want)
