"""Mail to address literals (RFC 5321 4.1.3), end to end through `postern
serve`.

An authenticated submission client (587, STARTTLS, AUTH) sends mail to
user@[192.0.2.1]-style addresses; the queue hands the recipients to the
deliver process, which routes a literal without any DNS query (the test
DNS server, postern.conf's dns_resolver, must see no query for it) to the
one address it names, on the test's port (outbound_smtp_port).  The
remote hosts are aiosmtpd peers on 127.0.0.1 and [::1] that record every
RCPT command byte-exact and the name the client asked for in its TLS
hello (SNI, which RFC 6066 3 forbids for an address).  Literals that
cannot be a mail server (unspecified, multicast, broadcast) or whose
family outbound_ip_family excludes bounce at once: a DSN (RFC 3464) in
the sender's Maildir.  Port 25 never relays to a literal, and `postern
send` submits to one.

Loopback only; every wait is bounded; every peer and DNS server is
stopped by a fixture finalizer.
"""

import email
import email.policy
import re
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import SANITIZER_MARKS
from dnsserver import DNSServer

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
aiosmtpd_smtp = pytest.importorskip("aiosmtpd.smtp")

ALICE = "alice@example.test"
WAIT = 20               # the bound of every wait, seconds


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAVE_V6 = have_ipv6_loopback()


# --- peers -------------------------------------------------------------------------

class Recorder:
    """What one peer saw: raw RCPT arguments, messages, SNI names."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rcpt_args = []         # "TO:<...>" exactly as sent
        self.messages = []
        self.sni = []               # server_name of every TLS hello


class RecordingSMTP(aiosmtpd_smtp.SMTP):
    """aiosmtpd's server, keeping each RCPT argument as it came."""

    def __init__(self, handler, rec, **kw):
        super().__init__(handler, **kw)
        self.rec = rec

    async def smtp_RCPT(self, arg):
        with self.rec.lock:
            self.rec.rcpt_args.append(arg)
        await super().smtp_RCPT(arg)


class Handler:
    def __init__(self, rec, rcpt_reply=None):
        self.rec = rec
        self.rcpt_reply = rcpt_reply

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.rec.lock:
            self.rec.messages.append({
                "from": envelope.mail_from,
                "rcpts": list(envelope.rcpt_tos),
                "content": envelope.original_content,
                "tls": session.ssl is not None,
            })
        return "250 2.0.0 queued"


class Controller(aiosmtpd_controller.Controller):
    def __init__(self, rec, addr, port, tls, rcpt_reply):
        self.rec = rec
        kw = {}
        if tls is not None:
            kw["tls_context"] = tls
        super().__init__(Handler(rec, rcpt_reply), hostname=addr, port=port,
                         **kw)

    def factory(self):
        return RecordingSMTP(self.handler, self.rec, **self.SMTP_kwargs)


class Peer:
    """An aiosmtpd server standing in for the host a literal names."""

    def __init__(self, addr, port, tls_files=None, rcpt_reply=None):
        self.addr = addr
        self.rec = Recorder()
        tls = peer_tls(tls_files, self.rec) if tls_files else None
        self.ctl = Controller(self.rec, addr, port, tls, rcpt_reply)

    def start(self):
        self.ctl.start()
        return self

    def stop(self):
        self.ctl.stop()

    @property
    def messages(self):
        with self.rec.lock:
            return list(self.rec.messages)


# --- fixtures ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dns():
    """A DNS server with an empty zone: a literal must never be asked."""
    srv = DNSServer({}).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("literal-tls")
    key, crt = d / "key.pem", d / "crt.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "2",
                    "-subj", "/CN=peer.test"], check=True,
                   capture_output=True, timeout=30)
    return crt, key


def peer_tls(tls_files, rec):
    """A server context for one peer that notes the SNI of each hello."""
    crt, key = tls_files
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(crt), str(key))

    def sni(sslobj, name, c):
        with rec.lock:
            rec.sni.append(name)
        return None
    ctx.sni_callback = sni
    return ctx


@pytest.fixture
def port():
    """One port free on 127.0.0.1, 127.0.0.9 and ::1: outbound_smtp_port."""
    addrs = ["127.0.0.1", "127.0.0.9"] + (["::1"] if HAVE_V6 else [])
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        try:
            for a in addrs:
                fam = socket.AF_INET6 if ":" in a else socket.AF_INET
                with socket.socket(fam) as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((a, p))
            return p
        except OSError:
            continue
    raise RuntimeError("no free port on the peer addresses")


@pytest.fixture
def peers(port, tls_files):
    """Factory: peers(addr, tls=False, rcpt_reply=None) -> a started Peer
    on the test's port (with STARTTLS when tls; answering every RCPT with
    rcpt_reply when given); all stopped at teardown."""
    made = []

    def make(addr, tls=False, rcpt_reply=None):
        p = Peer(addr, port, tls_files if tls else None, rcpt_reply)
        made.append(p.start())
        return p
    yield make
    for p in made:
        p.stop()


@pytest.fixture
def outsrv(server, dns, port):
    """Factory: a started server delivering to the test's port, its DNS
    the empty test server."""

    def make(**conf):
        c = {"dns_resolver": "127.0.0.1:%d" % dns.port,
             "outbound_smtp_port": str(port)}
        c.update({k: str(v) for k, v in conf.items()})
        return server(conf=c)
    return make


# --- helpers ---------------------------------------------------------------------------

_n = iter(range(1, 1 << 30))


def mkmsg(to, subject, body=b"hello literal\r\n"):
    head = ("From: Alice <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
            "Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n"
            "Message-ID: <lit-%d-%d@example.test>\r\n" % (
                ALICE, to, subject, next(_n), time.time_ns()))
    return head.encode() + b"\r\n" + body


def submit(srv, rcpts, msg):
    """One authenticated 587 session: MAIL, each RCPT written exactly as
    given (no client-side quoting), DATA; returns the queue id."""
    mark = len(srv.log())
    s = srv.submission(ALICE)
    try:
        code, text = s.mail(ALICE)
        assert code == 250, (code, text)
        for r in rcpts:
            code, text = s.docmd("RCPT TO:<%s>" % r)
            assert code == 250, (r, code, text)
        code, text = s.data(msg)
        assert code == 250, (code, text)
    finally:
        s.quit()
    m = srv.wait_log(r"msgid=([0-9a-f]{20}) queued .*from=<%s>" % ALICE,
                     WAIT, since=mark)
    assert m, srv.log()[mark:]
    return m.group(1)


def wait_for(pred, timeout=WAIT, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def wait_messages(peer, n):
    assert wait_for(lambda: len(peer.messages) >= n), \
        "%s: %d messages, expected %d" % (peer.addr, len(peer.messages), n)
    time.sleep(0.3)     # a duplicate would show now
    got = peer.messages
    assert len(got) == n, got
    return got


def after_received(content):
    m = re.match(rb"Received:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*", content)
    assert m, "no Received header first: %r" % content[:300]
    return content[m.end():]


def dns_queries(dns):
    """Every query the DNS server got: mail to literals needs none (and
    nothing else in this module asks one)."""
    return list(dns.queries)


def parse_dsn(data):
    """(message, per-recipient delivery-status fields, returned headers)"""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", \
        msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    assert isinstance(parts, list) and len(parts) >= 2
    assert parts[0].get_content_type() == "text/plain"
    kinds = [p.get_content_type() for p in parts]
    assert "message/delivery-status" in kinds, kinds
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


# --- 1. IPv4 literal, STARTTLS, no SNI, no DNS -------------------------------------------

def test_ipv4_literal_delivered(outsrv, peers, dns):
    peer = peers("127.0.0.1", tls=True)
    srv = outsrv()
    rcpt = "rcpt@[127.0.0.1]"
    msg = mkmsg(rcpt, "to a literal",
                b"line one\r\n.dot first\r\n\r\nlast\r\n")
    mid = submit(srv, [rcpt], msg)
    (got,) = wait_messages(peer, 1)
    assert peer.rec.rcpt_args == ["TO:<rcpt@[127.0.0.1]>"]
    assert got["rcpts"] == [rcpt]
    assert got["from"] == ALICE
    assert after_received(got["content"]) == msg
    assert got["tls"] is True
    # RFC 6066 3: no host_name for an address; None is "no SNI at all"
    assert peer.rec.sni == [None]
    assert srv.wait_log(r"msgid=%s rcpt=<rcpt@\[127\.0\.0\.1\]> delivered "
                        % mid, WAIT)
    assert srv.wait_log(r"msgid=%s host=\[127\.0\.0\.1\] \[127\.0\.0\.1\] "
                        r"tls=TLSv1\.[23] " % mid, WAIT)
    assert dns_queries(dns) == []
    assert srv.wait_queue_empty(WAIT), srv.queue_files()
    assert srv.mail_count(ALICE) == 0


# --- 2. IPv6 literal, the tag in either case, one job ------------------------------------

@pytest.mark.skipif(not HAVE_V6, reason="no ::1 on this machine")
def test_ipv6_literal_delivered(outsrv, peers, dns):
    peer = peers("::1")
    srv = outsrv()
    rcpts = ["a@[IPv6:::1]", "b@[ipv6:0:0:0:0:0:0:0:1]"]
    msg = mkmsg(rcpts[0], "to an IPv6 literal")
    mid = submit(srv, rcpts, msg)
    got = wait_messages(peer, 2)
    # the queue keeps the tag as "IPv6:" (smtp normalises it); each
    # literal spelling is its own destination, each RCPT as accepted
    assert sorted(peer.rec.rcpt_args) == ["TO:<a@[IPv6:::1]>",
                                          "TO:<b@[IPv6:0:0:0:0:0:0:0:1]>"]
    assert sorted(r for m in got for r in m["rcpts"]) == [
        "a@[IPv6:::1]", "b@[IPv6:0:0:0:0:0:0:0:1]"]
    for m in got:
        assert after_received(m["content"]) == msg
    assert srv.wait_log(r"msgid=%s rcpt=<a@\[IPv6:::1\]> delivered " % mid,
                        WAIT)
    assert dns_queries(dns) == []
    assert srv.wait_queue_empty(WAIT), srv.queue_files()


@pytest.mark.skipif(not HAVE_V6, reason="no ::1 on this machine")
def test_same_literal_one_job(outsrv, peers):
    """Two recipients at the same literal: one job, one transaction."""
    peer = peers("::1")
    srv = outsrv()
    rcpts = ["a@[IPv6:::1]", "b@[ipv6:::1]"]
    submit(srv, rcpts, mkmsg(rcpts[0], "one job"))
    (got,) = wait_messages(peer, 1)
    assert peer.rec.rcpt_args == ["TO:<a@[IPv6:::1]>", "TO:<b@[IPv6:::1]>"]
    assert got["rcpts"] == ["a@[IPv6:::1]", "b@[IPv6:::1]"]


# --- 3. refused literals bounce at once ----------------------------------------------------

REFUSED = [
    ("u@[0.0.0.0]", "5.1.2",
     "[0.0.0.0]: the unspecified address is not a destination"),
    ("u@[224.0.0.1]", "5.1.2",
     "[224.0.0.1]: a multicast address is not a destination"),
    ("u@[255.255.255.255]", "5.1.2",
     "[255.255.255.255]: the broadcast address is not a destination"),
    ("u@[IPv6:::]", "5.1.2",
     "[IPv6:::]: the unspecified address is not a destination"),
    ("u@[IPv6:ff02::1]", "5.1.2",
     "[IPv6:ff02::1]: a multicast address is not a destination"),
]


@pytest.mark.parametrize("rcpt,status,text", REFUSED,
                         ids=[r[0] for r in REFUSED])
def test_refused_literal_bounces(outsrv, rcpt, status, text, dns):
    srv = outsrv(retry_min=300)
    subject = "refused %d" % time.time_ns()
    mid = submit(srv, [rcpt], mkmsg(rcpt, subject))
    (data,) = srv.wait_mail(ALICE, 1, timeout=WAIT)
    msg, per_rcpt, headers = parse_dsn(data)
    assert b"Return-Path: <>" in data.split(b"\r\n\r\n", 1)[0]
    assert ALICE in msg["To"]
    (r,) = per_rcpt
    assert r["action"] == "failed"
    assert r["status"] == status
    assert r["final-recipient"] == "rfc822; " + rcpt
    assert text in r.get("diagnostic-code", ""), r
    assert "remote-mta" not in r, r       # nothing was connected to
    assert headers is not None and headers["Subject"] == subject
    # the human part says it too
    human = msg.get_payload()[0].get_payload(decode=True).decode()
    assert text in " ".join(human.split()), human
    assert srv.wait_log(r"msgid=%s bounce queued as msgid=" % mid, WAIT)
    assert not re.search(r"msgid=%s rcpt=<[^>]*> deferred" % mid, srv.log())
    assert dns_queries(dns) == []
    assert srv.wait_queue_empty(WAIT), srv.queue_files()


@pytest.mark.skipif(not HAVE_V6, reason="no ::1 on this machine")
def test_ipv6_literal_with_ipv4_only_bounces(outsrv, peers):
    peer = peers("::1")
    srv = outsrv(outbound_ip_family="ipv4")
    rcpt = "u@[IPv6:::1]"
    submit(srv, [rcpt], mkmsg(rcpt, "wrong family"))
    (data,) = srv.wait_mail(ALICE, 1, timeout=WAIT)
    _, (r,), _ = parse_dsn(data)
    assert r["status"] == "5.4.4"
    assert ("[IPv6:::1]: an IPv6 destination, and outbound_ip_family is "
            "ipv4") in r.get("diagnostic-code", ""), r
    assert not peer.messages and not peer.rec.rcpt_args


def test_ipv4_literal_with_ipv6_only_bounces(outsrv, peers):
    peer = peers("127.0.0.1")
    srv = outsrv(outbound_ip_family="ipv6")
    rcpt = "u@[127.0.0.1]"
    submit(srv, [rcpt], mkmsg(rcpt, "wrong family"))
    (data,) = srv.wait_mail(ALICE, 1, timeout=WAIT)
    _, (r,), _ = parse_dsn(data)
    assert r["status"] == "5.4.4"
    assert ("[127.0.0.1]: an IPv4 destination, and outbound_ip_family is "
            "ipv6") in r.get("diagnostic-code", ""), r
    assert not peer.messages and not peer.rec.rcpt_args


def test_literal_peer_5xx_bounces(outsrv, peers):
    """The host a literal names says 550: a DSN like for any host."""
    peer = peers("127.0.0.1", rcpt_reply="550 5.1.1 <u@[127.0.0.1]>: "
                 "no such user here")
    srv = outsrv(retry_min=300)
    rcpt = "u@[127.0.0.1]"
    subject = "rejected %d" % time.time_ns()
    mid = submit(srv, [rcpt], mkmsg(rcpt, subject))
    (data,) = srv.wait_mail(ALICE, 1, timeout=WAIT)
    msg, (r,), headers = parse_dsn(data)
    assert r["action"] == "failed"
    assert r["status"] == "5.1.1"
    assert r["final-recipient"] == "rfc822; " + rcpt
    assert "550 5.1.1 <u@[127.0.0.1]>: no such user here" in \
        r.get("diagnostic-code", ""), r
    assert r.get("remote-mta", "").startswith("dns; [127.0.0.1]"), r
    assert headers is not None and headers["Subject"] == subject
    assert peer.rec.rcpt_args == ["TO:<u@[127.0.0.1]>"]
    assert not peer.messages
    assert srv.wait_log(r"msgid=%s bounce queued as msgid=" % mid, WAIT)
    assert srv.wait_queue_empty(WAIT), srv.queue_files()


# --- 4. a literal nobody answers at: retried, like any host -------------------------------

def test_unreachable_literal_is_deferred(outsrv):
    srv = outsrv(retry_min=300)
    rcpt = "u@[127.0.0.9]"          # nothing listens there
    mid = submit(srv, [rcpt], mkmsg(rcpt, "nobody home"))
    assert srv.wait_log(r"msgid=%s rcpt=<u@\[127\.0\.0\.9\]> deferred: "
                        % mid, WAIT)
    assert srv.wait_log(r"msgid=%s domain=\[127\.0\.0\.9\] "
                        r"host=\[127\.0\.0\.9\] \[127\.0\.0\.9\] attempt "
                        r"failed" % mid, WAIT)
    time.sleep(0.5)
    assert srv.mail_count(ALICE) == 0   # no bounce: it may come back


# --- 5. what the submission port takes ------------------------------------------------------

def test_submission_literal_syntax(outsrv):
    """RCPT on 587 takes literals that are addresses (deliver judges the
    address itself later) and refuses other bracketed text at once."""
    srv = outsrv()
    s = srv.submission(ALICE)
    try:
        assert s.mail(ALICE)[0] == 250
        for rcpt in ("u@[127.0.0.1]", "u@[IPv6:::1]", "u@[ipv6:::1]",
                     "u@[IPv6:2001:db8::1]", "u@[0.0.0.0]"):
            code, text = s.docmd("RCPT TO:<%s>" % rcpt)
            assert code == 250, (rcpt, code, text)
        for rcpt in ("u@[1.2.3]", "u@[300.1.1.1]", "u@[IPv6:1.2.3.4]",
                     "u@[tag:content]", "u@[::1]", "u@[]",
                     "u@[127.0.0.1", "u@[IPv6:fe80::1%lo]"):
            code, text = s.docmd("RCPT TO:<%s>" % rcpt)
            assert code == 501 and b"5.1.3" in text, (rcpt, code, text)
        s.rset()
    finally:
        s.quit()


# --- 6. port 25 never relays to a literal ---------------------------------------------------

@pytest.mark.parametrize("rcpt", ["u@[127.0.0.1]", "u@[IPv6:::1]",
                                  "postmaster@[127.0.0.1]"])
def test_port25_refuses_literal(outsrv, peers, rcpt):
    peer = peers("127.0.0.1")
    srv = outsrv()
    mark = len(srv.log())
    with srv.raw("smtp") as r:
        r.expect(220)
        r.expect(250, "EHLO client.test")
        r.expect(250, "MAIL FROM:<someone@client.test>")
        (line,) = r.expect(554, "RCPT TO:<%s>" % rcpt)
        assert "5.7.1" in line and "Relay access denied" in line, line
        r.expect(503, "DATA")
        r.expect(221, "QUIT")
    time.sleep(0.3)
    assert "queued" not in srv.log()[mark:]
    assert not peer.rec.rcpt_args
    assert srv.queue_files() == []


# --- 7. postern send --to u@[127.0.0.1] -----------------------------------------------------

def test_postern_send_to_literal(outsrv, peers):
    peer = peers("127.0.0.1")
    srv = outsrv()
    cp = subprocess.run(
        [srv.bin, "-C", str(srv.confdir), "send", "--from", ALICE,
         "--to", "rcpt@[127.0.0.1]", "--user", ALICE, "--password-stdin",
         "--insecure"],
        input=srv.users[ALICE] + "\n", capture_output=True, text=True,
        timeout=90)
    for mark in SANITIZER_MARKS:
        assert mark not in cp.stderr, cp.stderr
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "rcpt to:<rcpt@[127.0.0.1]> ... ok" in cp.stdout, cp.stdout
    qid = re.search(r"queued as (\S+)\n\Z", cp.stdout).group(1)
    (got,) = wait_messages(peer, 1)
    assert peer.rec.rcpt_args == ["TO:<rcpt@[127.0.0.1]>"]
    assert got["rcpts"] == ["rcpt@[127.0.0.1]"]
    msg = email.message_from_bytes(got["content"],
                                   policy=email.policy.default)
    assert "rcpt@[127.0.0.1]" in str(msg["To"]), msg["To"]
    assert str(msg["From"]).strip("<>") == ALICE
    assert srv.wait_log(r"msgid=%s rcpt=<rcpt@\[127\.0\.0\.1\]> delivered "
                        % qid, WAIT)
