"""Outbound delivery end to end, through `postern serve`.

An authenticated submission client (587, STARTTLS, AUTH) sends mail to
remote domains; the queue hands it to the deliver process, which
resolves MX/A/AAAA through the test DNS server
(tests/integration/dnsserver.py, postern.conf's dns_resolver test knob)
and connects to aiosmtpd peers (mxpeer.py) standing in for the remote MX
hosts on 127.0.0.x and [::1], all on one port per test
(outbound_smtp_port test knob).  Nothing here calls the deliver process
directly: retries, bounces (RFC 3464 DSNs into the local sender's
Maildir), restarts and connection reuse are the real server's.

Everything is on loopback; every wait is bounded; every peer and DNS
server is stopped by a fixture finalizer.
"""

import functools
import re
import time

import pytest

from dnsserver import DNSServer
from mxpeer import (ALICE, WAIT, Peers, after_received, free_port,
                    mkmsg, outbound_server, parse_dsn, self_signed, submit,
                    wait_for)

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


# --- fixtures --------------------------------------------------------------------

@pytest.fixture(scope="module")
def dns():
    srv = DNSServer(ZONE).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def peer_tls(tmp_path_factory):
    """Certificate and key files for the peers' STARTTLS."""
    return self_signed(tmp_path_factory.mktemp("peer-tls"), "mx.remote.test")


@pytest.fixture
def port():
    """One port free on every peer address: the test's outbound_smtp_port."""
    return free_port(ALL_ADDRS)


@pytest.fixture
def peers(port):
    """Factory: peers(addr, **kw) -> a started MXPeer on the test's port;
    peers.greeter(addr) the same for a Greeter.  All stopped at teardown."""
    with Peers(port) as made:
        yield made


@pytest.fixture
def outsrv(server, dns, port):
    """Factory: outsrv(**conf) -> a started postern server delivering
    outbound through the test DNS server to the test's port."""
    return functools.partial(outbound_server, server, dns, port)


# --- helpers -----------------------------------------------------------------------

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
    return re.findall(r"msgid=%s rcpt=<[^>]*> delivered "
                      r"remote=([^ ]+ \[[^]]+\])" % mid, srv.log())


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
    (got,) = peer.wait(1)
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
    first.wait(1)
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
    (got,) = good.wait(1)
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
    (got,) = p6.wait(1)
    assert got["peer"][0] == "::1"
    assert not p4.messages
    assert srv.wait_log(r"msgid=%s rcpt=<bob@dual.test> delivered "
                        r"remote=mx\.dual\.test \[::1\]" % mid, WAIT)


def test_ipv4_when_ipv6_fails(outsrv, peers):
    p4 = peers(A_DUAL)          # nothing on [::1]
    srv = outsrv()
    (mid,) = submit(srv, ["bob@dual.test"], [mkmsg("bob@dual.test", "v4")])
    p4.wait(1)
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
    peer.wait(1)
    took = time.monotonic() - t0
    if where == "rcpt":
        assert peer.rcpt_attempts == busy + 1
    else:
        assert peer.data_started == busy + 1
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
    (got,) = peer.wait(1)
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
    got = peer.wait(n)
    assert sorted(after_received(m["content"])[1] for m in got) == \
        sorted(msgs)
    conns = peer.connections()
    assert 1 <= conns <= 2 < n, (conns, peer.ehlos)
    # one more within the idle time (MTA_T_IDLE, 5 s): no new connection
    (last,) = submit(srv, ["bob@many.test"], [mkmsg("bob@many.test", "late")])
    peer.wait(n + 1)
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
        peer.wait(i + 1)
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
