"""Outbound DNS: the MX plan that src/deliver (dns.c + mx.c, libunbound
on libevent) builds from a real DNS server.

tests/unit/dns_probe (built beside postern, see tests/meson.build)
resolves through tests/integration/dnsserver.py on a loopback port, the
way postern.conf's dns_resolver test knob does, and prints the plan: one
line "PREF HOST ADDR..." per host, or "error temp|perm STATUS TEXT"."""

import os
import subprocess

import pytest

from conftest import find_probe
from dnsserver import DNSServer
from mxpeer import ROOT_KEY, Probe

V4A, V4B = "127.0.10.1", "127.0.10.2"
V6A, V6B = "2001:db8::a1", "2001:db8::a2"

ZONE = {
    # preference order, given out of order
    "order.test": {"MX": ["30 c.order.test", "10 a.order.test",
                          "20 b.order.test"]},
    "a.order.test": {"A": "127.0.1.1"},
    "b.order.test": {"A": "127.0.1.2"},
    "c.order.test": {"A": "127.0.1.3"},
    # equal preferences between a best and a last host
    "equal.test": {"MX": ["5 first.equal.test", "10 e1.equal.test",
                          "10 e2.equal.test", "10 e3.equal.test",
                          "20 last.equal.test"]},
    "first.equal.test": {"A": "127.0.2.1"},
    "e1.equal.test": {"A": "127.0.2.11"},
    "e2.equal.test": {"A": "127.0.2.12"},
    "e3.equal.test": {"A": "127.0.2.13"},
    "last.equal.test": {"A": "127.0.2.20"},
    # no MX: the domain itself
    "implicit.test": {"A": V4A, "AAAA": V6A},
    # RFC 7505
    "nullmx.test": {"MX": "0 ."},
    "servfail.test": "SERVFAIL",
    "slow.test": "TIMEOUT",
    # both families, for the family preference
    "both.test": {"MX": "10 mx.both.test"},
    "mx.both.test": {"A": [V4A, V4B], "AAAA": [V6A, V6B]},
    # hosts without addresses are skipped
    "ghost.test": {"MX": ["10 gone.ghost.test", "20 empty.ghost.test",
                          "30 real.ghost.test"]},
    "empty.ghost.test": {"TXT": "no address here"},
    "real.ghost.test": {"A": "127.0.3.1"},
    "allghost.test": {"MX": ["10 gone.allghost.test",
                             "20 gone2.allghost.test"]},
    # an address lookup fails: the other family, or the other host, serves
    "half.test": {"MX": "10 mx.half.test"},
    "mx.half.test": {"A": "127.0.4.1", "AAAA": "SERVFAIL"},
    "tempaddr.test": {"MX": "10 mx.tempaddr.test"},
    "mx.tempaddr.test": "SERVFAIL",
    "backup.test": {"MX": ["10 mx.tempaddr.test", "20 mx2.backup.test"]},
    "mx2.backup.test": {"A": "127.0.4.2"},
    # an MX host that is an alias
    "alias.test": {"MX": "10 mail.alias.test"},
    "mail.alias.test": {"CNAME": "real.alias.test"},
    "real.alias.test": {"A": "127.0.5.1"},
    # the same host twice, and a record a host name cannot be
    "dup.test": {"MX": ["20 MX.dup.test", "10 mx.dup.test"]},
    "mx.dup.test": {"A": "127.0.6.1"},
    "weird.test": {"MX": ["10 bad\\032name.weird.test", "20 ok.weird.test"]},
    "ok.weird.test": {"A": "127.0.7.1"},
    "allweird.test": {"MX": "10 bad\\032name.weird.test"},
    # other query types
    "txt.test": {"TXT": ["v=spf1 -all", "x" * 300]},
    "10.1.0.10.in-addr.arpa": {"PTR": "host.ptr.test"},
}


def _many():
    zone = {"many.test": {"MX": ["%d h%02d.many.test" % (100 - i, i)
                                 for i in range(40)]},
            "addrs.test": {"MX": "10 mx.addrs.test"},
            "mx.addrs.test": {
                "A": ["127.0.8.%d" % i for i in range(1, 21)],
                "AAAA": ["2001:db8::8:%x" % i for i in range(1, 21)]}}
    for i in range(40):
        zone["h%02d.many.test" % i] = {"A": "127.0.9.%d" % (i + 1)}
    return zone


@pytest.fixture(scope="module")
def probe_bin():
    return find_probe()


@pytest.fixture(scope="module")
def dnssrv():
    zone = dict(ZONE)
    zone.update(_many())
    # answers over 512 octets go truncated over UDP, then over TCP
    srv = DNSServer(zone, udp_max=512).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def probe(probe_bin, dnssrv):
    return Probe(probe_bin, dnssrv)


def hosts(plan):
    return [(p, h) for p, h, _ in plan]


def test_preference_order(probe):
    plan, err = probe.plan("order.test")
    assert plan == [(10, "a.order.test", ["127.0.1.1"]),
                    (20, "b.order.test", ["127.0.1.2"]),
                    (30, "c.order.test", ["127.0.1.3"])]
    assert "implicit=0" in err and "skipped=0" in err


def test_equal_preferences_shuffled(probe):
    orders = set()
    for _ in range(15):
        plan, _ = probe.plan("equal.test")
        assert plan[0][:2] == (5, "first.equal.test")
        assert plan[-1][:2] == (20, "last.equal.test")
        middle = tuple(h for p, h, _ in plan[1:-1])
        assert sorted(middle) == ["e1.equal.test", "e2.equal.test",
                                  "e3.equal.test"]
        assert all(p == 10 for p, _, _ in plan[1:-1])
        orders.add(middle)
    # 15 runs all alike by chance: 6 * (1/6)^15
    assert len(orders) > 1


def test_implicit_mx(probe):
    plan, err = probe.plan("implicit.test")
    assert plan == [(0, "implicit.test", [V6A, V4A])]
    assert "implicit=1" in err


def test_null_mx(probe):
    plan, _ = probe.plan("nullmx.test")
    assert plan[:3] == ("error", "perm", "5.1.10")
    assert "does not accept mail" in plan[3]


def test_nxdomain(probe):
    plan, _ = probe.plan("nosuch.test")
    assert plan[:3] == ("error", "perm", "5.1.2")


def test_servfail_is_temporary(probe):
    plan, _ = probe.plan("servfail.test")
    assert plan[:3] == ("error", "temp", "4.4.3")


def test_timeout_is_temporary(probe):
    plan, _ = probe.plan("slow.test", timeout_ms=1500)
    assert plan[:3] == ("error", "temp", "4.4.3")
    assert "timed out" in plan[3]


@pytest.mark.parametrize("family,want", [
    (None, [V6A, V6B, V4A, V4B]),
    ("both", [V6A, V6B, V4A, V4B]),
    ("ipv6-first", [V6A, V6B, V4A, V4B]),
    ("ipv4-first", [V4A, V4B, V6A, V6B]),
    ("ipv4", [V4A, V4B]),
    ("ipv6", [V6A, V6B]),
])
def test_address_families(probe, dnssrv, family, want):
    args = ["--family", family] if family else []
    plan, _ = probe.plan("both.test", *args)
    assert len(plan) == 1 and plan[0][:2] == (10, "mx.both.test")
    # the server's order within a family is kept; compare as sets per family
    got = plan[0][2]
    assert [":" in a for a in got] == [":" in a for a in want]
    assert sorted(got) == sorted(want)


def test_host_without_address_skipped(probe):
    plan, err = probe.plan("ghost.test")
    assert plan == [(30, "real.ghost.test", ["127.0.3.1"])]
    assert "skipped=2" in err


def test_no_host_with_address(probe):
    plan, _ = probe.plan("allghost.test")
    assert plan[:3] == ("error", "perm", "5.4.4")


def test_one_family_fails(probe):
    plan, _ = probe.plan("half.test")
    assert plan == [(10, "mx.half.test", ["127.0.4.1"])]


def test_address_lookup_fails(probe):
    plan, _ = probe.plan("tempaddr.test")
    assert plan[:3] == ("error", "temp", "4.4.3")
    plan, err = probe.plan("backup.test")
    assert plan == [(20, "mx2.backup.test", ["127.0.4.2"])]
    assert "skipped=1" in err


def test_mx_host_is_cname(probe):
    plan, _ = probe.plan("alias.test")
    assert plan == [(10, "mail.alias.test", ["127.0.5.1"])]


def test_duplicate_host(probe):
    plan, _ = probe.plan("dup.test")
    # the spelling may be either: name compression ignores case
    assert [(p, h.lower()) for p, h in hosts(plan)] == [(10, "mx.dup.test")]


def test_malformed_host_name(probe):
    plan, err = probe.plan("weird.test")
    assert hosts(plan) == [(20, "ok.weird.test")]
    assert "nbad=1" in err
    plan, _ = probe.plan("allweird.test")
    assert plan[:3] == ("error", "temp", "4.4.3")


def test_bounds_over_tcp(probe, dnssrv):
    """40 MX records do not fit 512 octets: truncated, retried over TCP;
    the 32 best hosts are kept, and 16 addresses of 40, half of each
    family."""
    plan, _ = probe.plan("many.test")
    assert hosts(plan) == [(100 - i, "h%02d.many.test" % i)
                           for i in range(39, 7, -1)]
    assert ("many.test", "MX", "tcp") in dnssrv.queries
    plan, _ = probe.plan("addrs.test")
    addrs = plan[0][2]
    assert len(addrs) == 16
    assert [":" in a for a in addrs] == [True] * 8 + [False] * 8


def test_parallel_and_cancel(probe):
    lines, err = probe.run("--parallel", "16", "order.test")
    assert [ln.split()[1] for ln in lines] == [
        "a.order.test", "b.order.test", "c.order.test"]
    assert "completed 8" in err
    assert "still pending" not in err


def test_resolver_over_ipv6(probe, dnssrv):
    if not dnssrv.ipv6:
        pytest.skip("no ::1")
    plan, _ = probe.plan("order.test",
                         resolver="[::1]:%d" % dnssrv.port)
    assert hosts(plan) == [(10, "a.order.test"), (20, "b.order.test"),
                           (30, "c.order.test")]


def test_query_txt_and_ptr(probe):
    lines, _ = probe.run("--query", "TXT", "txt.test")
    assert lines[0].startswith("rcode 0 nxdomain 0")
    assert sorted(lines[1:]) == sorted(["TXT v=spf1 -all",
                                        "TXT " + "x" * 300])
    # a private range: libunbound would answer it itself, not the forwarder
    lines, _ = probe.run("--query", "PTR", "10.1.0.10.in-addr.arpa")
    assert lines == ["rcode 0 nxdomain 0 secure 0 bogus 0 timeout 0 nbad 0",
                     "PTR host.ptr.test"]
    lines, _ = probe.run("--query", "A", "nosuch.test")
    assert lines == ["rcode 3 nxdomain 1 secure 0 bogus 0 timeout 0 nbad 0"]
    lines, _ = probe.run("--query", "AAAA", "real.ghost.test")
    assert lines == ["rcode 0 nxdomain 0 secure 0 bogus 0 timeout 0 nbad 0"]


def test_free_inside_callback(probe):
    """The resolver freed from inside a callback with a query still
    outstanding: that query never answers, nothing leaks (ASan builds)."""
    lines, _ = probe.run("--free-in-callback", "--query", "MX", "order.test")
    assert lines[0].startswith("rcode 0")
    assert len([ln for ln in lines if ln.startswith("rcode")]) == 1
    assert len([ln for ln in lines if ln.startswith("MX")]) == 3


def test_dnssec_bogus_is_temporary(probe):
    """With the root trust anchor, the unsigned test zone cannot be
    validated: the answer is bogus, and that is a temporary failure."""
    if not os.path.exists(ROOT_KEY):
        pytest.skip("no " + ROOT_KEY)
    plan, err = probe.plan("order.test", "--trust-anchor", ROOT_KEY)
    assert plan[:3] == ("error", "temp", "4.4.3")
    assert "DNSSEC" in plan[3]


def test_missing_trust_anchor(probe_bin):
    cp = subprocess.run([probe_bin, "--resolver", "127.0.0.1:53",
                         "--trust-anchor", "/nonexistent/root.key",
                         "order.test"], capture_output=True, text=True,
                        timeout=30)
    assert cp.returncode == 1
    assert "trust anchor /nonexistent/root.key" in cp.stderr


def test_bad_resolver_address(probe_bin):
    cp = subprocess.run([probe_bin, "--resolver", "localhost:53",
                         "order.test"], capture_output=True, text=True,
                        timeout=30)
    assert cp.returncode == 1
    assert "not an IP address" in cp.stderr
