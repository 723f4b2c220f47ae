"""SIGHUP reloads config, users, aliases and certificates without dropping
connections or mail; the deliver process takes the new outbound settings
for new connections."""

import os
import re
import signal
import smtplib
import subprocess
import time

import pytest

from conftest import HOST, greet, send_data, split_delivered
from dnsserver import DNSServer
from mxpeer import MXPeer, free_port, send, wait_for

ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@client.test"


def ehlo_size(s):
    with s.raw("smtp") as r:
        for l in greet(r)[1:]:
            kw = l[4:].split()
            if kw and kw[0].upper() == "SIZE":
                return int(kw[1])
    return None


def test_new_user_after_reload(server):
    s = server()
    s.add_user("dave@example.test", "dave-Secret-4")
    s.reload()
    c = s.submission("dave@example.test", kind="465")
    c.sendmail("dave@example.test", [ALICE],
               b"Subject: from dave\r\n\r\nhi\r\n")
    c.quit()
    (data,) = s.wait_mail(ALICE, 1)
    assert split_delivered(data)[0] == "dave@example.test"
    # and as a local recipient
    with s.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(250, "RCPT TO:<dave@example.test>")


def test_removed_user_after_reload(server):
    s = server(conf={"auth_fail_delay_ms": 100})
    cp = s.ctl("user-remove", BOB)
    assert cp.returncode == 0, cp.stderr
    s.reload()
    with pytest.raises(smtplib.SMTPAuthenticationError):
        s.submission(BOB, kind="465")
    with s.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(550, "RCPT TO:<%s>" % BOB)
    # others are unaffected
    s.submission(ALICE, kind="465").quit()


def test_open_sessions_survive_reload(server):
    s = server()
    # one plain MX session in the middle of a transaction
    mx = s.raw("smtp")
    greet(mx)
    mx.expect(250, "MAIL FROM:<%s>" % SENDER)
    mx.expect(250, "RCPT TO:<%s>" % ALICE)
    # one authenticated TLS session
    sub = s.submission(ALICE, kind="587")
    # one session in the middle of DATA
    mid = s.raw("smtp")
    greet(mid)
    mid.expect(250, "MAIL FROM:<%s>" % SENDER)
    mid.expect(250, "RCPT TO:<%s>" % BOB)
    mid.expect(354, "DATA")
    mid.send(b"Subject: across a reload\r\n\r\nfirst half\r\n")

    s.add_user("erin@example.test", "erin-Secret-5")
    s.reload()
    assert s.running()

    mid.send(b"second half\r\n.\r\n")
    mid.expect(250)
    mid.expect(221, "QUIT")
    mx.expect(354, "DATA")
    mx.send(b"Subject: mx across reload\r\n\r\nok\r\n.\r\n")
    mx.expect(250)
    mx.expect(221, "QUIT")
    sub.sendmail(ALICE, [BOB], b"Subject: sub across reload\r\n\r\nok\r\n")
    sub.quit()
    mx.close()
    mid.close()
    a = s.wait_mail(ALICE, 1)
    b = s.wait_mail(BOB, 2)
    assert split_delivered(a[0])[3] == b"Subject: mx across reload\r\n\r\nok\r\n"
    assert sorted(split_delivered(x)[3] for x in b) == sorted([
        b"Subject: across a reload\r\n\r\nfirst half\r\nsecond half\r\n",
        b"Subject: sub across reload\r\n\r\nok\r\n"])


def test_config_reload(server):
    s = server(conf={"max_message_size": 10000})
    assert ehlo_size(s) == 10000
    s.set("max_message_size", 20000)
    s.reload()
    assert ehlo_size(s) == 20000


def test_alias_reload(server):
    s = server()
    with s.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(550, "RCPT TO:<newalias@example.test>")
    s.write_aliases("newalias: bob\n")
    s.reload()
    with s.raw("smtp") as r:
        greet(r)
        code, lines = send_data(r, SENDER, ["newalias@example.test"],
                                b"Subject: alias\r\n\r\nx\r\n")
        assert code == 250, lines
    s.wait_mail(BOB, 1)


def test_bad_config_keeps_old_one(server):
    s = server()
    good = s.conffile.read_text()
    s.conffile.write_text(good + "no_such_key = 1\n")
    s.signal(signal.SIGHUP)
    time.sleep(1)
    assert s.running(), "a bad config on reload killed the server"
    with s.raw("smtp") as r:
        greet(r)
        code, lines = send_data(r, SENDER, [ALICE],
                                b"Subject: still\r\n\r\nserving\r\n")
        assert code == 250, lines
    s.wait_mail(ALICE, 1)
    assert "no_such_key" in s.log()
    s.conffile.write_text(good)


def test_certificate_reload(server):
    s = server()
    with s.raw("465") as r:
        old = r.sock.getpeercert(binary_form=True)
    d = s.confdir / "certs" / HOST
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=" + HOST, "-addext",
                    "subjectAltName=DNS:" + HOST,
                    "-keyout", str(d / "privkey.pem.new"),
                    "-out", str(d / "fullchain.pem.new")],
                   check=True, capture_output=True)
    for name in ("privkey.pem", "fullchain.pem"):
        st = os.stat(d / name)
        os.chown(d / (name + ".new"), st.st_uid, st.st_gid)
        os.chmod(d / (name + ".new"), st.st_mode & 0o7777)
        os.rename(d / (name + ".new"), d / name)
    # a TLS session open across the reload is not dropped
    keep = s.submission(ALICE, kind="465")
    s.reload()
    with s.raw("465") as r:
        new = r.sock.getpeercert(binary_form=True)
    assert new != old, "certificate not reloaded"
    keep.sendmail(ALICE, [BOB], b"Subject: kept\r\n\r\nx\r\n")
    keep.quit()
    s.wait_mail(BOB, 1)


# --- the deliver process: outbound settings ------------------------------------
#
# The deliver process reads postern.conf again on reload: new connections
# use the new settings (port, resolver, ...), a delivery in flight ends
# with the old ones, and a bad config keeps the old ones.  Real aiosmtpd
# peers stand in for the remote MX hosts (tests/integration/mxpeer.py).

R_OLD, R_NEW = "127.0.0.41", "127.0.0.42"


def _outbound_zone(addr):
    return {"remote-reload.test": {"MX": "10 mx.remote-reload.test"},
            "mx.remote-reload.test": {"A": addr}}


@pytest.fixture
def outbound():
    """(dns_old, dns_new, port_a, port_b, peer factory): two DNS servers
    that send remote-reload.test to R_OLD and to R_NEW, two ports free
    on both addresses; peers stopped at teardown."""
    dns_old = DNSServer(_outbound_zone(R_OLD)).start()
    dns_new = DNSServer(_outbound_zone(R_NEW)).start()
    pa, pb = free_port((R_OLD, R_NEW), 2)
    made = []

    def peer(addr, port, **kw):
        p = MXPeer(addr, port, **kw).start()
        made.append(p)
        return p
    yield dns_old, dns_new, pa, pb, peer
    for p in made:
        p.stop()
    dns_old.stop()
    dns_new.stop()


def _outbound_server(server, dns, port):
    return server(conf={"dns_resolver": "127.0.0.1:%d" % dns.port,
                        "outbound_smtp_port": str(port),
                        "dnssec_trust_anchor": "none"})


def _reload_deliver(s, want):
    """SIGHUP; wait for the deliver process's line (want: a regex)."""
    mark = len(s.log())
    s.signal(signal.SIGHUP)
    m = s.wait_log(want, 20, since=mark)
    assert m, s.log()[mark:]
    return mark


def test_outbound_port_after_reload(server, outbound):
    dns_old, _, pa, pb, peer = outbound
    first, second = peer(R_OLD, pa), peer(R_OLD, pb)
    s = _outbound_server(server, dns_old, pa)
    send(s, ALICE, ["bob@remote-reload.test"], ["before"])
    (m1,) = first.wait(1)
    assert m1["ehlo"] == HOST
    s.set("outbound_smtp_port", str(pb))
    _reload_deliver(s, r"deliver: configuration reloaded: .* port=%d " % pb)
    send(s, ALICE, ["bob@remote-reload.test"], ["after"])
    (m2,) = second.wait(1)
    assert b"Subject: after" in m2["content"]
    assert m2["ehlo"] == HOST
    # the first peer got nothing more; its idle connection was closed
    assert len(first.messages) == 1
    assert first.quits == 1
    assert s.wait_queue_empty(20)


def test_outbound_resolver_after_reload_in_flight_keeps_old(server,
                                                            outbound):
    """A delivery in flight at the reload ends with the settings it began
    with; the next message is looked up through the new resolver."""
    dns_old, dns_new, pa, _, peer = outbound
    slow = peer(R_OLD, pa, hold=6)
    fresh = peer(R_NEW, pa)
    s = _outbound_server(server, dns_old, pa)
    send(s, ALICE, ["bob@remote-reload.test"], ["in flight"])
    assert wait_for(lambda: slow.data_started == 1)
    s.set("dns_resolver", "127.0.0.1:%d" % dns_new.port)
    _reload_deliver(s, r"deliver: configuration reloaded")
    send(s, ALICE, ["bob@remote-reload.test"], ["after the reload"])
    (m2,) = fresh.wait(1)
    assert b"Subject: after the reload" in m2["content"]
    # the first is still being answered: it was not moved or cut
    assert slow.messages == []
    (m1,) = slow.wait(1)
    assert b"Subject: in flight" in m1["content"]
    assert ("remote-reload.test", "MX", "udp") in dns_new.queries
    assert s.wait_queue_empty(20)
    assert len(re.findall(r"msgid=\S+ rcpt=<bob@remote-reload.test> "
                          r"delivered", s.log())) == 2, s.log()[-3000:]


def test_outbound_bad_reload_keeps_settings(server, outbound):
    dns_old, _, pa, pb, peer = outbound
    first, second = peer(R_OLD, pa), peer(R_OLD, pb)
    s = _outbound_server(server, dns_old, pa)
    good = s.conffile.read_text()
    s.set("outbound_smtp_port", str(pb))
    s.set("dnssec_trust_anchor", "/nonexistent/root.key")
    mark = _reload_deliver(s, r"reload failed")
    assert "dnssec_trust_anchor /nonexistent/root.key" in s.log()[mark:]
    send(s, ALICE, ["bob@remote-reload.test"], ["bad reload"])
    first.wait(1)
    assert "deliver: configuration reloaded" not in s.log()[mark:]
    # a postern.conf the parent (root) reads and deliver (the postern
    # user) cannot: deliver keeps its settings, and says so
    s.conffile.write_text(good)
    s.set("outbound_smtp_port", str(pb))
    os.chmod(s.conffile, 0o600)
    try:
        mark = _reload_deliver(s, r"deliver: reload failed, keeping the "
                                  r"current settings: .*Permission denied")
        send(s, ALICE, ["bob@remote-reload.test"], ["unreadable"])
        first.wait(2)
        assert "deliver: configuration reloaded" not in s.log()[mark:]
    finally:
        os.chmod(s.conffile, 0o644)
    # fixed: the change goes through
    s.conffile.write_text(good)
    s.set("outbound_smtp_port", str(pb))
    _reload_deliver(s, r"deliver: configuration reloaded: .* port=%d " % pb)
    send(s, ALICE, ["bob@remote-reload.test"], ["good reload"])
    second.wait(1)
    assert len(first.messages) == 2
