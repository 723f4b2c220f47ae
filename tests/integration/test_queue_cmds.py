"""`postern queue list | show ID | flush [ID] | remove ID` against a live
server whose outbound deliveries fail temporarily (the test DNS server
answers SERVFAIL for the destination domain): mail from an authenticated
submission user to an external domain stays queued with that error, is
retried on `flush`, and goes away on `remove`."""

import os
import re
import socket
import stat
import struct
import time

import pytest

from conftest import message
from dnsserver import DNSServer

ALICE = "alice@example.test"
REMOTE = "someone@elsewhere.example"
# what a SERVFAIL for the destination domain is reported as
PLACEHOLDER = r"MX lookup failed"


@pytest.fixture
def dns_broken():
    srv = DNSServer({"elsewhere.example": "SERVFAIL"}).start()
    yield srv
    srv.stop()


def resolver(dns):
    return "127.0.0.1:%d" % dns.port


@pytest.fixture
def qsrv(server, dns_broken):
    # a long retry: every attempt after the first one is the flush's
    return server(conf={"retry_min": "300", "retry_max": "3600",
                        "dns_resolver": resolver(dns_broken)})


def submit(srv, rcpt=REMOTE):
    s = srv.submission(ALICE)
    s.sendmail(ALICE, [rcpt], message(mfrom=ALICE, to=rcpt))
    s.quit()
    assert srv.wait_log(r"msgid=([0-9a-f]{20}) queued .*from=<%s>" % ALICE)
    return re.search(r"msgid=([0-9a-f]{20}) queued", srv.log()).group(1)


def show(srv, mid, timeout=5):
    """`postern queue show ID`, asked again while the message is busy
    (its envelope being rewritten: the queue says so rather than wait)"""
    deadline = time.monotonic() + timeout
    while True:
        cp = srv.ctl("queue", "show", mid)
        if "being delivered now" not in (cp.stdout + cp.stderr) or \
                time.monotonic() > deadline:
            return cp
        time.sleep(0.1)


def attempts(srv, mid):
    return len(re.findall(r"msgid=%s rcpt=<%s> deferred: .*(?:%s)" % (
        mid, re.escape(REMOTE), PLACEHOLDER), srv.log()))


def wait_attempts(srv, mid, n, timeout=10):
    deadline = time.monotonic() + timeout
    while attempts(srv, mid) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return attempts(srv, mid)


def test_queue_list_show_flush_remove(qsrv):
    mid = submit(qsrv)
    assert wait_attempts(qsrv, mid, 1) == 1

    cp = qsrv.ctl("queue", "list")
    assert cp.returncode == 0, cp.stderr
    lines = [ln for ln in cp.stdout.splitlines() if ln.startswith(mid)]
    assert len(lines) == 1, cp.stdout
    f = lines[0].split()
    assert f[3] == "<%s>" % ALICE
    assert f[4] == "1/1"                      # pending / total
    assert f[5] == "in" and f[6][0].isdigit()  # next try in ~5 minutes
    # the pending recipient and why, under its message
    i = cp.stdout.splitlines().index(lines[0])
    detail = cp.stdout.splitlines()[i + 1]
    assert detail.startswith("    <%s> pending attempts=1 error: " % REMOTE)
    assert re.search(PLACEHOLDER, detail)

    cp = show(qsrv, mid)
    assert cp.returncode == 0, cp.stderr
    assert "id: %s" % mid in cp.stdout
    assert "from: <%s>" % ALICE in cp.stdout
    assert re.search(r"rcpt: <%s> .*state=pending attempts=1 next_try=in "
                     % re.escape(REMOTE), cp.stdout), cp.stdout
    assert "last error: " in cp.stdout and re.search(PLACEHOLDER, cp.stdout)

    # flush: a new attempt now, not in 5 minutes
    cp = qsrv.ctl("queue", "flush", mid)
    assert cp.returncode == 0, cp.stderr
    assert wait_attempts(qsrv, mid, 2) == 2
    cp = show(qsrv, mid)
    assert "attempts=2" in cp.stdout, cp.stdout

    # flush without id: every message
    cp = qsrv.ctl("queue", "flush")
    assert cp.returncode == 0, cp.stderr
    assert "1 messages flushed" in cp.stdout
    assert wait_attempts(qsrv, mid, 3) == 3

    # the envelope on disk says so too (durable)
    env = (qsrv.datadir / "queue" / "env" / mid).read_text()
    assert re.search(r"^rcpt pending [1-3] \d+ %s " % re.escape(REMOTE),
                     env, re.M), env
    assert re.search(PLACEHOLDER, env)

    cp = qsrv.ctl("queue", "remove", mid)
    assert cp.returncode == 0, cp.stderr
    assert qsrv.wait_log(r"msgid=%s removed by admin" % mid)
    assert qsrv.wait_queue_empty()
    assert not qsrv.queue_files("body")
    cp = qsrv.ctl("queue", "list")
    assert cp.returncode == 0 and mid not in cp.stdout


def test_queue_unknown_id(qsrv):
    for verb in ("show", "flush", "remove"):
        cp = qsrv.ctl("queue", verb, "00000000000000000000")
        assert cp.returncode == 1, (verb, cp.stdout, cp.stderr)
        assert "no such message" in cp.stderr


def test_queue_usage(qsrv):
    assert qsrv.ctl("queue").returncode == 2
    assert qsrv.ctl("queue", "bogus").returncode == 2
    assert qsrv.ctl("queue", "remove").returncode == 2


def test_queue_survives_restart(qsrv):
    mid = submit(qsrv)
    assert wait_attempts(qsrv, mid, 1) == 1
    qsrv.restart()
    cp = show(qsrv, mid)
    assert cp.returncode == 0, cp.stderr
    assert "attempts=1" in cp.stdout and re.search(PLACEHOLDER, cp.stdout)
    assert qsrv.ctl("queue", "remove", mid).returncode == 0
    assert qsrv.wait_queue_empty()


def test_control_socket_is_private_and_robust(qsrv):
    path = qsrv.datadir / "queue" / "control"
    st = os.stat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    # garbage, truncated and oversized requests close that connection only
    for payload in (b"", b"\x01", b"\xff" * 16,
                    struct.pack("=I", 101) + b"\x00" * 3,   # short string
                    struct.pack("=I", 100) + b"x",          # bytes left
                    struct.pack("=I", 999),                 # unknown type
                    b"\x00" * 70000):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(5)
        s.connect(str(path))
        try:
            s.send(payload)
            data = s.recv(65536)
        except OSError:
            data = b""
        s.close()
        assert data == b"", payload[:8]
    # many idle connections do not stop the queue from answering later
    idle = []
    for _ in range(20):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(str(path))
        idle.append(s)
    for s in idle:
        s.close()
    time.sleep(0.2)
    cp = qsrv.ctl("queue", "list")
    assert cp.returncode == 0, cp.stderr
    assert qsrv.running()


def dsn_parts(data):
    import email
    from email import policy
    msg = email.message_from_bytes(data, policy=policy.compat32)
    return msg


def test_expired_message_bounces_to_local_sender(server, dns_broken):
    srv = server(conf={"retry_min": "1", "retry_max": "1",
                       "queue_lifetime": "2",
                       "dns_resolver": resolver(dns_broken)})
    mid = submit(srv)
    (data,) = srv.wait_mail(ALICE, 1, timeout=15)
    msg = dsn_parts(data)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    text = data.decode(errors="replace")
    assert "Final-Recipient: rfc822; %s" % REMOTE in text
    assert "Action: failed" in text and "Status: 4.4.7" in text
    assert "Return-Path: <>" in text.split("\r\n\r\n")[0]
    assert srv.wait_log(r"msgid=%s bounce queued as msgid=" % mid)
    assert srv.wait_queue_empty(), srv.queue_files()
    assert srv.wait_log(r"msgid=%s done: removed from the queue" % mid)


def test_delay_warning_then_bounce(server, dns_broken):
    srv = server(conf={"retry_min": "1", "retry_max": "1",
                       "queue_lifetime": "4", "delay_warning": "1",
                       "dns_resolver": resolver(dns_broken)})
    mid = submit(srv)
    warn, bounce = srv.wait_mail(ALICE, 2, timeout=20)
    assert b"Delayed Mail" in warn and b"Action: delayed" in warn
    assert b"Undelivered Mail" in bounce and b"Action: failed" in bounce
    assert srv.wait_log(r"msgid=%s delay-warning queued as" % mid)
    assert srv.wait_queue_empty()
    # once per message
    assert len(re.findall(r"msgid=%s delay-warning queued" % mid,
                          srv.log())) == 1
