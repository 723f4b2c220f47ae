"""Port 25 never relays: every way of naming a remote mailbox through a
local domain is refused at RCPT, and nothing reaches the spool or a
Maildir.  This module's shared server must never receive mail."""

import pytest

from conftest import greet

SENDER = "sender@client.test"

ATTEMPTS = [
    # plain relay to a remote domain
    ("remote", "victim@elsewhere.example"),
    ("remote-upper", "VICTIM@ELSEWHERE.EXAMPLE"),
    # percent hack
    ("percent", "victim%elsewhere.example@example.test"),
    ("percent-user", "alice%elsewhere.example@example.test"),
    # source routes (RFC 5321 4.1.2, C.1)
    ("source-route", "@example.test:victim@elsewhere.example"),
    ("source-route-2", "@example.test,@mail.example.test:victim@elsewhere.example"),
    # quoted local parts carrying another address
    ("quoted", '"victim@elsewhere.example"@example.test'),
    ("quoted-alice", '"alice@elsewhere.example"@example.test'),
    ("quoted-percent", '"victim%elsewhere.example"@example.test'),
    # bang path
    ("bang", "elsewhere.example!victim@example.test"),
    # two at signs
    ("two-at", "victim@elsewhere.example@example.test"),
    # address literals and look-alike domains
    ("literal", "victim@[127.0.0.1]"),
    ("literal-v6", "victim@[IPv6:::1]"),
    ("subdomain", "alice@sub.example.test"),
    ("suffix", "alice@example.test.elsewhere.example"),
    ("trailing-dot", "victim@elsewhere.example."),
]


def refused_and_nothing_queued(s, rcpt, port="smtp", tls=False):
    mark = len(s.log())
    with s.raw(port) as r:
        greet(r)
        if tls:
            r.starttls()
            r.ehlo()
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        code, lines = r.cmd("RCPT TO:<%s>" % rcpt)
        assert 500 <= code < 600, (rcpt, lines)
        # with no recipient, DATA must not open a message
        code, lines = r.cmd("DATA")
        assert code in (503, 554), lines
        r.expect(250, "NOOP")
        r.expect(221, "QUIT")
    assert s.queue_files("env") == []
    assert s.queue_files("body") == []
    assert s.queue_files("tmp") == []
    assert s.all_mail() == []
    assert "queued" not in s.log()[mark:].lower()
    return lines


@pytest.mark.parametrize("name,rcpt", ATTEMPTS, ids=[a[0] for a in ATTEMPTS])
def test_relay_refused(srv, name, rcpt):
    refused_and_nothing_queued(srv, rcpt)


def test_relay_refused_code(srv):
    with srv.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        lines = r.expect(554, "RCPT TO:<victim@elsewhere.example>")
        assert "5.7.1" in lines[-1], lines


def test_relay_refused_after_starttls(srv):
    """TLS on port 25 grants nothing."""
    refused_and_nothing_queued(srv, "victim@elsewhere.example", tls=True)


def test_relay_refused_with_local_recipient_too(srv):
    """A refused remote recipient next to a valid local one: only the
    local one gets the message (checked here with RSET: nothing sent)."""
    with srv.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(554, "RCPT TO:<victim@elsewhere.example>")
        r.expect(250, "RCPT TO:<alice@example.test>")
        code, lines = r.cmd("RCPT TO:<victim%elsewhere.example@example.test>")
        assert 500 <= code < 600, lines
        r.expect(250, "RSET")
        r.expect(503, "RCPT TO:<alice@example.test>")
    assert srv.queue_files("env") == []
    assert srv.all_mail() == []


def test_submission_unauthenticated_no_relay(srv):
    for port in ("587", "465"):
        with srv.raw(port) as r:
            greet(r)
            if port == "587":
                r.starttls()
                r.ehlo()
            code, lines = r.cmd("MAIL FROM:<%s>" % SENDER)
            assert code == 530, lines
            code, lines = r.cmd("RCPT TO:<victim@elsewhere.example>")
            assert 500 <= code < 600, lines
    assert srv.queue_files("env") == []
    assert srv.all_mail() == []


def test_relay_attempts_do_not_block_session(srv):
    """Refusals count as errors but the session goes on below the limit."""
    with srv.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        for rcpt in [a[1] for a in ATTEMPTS[:5]]:
            code, lines = r.cmd("RCPT TO:<%s>" % rcpt)
            assert 500 <= code < 600, lines
        r.expect(250, "NOOP")
    assert srv.queue_files("env") == []
