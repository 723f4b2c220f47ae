"""Pipe aliases: `name: | /path/prog args` through the real server.

The command gets Return-Path, Delivered-To and the message on its
standard input, its words split without a shell, in a clean environment
(SENDER, RECIPIENT, ORIGINAL_RECIPIENT, QUEUE_ID); exit 0 is delivered,
75 is retried until it succeeds, any other code bounces to the sender
with the first line of the command's standard error, a command past
pipe_timeout is killed and retried, one that does not read its input is
fine.  A bad command line in the aliases file stops the start, naming
file and line.

The commands are a shell script written by each test; every server is
stopped by its fixture; every wait is bounded.
"""

import os
import re
import subprocess
import time

import pytest

from conftest import greet, send_data, split_delivered

ALICE = "alice@example.test"
SENDER = "sender@client.test"

SCRIPT = r"""#!/bin/sh
out="$1"; mode="$2"
n=$(cat "$out.count" 2>/dev/null || echo 0); n=$((n + 1))
echo $n > "$out.count"
case "$mode" in
noread) exit 0 ;;
esac
cat > "$out.$n.msg"
env > "$out.$n.env"
for a in "$@"; do printf '<%s>\n' "$a"; done > "$out.$n.argv"
case "$mode" in
ok) exit 0 ;;
temp-once) [ "$n" -ge 2 ] && exit 0; echo "busy, later" >&2; exit 75 ;;
fail) echo "no such list here" >&2; echo "second line" >&2; exit 67 ;;
slow) echo slow > "$out.started"; sleep 29.25; echo late > "$out.late"; exit 0 ;;
esac
exit 1
"""


@pytest.fixture
def pipes(server):
    """A server whose aliases pipe to the test's script; returns (server,
    output folder)."""
    def make(conf=None, extra=""):
        s = server(start=False, conf=dict({"retry_min": "1s",
                                           "pipe_timeout": "2s"},
                                          **(conf or {})))
        out = s.top / "out"
        out.mkdir()
        os.chmod(out, 0o777)
        script = s.top / "pipe.sh"
        script.write_text(SCRIPT)
        os.chmod(script, 0o755)
        s.write_aliases(
            "ok: | %(s)s %(o)s/ok ok 'two words' \"a\\\"b\"\n"
            "temp: | %(s)s %(o)s/temp temp-once\n"
            "fail: | %(s)s %(o)s/fail fail\n"
            "slow: | %(s)s %(o)s/slow slow\n"
            "noread: | %(s)s %(o)s/noread noread\n"
            "both: alice, | %(s)s %(o)s/both ok\n"
            "twin1: | %(s)s %(o)s/twin ok\n"
            "twin2: | %(s)s %(o)s/twin ok\n" % {
                "s": script, "o": out} + extra)
        s.start()
        return s, out
    return make


def wait_file(path, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 0:
            return path.read_bytes()
        time.sleep(0.05)
    raise AssertionError("%s never came" % path)


def mx_send(srv, rcpts, body):
    with srv.raw("smtp") as r:
        greet(r)
        code, lines = send_data(r, SENDER, rcpts, body)
        assert code == 250, lines
        return re.search(r"queued as (\S+)", lines[-1]).group(1)


BODY = (b"Subject: to a pipe\r\nFrom: <sender@client.test>\r\n\r\n"
        b"line one\r\n.dot line\r\n")


def test_delivered_with_env_and_argv(pipes):
    srv, out = pipes()
    qid = mx_send(srv, ["ok@example.test"], BODY)
    msg = wait_file(out / "ok.1.msg")
    assert msg.startswith(b"Return-Path: <sender@client.test>\r\n"
                          b"Delivered-To: ok@example.test\r\n")
    assert msg.endswith(BODY)
    argv = wait_file(out / "ok.1.argv").decode().splitlines()
    assert argv == ["<%s/ok>" % out, "<ok>", "<two words>", '<a"b>']
    env = dict(ln.split("=", 1) for ln in
               wait_file(out / "ok.1.env").decode().splitlines())
    assert env["SENDER"] == SENDER
    assert env["RECIPIENT"] == "ok@example.test"
    assert env["ORIGINAL_RECIPIENT"] == "ok@example.test"
    assert env["QUEUE_ID"] == qid
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin"
    # nothing of the server's environment; sh adds only its own
    assert set(env) - {"PWD", "SHLVL", "OLDPWD", "_"} == {
        "PATH", "HOME", "LANG", "SENDER", "RECIPIENT",
        "ORIGINAL_RECIPIENT", "QUEUE_ID"}, env
    assert env["PWD"] == "/"
    assert srv.wait_log(r"msgid=%s rcpt=<\| [^>]*ok ok[^>]*> delivered "
                        r"via=<ok@example.test>" % qid)
    assert srv.wait_queue_empty()


def test_suffix_and_both(pipes):
    """ok+tag@ reaches the pipe (ORIGINAL_RECIPIENT keeps the tag);
    both@ reaches alice's Maildir and the pipe."""
    srv, out = pipes()
    mx_send(srv, ["ok+tag@example.test", "both@example.test"], BODY)
    env = wait_file(out / "ok.1.env").decode()
    assert "ORIGINAL_RECIPIENT=ok+tag@example.test" in env
    assert "RECIPIENT=ok@example.test" in env
    assert wait_file(out / "both.1.msg").endswith(BODY)
    (data,) = srv.wait_mail(ALICE, 1)
    assert split_delivered(data)[3] == BODY


def test_tempfail_retried(pipes):
    srv, out = pipes()
    qid = mx_send(srv, ["temp@example.test"], BODY)
    assert srv.wait_log(r"msgid=%s rcpt=<[^>]*temp-once> deferred: "
                        r"attempt=1 .*command exited 75 \(EX_TEMPFAIL\): "
                        r"busy, later" % qid)
    wait_file(out / "temp.2.msg")
    assert srv.wait_log(r"msgid=%s rcpt=<[^>]*temp-once> delivered" % qid)
    assert srv.wait_queue_empty()
    assert (out / "temp.count").read_text().strip() == "2"


def test_failure_bounces_with_stderr(pipes):
    """Exit 67: a DSN to the (local) sender naming the alias and the
    command's first stderr line; the command is not run again."""
    srv, out = pipes()
    s = srv.submission(ALICE)
    try:
        assert not s.sendmail(ALICE, ["fail@example.test"], BODY.replace(
            b"sender@client.test", ALICE.encode()))
    finally:
        s.quit()
    (dsn,) = srv.wait_mail(ALICE, 1)
    text = dsn.decode(errors="replace")
    assert "Final-Recipient: rfc822; fail@example.test" in text
    assert "command exited 67: no such list here" in text
    assert "second line" not in text
    assert srv.wait_queue_empty()
    time.sleep(1.5)
    assert (out / "fail.count").read_text().strip() == "1"


def test_timeout_kills_and_retries(pipes):
    srv, out = pipes()
    qid = mx_send(srv, ["slow@example.test"], BODY)
    wait_file(out / "slow.started")
    assert srv.wait_log(r"msgid=%s rcpt=<[^>]*slow> deferred: .*killed "
                        r"after pipe_timeout" % qid, timeout=15)
    # its whole group was killed: the script's sleep too
    deadline = time.monotonic() + 5
    while subprocess.run(["pgrep", "-f", "sleep 29.25"],
                         capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "the command's sleep lives on"
        time.sleep(0.1)
    assert not (out / "slow.late").exists()
    srv.stop()


def test_command_not_reading(pipes):
    """A command that exits 0 without reading a large message: delivered
    (no hang on a full pipe)."""
    srv, out = pipes()
    big = BODY + b"x" * 998 + b"\r\n"
    big = big * 1000
    qid = mx_send(srv, ["noread@example.test"], big)
    assert srv.wait_log(r"msgid=%s rcpt=<[^>]*noread> delivered" % qid)


def test_null_sender_env(pipes):
    srv, out = pipes()
    with srv.raw("smtp") as r:
        greet(r)
        code, lines = send_data(r, "", ["ok@example.test"], BODY)
        assert code == 250, lines
    env = wait_file(out / "ok.1.env").decode()
    assert "\nSENDER=\n" in "\n" + env
    assert wait_file(out / "ok.1.msg").startswith(b"Return-Path: <>\r\n")


@pytest.mark.parametrize("line,why", [
    ("bad: | relative/prog\n", "the program must be an absolute path"),
    ("bad: | /bin/x 'open\n", "unterminated"),
])
def test_bad_command_refused_at_load(server, line, why):
    s = server(start=False)
    s.write_aliases("ok: alice\n" + line)
    cp = subprocess.run([s.bin, "-C", str(s.confdir), "serve"],
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode != 0
    assert "domains/example.test/aliases:2: command" in cp.stderr, cp.stderr
    assert why in cp.stderr


def test_same_command_for_two_aliases(pipes):
    """One message to two aliases naming the same command: it runs once
    for each, each told its own RECIPIENT."""
    srv, out = pipes()
    mx_send(srv, ["twin1@example.test", "twin2@example.test"], BODY)
    wait_file(out / "twin.2.env")
    envs = sorted(wait_file(out / ("twin.%d.env" % i)).decode()
                  for i in (1, 2))
    assert "RECIPIENT=twin1@example.test" in envs[0]
    assert "RECIPIENT=twin2@example.test" in envs[1]


def test_pipe_like_addresses_refused(pipes):
    """A local part starting with "|" is what a command looks like in the
    queue: refused as sender and as recipient, so none can be run."""
    srv, out = pipes()
    with srv.raw("smtp") as r:
        greet(r)
        code, lines = r.cmd("MAIL FROM:<|/usr/bin/id@evil.test>")
        assert code == 553 and "may not begin with" in lines[-1], lines
        r.expect(250, "MAIL FROM:<s@client.test>")
        code, lines = r.cmd("RCPT TO:<|/usr/bin/id@example.test>")
        assert code == 553, lines
    s = srv.submission(ALICE)
    try:
        code, text = s.mail(ALICE)
        assert code == 250
        code, text = s.rcpt("|/usr/bin/id@evil.test")
        assert code == 553, text
    finally:
        s.quit()


def test_tab_in_command_refused(server):
    s = server(start=False)
    s.write_aliases("ok: alice\nbad: |\t/bin/true\n")
    cp = subprocess.run([s.bin, "-C", str(s.confdir), "serve"],
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode != 0
    assert "aliases:2: a tab in the command" in cp.stderr, cp.stderr
