"""Every limit at its edge: exactly at is accepted, one over is refused
with the right reply, and the session (and the server) goes on."""

import socket
import time

import pytest

from conftest import greet, send_data, split_delivered

ALICE = "alice@example.test"
SENDER = "sender@client.test"


def sized(n, tag=b"size"):
    """A message of exactly n octets (CRLF line ends, no leading dots)."""
    head = b"Subject: " + tag + b"\r\n\r\n"
    assert n >= len(head) + 2
    out = head
    left = n - len(head)
    while left > 0:
        take = min(78, left - 2) if left > 2 else 0
        if left - (take + 2) in (1,):
            take -= 1           # never leave a lone octet
        out += b"a" * take + b"\r\n"
        left -= take + 2
    assert len(out) == n, (len(out), n)
    return out


def ehlo_size(lines):
    for l in lines[1:]:
        kw = l[4:].split()
        if kw and kw[0].upper() == "SIZE":
            return int(kw[1]) if len(kw) > 1 else 0
    return None


def assert_spool_clean(s):
    assert s.queue_files("env") == []
    assert s.queue_files("tmp") == []


# --- message size ----------------------------------------------------------------

def test_message_size_edge(server):
    s = server(conf={"max_message_size": 10000})
    with s.raw("smtp") as r:
        lines = greet(r)
        assert ehlo_size(lines) == 10000
        exact = sized(10000, b"exact")
        code, lines = send_data(r, SENDER, [ALICE], exact)
        assert code == 250, lines
        over = sized(10001, b"over")
        code, lines = send_data(r, SENDER, [ALICE], over)
        assert code == 552 and "5.3.4" in lines[-1], lines
        # far over: read to the end, refuse, stay in step
        code, lines = send_data(r, SENDER, [ALICE], sized(300000, b"huge"))
        assert code == 552, lines
        r.expect(250, "NOOP")
    (data,) = s.wait_mail(ALICE, 1)
    assert split_delivered(data)[3] == exact
    assert s.wait_queue_empty()
    assert_spool_clean(s)
    assert s.queue_files("body") == []


def test_size_parameter_at_mail(server):
    s = server(conf={"max_message_size": 10000})
    with s.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s> SIZE=10000" % SENDER)
        r.expect(250, "RSET")
        lines = r.expect(552, "MAIL FROM:<%s> SIZE=10001" % SENDER)
        assert "5.3.4" in lines[-1], lines
        r.expect(552, "MAIL FROM:<%s> SIZE=1000000000000000" % SENDER)
        # beyond 20 digits (RFC 1870 size-value): a syntax error is fine
        code, lines = r.cmd("MAIL FROM:<%s> SIZE=%s" % (SENDER, "9" * 30))
        assert 500 <= code < 600, lines
        # a smaller SIZE= than the real message does not let it through
        r.expect(250, "MAIL FROM:<%s> SIZE=100" % SENDER)
        r.expect(250, "RCPT TO:<%s>" % ALICE)
        r.expect(354, "DATA")
        r.send(sized(10001) + b".\r\n")
        r.expect(552)
    s.assert_no_mail(ALICE, wait=0.3)


def test_message_size_suffix(server):
    s = server(conf={"max_message_size": "64K"})
    with s.raw("smtp") as r:
        lines = greet(r)
        assert ehlo_size(lines) in (64000, 65536), lines


# --- recipients ------------------------------------------------------------------

@pytest.mark.parametrize("limit", [100, 150])
def test_max_recipients_edge(server, limit):
    s = server(conf={"max_recipients": limit}, aliases="*: alice\n")
    with s.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.send("".join("RCPT TO:<r%d@example.test>\r\n" % i
                       for i in range(limit)))
        for i in range(limit):
            code, lines = r.reply()
            assert code == 250, (i, lines)
        lines = r.expect(452, "RCPT TO:<one-too-many@example.test>")
        assert "4.5.3" in lines[-1], lines
        r.expect(452, "RCPT TO:<two-too-many@example.test>")
        # the message still goes to the accepted ones
        r.expect(354, "DATA")
        r.send(b"Subject: many\r\n\r\nx\r\n.\r\n")
        r.expect(250)
    deadline = time.monotonic() + 20
    while s.mail_count(ALICE) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert s.mail_count(ALICE) >= 1


# --- command line --------------------------------------------------------------------

def test_command_line_512(server):
    s = server(conf={"max_errors": 20})
    with s.raw("smtp") as r:
        greet(r)
        line = b"NOOP " + b"x" * (512 - 2 - 5)
        assert len(line + b"\r\n") == 512
        r.expect(250, line)
        line = b"NOOP " + b"x" * (513 - 2 - 5)
        lines = r.expect(500, line)
        assert "5.5.2" in lines[-1], lines
        r.expect(250, "NOOP")
        # far longer, in several packets: one error, and back in step
        r.send(b"NOOP " + b"y" * 100000)
        time.sleep(0.1)
        r.send(b"y" * 1000 + b"\r\nNOOP\r\n")
        code, lines = r.reply()
        assert code == 500, lines
        r.expect(250)
        assert r.pending(0.2) == b""
        r.expect(250, "MAIL FROM:<%s>" % SENDER)


def test_text_line_length(server):
    s = server(conf={"max_line_length": 1200})
    with s.raw("smtp") as r:
        greet(r)
        ok = b"Subject: long\r\n\r\n" + b"a" * 1200 + b"\r\n"
        code, lines = send_data(r, SENDER, [ALICE], ok)
        assert code == 250, lines
        bad = b"Subject: long\r\n\r\n" + b"b" * 1201 + b"\r\n"
        code, lines = send_data(r, SENDER, [ALICE], bad)
        assert 500 <= code < 600, lines
        r.expect(250, "NOOP")
    (data,) = s.wait_mail(ALICE, 1)
    assert split_delivered(data)[3] == ok


def test_text_line_length_default(srv):
    skip = srv.mail_count(ALICE)
    with srv.raw("smtp") as r:
        greet(r)
        bad = b"Subject: long\r\n\r\n" + b"b" * 999 + b"\r\n"
        code, lines = send_data(r, SENDER, [ALICE], bad)
        assert 500 <= code < 600, lines
        r.expect(250, "NOOP")
    srv.assert_no_mail(ALICE, wait=0.3, skip=skip)


# --- errors --------------------------------------------------------------------

def test_max_errors(server):
    s = server(conf={"max_errors": 3})
    with s.raw("smtp") as r:
        greet(r)
        for _ in range(2):
            code, lines = r.cmd("BOGUS")
            assert 500 <= code < 600, lines
        r.expect(250, "NOOP")
        codes = []
        try:
            for _ in range(3):
                codes.append(r.cmd("BOGUS", timeout=5))
                if codes[-1][0] == 421:
                    break
        except (EOFError, ConnectionResetError, BrokenPipeError):
            pass
        assert codes and codes[-1][0] == 421, codes
        assert "4.7.0" in codes[-1][1][-1]
        assert len(codes) <= 2, "421 only after %d more errors" % len(codes)
        assert r.closed(5)
    # the server goes on
    with s.raw("smtp") as r:
        greet(r)


# --- timeouts --------------------------------------------------------------------

def test_idle_timeout(server):
    s = server(conf={"idle_timeout": 1})
    with s.raw("smtp") as r:
        r.expect(220)
        t0 = time.monotonic()
        lines = r.expect(421, timeout=5)
        waited = time.monotonic() - t0
        assert "4.4.2" in lines[-1], lines
        assert 0.7 <= waited <= 4, waited
        assert r.closed(3)
    # activity keeps a session alive past the idle timeout
    with s.raw("smtp") as r:
        greet(r)
        for _ in range(4):
            time.sleep(0.5)
            r.expect(250, "NOOP")
    # idle in the middle of DATA times out too, and nothing is delivered
    with s.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(250, "RCPT TO:<%s>" % ALICE)
        r.expect(354, "DATA")
        r.send(b"Subject: half\r\n\r\nhalf a message")
        r.expect(421, timeout=5)
        assert r.closed(3)
    s.assert_no_mail(ALICE, wait=0.2)
    assert_spool_clean(s)


def test_session_timeout(server):
    s = server(conf={"idle_timeout": 60, "session_timeout": 2})
    with s.raw("smtp") as r:
        greet(r)
        t0 = time.monotonic()
        code = None
        try:
            while time.monotonic() - t0 < 6:
                code, lines = r.cmd("NOOP", timeout=3)
                if code == 421:
                    break
                time.sleep(0.2)
        except (EOFError, ConnectionResetError, BrokenPipeError):
            code = "closed"
        assert code in (421, "closed"), code
        assert 1.5 <= time.monotonic() - t0 <= 5
        assert r.closed(3)


# --- sessions --------------------------------------------------------------------

def test_sessions_per_ip_and_total(server):
    s = server(conf={"max_sessions_per_ip": 3, "max_sessions": 4})
    time.sleep(0.3)         # let the readiness probe's session end
    open_ = []
    try:
        for _ in range(3):
            r = s.raw("smtp")
            r.expect(220)
            open_.append(r)
        # a 4th from the same address
        with s.raw("smtp") as r:
            lines = r.expect(421)
            assert "4.7.0" in lines[-1], lines
            assert r.closed(3)
        # another address (::1) still gets in: total 4
        r6 = s.raw("smtp", family=socket.AF_INET6)
        r6.expect(220)
        open_.append(r6)
        # the overall limit: a 5th from anywhere is refused
        with s.raw("smtp", family=socket.AF_INET6) as r:
            r.expect(421)
        # sessions that are open still work
        for r in open_:
            r.expect(250, "NOOP")
        # closing one frees a place
        open_.pop(0).cmd("QUIT")
        deadline = time.monotonic() + 5
        while True:
            with s.raw("smtp") as r:
                code, lines = r.reply()
                if code == 220:
                    break
            assert time.monotonic() < deadline, "slot not freed"
            time.sleep(0.1)
    finally:
        for r in open_:
            r.close()


# --- hops ----------------------------------------------------------------------

@pytest.mark.parametrize("limit", [None, 5])
def test_max_hops(server, limit):
    s = server(conf={"max_hops": limit} if limit else None)
    n = limit or 50

    def msg(k):
        hops = b"".join(b"Received: from h%d.example by h%d.example; "
                        b"Mon, 1 Jan 2024 00:00:00 +0000\r\n" % (i, i + 1)
                        for i in range(k))
        # Received: lines in the body are not hops
        return (hops + b"Subject: hops\r\n\r\n"
                + b"Received: not a header\r\n" * (n + 5))

    with s.raw("smtp") as r:
        greet(r)
        code, lines = send_data(r, SENDER, [ALICE], msg(n))
        assert code == 250, lines
        code, lines = send_data(r, SENDER, [ALICE], msg(n + 1))
        assert code == 554 and "5.4.6" in lines[-1], lines
        r.expect(250, "NOOP")
    (data,) = s.wait_mail(ALICE, 1)
    assert split_delivered(data)[3] == msg(n)
