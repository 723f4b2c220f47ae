"""Outbound SMTP client: src/deliver (deliver.c, mta.c on net/io.c)
delivering jobs to real SMTP peers on loopback.

tests/unit/deliver_probe (built beside postern, see tests/meson.build)
runs deliver_main() in a child on a socketpair, sends it
M_D_JOBs for a body file and prints one line per recipient of each
M_D_RESULT:  result JOBID INDEX ok|temp|perm STATUS HOST [ADDR]|- REPLY.
The peers are aiosmtpd servers (with and without STARTTLS) on 127.0.20.x
and [::1], all on one port (postern.conf's outbound_smtp_port test knob);
tests/integration/dnsserver.py serves their MX/A/AAAA records
(dns_resolver test knob)."""

import itertools
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import (SANITIZER_MARKS, conf_set, find_postern, find_probe,
                      free_base)
from dnsserver import DNSServer
from mxpeer import GroupsPeer, free_port
from sockinspect import find_socket, sockopt, tree

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
aiosmtpd_smtp = pytest.importorskip("aiosmtpd.smtp")

A1, A2, A3, A4, DEAD = ("127.0.20.1", "127.0.20.2", "127.0.20.3",
                        "127.0.20.4", "127.0.20.9")

ZONE = {
    "plain.test": {"MX": "10 mx.plain.test"},
    "mx.plain.test": {"A": A1},
    # the best host refuses: the next one gets the mail
    "refuse.test": {"MX": ["10 dead.refuse.test", "20 good.refuse.test"]},
    "dead.refuse.test": {"A": DEAD},
    "good.refuse.test": {"A": A2},
    # the best host accepts and never says a word
    "silent.test": {"MX": ["10 mute.silent.test", "20 good.silent.test"]},
    "mute.silent.test": {"A": A3},
    "good.silent.test": {"A": A2},
    # both families: IPv6 first
    "dual.test": {"MX": "10 mx.dual.test"},
    "mx.dual.test": {"A": A4, "AAAA": "::1"},
    # no MX: the domain itself
    "implicit.test": {"A": A1},
    "nullmx.test": {"MX": "0 ."},
    "tls.test": {"MX": "10 mx.tls.test"},
    "mx.tls.test": {"A": A1},
    # scripted peers
    "script.test": {"MX": "10 mx.script.test"},
    "mx.script.test": {"A": A1},
    "grumpy.test": {"MX": ["10 bad.grumpy.test", "20 good.grumpy.test"]},
    "bad.grumpy.test": {"A": A3},
    "good.grumpy.test": {"A": A2},
}


class Handler:
    def __init__(self, peer):
        self.peer = peer

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        reply = self.peer.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.peer.messages.append({
            "from": envelope.mail_from,
            "rcpts": list(envelope.rcpt_tos),
            "content": envelope.original_content,
            "peer": session.peer,
            "tls": session.ssl is not None,
            "mail_options": list(envelope.mail_options),
        })
        return self.peer.data_reply


class Peer:
    """An aiosmtpd server on addr:port; records every message."""

    def __init__(self, addr, port, tls=None, rcpt_replies=None,
                 data_reply="250 2.0.0 queued", smtputf8=True):
        self.messages = []
        self.rcpt_replies = rcpt_replies or {}
        self.data_reply = data_reply
        kw = {}
        if tls is not None:
            kw["tls_context"] = tls
        self.ctl = aiosmtpd_controller.Controller(
            Handler(self), hostname=addr, port=port,
            enable_SMTPUTF8=smtputf8, **kw)

    def __enter__(self):
        self.ctl.start()
        return self

    def __exit__(self, *exc):
        self.ctl.stop()


class Silent:
    """Accepts connections and never answers."""

    def __init__(self, addr, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(16)
        self.conns = []
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stop_ev.is_set():
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                pass

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        self.t.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()


class ScriptPeer:
    """A raw SMTP peer with canned replies, one connection at a time.
    Records each connection's commands and the chunks recv() returned
    (to see what was pipelined)."""

    def __init__(self, addr, port, greeting="220 script ESMTP",
                 ehlo=("250-script", "250-PIPELINING", "250 8BITMIME"),
                 helo="250 script", mail="250 2.1.0 ok", rcpt="250 2.1.5 ok",
                 data="354 go", final="250 2.0.0 queued", starttls=None,
                 rset="250 2.0.0 ok"):
        self.r = {"greeting": greeting, "ehlo": ehlo, "helo": helo,
                  "mail": mail, "rcpt": rcpt, "data": data, "final": final,
                  "starttls": starttls, "rset": rset}
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.conns = []     # per connection: {"cmds": [], "chunks": []}
        self.bodies = []        # dot-stuffing undone
        self.raw_bodies = []    # as on the wire
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)

    def _send(self, c, reply):
        lines = [reply] if isinstance(reply, str) else list(reply)
        c.sendall(b"".join(ln.encode() + b"\r\n" for ln in lines))

    def _serve(self, c):
        rec = {"cmds": [], "chunks": []}
        self.conns.append(rec)
        c.settimeout(10)
        self._send(c, self.r["greeting"])
        if not self.r["greeting"].startswith("2"):
            return
        buf, body = b"", None
        while not self.stop_ev.is_set():
            try:
                chunk = c.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            rec["chunks"].append(chunk)
            buf += chunk
            while True:
                if body is not None:
                    end = buf.find(b"\r\n.\r\n")
                    if end < 0 and buf.startswith(b".\r\n"):
                        end = -2
                    if end == -1:
                        break
                    raw = buf[:end + 2] if end >= 0 else b""
                    self.raw_bodies.append(raw)
                    self.bodies.append(b"".join(
                        (ln[1:] if ln.startswith(b".") else ln)
                        for ln in raw.splitlines(keepends=True)))
                    buf = buf[end + 5:]
                    body = None
                    self._send(c, self.r["final"])
                    continue
                i = buf.find(b"\r\n")
                if i < 0:
                    break
                line, buf = buf[:i].decode(), buf[i + 2:]
                rec["cmds"].append(line)
                verb = line.split(" ")[0].split(":")[0].upper()
                if verb == "EHLO":
                    self._send(c, self.r["ehlo"])
                elif verb == "HELO":
                    self._send(c, self.r["helo"])
                elif verb == "MAIL":
                    self._send(c, self.r["mail"])
                elif verb == "RCPT":
                    self._send(c, self.r["rcpt"])
                elif verb == "DATA":
                    self._send(c, self.r["data"])
                    if self.r["data"].startswith("354"):
                        body = b""
                elif verb == "RSET":
                    if self.r["rset"] is None:
                        return      # the line drops before the reply
                    self._send(c, self.r["rset"])
                elif verb == "QUIT":
                    self._send(c, "221 bye")
                    return
                elif verb == "STARTTLS" and self.r["starttls"]:
                    # say yes, then drop the line: the handshake fails
                    self._send(c, self.r["starttls"])
                    return
                else:
                    self._send(c, "250 ok")

    def _run(self):
        while not self.stop_ev.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            try:
                self._serve(c)
            except OSError:
                pass        # the client went away mid-reply: next one
            finally:
                c.close()

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        self.t.join(15)
        self.sock.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    postern = find_postern()
    probe = find_probe("deliver_probe")
    if not postern:
        pytest.fail("postern not found: set POSTERN_BIN", pytrace=False)
    top = tmp_path_factory.mktemp("outbound")
    conf = top / "conf"
    cp = subprocess.run([postern, "-C", str(conf), "init", "example.test",
                         "--hostname", "out.example.test", "--listen-base",
                         str(free_base()), "--data-dir", str(top / "data")],
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    dns = DNSServer(ZONE).start()
    port = free_port([A1, A2, A3, A4, DEAD, "::1"])
    conf_set(conf / "postern.conf", "dns_resolver", "127.0.0.1:%d" % dns.port)
    conf_set(conf / "postern.conf", "outbound_smtp_port", str(port))
    # a self-signed certificate for the STARTTLS peers
    key, crt = top / "key.pem", top / "crt.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "2",
                    "-subj", "/CN=mx.tls.test"], check=True,
                   capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(crt), str(key))
    yield {"probe": probe, "conf": conf, "port": port, "tls": ctx,
           "top": top, "dns": dns}
    dns.stop()


def write_body(env, data, name="body"):
    p = env["top"] / name
    p.write_bytes(data)
    return p


def conf_copy(env, name, **keys):
    """A copy of the module's config with keys changed."""
    d = env["top"] / name
    if not d.exists():
        shutil.copytree(env["conf"], d)
    for k, v in keys.items():
        conf_set(d / "postern.conf", k, v)
    return d


def run(env, domain, rcpts, body=b"Subject: t\r\n\r\nhello\r\n", *args,
        timeout=60, conf=None, trust=None, atime=None):
    path = write_body(env, body)
    if atime is not None:
        # an access time before the modification: the next read would
        # update it (relatime)
        os.utime(path, (atime, time.time()))
    cmd = [env["probe"], "-C", str(conf or env["conf"]), "--from",
           "sender@example.test", "--domain", domain]
    cmd += [str(a) for a in args] + [str(path)] + rcpts
    t0 = time.monotonic()
    penv = None
    if trust is not None:
        # the system trust store, replaced by this one certificate
        penv = dict(os.environ, SSL_CERT_FILE=str(trust),
                    SSL_CERT_DIR=str(env["top"] / "no-such-dir"))
    cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                        env=penv)
    took = time.monotonic() - t0
    for mark in SANITIZER_MARKS:
        assert mark not in cp.stderr, cp.stderr
    assert cp.returncode == 0, (cmd, cp.stdout, cp.stderr)
    res = []
    for ln in cp.stdout.splitlines():
        f = ln.split(" ", 5)
        assert f[0] == "result", ln
        rest = f[5]
        if rest.startswith("- "):
            remote, reply = "-", rest[2:]
        else:
            host, addr, reply = rest.split(" ", 2)
            remote = host + " " + addr
        res.append({"job": int(f[1]), "i": int(f[2]), "dr": f[3],
                    "status": f[4], "remote": remote, "reply": reply})
    return res, cp.stderr, took


BODY = (b"Received: from x by y; Mon, 1 Jan 2026 00:00:00 +0000\r\n"
        b"Subject: dots\r\n\r\n.starts with a dot\r\n..two dots\r\n"
        b".\r\nnot.the end\r\n\r\n. \r\nlast\r\n")


def test_body_byte_exact(env):
    with Peer(A1, env["port"]) as peer:
        res, log, _ = run(env, "plain.test", ["a@plain.test"], BODY)
    assert [(r["dr"], r["status"]) for r in res] == [("ok", "2.0.0")]
    assert res[0]["remote"] == "mx.plain.test [%s]" % A1
    assert len(peer.messages) == 1
    m = peer.messages[0]
    assert m["content"] == BODY
    assert m["from"] == "sender@example.test"
    assert m["rcpts"] == ["a@plain.test"]
    assert any(o.startswith("SIZE=%d" % len(BODY)) for o in m["mail_options"])
    assert "result=sent" in log and "rcpt=<a@plain.test>" in log
    assert "tls=none verify=none" in log


def test_body_read_without_atime(env):
    """The deliver process reads a body with O_NOATIME: a body file is
    new for each message, so its first read would otherwise dirty its
    inode every time."""
    old = time.time() - 7 * 86400
    with Peer(A1, env["port"]) as peer:
        res, _, _ = run(env, "plain.test", ["a@plain.test"], BODY,
                        atime=old)
    assert res[0]["dr"] == "ok"
    assert peer.messages[0]["content"] == BODY
    st = os.stat(env["top"] / "body")
    assert abs(st.st_atime - old) < 1, (st.st_atime, old)


def test_body_without_final_crlf(env):
    body = b"Subject: x\r\n\r\nno line end at the end"
    with Peer(A1, env["port"]) as peer:
        res, _, _ = run(env, "implicit.test", ["a@implicit.test"], body)
    assert res[0]["dr"] == "ok"
    assert peer.messages[0]["content"] == body + b"\r\n"


def test_large_body(env):
    line = b"x" * 76 + b"\r\n"
    body = b"Subject: big\r\n\r\n" + b"".join(
        (b"." if i % 7 == 0 else b"") + line for i in range(40000))
    with Peer(A1, env["port"]) as peer:
        res, _, _ = run(env, "plain.test", ["a@plain.test"], body)
    assert res[0]["dr"] == "ok"
    assert peer.messages[0]["content"] == body


def filler(n):
    """n octets of CRLF lines (n >= 2)"""
    out = []
    while n > 0:
        k = n if n <= 80 else min(78, n - 2)
        out.append(b"y" * (k - 2) + b"\r\n")
        n -= k
    return b"".join(out)


@pytest.mark.parametrize("size", [32766, 32768, 32770, 65536, 100 * 1024])
def test_body_at_read_boundaries(env, size):
    """mta.c reads the body 32 KiB at a time and stuffs it straight into
    the output, the terminator with the last piece: a line starting with
    a dot right at the 32 KiB boundary, and bodies ending just before,
    at and after one, arrive byte for byte."""
    head = b"Subject: edge\r\n\r\n"
    dot = b".at the boundary\r\n"
    if size > 32768 + len(dot) + 2:
        body = head + filler(32768 - len(head)) + dot
        body += filler(size - len(body))
    else:
        body = head + filler(size - len(head) - len(dot)) + dot
    assert len(body) == size
    with Peer(A1, env["port"]) as peer:
        res, _, _ = run(env, "plain.test", ["a@plain.test"], body)
    assert res[0]["dr"] == "ok", res
    assert peer.messages[0]["content"] == body


def test_refused_then_next_mx(env):
    with Peer(A2, env["port"]) as peer:
        res, log, _ = run(env, "refuse.test", ["a@refuse.test"])
    assert res[0]["dr"] == "ok"
    assert res[0]["remote"] == "good.refuse.test [%s]" % A2
    assert len(peer.messages) == 1
    assert "dead.refuse.test [%s] attempt failed" % DEAD in log


def test_silent_then_next_mx(env):
    with Silent(A3, env["port"]), Peer(A2, env["port"]) as peer:
        res, log, took = run(env, "silent.test", ["a@silent.test"],
                             b"Subject: s\r\n\r\nx\r\n", "--timeout", "2")
    assert res[0]["dr"] == "ok"
    assert res[0]["remote"] == "good.silent.test [%s]" % A2
    assert "timeout in greeting" in log
    assert took < 20
    assert len(peer.messages) == 1


def test_outbound_socket_nodelay(env):
    """The deliver process's connected socket is TCP_NODELAY (io_new),
    read from its own descriptor while it waits for a silent peer's
    greeting (sockinspect.py)."""
    body = write_body(env, b"Subject: s\r\n\r\nx\r\n", "nodelay-body")
    cmd = [env["probe"], "-C", str(env["conf"]), "--from",
           "sender@example.test", "--domain", "silent.test", "--timeout",
           "3", str(body), "a@silent.test"]
    with Silent(A3, env["port"]):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            found = None
            deadline = time.monotonic() + 10
            while found is None and time.monotonic() < deadline:
                found = find_socket(tree(proc.pid), remote=(A3, env["port"]))
                if found is None:
                    time.sleep(0.02)
            assert found, "no connection to the silent peer"
            on = sockopt(found[0], found[1], socket.IPPROTO_TCP,
                         socket.TCP_NODELAY)
        finally:
            proc.communicate(timeout=60)
    assert on != 0


def test_all_hosts_down_is_temporary(env):
    res, log, _ = run(env, "refuse.test", ["a@refuse.test", "b@refuse.test"])
    assert [r["dr"] for r in res] == ["temp", "temp"]
    assert res[0]["status"] == "4.4.1"
    assert "connect to" in res[0]["reply"]
    assert "result=deferred" in log


def test_ipv6_first(env):
    with Peer("::1", env["port"]) as p6, Peer(A4, env["port"]) as p4:
        res, _, _ = run(env, "dual.test", ["a@dual.test"])
    assert res[0]["dr"] == "ok"
    assert res[0]["remote"] == "mx.dual.test [::1]"
    assert len(p6.messages) == 1 and not p4.messages


def test_ipv4_when_ipv6_fails(env):
    with Peer(A4, env["port"]) as p4:
        res, log, _ = run(env, "dual.test", ["a@dual.test"])
    assert res[0]["dr"] == "ok"
    assert res[0]["remote"] == "mx.dual.test [%s]" % A4
    assert "mx.dual.test [::1] attempt failed" in log
    assert len(p4.messages) == 1


def test_rcpt_replies(env):
    replies = {"busy@plain.test": "450 4.2.1 mailbox busy",
               "gone@plain.test": "550 5.1.1 no such user",
               "plain4@plain.test": "451 try later"}
    with Peer(A1, env["port"], rcpt_replies=replies) as peer:
        res, log, _ = run(env, "plain.test",
                          ["ok@plain.test", "busy@plain.test",
                           "gone@plain.test", "plain4@plain.test"])
    got = [(r["dr"], r["status"]) for r in res]
    assert got == [("ok", "2.0.0"), ("temp", "4.2.1"), ("perm", "5.1.1"),
                   ("temp", "4.0.0")]
    assert res[2]["reply"] == "550 5.1.1 no such user"
    assert peer.messages[0]["rcpts"] == ["ok@plain.test"]
    assert "result=bounced" in log and "result=deferred" in log


def test_data_4xx_and_5xx(env):
    with Peer(A1, env["port"], data_reply="452 4.3.1 full"):
        res, _, _ = run(env, "plain.test", ["a@plain.test", "b@plain.test"])
    assert [(r["dr"], r["status"]) for r in res] == [("temp", "4.3.1")] * 2
    with Peer(A1, env["port"], data_reply="554 5.6.0 rejected"):
        res, _, _ = run(env, "plain.test", ["a@plain.test"])
    assert [(r["dr"], r["status"]) for r in res] == [("perm", "5.6.0")]
    assert res[0]["reply"] == "554 5.6.0 rejected"


def test_no_recipient_accepted_no_data(env):
    with Peer(A1, env["port"], rcpt_replies={
            "a@plain.test": "550 5.1.1 no"}) as peer:
        res, _, _ = run(env, "plain.test", ["a@plain.test"])
    assert res[0]["dr"] == "perm"
    assert not peer.messages


def test_starttls_used(env):
    with Peer(A1, env["port"], tls=env["tls"]) as peer:
        res, log, _ = run(env, "tls.test", ["a@tls.test"], BODY)
    assert res[0]["dr"] == "ok"
    assert peer.messages[0]["tls"] is True
    assert peer.messages[0]["content"] == BODY
    assert "host=mx.tls.test [%s] tls=TLSv1.3" % A1 in log
    # self-signed: used anyway (opportunistic), and logged as such
    assert "verify=fail(" in log


FFDHE = "ffdhe2048:ffdhe3072:ffdhe4096:ffdhe6144:ffdhe8192"


@pytest.mark.parametrize("groups,works", [
    (FFDHE, False),         # no group in common: no handshake
    ("X25519", True),
    ("P-384", True),
])
def test_outbound_groups(env, groups, works):
    """The deliver process offers X25519, P-256 and P-384 only (net/tls.c
    tls_set_groups): a peer offering only finite-field groups gets no
    handshake, and the message is not sent in clear either (no
    outbound_plain_fallback); one offering X25519 or P-384 gets it over
    TLS."""
    tls = (env["top"] / "crt.pem", env["top"] / "key.pem")
    with GroupsPeer(A1, env["port"], tls, groups, env["top"]) as peer:
        res, log, _ = run(env, "tls.test", ["a@tls.test"], BODY)
        got = peer.messages()
    if works:
        assert res[0]["dr"] == "ok", (res, log)
        assert got == [{"tls": True, "rcpts": ["a@tls.test"]}]
        assert "host=mx.tls.test [%s] tls=TLSv1.3" % A1 in log
    else:
        assert res[0]["dr"] == "temp", (res, log)
        assert res[0]["status"] == "4.7.5", res
        assert "in tls" in res[0]["reply"], res
        assert got == []


CERT_SEQ = itertools.count()


def peer_cert(env, name, san):
    """A self-signed certificate (the trust anchor too) with these SANs."""
    key, crt = env["top"] / (name + ".key"), env["top"] / (name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "2",
                    "-subj", "/CN=" + name, "-addext",
                    "subjectAltName=" + san], check=True,
                   capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(crt), str(key))
    return ctx, crt


@pytest.mark.parametrize("domain,san,want", [
    # a name is checked against the certificate's names
    ("tls.test", "DNS:mx.tls.test", "verify=ok"),
    ("tls.test", "DNS:other.test", "verify=fail(hostname mismatch)"),
    # an address literal against its addresses (no SNI to match)
    ("[%s]" % A1, "IP:%s" % A1, "verify=ok"),
    ("[%s]" % A1, "DNS:mx.tls.test", "verify=fail(IP address mismatch)"),
    ("[%s]" % A1, "IP:127.0.20.77", "verify=fail(IP address mismatch)"),
])
def test_certificate_checked_against_name_or_address(env, domain, san, want):
    ctx, crt = peer_cert(env, "v%d" % next(CERT_SEQ), san)
    with Peer(A1, env["port"], tls=ctx) as peer:
        res, log, _ = run(env, domain, ["a@" + domain], BODY, trust=crt)
    assert res[0]["dr"] == "ok", res
    assert peer.messages[0]["tls"] is True
    assert want in log, log


def test_two_jobs_share_a_connection(env):
    with Peer(A1, env["port"], tls=env["tls"]) as peer:
        res, log, _ = run(env, "tls.test", ["a@tls.test"], BODY,
                          "--jobs", "3", "--sequential")
    assert [(r["job"], r["dr"]) for r in res] == [(1, "ok"), (2, "ok"),
                                                   (3, "ok")]
    assert len(peer.messages) == 3
    assert len({m["peer"] for m in peer.messages}) == 1
    assert log.count("tls=TLSv1.3") == 1


def test_parallel_jobs_limited_per_domain(env):
    conf = conf_copy(env, "two_per_domain", outbound_max_per_domain="2")
    with Peer(A1, env["port"]) as peer:
        res, _, _ = run(env, "plain.test", ["a@plain.test"], BODY,
                        "--jobs", "10", conf=conf)
    assert sorted(r["job"] for r in res) == list(range(1, 11))
    assert all(r["dr"] == "ok" for r in res)
    assert len(peer.messages) == 10
    assert all(m["content"] == BODY for m in peer.messages)
    # at most two connections carried the ten messages
    assert 1 <= len({m["peer"] for m in peer.messages}) <= 2


def test_smtputf8_needed_but_missing(env):
    with Peer(A1, env["port"], smtputf8=False) as peer:
        res, _, _ = run(env, "plain.test", ["a@plain.test"], BODY,
                        "--flags", "utf8")
    assert [(r["dr"], r["status"]) for r in res] == [("perm", "5.6.7")]
    assert not peer.messages


def test_8bitmime_passed_on(env):
    body = b"Subject: 8\r\n\r\ncaf\xc3\xa9\r\n"
    with Peer(A1, env["port"]) as peer:
        res, _, _ = run(env, "plain.test", ["a@plain.test"], body,
                        "--flags", "8bit")
    assert res[0]["dr"] == "ok"
    assert "BODY=8BITMIME" in peer.messages[0]["mail_options"]
    assert peer.messages[0]["content"] == body


def test_plan_failures(env):
    res, _, _ = run(env, "nullmx.test", ["a@nullmx.test"])
    assert (res[0]["dr"], res[0]["status"]) == ("perm", "5.1.10")
    res, _, _ = run(env, "nonexistent.test", ["a@nonexistent.test"])
    assert (res[0]["dr"], res[0]["status"]) == ("perm", "5.1.2")


def test_pipelining_mail_and_rcpts_in_one_write(env):
    with ScriptPeer(A1, env["port"]) as peer:
        res, _, _ = run(env, "script.test", ["a@script.test", "b@script.test"],
                        BODY)
    assert [r["dr"] for r in res] == ["ok", "ok"]
    cmds = peer.conns[0]["cmds"]
    assert cmds[0] == "EHLO out.example.test"
    assert cmds[1] == "MAIL FROM:<sender@example.test>"
    assert cmds[2:4] == ["RCPT TO:<a@script.test>", "RCPT TO:<b@script.test>"]
    assert cmds[-1] == "QUIT"
    assert b"MAIL FROM" in peer.conns[0]["chunks"][1]
    assert peer.conns[0]["chunks"][1].count(b"RCPT TO") == 2
    assert peer.bodies == [BODY]
    assert peer.raw_bodies[0].endswith(b"\r\n...two dots\r\n..\r\n"
                                       b"not.the end\r\n\r\n.. \r\nlast\r\n")


def test_pipelined_rset_leads_the_next_transaction(env):
    # a kept connection: the next job's RSET travels with its MAIL and
    # RCPT (RFC 2920 3.1), one round trip less
    with ScriptPeer(A1, env["port"]) as peer:
        res, _, _ = run(env, "script.test", ["a@script.test"], BODY,
                        "--jobs", "3", "--sequential")
    assert [r["dr"] for r in res] == ["ok"] * 3
    assert len(peer.conns) == 1
    cmds = peer.conns[0]["cmds"]
    assert cmds.count("RSET") == 2
    assert cmds.index("RSET") > cmds.index("MAIL FROM:<sender@example.test>")
    groups = [ch for ch in peer.conns[0]["chunks"] if b"RSET" in ch]
    assert len(groups) == 2
    for ch in groups:
        assert ch == (b"RSET\r\nMAIL FROM:<sender@example.test>\r\n"
                      b"RCPT TO:<a@script.test>\r\n"), ch
    assert peer.bodies == [BODY] * 3


@pytest.mark.parametrize("rset", ["421 4.3.2 closing", "554 5.5.1 no",
                                  None])
def test_pipelined_rset_refused_job_moves_on(env, rset):
    # RSET refused, or the line lost before its reply: nothing of that job
    # was tried there; a new connection carries it, delivered once
    with ScriptPeer(A1, env["port"], rset=rset) as peer:
        res, _, _ = run(env, "script.test", ["a@script.test"], BODY,
                        "--jobs", "2", "--sequential")
    assert [(r["job"], r["dr"]) for r in res] == [(1, "ok"), (2, "ok")]
    assert len(peer.conns) == 2
    assert "RSET" in peer.conns[0]["cmds"]
    assert "DATA" not in peer.conns[0]["cmds"][peer.conns[0]["cmds"].index(
        "RSET"):]
    assert "RSET" not in peer.conns[1]["cmds"]
    assert peer.bodies == [BODY] * 2


def test_ehlo_refused_helo_used(env):
    with ScriptPeer(A1, env["port"], ehlo="502 5.5.1 what") as peer:
        res, _, _ = run(env, "script.test", ["a@script.test"], BODY)
    assert res[0]["dr"] == "ok"
    cmds = peer.conns[0]["cmds"]
    assert cmds[:3] == ["EHLO out.example.test", "HELO out.example.test",
                        "MAIL FROM:<sender@example.test>"]
    assert peer.bodies == [BODY]


def test_greeting_554_next_mx(env):
    with ScriptPeer(A3, env["port"], greeting="554 5.7.1 go away"), \
            ScriptPeer(A2, env["port"]) as good:
        res, log, _ = run(env, "grumpy.test", ["a@grumpy.test"])
    assert res[0]["dr"] == "ok"
    assert res[0]["remote"] == "good.grumpy.test [%s]" % A2
    assert "554 5.7.1 go away" in log
    assert len(good.bodies) == 1


def test_8bitmime_needed_but_missing(env):
    with ScriptPeer(A1, env["port"], ehlo=("250-script", "250 SIZE 1000000")
                    ) as peer:
        res, log, _ = run(env, "script.test", ["a@script.test"],
                          b"Subject: 8\r\n\r\ncaf\xc3\xa9\r\n", "--flags", "8bit")
    assert [(r["dr"], r["status"]) for r in res] == [("perm", "5.6.3")]
    assert "8BITMIME needed but not offered" in log
    assert not any(c.startswith("MAIL") for c in peer.conns[0]["cmds"])


def test_size_limit_of_peer(env):
    with ScriptPeer(A1, env["port"], ehlo=("250-script", "250 SIZE 10")):
        res, _, _ = run(env, "script.test", ["a@script.test"], BODY)
    assert [(r["dr"], r["status"]) for r in res] == [("perm", "5.3.4")]


def test_mail_refused_with_pipelining(env):
    with ScriptPeer(A1, env["port"], mail="451 4.3.0 try later",
                    rcpt="503 5.5.1 no MAIL") as peer:
        res, _, _ = run(env, "script.test", ["a@script.test", "b@script.test"],
                        BODY, "--jobs", "2", "--sequential")
    assert [(r["dr"], r["status"]) for r in res] == [("temp", "4.3.0")] * 4
    # the RCPT replies of the failed transaction were read: one connection
    assert len(peer.conns) == 1
    assert "RSET" in peer.conns[0]["cmds"]
    assert peer.conns[0]["cmds"][-1] == "QUIT"


def test_421_at_data_end(env):
    with ScriptPeer(A1, env["port"], final="421 4.3.2 shutting down"):
        res, _, _ = run(env, "script.test", ["a@script.test"], BODY)
    assert [(r["dr"], r["status"]) for r in res] == [("temp", "4.3.2")]


def test_peer_closes_in_data(env):
    with ScriptPeer(A1, env["port"], data="354 go", final=None) as peer:
        peer.r["final"] = "not a reply"
        res, _, _ = run(env, "script.test", ["a@script.test"], BODY)
    assert res[0]["dr"] == "temp"
    assert res[0]["status"] == "4.4.2"


def test_failed_handshake_fails_the_address(env):
    ehlo = ("250-script", "250-STARTTLS", "250 8BITMIME")
    with ScriptPeer(A1, env["port"], ehlo=ehlo, starttls="220 2.0.0 go") \
            as peer:
        res, log, _ = run(env, "script.test", ["a@script.test"], BODY)
    assert [(r["dr"], r["status"]) for r in res] == [("temp", "4.7.5")]
    assert len(peer.conns) == 1
    assert not peer.bodies


def test_failed_handshake_plain_fallback_when_configured(env):
    conf = conf_copy(env, "plain_fallback", outbound_plain_fallback="yes")
    ehlo = ("250-script", "250-STARTTLS", "250 8BITMIME")
    with ScriptPeer(A1, env["port"], ehlo=ehlo, starttls="220 2.0.0 go") \
            as peer:
        res, log, _ = run(env, "script.test", ["a@script.test"], BODY,
                          conf=conf)
    assert res[0]["dr"] == "ok"
    assert len(peer.conns) == 2
    assert "STARTTLS" not in peer.conns[1]["cmds"]
    assert "retrying without TLS" in log
    assert peer.bodies == [BODY]
