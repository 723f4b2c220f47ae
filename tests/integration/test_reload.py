"""SIGHUP reloads config, users, aliases and certificates without dropping
connections or mail."""

import os
import signal
import smtplib
import subprocess
import time

import pytest

from conftest import HOST, greet, send_data, split_delivered

ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@client.test"


def ehlo_size(s):
    with s.raw("smtp") as r:
        for l in greet(r)[1:]:
            kw = l[4:].split()
            if kw and kw[0].upper() == "SIZE":
                return int(kw[1])
    return None


def test_new_user_after_reload(server):
    s = server()
    s.add_user("dave@example.test", "dave-Secret-4")
    s.reload()
    c = s.submission("dave@example.test", kind="465")
    c.sendmail("dave@example.test", [ALICE],
               b"Subject: from dave\r\n\r\nhi\r\n")
    c.quit()
    (data,) = s.wait_mail(ALICE, 1)
    assert split_delivered(data)[0] == "dave@example.test"
    # and as a local recipient
    with s.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(250, "RCPT TO:<dave@example.test>")


def test_removed_user_after_reload(server):
    s = server(conf={"auth_fail_delay_ms": 100})
    cp = s.ctl("user-remove", BOB)
    assert cp.returncode == 0, cp.stderr
    s.reload()
    with pytest.raises(smtplib.SMTPAuthenticationError):
        s.submission(BOB, kind="465")
    with s.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(550, "RCPT TO:<%s>" % BOB)
    # others are unaffected
    s.submission(ALICE, kind="465").quit()


def test_open_sessions_survive_reload(server):
    s = server()
    # one plain MX session in the middle of a transaction
    mx = s.raw("smtp")
    greet(mx)
    mx.expect(250, "MAIL FROM:<%s>" % SENDER)
    mx.expect(250, "RCPT TO:<%s>" % ALICE)
    # one authenticated TLS session
    sub = s.submission(ALICE, kind="587")
    # one session in the middle of DATA
    mid = s.raw("smtp")
    greet(mid)
    mid.expect(250, "MAIL FROM:<%s>" % SENDER)
    mid.expect(250, "RCPT TO:<%s>" % BOB)
    mid.expect(354, "DATA")
    mid.send(b"Subject: across a reload\r\n\r\nfirst half\r\n")

    s.add_user("erin@example.test", "erin-Secret-5")
    s.reload()
    assert s.running()

    mid.send(b"second half\r\n.\r\n")
    mid.expect(250)
    mid.expect(221, "QUIT")
    mx.expect(354, "DATA")
    mx.send(b"Subject: mx across reload\r\n\r\nok\r\n.\r\n")
    mx.expect(250)
    mx.expect(221, "QUIT")
    sub.sendmail(ALICE, [BOB], b"Subject: sub across reload\r\n\r\nok\r\n")
    sub.quit()
    mx.close()
    mid.close()
    a = s.wait_mail(ALICE, 1)
    b = s.wait_mail(BOB, 2)
    assert split_delivered(a[0])[3] == b"Subject: mx across reload\r\n\r\nok\r\n"
    assert sorted(split_delivered(x)[3] for x in b) == sorted([
        b"Subject: across a reload\r\n\r\nfirst half\r\nsecond half\r\n",
        b"Subject: sub across reload\r\n\r\nok\r\n"])


def test_config_reload(server):
    s = server(conf={"max_message_size": 10000})
    assert ehlo_size(s) == 10000
    s.set("max_message_size", 20000)
    s.reload()
    assert ehlo_size(s) == 20000


def test_alias_reload(server):
    s = server()
    with s.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(550, "RCPT TO:<newalias@example.test>")
    s.write_aliases("newalias: bob\n")
    s.reload()
    with s.raw("smtp") as r:
        greet(r)
        code, lines = send_data(r, SENDER, ["newalias@example.test"],
                                b"Subject: alias\r\n\r\nx\r\n")
        assert code == 250, lines
    s.wait_mail(BOB, 1)


def test_bad_config_keeps_old_one(server):
    s = server()
    good = s.conffile.read_text()
    s.conffile.write_text(good + "no_such_key = 1\n")
    s.signal(signal.SIGHUP)
    time.sleep(1)
    assert s.running(), "a bad config on reload killed the server"
    with s.raw("smtp") as r:
        greet(r)
        code, lines = send_data(r, SENDER, [ALICE],
                                b"Subject: still\r\n\r\nserving\r\n")
        assert code == 250, lines
    s.wait_mail(ALICE, 1)
    assert "no_such_key" in s.log()
    s.conffile.write_text(good)


def test_certificate_reload(server):
    s = server()
    with s.raw("465") as r:
        old = r.sock.getpeercert(binary_form=True)
    d = s.confdir / "certs" / HOST
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=" + HOST, "-addext",
                    "subjectAltName=DNS:" + HOST,
                    "-keyout", str(d / "privkey.pem.new"),
                    "-out", str(d / "fullchain.pem.new")],
                   check=True, capture_output=True)
    for name in ("privkey.pem", "fullchain.pem"):
        st = os.stat(d / name)
        os.chown(d / (name + ".new"), st.st_uid, st.st_gid)
        os.chmod(d / (name + ".new"), st.st_mode & 0o7777)
        os.rename(d / (name + ".new"), d / name)
    # a TLS session open across the reload is not dropped
    keep = s.submission(ALICE, kind="465")
    s.reload()
    with s.raw("465") as r:
        new = r.sock.getpeercert(binary_form=True)
    assert new != old, "certificate not reloaded"
    keep.sendmail(ALICE, [BOB], b"Subject: kept\r\n\r\nx\r\n")
    keep.quit()
    s.wait_mail(BOB, 1)
