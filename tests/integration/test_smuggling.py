"""SMTP smuggling: DATA ends only at CRLF.CRLF.  A bare LF or bare CR
next to a dot never ends the message nor starts a second one; the bytes
are refused (bare_lf = reject, 550 5.6.0) or stored with CRLF line ends
(bare_lf = normalize), never passed through ambiguously."""

import re
import time

import pytest

from conftest import _register, greet, module_server, split_delivered

ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@client.test"

SEQS = {
    "lf.lf": b"\n.\n",
    "crlf.lf": b"\r\n.\n",
    "lf.crlf": b"\n.\r\n",
    "cr.crlf": b"\r.\r\n",
    "cr.cr": b"\r.\r",
    "crlf.cr": b"\r\n.\r",
    "cr.lf": b"\r.\n",
    "lf.cr": b"\n.\r",
}
SMUGGLED = (b"MAIL FROM:<evil@client.test>\r\n"
            b"RCPT TO:<bob@example.test>\r\n"
            b"DATA\r\n"
            b"Subject: smuggled\r\n\r\nevil\r\n")


@pytest.fixture(scope="module", params=["reject", "normalize"])
def _policy_server(request, postern_bin, template, work_root):
    yield from module_server(postern_bin, template, work_root,
                             conf={"bare_lf": request.param,
                                   "max_errors": 100})


@pytest.fixture
def psrv(request, _policy_server):
    _register(request, _policy_server)
    assert _policy_server.running()
    return _policy_server


def policy(s):
    return s.get("bare_lf")


def bare_lf(data):
    return re.search(rb"(?<!\r)\n", data) is not None


def bare_cr(data):
    return re.search(rb"\r(?!\n)", data) is not None


def one_message(r, wire, split_at=None):
    """Send MAIL/RCPT/DATA and wire (which carries its own final
    CRLF.CRLF); return the one reply to the message and check that no
    other reply follows."""
    r.expect(250, "MAIL FROM:<%s>" % SENDER)
    r.expect(250, "RCPT TO:<%s>" % ALICE)
    r.expect(354, "DATA")
    if split_at is None:
        r.send(wire)
    else:
        r.send(wire[:split_at])
        time.sleep(0.02)
        r.send(wire[split_at:])
    code, lines = r.reply()
    extra = r.pending(0.15)
    assert extra == b"", "replies to smuggled commands: %r" % extra
    r.expect(250, "NOOP")
    return code, lines


@pytest.mark.parametrize("split", [False, True], ids=["one-packet", "split"])
@pytest.mark.parametrize("name", list(SEQS))
def test_no_smuggling(psrv, name, split):
    seq = SEQS[name]
    sa, sb = psrv.mail_count(ALICE), psrv.mail_count(BOB)
    head = b"Subject: carrier\r\n\r\nbefore"
    wire = head + seq + SMUGGLED + b".\r\n"
    with psrv.raw("smtp") as r:
        greet(r)
        code, lines = one_message(r, wire,
                                  split_at=len(head) + 1 if split else None)
        # the session is in step: a clean message right after works
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(250, "RCPT TO:<%s>" % ALICE)
        r.expect(354, "DATA")
        r.send(b"Subject: clean\r\n\r\nclean\r\n.\r\n")
        r.expect(250)
        r.expect(221, "QUIT")
    has_cr = bare_cr(seq)
    if policy(psrv) == "reject":
        assert code == 550 and "5.6.0" in lines[-1], lines
        expected = 0
    elif has_cr:
        # a bare CR under normalize: refused, or stored with CRLF
        assert code in (250, 550), lines
        expected = 1 if code == 250 else 0
    else:
        assert code == 250, lines
        expected = 1
    got = psrv.wait_mail(ALICE, expected + 1, skip=sa)
    # the clean one is last
    assert split_delivered(got[-1])[3] == b"Subject: clean\r\n\r\nclean\r\n"
    if expected:
        stored = split_delivered(got[0])[3]
        assert stored.startswith(b"Subject: carrier\r\n\r\nbefore")
        assert b"MAIL FROM:<evil@client.test>" in stored
        assert b"evil\r\n" in stored
        assert not bare_lf(stored), stored
        assert not bare_cr(stored), stored
    # nothing ever reached the smuggled recipient
    psrv.assert_no_mail(BOB, wait=0.05, skip=sb)


def test_bare_lf_in_body(psrv):
    sa = psrv.mail_count(ALICE)
    with psrv.raw("smtp") as r:
        greet(r)
        code, lines = one_message(
            r, b"Subject: lf\r\n\r\none\ntwo\r\nthree\n\r\n.\r\n")
    if policy(psrv) == "reject":
        assert code == 550 and "5.6.0" in lines[-1], lines
        psrv.assert_no_mail(ALICE, wait=0.1, skip=sa)
    else:
        assert code == 250, lines
        (data,) = psrv.wait_mail(ALICE, 1, skip=sa)
        assert split_delivered(data)[3] == \
            b"Subject: lf\r\n\r\none\r\ntwo\r\nthree\r\n\r\n"


def test_bare_lf_in_header(psrv):
    sa = psrv.mail_count(ALICE)
    with psrv.raw("smtp") as r:
        greet(r)
        code, lines = one_message(
            r, b"Subject: lf\nX-Injected: yes\r\n\r\nbody\r\n.\r\n")
    if policy(psrv) == "reject":
        assert code == 550, lines
        psrv.assert_no_mail(ALICE, wait=0.1, skip=sa)
    else:
        assert code == 250, lines
        (data,) = psrv.wait_mail(ALICE, 1, skip=sa)
        assert split_delivered(data)[3] == \
            b"Subject: lf\r\nX-Injected: yes\r\n\r\nbody\r\n"


def test_bare_cr_in_body(psrv):
    sa = psrv.mail_count(ALICE)
    with psrv.raw("smtp") as r:
        greet(r)
        code, lines = one_message(r, b"Subject: cr\r\n\r\na\rb\r\n.\r\n")
    if policy(psrv) == "reject":
        assert code == 550, lines
        psrv.assert_no_mail(ALICE, wait=0.1, skip=sa)
    else:
        assert code in (250, 550), lines
        if code == 250:
            (data,) = psrv.wait_mail(ALICE, 1, skip=sa)
            assert not bare_cr(split_delivered(data)[3])


def test_lf_dot_lf_does_not_end_then_real_end(psrv):
    """After "\\n.\\n" the server still waits for CRLF.CRLF: no reply
    comes until the real terminator is sent."""
    with psrv.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(250, "RCPT TO:<%s>" % ALICE)
        r.expect(354, "DATA")
        r.send(b"Subject: wait\r\n\r\nx\n.\nRSET\r\n")
        assert r.pending(0.3) == b"", "message ended at a bare LF"
        r.send(b"\r\n.\r\n")
        code, lines = r.reply()
        assert code in (250, 550), lines
        assert r.pending(0.2) == b""


def test_nul_refused(psrv):
    sa = psrv.mail_count(ALICE)
    with psrv.raw("smtp") as r:
        greet(r)
        code, lines = one_message(r, b"Subject: nul\r\n\r\na\0b\r\n.\r\n")
        assert 500 <= code < 600, lines
    psrv.assert_no_mail(ALICE, wait=0.1, skip=sa)
