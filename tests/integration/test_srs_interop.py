"""The SRS format, against python3-srs (Debian): it reverses the SRS0
and SRS1 addresses our codec writes, ours reverses what it writes, in
both base64 alphabets and with case smashed; an altered address fails on
both sides."""

import subprocess

import pytest
import SRS

from conftest import find_probe

SECRET = "interop-secret-0123456789"


def probe(*args):
    r = subprocess.run([find_probe("srs_probe")] + list(args),
                       capture_output=True, text=True, timeout=10)
    return r.returncode, r.stdout.strip()


@pytest.fixture
def theirs():
    return SRS.new(secret=SECRET, maxage=21, hashlength=4)


SENDERS = ["bob@example.net", "Bob.Smith+tag@Example.NET",
           "a=b@example.org", "x@[192.0.2.1]"]


@pytest.mark.parametrize("sender", SENDERS)
def test_they_reverse_ours(theirs, sender):
    rc, srs0 = probe("forward", SECRET, sender, "fwd.test")
    assert rc == 0 and srs0.startswith("SRS0="), srs0
    assert theirs.reverse(srs0) == sender
    rc, srs1 = probe("forward", SECRET, srs0, "fwd2.test")
    assert rc == 0 and srs1.startswith("SRS1="), srs1
    assert theirs.reverse(srs1) == srs0
    # and they write exactly what we write
    assert theirs.forward(sender, "i@fwd.test") == srs0
    assert theirs.forward(srs0, "i@fwd2.test") == srs1


@pytest.mark.parametrize("sender", SENDERS)
def test_we_reverse_theirs(theirs, sender):
    srs0 = theirs.forward(sender, "i@fwd.test")
    assert probe("reverse", SECRET, srs0) == (0, sender)
    srs1 = theirs.forward(srs0, "i@fwd2.test")
    assert probe("reverse", SECRET, srs1) == (0, srs0)
    srs1b = theirs.forward(srs1, "i@fwd3.test")
    assert probe("reverse", SECRET, srs1b) == (0, srs0)


def test_url_safe_and_case(theirs):
    """postsrsd 2.2.6 and later write the hash in the URL-safe
    alphabet; remote hosts may smash case: both still reverse"""
    seen = 0
    for i in range(400):
        sender = "u%d@example.net" % i
        srs0 = theirs.forward(sender, "i@fwd.test")
        h = srs0[5:9]
        if "+" not in h and "/" not in h:
            continue
        seen += 1
        url = srs0[:5] + h.replace("+", "-").replace("/", "_") + srs0[9:]
        assert probe("reverse", SECRET, url) == (0, sender)
        assert probe("reverse", SECRET, srs0.lower())[0] == 0
        if seen == 5:
            break
    assert seen == 5


def test_altered_fails_both(theirs):
    rc, srs0 = probe("forward", SECRET, "bob@example.net", "fwd.test")
    bad = srs0.replace("=bob@", "=rob@")
    with pytest.raises(Exception):
        theirs.reverse(bad)
    rc, out = probe("reverse", SECRET, bad)
    assert rc == 1 and "bad hash" in out, out
    # another secret
    other = SRS.new(secret="another-secret-9876543210", maxage=21,
                    hashlength=4)
    with pytest.raises(Exception):
        other.reverse(srs0)
    theirs_srs0 = theirs.forward("bob@example.net", "i@fwd.test")
    rc, out = probe("reverse", "another-secret-9876543210", theirs_srs0)
    assert rc == 1 and "bad hash" in out, out


def test_expired_both(theirs):
    """an address made 22 days ago is refused by both"""
    import time
    then = int(time.time()) - 22 * 86400
    rc, old = probe("forward", SECRET, "bob@example.net", "fwd.test",
                    str(then))
    assert rc == 0
    with pytest.raises(Exception):
        theirs.reverse(old)
    rc, out = probe("reverse", SECRET, old)
    assert rc == 1 and "expired" in out, out
    rc, recent = probe("forward", SECRET, "bob@example.net", "fwd.test",
                       str(then + 2 * 86400))
    assert theirs.reverse(recent) == "bob@example.net"
    assert probe("reverse", SECRET, recent) == (0, "bob@example.net")
