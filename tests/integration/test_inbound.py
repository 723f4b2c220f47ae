"""The inbound checks of `postern serve`: mail arriving on port 25 gets
SPF, DKIM and DMARC checked by the verifier process before the reply to
DATA, against a real DNS server on loopback (dnsserver.py, through the
dns_resolver knob), sent by smtplib and read back from the Maildir.

Each result shows in the one Authentication-Results field at the top of
the delivered message (SPF pass, fail, softfail, none, temperror; DKIM
pass signed by dkimpy, fail with the body altered; DMARC pass and fail);
dmarc_reject refuses a p=reject failure with 550 5.7.1 or, when off,
delivers it with dmarc=fail; spf_reject refuses an SPF fail at MAIL FROM
with 550 5.7.23 and the domain's explanation, and a temperror there with
451 4.7.24; a forged field naming our host name is gone while another
host's stays; an authenticated submission is not checked; a verifier
that dies gives 451 4.7.0 (never a pass) and is started again, and one
that does not answer within inbound_check_timeout gives 451 4.7.0."""
import base64
import os
import re
import signal
import smtplib
import time

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import HOST, TIMEOUT
from dnsserver import DNSServer

RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PEM = RSA.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
RSA_PUB = base64.b64encode(RSA.public_key().public_bytes(
    serialization.Encoding.DER,
    serialization.PublicFormat.SubjectPublicKeyInfo)).decode()

ZONE = """
pass.test           TXT  v=spf1 ip4:127.0.0.0/8 -all
six.test            TXT  v=spf1 ip6:::1 -all
fail.test           TXT  v=spf1 ip4:192.0.2.1 -all exp=why.fail.test
why.fail.test       TXT  %%{i} is not one of %%{d}'s senders
soft.test           TXT  v=spf1 ip4:192.0.2.1 ~all
none.test           A    192.0.2.1
temp.test           SERVFAIL
sign.test           TXT  v=spf1 ip4:192.0.2.1 -all
rsa._domainkey.sign.test   TXT  v=DKIM1; k=rsa; p=%(rsa)s
_dmarc.sign.test    TXT  v=DMARC1; p=reject
_dmarc.dtemp.test   SERVFAIL
""" % {"rsa": RSA_PUB}

RCPT = "alice@example.test"
BODY = (b"From: Someone <someone@%s>\r\nTo: alice@example.test\r\n"
        b"Subject: inbound\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
        b"Message-ID: <in1@%s>\r\n\r\nHello.\r\n")


@pytest.fixture(scope="module")
def dns():
    srv = DNSServer(ZONE).start()
    yield srv
    srv.stop()


def checked(server, dns, **conf):
    """A server with the inbound checks on, asking only our DNS server."""
    c = {"inbound_checks": "yes", "dns_resolver": "127.0.0.1:%d" % dns.port,
         "dnssec_trust_anchor": "none"}
    c.update(conf)
    return server(conf=c)


def message(author):
    return BODY % (author.encode(), author.encode())


def signed(author="sign.test"):
    msg = message(author)
    return dkim.sign(msg, b"rsa", b"sign.test", RSA_PEM) + msg


def send(s, mail_from, msg):
    """One message over port 25: smtplib's sendmail, its refusals raised."""
    with s.smtp() as c:
        c.sendmail(mail_from, [RCPT], msg)


def authres(msg):
    """The Authentication-Results fields of a delivered message, unfolded,
    in order."""
    head = msg.split(b"\r\n\r\n", 1)[0].decode()
    fields = re.split(r"\r\n(?![ \t])", head)
    return [re.sub(r"\r\n[ \t]+", " ", f) for f in fields
            if f.lower().startswith("authentication-results:")]


def delivered(s, skip):
    return s.wait_mail(RCPT, skip=skip)[0]


@pytest.fixture(scope="module")
def srv(request, postern_bin, template, work_root, dns):
    """One checked server for the tests that need no special settings."""
    from conftest import Server, new_dir, _finish
    s = Server(postern_bin, new_dir(work_root, "inbound"), template,
               conf={"inbound_checks": "yes",
                     "dns_resolver": "127.0.0.1:%d" % dns.port,
                     "dnssec_trust_anchor": "none"})
    s.start()
    yield s
    problems = []
    _finish(s, problems)
    assert not problems, problems


@pytest.mark.parametrize("domain,want", [
    ("pass.test", "pass"),
    ("fail.test", "fail"),
    ("soft.test", "softfail"),
    ("none.test", "none"),
    ("temp.test", "temperror"),
])
def test_spf_in_the_field(srv, domain, want):
    n = srv.mail_count(RCPT)
    send(srv, "x@" + domain, message(domain))
    ar = authres(delivered(srv, n))
    # one field, ours, above our Received (below only the Maildir's
    # Return-Path and Delivered-To)
    assert len(ar) == 1, ar
    assert ar[0].startswith("Authentication-Results: %s;" % HOST), ar
    assert "spf=%s smtp.mailfrom=x@%s" % (want, domain) in ar[0], ar
    assert "dkim=none" in ar[0], ar
    got = delivered(srv, n)
    assert got.index(b"Authentication-Results:") < \
        got.index(b"\r\nReceived:"), got[:300]


def test_ipv6_client(srv):
    # the client's address travels as text: ::1 is checked as IPv6
    n = srv.mail_count(RCPT)
    with smtplib.SMTP("::1", srv.smtp_port, local_hostname="client.test",
                      timeout=TIMEOUT) as c:
        c.sendmail("x@six.test", [RCPT], message("six.test"))
        c.sendmail("x@pass.test", [RCPT], message("pass.test"))
    got = srv.wait_mail(RCPT, n=2, skip=n)
    assert "spf=pass smtp.mailfrom=x@six.test" in authres(got[0])[0]
    assert "spf=fail smtp.mailfrom=x@pass.test" in authres(got[1])[0]


def test_null_sender_checks_helo(srv):
    n = srv.mail_count(RCPT)
    send(srv, "", message("pass.test"))
    ar = authres(delivered(srv, n))
    assert "smtp.helo=client.test" in ar[0], ar


def test_dkim_pass_makes_dmarc_pass(srv):
    # SPF passes for pass.test, which is not the author's domain: only
    # the aligned DKIM signature lets sign.test's p=reject pass
    n = srv.mail_count(RCPT)
    send(srv, "x@pass.test", signed())
    ar = authres(delivered(srv, n))[0]
    assert "dkim=pass header.d=sign.test header.s=rsa" in ar, ar
    assert "dmarc=pass header.from=sign.test" in ar, ar


def test_dkim_pass_large_message(srv):
    # a header of many reads and a body of many flushes: the session's
    # streamed digests are the whole message's
    head = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"h" * 60)
                    for i in range(800))
    body = b"".join(b"line %d %s\r\n" % (i, b"b" * 70) for i in range(4000))
    msg = (b"From: Someone <someone@sign.test>\r\nTo: alice@example.test\r\n"
           b"Subject: large\r\n" + head + b"\r\n" + body)
    msg = dkim.sign(msg, b"rsa", b"sign.test", RSA_PEM) + msg
    assert len(msg) > 300000
    n = srv.mail_count(RCPT)
    send(srv, "x@pass.test", msg)
    ar = authres(delivered(srv, n))[0]
    assert "dkim=pass header.d=sign.test" in ar, ar
    assert "dmarc=pass" in ar, ar


def test_dkim_fail_then_dmarc_reject(srv):
    bad = signed().replace(b"Hello.", b"Hello!")
    with pytest.raises(smtplib.SMTPDataError) as ei:
        send(srv, "x@pass.test", bad)
    assert ei.value.smtp_code == 550
    assert b"5.7.1" in ei.value.smtp_error
    assert b"sign.test" in ei.value.smtp_error
    srv.assert_no_mail(RCPT, wait=0.3, skip=srv.mail_count(RCPT))


def test_dmarc_temperror_is_451(srv):
    with pytest.raises(smtplib.SMTPDataError) as ei:
        send(srv, "x@pass.test", message("dtemp.test"))
    assert ei.value.smtp_code == 451, ei.value
    assert b"4.7.0" in ei.value.smtp_error


def test_dmarc_reject_off_delivers_with_fail(server, dns):
    s = checked(server, dns, dmarc_reject="no")
    bad = signed().replace(b"Hello.", b"Hello!")
    send(s, "x@pass.test", bad)
    ar = authres(delivered(s, 0))[0]
    assert "dkim=fail" in ar and "header.d=sign.test" in ar, ar
    assert "dmarc=fail" in ar and "policy.dmarc=reject" in ar, ar


def test_forged_field_removed_other_kept(srv):
    n = srv.mail_count(RCPT)
    forged = (b"Authentication-Results: (looks fine) %s;\r\n"
              b"\tdkim=pass header.d=bank.test\r\n"
              b"Authentication-Results: other.test; spf=pass\r\n"
              % HOST.upper().encode()) + message("pass.test")
    send(srv, "x@pass.test", forged)
    got = delivered(srv, n)
    ar = authres(got)
    assert b"bank.test" not in got, got
    assert len(ar) == 2, ar
    assert ar[0].startswith("Authentication-Results: %s;" % HOST)
    assert "spf=pass" in ar[0]
    assert ar[1] == "Authentication-Results: other.test; spf=pass", ar


def test_submission_is_not_checked(srv):
    n = srv.mail_count(RCPT)
    with srv.submission("bob@example.test") as c:
        c.sendmail("bob@example.test", [RCPT], message("example.test")
                   .replace(b"someone@", b"bob@"))
    assert authres(delivered(srv, n)) == []


def test_spf_reject_at_mail(server, dns):
    s = checked(server, dns, spf_reject="yes")
    with s.smtp() as c:
        code, text = c.mail("x@fail.test")
        assert code == 550, text
        assert text.startswith(b"5.7.23 127.0.0.1 is not one of "
                               b"fail.test's senders"), text
        code, text = c.mail("x@temp.test")
        assert code == 451 and text.startswith(b"4.7.24"), text
        # a softfail is only recorded
        assert c.mail("x@soft.test")[0] == 250
        assert c.rcpt(RCPT)[0] == 250
        code, _ = c.data(message("soft.test"))
        assert code == 250
    ar = authres(delivered(s, 0))[0]
    assert "spf=softfail" in ar, ar


def verifier_pid(s, since=0):
    m = re.findall(r"verifier started pid=(\d+)", s.log()[since:])
    return int(m[-1]) if m else None


def test_verifier_killed_then_restarted(server, dns):
    s = checked(server, dns)
    pid = verifier_pid(s)
    assert pid
    mark = len(s.log())
    with s.smtp() as c:
        assert c.mail("x@pass.test")[0] == 250
        assert c.rcpt(RCPT)[0] == 250
        s.crashed_ok = True
        os.kill(pid, signal.SIGKILL)
        s.wait_log(r"verifier channel closed", since=mark)
        code, text = c.data(message("pass.test"))
        assert code == 451 and text.startswith(b"4.7.0"), (code, text)
    s.assert_no_mail(RCPT, wait=0.2)
    # the parent starts a new generation, with a new verifier
    s.wait_log(r"verifier started pid=", since=mark)
    assert verifier_pid(s, mark) not in (None, pid)
    s.crashed_ok = False
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            send(s, "x@pass.test", message("pass.test"))
            break
        except smtplib.SMTPDataError:
            # a session that reached a draining old worker
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert "spf=pass" in authres(delivered(s, 0))[0]


def test_verifier_silent_is_451(server, dns):
    s = checked(server, dns, inbound_check_timeout="1")
    pid = verifier_pid(s)
    os.kill(pid, signal.SIGSTOP)
    try:
        with s.smtp() as c:
            assert c.mail("x@pass.test")[0] == 250
            assert c.rcpt(RCPT)[0] == 250
            code, text = c.data(message("pass.test"))
            assert code == 451 and text.startswith(b"4.7.0"), (code, text)
    finally:
        os.kill(pid, signal.SIGCONT)
    s.assert_no_mail(RCPT, wait=0.2)
    # the late answer is dropped; the next message goes through
    send(s, "x@pass.test", message("pass.test"))
    assert "spf=pass" in authres(delivered(s, 0))[0]


def gone(pid):
    """Has pid exited (a zombie counts: it serves nothing)?"""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_reload_brings_a_new_verifier(server, dns):
    # the verifier belongs to its generation: a reload starts another,
    # with the new settings, and the old one ends with its workers
    s = checked(server, dns)
    old = verifier_pid(s)
    mark = len(s.log())
    s.set("dmarc_reject", "no")
    s.reload()
    s.wait_log(r"verifier started pid=", since=mark)
    new = verifier_pid(s, mark)
    assert new not in (None, old)
    deadline = time.monotonic() + TIMEOUT
    while not gone(old):
        assert time.monotonic() < deadline, "old verifier still running"
        time.sleep(0.05)
    assert not gone(new)
    # the new settings: a p=reject failure is delivered, recorded
    send(s, "x@pass.test", signed().replace(b"Hello.", b"Hello!"))
    assert "dmarc=fail" in authres(delivered(s, 0))[0]


# --- no backscatter ---------------------------------------------------------------

def test_no_bounce_for_forged_looking_mail(server, dns):
    """A delivery that fails (a pipe alias to /bin/false) bounces to a
    sender that passed its checks, but not to one whose SPF failed, nor
    to one of a message that failed DMARC under p=reject (let in with
    dmarc_reject = no): their senders are likely forged."""
    c = {"inbound_checks": "yes", "dns_resolver": "127.0.0.1:%d" % dns.port,
         "dnssec_trust_anchor": "none", "dmarc_reject": "no"}
    s = server(conf=c, aliases="gone: | /bin/false\n")

    n = len(s.log())
    with s.smtp() as cl:
        cl.sendmail("x@pass.test", ["gone@example.test"],
                    message("pass.test"))
    assert s.wait_log(r"msgid=\S+ \S+ queued as msgid=\S+ recipients=1",
                      since=n), s.log()[n:]
    n = len(s.log())
    with s.smtp() as cl:
        cl.sendmail("x@fail.test", ["gone@example.test"],
                    message("fail.test"))
    assert s.wait_log(r"no bounce to <x@fail.test>: 1 failed recipients "
                      r"\(it arrived failing SPF or DMARC p=reject",
                      since=n), s.log()[n:]
    n = len(s.log())
    with s.smtp() as cl:
        cl.sendmail("x@pass.test", ["gone@example.test"],
                    message("sign.test"))
    assert s.wait_log(r"no bounce to <x@pass.test>: 1 failed recipients "
                      r"\(it arrived failing", since=n), s.log()[n:]
