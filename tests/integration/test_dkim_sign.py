"""DKIM signatures made by postern's signing modules (through
tests/unit/dkim_probe, which signs exactly as the signer does) verified
by real verifiers: dkimpy for RSA and Ed25519, and OpenDKIM for
RSA (opendkim -t), each against the TXT record `postern dns` printed.  The messages
are the awkward ones: 8-bit bodies, folded headers, trailing blank
lines, no Date or Message-ID, an empty body, many recipients.  Altered
signed headers, bodies, and an added From must fail."""
import base64
import os
import subprocess
import time

import dkim
import pytest

from conftest import dkim_records, find_probe, run_postern

DOMAIN = "sign.test"

MESSAGES = {
    "plain": b"From: Alice <alice@sign.test>\r\nTo: bob@example.net\r\n"
             b"Subject: hello\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
             b"Message-ID: <a1@sign.test>\r\n\r\nHello Bob.\r\n",
    "eightbit": "From: Jos\u00e9 <jose@sign.test>\r\nTo: b@example.net\r\n"
                "Subject: =?utf-8?q?caf=C3=A9?=\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n\r\n"
                "Caf\u00e9, na\u00efve, \u65e5\u672c\u8a9e.\r\n"
                .encode("utf-8"),
    "folded": b"From: alice@sign.test\r\nTo: a@example.net,\r\n"
              b"   b@example.net,\r\n\tc@example.net\r\n"
              b"Subject: a   subject\r\n  folded  over\r\n\tthree lines\r\n"
              b"Cc: x@example.net\r\nCc: y@example.net\r\n"
              b"\r\nbody  with   spaces  \r\n\ttabbed\t\r\n",
    "trailing": b"From: alice@sign.test\r\nTo: b@example.net\r\n"
                b"Subject: t\r\n\r\nline\r\n\r\n\r\n\r\n",
    "nodate": b"From: alice@sign.test\r\nTo: b@example.net\r\n"
              b"Subject: no date, no id\r\n\r\nx\r\n",
    "emptybody": b"From: alice@sign.test\r\nTo: b@example.net\r\n"
                 b"Subject: e\r\n\r\n",
    "noblank": b"From: alice@sign.test\r\nTo: b@example.net\r\n"
               b"Subject: headers only\r\n",
}


def probe():
    return find_probe("dkim_probe")


@pytest.fixture(scope="module")
def keys(postern_bin, tmp_path_factory):
    """A config dir with an RSA key (from init) and an Ed25519 key, and
    the records `postern dns` prints for them."""
    conf = tmp_path_factory.mktemp("sign") / "c"
    assert run_postern(postern_bin, conf, "init", DOMAIN).returncode == 0
    cp = run_postern(postern_bin, conf, "dkim-keygen", DOMAIN, "--selector",
                     "ed", "--type", "ed25519")
    assert cp.returncode == 0, cp.stderr
    cp = run_postern(postern_bin, conf, "dns", DOMAIN)
    assert cp.returncode == 0, cp.stderr
    records = dkim_records(cp.stdout, DOMAIN)
    dkimdir = conf / "domains" / DOMAIN / "dkim"
    rsa_sel = next(p.stem for p in dkimdir.glob("p*.pem"))
    return {"conf": conf, "records": records, "dir": dkimdir,
            "rsa": rsa_sel, "ed": "ed"}


def sign(keys, sel, msg):
    cp = subprocess.run([probe(), "sign", str(keys["dir"] / (sel + ".pem")),
                         DOMAIN, sel, str(int(time.time()))], input=msg,
                        capture_output=True, timeout=30)
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.endswith(msg)
    return cp.stdout


def dnsfunc(keys):
    def f(name, timeout=5):
        return keys["records"].get(name.decode(), b"")
    return f


def verify(keys, signed):
    return dkim.verify(signed, dnsfunc=dnsfunc(keys))


@pytest.mark.parametrize("kind", ["rsa", "ed"])
@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_dkimpy_verifies(keys, kind, name):
    signed = sign(keys, keys[kind], MESSAGES[name])
    assert verify(keys, signed), signed[:600]
    field = signed[:len(signed) - len(MESSAGES[name])].decode()
    assert "c=relaxed/relaxed" in field and "l=" not in field
    assert ("a=ed25519-sha256" if kind == "ed" else "a=rsa-sha256") in field
    for line in field.split("\r\n"):
        assert len(line) <= 78, line


@pytest.mark.parametrize("kind", ["rsa", "ed"])
def test_tampering_fails(keys, kind):
    msg = MESSAGES["plain"]
    signed = sign(keys, keys[kind], msg)
    assert verify(keys, signed)
    for old, new in ((b"Subject: hello", b"Subject: hellO"),
                     (b"Hello Bob.", b"Hello Bob!"),
                     (b"To: bob@", b"To: rob@")):
        assert not verify(keys, signed.replace(old, new)), old
    # an added From, Subject or Date (oversigned) breaks it too
    for extra in (b"From: mallory@evil.example\r\n",
                  b"Subject: urgent\r\n", b"Date: Sat, 05 Dec 2026\r\n"):
        cut = signed.index(b"\r\n\r\n") + 2
        assert not verify(keys, signed[:cut] + extra + signed[cut:]), extra
    # an added unsigned header does not matter
    cut = signed.index(b"\r\n\r\n") + 2
    assert verify(keys, signed[:cut] + b"X-Added: fine\r\n" + signed[cut:])


def test_opendkim_agrees(keys, tmp_path):
    """OpenDKIM's own verifier (opendkim -t, the test mode of Debian's
    milter) agrees for RSA.  It reads the key record from a file
    (TestPublicKeys) holding exactly the TXT data `postern dns` printed."""
    assert os.path.exists("/usr/sbin/opendkim"), "opendkim is not installed"
    sel = keys["rsa"]
    name = "%s._domainkey.%s" % (sel, DOMAIN)
    (tmp_path / "keys").write_bytes(b"%s %s\n" % (
        name.encode(), keys["records"][name + "."]))
    (tmp_path / "opendkim.conf").write_text(
        "Mode v\nSyslog no\nMinimumKeyBits 1024\nTestPublicKeys %s\n" %
        (tmp_path / "keys"))
    for m in sorted(MESSAGES):
        signed = sign(keys, sel, MESSAGES[m])
        for kind, data in (("good", signed),
                           ("bad", signed.replace(b"Subject: ",
                                                  b"Subject: X", 1))):
            f = tmp_path / ("%s.%s" % (m, kind))
            f.write_bytes(data)
            cp = subprocess.run(["/usr/sbin/opendkim", "-x",
                                 str(tmp_path / "opendkim.conf"), "-t",
                                 str(f)], capture_output=True, text=True,
                                timeout=30)
            out = cp.stdout + cp.stderr
            assert cp.returncode == 0, out
            assert "verification (s=%s" % sel in out, out
            if kind == "good":
                assert "succeeded" in out, (m, out)
            else:
                assert "succeeded" not in out and "failed" in out, (m, out)


# --- the verifier side: what others sign, our modules verify -----------------


def probe_verify(keys_file, msg, now=None):
    cp = subprocess.run([probe(), "verify", str(keys_file),
                         str(int(now or time.time()))], input=msg,
                        capture_output=True, timeout=30)
    assert cp.returncode == 0, cp.stderr
    out = []
    for line in cp.stdout.decode().splitlines():
        m = dict(kv.split("=", 1) for kv in line.split(" ", 3))
        out.append(m)
    return out


@pytest.fixture(scope="module")
def keyfile(keys, tmp_path_factory):
    f = tmp_path_factory.mktemp("keys") / "keys"
    f.write_bytes(b"".join(b"%s %s\n" % (name.rstrip(".").encode(), rec)
                           for name, rec in keys["records"].items()))
    return f


def dkimpy_sign(keys, kind, msg, **kw):
    sel = keys[kind]
    path = keys["dir"] / (sel + ".pem")
    if kind == "ed":
        from cryptography.hazmat.primitives import serialization
        k = serialization.load_pem_private_key(path.read_bytes(), None)
        priv = base64.b64encode(k.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption()))
        kw.setdefault("signature_algorithm", b"ed25519-sha256")
    else:
        priv = path.read_bytes()
    return dkim.sign(msg, sel.encode(), DOMAIN.encode(), priv, **kw) + msg


@pytest.mark.parametrize("kind", ["rsa", "ed"])
@pytest.mark.parametrize("canon", [(b"simple", b"simple"),
                                   (b"relaxed", b"simple"),
                                   (b"relaxed", b"relaxed"),
                                   (b"simple", b"relaxed")])
@pytest.mark.parametrize("name", ["plain", "folded", "trailing", "eightbit"])
def test_we_verify_dkimpy(keys, keyfile, kind, canon, name):
    msg = MESSAGES[name]
    signed = dkimpy_sign(keys, kind, msg, canonicalize=canon)
    r = probe_verify(keyfile, signed)
    assert [x["result"] for x in r] == ["pass"], r
    assert r[0]["d"] == DOMAIN and r[0]["s"] == keys[kind]
    bad = signed.replace(b"\r\n\r\n", b"\r\n\r\nX", 1)
    assert [x["result"] for x in probe_verify(keyfile, bad)] == ["fail"]
    hdr = signed.replace(b"To: ", b"To: x", 1)
    assert [x["result"] for x in probe_verify(keyfile, hdr)] == ["fail"]


def test_we_verify_length_and_several(keys, keyfile):
    msg = MESSAGES["plain"]
    # l=: content appended after the signed length still verifies
    signed = dkimpy_sign(keys, "rsa", msg, length=True)
    assert "l=" in signed.split(b"\r\n\r\n")[0].decode()
    r = probe_verify(keyfile, signed + b"appended\r\n")
    assert [x["result"] for x in r] == ["pass"], r
    # two signatures (ours and dkimpy's), each judged alone; a third by an
    # unknown key is neutral
    both = sign(keys, keys["ed"], dkimpy_sign(keys, "rsa", msg))
    r = probe_verify(keyfile, both)
    assert [x["result"] for x in r] == ["pass", "pass"], r
    other = dkim.sign(msg, b"nokey", DOMAIN.encode(),
                      (keys["dir"] / (keys["rsa"] + ".pem")).read_bytes())
    r = probe_verify(keyfile, other + msg)
    assert [x["result"] for x in r] == ["neutral"], r
    # expired (x= in the past) and rsa-sha1 are not valid
    old = dkimpy_sign(keys, "rsa", msg)
    field = old.split(b"\r\n\r\n")[0]
    assert b"t=" in field
    r = probe_verify(keyfile, dkim.sign(
        msg, keys["rsa"].encode(), DOMAIN.encode(),
        (keys["dir"] / (keys["rsa"] + ".pem")).read_bytes(),
        signature_algorithm=b"rsa-sha1") + msg)
    assert [x["result"] for x in r] == ["permerror"], r
    assert "8301" in r[0]["why"]


def test_rfc8463_vector(tmp_path):
    """RFC 8463 A.3's Ed25519 signature, with A.2's key record."""
    msg = (b"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
           b" d=football.example.com; i=@football.example.com;\r\n"
           b" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
           b" subject : date : message-id : from : subject : date;\r\n"
           b" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
           b" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
           b" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
           b"From: Joe SixPack <joe@football.example.com>\r\n"
           b"To: Suzie Q <suzie@shopping.example.net>\r\n"
           b"Subject: Is dinner ready?\r\n"
           b"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
           b"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
           b"\r\nHi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\n"
           b"Joe.\r\n")
    f = tmp_path / "keys"
    f.write_text("brisbane._domainkey.football.example.com v=DKIM1; "
                 "k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n")
    r = probe_verify(f, msg, now=1528637909)
    assert [x["result"] for x in r] == ["pass"], r
    r = probe_verify(f, msg.replace(b"hungry", b"angry"), now=1528637909)
    assert [x["result"] for x in r] == ["fail"], r
