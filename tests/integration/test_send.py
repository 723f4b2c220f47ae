"""postern send: the recipe's test message through submission.

Against the real server: 587 STARTTLS and 465 implicit TLS with AUTH
deliver to the Maildir, the queue id printed is the server's; a wrong
password exits 1 with the 535 reply; a self-signed certificate stops the
session unless --insecure; a certificate from a trusted CA verifies (and
fails on a name mismatch).  Against small scripted servers: malformed
replies, data injected after 220 to STARTTLS, and a server without
STARTTLS never see the password.  Usage errors exit 2."""

import email
import email.header
import email.policy
import os
import pathlib
import re
import shutil
import socket
import subprocess
import threading

import pytest

from conftest import SANITIZER_MARKS, free_base

ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@example.test"


def send(binary, confdir, *args, password=None, env=None, timeout=90):
    """postern -C confdir send args...; password goes to stdin."""
    cp = subprocess.run(
        [binary, "-C", str(confdir), "send"] + [str(a) for a in args],
        input=(password + "\n") if password is not None else "",
        capture_output=True, text=True, timeout=timeout,
        env=dict(os.environ, **(env or {})))
    for mark in SANITIZER_MARKS:
        assert mark not in cp.stderr, cp.stderr
    return cp


def ssend(srv, *args, user=ALICE, password=None, **kw):
    """send through srv as user (authenticated), with --insecure."""
    extra = []
    if user is not None:
        extra = ["--user", user, "--password-stdin"]
        if password is None:
            password = srv.users[user]
    return send(srv.bin, srv.confdir, *args, *extra, password=password,
                **kw)


def out(cp):
    return cp.stdout + cp.stderr


def queue_id(cp):
    last = cp.stdout.rstrip("\n").split("\n")[-1]
    m = re.fullmatch(r"queued as (\S+)", last)
    assert m, "last line is not 'queued as ID':\n" + out(cp)
    return m.group(1)


def check_message(srv, rcpt, skip, qid, subject="postern test message"):
    (data,) = srv.wait_mail(rcpt, 1, skip=skip)
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert str(msg["Subject"]) == subject
    assert str(msg["From"]).strip("<>") == ALICE
    assert rcpt in msg["To"]
    assert msg["Date"] and msg["Message-ID"]
    assert re.fullmatch(r"<[0-9]+\.[0-9a-f]{16}@example\.test>",
                        msg["Message-ID"]), msg["Message-ID"]
    body = msg.get_body().get_content()
    assert "postern send" in body and "Host:" in body and "Time:" in body
    # the id printed is the one the server put in its Received header
    received = " ".join(str(msg["Received"]).split())
    assert (" id %s " % qid) in received, received
    return msg


# --- through the real server ----------------------------------------------

def test_send_587_starttls(srv):
    """No --server: the first submission_listen of the config, STARTTLS."""
    skip = srv.mail_count(BOB)
    cp = ssend(srv, "--from", ALICE, "--to", BOB, "--insecure")
    assert cp.returncode == 0, out(cp)
    o = cp.stdout
    assert "connect 127.0.0.1:%d ... ok\n" % srv.sub_port in o
    assert "<- 220 " in o and "-> EHLO " in o and "-> STARTTLS\n" in o
    assert re.search(r"^starttls \.\.\. TLSv1\.[23] \S+, certificate NOT "
                     r"verified \(self-signed certificate\), going on",
                     o, re.M), o
    assert "auth PLAIN as %s ... ok\n" % ALICE in o
    assert "mail from:<%s> ... ok\n" % ALICE in o
    assert "rcpt to:<%s> ... ok\n" % BOB in o
    qid = queue_id(cp)
    assert "data ... 250 2.0.0 Ok: queued as %s\n" % qid in o
    # the steps come in order
    order = [o.index(s) for s in ("connect ", "-> STARTTLS", "starttls ...",
                                  "auth PLAIN", "mail from:", "rcpt to:",
                                  "data ... ", "queued as ")]
    assert order == sorted(order), o
    check_message(srv, BOB, skip, qid)
    # the id printed is the one the server logged
    assert srv.wait_log(r"msgid=%s accepted" % re.escape(qid))
    assert srv.wait_log(r"msgid=%s queued .*from=<%s>" % (
        re.escape(qid), re.escape(ALICE)))
    # the password is neither echoed nor logged
    assert srv.users[ALICE] not in out(cp)
    assert srv.users[ALICE] not in srv.log()


@pytest.mark.parametrize("how", ["explicit", "from-config"])
def test_send_465_tls(srv, how):
    skip = srv.mail_count(BOB)
    args = ["--from", ALICE, "--to", BOB, "--insecure", "--tls"]
    if how == "explicit":
        args += ["--server", "127.0.0.1:%d" % srv.subs_port]
    cp = ssend(srv, *args)
    assert cp.returncode == 0, out(cp)
    o = cp.stdout
    assert "connect 127.0.0.1:%d ... ok\n" % srv.subs_port in o
    assert "STARTTLS" not in o
    # TLS comes before the greeting
    assert re.search(r"^tls \.\.\. TLSv1\.[23] \S+, certificate NOT "
                     r"verified", o, re.M), o
    assert o.index("tls ...") < o.index("<- 220 ")
    assert "auth PLAIN as %s ... ok\n" % ALICE in o
    qid = queue_id(cp)
    check_message(srv, BOB, skip, qid)
    assert srv.wait_log(r"msgid=%s accepted" % re.escape(qid))


def test_send_ipv6_two_recipients_subject(srv):
    subject = "Grüße from postern, ünïcödé and long enough to be folded"
    skips = {r: srv.mail_count(r) for r in (BOB, CAROL)}
    cp = ssend(srv, "--server", "[::1]:%d" % srv.sub_port, "--from", ALICE,
               "--to", BOB, "--to", CAROL, "--subject", subject,
               "--insecure")
    assert cp.returncode == 0, out(cp)
    assert "connect [::1]:%d ... ok" % srv.sub_port in cp.stdout
    assert "rcpt to:<%s> ... ok" % BOB in cp.stdout
    assert "rcpt to:<%s> ... ok" % CAROL in cp.stdout
    qid = queue_id(cp)
    for r in (BOB, CAROL):
        msg = check_message(srv, r, skips[r], qid, subject=subject)
        assert BOB in msg["To"] and CAROL in msg["To"]


def test_send_wrong_password(server):
    srv = server(conf={"auth_fail_delay_ms": 100})
    skip = srv.mail_count(BOB)
    cp = ssend(srv, "--from", ALICE, "--to", BOB, "--insecure",
               password="not-the-password")
    assert cp.returncode == 1, out(cp)
    assert "auth PLAIN as %s ... 535 " % ALICE in cp.stdout
    assert "535 5.7.8" in cp.stderr
    assert "mail from:" not in cp.stdout
    assert "not-the-password" not in out(cp)
    srv.assert_no_mail(BOB, wait=0.3, skip=skip)


def test_send_without_auth_refused(srv):
    """Submission wants AUTH: the 530 to MAIL is printed, exit 1."""
    skip = srv.mail_count(BOB)
    cp = ssend(srv, "--from", ALICE, "--to", BOB, "--insecure", user=None)
    assert cp.returncode == 1, out(cp)
    assert "auth " not in cp.stdout
    assert re.search(r"^mail from:<%s> \.\.\. 530 " % re.escape(ALICE),
                     cp.stdout, re.M), out(cp)
    assert "530 5.7.0" in cp.stderr
    srv.assert_no_mail(BOB, wait=0.2, skip=skip)


@pytest.mark.parametrize("port", ["587", "465"])
def test_send_self_signed_refused(srv, port):
    """Without --insecure an unverified certificate stops the session
    before EHLO, AUTH or anything else goes over it."""
    skip = srv.mail_count(BOB)
    args = ["--from", ALICE, "--to", BOB]
    if port == "465":
        args += ["--tls", "--server", "127.0.0.1:%d" % srv.subs_port]
    cp = ssend(srv, *args)
    assert cp.returncode == 1, out(cp)
    assert "certificate NOT verified (self-signed certificate)" in cp.stdout
    assert "not verified" in cp.stderr and "--insecure" in cp.stderr
    assert "auth " not in cp.stdout
    assert "mail from" not in cp.stdout
    # the only EHLO was the one before STARTTLS (none at all on 465)
    assert cp.stdout.count("-> EHLO") == (1 if port == "587" else 0)
    srv.assert_no_mail(BOB, wait=0.2, skip=skip)


def make_ca_cert(d, name):
    """A test CA (ca.pem) and a certificate for name signed by it."""
    d = pathlib.Path(d)
    d.mkdir(parents=True, exist_ok=True)

    def ossl(*a):
        subprocess.run(["openssl"] + list(a), cwd=d, check=True,
                       capture_output=True)
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out",
         "ca.pem", "-days", "2", "-subj", "/CN=postern test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", "privkey.pem", "-out", "leaf.csr", "-subj",
         "/CN=" + name)
    (d / "ext.cnf").write_text(
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:%s\n" % name)
    ossl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey",
         "ca.key", "-CAcreateserial", "-out", "fullchain.pem", "-days", "2",
         "-extfile", "ext.cnf")
    return d / "ca.pem", d / "fullchain.pem", d / "privkey.pem"


def test_send_verified_certificate(server):
    """A certificate from a CA the client trusts (SSL_CERT_FILE) is
    verified against the config's hostname when --server is numeric, and
    fails on a name that is not in it."""
    srv = server(start=False)
    ca, chain, key = make_ca_cert(srv.top / "ca", srv.hostname)
    certdir = srv.confdir / "certs" / srv.hostname
    assert certdir.is_dir(), list((srv.confdir / "certs").iterdir())
    shutil.copy(chain, certdir / "fullchain.pem")
    shutil.copy(key, certdir / "privkey.pem")
    os.chmod(certdir / "privkey.pem", 0o600)
    srv.start()
    env = {"SSL_CERT_FILE": str(ca), "SSL_CERT_DIR": str(srv.top / "none")}
    skip = srv.mail_count(BOB)
    cp = ssend(srv, "--from", ALICE, "--to", BOB, env=env)
    assert cp.returncode == 0, out(cp)
    assert re.search(r"^starttls \.\.\. TLSv1\.[23] \S+, certificate "
                     r"verified$", cp.stdout, re.M), cp.stdout
    check_message(srv, BOB, skip, queue_id(cp))
    # by name: "localhost" is not the certificate's name
    cp = ssend(srv, "--from", ALICE, "--to", BOB, "--server",
               "localhost:%d" % srv.sub_port, env=env)
    assert cp.returncode == 1, out(cp)
    assert "certificate NOT verified (hostname mismatch)" in cp.stdout
    assert "auth " not in cp.stdout


def test_send_connect_refused(srv):
    port = free_base(1)
    cp = send(srv.bin, srv.confdir, "--server", "127.0.0.1:%d" % port,
              "--from", ALICE, "--to", BOB)
    assert cp.returncode == 1, out(cp)
    assert "connect 127.0.0.1:%d ... Connection refused" % port in cp.stdout
    assert "cannot connect" in cp.stderr


@pytest.mark.parametrize("args", [
    [],
    ["--from", ALICE],
    ["--to", BOB],
    ["--from", ALICE, "--to", BOB, "--user", ALICE],
    ["--from", ALICE, "--to", BOB, "--password-stdin"],
    ["--from", ALICE, "--to", BOB, "--tls", "--starttls"],
    ["--from", ALICE, "--to", BOB, "--server", "127.0.0.1:0"],
    ["--from", ALICE, "--to", BOB, "--server", "127.0.0.1:x"],
    ["--from", ALICE, "--to", BOB, "--server", "[::1"],
    ["--from", "not-an-address", "--to", BOB],
    ["--from", ALICE, "--to", "bob@"],
    ["--from", ALICE, "--to", BOB, "--subject", "two\r\nBcc: x@y.test"],
    ["--from", ALICE, "--to", BOB, "--subject", "x" * 201],
    ["--from", ALICE, "--to", BOB, "--bogus"],
    ["--from", ALICE, "--from", ALICE, "--to", BOB],
    ["--from", ALICE, "--to"],
])
def test_send_usage(postern_bin, tmp_path, args):
    cp = send(postern_bin, tmp_path, *args)
    assert cp.returncode == 2, out(cp)
    assert "usage: postern" in cp.stderr
    assert "connect" not in cp.stdout


# --- against scripted servers ------------------------------------------------

class Fake:
    """A one-connection SMTP server on loopback driven by a script:
    script(conn, lines) where lines() yields the client's lines.  Every
    byte the client sent is kept in .got."""

    def __init__(self, script):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.port = self.sock.getsockname()[1]
        self.got = b""
        self.script = script
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def lines(self, conn):
        buf = b""
        while True:
            while b"\r\n" not in buf:
                data = conn.recv(4096)
                if not data:
                    return
                self.got += data
                buf += data
            ln, buf = buf.split(b"\r\n", 1)
            yield ln

    def run(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.settimeout(30)
        with conn:
            try:
                self.script(conn, self.lines(conn))
                # read until the client closes
                while conn.recv(4096):
                    pass
            except OSError:
                pass

    def close(self):
        self.sock.close()
        self.thread.join(10)


def script_ehlo(caps, greeting=b"220 fake.test ESMTP\r\n"):
    def script(conn, lines):
        conn.sendall(greeting)
        for ln in lines:
            verb = ln.split(b" ")[0].upper()
            if verb == b"EHLO":
                conn.sendall(b"250-fake.test\r\n" + b"".join(
                    b"250-%s\r\n" % c for c in caps) + b"250 8BITMIME\r\n")
            elif verb == b"STARTTLS":
                # data injected behind the 220, in the same packet
                conn.sendall(b"220 go ahead\r\n250 injected\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"502 no\r\n")
    return script


@pytest.mark.parametrize("greeting,why", [
    (b"220 fake.test\n", "bare LF"),
    (b"220-fake.test\r\n230 changed\r\n", "changes"),
    (b"220" + b"x" * 600 + b"\r\n", "longer than 512"),
    (b"hello there\r\n", "code"),
    (b"".join(b"220-line %d\r\n" % i for i in range(70)) + b"220 end\r\n",
     "more than 64 lines"),
])
def test_send_malformed_reply(postern_bin, tmp_path, greeting, why):
    f = Fake(script_ehlo([], greeting=greeting))
    try:
        cp = send(postern_bin, tmp_path, "--server", "127.0.0.1:%d" % f.port,
                  "--from", ALICE, "--to", BOB, "--user", ALICE,
                  "--password-stdin", password="pw-never-sent", timeout=60)
    finally:
        f.close()
    assert cp.returncode == 1, out(cp)
    assert "malformed reply" in cp.stderr and why in cp.stderr, out(cp)
    assert b"pw-never-sent" not in f.got


def test_send_starttls_injection(postern_bin, tmp_path):
    f = Fake(script_ehlo([b"STARTTLS", b"AUTH PLAIN"]))
    try:
        cp = send(postern_bin, tmp_path, "--server", "127.0.0.1:%d" % f.port,
                  "--from", ALICE, "--to", BOB, "--user", ALICE,
                  "--password-stdin", password="pw-never-sent", timeout=60)
    finally:
        f.close()
    assert cp.returncode == 1, out(cp)
    assert "after its 220 reply to STARTTLS" in cp.stderr
    assert "starttls ..." not in cp.stdout
    assert b"pw-never-sent" not in f.got and b"AUTH" not in f.got


def test_send_no_starttls_offered(postern_bin, tmp_path):
    """AUTH offered in plaintext: the password is still never sent."""
    f = Fake(script_ehlo([b"AUTH PLAIN LOGIN"]))
    try:
        cp = send(postern_bin, tmp_path, "--server", "127.0.0.1:%d" % f.port,
                  "--from", ALICE, "--to", BOB, "--user", ALICE,
                  "--password-stdin", password="pw-never-sent", timeout=60)
    finally:
        f.close()
    assert cp.returncode == 1, out(cp)
    assert "does not offer STARTTLS" in cp.stderr
    assert b"pw-never-sent" not in f.got and b"AUTH" not in f.got
    assert b"QUIT" in f.got
