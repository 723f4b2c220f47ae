"""Recipient normalisation and `postern aliases-resolve`.

suffix_separators (default "+") and drop_characters (default none), per
server and per domain (domains/DOMAIN/domain.conf), through the real
server: i+news@ reaches i's mailbox, j.doe@ reaches jdoe when asked,
exact names win, an address both user and alias stops a start and a
reload naming file and line.  aliases-resolve prints each step and its
exit code says whether anything is left: user, alias, chain, catch-all,
suffix dropped, pipe, remote, loop, depth limit, SRS verified or not,
unknown, a broken file.
"""

import subprocess

import pytest

from conftest import greet, split_delivered
from test_aliases import send as mx_send

ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@example.test"

ALIASES = """# aliases
sales: alice, bob
team: sales, partner@elsewhere.test
i: carol
bob.smith: bob
l1: l2
l2: l1
d1: d2
d2: d3
d3: d4
d4: d5
d5: d6
d6: d7
d7: d8
d8: d9
d9: alice
run: | /usr/bin/true
"""


def resolve(srv, addr):
    return srv.ctl("aliases-resolve", addr)


@pytest.fixture
def srv(server):
    return server(aliases=ALIASES)


# --- normalisation through the server --------------------------------------------

def test_suffix_reaches_user_and_alias(srv):
    """alice+news@ is alice's; i+x@ follows alias i to carol; sales+y@
    reaches both of sales's users; the RCPT replies are 250."""
    body = mx_send(srv, ["alice+news@example.test", "i+x@example.test"])
    (a,) = srv.wait_mail(ALICE, 1)
    assert split_delivered(a)[3] == body
    srv.wait_mail(CAROL, 1)
    mx_send(srv, ["Sales+Y@example.test"])
    srv.wait_mail(ALICE, 2)
    srv.wait_mail(BOB, 1)


def test_unknown_with_suffix_refused(srv):
    with srv.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<s@client.test>")
        code, lines = r.cmd("RCPT TO:<nobody+x@example.test>")
        assert code == 550 and "5.1.1" in lines[-1], lines
        code, lines = r.cmd("RCPT TO:<+alice@example.test>")
        assert code == 550, lines


def test_drop_characters_per_domain(server):
    """drop_characters = . in domain.conf: a.lice@ is alice; exact
    bob.smith (an alias) still wins over dropping; without the setting
    a.lice@ is refused."""
    s = server(aliases=ALIASES, start=False)
    dconf = s.confdir / "domains" / "example.test" / "domain.conf"
    dconf.write_text("drop_characters = .\nsuffix_separators = +-\n")
    s.start()
    mx_send(s, ["a.lice-list@example.test", "bob.smith@example.test"])
    s.wait_mail(ALICE, 1)
    s.wait_mail(BOB, 1)
    dconf.write_text("")
    n = len(s.log())
    s.reload()
    assert s.wait_log(r"configuration reloaded", since=n)
    with s.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<s@client.test>")
        code, lines = r.cmd("RCPT TO:<a.lice@example.test>")
        assert code == 550, lines


def test_server_wide_setting(server):
    """suffix_separators = none in postern.conf: alice+x@ is unknown."""
    s = server(aliases=ALIASES, conf={"suffix_separators": "none"})
    with s.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<s@client.test>")
        code, lines = r.cmd("RCPT TO:<alice+x@example.test>")
        assert code == 550, lines
        r.expect(250, "RCPT TO:<alice@example.test>")


def test_user_and_alias_conflict(server):
    """An address that is both a user and an alias stops the start and a
    reload, naming file and line; the running server keeps its table."""
    s = server(aliases=ALIASES + "alice: bob\n", start=False)
    cp = subprocess.run([s.bin, "-C", str(s.confdir), "serve"],
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode != 0
    assert ('domains/example.test/aliases:18: "alice" is both a user of '
            'example.test and an alias') in cp.stderr + cp.stdout
    s.write_aliases(ALIASES)
    s.start()
    s.write_aliases(ALIASES + "bob: carol\n")
    n = len(s.log())
    s.reload()
    assert s.wait_log(r"reload failed.*aliases:18: \"bob\" is both",
                      since=n)
    mx_send(s, ["sales@example.test"])
    s.wait_mail(BOB, 1)
    s.assert_no_mail(CAROL)


# --- aliases-resolve ------------------------------------------------------------

CASES = [
    # address, exit code, substrings of the output, in order
    (ALICE, 0, ["alice@example.test: user of example.test",
                "result:", "local   alice@example.test"]),
    ("sales@example.test", 0, ["alias (domains/example.test/aliases:2)",
                               "local   alice@example.test",
                               "local   bob@example.test"]),
    ("team@example.test", 0, ["team@example.test: alias",
                              "sales@example.test: alias",
                              "partner@elsewhere.test: another domain",
                              "remote  partner@elsewhere.test",
                              "forwarded by team@example.test"]),
    ("alice+news@example.test", 0, ['suffix "+news" dropped: '
                                    'alice@example.test',
                                    "local   alice@example.test"]),
    ("i+x@example.test", 0, ['suffix "+x" dropped: i@example.test',
                             "carol+x@example.test", 'suffix "+x" dropped',
                             "local   carol@example.test"]),
    ("l1@example.test", 1, ["l2@example.test: alias",
                            "alias loop", "failed  l1@example.test: "
                            "alias loop"]),
    ("d1@example.test", 1, ["aliases nested deeper than 8",
                            "failed  alice@example.test: aliases nested"]),
    ("run@example.test", 0, ["| /usr/bin/true: pipe",
                             "pipe    | /usr/bin/true"]),
    ("nobody@example.test", 1, ["no such user or alias in example.test",
                                "failed  nobody@example.test"]),
    ("someone@gmail.test", 0, ["another domain", "remote  "
                               "someone@gmail.test"]),
    ("postmaster", 0, ["postmaster@example.test"]),
]


@pytest.mark.parametrize("addr,rc,want", CASES, ids=[c[0] for c in CASES])
def test_resolve(srv, addr, rc, want):
    cp = resolve(srv, addr)
    assert cp.returncode == rc, cp.stdout + cp.stderr
    pos = 0
    for w in want:
        i = cp.stdout.find(w, pos)
        assert i >= 0, "%r not after %d in:\n%s" % (w, pos, cp.stdout)
        pos = i + len(w)


def test_resolve_catchall(server):
    s = server(aliases="*: someone@gmail.test\n", start=False)
    cp = resolve(s, "any123@example.test")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "no user or alias: the catch-all (domains/example.test/" \
           "aliases:1)" in cp.stdout
    assert "remote  someone@gmail.test" in cp.stdout
    assert "SRS0=" in cp.stdout


def test_resolve_srs(server):
    """A good SRS address resolves to its original sender; an altered one
    fails, and says why."""
    s = server(aliases=ALIASES, start=False)
    from test_forward import srs_of
    good = srs_of(s, "Bob@Sender.test")
    cp = resolve(s, good)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "SRS address, verified: a bounce for Bob@Sender.test" in \
        cp.stdout
    assert "remote  Bob@sender.test" in cp.stdout
    h = good.split("=")[1]
    bad = good.replace("=" + h + "=", "=" + ("AAAA" if h != "AAAA" else
                                             "BBBB") + "=")
    cp = resolve(s, bad)
    assert cp.returncode == 1
    assert "hash does not match" in cp.stdout or "bad hash" in cp.stdout


def test_resolve_errors(server):
    s = server(start=False)
    cp = s.ctl("aliases-resolve")
    assert cp.returncode == 2 and "usage" in cp.stderr
    s.write_aliases("good: alice\nbroken line\n")
    cp = resolve(s, ALICE)
    assert cp.returncode == 1
    assert 'domains/example.test/aliases:2: missing ":"' in cp.stderr
