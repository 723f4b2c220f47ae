"""Outbound delivery end to end, through `postern serve`.

An authenticated submission client (587, STARTTLS, AUTH) sends mail to
remote domains; the queue hands it to the deliver process, which resolves
MX/A/AAAA through the test DNS server (tests/integration/dnsserver.py,
postern.conf's dns_resolver test knob) and connects to aiosmtpd peers
standing in for the remote MX hosts on 127.0.0.x and [::1], all on one
port per test (outbound_smtp_port test knob).  Nothing here calls the
deliver process directly: retries, bounces (RFC 3464 DSNs into the local
sender's Maildir), restarts and connection reuse are the real server's.

Everything is on loopback; every wait is bounded; every peer and DNS
server is stopped by a fixture finalizer.
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

from dnsserver import DNSServer

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

ALICE = "alice@example.test"
WAIT = 20               # the bound of every wait, seconds

# peer addresses (all loopback); DEAD* have nothing listening
A_PLAIN, A_PREF1, A_PREF2, A_421, A_DUAL, A_RETRY, A_BOUNCE, A_MANY = (
    "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6",
    "127.0.0.7", "127.0.0.8", "127.0.0.10")
DEAD = "127.0.0.9"
V6 = "::1"
ALL_ADDRS = (A_PLAIN, A_PREF1, A_PREF2, A_421, A_DUAL, A_RETRY, A_BOUNCE,
             A_MANY, DEAD, V6)

ZONE = {
    # 1: a plain MX with STARTTLS
    "remote.test": {"MX": "10 mx.remote.test", "TXT": "v=spf1 -all"},
    "mx.remote.test": {"A": A_PLAIN},
    # 2: preference order; the zone lists the less preferred host first
    "pref.test": {"MX": ["20 second.pref.test", "10 first.pref.test"]},
    "first.pref.test": {"A": A_PREF1},
    "second.pref.test": {"A": A_PREF2},
    "refuse.test": {"MX": ["20 good.refuse.test", "10 dead.refuse.test"]},
    "dead.refuse.test": {"A": DEAD},
    "good.refuse.test": {"A": A_PREF2},
    "busy.test": {"MX": ["20 good.busy.test", "10 grumpy.busy.test"]},
    "grumpy.busy.test": {"A": A_421},
    "good.busy.test": {"A": A_PREF2},
    # 3: both families
    "dual.test": {"MX": "10 mx.dual.test"},
    "mx.dual.test": {"A": A_DUAL, "AAAA": V6},
    # 4, 6: retries
    "retry.test": {"MX": "10 mx.retry.test"},
    "mx.retry.test": {"A": A_RETRY},
    # 5: a 550
    "bounce.test": {"MX": "10 mx.bounce.test"},
    "mx.bounce.test": {"A": A_BOUNCE},
    # 7: many messages
    "many.test": {"MX": "10 mx.many.test"},
    "mx.many.test": {"A": A_MANY},
    # 8: RFC 7505
    "nullmx.test": {"MX": "0 ."},
}


# --- peers ---------------------------------------------------------------------

class Handler:
    """aiosmtpd hooks recording into a Peer."""

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
        with self.peer.lock:
            self.peer.rcpt_attempts += 1
            n = self.peer.rcpt_attempts
        reply = self.peer.rcpt_reply(address, n)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.peer.lock:
            self.peer.data_attempts += 1
            n = self.peer.data_attempts
        if self.peer.data is not None:
            reply = self.peer.data(n)
            if reply:
                return reply
        with self.peer.lock:
            self.peer.messages.append({
                "from": envelope.mail_from,
                "rcpts": list(envelope.rcpt_tos),
                "content": envelope.original_content,
                "peer": session.peer,
                "tls": session.ssl is not None,
            })
        return "250 2.0.0 queued"


class Peer:
    """An aiosmtpd server standing in for a remote MX host.

    rcpt: None (accept), a reply string for every RCPT, or a function
    (address, attempt number) -> reply or None (accept); data: None or a
    function (attempt number) -> reply or None (accept) for the end of
    DATA."""

    def __init__(self, addr, port, tls=None, rcpt=None, data=None):
        self.addr = addr
        self.messages = []
        self.ehlos = []             # (client addr, tls) per EHLO
        self.rcpt_attempts = 0
        self.rcpt = rcpt
        self.data = data
        self.data_attempts = 0
        self.lock = threading.Lock()
        kw = {"tls_context": tls} if tls is not None else {}
        self.ctl = aiosmtpd_controller.Controller(
            Handler(self), hostname=addr, port=port, **kw)

    def rcpt_reply(self, address, n):
        if callable(self.rcpt):
            return self.rcpt(address, n)
        return self.rcpt

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


# --- fixtures --------------------------------------------------------------------

@pytest.fixture(scope="module")
def dns():
    srv = DNSServer(ZONE).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def peer_tls(tmp_path_factory):
    """A server context with a self-signed certificate for the peers."""
    d = tmp_path_factory.mktemp("peer-tls")
    key, crt = d / "key.pem", d / "crt.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "2",
                    "-subj", "/CN=mx.remote.test"], check=True,
                   capture_output=True, timeout=30)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(crt), str(key))
    return ctx


@pytest.fixture
def port():
    """One port free on every peer address: the test's outbound_smtp_port."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        try:
            for a in ALL_ADDRS:
                fam = socket.AF_INET6 if ":" in a else socket.AF_INET
                with socket.socket(fam) as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((a, p))
            return p
        except OSError:
            continue
    raise RuntimeError("no free port on the peer addresses")


@pytest.fixture
def peers(port):
    """Factory: peers(addr, **kw) -> a started Peer on the test's port;
    greeter(addr) the same for a Greeter.  All stopped at teardown."""
    made = []

    def peer(addr, **kw):
        p = Peer(addr, port, **kw).start()
        made.append(p)
        return p

    def greeter(addr, **kw):
        g = Greeter(addr, port, **kw).start()
        made.append(g)
        return g

    peer.greeter = greeter
    yield peer
    for p in made:
        p.stop()


@pytest.fixture
def outsrv(server, dns, port):
    """Factory: a started postern server delivering outbound through the
    test DNS server to the test's port."""

    def make(**conf):
        c = {"dns_resolver": "127.0.0.1:%d" % dns.port,
             "outbound_smtp_port": str(port)}
        c.update({k: str(v) for k, v in conf.items()})
        return server(conf=c)
    return make


# --- helpers -----------------------------------------------------------------------

_n = iter(range(1, 1 << 30))


def mkmsg(to, subject="e2e", body=b"hello\r\n"):
    """A complete RFC 5322 message (nothing for postern to add)."""
    head = ("From: Alice <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
            "Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n"
            "Message-ID: <e2e-%d-%d@example.test>\r\n" % (
                ALICE, to, subject, next(_n), time.time_ns()))
    return head.encode() + b"\r\n" + body


def submit(srv, rcpts, msgs):
    """One authenticated 587 session sending each message (bytes, CRLF;
    smtplib dot-stuffs) to rcpts; returns their queue ids, in order."""
    mark = len(srv.log())
    s = srv.submission(ALICE)
    try:
        for m in msgs:
            refused = s.sendmail(ALICE, rcpts, m)
            assert not refused, refused
    finally:
        s.quit()
    ids = []
    deadline = time.monotonic() + WAIT
    while len(ids) < len(msgs) and time.monotonic() < deadline:
        ids = re.findall(r"msgid=([0-9a-f]{20}) queued .*from=<%s>" % ALICE,
                         srv.log()[mark:])
        time.sleep(0.05)
    assert len(ids) == len(msgs), srv.log()[mark:]
    return ids


def wait_for(pred, timeout=WAIT, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def wait_messages(peer, n, timeout=WAIT):
    assert wait_for(lambda: len(peer.messages) >= n, timeout), \
        "%s: %d messages, expected %d" % (peer.addr, len(peer.messages), n)
    time.sleep(0.3)     # a duplicate would show now
    assert len(peer.messages) == n, \
        "%s: %d messages, expected %d" % (peer.addr, len(peer.messages), n)
    return peer.messages


def after_received(content):
    """The content after postern's own Received header (first field,
    folded lines included)."""
    m = re.match(rb"Received:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*", content)
    assert m, "no Received header first: %r" % content[:300]
    return m.group(0), content[m.end():]


def queue_list(srv):
    cp = srv.ctl("queue", "list")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    return [ln for ln in cp.stdout.splitlines() if ln.strip()]


def assert_queue_empty(srv):
    assert srv.wait_queue_empty(WAIT), srv.queue_files()
    assert queue_list(srv) == []


def deferrals(srv, mid):
    return re.findall(r"msgid=%s rcpt=<[^>]*> deferred: " % mid, srv.log())


def deliveries(srv, mid):
    return re.findall(r"msgid=%s rcpt=<[^>]*> delivered remote=([^ ]+ \[[^]]+\])"
                      % mid, srv.log())


def parse_dsn(data):
    """(message, delivery-status fields per recipient, rfc822-headers
    message) of a Maildir file holding a DSN."""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    assert isinstance(parts, list) and len(parts) >= 2
    assert parts[0].get_content_type() == "text/plain"
    kinds = [p.get_content_type() for p in parts]
    assert "message/delivery-status" in kinds, kinds
    ds = parts[kinds.index("message/delivery-status")]
    # compat32 parses message/delivery-status into a list of header
    # blocks: the per-message fields, then one per recipient
    blocks = ds.get_payload()
    assert isinstance(blocks, list) and len(blocks) >= 2, blocks
    assert blocks[0].get("Reporting-MTA"), blocks[0].items()
    per_rcpt = [dict((k.lower(), v.strip()) for k, v in b.items())
                for b in blocks[1:]]
    headers = None
    if "text/rfc822-headers" in kinds:
        hp = parts[kinds.index("text/rfc822-headers")]
        headers = email.message_from_bytes(
            hp.get_payload(decode=True), policy=email.policy.compat32)
    return msg, per_rcpt, headers


# --- 1. body byte-exact, STARTTLS --------------------------------------------------

BODY = (b"Dots and edges:\r\n"
        b".starts with a dot\r\n"
        b"..two dots\r\n"
        b".\r\n"
        b"not.the end\r\n"
        b"\r\n"
        b". \r\n"
        b"trailing spaces   \r\n"
        b"\ttab first\r\n"
        b"From the start of a line\r\n"
        + b"x" * 900 + b"\r\n"
        b"last line\r\n")


def test_body_byte_exact_over_starttls(outsrv, peers, peer_tls):
    peer = peers(A_PLAIN, tls=peer_tls)
    srv = outsrv()
    msg = mkmsg("bob@remote.test", "byte exact", BODY)
    (mid,) = submit(srv, ["bob@remote.test"], [msg])
    (got,) = wait_messages(peer, 1)
    assert got["from"] == ALICE
    assert got["rcpts"] == ["bob@remote.test"]
    received, rest = after_received(got["content"])
    assert rest == msg
    assert b"by mail.example.test (postern) with ESMTPSA" in received, \
        received
    assert got["tls"] is True
    # every EHLO after the first one was inside TLS
    assert peer.ehlos[0][1] is False and peer.ehlos[-1][1] is True
    assert srv.wait_log(r"msgid=%s host=mx.remote.test \[%s\] tls=TLSv1\.[23] "
                        % (mid, re.escape(A_PLAIN)), WAIT)
    assert srv.wait_log(r"msgid=%s rcpt=<bob@remote.test> delivered "
                        % mid, WAIT)
    assert_queue_empty(srv)


# --- 2. MX preference and fallback --------------------------------------------------

def test_mx_preference(outsrv, peers):
    first, second = peers(A_PREF1), peers(A_PREF2)
    srv = outsrv()
    submit(srv, ["bob@pref.test"], [mkmsg("bob@pref.test", "pref")])
    wait_messages(first, 1)
    assert not second.messages


@pytest.mark.parametrize("how", ["refused", "421-greeting"])
def test_mx_fallback(outsrv, peers, how):
    good = peers(A_PREF2)
    if how == "refused":
        domain, bad_host, bad_addr = "refuse.test", "dead.refuse.test", DEAD
    else:
        domain, bad_host, bad_addr = "busy.test", "grumpy.busy.test", A_421
        greeter = peers.greeter(A_421)
    srv = outsrv()
    rcpt = "bob@" + domain
    (mid,) = submit(srv, [rcpt], [mkmsg(rcpt, "fallback " + how)])
    (got,) = wait_messages(good, 1)
    assert got["rcpts"] == [rcpt]
    assert srv.wait_log(r"host=%s \[%s\] attempt failed" % (
        re.escape(bad_host), re.escape(bad_addr)), WAIT)
    if how != "refused":
        assert greeter.conns >= 1
        assert "421 4.3.2 too busy" in srv.log()
    assert deliveries(srv, mid) == ["good.%s [%s]" % (domain, A_PREF2)]
    assert not deferrals(srv, mid)


# --- 3. IPv6 first -----------------------------------------------------------------------

def test_ipv6_preferred(outsrv, peers):
    p6, p4 = peers(V6), peers(A_DUAL)
    srv = outsrv()
    (mid,) = submit(srv, ["bob@dual.test"], [mkmsg("bob@dual.test", "v6")])
    (got,) = wait_messages(p6, 1)
    assert got["peer"][0] == "::1"
    assert not p4.messages
    assert srv.wait_log(r"msgid=%s rcpt=<bob@dual.test> delivered "
                        r"remote=mx\.dual\.test \[::1\]" % mid, WAIT)


def test_ipv4_when_ipv6_fails(outsrv, peers):
    p4 = peers(A_DUAL)          # nothing on [::1]
    srv = outsrv()
    (mid,) = submit(srv, ["bob@dual.test"], [mkmsg("bob@dual.test", "v4")])
    wait_messages(p4, 1)
    assert srv.wait_log(r"host=mx\.dual\.test \[::1\] attempt failed", WAIT)
    assert deliveries(srv, mid) == ["mx.dual.test [%s]" % A_DUAL]


# --- 4. 4xx, then retries ------------------------------------------------------------------

@pytest.mark.parametrize("where", ["rcpt", "data"])
def test_4xx_delivered_after_retries(outsrv, peers, where):
    busy = 2
    if where == "rcpt":
        peer = peers(A_RETRY, rcpt=lambda a, n: "451 4.3.0 try again later"
                     if n <= busy else None)
    else:
        peer = peers(A_RETRY, data=lambda n: "452 4.3.1 out of space, later"
                     if n <= busy else None)
    srv = outsrv(retry_min=1, retry_max=2)
    t0 = time.monotonic()
    (mid,) = submit(srv, ["bob@retry.test"], [mkmsg("bob@retry.test", where)])
    wait_messages(peer, 1)
    took = time.monotonic() - t0
    if where == "rcpt":
        assert peer.rcpt_attempts == busy + 1
    else:
        assert peer.data_attempts == busy + 1
    assert len(deferrals(srv, mid)) == busy
    assert srv.wait_log(r"msgid=%s rcpt=<bob@retry.test> delivered " % mid,
                        WAIT)
    assert len(deliveries(srv, mid)) == 1
    assert took >= 1.5, "two retries at least 1 s apart took %.1f s" % took
    assert_queue_empty(srv)
    assert srv.mail_count(ALICE) == 0     # no bounce, no delay warning


# --- 5. 5xx: a DSN ---------------------------------------------------------------------------

def test_5xx_bounces_to_sender(outsrv, peers):
    peer = peers(A_BOUNCE, rcpt="550 5.1.1 <bob@bounce.test>: no such user")
    srv = outsrv(retry_min=300)
    subject = "will bounce %d" % time.time_ns()
    (mid,) = submit(srv, ["bob@bounce.test"], [mkmsg("bob@bounce.test",
                                                     subject)])
    (data,) = srv.wait_mail(ALICE, 1, timeout=WAIT)
    msg, rcpts, headers = parse_dsn(data)
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"Return-Path: <>" in head
    assert msg["To"] and ALICE in msg["To"]
    assert len(rcpts) == 1
    r = rcpts[0]
    assert r["action"] == "failed"
    assert r["status"] == "5.1.1"
    assert r["final-recipient"].lower() == "rfc822; bob@bounce.test"
    assert "550 5.1.1" in r.get("diagnostic-code", ""), r
    assert r.get("remote-mta", "").lower().startswith("dns; mx.bounce.test"), r
    assert headers is not None, "no text/rfc822-headers part"
    assert headers["Subject"] == subject
    assert not peer.messages
    assert peer.rcpt_attempts == 1
    assert srv.wait_log(r"msgid=%s bounce queued as msgid=" % mid, WAIT)
    assert srv.wait_log(r"msgid=%s done: removed from the queue" % mid, WAIT)
    assert_queue_empty(srv)
    assert not deferrals(srv, mid)


# --- 6. restart in the middle of the retries ---------------------------------------------

def test_queued_message_survives_restart(outsrv, peers):
    state = {"accept": False}
    peer = peers(A_RETRY, rcpt=lambda a, n: None if state["accept"]
                 else "451 4.3.0 not now")
    srv = outsrv(retry_min=1, retry_max=2)
    (mid,) = submit(srv, ["bob@retry.test"],
                    [mkmsg("bob@retry.test", "restart", BODY)])
    assert wait_for(lambda: len(deferrals(srv, mid)) >= 1), srv.log()[-2000:]
    assert srv.stop() == 0
    assert not peer.messages
    tried = peer.rcpt_attempts
    assert tried >= 1
    (srv.datadir / "queue" / "env" / mid).stat()   # still queued on disk
    state["accept"] = True
    mark = len(srv.log())
    srv.start()
    assert srv.wait_log(r"msgid=%s loaded: 1 of 1 recipients pending" % mid,
                        WAIT, since=mark)
    (got,) = wait_messages(peer, 1)
    assert after_received(got["content"])[1].endswith(b"\r\n\r\n" + BODY)
    assert srv.wait_log(r"msgid=%s rcpt=<bob@retry.test> delivered " % mid,
                        WAIT, since=mark)
    assert len(deliveries(srv, mid)) == 1
    assert peer.rcpt_attempts == tried + 1
    assert_queue_empty(srv)
    time.sleep(1)
    assert len(peer.messages) == 1


# --- 7. many messages, few connections ---------------------------------------------------

def test_many_messages_share_connections(outsrv, peers):
    peer = peers(A_MANY)
    n = 6
    srv = outsrv(outbound_max_per_domain=2)
    msgs = [mkmsg("bob@many.test", "many %d" % i, b"message %d\r\n" % i)
            for i in range(n)]
    # a burst: two sessions, quickly
    ids = submit(srv, ["bob@many.test"], msgs[:3])
    ids += submit(srv, ["bob@many.test"], msgs[3:])
    got = wait_messages(peer, n)
    assert sorted(after_received(m["content"])[1] for m in got) == \
        sorted(msgs)
    conns = peer.connections()
    assert 1 <= conns <= 2 < n, (conns, peer.ehlos)
    # one more within the idle time (MTA_T_IDLE, 5 s): no new connection
    (last,) = submit(srv, ["bob@many.test"], [mkmsg("bob@many.test", "late")])
    wait_messages(peer, n + 1)
    assert peer.connections() == conns, peer.ehlos
    for mid in ids + [last]:
        assert len(deliveries(srv, mid)) == 1
    assert_queue_empty(srv)


def test_sequential_messages_reuse_one_connection(outsrv, peers):
    """Default limits: each message after the previous one was delivered
    goes over the connection kept idle."""
    peer = peers(A_MANY)
    srv = outsrv()
    for i in range(4):
        submit(srv, ["bob@many.test"], [mkmsg("bob@many.test", "seq %d" % i)])
        wait_messages(peer, i + 1)
    assert peer.connections() == 1, peer.ehlos


# --- 8. null MX -----------------------------------------------------------------------------

def null_mx_dsn(outsrv):
    """Mail to a null MX domain: the DSN alice gets, and the server."""
    srv = outsrv(retry_min=300)
    t0 = time.monotonic()
    (mid,) = submit(srv, ["bob@nullmx.test"], [mkmsg("bob@nullmx.test",
                                                     "null mx")])
    (data,) = srv.wait_mail(ALICE, 1, timeout=WAIT)
    assert time.monotonic() - t0 < 10
    return srv, mid, data


def test_null_mx_bounces_at_once(outsrv):
    srv, mid, data = null_mx_dsn(outsrv)
    msg, rcpts, headers = parse_dsn(data)
    assert len(rcpts) == 1
    assert rcpts[0]["action"] == "failed"
    assert rcpts[0]["status"].startswith("5.")
    assert rcpts[0]["final-recipient"].lower() == "rfc822; bob@nullmx.test"
    assert "null MX" in rcpts[0].get("diagnostic-code", ""), rcpts[0]
    assert headers is not None and headers["Subject"] == "null mx"
    # no attempt to connect anywhere, no retry
    assert srv.wait_log(r"msgid=%s rcpt=<bob@nullmx.test> host=- "
                        r"result=bounced status=5\.1\.10 " % mid, WAIT)
    assert not deferrals(srv, mid)
    assert_queue_empty(srv)
    assert len(re.findall(r"msgid=%s rcpt=<bob@nullmx.test> failed" % mid,
                          srv.log())) == 1


def test_null_mx_dsn_status_5_1_10(outsrv):
    srv, mid, data = null_mx_dsn(outsrv)
    msg, rcpts, headers = parse_dsn(data)
    assert rcpts[0]["status"] == "5.1.10"
