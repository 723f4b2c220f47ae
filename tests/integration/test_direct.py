"""Direct delivery (the fast path): a message whose only recipient is a
local mailbox is written by smtp straight into the Maildir's tmp/ and
linked into new/ by the commit batch; the spool is never touched.  An
aborted DATA leaves nothing in the Maildir, and stale files in tmp/ are
removed when the queue starts."""

import os
import re
import time

import pytest

from conftest import greet, message, send_data, split_delivered

ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@client.test"
SPOOL_DIRS = ("tmp", "body", "env", "free")


def spool_state(s):
    """mtime and entries of each spool directory: a file created (or
    removed) there, even briefly, changes its directory's mtime."""
    out = {}
    for sub in SPOOL_DIRS:
        d = s.datadir / "queue" / sub
        out[sub] = (d.stat().st_mtime_ns, sorted(os.listdir(d)))
    return out


def maildir_part(s, addr, part):
    local, domain = addr.rsplit("@", 1)
    return s.datadir / "mail" / domain / local / part


def make_maildirs(s, *addrs):
    """A first message to each: a Maildir not made yet goes through the
    spool (the delivery thread makes it), the next ones are direct."""
    with s.raw("smtp") as r:
        greet(r)
        for a in addrs:
            code, lines = send_data(r, SENDER, [a], message(subject="first"))
            assert code == 250, lines
    for a in addrs:
        s.wait_mail(a, 1)
    assert s.wait_queue_empty()


def wait_empty(d, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        files = sorted(os.listdir(d)) if d.is_dir() else []
        if not files or time.monotonic() > deadline:
            return files
        time.sleep(0.05)


@pytest.mark.parametrize("method", ["filesystem", "file", "auto"])
def test_single_local_rcpt_never_spooled(server, method):
    s = server(conf={"sync_method": method})
    make_maildirs(s, ALICE, BOB)
    mark = len(s.log())
    before = spool_state(s)
    bodies = [message(subject="direct %d" % i) for i in range(3)]
    with s.raw("smtp") as r:
        greet(r)
        for b in bodies:
            code, lines = send_data(r, SENDER, [ALICE], b)
            assert code == 250, lines
        # the same through an empty reverse path
        code, lines = send_data(r, "", [BOB], bodies[0])
        assert code == 250, lines
    got = s.wait_mail(ALICE, 3, skip=1)
    for data, b in zip(got, bodies):
        rp, dt, received, body = split_delivered(data)
        assert (rp, dt, body) == (SENDER, ALICE, b)
    (data,) = s.wait_mail(BOB, 1, skip=1)
    assert split_delivered(data)[:2] == ("", BOB)
    assert split_delivered(data)[3] == bodies[0]
    assert spool_state(s) == before
    assert wait_empty(maildir_part(s, ALICE, "tmp")) == []
    log = s.log()[mark:]
    assert re.search(r"queue\[\d+\]: sync_method %s[ :]" % method, s.log())
    assert log.count(" path=direct") == 4, log
    assert log.count("delivered maildir=") == 4, log


def test_two_recipients_use_the_spool(server):
    s = server()
    before = spool_state(s)
    body = message(subject="two")
    with s.raw("smtp") as r:
        greet(r)
        code, lines = send_data(r, SENDER, [ALICE, BOB], body)
        assert code == 250, lines
    (a,) = s.wait_mail(ALICE, 1)
    (b,) = s.wait_mail(BOB, 1)
    assert split_delivered(a)[3] == split_delivered(b)[3] == body
    assert s.wait_queue_empty()
    assert spool_state(s)["body"][0] != before["body"][0]


def test_aborted_data_leaves_no_file(server):
    s = server(conf={"max_message_size": 10000})
    make_maildirs(s, ALICE)
    with s.raw("smtp") as r:
        greet(r)
        code, lines = send_data(r, SENDER, [ALICE],
                                 (b"x" * 78 + b"\r\n") * 200)
        assert code == 552, lines
        r.expect(250, "NOOP")
        # DATA cut off by the client closing the connection
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(250, "RCPT TO:<%s>" % ALICE)
        r.expect(354, "DATA")
        # the file being written is the Maildir's, in tmp/
        assert len(os.listdir(maildir_part(s, ALICE, "tmp"))) == 1
        r.send(b"Subject: cut\r\n\r\nhalf a message\r\n")
        time.sleep(0.2)
    assert wait_empty(maildir_part(s, ALICE, "tmp")) == []
    s.assert_no_mail(ALICE, skip=1)
    assert s.queue_files("env") == [] and s.queue_files("body") == []


def test_first_message_makes_the_maildir_through_the_spool(server):
    s = server()
    mark = len(s.log())
    make_maildirs(s, ALICE)
    assert " path=direct" not in s.log()[mark:]
    assert maildir_part(s, ALICE, "cur").is_dir()


def test_stale_tmp_files_removed_at_start(server):
    s = server()
    make_maildirs(s, ALICE)
    tmp = maildir_part(s, ALICE, "tmp")
    old, fresh = tmp / "1.1_1_0.old.host", tmp / "2.2_2_0.fresh.host"
    for f in (old, fresh):
        f.write_bytes(b"Return-Path: <x>\r\n")
    t = time.time() - 37 * 3600
    os.utime(old, (t, t))
    mark = len(s.log())
    s.stop()
    s.start()
    assert s.wait_log("queue ready", since=mark)
    assert not old.exists()
    assert fresh.exists()
    assert s.mail_count(ALICE) == 1
