"""The small commands, EHLO, the Received header, and the admin verbs."""

import os
import re
import stat
import subprocess

import pytest

from conftest import (DOMAIN, HOST, USERS, greet, queue_ids, run_postern,
                      send_data, split_delivered)

ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@client.test"


# --- protocol ----------------------------------------------------------------

def test_greeting_and_ehlo(srv):
    with srv.raw("smtp") as r:
        code, lines = r.reply()
        assert code == 220 and lines[0].startswith("220 " + HOST), lines
        lines = r.ehlo()
        assert lines[0].startswith("250-" + HOST), lines
        kw = {l[4:].split()[0].upper() for l in lines[1:]}
        assert {"PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE",
                "ENHANCEDSTATUSCODES", "STARTTLS"} <= kw, kw
        assert "AUTH" not in kw


@pytest.mark.parametrize("kind", ["587", "465"])
def test_ehlo_submission_after_tls(srv, kind):
    with srv.raw(kind) as r:
        lines = greet(r)
        if kind == "587":
            r.starttls()
            lines = r.ehlo()
        kw = {l[4:].split()[0].upper(): l[4:].upper().split()[1:]
              for l in lines[1:]}
        assert {"PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE",
                "ENHANCEDSTATUSCODES", "AUTH"} <= set(kw), kw
        assert {"PLAIN", "LOGIN"} <= set(kw["AUTH"])
        assert "STARTTLS" not in kw


def test_helo(srv):
    with srv.raw("smtp") as r:
        r.expect(220)
        lines = r.expect(250, "HELO client.test")
        assert len(lines) == 1
        r.expect(250, "MAIL FROM:<%s>" % SENDER)


def test_ehlo_required_first(srv):
    with srv.raw("smtp") as r:
        r.expect(220)
        r.expect(503, "MAIL FROM:<%s>" % SENDER)
        r.expect(501, "EHLO")
        r.ehlo()


def test_small_commands(srv):
    with srv.raw("smtp") as r:
        greet(r)
        code, lines = r.cmd("HELP")
        assert code in (211, 214), lines
        r.expect(250, "NOOP")
        r.expect(250, "noop")
        r.expect(250, "NOOP with an argument")
        r.expect(250, "RSET")
        lines = r.expect(252, "VRFY alice")
        assert re.match(r"252 2\.\d\.\d", lines[-1]), lines
        # no user enumeration: unknown users look the same
        r.expect(252, "VRFY nobody-here")
        code, lines = r.cmd("EXPN team")
        assert code != 250 and code >= 252, lines
        lines = r.expect(500, "FROBNICATE")
        assert re.match(r"500 5\.5\.\d", lines[-1]), lines
        r.expect("5", "")
        lines = r.expect(221, "QUIT")
        assert lines[-1].startswith("221 2.0.0"), lines
        assert r.closed(3)


def test_sequence_errors(srv):
    with srv.raw("smtp") as r:
        greet(r)
        r.expect(503, "RCPT TO:<%s>" % ALICE)
        r.expect(503, "DATA")
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(503, "MAIL FROM:<%s>" % SENDER)
        code, lines = r.cmd("DATA")
        assert code in (503, 554), lines
        r.expect(250, "RCPT TO:<%s>" % ALICE)
        r.expect(250, "RSET")
        r.expect(503, "DATA")
        r.expect(503, "RCPT TO:<%s>" % ALICE)


@pytest.mark.parametrize("line", [
    "MAIL FROM:sender@client.test",
    "MAIL FROM:<sender@client.test",
    "MAIL TO:<sender@client.test>",
    "MAIL FROM:<%s@client.test>" % ("a" * 65),
    "MAIL FROM:<a@%s>" % ".".join(["b" * 63] * 5),
    "MAIL FROM:<a b@client.test>",
    "MAIL FROM:<@client.test>",
    "MAIL FROM:<sender@>",
    "MAIL FROM:<sender@client..test>",
])
def test_mail_syntax(srv, line):
    with srv.raw("smtp") as r:
        greet(r)
        code, lines = r.cmd(line)
        assert 500 <= code < 600, lines
        r.expect(250, "MAIL FROM:<%s>" % SENDER)


@pytest.mark.parametrize("line", [
    "RCPT TO:<>",
    "RCPT TO:alice@example.test",
    "RCPT FROM:<alice@example.test>",
    "RCPT TO:<%s@example.test>" % ("a" * 65),
])
def test_rcpt_syntax(srv, line):
    with srv.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        code, lines = r.cmd(line)
        assert 500 <= code < 600, lines
        r.expect(250, "RCPT TO:<%s>" % ALICE)


def test_rcpt_postmaster_without_domain(srv):
    """RFC 5321 4.5.1: <Postmaster> must be accepted (an alias here)."""
    with srv.raw("smtp") as r:
        greet(r)
        r.expect(250, "MAIL FROM:<%s>" % SENDER)
        r.expect(250, "RCPT TO:<Postmaster>")


# --- Received --------------------------------------------------------------------

def received_of(data):
    return split_delivered(data)[2]


def test_received_esmtps(srv):
    skip = srv.mail_count(ALICE)
    with srv.raw("smtp") as r:
        greet(r)
        r.starttls()
        r.ehlo()
        version = r.sock.version()
        code, lines = send_data(r, SENDER, [ALICE],
                                b"Subject: tls\r\n\r\nx\r\n")
        assert code == 250, lines
    (data,) = srv.wait_mail(ALICE, 1, skip=skip)
    rec = received_of(data)
    assert re.search(r"\bwith ESMTPS\b", rec), rec
    assert version in rec, rec
    assert any(i in rec for i in queue_ids(lines)), (lines, rec)


@pytest.mark.parametrize("kind", ["587", "465"])
def test_received_esmtpsa(srv, kind):
    skip = srv.mail_count(BOB)
    c = srv.submission(ALICE, kind=kind)
    version = c.sock.version()
    cipher = c.sock.cipher()[0]
    c.sendmail(ALICE, [BOB], b"Subject: auth\r\n\r\nx\r\n")
    c.quit()
    (data,) = srv.wait_mail(BOB, 1, skip=skip)
    rec = received_of(data)
    assert re.search(r"\bwith ESMTPSA\b", rec), rec
    assert version in rec, rec
    assert cipher in rec, rec
    # the password never appears; the user name may
    assert srv.users[ALICE] not in data.decode("utf-8", "replace")


# --- admin verbs -----------------------------------------------------------------

def test_user_verbs(server):
    s = server(start=False)
    cp = s.ctl("user-list")
    assert cp.returncode == 0, cp.stderr
    assert set(cp.stdout.split()) >= set(USERS)
    cp = s.ctl("user-list", DOMAIN)
    assert cp.returncode == 0 and set(cp.stdout.split()) >= set(USERS)

    cp = s.ctl("authenticate", ALICE, "--password=" + USERS[ALICE])
    assert cp.returncode == 0 and cp.stdout.strip() == "ok", cp
    cp = s.ctl("authenticate", ALICE, "--password=wrong")
    assert cp.returncode == 1 and cp.stderr.strip(), cp
    cp = s.ctl("authenticate", "nobody@example.test", "--password=x")
    assert cp.returncode == 1, cp

    cp = s.ctl("user-add", "frank@example.test", "--password-stdin",
               input="frank-Secret-6\n")
    assert cp.returncode == 0, cp.stderr
    users_file = s.confdir / "domains" / DOMAIN / "users"
    text = users_file.read_text()
    assert "frank-Secret-6" not in text
    line = [l for l in text.splitlines() if l.split()[:1] == ["frank"]]
    assert len(line) == 1 and line[0].split()[1].startswith("$"), text
    assert not users_file.stat().st_mode & stat.S_IROTH
    assert "frank@example.test" in s.ctl("user-list").stdout.split()
    cp = s.ctl("authenticate", "frank@example.test",
               "--password=frank-Secret-6")
    assert cp.returncode == 0, cp

    cp = s.ctl("user-remove", "frank@example.test")
    assert cp.returncode == 0, cp.stderr
    assert "frank@example.test" not in s.ctl("user-list").stdout.split()
    cp = s.ctl("authenticate", "frank@example.test",
               "--password=frank-Secret-6")
    assert cp.returncode == 1
    cp = s.ctl("user-remove", "frank@example.test")
    assert cp.returncode != 0
    # other users untouched
    assert set(s.ctl("user-list").stdout.split()) >= set(USERS)


@pytest.mark.parametrize("addr", ["not-an-address", "a b@example.test",
                                  "@example.test", "x@"])
def test_user_add_invalid(server, addr):
    s = server(start=False)
    before = (s.confdir / "domains" / DOMAIN / "users").read_bytes()
    cp = s.ctl("user-add", addr, "--password-stdin", input="pw-123456\n")
    assert cp.returncode != 0
    assert cp.stderr.strip()
    assert (s.confdir / "domains" / DOMAIN / "users").read_bytes() == before


def test_init(postern_bin, tmp_path):
    conf = tmp_path / "c"
    cp = run_postern(postern_bin, conf, "init", "fresh.test")
    assert cp.returncode == 0, cp.stderr
    assert (conf / "postern.conf").is_file()
    assert (conf / "domains" / "fresh.test" / "users").read_text().strip() \
        == ""
    assert (conf / "domains" / "fresh.test" / "aliases").is_file()
    cert = conf / "certs" / "mail.fresh.test"
    assert (cert / "fullchain.pem").read_text().startswith("-----BEGIN")
    assert not (cert / "privkey.pem").stat().st_mode & stat.S_IROTH
    out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-ext",
                          "subjectAltName", "-in", str(cert / "fullchain.pem")],
                         capture_output=True, text=True).stdout
    assert "mail.fresh.test" in out
    text = (conf / "postern.conf").read_text()
    assert re.search(r"(?m)^\s*hostname\s*=\s*mail\.fresh\.test\s*$", text)

    # never overwrites
    before = {p: p.read_bytes() for p in conf.rglob("*") if p.is_file()}
    cp = run_postern(postern_bin, conf, "init", "other.test")
    assert cp.returncode != 0
    assert cp.stderr.strip()
    after = {p: p.read_bytes() for p in conf.rglob("*") if p.is_file()}
    assert after == before


def test_init_hostname_listen_base_and_existing_cert(postern_bin, tmp_path):
    conf = tmp_path / "c"
    certdir = conf / "certs" / "mx.h.test"
    certdir.mkdir(parents=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=mx.h.test",
                    "-keyout", str(certdir / "privkey.pem"),
                    "-out", str(certdir / "fullchain.pem")],
                   check=True, capture_output=True)
    mine = (certdir / "fullchain.pem").read_bytes()
    cp = run_postern(postern_bin, conf, "init", "h.test", "--hostname",
                     "mx.h.test", "--listen-base", "31000",
                     "--data-dir", tmp_path / "d")
    assert cp.returncode == 0, cp.stderr
    assert (certdir / "fullchain.pem").read_bytes() == mine
    text = (conf / "postern.conf").read_text()
    assert re.search(r"(?m)^\s*hostname\s*=\s*mx\.h\.test\s*$", text)
    assert "31000" in text and "31001" in text and "31002" in text
    assert str(tmp_path / "d") in text


@pytest.mark.parametrize("bad,word", [
    ("max_recipients = 5", "max_recipients"),
    ("no_such_key = 1", "no_such_key"),
    ("smtp_listen = 127.0.0.1", "smtp_listen"),
    ("bare_lf = maybe", "bare_lf"),
    ("this is not a key value line", ""),
])
def test_bad_config_refused(server, bad, word):
    s = server(start=False)
    text = s.conffile.read_text()
    lineno = len(text.splitlines()) + 1
    s.conffile.write_text(text + bad + "\n")
    cp = subprocess.run([s.bin, "-C", str(s.confdir), "serve"],
                        capture_output=True, text=True, timeout=20)
    assert cp.returncode != 0
    err = cp.stderr
    assert "postern.conf" in err, err
    assert re.search(r"\b%d\b" % lineno, err), err
    assert word in err, err


def test_usage_and_config_dir_env(postern_bin, template):
    cp = subprocess.run([postern_bin], capture_output=True, text=True)
    assert cp.returncode != 0 and "usage" in cp.stderr.lower()
    cp = subprocess.run([postern_bin, "no-such-verb"], capture_output=True,
                        text=True)
    assert cp.returncode != 0
    env = dict(os.environ, POSTERN_CONFIG_DIR=str(template))
    cp = subprocess.run([postern_bin, "user-list"], capture_output=True,
                        text=True, env=env)
    assert cp.returncode == 0, cp.stderr
    assert set(cp.stdout.split()) >= set(USERS)


def test_sigterm_clean_exit(server):
    s = server()
    c = s.raw("smtp")
    greet(c)
    assert s.stop() == 0
    assert s.sanitizer_report() is None
    c.close()
