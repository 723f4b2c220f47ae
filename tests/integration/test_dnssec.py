"""DNSSEC validation of outbound lookups (postern.conf's
dnssec_trust_anchor), and the rule that keeps mail flowing when
validation fails.

tests/integration/dnsserver.py serves signed zones (Zone.sign: an ECDSA
P-256 key, RRSIGs for queries with the DO bit, NSEC denial) and broken
ones: "badsig" (every signature corrupted) and "nosig" (the signatures
stripped, as many VPS resolvers do).  The trust anchor file holds the
zones' DNSKEY (or DS) records, so sec.test validates as secure and the
broken zones as bogus.

Two levels: tests/unit/dns_probe (dns.c + mx.c on a real loop) for the
flags of each answer, then `postern serve` (with -d, for the deliver
process's debug lines) delivering to aiosmtpd peers: a secure MX plan
is logged as secure; a bogus answer is looked up again without
validation, the mail is delivered, and the warning comes once per name;
dnssec_trust_anchor = none validates nothing.
"""

import os
import re
import subprocess

import pytest

from conftest import find_probe, new_dir
from dnsserver import DNSServer, Zone
from mxpeer import (ALICE, ROOT_KEY, Peers, Probe, free_port,
                    outbound_server, send, wait_for)

A_SEC, A_BAD, A_STRIP, A_PLAIN = ("127.0.0.31", "127.0.0.32", "127.0.0.33",
                                  "127.0.0.34")
ADDRS = (A_SEC, A_BAD, A_STRIP, A_PLAIN)

RECORDS = {
    # signed, valid: secure with the anchor
    "sec.test": {"MX": "10 mx.sec.test"},
    "mx.sec.test": {"A": A_SEC},
    # signed, every signature corrupted: bogus
    "bad.test": {"MX": "10 mx.bad.test"},
    "mx.bad.test": {"A": A_BAD},
    # DNSKEY served, never an RRSIG (a stripping resolver): bogus
    "strip.test": {"MX": "10 mx.strip.test"},
    "mx.strip.test": {"A": A_STRIP},
    # not signed, no anchor above it: insecure, never bogus
    "plain.test": {"MX": "10 mx.plain.test"},
    "mx.plain.test": {"A": A_PLAIN},
}


@pytest.fixture(scope="module")
def zone():
    z = Zone(RECORDS)
    keys = {"sec": z.sign("sec.test"),
            "bad": z.sign("bad.test", mode="badsig"),
            "strip": z.sign("strip.test", mode="nosig")}
    srv = DNSServer(z).start()
    yield srv, keys
    srv.stop()


@pytest.fixture
def anchors(zone, work_root, request):
    """Factory: a trust anchor file holding the named zones' anchors, where
    the unprivileged deliver process can read it."""
    _, keys = zone
    top = new_dir(work_root, "anchors-" + request.node.name)

    def make(*names, kind="DNSKEY"):
        p = top / ("%s-%s" % (kind, "-".join(names)))
        p.write_text("".join(keys[n].anchor(kind) + "\n" for n in names))
        os.chmod(p, 0o644)
        return str(p)
    return make


# --- the flags of each answer (dns_probe) ------------------------------------------

@pytest.fixture(scope="module")
def probe_bin():
    return find_probe()


def probe(probe_bin, srv, *args):
    """(stdout lines, stderr) of dns_probe asking srv."""
    return Probe(probe_bin, srv).run(*args, timeout_ms=5000)


@pytest.mark.parametrize("kind", ["DNSKEY", "DS"])
def test_signed_zone_is_secure(probe_bin, zone, anchors, kind):
    srv, _ = zone
    ta = anchors("sec", kind=kind)
    lines, _ = probe(probe_bin, srv, "--trust-anchor", ta, "--query", "MX",
                     "sec.test")
    assert lines == ["rcode 0 nxdomain 0 secure 1 bogus 0 timeout 0 nbad 0",
                     "MX 10 mx.sec.test"]
    # denial is proven too: NODATA and NXDOMAIN with their NSEC records
    lines, _ = probe(probe_bin, srv, "--trust-anchor", ta, "--query",
                     "AAAA", "mx.sec.test")
    assert lines == ["rcode 0 nxdomain 0 secure 1 bogus 0 timeout 0 nbad 0"]
    lines, _ = probe(probe_bin, srv, "--trust-anchor", ta, "--query", "A",
                     "nosuch.sec.test")
    assert lines == ["rcode 3 nxdomain 1 secure 1 bogus 0 timeout 0 nbad 0"]
    # the whole plan: MX answer and the host's A and AAAA answers
    lines, err = probe(probe_bin, srv, "--trust-anchor", ta, "sec.test")
    assert lines == ["10 mx.sec.test " + A_SEC]
    assert "mx_secure=1" in err and "secure=1\n" in err, err


def test_without_anchor_nothing_is_secure(probe_bin, zone, anchors):
    srv, _ = zone
    lines, _ = probe(probe_bin, srv, "--query", "MX", "sec.test")
    assert lines[0] == "rcode 0 nxdomain 0 secure 0 bogus 0 timeout 0 nbad 0"
    # an anchor for another zone: sec.test is insecure, not bogus
    lines, err = probe(probe_bin, srv, "--trust-anchor", anchors("bad"),
                       "--query", "MX", "sec.test")
    assert lines == ["rcode 0 nxdomain 0 secure 0 bogus 0 timeout 0 nbad 0",
                     "MX 10 mx.sec.test"]
    assert "bogus" not in err and "unvalidated" not in err


@pytest.mark.parametrize("domain,why", [
    ("bad.test", "signature"),      # "ECDSA signature verification failed"
    ("strip.test", "no signatures"),
])
def test_bogus_withheld_without_fallback(probe_bin, zone, anchors, domain,
                                         why):
    """Plain dns.c: a bogus answer has no records, and the plan fails
    (temporarily)."""
    srv, _ = zone
    ta = anchors("sec", "bad", "strip")
    lines, err = probe(probe_bin, srv, "--trust-anchor", ta, "--query",
                       "MX", domain)
    # (libunbound keeps the answer's rcode; the records are dropped)
    assert len(lines) == 1 and lines[0].endswith(
        " nxdomain 0 secure 0 bogus 1 timeout 0 nbad 0"), lines
    assert re.search(r"^bogus .*%s" % why, err, re.M), err
    lines, _ = probe(probe_bin, srv, "--trust-anchor", ta, domain)
    assert lines[0].startswith("error temp 4.4.3 "), lines
    assert "DNSSEC" in lines[0]


@pytest.mark.parametrize("domain,addr,why", [
    ("bad.test", A_BAD, "signature"),
    ("strip.test", A_STRIP, "no signatures"),
])
def test_bogus_fallback(probe_bin, zone, anchors, domain, addr, why):
    """With the fallback (as deliver runs it), a bogus answer is looked up
    again without validation: records, never secure, marked unvalidated;
    one warning per name however many lookups."""
    srv, _ = zone
    ta = anchors("sec", "bad", "strip")
    lines, err = probe(probe_bin, srv, "--trust-anchor", ta,
                       "--bogus-fallback", "--query", "MX", domain)
    assert lines == ["rcode 0 nxdomain 0 secure 0 bogus 0 timeout 0 nbad 0",
                     "MX 10 mx.%s" % domain]
    assert re.search(r"^unvalidated .*%s" % why, err, re.M), err
    # 8 plans at once (every second one cancelled): 4 complete, each
    # with bogus MX and A answers, and each name is warned about once
    lines, err = probe(probe_bin, srv, "--trust-anchor", ta,
                       "--bogus-fallback", "--parallel", "8", domain)
    assert lines == ["10 mx.%s %s" % (domain, addr)]
    assert "completed 4" in err
    assert "mx_secure=0" in err and "secure=0\n" in err, err
    # (the host is warned about for its A or its AAAA, whichever came
    # first: one line per name)
    warned = re.findall(r"dns: (\S+) (?:MX|A|AAAA): DNSSEC validation "
                        r"failed \(bogus: [^\n]*%s" % why, err)
    assert sorted(warned) == sorted([domain, "mx." + domain]), err
    # and the signed zone next to them stays secure
    lines, err = probe(probe_bin, srv, "--trust-anchor", ta,
                       "--bogus-fallback", "sec.test")
    assert lines == ["10 mx.sec.test " + A_SEC]
    assert "mx_secure=1" in err and "validation failed" not in err, err


def test_malformed_anchor_goes_unvalidated(probe_bin, zone, tmp_path):
    """An anchor file libunbound cannot use (read at the first query):
    every lookup would fail; they go on unvalidated instead, said once."""
    srv, _ = zone
    bad = tmp_path / "garbage.key"
    bad.write_text("this is not a trust anchor\n")
    lines, err = probe(probe_bin, srv, "--trust-anchor", str(bad),
                       "--bogus-fallback", "--parallel", "4", "sec.test")
    assert lines == ["10 mx.sec.test " + A_SEC]
    assert "completed 2" in err, err
    assert "mx_secure=0" in err, err
    assert err.count("the DNSSEC trust anchor did not load") == 1, err


# --- through postern serve ------------------------------------------------------------

@pytest.fixture
def port():
    return free_port(ADDRS)


@pytest.fixture
def peers(port):
    """A started MXPeer on every address of ADDRS, by address."""
    with Peers(port) as made:
        yield {a: made(a) for a in ADDRS}


@pytest.fixture
def dsrv(server, zone, port):
    """Factory: postern serve -d resolving through the test DNS server."""
    srv, _ = zone

    def make(anchor):
        return outbound_server(server, srv, port, debug=True,
                               dnssec_trust_anchor=anchor)
    return make


def plan_lines(s, domain):
    return re.findall(r"domain=%s dnssec: MX answer ([a-z ]+), \d+ host\(s\)"
                      r", best \S+ addresses ([a-z ]+)" % re.escape(domain),
                      s.log())


def bogus_warnings(s, name, types="MX|A|AAAA"):
    return re.findall(r"dns: %s (?:%s): DNSSEC validation failed \(bogus: "
                      % (re.escape(name), types), s.log())


@pytest.mark.parametrize("kind", ["DNSKEY", "DS"])
def test_secure_mx_delivered(dsrv, peers, anchors, kind):
    """(a) A signed domain under the anchor: delivered, and the deliver
    process logs its MX plan as secure."""
    s = dsrv(anchors("sec", kind=kind))
    send(s, ALICE, ["bob@sec.test"], ["to a signed domain"])
    (m,) = peers[A_SEC].wait(1)
    assert m["rcpts"] == ["bob@sec.test"]
    assert wait_for(lambda: plan_lines(s, "sec.test")), s.log()[-3000:]
    assert plan_lines(s, "sec.test") == [("secure", "secure")]
    assert "validation failed" not in s.log()
    assert s.wait_log(r"dnssec_trust_anchor=%s" % re.escape(
        anchors("sec", kind=kind)))


@pytest.mark.parametrize("domain,addr", [("bad.test", A_BAD),
                                         ("strip.test", A_STRIP)])
def test_bogus_mx_still_delivered(dsrv, peers, anchors, domain, addr):
    """(b) The anchor says the zone is signed, its signatures are broken
    or missing: the mail is delivered all the same, the plan is not
    secure, and the bogus reason is logged once per name, not once per
    message."""
    s = dsrv(anchors("sec", "bad", "strip"))
    send(s, ALICE, ["carol@" + domain], ["first"])
    peers[addr].wait(1)
    assert wait_for(lambda: bogus_warnings(s, domain, "MX"))
    assert plan_lines(s, domain) == [("not secure", "not secure")]
    assert len(bogus_warnings(s, "mx." + domain)) == 1
    # the idle connection goes (QUIT): the next message needs a new plan
    assert wait_for(lambda: peers[addr].quits >= 1, 15)
    send(s, ALICE, ["carol@" + domain], ["second"])
    peers[addr].wait(2)
    assert wait_for(lambda: len(plan_lines(s, domain)) == 2)
    assert len(bogus_warnings(s, domain)) == 1, s.log()[-3000:]
    assert len(bogus_warnings(s, "mx." + domain)) == 1
    assert s.log().count("the resolver strips DNSSEC records") == 1
    # nothing in the queue: both were delivered, none deferred
    assert s.wait_queue_empty(20)


def test_anchor_none(dsrv, peers):
    """(c) dnssec_trust_anchor = none: delivered, nothing secure, no
    validation at all (the broken zone is not even noticed)."""
    s = dsrv("none")
    send(s, ALICE, ["dave@sec.test"], ["no validation"])
    send(s, ALICE, ["dave@bad.test"], ["no validation either"])
    peers[A_SEC].wait(1)
    peers[A_BAD].wait(1)
    assert wait_for(lambda: plan_lines(s, "bad.test"))
    assert plan_lines(s, "sec.test") == [("not secure", "not secure")]
    assert plan_lines(s, "bad.test") == [("not secure", "not secure")]
    assert "validation failed" not in s.log()
    assert "dnssec_trust_anchor=none" in s.log()


def test_root_anchor_with_a_stripping_resolver(dsrv, peers):
    """The default anchor (the root key) behind a resolver that has no
    DNSSEC data at all, like the test server for its unsigned zones:
    every answer is bogus, and mail flows anyway, with a hint."""
    if not os.access(ROOT_KEY, os.R_OK):
        pytest.skip("no " + ROOT_KEY)
    s = dsrv(ROOT_KEY)
    send(s, ALICE, ["erin@plain.test"], ["root anchor"])
    peers[A_PLAIN].wait(1)
    assert wait_for(lambda: bogus_warnings(s, "plain.test", "MX"))
    assert "the resolver strips DNSSEC records" in s.log()
    assert plan_lines(s, "plain.test") == [("not secure", "not secure")]


def test_anchor_unreadable_by_postern_mail_flows(dsrv, peers, anchors):
    """An anchor only root can read: the parent accepts it, deliver (the
    postern user) cannot load it and runs without validation rather
    than dying; the mail flows."""
    ta = anchors("sec")
    os.chmod(ta, 0o600)
    s = dsrv(ta)
    assert s.wait_log(r"deliver: .*Permission denied: DNSSEC validation "
                      r"off"), s.log()[-2000:]
    send(s, ALICE, ["fred@sec.test"], ["unreadable anchor"])
    (m,) = peers[A_SEC].wait(1)
    assert m["rcpts"] == ["fred@sec.test"]
    assert plan_lines(s, "sec.test") == [("not secure", "not secure")]
    assert "dnssec_trust_anchor=none" in s.log()
    assert "giving up" not in s.log()


def test_missing_anchor_is_a_startup_error(server, tmp_path):
    s = server(conf={"dnssec_trust_anchor": str(tmp_path / "nonexistent")},
               start=False)
    cp = subprocess.run([s.bin, "-C", str(s.confdir), "serve"],
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode != 0
    out = cp.stdout + cp.stderr
    assert "dnssec_trust_anchor %s: No such file or directory" % (
        tmp_path / "nonexistent") in out, out
    # a relative path or an empty value is refused as well
    for bad in ("root.key", ""):
        s.set("dnssec_trust_anchor", bad)
        cp = subprocess.run([s.bin, "-C", str(s.confdir), "serve"],
                            capture_output=True, text=True, timeout=30)
        assert cp.returncode != 0 and "dnssec_trust_anchor" in (
            cp.stdout + cp.stderr), cp.stdout + cp.stderr
