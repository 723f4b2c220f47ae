"""Submission: 587 (STARTTLS) and 465 (implicit TLS) with AUTH PLAIN and
LOGIN from swaks, msmtp and smtplib; AUTH never before TLS; failures
slowed and finally disconnected; an authenticated user sends only as
itself."""

import base64
import smtplib
import time

import pytest

from conftest import (CLIENT, Raw, client_tls, greet, message, msmtp,
                      split_delivered, swaks)

ALICE = "alice@example.test"
BOB = "bob@example.test"


@pytest.fixture
def fresh(server):
    """A server of its own, for tests that make AUTH fail: the auth
    module throttles a client address across sessions."""
    return server(conf={"auth_fail_delay_ms": 100})


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def check_delivered(srv, rcpt, skip, token, proto="ESMTPSA"):
    (data,) = srv.wait_mail(rcpt, 1, skip=skip)
    rp, dt, received, body = split_delivered(data)
    assert rp == ALICE
    assert dt == rcpt
    assert token.encode() in body
    assert (" %s " % proto) in received or received.endswith(" " + proto) \
        or ("with " + proto) in received, received
    return body


# --- swaks -------------------------------------------------------------------

@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize("port", ["587", "465"])
def test_swaks(srv, port, mech):
    token = "swaks-%s-%s-%d" % (port, mech, time.time_ns())
    skip = srv.mail_count(BOB)
    tls = ["--tls"] if port == "587" else ["--tlsc"]
    cp = swaks("--server", "127.0.0.1", "--port", srv.port(port),
               "--ehlo", CLIENT, "--from", ALICE, "--to", BOB,
               "--auth", mech, "--auth-user", ALICE,
               "--auth-password", srv.users[ALICE],
               "--header", "Subject: " + token, "--body", token, *tls)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "235 " in cp.stdout
    check_delivered(srv, BOB, skip, token)
    # the password never reaches the log
    assert srv.users[ALICE] not in srv.log()


def test_swaks_wrong_password(fresh):
    skip = fresh.mail_count(BOB)
    cp = swaks("--server", "127.0.0.1", "--port", fresh.sub_port, "--tls",
               "--ehlo", CLIENT, "--from", ALICE, "--to", BOB,
               "--auth", "PLAIN", "--auth-user", ALICE,
               "--auth-password", "not-the-password")
    assert cp.returncode != 0
    assert "535 " in cp.stdout + cp.stderr
    fresh.assert_no_mail(BOB, wait=0.3, skip=skip)


# --- msmtp -------------------------------------------------------------------

@pytest.mark.parametrize("auth", ["plain", "login"])
@pytest.mark.parametrize("port", ["587", "465"])
def test_msmtp(srv, port, auth):
    token = "msmtp-%s-%s-%d" % (port, auth, time.time_ns())
    skip = srv.mail_count(BOB)
    cp = msmtp("127.0.0.1", srv.port(port), ALICE, srv.users[ALICE], ALICE,
               [BOB], message(subject=token, body=token + "\r\n",
                              mfrom=ALICE, to=BOB),
               starttls=(port == "587"), auth=auth)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    check_delivered(srv, BOB, skip, token)


def test_msmtp_wrong_password(fresh):
    skip = fresh.mail_count(BOB)
    cp = msmtp("127.0.0.1", fresh.sub_port, ALICE, "wrong-password", ALICE,
               [BOB], message(mfrom=ALICE, to=BOB))
    assert cp.returncode != 0
    fresh.assert_no_mail(BOB, wait=0.3, skip=skip)


# --- smtplib -----------------------------------------------------------------

@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize("port", ["587", "465"])
def test_smtplib(srv, port, mech):
    token = "smtplib-%s-%s-%d" % (port, mech, time.time_ns())
    skip = srv.mail_count(BOB)
    if port == "465":
        s = srv.smtps()
    else:
        s = srv.smtp("587")
        s.starttls(context=client_tls())
        s.ehlo()
    assert s.has_extn("auth")
    mechs = s.esmtp_features["auth"].upper().split()
    assert "PLAIN" in mechs and "LOGIN" in mechs
    s.user, s.password = ALICE, srv.users[ALICE]
    code, resp = s.auth(mech, getattr(s, "auth_" + mech.lower()))
    assert code == 235, resp
    s.sendmail(ALICE, [BOB], message(subject=token, body=token + "\r\n",
                                     mfrom=ALICE, to=BOB))
    s.quit()
    check_delivered(srv, BOB, skip, token)


def test_auth_plain_initial_response_and_continuation(srv):
    """AUTH PLAIN with an empty initial response: 334, then the token."""
    with srv.raw("465") as r:
        greet(r)
        r.expect(334, "AUTH PLAIN")
        r.expect(235, b64("\0%s\0%s" % (ALICE, srv.users[ALICE])))
        r.expect(250, "MAIL FROM:<%s>" % ALICE)


def test_auth_login_exchange(srv):
    with srv.raw("465") as r:
        greet(r)
        lines = r.expect(334, "AUTH LOGIN")
        assert base64.b64decode(lines[-1][4:]).lower().startswith(b"user")
        lines = r.expect(334, b64(ALICE))
        assert base64.b64decode(lines[-1][4:]).lower().startswith(b"pass")
        r.expect(235, b64(srv.users[ALICE]))


def test_auth_cancelled(fresh):
    with fresh.raw("465") as r:
        greet(r)
        r.expect(334, "AUTH LOGIN")
        r.expect(501, "*")          # RFC 4954 4: cancelled
        r.expect(530, "MAIL FROM:<%s>" % ALICE)
        r.expect(250, "NOOP")


def test_auth_bad_base64(fresh):
    with fresh.raw("465") as r:
        greet(r)
        r.expect(501, "AUTH PLAIN !!!not-base64!!!")
        r.expect(250, "NOOP")


def test_auth_unknown_mechanism(srv):
    with srv.raw("465") as r:
        greet(r)
        r.expect(504, "AUTH CRAM-MD5")
        r.expect(250, "NOOP")


def test_auth_twice_refused(srv):
    with srv.raw("465") as r:
        greet(r)
        r.expect(235, "AUTH PLAIN " + b64("\0%s\0%s" % (ALICE,
                                                        srv.users[ALICE])))
        r.expect(503, "AUTH PLAIN " + b64("\0%s\0%s" % (BOB,
                                                        srv.users[BOB])))


# --- AUTH and TLS ------------------------------------------------------------

@pytest.mark.parametrize("kind", ["587", "25"])
def test_auth_refused_before_tls(fresh, kind):
    with fresh.raw(kind) as r:
        lines = greet(r)
        assert not any(l[4:].upper().startswith("AUTH") for l in lines), lines
        code, lines = r.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (
            ALICE, fresh.users[ALICE])))
        assert 500 <= code < 600, lines
        code, lines = r.cmd("AUTH LOGIN")
        assert 500 <= code < 600, lines
        if kind == "587":
            # still not authenticated
            r.expect(530, "MAIL FROM:<%s>" % ALICE)
        else:
            # port 25 does not relay for anyone who has not authenticated
            r.expect(250, "MAIL FROM:<someone@client.test>")
            code, lines = r.cmd("RCPT TO:<someone@elsewhere.example>")
            assert 500 <= code < 600, lines


def test_submission_requires_auth(srv):
    with srv.raw("587") as r:
        greet(r)
        r.starttls()
        lines = r.ehlo()
        assert any(l[4:].upper().startswith("AUTH") for l in lines)
        lines = r.expect(530, "MAIL FROM:<%s>" % ALICE)
        assert "5.7.0" in lines[-1]
    with srv.raw("465") as r:
        greet(r)
        r.expect(530, "MAIL FROM:<%s>" % ALICE)
        r.expect(503, "RCPT TO:<%s>" % BOB)


# --- failures ----------------------------------------------------------------

def test_wrong_password_535_then_right_one(fresh):
    with fresh.raw("465") as r:
        greet(r)
        lines = r.expect(535, "AUTH PLAIN " + b64("\0%s\0wrong" % ALICE))
        assert "5.7.8" in lines[-1]
        r.expect(530, "MAIL FROM:<%s>" % ALICE)
        r.expect(235, "AUTH PLAIN " + b64("\0%s\0%s" % (
            ALICE, fresh.users[ALICE])))
        r.expect(250, "MAIL FROM:<%s>" % ALICE)


@pytest.mark.parametrize("who", ["unknown@example.test", "alice@other.test",
                                 "alice"])
def test_unknown_user_535(fresh, who):
    with fresh.raw("465") as r:
        greet(r)
        r.expect(535, "AUTH PLAIN " + b64("\0%s\0%s" % (
            who, fresh.users[ALICE])))


def test_authzid_other_user_refused(fresh):
    """AUTH PLAIN authzid must not let alice act as bob."""
    with fresh.raw("465") as r:
        greet(r)
        code, lines = r.cmd("AUTH PLAIN " + b64("%s\0%s\0%s" % (
            BOB, ALICE, fresh.users[ALICE])))
        if code == 235:
            r.expect(553, "MAIL FROM:<%s>" % BOB)
        else:
            assert 500 <= code < 600, lines


def test_failures_slowed_then_disconnected(server):
    s = server(conf={"auth_max_failures": 3, "auth_fail_delay_ms": 300})
    with s.raw("465") as r:
        greet(r)
        t0 = time.monotonic()
        r.expect(535, "AUTH PLAIN " + b64("\0%s\0bad1" % ALICE))
        assert time.monotonic() - t0 >= 0.25, "failure not slowed"
        r.expect(535, "AUTH PLAIN " + b64("\0%s\0bad2" % ALICE))
        # the third failure ends the session: 535 or 421, then close
        r.send("AUTH PLAIN " + b64("\0%s\0bad3" % ALICE) + "\r\n")
        codes = []
        try:
            for _ in range(2):
                codes.append(r.reply(timeout=5)[0])
        except (EOFError, TimeoutError, ConnectionResetError):
            pass
        assert codes and codes[0] in (535, 421), codes
        assert 235 not in codes
        if codes[-1] != 421:
            # no more attempts are served
            try:
                code, _ = r.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (
                    ALICE, s.users[ALICE])), timeout=5)
                assert code != 235, "authenticated after max failures"
            except (EOFError, TimeoutError, ConnectionResetError,
                    BrokenPipeError):
                pass
        assert r.closed(timeout=5), "not disconnected after 3 failures"
    # the server goes on, and the right password still works elsewhere
    c = s.submission(ALICE, kind="465")
    c.quit()
    assert s.users[ALICE] not in s.log()
    assert "bad1" not in s.log()


def test_failing_address_throttled_across_sessions(server):
    """A client address that keeps failing, one failure per session, is
    refused for a while even with the right password; another client
    address is not."""
    s = server(conf={"auth_fail_delay_ms": 0})
    for i in range(12):
        with s.raw("465") as r:
            greet(r)
            code, lines = r.auth_plain(ALICE, "wrong-%d" % i)
            assert code != 235, lines
    with s.raw("465") as r:
        greet(r)
        code, lines = r.auth_plain(ALICE, s.users[ALICE])
        assert 400 <= code < 600, lines
    with Raw(s.subs_port, host="::1", tls=True) as r:
        greet(r)
        code, lines = r.auth_plain(ALICE, s.users[ALICE])
        assert code == 235, lines


# --- sender ownership -----------------------------------------------------------

@pytest.mark.parametrize("kind", ["587", "465"])
def test_sender_must_be_own_address(srv, kind):
    c = srv.submission(ALICE, kind=kind)
    try:
        # (postmaster@ is alice's alias in the template: hers to use)
        for other in (BOB, "alice@other.test",
                      "mallory@elsewhere.example"):
            code, resp = c.docmd("MAIL FROM:<%s>" % other)
            assert code == 550, (other, resp)
            assert b"5.7.1" in resp
        code, resp = c.docmd("MAIL FROM:<%s>" % ALICE)
        assert code == 250, resp
        c.rset()
        code, resp = c.docmd("MAIL FROM:<>")
        assert code == 250, resp
        c.rset()
        # the domain is case-insensitive
        code, resp = c.docmd("MAIL FROM:<alice@EXAMPLE.TEST>")
        assert code == 250, resp
        c.rset()
    finally:
        c.close()


def test_sender_mismatch_sends_nothing(srv):
    skip = srv.mail_count(BOB)
    c = srv.submission(ALICE, kind="465")
    with pytest.raises(smtplib.SMTPSenderRefused):
        c.sendmail(BOB, [BOB], message(mfrom=BOB, to=BOB))
    c.close()
    srv.assert_no_mail(BOB, wait=0.3, skip=skip)


def test_authenticated_may_relay(srv):
    """Submission is for sending anywhere: RCPT to a remote domain is
    accepted once authenticated (delivery outbound is a later issue)."""
    c = srv.submission(ALICE, kind="587")
    try:
        code, resp = c.docmd("MAIL FROM:<%s>" % ALICE)
        assert code == 250, resp
        code, resp = c.docmd("RCPT TO:<friend@elsewhere.example>")
        assert code == 250, resp
        c.rset()
    finally:
        c.close()


def test_auth_logged_without_password(fresh):
    mark = len(fresh.log())
    c = fresh.submission(BOB, kind="465")
    c.quit()
    with fresh.raw("465") as r:
        greet(r)
        r.expect(535, "AUTH PLAIN " + b64("\0%s\0Sekrit-Wrong-9" % BOB))
    m = fresh.wait_log(r"(?i)auth.*(fail|denied|bad|535)", since=mark)
    assert m, "no failed-auth log line"
    log = fresh.log()[mark:]
    assert BOB in log
    assert fresh.users[BOB] not in log
    assert "Sekrit-Wrong-9" not in log
