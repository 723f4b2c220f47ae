"""Sending as an alias: an authenticated user may use as MAIL FROM its
own address, the aliases that reach its mailbox (directly, through a
chain, through a list it is on), and what its domain's senders file
grants; anything else is 550 5.7.1 naming the rules. The senders file is
read at start and at reload, its errors naming file and line."""

import pytest

from conftest import swaks

ALICE = "alice@example.test"
BOB = "bob@example.test"

ALIASES = """sales: alice
info: sales
team: alice, bob
fwd: someone@remote.test
"""

SENDERS = """# more addresses users may send as
alice: press@other.test, @brand.test
"""

@pytest.fixture
def srv(server):
    s = server(aliases=ALIASES, start=False)
    (s.confdir / "domains" / "example.test" / "senders").write_text(SENDERS)
    s.start()
    return s

def mail_from(srv, user, addr):
    """The reply to MAIL FROM:<addr> in a session logged in as user."""
    s = srv.submission(user)
    try:
        return s.mail(addr)
    finally:
        s.quit()

@pytest.mark.parametrize("user,addr", [
    (ALICE, ALICE),
    (ALICE, "Alice@Example.TEST"),
    (ALICE, "sales@example.test"),      # alias to alice
    (ALICE, "info@example.test"),       # chain info -> sales -> alice
    (ALICE, "team@example.test"),       # a list alice is on
    (BOB, "team@example.test"),
    (ALICE, "press@other.test"),        # senders file: one address
    (ALICE, "anyone@brand.test"),       # senders file: a whole domain
    (ALICE, ""),                        # the null sender
])
def test_allowed(srv, user, addr):
    code, text = mail_from(srv, user, addr)
    assert code == 250, text

@pytest.mark.parametrize("user,addr", [
    (ALICE, BOB),                       # another user
    (BOB, "sales@example.test"),        # an alias of someone else
    (ALICE, "fwd@example.test"),        # an alias to a remote address
    (ALICE, "nobody@example.test"),     # nothing at all
    (BOB, "press@other.test"),          # granted to alice, not bob
    (ALICE, "someone@other.test"),      # other.test is not granted whole
    (ALICE, "x@sub.brand.test"),        # a subdomain is another domain
])
def test_refused(srv, user, addr):
    code, text = mail_from(srv, user, addr)
    assert code == 550, text
    assert b"5.7.1" in text and b"senders" in text, text
    assert user.encode() in text, text

def test_refused_with_swaks(srv):
    """a real client sees the refusal and nothing is queued"""
    r = swaks("--server", "127.0.0.1:%d" % srv.port("587"), "--tls",
              "--auth-user", ALICE, "--auth-password", srv.users[ALICE],
              "--from", BOB, "--to", ALICE)
    assert r.returncode != 0
    assert "550 5.7.1" in r.stdout, r.stdout
    r = swaks("--server", "127.0.0.1:%d" % srv.port("587"), "--tls",
              "--auth-user", ALICE, "--auth-password", srv.users[ALICE],
              "--from", "sales@example.test", "--to", BOB)
    assert r.returncode == 0, r.stdout
    (data,) = srv.wait_mail(BOB, 1)
    assert data.startswith(b"Return-Path: <sales@example.test>")

def test_senders_reload(srv):
    """a new grant takes effect at reload; a broken file is refused with
    its file and line, and the rules in force stay"""
    path = srv.confdir / "domains" / "example.test" / "senders"
    path.write_text(SENDERS + "bob: press@other.test\n")
    srv.reload()
    assert mail_from(srv, BOB, "press@other.test")[0] == 250
    mark = len(srv.log())
    path.write_text(SENDERS + "\nbob: not an address\n")
    srv.signal(__import__("signal").SIGHUP)
    srv.wait_log(r"reload failed.*domains/example\.test/senders:4: bad "
                 r"address", since=mark)
    assert mail_from(srv, BOB, "press@other.test")[0] == 250
    path.write_text("dave: x@other.test\n")
    mark = len(srv.log())
    srv.signal(__import__("signal").SIGHUP)
    srv.wait_log(r"senders:1: \"dave\" is not a user of example\.test",
                 since=mark)


# --- the From: header of a submission -------------------------------------------

def submit_data(srv, user, mail_from, header, rcpt="carol@example.test"):
    """MAIL FROM:<mail_from> as user, then a message with this header;
    the reply to its end of DATA."""
    s = srv.submission(user)
    try:
        code, text = s.mail(mail_from)
        assert code == 250, text
        code, text = s.rcpt(rcpt)
        assert code == 250, text
        return s.data(header + b"\r\nbody\r\n")
    finally:
        s.quit()


@pytest.mark.parametrize("header", [
    b"From: Alice <alice@example.test>\r\nSubject: own\r\n",
    b"From: \"Sales\" <Sales@Example.TEST>\r\nSubject: alias\r\n",
    b"From: anyone@brand.test (granted)\r\nSubject: domain\r\n",
    b"Subject: no From at all\r\n",
    b"FROM:alice@example.test\r\n",
])
def test_header_from_allowed(srv, header):
    code, text = submit_data(srv, ALICE, ALICE, header)
    assert code == 250, text


@pytest.mark.parametrize("header,why", [
    (b"From: <bob@example.test>\r\n", b"From: address <bob@example.test> "
     b"not owned by authenticated user alice@example.test"),
    (b"From: \"alice@example.test\" <ceo@victim.test>\r\n",
     b"<ceo@victim.test> not owned"),
    (b"From: alice@example.test, bob@example.test\r\n",
     b"must hold exactly one address"),
    (b"Subject: s\r\nFrom: alice@example.test\r\nFrom: bob@example.test\r\n",
     b"must hold exactly one address"),
    # a quoted local part is another spelling: never taken
    (b"From: \"bob\"@example.test\r\n", b"a quoted local part"),
    (b"From: \"alice\"@example.test\r\n", b"a quoted local part"),
])
def test_header_from_refused(srv, header, why):
    """550 5.7.1 at the end of DATA; nothing queued; the session goes on."""
    s = srv.submission(ALICE)
    try:
        code, text = s.mail(ALICE)
        assert code == 250
        assert s.rcpt("carol@example.test")[0] == 250
        code, text = s.data(header + b"\r\nbody\r\n")
        assert code == 550 and b"5.7.1" in text and why in text, text
        # the next message in the same session is fine
        assert s.mail(ALICE)[0] == 250
        assert s.rcpt("carol@example.test")[0] == 250
        code, text = s.data(b"From: alice@example.test\r\n\r\nok\r\n")
        assert code == 250, text
    finally:
        s.quit()
    (msg,) = srv.wait_mail("carol@example.test", 1)
    assert b"\r\n\r\nok\r\n" in msg


def test_header_too_long_refused(srv):
    long = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 900)
                    for i in range(80))
    code, text = submit_data(srv, ALICE, ALICE, long +
                             b"From: alice@example.test\r\n")
    assert code == 552 and b"Header too long" in text, text
