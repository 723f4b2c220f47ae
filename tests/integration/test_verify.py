"""`postern verify`: the inbound checks (SPF, DKIM, DMARC) of a message,
run as serve runs them, against a real DNS server on loopback
(dnsserver.py) reached through the dns_resolver knob.  Every SPF result,
DKIM pass and fail (body altered, header altered, revoked key), DMARC
pass via SPF and via DKIM, fail under p=none, quarantine and reject, and
the sp and np policies found through the tree walk; each checked in the
--json output and in the Authentication-Results field."""
import base64
import json

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from conftest import conf_set, run_postern
from dnsserver import DNSServer

RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ED = ed25519.Ed25519PrivateKey.generate()
RSA_PEM = RSA.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
RSA_PUB = base64.b64encode(RSA.public_key().public_bytes(
    serialization.Encoding.DER,
    serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
ED_RAW = ED.private_bytes(serialization.Encoding.Raw,
                          serialization.PrivateFormat.Raw,
                          serialization.NoEncryption())
ED_PUB = base64.b64encode(ED.public_key().public_bytes(
    serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()

ZONE = """
pass.test           TXT  v=spf1 ip4:192.0.2.0/24 -all
fail.test           TXT  v=spf1 ip4:192.0.2.99 -all exp=why.fail.test
why.fail.test       TXT  %%{i} may not send for %%{d}
soft.test           TXT  v=spf1 ~all
neutral.test        TXT  v=spf1 ?all
other.test          TXT  unrelated=1
perm.test           TXT  v=spf1 a:bad..name -all
two.test            TXT  v=spf1 -all
two.test            TXT  v=spf1 +all
temp.test           SERVFAIL
deep.test           TXT  v=spf1 include:d1.test -all
d1.test             TXT  v=spf1 include:d2.test
d2.test             TXT  v=spf1 include:d3.test
d3.test             TXT  v=spf1 include:d4.test
d4.test             TXT  v=spf1 include:d5.test
d5.test             TXT  v=spf1 include:d6.test
d6.test             TXT  v=spf1 include:d7.test
d7.test             TXT  v=spf1 include:d8.test
d8.test             TXT  v=spf1 include:d9.test
d9.test             TXT  v=spf1 include:d10.test
d10.test            TXT  v=spf1 include:d11.test
d11.test            TXT  v=spf1 ip4:192.0.2.0/24
voids.test          TXT  v=spf1 a:n1.test a:n2.test a:n3.test ip4:192.0.2.0/24
mx.pass.test        A    192.0.2.7
helo.pass.test      TXT  v=spf1 a:mx.pass.test -all
rsa._domainkey.sign.test   TXT  v=DKIM1; k=rsa; p=%(rsa)s
ed._domainkey.sign.test    TXT  v=DKIM1; k=ed25519; p=%(ed)s
gone._domainkey.sign.test  TXT  v=DKIM1; p=
sign.test           TXT  v=spf1 ip4:192.0.2.0/24 -all
_dmarc.sign.test    TXT  v=DMARC1; p=reject; sp=quarantine; np=none
mail.sign.test      A    192.0.2.1
_dmarc.pass.test    TXT  v=DMARC1; p=none
_dmarc.quar.test    TXT  v=DMARC1; p=quarantine
quar.test           TXT  v=spf1 -all
""" % {"rsa": RSA_PUB, "ed": ED_PUB}

MSG = (b"From: Alice <alice@%s>\r\nTo: bob@example.net\r\n"
       b"Subject: checks\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
       b"Message-ID: <v1@sign.test>\r\n\r\nHello.\r\n")


@pytest.fixture(scope="module")
def env(postern_bin, tmp_path_factory):
    srv = DNSServer(ZONE).start()
    conf = tmp_path_factory.mktemp("verify") / "c"
    assert run_postern(postern_bin, conf, "init", "local.test").returncode \
        == 0
    conf_set(conf / "postern.conf", "dns_resolver", "127.0.0.1:%d" %
             srv.port)
    conf_set(conf / "postern.conf", "dnssec_trust_anchor", "none")
    yield {"bin": postern_bin, "conf": conf}
    srv.stop()


def verify(env, ip, mail_from=None, helo=None, msg=b"", json_out=True):
    args = ["verify", "--ip", ip]
    if mail_from is not None:
        args += ["--from", mail_from]
    if helo is not None:
        args += ["--helo", helo]
    if json_out:
        args.append("--json")
    import subprocess
    cp = subprocess.run([env["bin"], "-C", str(env["conf"])] + args,
                        input=msg, capture_output=True, timeout=60)
    assert cp.returncode == 0, cp.stderr
    return json.loads(cp.stdout) if json_out else cp.stdout.decode()


@pytest.mark.parametrize("ip,domain,want", [
    ("192.0.2.3", "pass.test", "pass"),
    ("198.51.100.3", "pass.test", "fail"),
    ("192.0.2.3", "soft.test", "softfail"),
    ("192.0.2.3", "neutral.test", "neutral"),
    ("192.0.2.3", "other.test", "none"),
    ("192.0.2.3", "nxdomain.test", "none"),
    ("192.0.2.3", "temp.test", "temperror"),
    ("192.0.2.3", "perm.test", "permerror"),
    ("192.0.2.3", "two.test", "permerror"),
    ("192.0.2.3", "deep.test", "permerror"),     # 11 includes
    ("192.0.2.3", "voids.test", "permerror"),    # 3 void lookups
])
def test_spf(env, ip, domain, want):
    r = verify(env, ip, "someone@" + domain)
    assert r["spf"]["result"] == want, r
    assert r["spf"]["domain"] == domain
    assert r["dkim"] == [] and r["dmarc"]["result"] == "none"


def test_spf_explanation_and_helo(env):
    r = verify(env, "198.51.100.3", "x@fail.test")
    assert r["spf"]["result"] == "fail"
    assert r["spf"]["explanation"] == "198.51.100.3 may not send for " \
        "fail.test"
    # the null sender: HELO's identity
    r = verify(env, "192.0.2.7", "", helo="helo.pass.test")
    assert r["spf"] == {"result": "pass", "domain": "helo.pass.test",
                        "explanation": ""}
    ar = verify(env, "192.0.2.8", "<>", helo="helo.pass.test",
                json_out=False)
    assert "spf=fail smtp.helo=helo.pass.test" in ar, ar
    assert ar.startswith("Authentication-Results: mail.local.test;")


def signed(sel, author="sign.test", body=MSG, **kw):
    msg = body % author.encode()
    if sel == "ed":
        kw.setdefault("signature_algorithm", b"ed25519-sha256")
        key = base64.b64encode(ED_RAW)
    else:
        key = RSA_PEM
    return dkim.sign(msg, sel.encode(), b"sign.test", key, **kw) + msg


@pytest.mark.parametrize("sel", ["rsa", "ed"])
def test_dkim_and_dmarc(env, sel):
    m = signed(sel)
    # DKIM passes, SPF fails: DMARC passes by DKIM
    r = verify(env, "198.51.100.3", "bounce@elsewhere.test", msg=m)
    assert r["dkim"] == [{"domain": "sign.test", "selector": sel,
                          "result": "pass"}], r
    assert r["dmarc"] == {"result": "pass", "policy": "reject",
                          "domain": "sign.test"}, r
    ar = verify(env, "198.51.100.3", "bounce@elsewhere.test", msg=m,
                json_out=False)
    assert "dkim=pass header.d=sign.test header.s=%s" % sel in ar, ar
    assert "dmarc=pass header.from=sign.test" in ar, ar
    # the body altered, a signed header altered
    for bad in (m.replace(b"Hello.", b"Hello!"),
                m.replace(b"Subject: checks", b"Subject: checks!")):
        r = verify(env, "198.51.100.3", "bounce@elsewhere.test", msg=bad)
        assert r["dkim"][0]["result"] == "fail", r
        assert r["dmarc"]["result"] == "fail"
        assert r["dmarc"]["policy"] == "reject"


def test_dmarc_pass_by_spf_and_revoked_key(env):
    m = signed("gone")
    r = verify(env, "192.0.2.3", "bounce@sign.test", msg=m)
    assert r["dkim"][0]["result"] == "permerror", r      # revoked
    assert r["spf"]["result"] == "pass"
    assert r["dmarc"]["result"] == "pass"                # via SPF
    ar = verify(env, "192.0.2.3", "bounce@sign.test", msg=m,
                json_out=False)
    assert "dkim=permerror" in ar and "revoked" in ar, ar


def unsigned(author):
    return MSG % author.encode()


def test_dmarc_policies_through_the_walk(env):
    # p=none, p=quarantine, p=reject at the domain itself
    r = verify(env, "198.51.100.3", "x@elsewhere.test",
               msg=unsigned("pass.test"))
    assert r["dmarc"] == {"result": "fail", "policy": "none",
                          "domain": "pass.test"}
    r = verify(env, "198.51.100.3", "x@elsewhere.test",
               msg=unsigned("quar.test"))
    assert r["dmarc"] == {"result": "fail", "policy": "quarantine",
                          "domain": "quar.test"}
    r = verify(env, "198.51.100.3", "x@elsewhere.test",
               msg=unsigned("sign.test"))
    assert r["dmarc"]["policy"] == "reject"
    # a subdomain that exists gets sp, one that does not gets np
    r = verify(env, "198.51.100.3", "x@elsewhere.test",
               msg=unsigned("mail.sign.test"))
    assert r["dmarc"] == {"result": "fail", "policy": "quarantine",
                          "domain": "mail.sign.test"}
    r = verify(env, "198.51.100.3", "x@elsewhere.test",
               msg=unsigned("ghost.sign.test"))
    assert r["dmarc"]["policy"] == "none"
    # relaxed alignment: SPF for a subdomain of the author's org passes
    r = verify(env, "192.0.2.3", "x@sign.test",
               msg=unsigned("mail.sign.test"))
    assert r["dmarc"]["result"] == "pass"
    # no DMARC record anywhere up the tree
    r = verify(env, "192.0.2.3", "x@pass.test", msg=unsigned("other.test"))
    assert r["dmarc"]["result"] == "none"
    ar = verify(env, "198.51.100.3", "x@elsewhere.test",
                msg=unsigned("sign.test"), json_out=False)
    assert "dmarc=fail header.from=sign.test policy.dmarc=reject" in ar, ar


def test_usage(env):
    import subprocess
    for args in (["verify"], ["verify", "--ip"], ["verify", "--ip", "x"],
                 ["verify", "--ip", "192.0.2.1", "--bogus"]):
        cp = subprocess.run([env["bin"], "-C", str(env["conf"])] + args,
                            input=b"", capture_output=True, timeout=30)
        assert cp.returncode == 2, (args, cp.stderr)
        assert cp.stderr.strip()
    # a message with no From: DMARC cannot apply
    r = verify(env, "192.0.2.3", "x@pass.test",
               msg=b"Subject: no from\r\n\r\nx\r\n")
    assert r["dmarc"]["result"] == "permerror"
    # LF line ends are taken as CRLF: a signature still verifies
    m = signed("rsa").replace(b"\r\n", b"\n")
    r = verify(env, "192.0.2.3", "x@sign.test", msg=m)
    assert r["dkim"][0]["result"] == "pass", r
