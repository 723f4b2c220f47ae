"""Forwarding through aliases, end to end: the recipe's catch-all to a
personal mailbox elsewhere, with SRS.

The aliases file is the recipe's (`i: someone@gmail.test`, `*:
someone@gmail.test`).  Mail from a remote sender, DKIM-signed by it
(dkimpy, its key in the test DNS), arrives on the MX port for i@,
any123@ and i+tag@; the peer standing in for gmail.test's MX gets it
once, with an SRS0 envelope sender under our domain that python3-srs
reverses with our secret, and the header and body byte for byte, so
that dkimpy still verifies the forwarded copy.  A bounce to that SRS
address is delivered to the original sender; forged, altered and
expired SRS addresses are refused at RCPT, never bounced; the null
sender stays null, and our own users' mail to the alias keeps their
address.

Everything is on loopback (test DNS server, aiosmtpd peers); every wait
is bounded; every server and peer is stopped by its fixture.
"""

import functools
import re
import subprocess
import time

import pytest

from conftest import find_probe, greet, send_data
from dnsserver import DNSServer
from mxpeer import WAIT, Peers, free_port, outbound_server

dkim = pytest.importorskip("dkim")
SRS = pytest.importorskip("SRS")

GMAIL = "127.0.0.2"         # gmail.test's MX
ORIGIN = "127.0.0.3"        # sender.test's MX (where bounces go back)
TARGET = "someone@gmail.test"
SENDER = "news@sender.test"
ALIASES = "i: %s\n*: %s\n" % (TARGET, TARGET)
SELECTOR = "s1"


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory):
    """sender.test's DKIM key: (private PEM, public key base64)."""
    d = tmp_path_factory.mktemp("dkim")
    key = d / "key.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", str(key)], check=True,
                   capture_output=True, timeout=60)
    pub = subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout",
                          "-outform", "DER"], check=True,
                         capture_output=True, timeout=60).stdout
    import base64
    return key.read_bytes(), base64.b64encode(pub).decode()


@pytest.fixture(scope="module")
def zone(dkim_key):
    return {
        "gmail.test": {"MX": "10 mx.gmail.test"},
        "mx.gmail.test": {"A": GMAIL},
        "sender.test": {"MX": "10 mx.sender.test", "TXT": "v=spf1 -all"},
        "mx.sender.test": {"A": ORIGIN},
        "%s._domainkey.sender.test" % SELECTOR: {
            "TXT": "v=DKIM1; k=rsa; p=%s" % dkim_key[1]},
    }


@pytest.fixture(scope="module")
def dns(zone):
    srv = DNSServer(zone).start()
    yield srv
    srv.stop()


@pytest.fixture
def port():
    return free_port((GMAIL, ORIGIN))


@pytest.fixture
def peers(port):
    with Peers(port) as made:
        yield made


@pytest.fixture
def fwd(server, dns, port):
    """A started server with the recipe's aliases, delivering outbound
    through the test DNS server to the test's port."""
    srv = outbound_server(functools.partial(server, aliases=ALIASES), dns,
                          port)
    return srv


def secret(srv):
    """Our signing secret (the first of srs_secrets, as init wrote it)."""
    for line in (srv.confdir / "srs_secrets").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            return line.strip()
    raise AssertionError("no secret in srs_secrets")


def signed_message(key, subject):
    """A message from SENDER, DKIM-signed by sender.test (relaxed)."""
    msg = ("From: News <%s>\r\nTo: i@example.test\r\nSubject: %s\r\n"
           "Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n"
           "Message-ID: <%d@sender.test>\r\n\r\n"
           "Line one.\r\n.leading dot\r\n\r\nLast line.\r\n" % (
               SENDER, subject, time.time_ns())).encode()
    sig = dkim.sign(msg, SELECTOR.encode(), b"sender.test", key,
                    canonicalize=(b"relaxed", b"relaxed"),
                    include_headers=[b"from", b"to", b"subject", b"date",
                                     b"message-id"])
    return sig + msg


def mx_send(srv, mail_from, rcpts, body):
    with srv.raw("smtp") as r:
        greet(r)
        code, lines = send_data(r, mail_from, rcpts, body)
        assert code == 250, lines


def dnsfunc(zone):
    def f(name, timeout=5):
        n = name.decode().rstrip(".")
        return zone.get(n, {}).get("TXT", "").encode()
    return f


def test_catchall_forward_srs_dkim(fwd, peers, dkim_key, zone):
    """i@, any123@ and i+tag@ go to someone@gmail.test once, with an SRS0
    sender python3-srs reverses, the message byte-exact and DKIM valid."""
    gmail = peers(GMAIL)
    msg = signed_message(dkim_key[0], "forwarded")
    mx_send(fwd, SENDER, ["i@example.test", "any123@example.test",
                          "i+tag@example.test"], msg)
    (got,) = gmail.wait(1)
    assert got["rcpts"] == [TARGET]
    srs0 = got["from"]
    assert re.fullmatch(r"SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=sender\.test="
                        r"news@example\.test", srs0), srs0
    theirs = SRS.new(secret=secret(fwd), maxage=21, hashlength=4)
    assert theirs.reverse(srs0) == SENDER
    content = got["content"]
    assert content.endswith(msg), content[:400]
    # our trace fields come first; the signature still verifies
    assert dkim.verify(content, dnsfunc=dnsfunc(zone))
    assert fwd.wait_log(r"rcpt=<%s> delivered" % re.escape(TARGET))


def test_bounce_to_srs_reaches_original_sender(fwd, peers):
    """A DSN to our SRS address is delivered to the original sender, from
    the null sender."""
    gmail = peers(GMAIL)
    origin = peers(ORIGIN)
    mx_send(fwd, SENDER, ["i@example.test"],
            b"Subject: to bounce\r\n\r\nhello\r\n")
    (got,) = gmail.wait(1)
    srs0 = got["from"]
    dsn = (b"Subject: Undelivered Mail Returned to Sender\r\n"
           b"From: MAILER-DAEMON@gmail.test\r\n\r\n"
           b"The mail could not be delivered.\r\n")
    mx_send(fwd, "", [srs0], dsn)
    (back,) = origin.wait(1)
    assert back["from"] in ("", "<>")
    assert back["rcpts"] == [SENDER]
    assert back["content"].endswith(dsn)


def srs_of(srv, sender, when=None):
    """Our SRS0 address for sender forwarded by example.test (srs_probe,
    with the server's secret)."""
    args = [find_probe("srs_probe"), "forward", secret(srv), sender,
            "example.test"] + ([str(int(when))] if when is not None else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_srs_case_smashed_and_urlsafe_accepted(fwd, peers):
    """A hash read in lower case and in the URL-safe alphabet is ours: the
    bounce reaches the original sender."""
    gmail = peers(GMAIL)
    origin = peers(ORIGIN)
    for i in range(200):
        sender = "n%d@sender.test" % i
        addr = srs_of(fwd, sender)
        if re.search(r"[+/]", addr.split("=")[1]):
            break
    else:
        pytest.fail("no hash with + or / in 200 senders")
    local, _, dom = addr.rpartition("@")
    tag, h, rest = local.split("=", 2)
    smashed = "%s=%s=%s@%s" % (tag, h.lower().replace("+", "-").replace(
        "/", "_"), rest, dom)
    mx_send(fwd, "", [smashed], b"Subject: bounce\r\n\r\nx\r\n")
    (back,) = origin.wait(1)
    assert back["rcpts"] == [sender]
    assert gmail.messages == []


def test_forged_altered_expired_refused_at_rcpt(fwd, peers):
    """Bad SRS addresses get 550 5.1.1 at RCPT (not the catch-all), and
    nothing is queued or bounced."""
    origin = peers(ORIGIN)
    gmail = peers(GMAIL)
    probe = find_probe("srs_probe")
    good = srs_of(fwd, SENDER)
    h = good.split("=")[1]
    altered_hash = good.replace("=" + h + "=", "=" + (
        "AAAA" if h.upper() != "AAAA" else "BBBB") + "=", 1)
    altered_user = good.replace("=news@", "=boss@")
    forged = subprocess.run([probe, "forward", "not-our-secret-0123456789",
                             SENDER, "example.test"], capture_output=True,
                            text=True, timeout=10).stdout.strip()
    expired = srs_of(fwd, SENDER, time.time() - 30 * 86400)
    malformed = "SRS0=abcd@example.test"
    with fwd.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<>")
        for bad, why in ((altered_hash, "not issued here"),
                         (altered_user, "not issued here"),
                         (forged, "not issued here"),
                         (expired, "expired"),
                         (malformed, "malformed")):
            code, lines = r.cmd("RCPT TO:<%s>" % bad)
            text = " ".join(lines)
            assert code == 550 and "5.1.1" in text and why in text, (
                bad, code, text)
        # the session goes on: a good one is still taken
        r.expect(250, "RCPT TO:<%s>" % good)
        r.expect(250, "RSET")
    assert fwd.wait_log(r"rcpt=<%s> refused: SRS address expired" %
                        re.escape(expired))
    time.sleep(0.5)
    assert origin.messages == [] and gmail.messages == []


def test_srs_pipelined_rcpts(fwd, peers):
    """Pipelined RCPTs with SRS addresses among plain ones are answered
    in order."""
    origin = peers(ORIGIN)
    good = srs_of(fwd, SENDER)
    with fwd.raw("smtp") as r:
        greet(r)
        r.send(b"MAIL FROM:<>\r\nRCPT TO:<SRS0=xxxx=AA=a.test=b@example."
               b"test>\r\nRCPT TO:<" + good.encode() + b">\r\n"
               b"RCPT TO:<alice@example.test>\r\nDATA\r\n")
        codes = [r.reply()[0] for _ in range(5)]
        assert codes == [250, 550, 250, 250, 354], codes
        r.send(b"Subject: p\r\n\r\nx\r\n.\r\n")
        assert r.reply()[0] == 250
    (back,) = origin.wait(1)
    assert back["rcpts"] == [SENDER]
    fwd.wait_mail("alice@example.test", 1)


def test_null_sender_and_own_users_not_rewritten(fwd, peers):
    """<> stays <>; alice's mail to the alias keeps her address."""
    gmail = peers(GMAIL)
    mx_send(fwd, "", ["i@example.test"], b"Subject: null\r\n\r\nx\r\n")
    s = fwd.submission("alice@example.test")
    try:
        refused = s.sendmail("alice@example.test", ["i@example.test"],
                             b"Subject: mine\r\n\r\nx\r\n")
        assert not refused
    finally:
        s.quit()
    got = gmail.wait(2)
    froms = sorted(m["from"] for m in got)
    assert froms in (["", "alice@example.test"],
                     ["<>", "alice@example.test"]), froms


def test_no_secret_keeps_sender(server, dns, port, peers):
    """Without srs_secrets the sender is kept (and the start says so)."""
    srv = outbound_server(functools.partial(server, aliases=ALIASES,
                                            start=False), dns, port)
    (srv.confdir / "srs_secrets").unlink()
    srv.start()
    gmail = peers(GMAIL)
    mx_send(srv, SENDER, ["i@example.test"], b"Subject: k\r\n\r\nx\r\n")
    (got,) = gmail.wait(1)
    assert got["from"] == SENDER
    assert srv.wait_log(r"no srs_secrets in .*forwarded mail keeps")


def test_broken_secrets_refuse_start_and_reload(fwd):
    """A broken srs_secrets stops a start and a reload, naming the file
    and line; the running server keeps its secret."""
    path = fwd.confdir / "srs_secrets"
    good = path.read_text()
    path.write_text("short\n")
    n = len(fwd.log())
    fwd.reload()
    assert fwd.wait_log(r"reload failed.*srs_secrets:1", since=n)
    path.write_text(good)


def test_dsn_of_forwarded_mail_goes_to_original_sender(fwd, peers):
    """gmail.test refuses the forwarded copy for good: the DSN goes to
    the original sender (not to our SRS address), from <>, naming the
    address it was forwarded to."""
    peers(GMAIL, rcpt="550 5.1.1 no such mailbox here")
    origin = peers(ORIGIN)
    mx_send(fwd, SENDER, ["i@example.test"],
            b"Subject: will bounce\r\n\r\nhello\r\n")
    (dsn,) = origin.wait(1)
    assert dsn["from"] in ("", "<>")
    assert dsn["rcpts"] == [SENDER]
    text = dsn["content"].decode(errors="replace")
    assert "Final-Recipient: rfc822; someone@gmail.test" in text
    assert "Original-Recipient: rfc822; i@example.test" in text
    assert "550 5.1.1 no such mailbox here" in text
