"""TLS key exchange: every context offers X25519, P-256 and P-384 only
(net/tls.c tls_set_groups), so no client can make postern compute a
finite-field exchange (ffdhe2048..ffdhe8192, and no DHE suite in TLS
1.2: the D(HE)at pattern, CVE-2002-20001).

Inbound: `openssl s_client` with -groups on 25 and 587 (-starttls smtp)
and 465 (implicit TLS), TLS 1.3 and 1.2: an ffdhe-only client gets a
handshake failure, an X25519, P-256 or P-384 client a session on that
group.  TLS 1.2 DHE needs an RSA certificate: a second certificate
folder (chosen by SNI) has one, and an ffdhe-only TLS 1.2 client asking
for it is refused too (it used to get DHE-RSA).

`postern send` (the CLI's client context): against `openssl s_server`
offering only ffdhe groups the handshake fails; offering only X25519 it
succeeds.  The deliver process's client context is in
test_outbound_client.py (test_outbound_groups)."""

import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import HOST, Server, _finish, free_base, new_dir

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="no openssl")

FFDHE = "ffdhe2048:ffdhe3072:ffdhe4096:ffdhe6144:ffdhe8192"
# what s_client prints as the server's key for each group we offer
GROUPS = {"X25519": "X25519", "P-256": "ECDH, prime256v1",
          "P-384": "ECDH, secp384r1"}
RSA_NAME = "rsa." + HOST.split(".", 1)[1]
ALICE = "alice@example.test"
PORTS = [("25", True), ("587", True), ("465", False)]
VERSIONS = ["-tls1_3", "-tls1_2"]


def s_client(port, starttls, groups, version, servername=HOST):
    cmd = [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port,
           "-brief", "-servername", servername, "-groups", groups, version]
    if starttls:
        cmd += ["-starttls", "smtp", "-name", "client.test"]
    cp = subprocess.run(cmd, input=b"", capture_output=True, timeout=30)
    out = (cp.stdout + cp.stderr).decode(errors="replace")
    return cp.returncode == 0 and "CONNECTION ESTABLISHED" in out, out


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind,starttls", PORTS)
def test_ffdhe_only_client_refused(srv, kind, starttls, version):
    ok, out = s_client(srv.port(kind), starttls, FFDHE, version)
    assert not ok, out
    assert "Server Temp Key" not in out, out
    # the same client with an EC group gets a session (TLS 1.2 also
    # needs P-256 for the ECDSA certificate itself, RFC 8422 5.1)
    ok, out = s_client(srv.port(kind), starttls, "X25519:P-256", version)
    assert ok, out
    assert "Server Temp Key: X25519" in out, out


def check_group(port, starttls, group, version, servername=HOST):
    ok, out = s_client(port, starttls, group, version, servername)
    assert ok, out
    assert "Server Temp Key: %s" % GROUPS[group] in out, out
    assert "Protocol version: %s" % (
        "TLSv1.3" if version == "-tls1_3" else "TLSv1.2") in out, out
    return out


@pytest.mark.parametrize("kind,starttls", PORTS)
@pytest.mark.parametrize("group", sorted(GROUPS))
def test_ec_groups_tls13(srv, kind, starttls, group):
    check_group(srv.port(kind), starttls, group, "-tls1_3")


@pytest.fixture(scope="module")
def rsa_srv(postern_bin, template, work_root):
    """A server with a second certificate folder holding an RSA key
    (TLS 1.2 DHE suites exist only with RSA)."""
    s = Server(postern_bin, new_dir(work_root, "rsa"), template)
    d = s.confdir / "certs" / RSA_NAME
    d.mkdir()
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(d / "privkey.pem"), "-out",
                    str(d / "fullchain.pem"), "-days", "2", "-subj",
                    "/CN=" + RSA_NAME], check=True, capture_output=True)
    s.chown_data()
    s.start()
    yield s
    problems = []
    _finish(s, problems)
    assert not problems, problems


@pytest.mark.parametrize("kind,starttls", PORTS)
@pytest.mark.parametrize("group", sorted(GROUPS))
def test_ec_groups_tls12(rsa_srv, kind, starttls, group):
    """TLS 1.2 with the RSA certificate: any of the three alone works."""
    out = check_group(rsa_srv.port(kind), starttls, group, "-tls1_2",
                      RSA_NAME)
    assert re.search(r"^Signature type: RSA", out, re.M), out


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind,starttls", PORTS)
def test_no_dhe_with_an_rsa_certificate(rsa_srv, kind, starttls, version):
    """An ffdhe-only client gets neither an FFDHE group (1.3) nor a DHE
    suite (1.2) with the RSA certificate either."""
    ok, out = s_client(rsa_srv.port(kind), starttls, FFDHE, version,
                       RSA_NAME)
    assert not ok, out
    assert "Server Temp Key" not in out, out


# --- the client context of `postern send` ----------------------------------------

class SServer:
    """openssl s_server on 127.0.0.1 offering only groups (implicit TLS;
    it never speaks SMTP: the client stops at the unverified
    certificate anyway)."""

    def __init__(self, tmp_path, groups):
        key, crt = tmp_path / "key.pem", tmp_path / "crt.pem"
        if not key.exists():
            subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec",
                            "-pkeyopt", "ec_paramgen_curve:prime256v1",
                            "-nodes", "-keyout", str(key), "-out", str(crt),
                            "-days", "2", "-subj", "/CN=peer.test"],
                           check=True, capture_output=True)
        self.port = free_base(1)
        self.proc = subprocess.Popen(
            [OPENSSL, "s_server", "-accept", "127.0.0.1:%d" % self.port,
             "-cert", str(crt), "-key", str(key), "-groups", groups,
             "-quiet"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError("openssl s_server did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def send_tls(srv, port):
    cp = subprocess.run(
        [srv.bin, "-C", str(srv.confdir), "send", "--from", ALICE, "--to",
         ALICE, "--tls", "--server", "127.0.0.1:%d" % port],
        input="", capture_output=True, text=True, timeout=60)
    return cp


def test_send_client_groups(srv, tmp_path):
    peer = SServer(tmp_path, FFDHE)
    try:
        cp = send_tls(srv, peer.port)
    finally:
        peer.stop()
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert "TLS handshake failed" in cp.stderr, cp.stdout + cp.stderr
    assert "TLSv1." not in cp.stdout
    peer = SServer(tmp_path, "X25519")
    try:
        cp = send_tls(srv, peer.port)
    finally:
        peer.stop()
    # the handshake worked; the self-signed certificate stops it then
    assert re.search(r"^tls \.\.\. TLSv1\.3 \S+, certificate NOT verified",
                     cp.stdout, re.M), cp.stdout + cp.stderr
    assert cp.returncode == 1
