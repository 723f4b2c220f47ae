"""Mail to address literals (RFC 5321 4.1.3), end to end through `postern
serve`.

An authenticated submission client (587, STARTTLS, AUTH) sends mail to
user@[192.0.2.1]-style addresses; the queue hands the recipients to the
deliver process, which routes a literal without any DNS query (the test
DNS server, postern.conf's dns_resolver, must see no query for it) to
the one address it names, on the test's port (outbound_smtp_port).  The
remote hosts are aiosmtpd peers (mxpeer.py) on 127.0.0.1 and [::1] that
record every RCPT command byte-exact and the name the client asked for
in its TLS hello (SNI, which RFC 6066 3 forbids for an address).
Literals that cannot be a mail server (unspecified, multicast,
broadcast) or whose family outbound_ip_family excludes bounce at once: a
DSN (RFC 3464) in the sender's Maildir.  Port 25 never relays to a
literal, and `postern send` submits to one.

Loopback only; every wait is bounded; every peer and DNS server is
stopped by a fixture finalizer.
"""

import email
import email.policy
import functools
import re
import socket
import subprocess
import time

import pytest

from conftest import SANITIZER_MARKS
from dnsserver import DNSServer
from mxpeer import (ALICE, WAIT, Peers, after_received, free_port, mkmsg,
                    outbound_server, parse_dsn, self_signed, submit)


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAVE_V6 = have_ipv6_loopback()


# --- fixtures ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dns():
    """A DNS server with an empty zone: a literal must never be asked."""
    srv = DNSServer({}).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("literal-tls"), "peer.test")


@pytest.fixture
def port():
    """One port free on 127.0.0.1, 127.0.0.9 and ::1: outbound_smtp_port."""
    return free_port(["127.0.0.1", "127.0.0.9"] + (["::1"] if HAVE_V6
                                                    else []))


@pytest.fixture
def peers(port):
    """Factory: peers(addr, tls=None, rcpt=None) -> a started MXPeer on
    the test's port (offering STARTTLS with the tls files; answering
    every RCPT with rcpt when given); all stopped at teardown."""
    with Peers(port) as made:
        yield made


@pytest.fixture
def outsrv(server, dns, port):
    """Factory: outsrv(**conf) -> a started server delivering to the
    test's port, its DNS the empty test server."""
    return functools.partial(outbound_server, server, dns, port)


# --- helpers ---------------------------------------------------------------------------

def dns_queries(dns):
    """Every query the DNS server got: mail to literals needs none (and
    nothing else in this module asks one)."""
    return list(dns.queries)


# --- 1. IPv4 literal, STARTTLS, no SNI, no DNS -------------------------------------------

def test_ipv4_literal_delivered(outsrv, peers, dns, tls_files):
    peer = peers("127.0.0.1", tls=tls_files)
    srv = outsrv()
    rcpt = "rcpt@[127.0.0.1]"
    msg = mkmsg(rcpt, "to a literal",
                b"line one\r\n.dot first\r\n\r\nlast\r\n")
    (mid,) = submit(srv, [rcpt], [msg], exact=True)
    (got,) = peer.wait(1)
    assert peer.rcpt_args == ["TO:<rcpt@[127.0.0.1]>"]
    assert got["rcpts"] == [rcpt]
    assert got["from"] == ALICE
    assert after_received(got["content"])[1] == msg
    assert got["tls"] is True
    # RFC 6066 3: no host_name for an address; None is "no SNI at all"
    assert peer.sni == [None]
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
    (mid,) = submit(srv, rcpts, [msg], exact=True)
    got = peer.wait(2)
    # the queue keeps the tag as "IPv6:" (smtp normalises it); each
    # literal spelling is its own destination, each RCPT as accepted
    assert sorted(peer.rcpt_args) == ["TO:<a@[IPv6:::1]>",
                                      "TO:<b@[IPv6:0:0:0:0:0:0:0:1]>"]
    assert sorted(r for m in got for r in m["rcpts"]) == [
        "a@[IPv6:::1]", "b@[IPv6:0:0:0:0:0:0:0:1]"]
    for m in got:
        assert after_received(m["content"])[1] == msg
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
    submit(srv, rcpts, [mkmsg(rcpts[0], "one job")], exact=True)
    (got,) = peer.wait(1)
    assert peer.rcpt_args == ["TO:<a@[IPv6:::1]>", "TO:<b@[IPv6:::1]>"]
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


def bounce(srv, rcpt, subject, status, diagnostic):
    """Mail with this subject to rcpt alone, bounced: the DSN ALICE gets
    fails rcpt with status, a diagnostic-code holding diagnostic and the
    message's headers.  Returns (queue id, DSN file, DSN message,
    recipient fields)."""
    (mid,) = submit(srv, [rcpt], [mkmsg(rcpt, subject)], exact=True)
    (data,) = srv.wait_mail(ALICE, 1, timeout=WAIT)
    msg, (r,), headers = parse_dsn(data)
    assert r["action"] == "failed"
    assert r["status"] == status
    assert r["final-recipient"] == "rfc822; " + rcpt
    assert diagnostic in r.get("diagnostic-code", ""), r
    assert headers is not None and headers["Subject"] == subject
    assert srv.wait_log(r"msgid=%s bounce queued as msgid=" % mid, WAIT)
    return mid, data, msg, r


@pytest.mark.parametrize("rcpt,status,text", REFUSED,
                         ids=[r[0] for r in REFUSED])
def test_refused_literal_bounces(outsrv, rcpt, status, text, dns):
    srv = outsrv(retry_min=300)
    mid, data, msg, r = bounce(srv, rcpt, "refused %d" % time.time_ns(),
                               status, text)
    assert b"Return-Path: <>" in data.split(b"\r\n\r\n", 1)[0]
    assert ALICE in msg["To"]
    assert "remote-mta" not in r, r       # nothing was connected to
    # the human part says it too
    human = msg.get_payload()[0].get_payload(decode=True).decode()
    assert text in " ".join(human.split()), human
    assert not re.search(r"msgid=%s rcpt=<[^>]*> deferred" % mid, srv.log())
    assert dns_queries(dns) == []
    assert srv.wait_queue_empty(WAIT), srv.queue_files()


def wrong_family(outsrv, peers, addr, family, rcpt, diagnostic):
    """Mail to rcpt (a literal for addr) with outbound_ip_family =
    family: bounced (5.4.4), and the peer at addr never hears of it."""
    peer = peers(addr)
    srv = outsrv(outbound_ip_family=family)
    bounce(srv, rcpt, "wrong family", "5.4.4", diagnostic)
    assert not peer.messages and not peer.rcpt_args


@pytest.mark.skipif(not HAVE_V6, reason="no ::1 on this machine")
def test_ipv6_literal_with_ipv4_only_bounces(outsrv, peers):
    wrong_family(outsrv, peers, "::1", "ipv4", "u@[IPv6:::1]",
                 "[IPv6:::1]: an IPv6 destination, and outbound_ip_family "
                 "is ipv4")


def test_ipv4_literal_with_ipv6_only_bounces(outsrv, peers):
    wrong_family(outsrv, peers, "127.0.0.1", "ipv6", "u@[127.0.0.1]",
                 "[127.0.0.1]: an IPv4 destination, and outbound_ip_family "
                 "is ipv6")


def test_literal_peer_5xx_bounces(outsrv, peers):
    """The host a literal names says 550: a DSN like for any host."""
    peer = peers("127.0.0.1", rcpt="550 5.1.1 <u@[127.0.0.1]>: "
                 "no such user here")
    srv = outsrv(retry_min=300)
    _, _, _, r = bounce(srv, "u@[127.0.0.1]", "rejected %d" % time.time_ns(),
                        "5.1.1",
                        "550 5.1.1 <u@[127.0.0.1]>: no such user here")
    assert r.get("remote-mta", "").startswith("dns; [127.0.0.1]"), r
    assert peer.rcpt_args == ["TO:<u@[127.0.0.1]>"]
    assert not peer.messages
    assert srv.wait_queue_empty(WAIT), srv.queue_files()


# --- 4. a literal nobody answers at: retried, like any host -------------------------------

def test_unreachable_literal_is_deferred(outsrv):
    srv = outsrv(retry_min=300)
    rcpt = "u@[127.0.0.9]"          # nothing listens there
    (mid,) = submit(srv, [rcpt], [mkmsg(rcpt, "nobody home")], exact=True)
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
    assert not peer.rcpt_args
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
    (got,) = peer.wait(1)
    assert peer.rcpt_args == ["TO:<rcpt@[127.0.0.1]>"]
    assert got["rcpts"] == ["rcpt@[127.0.0.1]"]
    msg = email.message_from_bytes(got["content"],
                                   policy=email.policy.default)
    assert "rcpt@[127.0.0.1]" in str(msg["To"]), msg["To"]
    assert str(msg["From"]).strip("<>") == ALICE
    assert srv.wait_log(r"msgid=%s rcpt=<rcpt@\[127\.0\.0\.1\]> delivered "
                        % qid, WAIT)
