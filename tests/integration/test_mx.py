"""Port 25 (MX) to local users: the Maildir file holds Return-Path,
Delivered-To, postern's Received header, then the client's message bytes
exactly (after dot-unstuffing)."""

import random
import re
import socket
import time

import pytest

from conftest import dot_stuff, greet, queue_ids, send_data, split_delivered

ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@client.test"


def tricky_message():
    lines = [
        b"From: <sender@client.test>",
        b"To: <alice@example.test>",
        b"Subject: =?utf-8?q?byte_exact?=",
        b"X-Eight-Bit: caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac",
        b"",
        b".",
        b"..",
        b"...",
        b". leading dot and a space",
        b".\tleading dot and a tab",
        b"x" * 998,
        b"",
        b"",
        b"trailing spaces   ",
        b"\ttab first",
        b"From the start, no mbox escaping",
        b">From",
        b"latin-1 and raw 8-bit: " + bytes(range(0x80, 0x100)),
        b"controls \x01\x02\x1b[0m\x7f",
        b"utf-8: h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x93\xae",
        b"." + b"z" * 900,
        b"last line",
    ]
    return b"\r\n".join(lines) + b"\r\n"


def deliver_raw(srv, body, rcpts=(ALICE,), mail_from=SENDER,
                params=b" BODY=8BITMIME", family=None):
    with srv.raw("smtp", family=family) as r:
        lines = greet(r)
        assert any("8BITMIME" in l.upper() for l in lines)
        code, reply = send_data(r, mail_from, rcpts, body, params=params)
        assert code == 250, reply
        r.expect(221, "QUIT")
    return reply


def test_byte_exact(srv):
    body = tricky_message()
    skip = srv.mail_count(ALICE)
    reply = deliver_raw(srv, body)
    (data,) = srv.wait_mail(ALICE, 1, skip=skip)
    rp, dt, received, stored = split_delivered(data)
    assert rp == SENDER
    assert dt == ALICE
    assert stored == body
    ids = queue_ids(reply)
    assert any(i in received for i in ids), (reply, received)


def test_byte_exact_large_random(srv):
    """About 1 MiB of random 8-bit lines of 0..998 octets, many starting
    with dots, sent in odd-sized chunks."""
    rnd = random.Random(20240501)
    alphabet = bytes(b for b in range(1, 256) if b not in (10, 13))
    lines, size = [], 0
    while size < 1 << 20:
        n = rnd.choice([0, 1, 2, 76, 200, 998, rnd.randrange(0, 999)])
        ln = bytes(rnd.choice(alphabet) for _ in range(n)) \
            if n < 100 else rnd.randbytes(n).translate(
                bytes.maketrans(b"\r\n\0", b"xyz"))
        if rnd.random() < 0.1:
            ln = b"." + ln[1:] if ln else b"."
        lines.append(ln)
        size += len(ln) + 2
    body = b"Subject: big\r\n\r\n" + b"\r\n".join(lines) + b"\r\n"
    skip = srv.mail_count(ALICE)
    with srv.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s> BODY=8BITMIME SIZE=%d" % (SENDER,
                                                                 len(body)))
        r.expect(250, "RCPT TO:<%s>" % ALICE)
        r.expect(354, "DATA")
        wire = dot_stuff(body) + b".\r\n"
        i = 0
        while i < len(wire):
            n = rnd.choice([1, 3, 7, 1000, 4096, 65536])
            r.send(wire[i:i + n])
            i += n
        r.expect(250)
    (data,) = srv.wait_mail(ALICE, 1, skip=skip, timeout=20)
    assert split_delivered(data)[3] == body


def test_terminator_split_across_packets(srv):
    body = b"Subject: split\r\n\r\nline\r\n.dot\r\n"
    skip = srv.mail_count(ALICE)
    with srv.raw("smtp") as r:
        greet(r)
        r.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(250, "RCPT TO:<%s>" % ALICE)
        r.expect(354, "DATA")
        for b in dot_stuff(body) + b".\r\n":
            r.send(bytes([b]))
            time.sleep(0.002)
        r.expect(250)
        r.expect(250, "NOOP")
    (data,) = srv.wait_mail(ALICE, 1, skip=skip)
    assert split_delivered(data)[3] == body


def test_smtplib_sendmail(srv):
    skip = srv.mail_count(BOB)
    body = (b"From: <sender@client.test>\r\nSubject: smtplib\r\n\r\n"
            b".starts with a dot\r\n..two\r\nend\r\n")
    s = srv.smtp()
    refused = s.sendmail(SENDER, [BOB], body, mail_options=["BODY=8BITMIME"])
    assert refused == {}
    s.quit()
    (data,) = srv.wait_mail(BOB, 1, skip=skip)
    assert split_delivered(data)[3] == body


def test_smtputf8(srv):
    skip = srv.mail_count(ALICE)
    body = ("From: <s\u00e9nder@client.test>\r\nSubject: \u00fcnic\u00f6de "
            "\u2709\r\n\r\nbody \u00e9\r\n").encode()
    with srv.raw("smtp") as r:
        lines = greet(r)
        assert any(l[4:].upper().startswith("SMTPUTF8") for l in lines)
        code, reply = send_data(r, "s\u00e9nder@client.test", [ALICE], body,
                                params=b" SMTPUTF8 BODY=8BITMIME")
        assert code == 250, reply
    (data,) = srv.wait_mail(ALICE, 1, skip=skip)
    rp, _, _, stored = split_delivered(data)
    assert stored == body
    assert rp == "s\u00e9nder@client.test"


def test_ipv6(srv):
    skip = srv.mail_count(ALICE)
    body = b"Subject: over IPv6\r\n\r\nhi\r\n"
    deliver_raw(srv, body, family=socket.AF_INET6)
    (data,) = srv.wait_mail(ALICE, 1, skip=skip)
    _, _, received, stored = split_delivered(data)
    assert stored == body
    assert "::1" in received


def test_several_recipients(srv):
    sa, sb = srv.mail_count(ALICE), srv.mail_count(BOB)
    body = b"Subject: two\r\n\r\nfor both\r\n"
    deliver_raw(srv, body, rcpts=(ALICE, BOB))
    (a,) = srv.wait_mail(ALICE, 1, skip=sa)
    (b,) = srv.wait_mail(BOB, 1, skip=sb)
    assert split_delivered(a)[1] == ALICE
    assert split_delivered(b)[1] == BOB
    assert split_delivered(a)[3] == split_delivered(b)[3] == body


def test_null_sender(srv):
    skip = srv.mail_count(ALICE)
    body = b"Subject: bounce\r\n\r\nA DSN\r\n"
    deliver_raw(srv, body, mail_from="")
    (data,) = srv.wait_mail(ALICE, 1, skip=skip)
    rp, _, _, stored = split_delivered(data)
    assert rp == ""
    assert data.startswith(b"Return-Path: <>\r\n")
    assert stored == body


def test_received_header_and_logs(srv):
    skip = srv.mail_count(ALICE)
    mark = len(srv.log())
    body = b"Subject: received\r\n\r\nx\r\n"
    reply = deliver_raw(srv, body)
    (data,) = srv.wait_mail(ALICE, 1, skip=skip)
    _, _, received, _ = split_delivered(data)
    assert received.startswith("Received: from client.test"), received
    assert "127.0.0.1" in received
    assert "by mail.example.test" in received
    assert re.search(r"\bwith ESMTP\b", received), received
    ids = [i for i in queue_ids(reply) if i in received]
    assert ids, (reply, received)
    qid = ids[0]
    # one line per event, each carrying the queue id
    assert srv.wait_log(r"msgid=%s\b.*" % re.escape(qid), since=mark)
    q = re.escape(qid)
    assert srv.wait_log(r"(?i)msgid=%s\b.*deliver|deliver.*msgid=%s\b"
                        % (q, q), since=mark)
    lines = [l for l in srv.log()[mark:].splitlines() if qid in l]
    assert len(lines) >= 2, lines
    assert any(SENDER in l for l in lines), lines


def test_pipelining(srv):
    sa, sb = srv.mail_count(ALICE), srv.mail_count(BOB)
    with srv.raw("smtp") as r:
        lines = greet(r)
        assert any(l[4:].upper() == "PIPELINING" for l in lines)
        r.send("MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nRCPT TO:<nobody@example"
               ".test>\r\nRCPT TO:<%s>\r\nDATA\r\n" % (SENDER, ALICE, BOB))
        assert r.reply()[0] == 250
        assert r.reply()[0] == 250
        code, lines = r.reply()
        assert code == 550 and "5.1.1" in lines[-1], lines
        assert r.reply()[0] == 250
        assert r.reply()[0] == 354
        # the message, then a whole second transaction, in one packet
        r.send(b"Subject: one\r\n\r\n1\r\n.\r\n"
               b"MAIL FROM:<sender@client.test>\r\n"
               b"RCPT TO:<bob@example.test>\r\nDATA\r\n")
        assert r.reply()[0] == 250
        assert r.reply()[0] == 250
        assert r.reply()[0] == 250
        assert r.reply()[0] == 354
        r.send(b"Subject: two\r\n\r\n2\r\n.\r\nQUIT\r\n")
        assert r.reply()[0] == 250
        assert r.reply()[0] == 221
    (a,) = srv.wait_mail(ALICE, 1, skip=sa)
    b = srv.wait_mail(BOB, 2, skip=sb)
    assert split_delivered(a)[3] == b"Subject: one\r\n\r\n1\r\n"
    assert sorted(split_delivered(x)[3] for x in b) == [
        b"Subject: one\r\n\r\n1\r\n", b"Subject: two\r\n\r\n2\r\n"]


@pytest.mark.parametrize("param,ok", [
    (b" BODY=7BIT", True),
    (b" BODY=8BITMIME", True),
    (b" body=8bitmime", True),
    (b" BODY=BINARYMIME", False),
    (b" BODY=", False),
    (b" FOO=BAR", False),
    (b" SIZE=abc", False),
])
def test_mail_parameters(srv, param, ok):
    with srv.raw("smtp") as r:
        greet(r)
        code, lines = r.cmd(b"MAIL FROM:<sender@client.test>" + param)
        if ok:
            assert code == 250, lines
        else:
            assert 500 <= code < 600, lines
            r.expect(250, "MAIL FROM:<sender@client.test>")


def test_empty_message(srv):
    skip = srv.mail_count(ALICE)
    with srv.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(250, "RCPT TO:<%s>" % ALICE)
        r.expect(354, "DATA")
        r.send(b".\r\n")
        r.expect(250)
    (data,) = srv.wait_mail(ALICE, 1, skip=skip)
    assert split_delivered(data)[3] == b""
