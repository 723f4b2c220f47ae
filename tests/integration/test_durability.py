"""Durability: a message answered 250 survives kill -9 of the whole server
and is delivered after a restart; no half message is ever delivered; the
spool is recovered on start."""

import itertools
import os
import random
import re
import threading
import time

from conftest import Raw, greet, send_data, split_delivered
from dnsserver import DNSServer
from mxpeer import wait_for

ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@client.test"


def body_for(token, size):
    rnd = random.Random(token)
    out = [b"Subject: " + token.encode(), b"X-Token: " + token.encode(), b""]
    n = 0
    while n < size:
        ln = rnd.randbytes(rnd.randrange(0, 200)).translate(
            bytes.maketrans(b"\r\n\0", b"abc"))
        if rnd.random() < 0.05:
            ln = b"." + ln
        out.append(ln)
        n += len(ln) + 2
    out.append(b"end of " + token.encode())
    return b"\r\n".join(out) + b"\r\n"


def token_of(stored):
    for ln in stored.split(b"\r\n"):
        if ln.startswith(b"X-Token: "):
            return ln[9:].decode()
    return None


def delivered(s, addr):
    """token -> [stored bodies] for addr's Maildir."""
    out = {}
    for f in s.mail_files(addr):
        stored = split_delivered(f.read_bytes())[3]
        out.setdefault(token_of(stored), []).append(stored)
    return out


def wait_tokens(s, addr, tokens, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        got = delivered(s, addr)
        if set(tokens) <= set(got) or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_kill9_right_after_250(server):
    s = server()
    bodies = {}
    with s.raw("smtp") as r:
        greet(r)
        for i in range(5):
            tok = "once-%d" % i
            bodies[tok] = body_for(tok, 20000 * i + 100)
            code, lines = send_data(r, SENDER, [ALICE, BOB], bodies[tok])
            assert code == 250, lines
        s.kill9()
    s.start()
    for addr in (ALICE, BOB):
        got = wait_tokens(s, addr, bodies)
        assert set(got) == set(bodies), (addr, sorted(got))
        for tok, copies in got.items():
            for c in copies:
                assert c == bodies[tok], "partial or altered %s" % tok
    assert s.wait_queue_empty()


def test_kill9_loop(server):
    s = server()
    rnd = random.Random(1234)
    sent, acked = {}, set()
    lock = threading.Lock()
    counter = itertools.count()
    stop = threading.Event()
    errors = []

    def client(seed):
        crnd = random.Random(seed)
        while not stop.is_set():
            tok = "loop-%05d" % next(counter)
            body = body_for(tok, crnd.choice([200, 3000, 40000, 150000]))
            with lock:
                sent[tok] = body
            try:
                with Raw(s.smtp_port, timeout=3) as r:
                    r.expect(220)
                    r.ehlo()
                    code, _ = send_data(r, SENDER, [ALICE], body)
                    if code == 250:
                        with lock:
                            acked.add(tok)
                    r.cmd("QUIT")
            except (OSError, EOFError, TimeoutError, AssertionError):
                time.sleep(0.02)
            except Exception as e:      # a harness bug: report it
                errors.append(repr(e))
                return

    threads = [threading.Thread(target=client, args=(i,), daemon=True)
               for i in range(3)]
    for t in threads:
        t.start()
    try:
        for k in range(20):
            time.sleep(rnd.uniform(0.02, 0.4))
            s.kill9()
            s.start()
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    assert not errors, errors
    assert len(acked) >= 10, "too few messages accepted: %d" % len(acked)
    got = wait_tokens(s, ALICE, acked, timeout=40)
    missing = acked - set(got)
    assert not missing, "accepted but lost: %s" % sorted(missing)
    for tok, copies in got.items():
        assert tok in sent, "unknown message %r" % tok
        for c in copies:
            assert c == sent[tok], "partial or altered message %s" % tok
    assert s.wait_queue_empty(20)
    assert s.queue_files("tmp") == []
    dups = sum(len(v) - 1 for v in got.values())
    print("kill9 loop: %d sent, %d accepted, %d delivered, %d duplicates"
          % (len(sent), len(acked), len(got), dups))


def test_recovery_cleans_spool(server):
    """Leftovers of a crash (tmp files, a body without envelope, an
    unreadable envelope) are cleaned or quarantined, never delivered."""
    s = server(start=False)
    q = s.datadir / "queue"
    for sub in ("tmp", "body", "env", "corrupt"):
        (q / sub).mkdir(parents=True, exist_ok=True)
    (q / "tmp" / ("0" * 20 + ".body")).write_bytes(b"Subject: torn\r\n")
    (q / "tmp" / ("0" * 20 + ".env")).write_bytes(b"half an env")
    (q / "body" / ("1" * 20)).write_bytes(b"Subject: orphan\r\n\r\nx\r\n")
    (q / "body" / ("2" * 20)).write_bytes(b"Subject: corrupt\r\n\r\nx\r\n")
    (q / "env" / ("2" * 20)).write_bytes(b"\x00garbage\xff not an envelope")
    s.chown_data()
    s.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not (q / "tmp" / ("0" * 20 + ".body")).exists() and \
                not (q / "body" / ("1" * 20)).exists() and \
                not (q / "env" / ("2" * 20)).exists():
            break
        time.sleep(0.1)
    assert os.listdir(q / "tmp") == []
    assert not (q / "body" / ("1" * 20)).exists()
    assert not (q / "env" / ("2" * 20)).exists()
    assert os.listdir(q / "corrupt"), "corrupt envelope not quarantined"
    assert s.all_mail() == []
    # and the server works
    with s.raw("smtp") as r:
        greet(r)
        code, lines = send_data(r, SENDER, [ALICE],
                                b"Subject: after\r\n\r\nok\r\n")
        assert code == 250, lines
    s.wait_mail(ALICE, 1)


def test_sigterm_then_restart_delivers_everything(server):
    s = server()
    toks = {}
    with s.raw("smtp") as r:
        greet(r)
        for i in range(10):
            tok = "term-%d" % i
            toks[tok] = body_for(tok, 5000)
            code, _ = send_data(r, SENDER, [ALICE], toks[tok])
            assert code == 250
    assert s.stop() == 0
    s.start()
    got = wait_tokens(s, ALICE, toks)
    assert set(got) == set(toks)
    assert all(len(v) == 1 for v in got.values()), \
        "duplicate deliveries after a clean stop"



def test_torn_spool_messages_never_taken(server):
    """A spool message is published before its bytes are durable and one
    sync covers both, so a crash can leave an envelope whose body is cut
    short or zero-filled, or an envelope with blocks of another: none of
    them was acknowledged. At startup each is found out by its hashes and
    moved to corrupt/, never taken up; an intact one is."""
    dns = DNSServer({"elsewhere.example": "SERVFAIL"}).start()
    try:
        s = server(conf={"retry_min": "300", "retry_max": "3600",
                         "dns_resolver": "127.0.0.1:%d" % dns.port})
        mids = []
        for i in range(6):
            c = s.submission(ALICE)
            c.sendmail(ALICE, ["x%d@elsewhere.example" % i],
                       b"Subject: m%d\r\n\r\n" % i +
                       b"a line of text\r\n" * 300)
            c.quit()
            assert wait_for(lambda: len(re.findall(
                r"msgid=[0-9a-f]{20} queued", s.log())) == i + 1)
            found = re.findall(r"msgid=([0-9a-f]{20}) queued", s.log())
            mids.append(found[-1])
        s.stop()
    finally:
        dns.stop()
    q = s.datadir / "queue"
    env = {m: (q / "env" / m).read_bytes() for m in mids}
    body = {m: q / "body" / m for m in mids}
    # 0: a block of the body never written (zeros, same size)
    b = bytearray(body[mids[0]].read_bytes())
    b[1000:2000] = bytes(1000)
    body[mids[0]].write_bytes(bytes(b))
    # 1: the body cut short
    body[mids[1]].write_bytes(body[mids[1]].read_bytes()[:-100])
    # 2: the envelope's head, then the tail of another's
    e2, e3 = env[mids[2]], env[mids[3]]
    cut = e2.index(b"\nrcpt ")
    (q / "env" / mids[2]).write_bytes(e2[:cut] + e3[e3.index(b"\nrcpt "):])
    # 3: one byte of the envelope changed (a recipient's address)
    (q / "env" / mids[3]).write_bytes(e3.replace(b"x3@", b"y3@"))
    # 5: a complete envelope, but another message's (a reused file whose
    # new bytes never reached the disk)
    (q / "env" / mids[5]).write_bytes(env[mids[4]])
    # 4: intact
    s.chown_data()
    s.start()
    assert s.wait_log(r"msgid=%s loaded" % mids[4])
    for m, why in ((mids[0], "body does not match its envelope's hash"),
                   (mids[1], "body is \\d+ octets, its envelope says"),
                   (mids[2], "check does not match"),
                   (mids[3], "check does not match"),
                   (mids[5], "id does not match the file name")):
        assert s.wait_log(r"msgid=%s is broken: moved to corrupt/ "
                          r"why=.*%s" % (m, why)), s.log()[-3000:]
        assert (q / "corrupt" / m).exists()
        assert not (q / "env" / m).exists()
        assert "msgid=%s loaded" % m not in s.log()
    assert (q / "env" / mids[4]).exists()
