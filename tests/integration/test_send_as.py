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
