"""DKIM signing in `postern serve`, end to end.

Mail submitted by an authenticated user (587 STARTTLS + AUTH, with
smtplib, swaks and msmtp) leaves through the deliver process for a
remote domain (test DNS server, an aiosmtpd peer on loopback), and what
the peer received is verified by dkimpy against the TXT records
`postern dns` prints, and by OpenDKIM (opendkim -t) for RSA.  The
template's domain has the RSA key `postern init` made; a test adds an
Ed25519 key and SIGHUP makes the signer take it (both signatures
then), and a key that does not parse leaves the running keys in use.
The stored body is never rewritten: the signatures and the Date and
Message-ID we add travel in the envelope (`head` lines) and are
written in front of it.  Mail from a user whose domain has no key is
not signed, and a DSN is signed with the hostname's domain key.
"""

import os
import re
import signal
import smtplib
import subprocess

import dkim
import pytest

from conftest import CLIENT, client_tls, dkim_records, msmtp, run_postern, swaks
from dnsserver import DNSServer
from mxpeer import ALICE, WAIT, free_port, Peers, outbound_server, submit

PEER = "127.0.0.2"
DOMAIN = "example.test"
ZONE = {
    "remote.test": {"MX": "10 mx.remote.test"},
    "mx.remote.test": {"A": PEER},
    "other.test": {"MX": "10 mx.remote.test"},
    "bounce.test": {"MX": "10 mx.remote.test"},
}

MESSAGES = {
    "plain": b"From: Alice <alice@example.test>\r\nTo: bob@remote.test\r\n"
             b"Subject: hello\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
             b"Message-ID: <a1@example.test>\r\n\r\nHello Bob.\r\n",
    "eightbit": "From: Jos\u00e9 <alice@example.test>\r\n"
                "To: bob@remote.test\r\n"
                "Subject: =?utf-8?q?caf=C3=A9?=\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n"
                "Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
                "Message-ID: <a2@example.test>\r\n\r\n"
                "Caf\u00e9, na\u00efve, \u65e5\u672c\u8a9e.\r\n"
                .encode("utf-8"),
    "folded": b"From: alice@example.test\r\nTo: a@remote.test,\r\n"
              b"   b@remote.test,\r\n\tc@remote.test\r\n"
              b"Subject: a   subject\r\n  folded  over\r\n\tthree lines\r\n"
              b"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
              b"Message-ID: <a3@example.test>\r\n"
              b"\r\nbody  with   spaces  \r\n\ttabbed\t\r\n",
    "trailing": b"From: alice@example.test\r\nTo: bob@remote.test\r\n"
                b"Subject: t\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
                b"Message-ID: <a4@example.test>\r\n\r\nline\r\n\r\n\r\n\r\n",
    "nodate": b"From: alice@example.test\r\nTo: bob@remote.test\r\n"
              b"Subject: no date, no id\r\n\r\nx\r\n",
}


@pytest.fixture(scope="module")
def dnssrv():
    s = DNSServer(ZONE).start()
    yield s
    s.stop()


@pytest.fixture
def port():
    return free_port((PEER,))


@pytest.fixture
def peer(port):
    with Peers(port) as made:
        yield made(PEER)


@pytest.fixture
def srv(server, dnssrv, port):
    return outbound_server(server, dnssrv, port)


def records(srv):
    """{name.: TXT data} of every DKIM key `postern dns` prints."""
    cp = srv.ctl("dns", DOMAIN)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    return dkim_records(cp.stdout, DOMAIN)


def verify_all(recs, content):
    """The d=/s=/a= of each DKIM-Signature of content, each verified by
    dkimpy (every signature must pass). Only the message's own header
    counts: a DSN's returned header (text/rfc822-headers) carries the
    original's signatures in its body."""
    def dnsfunc(name, timeout=5):
        return recs.get(name.decode(), b"")
    head = content.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    sigs = re.findall(rb"^DKIM-Signature:.*?(?=^\S|\Z)", head,
                      re.M | re.S)
    out = []
    for i in range(len(sigs)):
        d = dkim.DKIM(content)
        assert d.verify(idx=i, dnsfunc=dnsfunc), (i, content[:1500])
        value = re.sub(rb"\s", b"", sigs[i].split(b":", 1)[1])
        tags = dict(t.split(b"=", 1) for t in value.split(b";") if t)
        out.append((tags[b"d"].decode(), tags[b"s"].decode(),
                    tags[b"a"].decode()))
    return out


def rsa_selector(srv):
    d = srv.confdir / "domains" / DOMAIN / "dkim"
    return next(p.stem for p in d.glob("*.pem"))


def test_signed_by_every_client(srv, peer, tmp_path):
    """smtplib, swaks and msmtp: every message arrives with one valid
    rsa-sha256 signature of d=example.test, relaxed/relaxed, and the
    rest of the message byte for byte what the client sent"""
    recs = records(srv)
    sel = rsa_selector(srv)
    names = sorted(MESSAGES)
    submit(srv, ["bob@remote.test"], [MESSAGES[n] for n in names])
    pw = srv.users[ALICE]
    cp = swaks("--server", "127.0.0.1", "--port", srv.port("587"), "--tls",
               "--auth", "PLAIN", "--auth-user", ALICE, "--auth-password",
               pw, "--from", ALICE, "--to", "bob@remote.test", "--helo",
               CLIENT, "--data", "-", input=MESSAGES["plain"].decode())
    assert cp.returncode == 0, cp.stdout + cp.stderr
    cp = msmtp("127.0.0.1", int(srv.port("587")), ALICE, pw, ALICE,
               ["bob@remote.test"], MESSAGES["folded"])
    assert cp.returncode == 0, cp.stderr
    got = peer.wait(len(names) + 2)
    for g in got:
        assert verify_all(recs, g["content"]) == [
            (DOMAIN, sel, "rsa-sha256")]
        assert b"c=relaxed/relaxed" in g["content"].split(b"\r\n\r\n")[0]
    # OpenDKIM agrees (opendkim -t, keys from the same records)
    keys = tmp_path / "keys"
    keys.write_bytes(b"".join(b"%s %s\n" % (n.rstrip(".").encode(), r)
                              for n, r in recs.items()))
    (tmp_path / "o.conf").write_text(
        "Mode v\nSyslog no\nMinimumKeyBits 1024\nTestPublicKeys %s\n" % keys)
    for i, g in enumerate(got):
        f = tmp_path / ("m%d" % i)
        f.write_bytes(g["content"])
        cp = subprocess.run(["/usr/sbin/opendkim", "-x",
                             str(tmp_path / "o.conf"), "-t", str(f)],
                            capture_output=True, text=True, timeout=30)
        assert cp.returncode == 0 and "succeeded" in cp.stdout + cp.stderr, \
            cp.stdout + cp.stderr


def test_large_message_signed(srv, peer):
    """a 3 MiB body (read and hashed by the queue's DKIM thread, in
    chunks, off its loop) arrives with a valid signature"""
    recs = records(srv)
    line = b"0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWX\r\n"
    body = line * (3 * 1024 * 1024 // len(line))
    msg = MESSAGES["plain"].split(b"\r\n\r\n")[0] + b"\r\n\r\n" + body
    submit(srv, ["bob@remote.test"], [msg])
    (g,) = peer.wait(1)
    assert len(g["content"]) > len(body)
    assert len(verify_all(recs, g["content"])) == 1


def test_date_and_message_id_added(srv, peer):
    """RFC 6409 8.2, 8.3: a submission without Date and Message-ID gets
    both, before signing (the signature covers them); the spooled body
    keeps what the client sent, the envelope the added lines"""
    recs = records(srv)
    (mid,) = submit(srv, ["bob@remote.test"], [MESSAGES["nodate"]])
    (g,) = peer.wait(1)
    head = g["content"].split(b"\r\n\r\n")[0]
    assert re.search(rb"^Message-ID: <%s@mail\.example\.test>\r?$" %
                     mid.encode(), head, re.M), head
    assert re.search(rb"^Date: \w{3}, \d\d \w{3} 20\d\d \d\d:\d\d:\d\d "
                     rb"[+-]\d{4}\r?$", head, re.M), head
    sig = re.search(rb"^DKIM-Signature:.*?(?=^\S)", g["content"],
                    re.M | re.S).group(0)
    hlist = re.search(rb"h=([^;]*);", sig).group(1)
    hnames = re.sub(rb"\s", b"", hlist).lower().split(b":")
    assert b"date" in hnames and b"message-id" in hnames, hlist
    assert len(verify_all(recs, g["content"])) == 1
    # a message that has both gets neither again
    submit(srv, ["bob@remote.test"], [MESSAGES["plain"]])
    (_, g2) = peer.wait(2)
    head = g2["content"].split(b"\r\n\r\n")[0]
    assert head.count(b"\nDate:") == 1 and head.count(b"\nMessage-ID:") == 1


def test_held_mail_keeps_its_signature(srv, port):
    """the signature lives in the envelope: a message that waits in the
    queue (no peer listens yet) and survives a restart still arrives
    signed, and the body file in the spool has no DKIM-Signature in it"""
    recs = records(srv)
    (mid,) = submit(srv, ["bob@remote.test"], [MESSAGES["nodate"]])
    env = srv.datadir / "queue" / "env" / mid
    assert srv.wait_log(r"msgid=%s rcpt=<bob@remote.test> deferred" % mid,
                        WAIT), srv.log()[-2000:]
    text = env.read_text()
    assert "\nhead DKIM-Signature: v=1; a=rsa-sha256;" in text, text
    assert "\nhead Message-ID: <%s@mail.example.test>" % mid in text, text
    body = (srv.datadir / "queue" / "body" / mid).read_bytes()
    assert b"DKIM-Signature" not in body and b"Message-ID" not in body
    srv.stop()
    with Peers(port) as made:
        p2 = made(PEER)
        srv.start()
        srv.ctl("queue", "flush")
        (g,) = p2.wait(1)
    assert len(verify_all(recs, g["content"])) == 1


def test_ed25519_added_by_reload(srv, peer):
    """dkim-keygen --type ed25519 then SIGHUP: two signatures (RSA and
    Ed25519), both valid; a key file that does not parse is an error
    naming it and the keys in use stay"""
    sel = rsa_selector(srv)
    cp = run_postern(srv.bin, srv.confdir, "dkim-keygen", DOMAIN,
                     "--selector", "ed", "--type", "ed25519")
    assert cp.returncode == 0, cp.stderr
    srv.reload()
    assert srv.wait_log(r"dkim key domain=example\.test selector=ed "
                        r"type=ed25519", WAIT), srv.log()[-2000:]
    recs = records(srv)
    submit(srv, ["bob@remote.test"], [MESSAGES["eightbit"]])
    (g,) = peer.wait(1)
    assert sorted(verify_all(recs, g["content"])) == sorted([
        (DOMAIN, "ed", "ed25519-sha256"), (DOMAIN, sel, "rsa-sha256")])
    bad = srv.confdir / "domains" / DOMAIN / "dkim" / "broken.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n"
                   "-----END PRIVATE KEY-----\n")
    os.chmod(bad, 0o644)
    mark = len(srv.log())
    srv.reload()
    assert srv.wait_log(r"signer: reload failed, keeping the keys in use: "
                        r".*broken\.pem: not a PEM private key", WAIT,
                        since=mark), srv.log()[mark:]
    submit(srv, ["bob@remote.test"], [MESSAGES["plain"]])
    (_, g2) = peer.wait(2)
    assert len(verify_all(recs, g2["content"])) == 2


def test_unsigned_without_login(srv):
    """mail that arrives on port 25, without AUTH, is not signed and gets
    nothing added, though it claims to be from a user of a local domain
    with a key: only a user auth vouched for is signed for"""
    s = srv.smtp("25")
    try:
        # two recipients: spooled, not a direct delivery
        s.sendmail(ALICE, ["bob@example.test", "carol@example.test"],
                   MESSAGES["nodate"])
    finally:
        s.quit()
    for rcpt in ("bob@example.test", "carol@example.test"):
        (data,) = srv.wait_mail(rcpt, 1, timeout=WAIT)
        assert b"DKIM-Signature" not in data
        assert b"Message-ID" not in data and b"\nDate:" not in data


def test_unsigned_without_key(server, dnssrv, port, peer):
    """a user of a domain without keys is not signed for (but still gets
    a Date and Message-ID)"""
    srv = outbound_server(server, dnssrv, port)
    d = srv.confdir / "domains" / DOMAIN / "dkim"
    for p in d.glob("*.pem"):
        p.unlink()
    srv.reload()
    assert srv.wait_log(r"signer keys=0", WAIT), srv.log()[-2000:]
    (mid,) = submit(srv, ["bob@remote.test"], [MESSAGES["nodate"]])
    (g,) = peer.wait(1)
    assert b"DKIM-Signature" not in g["content"]
    assert g["content"].startswith(b"Message-ID: <%s@mail.example.test>\r\n"
                                   b"Date: " % mid.encode()), g["content"]


def test_bounce_signed_with_hostname_domain(srv, port):
    """a DSN comes from MAILER-DAEMON@mail.example.test: it is signed
    with the key of example.test, the local domain around the hostname"""
    recs = records(srv)
    sel = rsa_selector(srv)
    with Peers(port) as made:
        made(PEER, rcpt="550 5.1.1 <bob@bounce.test>: no such user")
        submit(srv, ["bob@bounce.test"], [MESSAGES["plain"]])
        (data,) = srv.wait_mail(ALICE, 1, timeout=WAIT)
    assert b"MAILER-DAEMON@mail.example.test" in data
    assert verify_all(recs, data) == [(DOMAIN, sel, "rsa-sha256")]
    # the returned header is the one delivered: the original's own
    # signature (held in the envelope's prefix) comes back with it
    head, body = data.split(b"\r\n\r\n", 1)
    returned = body.split(b"text/rfc822-headers", 1)[1]
    assert re.search(rb"^DKIM-Signature: .*?d=example\.test", returned,
                     re.M | re.S)
    assert b"Subject:" in returned


def test_signer_stopped_is_451(srv, peer):
    """a signer that does not answer: the submission gets 451 after
    Q_SIGN_TIMEOUT (10 s), never 250 unsigned; once it answers again,
    mail is signed"""
    pid = int(re.findall(r"signer started pid=(\d+)", srv.log())[-1])
    s = srv.smtp("587", timeout=40)
    s.starttls(context=client_tls())
    s.ehlo()
    s.login(ALICE, srv.users[ALICE])
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(smtplib.SMTPDataError) as ei:
            s.sendmail(ALICE, ["bob@remote.test"], MESSAGES["plain"])
        assert ei.value.smtp_code == 451, ei.value
    finally:
        os.kill(pid, signal.SIGCONT)
        s.quit()
    assert srv.wait_log(r"not signed: the signer did not answer in 10 s",
                        WAIT)
    recs = records(srv)
    submit(srv, ["bob@remote.test"], [MESSAGES["plain"]])
    (g,) = peer.wait(1)
    assert len(verify_all(recs, g["content"])) == 1
