"""STARTTLS: commands pipelined after STARTTLS in the same packet are
discarded (CVE-2011-0411 class); TLS 1.2+ only; the certificate for the
hostname; EHLO advertises the right things before and after TLS."""

import socket
import ssl
import subprocess

import pytest

from conftest import HOST, Raw, client_tls, greet

ALICE = "alice@example.test"


def handshake(r):
    r.sock = client_tls().wrap_socket(r.sock, server_hostname=HOST)
    r.tls = True


@pytest.mark.parametrize("kind", ["smtp", "587"])
@pytest.mark.parametrize("injected", [
    b"RSET\r\n",
    b"NOOP\r\n",
    b"RSET\r\nNOOP\r\nHELP\r\n",
    b"MAIL FROM:<sender@client.test>\r\n",
])
def test_starttls_injection(srv, kind, injected):
    with srv.raw(kind) as r:
        greet(r)
        r.send(b"STARTTLS\r\n" + injected)
        code, lines = r.reply()
        assert code == 220, lines
        # nothing answered in plaintext after the 220
        assert r.pending(0.15) == b"", "plaintext reply to injected command"
        handshake(r)
        # the first reply after the handshake is to our own command:
        # 252 (or 503 if VRFY wants EHLO first), never the 250/214 of an
        # injected command
        code, lines = r.cmd("VRFY alice")
        assert code in (252, 503), ("injected command answered", lines)
        assert r.pending(0.15) == b""
        r.ehlo()
        r.expect(252, "VRFY alice")
        if injected.startswith(b"MAIL"):
            # the injected MAIL was not executed
            code, lines = r.cmd("RCPT TO:<%s>" % ALICE)
            assert code == 503, lines
        r.expect(250, "NOOP")


def test_starttls_injection_in_a_group(srv):
    """Same with STARTTLS in the middle of a pipelined group (RSET may
    come anywhere in a group, RFC 2920 3.1)."""
    with srv.raw("smtp") as r:
        greet(r)
        r.send(b"RSET\r\nSTARTTLS\r\nRSET\r\n")
        code, lines = r.reply()
        assert code == 250, lines
        code, lines = r.reply()
        assert code == 220, lines
        assert r.pending(0.3) == b""
        handshake(r)
        code, lines = r.cmd("VRFY alice")
        assert code in (252, 503), ("injected command answered", lines)
        assert r.pending(0.2) == b""


@pytest.mark.parametrize("kind", ["smtp", "587"])
def test_ehlo_before_and_after_tls(srv, kind):
    with srv.raw(kind) as r:
        lines = greet(r)
        kw = [l[4:].upper() for l in lines[1:]]
        assert "STARTTLS" in kw
        assert not any(k.startswith("AUTH") for k in kw)
        r.starttls()
        # RFC 3207 4.2: the state is reset; a new EHLO is needed
        code, lines = r.cmd("MAIL FROM:<sender@client.test>")
        assert code == 503 or (kind == "587" and code == 530), lines
        lines = r.ehlo()
        kw = [l[4:].upper() for l in lines[1:]]
        assert "STARTTLS" not in kw
        if kind == "587":
            auth = [k for k in kw if k.startswith("AUTH")]
            assert auth and set(auth[0].split()[1:]) >= {"PLAIN", "LOGIN"}


def test_starttls_twice(srv):
    with srv.raw("587") as r:
        greet(r)
        r.starttls()
        r.ehlo()
        code, lines = r.cmd("STARTTLS")
        assert 500 <= code < 600, lines
        r.expect(250, "NOOP")


def test_no_starttls_on_465(srv):
    with srv.raw("465") as r:
        lines = greet(r)
        kw = [l[4:].upper() for l in lines[1:]]
        assert "STARTTLS" not in kw
        auth = [k for k in kw if k.startswith("AUTH")]
        assert auth and set(auth[0].split()[1:]) >= {"PLAIN", "LOGIN"}
        code, lines = r.cmd("STARTTLS")
        assert 500 <= code < 600, lines


def test_starttls_with_argument_refused(srv):
    with srv.raw("smtp") as r:
        greet(r)
        code, lines = r.cmd("STARTTLS now")
        assert code == 501, lines
        r.expect(250, "NOOP")


def tls_connect(srv, minv, maxv, kind="465"):
    ctx = client_tls()
    ctx.minimum_version = minv
    ctx.maximum_version = maxv
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    sock = socket.create_connection(("127.0.0.1", srv.port(kind)), 5)
    try:
        tls = ctx.wrap_socket(sock, server_hostname=HOST)
    except (ssl.SSLError, OSError):
        sock.close()
        return None
    v = tls.version()
    tls.close()
    return v


def test_tls12_and_13_accepted(srv):
    assert tls_connect(srv, ssl.TLSVersion.TLSv1_2,
                       ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert tls_connect(srv, ssl.TLSVersion.TLSv1_3,
                       ssl.TLSVersion.TLSv1_3) == "TLSv1.3"


def client_can(srv, ver):
    """Can this Python/OpenSSL client speak TLS version ver at all?  It is
    tried against a permissive local TLS server with postern's own
    certificate, so that a refusal by postern means something."""
    import threading
    d = srv.confdir / "certs" / HOST
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        sctx.minimum_version = ver
        sctx.maximum_version = ver
        sctx.set_ciphers("ALL:@SECLEVEL=0")
    except (ssl.SSLError, ValueError):
        return False
    sctx.load_cert_chain(d / "fullchain.pem", d / "privkey.pem")
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(5)

    def serve():
        try:
            conn, _ = lsock.accept()
            with sctx.wrap_socket(conn, server_side=True):
                pass
        except (OSError, ssl.SSLError):
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    ctx = client_tls()
    try:
        ctx.minimum_version = ver
        ctx.maximum_version = ver
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        sock = socket.create_connection(lsock.getsockname(), 5)
        with ctx.wrap_socket(sock, server_hostname=HOST) as tls:
            ok = tls.version() is not None
    except (ssl.SSLError, OSError, ValueError):
        ok = False
    t.join(5)
    lsock.close()
    return ok


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("v", ["TLSv1", "TLSv1_1"])
def test_old_tls_refused(srv, v):
    ver = getattr(ssl.TLSVersion, v)
    if not client_can(srv, ver):
        pytest.skip("this OpenSSL cannot offer %s at all" % v)
    assert tls_connect(srv, ver, ver) is None


def test_no_weak_ciphers(srv):
    """A TLS 1.2 client offering only weak suites gets no session."""
    tried = 0
    for weak in ("RC4:NULL:EXPORT:DES:3DES:@SECLEVEL=0",
                 "aNULL:eNULL:@SECLEVEL=0", "kRSA:@SECLEVEL=0"):
        ctx = client_tls()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.set_ciphers(weak)
        except ssl.SSLError:
            continue        # this OpenSSL cannot even offer them
        if not [c for c in ctx.get_ciphers() if c["protocol"] != "TLSv1.3"]:
            continue
        tried += 1
        sock = socket.create_connection(("127.0.0.1", srv.subs_port), 5)
        with pytest.raises((ssl.SSLError, OSError)):
            ctx.wrap_socket(sock, server_hostname=HOST)
        sock.close()
    if not tried:
        pytest.skip("this OpenSSL offers none of the weak suites")


def test_certificate_for_hostname(srv):
    with srv.raw("465") as r:
        der = r.sock.getpeercert(binary_form=True)
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout",
                          "-subject", "-ext", "subjectAltName"],
                         input=der, capture_output=True).stdout.decode()
    assert HOST in out, out
    pem = (srv.confdir / "certs" / HOST / "fullchain.pem").read_text()
    first = pem[:pem.index("-----END CERTIFICATE-----") + 25]
    assert ssl.PEM_cert_to_DER_cert(first) == der


def test_tls_on_ipv6(srv):
    with Raw(srv.smtp_port, host="::1") as r:
        greet(r)
        r.starttls()
        r.ehlo()
        assert r.sock.version() in ("TLSv1.2", "TLSv1.3")
