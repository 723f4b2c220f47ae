"""mxpeer.py - what the tests of outbound delivery share: the remote MX
hosts, the server that delivers to them, the mail it is given, the
reports (DSNs) it sends back, and tests/unit/dns_probe.

Used by test_outbound_e2e.py, test_literal.py, test_dnssec.py,
test_dns.py and the outbound part of test_reload.py.

MXPeer is an aiosmtpd server on one loopback address and port standing
in for a remote MX host.  It records each RCPT argument exactly as sent,
the EHLOs (client address, inside TLS or not), the messages it accepted
(with the EHLO name and whether TLS was on), the QUITs and the SNI name
of each TLS hello; it can refuse RCPT or DATA by script and hold the end
of DATA for a while (a delivery "in flight").  Greeter answers every
connection with one line (a 421) and closes it.  Peers makes either on
one port and stops them all; free_port() finds a port free on every
address a test needs, self_signed() a certificate for STARTTLS.

outbound_server() starts `postern serve` (optionally with -d, for the
deliver process's debug lines) through the conftest `server` factory,
resolving through a test DNS server (dnsserver.py) and delivering to the
test's port.  mkmsg(), submit() and send() hand it mail over an
authenticated 587 session; after_received() and parse_dsn() read what
comes out.  Probe runs dns_probe (conftest's find_probe() finds it).

Everything is on loopback; every wait is bounded.
"""

import asyncio
import email
import email.policy
import functools
import itertools
import os
import pathlib
import re
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import SANITIZER_MARKS

ALICE = "alice@example.test"    # the local sender of the test mail
WAIT = 20                       # seconds: the bound of every wait
ROOT_KEY = "/usr/share/dns/root.key"


# --- peers ---------------------------------------------------------------------

class _Handler:
    """aiosmtpd hooks recording into an MXPeer and answering by its
    script."""

    def __init__(self, peer):
        self.peer = peer

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        with self.peer.lock:
            self.peer.ehlos.append((session.peer, session.ssl is not None))
        return responses

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        peer = self.peer
        with peer.lock:
            peer.rcpt_attempts += 1
            n = peer.rcpt_attempts
        reply = peer.rcpt(address, n) if callable(peer.rcpt) else peer.rcpt
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        peer = self.peer
        with peer.lock:
            peer.data_started += 1
            n = peer.data_started
        reply = peer.data(n) if peer.data is not None else None
        if reply:
            return reply
        if peer.hold > 0:
            await asyncio.sleep(peer.hold)
        with peer.lock:
            peer.messages.append({
                "from": envelope.mail_from,
                "rcpts": list(envelope.rcpt_tos),
                "content": envelope.original_content,
                "ehlo": session.host_name,
                "peer": session.peer,
                "tls": session.ssl is not None,
            })
        return "250 2.0.0 queued"

    async def handle_QUIT(self, server, session, envelope):
        with self.peer.lock:
            self.peer.quits += 1
        return "221 2.0.0 bye"


@functools.cache
def _controller_class():
    """aiosmtpd's Controller, its server noting each RCPT argument as it
    came.  Imported at the first peer: a module importing this one is not
    skipped without aiosmtpd, only its tests that start a peer."""
    controller = pytest.importorskip("aiosmtpd.controller")
    smtp = pytest.importorskip("aiosmtpd.smtp")

    class RecordingSMTP(smtp.SMTP):
        async def smtp_RCPT(self, arg):
            peer = self.event_handler.peer
            with peer.lock:
                peer.rcpt_args.append(arg)
            await super().smtp_RCPT(arg)

    class Controller(controller.Controller):
        def factory(self):
            return RecordingSMTP(self.handler, **self.SMTP_kwargs)

    return Controller


class MXPeer:
    """An aiosmtpd server at addr:port standing in for a remote MX host.

    tls: (certificate, key) files to offer STARTTLS with (None: no
    STARTTLS); rcpt: None (accept), a reply for every RCPT, or a function
    (address, attempt number) -> reply or None (accept); data: None or a
    function (attempt number) -> reply or None (accept) for the end of
    DATA; hold: seconds the reply to an accepted end of DATA waits."""

    def __init__(self, addr, port, tls=None, rcpt=None, data=None, hold=0):
        self.addr = addr
        self.port = port
        self.rcpt = rcpt
        self.data = data
        self.hold = hold
        self.lock = threading.Lock()
        self.rcpt_args = []         # "TO:<...>" exactly as sent
        self.rcpt_attempts = 0
        self.data_started = 0       # ends of DATA, accepted or not
        self.messages = []
        self.ehlos = []             # (client addr, tls) per EHLO
        self.quits = 0
        self.sni = []               # server_name of every TLS hello
        kw = {"tls_context": self._tls(*tls)} if tls is not None else {}
        self.ctl = _controller_class()(_Handler(self), hostname=addr,
                                       port=port, **kw)

    def _tls(self, crt, key):
        """A server context that notes the SNI name of each hello (None:
        the client sent none)."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(crt), str(key))

        def sni(sslobj, name, c):
            with self.lock:
                self.sni.append(name)
        ctx.sni_callback = sni
        return ctx

    def connections(self):
        """Distinct client connections that said EHLO (the controller's
        own start-up probe never does)."""
        with self.lock:
            return len({p for p, _ in self.ehlos})

    def start(self):
        self.ctl.start()
        return self

    def stop(self):
        self.ctl.stop()

    def wait(self, n, timeout=WAIT):
        """The messages, once there are n (asserting no more come)."""
        assert wait_for(lambda: len(self.messages) >= n, timeout), \
            "%s:%d: %d messages, expected %d" % (
                self.addr, self.port, len(self.messages), n)
        time.sleep(0.3)     # a duplicate would show now
        with self.lock:
            got = list(self.messages)
        assert len(got) == n, "%s:%d: %d messages, expected %d: %r" % (
            self.addr, self.port, len(got), n, got)
        return got


class Greeter:
    """A raw peer that answers every connection with one greeting line
    (e.g. 421) and closes it."""

    def __init__(self, addr, port, greeting="421 4.3.2 too busy, go away"):
        self.greeting = greeting.encode() + b"\r\n"
        self.conns = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop_ev.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.conns += 1
            try:
                c.sendall(self.greeting)
                c.settimeout(1)
                try:
                    c.recv(4096)        # QUIT, or nothing
                except OSError:
                    pass
            finally:
                c.close()

    def start(self):
        self.t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        self.t.join(5)
        self.sock.close()


class Peers:
    """Peers on one port, made on demand: peers(addr, **kw) is a started
    MXPeer (with MXPeer's keywords), peers.greeter(addr, **kw) a started
    Greeter.  The end of a `with` block stops them all."""

    def __init__(self, port):
        self.port = port
        self.made = []

    def __call__(self, addr, **kw):
        return self._started(MXPeer(addr, self.port, **kw))

    def greeter(self, addr, **kw):
        return self._started(Greeter(addr, self.port, **kw))

    def _started(self, p):
        self.made.append(p.start())
        return p

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.made:
            p.stop()


GROUPS_CNF = """openssl_conf = init
[init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = sysdef
[sysdef]
Groups = %s
"""


class GroupsPeer:
    """An MXPeer with STARTTLS whose TLS offers only the key exchange
    groups given (e.g. "ffdhe2048:ffdhe3072"), which Python's ssl cannot
    set: it runs in a child process (this file as a script) under an
    OpenSSL configuration whose system default has those Groups.
    messages() stops it and returns what it accepted (each with "tls")."""

    def __init__(self, addr, port, tls, groups, workdir):
        cnf = pathlib.Path(workdir) / ("groups-%s.cnf" % groups.replace(
            ":", "-"))
        cnf.write_text(GROUPS_CNF % groups)
        env = dict(os.environ, OPENSSL_CONF=str(cnf))
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", __file__, addr, str(port), str(tls[0]),
             str(tls[1])], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, env=env, cwd=os.path.dirname(__file__))
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            self.proc.wait(WAIT)
            raise AssertionError("groups peer did not start: %r" % line)
        self.result = None

    def messages(self):
        if self.result is None:
            out, _ = self.proc.communicate("", timeout=WAIT)
            import json
            self.result = json.loads(out)
        return self.result

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            try:
                self.messages()
            except Exception:
                self.proc.kill()
                self.proc.wait(WAIT)


def free_port(addrs, n=1):
    """n distinct ports, each free on every address of addrs (one port
    when n is 1)."""
    ports = []
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p in ports:
            continue
        try:
            for a in addrs:
                fam = socket.AF_INET6 if ":" in a else socket.AF_INET
                with socket.socket(fam) as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((a, p))
        except OSError:
            continue
        ports.append(p)
        if len(ports) == n:
            return ports if n > 1 else ports[0]
    raise RuntimeError("no free port on %s" % (addrs,))


def self_signed(d, cn):
    """(certificate, key) files in directory d: a self-signed P-256
    certificate for cn, for a peer's STARTTLS."""
    key, crt = d / "key.pem", d / "crt.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "2",
                    "-subj", "/CN=" + cn], check=True,
                   capture_output=True, timeout=30)
    return crt, key


# --- the server --------------------------------------------------------------------

def outbound_server(server, dns, port, debug=False, **conf):
    """A started server (the conftest `server` factory) resolving through
    the test DNS server dns and delivering to port; conf: more
    postern.conf settings; debug: `serve` runs with -d (debug lines)."""
    c = {"dns_resolver": "127.0.0.1:%d" % dns.port,
         "outbound_smtp_port": str(port)}
    c.update({k: str(v) for k, v in conf.items()})
    if not debug:
        return server(conf=c)
    s = server(conf=c, start=False)
    real = s.bin
    wrapper = s.top / "postern-debug"
    wrapper.write_text('#!/bin/sh\n'
                       'if [ "$#" -eq 3 ] && [ "$3" = serve ]; then\n'
                       '    exec "%s" "$@" -d\n'
                       'fi\n'
                       'exec "%s" "$@"\n' % (real, real))
    os.chmod(wrapper, 0o755)
    s.bin = str(wrapper)
    return s.start()


# --- mail in ---------------------------------------------------------------------------

_seq = itertools.count(1)


def mkmsg(to, subject, body=None, sender=ALICE):
    """A complete RFC 5322 message (nothing for postern to add); the body
    is "body of SUBJECT" unless given (bytes, CRLF)."""
    if body is None:
        body = b"body of %s\r\n" % subject.encode()
    head = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
            "Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n"
            "Message-ID: <mxpeer-%d-%d@example.test>\r\n" % (
                sender, to, subject, next(_seq), time.time_ns()))
    return head.encode() + b"\r\n" + body


def _session(srv, sender, rcpts, msgs, exact):
    """One authenticated 587 session sending each message to rcpts."""
    s = srv.submission(sender)
    try:
        for m in msgs:
            if not exact:
                refused = s.sendmail(sender, rcpts, m)
                assert not refused, refused
                continue
            code, text = s.mail(sender)
            assert code == 250, (code, text)
            for r in rcpts:
                code, text = s.docmd("RCPT TO:<%s>" % r)
                assert code == 250, (r, code, text)
            code, text = s.data(m)
            assert code == 250, (code, text)
    finally:
        s.quit()


def submit(srv, rcpts, msgs, exact=False):
    """One authenticated 587 session from ALICE sending each message
    (bytes, CRLF; smtplib dot-stuffs) to rcpts; returns their queue ids,
    in order.  exact: MAIL, each RCPT written exactly as given (no
    client-side quoting, for address literals) and DATA, each answered
    250."""
    mark = len(srv.log())
    _session(srv, ALICE, rcpts, msgs, exact)
    ids = []
    deadline = time.monotonic() + WAIT
    while len(ids) < len(msgs) and time.monotonic() < deadline:
        ids = re.findall(r"msgid=([0-9a-f]{20}) queued .*from=<%s>" % ALICE,
                         srv.log()[mark:])
        time.sleep(0.05)
    assert len(ids) == len(msgs), srv.log()[mark:]
    return ids


def send(srv, sender, rcpts, subjects):
    """One authenticated 587 session sending one message per subject."""
    _session(srv, sender, rcpts,
             [mkmsg(rcpts[0], subj, sender=sender) for subj in subjects],
             False)


def wait_for(pred, timeout=WAIT, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


# --- mail out -----------------------------------------------------------------------------

def after_received(content):
    """(postern's own Received header, the content after it): the first
    field after our DKIM-Signature fields (if any), folded lines
    included."""
    content = strip_signatures(content)
    m = re.match(rb"Received:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*", content)
    assert m, "no Received header first: %r" % content[:300]
    return m.group(0), content[m.end():]


def strip_signatures(content):
    """content without the DKIM-Signature fields at its top."""
    while True:
        m = re.match(rb"DKIM-Signature:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*",
                     content, re.I)
        if not m:
            return content
        content = content[m.end():]


def parse_dsn(data):
    """(message, delivery-status fields per recipient, rfc822-headers
    message or None) of a Maildir file holding a DSN; field names lower
    case, values unfolded."""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", \
        msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    assert isinstance(parts, list) and len(parts) >= 2
    assert parts[0].get_content_type() == "text/plain"
    kinds = [p.get_content_type() for p in parts]
    assert "message/delivery-status" in kinds, kinds
    # compat32 parses message/delivery-status into a list of header
    # blocks: the per-message fields, then one per recipient
    blocks = parts[kinds.index("message/delivery-status")].get_payload()
    assert isinstance(blocks, list) and len(blocks) >= 2, blocks
    assert blocks[0].get("Reporting-MTA"), blocks[0].items()
    per_rcpt = [dict((k.lower(), " ".join(v.split())) for k, v in b.items())
                for b in blocks[1:]]
    headers = None
    if "text/rfc822-headers" in kinds:
        hp = parts[kinds.index("text/rfc822-headers")]
        headers = email.message_from_bytes(hp.get_payload(decode=True),
                                           policy=email.policy.compat32)
    return msg, per_rcpt, headers


# --- dns_probe ------------------------------------------------------------------------------

class Probe:
    """dns_probe asking the test DNS server srv."""

    def __init__(self, binary, srv):
        self.binary = binary
        self.srv = srv

    def run(self, *args, resolver=None, timeout_ms=3000):
        """(stdout lines, stderr) of one run that exits 0."""
        res = resolver or "127.0.0.1:%d" % self.srv.port
        cmd = [self.binary, "--resolver", res, "--timeout", str(timeout_ms)]
        cmd += [str(a) for a in args]
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        for mark in SANITIZER_MARKS:
            assert mark not in cp.stderr, cp.stderr
        assert cp.returncode == 0, (cmd, cp.stdout, cp.stderr)
        return cp.stdout.splitlines(), cp.stderr

    def plan(self, domain, *args, **kw):
        """[(pref, host, [addrs])] or ("error", temp|perm, status, text)."""
        lines, err = self.run(*args, domain, **kw)
        assert lines, err
        if lines[0].startswith("error "):
            assert len(lines) == 1, lines
            kind, status, text = lines[0].split(" ", 3)[1:]
            return ("error", kind, status, text), err
        out = []
        for ln in lines:
            f = ln.split()
            out.append((int(f[0]), f[1], f[2:]))
        return out, err


if __name__ == "__main__":
    # GroupsPeer's child: ADDR PORT CERT KEY; "ready", then on EOF of
    # stdin the messages accepted, as JSON
    import json
    import sys
    addr, port, crt, key = sys.argv[1:5]
    peer = MXPeer(addr, int(port), tls=(crt, key)).start()
    print("ready", flush=True)
    sys.stdin.read()
    peer.stop()
    print(json.dumps([{"tls": m["tls"], "rcpts": m["rcpts"]}
                      for m in peer.messages]))
