"""Aliases: an alias to a user, several targets, a catch-all; an unknown
user of a local domain is refused at RCPT and nothing is queued."""

import os
import time

import pytest

from conftest import greet, send_data, split_delivered

ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@example.test"
SENDER = "sender@client.test"

ALIASES = """# test aliases
sales: alice
team: alice, bob@example.test
postmaster: carol@example.test
"""


def send(s, rcpts, subject="x"):
    body = b"Subject: " + subject.encode() + b"\r\n\r\nbody\r\n"
    with s.raw("smtp") as r:
        greet(r)
        code, lines = send_data(r, SENDER, rcpts, body)
        assert code == 250, lines
    return body


@pytest.fixture
def aliased(server):
    return server(aliases=ALIASES)


def test_alias_to_user(aliased):
    body = send(aliased, ["sales@example.test"])
    (data,) = aliased.wait_mail(ALICE, 1)
    assert split_delivered(data)[3] == body
    aliased.assert_no_mail(BOB, wait=0)
    aliased.assert_no_mail("sales@example.test", wait=0)


def test_alias_several_targets(aliased):
    body = send(aliased, ["team@example.test"])
    (a,) = aliased.wait_mail(ALICE, 1)
    (b,) = aliased.wait_mail(BOB, 1)
    assert split_delivered(a)[3] == split_delivered(b)[3] == body
    aliased.assert_no_mail(CAROL, wait=0)


def test_alias_full_address_target(aliased):
    send(aliased, ["postmaster@example.test"])
    aliased.wait_mail(CAROL, 1)


def test_alias_case_insensitive(aliased):
    send(aliased, ["Sales@EXAMPLE.test"])
    aliased.wait_mail(ALICE, 1)


def test_user_case_insensitive(aliased):
    send(aliased, ["ALICE@Example.Test"])
    aliased.wait_mail(ALICE, 1)


def test_unknown_user_refused_nothing_queued(aliased):
    mark = len(aliased.log())
    with aliased.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        for who in ("nobody@example.test", "alice.x@example.test",
                    "sales2@example.test", "alic@example.test"):
            lines = r.expect(550, "RCPT TO:<%s>" % who)
            assert "5.1.1" in lines[-1], lines
        code, lines = r.cmd("DATA")
        assert code in (503, 554), lines
        r.expect(250, "RSET")
    assert aliased.all_mail() == []
    assert aliased.queue_files("env") == []
    assert aliased.queue_files("body") == []
    assert "queued" not in aliased.log()[mark:].lower()


def test_catchall(server):
    s = server(aliases="*: bob\n")
    body = send(s, ["anything@example.test", "x.y+z@example.test"])
    # one message with two recipients both resolving to bob: one or two
    # copies are both fine, but at least one, each byte-exact
    deadline = time.monotonic() + 10
    while s.mail_count(BOB) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    files = s.mail_files(BOB)
    assert 1 <= len(files) <= 2
    for f in files:
        assert split_delivered(f.read_bytes())[3] == body
    # a real user still gets its own mail, not the catch-all
    send(s, [ALICE])
    s.wait_mail(ALICE, 1)
    assert s.mail_count(BOB) == len(files)


def test_catchall_does_not_open_relay(server):
    s = server(aliases="*: bob\n")
    with s.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        code, lines = r.cmd("RCPT TO:<anything@elsewhere.example>")
        assert code == 554 and "5.7.1" in lines[-1], lines
    s.assert_no_mail(BOB, wait=0.3)
    assert s.queue_files("env") == []


def test_no_catchall_means_refusal(aliased):
    with aliased.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(550, "RCPT TO:<random-name@example.test>")
        r.expect(250, "RCPT TO:<sales@example.test>")


def test_missing_aliases_file(server):
    """A domain without its aliases file stops a reload (a lost file must
    not pass for "no aliases"), naming it; user-add in a folder made by
    hand writes an empty one."""
    s = server(aliases=ALIASES)
    (s.confdir / "domains" / "example.test" / "aliases").unlink()
    n = len(s.log())
    s.reload()
    assert s.wait_log(r"reload failed.*domains/example.test/aliases: "
                      r"missing \(an empty file means no aliases\)", since=n)
    send(s, ["sales@example.test"])        # the running table stands
    s.wait_mail(ALICE, 1)
    (s.confdir / "domains" / "second.test").mkdir()
    os.chmod(s.confdir / "domains" / "second.test", 0o755)
    cp = s.ctl("user-add", "dan@second.test", "--password-stdin",
               input="pw-dan-12345\n")
    assert cp.returncode == 0, cp.stderr
    assert "created" in cp.stdout and "second.test/aliases" in cp.stdout
    s.write_aliases(ALIASES)
    n = len(s.log())
    s.reload()
    assert s.wait_log(r"configuration reloaded", since=n)
    send(s, ["dan@second.test"])
    s.wait_mail("dan@second.test", 1)
