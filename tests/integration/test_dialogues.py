"""Golden SMTP dialogues (STYLE rule 25): tests/dialogues/NAME.in is what
a client sends, NAME.ref the transcript it must produce, replayed over a
real TCP connection against a real `postern serve` on loopback.

Regenerate the .ref files (then read every line of the diff before
committing it):

    POSTERN_DIALOGUE_UPDATE=1 POSTERN_BIN=$PWD/build/postern \\
        /usr/bin/python3 -m pytest -q -p no:cacheprovider \\
        tests/integration/test_dialogues.py

The .in format, one step a line:

  # text           a comment (blank lines are ignored too)
  !port N          first: connect to port 25 (default), 587 or 465
                   (465: TLS at once); the greeting is read first
  !conf KEY = V    a postern.conf setting for this dialogue's server
                   (dialogues with the same settings share one server)
  WORDS            a command: sent with CRLF in a write of its own, then
                   one reply is read
  !group [N]       the lines up to "!end" are sent in ONE write, each
  ...              with CRLF (a pipelined group, RFC 2920, or a message
  !end             body: no comments inside, empty lines and "." are
                   sent); then N replies are read (default: one a line)
  !repeat N TEXT   inside a group: N lines, "{n}" in TEXT -> 1..N
  !send TEXT       TEXT sent as it is, no CRLF added, nothing read
  !wait [N]        read N replies (default 1)
  !starttls        start TLS on the connection (after a 220 to STARTTLS)
  !eof             read replies until the server closes the connection

Escapes, in commands, group lines and !send: \\r \\n \\t \\0 \\\\ \\xHH, and
\\{N*C} for the character C repeated N times (a command line of 600
octets with its CRLF is "NOOP \\{593*x}").

The .ref transcript: ">>> TEXT" for a write of its own, ">>> TEXT" then
">>+ TEXT" for further lines of the same write (TEXT as written in the
.in, escapes unexpanded; ">>+" alone for an empty line), "--- tls" once
TLS is up, every reply line exactly as received, "[closed]" when the
server closed the connection (a dialogue ends there), "[timeout]" when
an expected reply did not come within the harness's TIMEOUT, and
"[unread ...]" for bytes the server sent that no step read.  Normalised
so that the files do not depend on the run: the server's host name is
written <hostname>, the queue id after "queued as " <queue-id>.

Every dialogue server has the test users (alice, bob, carol at
example.test, alias postmaster: alice) and a domain catchall.test whose
catch-all alias delivers to alice.
"""

import difflib
import os
import pathlib
import re
import socket
import ssl

import pytest

from conftest import (HOST, ROOT, TIMEOUT, Raw, Server, _finish, _register,
                      client_tls, new_dir)

DIR = ROOT / "tests" / "dialogues"
UPDATE = os.environ.get("POSTERN_DIALOGUE_UPDATE") == "1"
PORTS = {"25": "smtp", "587": "submission", "465": "submissions"}


class Closed(Exception):
    """The server closed the connection: the dialogue ends."""


def unescape(text):
    """The bytes an .in line stands for (see the module comment)."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        nxt = text[i + 1:i + 2]
        simple = {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0",
                  "\\": b"\\"}
        if nxt in simple:
            out += simple[nxt]
            i += 2
        elif nxt == "x":
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        elif nxt == "{":
            m = re.match(r"\{(\d+)\*(.)\}", text[i + 1:])
            if not m:
                raise ValueError("bad repeat escape in %r" % text)
            out += m.group(2).encode() * int(m.group(1))
            i += 1 + m.end()
        else:
            raise ValueError("unknown escape in %r" % text)
    return bytes(out)


def parse(path):
    """(settings, port, steps) of an .in file; a step is (kind, ...)."""
    conf, port, steps = {}, "25", []
    lines = path.read_text().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        ln = lines[i]
        i += 1
        if not ln.strip() or ln.startswith("#"):
            continue
        word, _, rest = ln.partition(" ")
        if word == "!port":
            port = rest.strip()
            assert port in PORTS, "%s: port %s" % (path.name, port)
        elif word == "!conf":
            key, _, value = rest.partition("=")
            conf[key.strip()] = value.strip()
        elif word == "!group":
            group = []
            while i < len(lines) and lines[i] != "!end":
                g = lines[i]
                i += 1
                if g.startswith("!repeat "):
                    _, n, tmpl = g.split(" ", 2)
                    group += [tmpl.replace("{n}", str(k))
                              for k in range(1, int(n) + 1)]
                else:
                    group.append(g)
            assert i < len(lines), "%s: !group without !end" % path.name
            i += 1
            n = int(rest) if rest.strip() else len(group)
            steps.append(("write", group, True, n))
        elif word == "!send":
            steps.append(("write", [rest], False, 0))
        elif word == "!wait":
            steps.append(("wait", int(rest) if rest.strip() else 1))
        elif word == "!starttls":
            steps.append(("starttls",))
        elif word == "!eof":
            steps.append(("eof",))
        elif word.startswith("!"):
            raise AssertionError("%s: unknown directive %s" % (path.name,
                                                               word))
        else:
            steps.append(("write", [ln], True, 1))
    return conf, port, steps


def normalise(line, srv):
    line = line.replace(srv.hostname, "<hostname>")
    return re.sub(r"(queued as )\S+", r"\1<queue-id>", line)


def read_reply(r, out, srv):
    """One reply into out; Closed once the server has hung up."""
    try:
        _, lines = r.reply()
    except EOFError:
        out.append("[closed]")
        raise Closed()
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        out.append("[closed]")
        raise Closed()
    except (TimeoutError, socket.timeout):
        out.append("[timeout]")
        raise Closed()
    out.extend(normalise(ln, srv) for ln in lines)


def replay(srv, port, steps):
    """Run the steps over one connection; the transcript as lines."""
    out = []
    r = Raw(srv.port(PORTS[port]), tls=(port == "465"), timeout=TIMEOUT)
    try:
        read_reply(r, out, srv)
        for st in steps:
            if st[0] == "write":
                _, lines, crlf, nreplies = st
                data = b"".join(unescape(ln) + (b"\r\n" if crlf else b"")
                                for ln in lines)
                out.append(">>> " + lines[0])
                out.extend((">>+ " + ln) if ln else ">>+"
                           for ln in lines[1:])
                try:
                    r.send(data)
                except (BrokenPipeError, ConnectionResetError):
                    out.append("[closed]")
                    raise Closed()
                for _ in range(nreplies):
                    read_reply(r, out, srv)
            elif st[0] == "wait":
                for _ in range(st[1]):
                    read_reply(r, out, srv)
            elif st[0] == "starttls":
                assert r.buf == b"", "bytes before TLS: %r" % r.buf
                r.sock = client_tls().wrap_socket(r.sock,
                                                  server_hostname=HOST)
                out.append("--- tls")
            elif st[0] == "eof":
                while True:
                    read_reply(r, out, srv)
        if r.buf:
            out.append("[unread %r]" % r.buf)
    except Closed:
        pass
    finally:
        r.close()
    return out


@pytest.fixture(scope="module")
def dialogue_servers(postern_bin, template, work_root):
    """server(settings) -> a started Server, one per distinct settings,
    all stopped (and checked) at the end of the module."""
    servers = {}

    def get(conf):
        key = tuple(sorted(conf.items()))
        if key not in servers:
            s = Server(postern_bin, new_dir(work_root, "dialogues"),
                       template, conf=conf, domains=["catchall.test"],
                       aliases="postmaster: alice\n")
            s.write_aliases("*: alice@example.test\n",
                            domain="catchall.test")
            servers[key] = s
            s.start()
        return servers[key]

    yield get
    problems = []
    for s in servers.values():
        _finish(s, problems)
    servers.clear()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.mark.parametrize("name", sorted(p.stem for p in DIR.glob("*.in")))
def test_dialogue(request, dialogue_servers, name):
    conf, port, steps = parse(DIR / (name + ".in"))
    srv = dialogue_servers(conf)
    _register(request, srv)
    got = replay(srv, port, steps)
    ref = DIR / (name + ".ref")
    if UPDATE:
        ref.write_text("\n".join(got) + "\n")
        return
    assert ref.exists(), "%s missing: run with POSTERN_DIALOGUE_UPDATE=1" \
        % ref.name
    want = ref.read_text().split("\n")
    if want and want[-1] == "":
        want.pop()
    if got != want:
        diff = "\n".join(difflib.unified_diff(
            want, got, "%s (expected)" % ref.name, "server's answers",
            lineterm=""))
        pytest.fail("dialogue %s differs:\n%s" % (name, diff),
                    pytrace=False)
