"""DKIM keys and the records to publish: `postern dkim-keygen`, the key
`init` makes, and `postern dns`.

The proof that a key and its record belong together is dkimpy's: a
message signed by dkimpy with the private key postern wrote verifies
against the TXT record exactly as `postern dns` printed it, read back
through dnspython's zone-file parser (so the quoting and the 255-byte
strings are checked too)."""
import base64
import re
import stat

import dkim
import dns.rdatatype
import dns.zone
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from conftest import run_postern

DOMAIN = "keys.test"
MSG = (b"From: a@keys.test\r\nTo: b@example.net\r\nSubject: hi\r\n"
       b"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
       b"Message-ID: <1@keys.test>\r\n\r\nbody\r\n")


def init(postern_bin, tmp_path):
    conf = tmp_path / "c"
    cp = run_postern(postern_bin, conf, "init", DOMAIN)
    assert cp.returncode == 0, cp.stderr
    return conf


def zone(text):
    """The printed records as a dnspython zone (no SOA needed)."""
    return dns.zone.from_text(text, origin=DOMAIN + ".", relativize=False,
                              check_origin=False)


def txt(z, name):
    node = z.get_node(name)
    assert node is not None, name
    rds = node.get_rdataset(1, dns.rdatatype.TXT)
    assert rds is not None and len(rds) == 1
    strings = list(rds)[0].strings
    assert all(len(s) <= 255 for s in strings)
    return b"".join(strings)


def dns_out(postern_bin, conf):
    cp = run_postern(postern_bin, conf, "dns", DOMAIN)
    assert cp.returncode == 0, cp.stderr
    return cp.stdout


def load_key(path):
    return serialization.load_pem_private_key(path.read_bytes(), None)


def test_init_makes_a_key(postern_bin, tmp_path):
    conf = init(postern_bin, tmp_path)
    keys = sorted((conf / "domains" / DOMAIN / "dkim").glob("*.pem"))
    assert len(keys) == 1
    assert re.fullmatch(r"p20\d\d\.pem", keys[0].name)
    mode = keys[0].stat().st_mode
    assert stat.S_IMODE(mode) == 0o640
    key = load_key(keys[0])
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    # init run again elsewhere keeps it: a second init refuses, key intact
    before = keys[0].read_bytes()
    assert run_postern(postern_bin, conf, "init", DOMAIN).returncode != 0
    assert keys[0].read_bytes() == before


def sign_verify(conf, selector, out_text, ed):
    path = conf / "domains" / DOMAIN / "dkim" / (selector + ".pem")
    key = load_key(path)
    if ed:
        raw = key.private_bytes(serialization.Encoding.Raw,
                                serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
        priv = base64.b64encode(raw)
        alg = b"ed25519-sha256"
    else:
        priv = path.read_bytes()
        alg = b"rsa-sha256"
    sig = dkim.sign(MSG, selector.encode(), DOMAIN.encode(), priv,
                    signature_algorithm=alg)
    record = txt(zone(out_text), "%s._domainkey.%s." % (selector, DOMAIN))

    def dnsfunc(name, timeout=5):
        assert name == ("%s._domainkey.%s." % (selector, DOMAIN)).encode()
        return record

    assert dkim.verify(sig + MSG, dnsfunc=dnsfunc)
    # and a changed body does not
    assert not dkim.verify(sig + MSG.replace(b"body", b"b0dy"),
                           dnsfunc=dnsfunc)
    return record


def test_keygen_and_dns_verify_with_dkimpy(postern_bin, tmp_path):
    conf = init(postern_bin, tmp_path)
    cp = run_postern(postern_bin, conf, "dkim-keygen", DOMAIN, "--selector",
                     "ed1", "--type", "ed25519")
    assert cp.returncode == 0, cp.stderr
    assert "ed1._domainkey.%s. 3600 IN TXT" % DOMAIN in cp.stdout
    cp = run_postern(postern_bin, conf, "dkim-keygen", DOMAIN, "--selector",
                     "big", "--bits", "4096")
    assert cp.returncode == 0, cp.stderr
    assert isinstance(load_key(conf / "domains" / DOMAIN / "dkim" /
                               "big.pem"), rsa.RSAPrivateKey)
    out = dns_out(postern_bin, conf)
    z = zone(out)
    init_sel = next((conf / "domains" / DOMAIN / "dkim").glob("p*.pem")).stem
    for sel, ed in (("ed1", True), ("big", False), (init_sel, False)):
        record = sign_verify(conf, sel, out, ed)
        assert record.startswith(b"v=DKIM1; k=%s; p=" %
                                 (b"ed25519" if ed else b"rsa"))
    assert isinstance(load_key(conf / "domains" / DOMAIN / "dkim" /
                               "ed1.pem"), ed25519.Ed25519PrivateKey)
    # the RSA-4096 record needs more than one string
    node = z.get_node("big._domainkey.%s." % DOMAIN)
    assert len(list(node.get_rdataset(1, dns.rdatatype.TXT))[0].strings) > 2
    # the other records
    mx = z.get_node(DOMAIN + ".").get_rdataset(1, dns.rdatatype.MX)
    assert str(list(mx)[0].exchange) == "mail.%s." % DOMAIN
    assert txt(z, DOMAIN + ".") == b"v=spf1 mx -all"
    assert txt(z, "_dmarc.%s." % DOMAIN) == (
        b"v=DMARC1; p=quarantine; fo=1; rua=mailto:postmaster@%s" %
        DOMAIN.encode())
    assert "no public address" in out


def test_dns_with_addresses(postern_bin, tmp_path):
    conf = init(postern_bin, tmp_path)
    text = (conf / "postern.conf").read_text()
    text += "outbound_source_ipv4 = 192.0.2.25\n" \
            "outbound_source_ipv6 = 2001:db8::25\n"
    (conf / "postern.conf").write_text(text)
    out = dns_out(postern_bin, conf)
    z = zone(out)
    assert txt(z, DOMAIN + ".") == \
        b"v=spf1 mx ip4:192.0.2.25 ip6:2001:db8::25 -all"
    host = z.get_node("mail.%s." % DOMAIN)
    assert [r.address for r in host.get_rdataset(1, dns.rdatatype.A)] == \
        ["192.0.2.25"]
    assert [r.address for r in host.get_rdataset(1, dns.rdatatype.AAAA)] \
        == ["2001:db8::25"]
    assert "; PTR of 192.0.2.25: mail.%s." % DOMAIN in out


def test_keygen_refusals(postern_bin, tmp_path):
    conf = init(postern_bin, tmp_path)
    dkimdir = conf / "domains" / DOMAIN / "dkim"
    first = next(dkimdir.glob("p*.pem"))
    before = first.read_bytes()
    cp = run_postern(postern_bin, conf, "dkim-keygen", DOMAIN, "--selector",
                     first.stem)
    assert cp.returncode == 1 and "exists" in cp.stderr
    assert first.read_bytes() == before
    for args, rc in ((["--selector", "bad.sel"], 1),
                     (["--selector", "-x"], 1),
                     (["--bits", "1024"], 2),
                     (["--type", "dsa"], 2),
                     ([], None)):
        cp = run_postern(postern_bin, conf, "dkim-keygen", *(
            [DOMAIN] + args if rc is not None else []))
        assert cp.returncode == (rc if rc is not None else 2), cp.stderr
        assert cp.stderr.strip()
    cp = run_postern(postern_bin, conf, "dkim-keygen", "other.test")
    assert cp.returncode == 1 and "other.test" in cp.stderr
    assert sorted(p.name for p in dkimdir.iterdir()) == [first.name]
    # dns: an unknown domain, a key file that is not a key
    cp = run_postern(postern_bin, conf, "dns", "other.test")
    assert cp.returncode == 1 and "not a domain" in cp.stderr
    (dkimdir / "junk.pem").write_text("not a key\n")
    cp = run_postern(postern_bin, conf, "dns", DOMAIN)
    assert cp.returncode == 1 and "junk.pem" in cp.stderr
