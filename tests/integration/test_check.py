"""`postern check DOMAIN`: each verdict and its fix, in text and JSON,
against a loopback DNS server serving a good zone and one broken zone
per check: wrong PTR, missing AAAA, no MX, SPF over the lookup limit,
SPF not covering our IPv6 address, two SPF records, a DKIM key
mismatch, a DKIM record pasted with its quotes, one cut short, a DMARC
syntax error, no DMARC, report addresses not authorised, no SRS secret
with a forwarding alias; certificates expired, self-signed on a public
name, from an unknown CA, and good (under a test CA given as the trust
store); a listener that does not answer.

Everything is on loopback; the server and the DNS server are stopped by
their fixtures.
"""

import datetime
import json
import os
import re
import subprocess

import pytest

from conftest import HOST, dkim_records, run_postern
from dnsserver import DNSServer

DOMAIN = "example.test"
# the host's public addresses as the zone has them: only DNS data, never
# dialled (the listeners are on loopback); outside the ranges whose
# reverse zones resolvers answer themselves (RFC 6303)
V4 = "198.51.101.7"
V6 = "2a01:4f8:1:2::7"
PTR4 = "7.101.51.198.in-addr.arpa"
PTR6 = ".".join(reversed("2a0104f8000100020000000000000007")) + ".ip6.arpa"


def good_zone(dkim):
    z = {
        DOMAIN: {"MX": "10 %s" % HOST,
                 "TXT": "v=spf1 ip4:%s ip6:%s -all" % (V4, V6)},
        HOST: {"A": V4, "AAAA": V6},
        PTR4: {"PTR": HOST + "."},
        PTR6: {"PTR": HOST + "."},
        "_dmarc." + DOMAIN: {"TXT": "v=DMARC1; p=quarantine; "
                             "rua=mailto:postmaster@example.test"},
    }
    for name, value in dkim.items():
        z[name.rstrip(".")] = {"TXT": value.decode()}
    return z


@pytest.fixture
def srv(server):
    return server(start=False)


def dkim_of(srv):
    cp = srv.ctl("dns", DOMAIN, check=True)
    return dkim_records(cp.stdout, DOMAIN)


def run_check(srv, zone, *extra, env=None, json_out=False):
    dns = DNSServer(zone).start()
    try:
        srv.set("dns_resolver", "127.0.0.1:%d" % dns.port)
        srv.set("dnssec_trust_anchor", "none")
        args = ["check", DOMAIN, "--ip", V4, "--ip", V6] + list(extra)
        if json_out:
            args.append("--json")
        cp = subprocess.run([srv.bin, "-C", str(srv.confdir)] + args,
                            capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, **(env or {})))
    finally:
        dns.stop()
    return cp


def verdicts(cp):
    """{check: [(verdict, detail, fix)]} from the JSON output."""
    out = json.loads(cp.stdout)
    got = {}
    for c in out["checks"]:
        got.setdefault(c["check"], []).append(
            (c["verdict"], c["detail"], c["fix"]))
    return out, got


def started(srv):
    if not srv.running():
        srv.start()
    return srv


def test_good_zone(srv):
    """Every record right: nothing FAILs, exit 0; the self-signed test
    certificate is a warning on a .test name; the text fits a screen."""
    started(srv)
    zone = good_zone(dkim_of(srv))
    cp = run_check(srv, zone)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    lines = cp.stdout.splitlines()
    assert len(lines) < 25
    assert lines[-1].startswith("0 FAIL, 1 warn")
    for name in ("mx", "addr", "ptr", "spf", "dkim", "dmarc", "listen",
                 "forward"):
        assert any(ln.startswith("ok    %-10s" % name) for ln in lines), \
            (name, cp.stdout)
    assert any(ln.startswith("warn  cert") and "self-signed" in ln
               for ln in lines), cp.stdout
    cp = run_check(srv, zone, json_out=True)
    out, got = verdicts(cp)
    assert out["fail"] == 0 and out["domain"] == DOMAIN
    assert out["addresses"] == [V4, V6]
    assert got["ptr"] == [
        ("ok", "%s -> %s -> %s (forward-confirmed)" % (a, HOST, a), None)
        for a in (V4, V6)]
    assert got["dmarc"][0][1].startswith("p=quarantine: failing mail goes "
                                         "to spam")


def broken(srv, change):
    started(srv)
    zone = good_zone(dkim_of(srv))
    change(zone)
    cp = run_check(srv, zone, json_out=True)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    text = run_check(srv, zone)
    assert text.returncode == 1
    return verdicts(cp)[1], text.stdout


def only_fail(got, name):
    fails = [(d, f) for v, d, f in got[name] if v == "fail"]
    assert fails, got[name]
    others = {k for k, v in got.items() if k != name and
              any(x[0] == "fail" for x in v)}
    return fails, others


def test_wrong_ptr(srv):
    def ch(z):
        z[PTR4] = {"PTR": "vps-1234.provider.test."}
    got, text = broken(srv, ch)
    fails, others = only_fail(got, "ptr")
    assert fails == [("PTR of %s is vps-1234.provider.test, not %s" % (
        V4, HOST), "at the provider of %s, set its reverse DNS (PTR) to %s"
        % (V4, HOST))]
    assert others == set()
    assert "      fix: at the provider of %s" % V4 in text


def test_missing_aaaa(srv):
    def ch(z):
        del z[HOST]["AAAA"]
    got, _ = broken(srv, ch)
    fails, _ = only_fail(got, "addr")
    assert fails == [("%s has no AAAA record for %s (it has: %s)" % (
        HOST, V6, V4), "publish: %s. 3600 IN AAAA %s" % (HOST, V6))]
    # the PTR of ::1 is not forward-confirmed any more
    assert any("not forward-confirmed" in d for v, d, f in got["ptr"]
               if v == "fail")


def test_no_mx(srv):
    def ch(z):
        del z[DOMAIN]["MX"]
    got, _ = broken(srv, ch)
    fails, others = only_fail(got, "mx")
    assert fails[0][1] == "publish: %s. 3600 IN MX 10 %s." % (DOMAIN, HOST)
    assert others == set()


def test_spf_over_lookup_limit(srv):
    def ch(z):
        z[DOMAIN]["TXT"] = "v=spf1 " + " ".join(
            "include:i%d.test" % i for i in range(11)) + " ip4:%s -all" % V4
        for i in range(11):
            z["i%d.test" % i] = {"TXT": "v=spf1 -all"}
    got, _ = broken(srv, ch)
    fails, _ = only_fail(got, "spf")
    assert "permerror" in fails[0][0] and "more than 10" in fails[0][0], \
        fails
    assert fails[0][1] == ("publish: %s. 3600 IN TXT \"v=spf1 mx ip4:%s "
                           "ip6:%s -all\"" % (DOMAIN, V4, V6))


def test_spf_misses_ipv6(srv):
    def ch(z):
        z[DOMAIN]["TXT"] = "v=spf1 ip4:%s -all" % V4
    got, _ = broken(srv, ch)
    fails, others = only_fail(got, "spf")
    assert len(fails) == 1
    assert fails[0][0].startswith("SPF of %s gives fail for %s" % (DOMAIN,
                                                                   V6))
    assert others == set()


def test_two_spf_records(srv):
    def ch(z):
        z[DOMAIN]["TXT"] = ["v=spf1 ip4:%s -all" % V4, "v=spf1 -all"]
    got, _ = broken(srv, ch)
    fails, _ = only_fail(got, "spf")
    assert "2 SPF records" in fails[0][0]


def test_dkim_mismatch(srv):
    def ch(z):
        for name in list(z):
            if "_domainkey" in name:
                z[name]["TXT"] = ("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQ"
                                  "EFAAOCAQ8AMIIBCgKCAQEAsomethingelse")
    got, _ = broken(srv, ch)
    fails, others = only_fail(got, "dkim")
    assert "holds another key than domains/example.test/dkim/" in \
        fails[0][0]
    assert fails[0][1].startswith("publish: ") and "_domainkey" in \
        fails[0][1]
    assert others == set()


def test_dkim_pasted_with_quotes(srv):
    def ch(z):
        for name in list(z):
            if "_domainkey" in name:
                v = z[name]["TXT"]
                half = len(v) // 2
                # one string holding the zone file's own quotes
                z[name]["TXT"] = v[:half] + '" "' + v[half:]
    got, _ = broken(srv, ch)
    fails, _ = only_fail(got, "dkim")
    assert "quotes inside its key" in fails[0][0]


def test_dkim_cut_short(srv):
    def ch(z):
        for name in list(z):
            if "_domainkey" in name:
                z[name]["TXT"] = z[name]["TXT"][:200]
    got, _ = broken(srv, ch)
    fails, _ = only_fail(got, "dkim")
    assert "the record was cut short" in fails[0][0]


def test_dmarc_syntax_error(srv):
    def ch(z):
        z["_dmarc." + DOMAIN]["TXT"] = ("v=DMARC1; p=quarantine; "
                                        "ruaa=mailto:x@example.test")
    got, _ = broken(srv, ch)
    fails, others = only_fail(got, "dmarc")
    assert "syntax errors in \"ruaa=mailto:x@example.test\"" in fails[0][0]
    assert others == set()


def test_dmarc_bad_policy_and_missing(srv):
    def ch(z):
        z["_dmarc." + DOMAIN]["TXT"] = "v=DMARC1; p=rejct"
    got, _ = broken(srv, ch)
    fails, _ = only_fail(got, "dmarc")
    assert "no valid p=" in fails[0][0]

    def ch2(z):
        del z["_dmarc." + DOMAIN]
    got, _ = broken(srv, ch2)
    fails, _ = only_fail(got, "dmarc")
    assert "has no DMARC record" in fails[0][0]
    assert fails[0][1].startswith("publish: _dmarc.example.test. 3600 IN "
                                  "TXT \"v=DMARC1; p=quarantine")


def test_dmarc_outside_reports(srv):
    started(srv)
    zone = good_zone(dkim_of(srv))
    zone["_dmarc." + DOMAIN]["TXT"] = ("v=DMARC1; p=reject; "
                                       "rua=mailto:r@reports.test")
    cp = run_check(srv, zone, json_out=True)
    _, got = verdicts(cp)
    warns = [d for v, d, f in got["dmarc"] if v == "warn"]
    assert any("has not agreed" in w and
               "example.test._report._dmarc.reports.test" in w
               for w in warns), got["dmarc"]
    zone["example.test._report._dmarc.reports.test"] = {"TXT": "v=DMARC1"}
    cp = run_check(srv, zone, json_out=True)
    _, got = verdicts(cp)
    assert [v for v, d, f in got["dmarc"]] == ["ok"]
    assert "p=reject: failing mail is refused" in got["dmarc"][0][1]


def test_no_srs_secret_with_forwarding(srv):
    srv.write_aliases("i: someone@gmail.test\n")
    (srv.confdir / "srs_secrets").unlink()
    got, text = broken(srv, lambda z: None)
    fails, others = only_fail(got, "forward")
    assert "no srs_secrets" in fails[0][0]
    assert "i -> someone@gmail.test" in fails[0][0]
    assert "srs_secrets" in fails[0][1]
    assert others == set()


def test_listener_down(srv):
    zone = good_zone(dkim_of(srv))
    cp = run_check(srv, zone, json_out=True)     # not started
    assert cp.returncode == 1
    _, got = verdicts(cp)
    assert all(v == "fail" for v, d, f in got["listen"])
    assert "nothing answers" in got["listen"][0][1]
    assert "serve" in got["listen"][0][2]


# --- certificates ------------------------------------------------------------------

def make_certs(d, host):
    """A test CA, and certificates for host: good (by the CA), expired
    (by the CA), self-signed, and by an unknown CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def ca(cn):
        k = key()
        c = (x509.CertificateBuilder().subject_name(name(cn))
             .issuer_name(name(cn)).public_key(k.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(days=10))
             .not_valid_after(now + datetime.timedelta(days=3650))
             .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                            critical=True)
             .sign(k, hashes.SHA256()))
        return k, c

    def leaf(issuer_key, issuer, days_left, self_signed=False):
        k = key()
        b = (x509.CertificateBuilder().subject_name(name(host))
             .public_key(k.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(days=30))
             .not_valid_after(now + datetime.timedelta(days=days_left))
             .add_extension(x509.SubjectAlternativeName(
                 [x509.DNSName(host)]), critical=False))
        if self_signed:
            return k, b.issuer_name(name(host)).sign(k, hashes.SHA256())
        return k, b.issuer_name(issuer.subject).sign(issuer_key,
                                                      hashes.SHA256())

    def pem(c):
        return c.public_bytes(serialization.Encoding.PEM)

    cak, cac = ca("Test Root")
    otk, otc = ca("Other Root")
    out = {}
    for label, (k, c) in {
            "good": leaf(cak, cac, 90),
            "soon": leaf(cak, cac, 5),
            "expired": leaf(cak, cac, -2),
            "self": leaf(None, None, 90, self_signed=True),
            "unknown": leaf(otk, otc, 90)}.items():
        p = d / label
        p.mkdir()
        (p / "fullchain.pem").write_bytes(pem(c))
        (p / "privkey.pem").write_bytes(k.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        out[label] = p
    (d / "ca.pem").write_bytes(pem(cac))
    return out, d / "ca.pem"


@pytest.mark.parametrize("label,verdict,words", [
    ("good", "ok", "is trusted, valid"),
    ("soon", "warn", "expires in"),
    ("expired", "fail", "expired"),
    ("self", "fail", "is self-signed: senders that verify refuse it"),
    ("unknown", "fail", "does not chain to a trusted root"),
])
def test_certificates(server, tmp_path, label, verdict, words):
    """On a public-looking host name, mail.certs-demo.net, with the test CA
    as the trust store (SSL_CERT_FILE)."""
    host = "mail.certs-demo.net"
    s = server(start=False, conf={"hostname": host})
    certs, ca = make_certs(tmp_path, host)
    d = s.confdir / "certs" / host
    d.mkdir(parents=True, exist_ok=True)
    for f in ("fullchain.pem", "privkey.pem"):
        (d / f).write_bytes((certs[label] / f).read_bytes())
    os.chmod(d / "privkey.pem", 0o600)
    cp = run_check(s, good_zone(dkim_of(s)), json_out=True,
                   env={"SSL_CERT_FILE": str(ca)})
    _, got = verdicts(cp)
    # the host name's comes first (then the template's own test name)
    (v, detail, fix) = got["cert"][0]
    assert host in detail or host in (fix or ""), got["cert"]
    assert v == verdict and words in detail, got["cert"]
    if v != "ok":
        assert fix


def test_usage_and_unknown_domain(srv):
    cp = srv.ctl("check")
    assert cp.returncode == 2 and "usage" in cp.stderr
    cp = srv.ctl("check", "other.test")
    assert cp.returncode == 1 and "not a domain" in cp.stderr
    cp = srv.ctl("check", DOMAIN, "--ip", "not-an-ip")
    assert cp.returncode == 2 and "not an address" in cp.stderr


def test_policy_records_and_dnsbl(srv):
    """MTA-STS and TLS-RPT are reported; an address on a blocklist FAILs
    with where to ask; --no-dnsbl does not look."""
    started(srv)
    zone = good_zone(dkim_of(srv))
    zone["_mta-sts." + DOMAIN] = {"TXT": "v=STSv1; id=20261206"}
    zone["7.101.51.198.zen.spamhaus.org"] = {"A": "127.0.0.2"}
    cp = run_check(srv, zone, json_out=True)
    assert cp.returncode == 1
    _, got = verdicts(cp)
    assert got["mta-sts"][0][0] == "ok" and "id=20261206" in \
        got["mta-sts"][0][1]
    assert got["tls-rpt"][0][0] == "warn"
    assert "_smtp._tls.example.test. 3600 IN TXT" in got["tls-rpt"][0][2]
    assert got["dnssec"][0][1].startswith("not looked at")
    fails = [d for v, d, f in got["dnsbl"] if v == "fail"]
    assert fails == ["%s is listed on zen.spamhaus.org (127.0.0.2): much "
                     "mail from it is refused" % V4], got["dnsbl"]
    cp = run_check(srv, zone, "--no-dnsbl", json_out=True)
    assert cp.returncode == 0, cp.stdout
    _, got = verdicts(cp)
    assert "dnsbl" not in got
    zone[f"_smtp._tls.{DOMAIN}"] = {"TXT": "v=TLSRPTv1; rua=mailto:t@"
                                    "example.test"}
    del zone["7.101.51.198.zen.spamhaus.org"]
    cp = run_check(srv, zone, json_out=True)
    assert cp.returncode == 0
    _, got = verdicts(cp)
    assert got["tls-rpt"][0][0] == "ok"
    assert got["dnsbl"] == [("ok", "no address on 4 blocklist lookups",
                             None)]


# --- init's pre-flight -------------------------------------------------------------

def test_init_preflight_loopback_host(postern_bin, tmp_path):
    """init on a public-looking host name that resolves to loopback warns,
    with the fix; it prints the records to publish and three steps."""
    host = "mail.preflight-example.net"
    dns = DNSServer({host: {"A": "127.0.0.1"}}).start()
    try:
        cp = run_postern(postern_bin, tmp_path / "c", "init",
                         "preflight-example.net", "--hostname", host,
                         "--data-dir", tmp_path / "d", "--dns-resolver",
                         "127.0.0.1:%d" % dns.port)
    finally:
        dns.stop()
    assert cp.returncode == 0, cp.stderr
    out = cp.stdout
    assert "pre-flight checks of %s:" % host in out
    assert ("warn  addr   %s resolves to 127.0.0.1, a loopback address: "
            "no other host can reach it" % host) in out, out
    assert "fix: publish this host's public address" in out
    assert "preflight-example.net. 3600 IN MX 10 %s." % host in out
    assert "_domainkey.preflight-example.net." in out
    steps = out[out.index("Next:"):]
    assert "1. postern -C" in steps and "3. postern -C" in steps
    assert "4." not in steps
    assert "check preflight-example.net" in steps
    conf = (tmp_path / "c" / "postern.conf").read_text()
    assert "\ndns_resolver = 127.0.0.1:" in conf


def test_init_preflight_unresolved_and_test_name(postern_bin, tmp_path):
    host = "mail.nowhere-example.org"
    dns = DNSServer({}).start()
    try:
        cp = run_postern(postern_bin, tmp_path / "c", "init",
                         "nowhere-example.org", "--hostname", host,
                         "--data-dir", tmp_path / "d", "--dns-resolver",
                         "127.0.0.1:%d" % dns.port)
    finally:
        dns.stop()
    assert cp.returncode == 0, cp.stderr
    assert "warn  addr   %s does not resolve yet" % host in cp.stdout
    cp = run_postern(postern_bin, tmp_path / "t", "init", "local.test",
                     "--data-dir", tmp_path / "d2")
    assert cp.returncode == 0
    assert "pre-flight: skipped (mail.local.test is a test name" in \
        cp.stdout


# --- --send: a round trip ----------------------------------------------------------

@pytest.mark.parametrize("rcpt_reply,verdict,words", [
    (None, "ok", "<someone@remote.test> delivered remote="),
    ("550 5.1.1 no such user here", "fail",
     "failed (bounced to the sender): 550 5.1.1 no such user here"),
    ("451 4.3.0 try later", "warn", "deferred: 451 4.3.0 try later"),
])
def test_send_round_trip(server, rcpt_reply, verdict, words):
    """--send TO: a message through our submission port, followed through
    the queue to a loopback peer standing in for remote.test's MX."""
    from mxpeer import Peers, free_port, outbound_server
    from conftest import USERS
    port = free_port(("127.0.0.2",))
    zone = {"remote.test": {"MX": "10 mx.remote.test"},
            "mx.remote.test": {"A": "127.0.0.2"}}
    dns = DNSServer(zone).start()
    try:
        with Peers(port) as peers:
            peers("127.0.0.2", rcpt=rcpt_reply)
            s = outbound_server(server, dns, port)
            s.set("dnssec_trust_anchor", "none")
            cp = subprocess.run(
                [s.bin, "-C", str(s.confdir), "check", DOMAIN, "--ip", V4,
                 "--no-dnsbl", "--json", "--send", "someone@remote.test",
                 "--user", "alice@example.test", "--password-stdin",
                 "--insecure", "--wait", "20"],
                input=USERS["alice@example.test"] + "\n",
                capture_output=True, text=True, timeout=120)
            qid = re.search(r"queued as (\S+)", cp.stderr).group(1)
            shown = s.ctl("queue", "show", qid)
    finally:
        dns.stop()
    _, got = verdicts(cp)
    (v, detail, fix), = got["send"]
    assert v == verdict and words in detail, (got["send"], cp.stderr)
    assert "queued as" in cp.stderr      # the dialogue, off stdout
    if verdict == "ok":
        assert "reply=250" in detail
        # `queue show` of a message that left: its outcome
        assert shown.returncode == 0, shown.stderr
        assert "done: left the queue" in shown.stdout
        assert "rcpt: <someone@remote.test> delivered remote=" in \
            shown.stdout


# --- --dial ------------------------------------------------------------------------

def test_dial(server, tmp_path):
    """--dial: outbound port 25 to gmail.com's MX (a loopback peer here),
    then STARTTLS to each MX of the domain: one with a certificate from
    the trusted (test) CA, one self-signed; then with nothing listening
    where gmail.com's MX is, the port looks blocked."""
    from mxpeer import Peers, free_port
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    good, ca = make_certs(tmp_path / "a", "mx1.example.test")
    bad, _ = make_certs(tmp_path / "b", "mx2.example.test")
    port = free_port(("127.0.0.2", "127.0.0.3", "127.0.0.4"))
    zone = {"gmail.com": {"MX": "5 gmail-smtp-in.l.google.com"},
            "gmail-smtp-in.l.google.com": {"A": "127.0.0.2"},
            DOMAIN: {"MX": ["10 mx1.example.test", "20 mx2.example.test"]},
            "mx1.example.test": {"A": "127.0.0.3"},
            "mx2.example.test": {"A": "127.0.0.4"}}
    s = server(start=False, conf={"outbound_smtp_port": str(port)})
    args = ("--no-dnsbl", "--dial")
    with Peers(port) as peers:
        peers("127.0.0.3", tls=(good["good"] / "fullchain.pem",
                                good["good"] / "privkey.pem"))
        peers("127.0.0.4", tls=(bad["self"] / "fullchain.pem",
                                bad["self"] / "privkey.pem"))
        peers("127.0.0.2")
        cp = run_check(s, zone, *args, json_out=True,
                       env={"SSL_CERT_FILE": str(ca)})
        _, got = verdicts(cp)
        assert got["dial"] == [("ok", "outbound port %d opens: gmail-smtp-"
                                "in.l.google.com (127.0.0.2) answered 220"
                                % port, None)]
        tls = {d.split()[1]: (v, d) for v, d, f in got["tls"]}
        assert tls["mx1.example.test"][0] == "ok"
        assert "verified certificate" in tls["mx1.example.test"][1]
        assert tls["mx2.example.test"][0] == "fail"
        assert "not verified" in tls["mx2.example.test"][1]
    # every peer stopped: nothing answers where gmail.com's MX is
    cp = run_check(s, zone, *args, json_out=True,
                   env={"SSL_CERT_FILE": str(ca)})
    _, got = verdicts(cp)
    (v, d, f), = got["dial"]
    assert v == "fail" and "seems blocked" in d and "ask the provider" in f
    assert all(v == "fail" for v, d, f in got["tls"])


def test_ruf_and_other_sni_names(srv, tmp_path):
    """ruf= outside the domain needs consent as rua= does; every other
    certificate folder (an SNI name) is looked at too."""
    started(srv)
    zone = good_zone(dkim_of(srv))
    zone["_dmarc." + DOMAIN]["TXT"] = ("v=DMARC1; p=quarantine; "
                                       "ruf=mailto:f@forensic.test")
    (tmp_path / "c").mkdir()
    certs, _ = make_certs(tmp_path / "c", "smtp.other.test")
    d = srv.confdir / "certs" / "smtp.other.test"
    d.mkdir()
    (d / "fullchain.pem").write_bytes((certs["expired"] /
                                       "fullchain.pem").read_bytes())
    cp = run_check(srv, zone, json_out=True)
    _, got = verdicts(cp)
    assert any(v == "warn" and "f@forensic.test" in dd and
               "example.test._report._dmarc.forensic.test" in dd
               for v, dd, f in got["dmarc"]), got["dmarc"]
    certs_seen = [(v, dd) for v, dd, f in got["cert"]]
    assert any(v == "fail" and "smtp.other.test expired" in dd
               for v, dd in certs_seen), certs_seen
    assert any(HOST in dd for v, dd in certs_seen)


def test_init_preflight_dial(postern_bin, tmp_path):
    """init --dial also tries outbound port 25 (to gmail.com's MX, here
    a loopback address through the test DNS server)."""
    host = "mail.dial-example.net"
    dns = DNSServer({host: {"A": "127.0.0.1"},
                     "gmail.com": {"MX": "5 gmail-smtp-in.l.google.com"},
                     "gmail-smtp-in.l.google.com": {"A": "127.0.0.2"}}
                    ).start()
    try:
        cp = run_postern(postern_bin, tmp_path / "c", "init",
                         "dial-example.net", "--hostname", host,
                         "--data-dir", tmp_path / "d", "--dial",
                         "--dns-resolver", "127.0.0.1:%d" % dns.port)
    finally:
        dns.stop()
    assert cp.returncode == 0, cp.stderr
    assert re.search(r"(ok|FAIL)\s+dial\s+outbound port 25 (opens|seems "
                     r"blocked): gmail-smtp-in.l.google.com \(127.0.0.2\)",
                     cp.stdout), cp.stdout
