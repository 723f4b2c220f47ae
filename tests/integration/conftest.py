"""Integration harness: runs the real `postern serve` on loopback ports.

Fixtures
  postern_bin   a private copy (made once per run) of $POSTERN_BIN, else
                build/postern, else /tmp/build-it/postern.
  work_root     /tmp/postern-it-XXXX (0755, so the unprivileged `postern`
                user can reach its data dirs); kept if POSTERN_TEST_KEEP=1.
  server        factory: server(conf={...}, users={...}, aliases=...,
                start=True) -> Server, started on free loopback ports with
                a temporary config and data directory; always stopped at
                teardown (SIGTERM, then SIGKILL of its process group after
                10 s).  Its log is attached to the report of a failed test.
  srv           one default server shared by a test module (read-only
                tests: they must not change its config or users).

A session-wide template config directory (init + users, made once) is
copied for each server, so a server costs no key generation and no scrypt
hashing.  Users of the template: USERS below.

A server that exits non-zero at SIGTERM, or whose log holds a sanitizer
report (symbolized with addr2line), fails the test at teardown.

Helpers: Raw (byte-exact SMTP dialogue over a socket, optional TLS),
smtplib sessions (Server.smtp / submission / smtps), Maildir readers
(Server.wait_mail), log grep (Server.wait_log), swaks() and msmtp().
"""

import os
import pathlib
import random
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOMAIN = "example.test"
HOST = "mail.example.test"
USERS = {
    "alice@example.test": "alice-Secret-1",
    "bob@example.test": "bob-Secret-2",
    "carol@example.test": "carol-Secret-3",
}
CLIENT = "client.test"
TIMEOUT = float(os.environ.get("POSTERN_TEST_TIMEOUT", "10"))
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "ERROR: UndefinedBehaviorSanitizer")


# --- binary and system user ---------------------------------------------------

def find_postern():
    env = os.environ.get("POSTERN_BIN")
    if env:
        return str(pathlib.Path(env).resolve())
    for cand in (ROOT / "build" / "postern",
                 pathlib.Path("/tmp/build-it/postern")):
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)
    return None


def find_probe(name="dns_probe"):
    """The path of a test tool of tests/meson.build (dns_probe,
    deliver_probe, dkim_probe), built in the tests/ directory of the
    build of POSTERN_BIN (src/deliver/ or src/mauth/ in older builds);
    the test fails without it."""
    old = "mauth" if name == "dkim_probe" else "deliver"
    postern = find_postern()
    dirs = []
    if postern:
        d = pathlib.Path(postern).parent
        dirs += [d / "tests", d, d / "src" / old]
    dirs += [ROOT / "build" / "tests", ROOT / "build" / "src" / old,
             pathlib.Path("/tmp/build-it/tests"),
             pathlib.Path("/tmp/build-it/src") / old]
    cands = [d / name for d in dirs]
    for c in cands:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    pytest.fail("%s not found beside POSTERN_BIN" % name, pytrace=False)


@pytest.fixture(scope="session")
def postern_bin(work_root):
    """A private copy of the binary, so a rebuild during the run does
    not change the server under test."""
    path = find_postern()
    if not path or not os.access(path, os.X_OK):
        pytest.fail("postern binary not found: set POSTERN_BIN", pytrace=False)
    copy = work_root / "postern"
    shutil.copy2(path, copy)
    os.chmod(copy, 0o755)
    return str(copy)


def ensure_system_user():
    """Create the unprivileged user `postern` (the CI runs as root)."""
    if os.geteuid() != 0:
        return None
    if subprocess.run(["getent", "passwd", "postern"],
                      stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", "postern"],
                       check=True)
    return "postern"


def run_postern(binary, confdir, *args, input=None, timeout=60, check=False):
    """postern -C confdir args...; returns CompletedProcess (text)."""
    cp = subprocess.run([binary, "-C", str(confdir)] + [str(a) for a in args],
                        input=input, capture_output=True, text=True,
                        timeout=timeout)
    if check and cp.returncode != 0:
        raise AssertionError("postern %s failed (%d): %s%s" % (
            " ".join(map(str, args)), cp.returncode, cp.stdout, cp.stderr))
    return cp


# --- config files ---------------------------------------------------------------

def conf_set(path, key, value):
    """Replace or append `key = value` in a postern.conf."""
    path = pathlib.Path(path)
    lines = path.read_text().splitlines()
    pat = re.compile(r"^\s*%s\s*=" % re.escape(key))
    lines = [ln for ln in lines if not pat.match(ln)]
    if value is not None:
        lines.append("%s = %s" % (key, value))
    path.write_text("\n".join(lines) + "\n")


def conf_get(path, key):
    pat = re.compile(r"^\s*%s\s*=\s*(.*?)\s*$" % re.escape(key))
    for ln in pathlib.Path(path).read_text().splitlines():
        m = pat.match(ln)
        if m:
            return m.group(1)
    return None


def free_base(n=3, tries=200):
    """A port P with P..P+n-1 free on 127.0.0.1 and ::1."""
    for _ in range(tries):
        base = random.randrange(20000, 40000 - n)
        socks = []
        try:
            for p in range(base, base + n):
                for fam, host in ((socket.AF_INET, "127.0.0.1"),
                                  (socket.AF_INET6, "::1")):
                    s = socket.socket(fam, socket.SOCK_STREAM)
                    socks.append(s)
                    s.bind((host, p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


@pytest.fixture(scope="session")
def work_root():
    """A directory for every server of the run.  pytest's own tmp_path is
    0700 root, which the unprivileged postern user could not traverse;
    this one is 0755.  Removed at the end unless POSTERN_TEST_KEEP=1."""
    top = pathlib.Path(tempfile.mkdtemp(prefix="postern-it-", dir="/tmp"))
    os.chmod(top, 0o755)
    yield top
    if os.environ.get("POSTERN_TEST_KEEP") != "1":
        shutil.rmtree(top, ignore_errors=True)


_seq = iter(range(1, 1 << 30))


def new_dir(root, name):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]
    d = pathlib.Path(root) / ("%s-%d" % (name, next(_seq)))
    d.mkdir()
    os.chmod(d, 0o755)
    return d


@pytest.fixture(scope="session")
def template(postern_bin, work_root):
    """A config dir made once: init DOMAIN, the USERS added."""
    ensure_system_user()
    top = new_dir(work_root, "template")
    conf = top / "conf"
    cp = run_postern(postern_bin, conf, "init", DOMAIN, "--hostname", HOST,
                     "--listen-base", free_base(), "--data-dir", top / "data")
    assert cp.returncode == 0, "init failed: %s%s" % (cp.stdout, cp.stderr)
    for addr, pw in USERS.items():
        run_postern(postern_bin, conf, "user-add", addr, "--password-stdin",
                    input=pw + "\n", check=True)
    return conf


# --- the server -------------------------------------------------------------------

class Server:
    """One postern instance: config dir, data dir, ports, process, log."""

    def __init__(self, binary, top, template_conf, conf=None, users=None,
                 aliases=None, domains=None):
        self.bin = binary
        self.top = pathlib.Path(top)
        self.top.mkdir(parents=True, exist_ok=True)
        os.chmod(self.top, 0o755)
        self.confdir = self.top / "conf"
        self.datadir = self.top / "data"
        self.logpath = self.top / "serve.log"
        self.proc = None
        self.users = dict(USERS)
        self.domain = DOMAIN
        self.hostname = HOST
        self.crashed_ok = False     # set by tests that kill -9 on purpose
        self.generation = 0
        self.stderr_file = None
        self.not_ready = None
        shutil.copytree(template_conf, self.confdir, symlinks=True)
        os.chmod(self.confdir, 0o755)
        self.datadir.mkdir()
        self.conffile = self.confdir / "postern.conf"
        self.pick_ports()
        user = ensure_system_user()
        self.set("data_dir", str(self.datadir))
        # the inbound checks ask DNS about every message on port 25: off
        # unless a test wants them (test_inbound.py), so no test waits on
        # the machine's resolver
        self.set("inbound_checks", "no")
        if user:
            self.set("user", user)
        for k, v in (conf or {}).items():
            self.set(k, v)
        for d in (domains or []):
            (self.confdir / "domains" / d).mkdir(parents=True, exist_ok=True)
            (self.confdir / "domains" / d / "users").touch()
            (self.confdir / "domains" / d / "aliases").touch()
        if aliases is not None:
            self.write_aliases(aliases)
        for addr, pw in (users or {}).items():
            self.add_user(addr, pw)
        self.chown_data()

    # ports and config
    def pick_ports(self):
        base = free_base(3)
        self.smtp_port, self.sub_port, self.subs_port = base, base + 1, base + 2
        self.set("smtp_listen", "127.0.0.1:%d, [::1]:%d" % (base, base))
        self.set("submission_listen", "127.0.0.1:%d, [::1]:%d"
                 % (base + 1, base + 1))
        self.set("submissions_listen", "127.0.0.1:%d, [::1]:%d"
                 % (base + 2, base + 2))

    def port(self, kind):
        return {"smtp": self.smtp_port, "25": self.smtp_port,
                "submission": self.sub_port, "587": self.sub_port,
                "submissions": self.subs_port, "465": self.subs_port}[kind]

    def set(self, key, value):
        conf_set(self.conffile, key, value)

    def get(self, key):
        return conf_get(self.conffile, key)

    def write_aliases(self, text, domain=DOMAIN):
        p = self.confdir / "domains" / domain / "aliases"
        p.write_text(text)
        os.chmod(p, 0o644)

    def chown_data(self):
        if os.geteuid() == 0 and self.get("user"):
            subprocess.run(["chown", "-R", "%s:" % self.get("user"),
                            str(self.datadir)], check=True)

    def ctl(self, *args, input=None, check=False, timeout=60):
        return run_postern(self.bin, self.confdir, *args, input=input,
                           check=check, timeout=timeout)

    def add_user(self, addr, pw):
        self.ctl("user-add", addr, "--password-stdin", input=pw + "\n",
                 check=True)
        self.users[addr] = pw

    # process
    def start(self, tries=5):
        self.crashed_ok = False
        for attempt in range(tries):
            self.generation += 1
            self.stderr_file = open(self.logpath, "ab")
            self.stderr_file.write(b"=== start %d ===\n" % self.generation)
            self.stderr_file.flush()
            self.proc = subprocess.Popen(
                [self.bin, "-C", str(self.confdir), "serve"],
                stdin=subprocess.DEVNULL, stdout=self.stderr_file,
                stderr=self.stderr_file, start_new_session=True)
            if self.wait_ready():
                return self
            log = self.log()
            rc = self.proc.poll()
            self.kill9()
            self.crashed_ok = False
            if "in use" in log and attempt + 1 < tries:
                self.pick_ports()
                continue
            raise AssertionError("postern serve did not become ready "
                                 "(exit status %r, %r):\n%s" % (
                                     rc, self.not_ready, log[-4000:]))
        raise AssertionError("postern serve: no free ports")

    def wait_ready(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        pending = [self.smtp_port, self.sub_port, self.subs_port]
        while pending and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            port = pending[0]
            try:
                with socket.create_connection(("127.0.0.1", port), 0.5):
                    pass
                pending.pop(0)
            except OSError:
                time.sleep(0.05)
        if pending:
            return False
        # one full dialogue on port 25 so the session path is up
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                r = Raw(self.smtp_port,
                        timeout=max(1, deadline - time.monotonic()))
                code, lines = r.reply()
                r.cmd("QUIT")
                r.close()
                self.not_ready = lines
                if code == 220:
                    return True
            except (OSError, TimeoutError, EOFError) as e:
                self.not_ready = repr(e)
            time.sleep(0.1)
        return False

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def reload(self):
        """SIGHUP; returns once the server logged a reload (bounded)."""
        mark = len(self.log())
        self.signal(signal.SIGHUP)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if re.search(r"reload|sighup", self.log()[mark:], re.I):
                break
            time.sleep(0.05)
        time.sleep(0.3)

    def kill9(self):
        """SIGKILL the whole process group, now; return once every
        process of it is gone (zombies hold no sockets or files)."""
        if self.proc is None:
            return
        self.crashed_ok = True
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        wait_group_gone(self.proc.pid)
        self._close_log()

    def stop(self, timeout=10):
        """SIGTERM, SIGKILL after timeout; returns the exit status."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                rc = "timeout"
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if rc == "timeout":
            self.proc.wait(5)
        wait_group_gone(self.proc.pid)
        self._close_log()
        return rc

    def _close_log(self):
        if self.stderr_file:
            self.stderr_file.close()
            self.stderr_file = None

    def restart(self):
        self.stop()
        return self.start()

    # logs
    def log(self):
        try:
            return self.logpath.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=TIMEOUT, since=0):
        """First match of regex pattern in the log (after offset since)."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.log()[since:])
            if m or time.monotonic() > deadline:
                return m
            time.sleep(0.05)

    def sanitizer_report(self):
        log = self.log()
        for mark in SANITIZER_MARKS:
            i = log.find(mark)
            if i >= 0:
                return symbolize(log[max(0, i - 200):i + 3000])
        return None

    # mail
    def maildir(self, addr):
        local, domain = addr.rsplit("@", 1)
        return self.datadir / "mail" / domain.lower() / local.lower() / "new"

    def mail_files(self, addr):
        d = self.maildir(addr)
        if not d.is_dir():
            return []
        files = [f for f in d.iterdir() if f.is_file()]
        files.sort(key=lambda f: (f.stat().st_mtime_ns, f.name))
        return files

    def mail_count(self, addr):
        return len(self.mail_files(addr))

    def wait_mail(self, addr, n=1, timeout=TIMEOUT, skip=0):
        """Wait until addr's Maildir holds skip+n files; return the
        contents (bytes) of the files after the first skip, oldest first.
        Fails if fewer arrive in time or more than skip+n are there."""
        deadline = time.monotonic() + timeout
        while True:
            files = self.mail_files(addr)
            if len(files) >= skip + n or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(files) >= skip + n, \
            "%s: %d messages, expected %d" % (addr, len(files) - skip, n)
        # a short grace period to see a duplicate
        time.sleep(0.1)
        files = self.mail_files(addr)
        assert len(files) == skip + n, \
            "%s: %d messages, expected %d" % (addr, len(files) - skip, n)
        return [f.read_bytes() for f in files[skip:]]

    def assert_no_mail(self, addr, wait=0.5, skip=0):
        time.sleep(wait)
        assert self.mail_count(addr) == skip, \
            "%s got mail: %r" % (addr, [f.read_bytes()[:300]
                                       for f in self.mail_files(addr)])

    def all_mail(self):
        base = self.datadir / "mail"
        if not base.is_dir():
            return []
        return sorted(p for p in base.glob("*/*/new/*") if p.is_file())

    def queue_files(self, sub="env"):
        d = self.datadir / "queue" / sub
        if not d.is_dir():
            return []
        return sorted(p for p in d.iterdir() if p.is_file())

    def wait_queue_empty(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while self.queue_files("env") and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.queue_files("env")

    # clients
    def smtp(self, kind="smtp", ehlo=True, timeout=TIMEOUT):
        s = smtplib.SMTP("127.0.0.1", self.port(kind),
                         local_hostname=CLIENT, timeout=timeout)
        if ehlo:
            s.ehlo()
        return s

    def smtps(self, timeout=TIMEOUT):
        s = smtplib.SMTP_SSL("127.0.0.1", self.subs_port,
                             local_hostname=CLIENT, timeout=timeout,
                             context=client_tls())
        s.ehlo()
        return s

    def submission(self, user, password=None, kind="587"):
        """A logged-in submission session (587 STARTTLS or 465)."""
        if password is None:
            password = self.users[user]
        if kind in ("465", "submissions"):
            s = self.smtps()
        else:
            s = self.smtp("587")
            s.starttls(context=client_tls())
            s.ehlo()
        s.login(user, password)
        return s

    def raw(self, kind="smtp", tls=False, timeout=TIMEOUT, family=None):
        return Raw(self.port(kind), tls=tls or kind in ("465", "submissions"),
                   timeout=timeout, family=family)


def symbolize(report):
    """Sandboxed processes cannot run the sanitizer's symbolizer: resolve
    frames printed as (BINARY+0xOFFSET) with addr2line afterwards."""
    out = []
    for ln in report.splitlines():
        out.append(ln)
        m = re.search(r"\((/[^()+]+)\+(0x[0-9a-f]+)\)", ln)
        if m and os.path.isfile(m.group(1)) and shutil.which("addr2line"):
            cp = subprocess.run(["addr2line", "-e", m.group(1), "-f", "-C",
                                 "-i", m.group(2)], capture_output=True,
                                text=True)
            names = cp.stdout.split("\n")
            for fn, loc in zip(names[0::2], names[1::2]):
                out.append("        = %s %s" % (fn, loc))
    return "\n".join(out)


def group_members(pgid):
    """Live (not zombie) processes of process group pgid."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(")") + 2:].split()
        if rest[0] != "Z" and int(rest[2]) == pgid:
            out.append(int(name))
    return out


def wait_group_gone(pgid, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.01)


def client_tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# --- raw SMTP dialogue ---------------------------------------------------------

class Raw:
    """Byte-exact SMTP dialogue: send bytes, read reply lines.

    reply() returns (code, [lines]) of one complete (possibly multi-line)
    reply; it raises TimeoutError when none comes in time and EOFError
    when the server closed the connection first.
    """

    def __init__(self, port, host=None, tls=False, timeout=TIMEOUT,
                 family=None):
        if family == socket.AF_INET6 or host == "::1":
            host = host or "::1"
            self.sock = socket.create_connection((host, port), timeout)
        else:
            self.sock = socket.create_connection((host or "127.0.0.1", port),
                                                 timeout)
        self.timeout = timeout
        self.buf = b""
        self.tls = False
        if tls:
            self.sock = client_tls().wrap_socket(self.sock,
                                                 server_hostname=HOST)
            self.tls = True

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no reply within %.1f s (have %r)"
                               % (timeout, self.buf))
        if not data:
            raise EOFError("connection closed (have %r)" % self.buf)
        self.buf += data

    def line(self, timeout=None):
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while b"\r\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no line (have %r)" % self.buf)
            self._fill(left)
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode("utf-8", "replace")

    def reply(self, timeout=None):
        lines = []
        while True:
            ln = self.line(timeout)
            lines.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                break
        try:
            code = int(lines[-1][:3])
        except ValueError:
            raise AssertionError("malformed reply %r" % lines)
        return code, lines

    def cmd(self, line, timeout=None):
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.reply(timeout)

    def expect(self, code, line=None, timeout=None):
        """Send line (if any) and assert the reply code (int, or a str
        prefix like '5' or '25'); returns the reply lines."""
        c, lines = self.cmd(line, timeout) if line is not None \
            else self.reply(timeout)
        assert str(c).startswith(str(code)), \
            "%r: expected %s, got %r" % (line, code, lines)
        return lines

    def pending(self, wait=0.3):
        """Bytes the server sent that no reply() consumed yet, after
        waiting up to `wait` seconds for more; b"" if none."""
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                self._fill(left)
            except (TimeoutError, EOFError):
                break
            except ssl.SSLError:
                break
        out, self.buf = self.buf, b""
        return out

    def closed(self, timeout=None):
        """True once the server has closed the connection (bounded)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._fill(deadline - time.monotonic())
            except EOFError:
                return True
            except TimeoutError:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            except ssl.SSLError:
                return True
        return False

    def ehlo(self, name=CLIENT):
        return self.expect(250, "EHLO " + name)

    def starttls(self):
        self.expect(220, "STARTTLS")
        assert self.buf == b"", "bytes after 220 STARTTLS: %r" % self.buf
        self.sock = client_tls().wrap_socket(self.sock, server_hostname=HOST)
        self.tls = True

    def auth_plain(self, user, password):
        import base64
        tok = base64.b64encode(b"\0" + user.encode() + b"\0"
                               + password.encode()).decode()
        return self.cmd("AUTH PLAIN " + tok)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def greet(r):
    """Read the 220 greeting and EHLO."""
    r.expect(220)
    return r.ehlo()


# --- DKIM records -------------------------------------------------------------

def dkim_records(zone_text, domain):
    """{NAME.: TXT data} of every DKIM key in the zone text `postern dns
    DOMAIN` printed (the strings of each record joined)."""
    import dns.rdatatype
    import dns.zone
    z = dns.zone.from_text(zone_text, origin=domain + ".", relativize=False,
                           check_origin=False)
    out = {}
    for name, node in z.nodes.items():
        rds = node.get_rdataset(1, dns.rdatatype.TXT)
        if rds is not None and "_domainkey" in str(name):
            out[str(name)] = b"".join(list(rds)[0].strings)
    return out


# --- delivered message --------------------------------------------------------

def split_delivered(data):
    """Split a Maildir file into (return_path, delivered_to, received,
    body) where received is postern's own Received header (unfolded,
    without CRLF) and body the client's bytes exactly; the fields the
    queue puts between them for an authenticated submitter (signatures,
    an added Message-ID and Date) are skipped."""
    m = re.match(rb"Return-Path: <([^>]*)>\r\nDelivered-To: ([^\r\n]*)\r\n",
                 data)
    assert m, "no Return-Path/Delivered-To prefix: %r" % data[:200]
    rest = data[m.end():]
    # what the queue adds for an authenticated submitter, before ours
    while True:
        m3 = re.match(rb"(?:DKIM-Signature|Message-ID|Date):[^\r\n]*\r\n"
                      rb"(?:[ \t][^\r\n]*\r\n)*", rest)
        if not m3:
            break
        rest = rest[m3.end():]
    m2 = re.match(rb"Received:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*", rest)
    assert m2, "no Received header first: %r" % rest[:300]
    received = re.sub(rb"\r\n[ \t]+", b" ", m2.group(0)[:-2])
    return (m.group(1).decode(), m.group(2).decode().strip("<>"),
            received.decode("utf-8", "replace"), rest[m2.end():])


def queue_ids(lines):
    """Candidate queue ids in the 250 reply to DATA."""
    text = " ".join(l[4:] for l in lines)
    text = re.sub(r"\b[245]\.\d{1,3}\.\d{1,3}\b", " ", text)
    return [t for t in re.findall(r"[0-9A-Za-z]{8,}", text)
            if not t.isalpha() or len(t) >= 16]


def dot_stuff(body):
    """SMTP transparency (RFC 5321 4.5.2) for a CRLF body."""
    lines = body.split(b"\r\n")
    return b"\r\n".join(b"." + ln if ln.startswith(b".") else ln
                        for ln in lines)


def send_data(r, mail_from, rcpts, body, params=b""):
    """MAIL, RCPT..., DATA, the body (CRLF, already ending in CRLF) dot-
    stuffed, and ".": returns the final (code, lines)."""
    r.expect(250, b"MAIL FROM:<" + mail_from.encode() + b">" + params)
    for rc in rcpts:
        r.expect(250, "RCPT TO:<%s>" % rc)
    r.expect(354, "DATA")
    r.send(dot_stuff(body) + b".\r\n")
    return r.reply()


def message(subject="test", body="hello\r\n", mfrom="sender@client.test",
            to="alice@example.test", extra=b""):
    """A small RFC 5322 message, CRLF line ends."""
    head = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
            "Message-ID: <%s@client.test>\r\n" % (
                mfrom, to, subject, random.getrandbits(64)))
    b = body.encode() if isinstance(body, str) else body
    return head.encode() + extra + b"\r\n" + b


# --- external clients ------------------------------------------------------------

def swaks(*args, input=None, timeout=30):
    cmd = ["/usr/bin/swaks", "--hide-informational"]
    cmd += [str(a) for a in args]
    return subprocess.run(cmd, input=input, capture_output=True, text=True,
                          timeout=timeout)


def msmtp(host, port, user, password, mail_from, rcpts, message_bytes,
          starttls=True, tls=True, auth="plain", timeout=30):
    cmd = ["/usr/bin/msmtp", "--file=/dev/null", "--host=%s" % host,
           "--port=%d" % port, "--domain=%s" % CLIENT,
           "--tls=%s" % ("on" if tls else "off"),
           "--tls-starttls=%s" % ("on" if starttls else "off"),
           "--tls-certcheck=off", "--auth=%s" % auth,
           "--user=%s" % user,
           "--passwordeval=echo %s" % password,
           "--from=%s" % mail_from, "--"] + list(rcpts)
    return subprocess.run(cmd, input=message_bytes, capture_output=True,
                          timeout=timeout)


# --- fixtures ------------------------------------------------------------------------

@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in getattr(item, "_postern_servers", []):
            rep.sections.append(("postern log %s" % s.top.name,
                                 s.log()[-20000:]))


def _register(request, s):
    node = request.node
    if not hasattr(node, "_postern_servers"):
        node._postern_servers = []
    node._postern_servers.append(s)


def _finish(s, problems):
    if s.proc is None:
        return
    rc = s.stop()
    rep = s.sanitizer_report()
    if rep:
        problems.append("sanitizer report in %s:\n%s" % (s.logpath, rep))
    elif rc not in (0, None) and not s.crashed_ok:
        problems.append("postern serve exited with %r at SIGTERM:\n%s"
                        % (rc, s.log()[-3000:]))


@pytest.fixture
def server(request, postern_bin, template, work_root):
    """Factory: server(conf=..., users=..., aliases=..., start=True)."""
    made = []

    def make(conf=None, users=None, aliases=None, domains=None, start=True):
        s = Server(postern_bin, new_dir(work_root, request.node.name),
                   template,
                   conf=conf, users=users, aliases=aliases, domains=domains)
        made.append(s)
        _register(request, s)
        if start:
            s.start()
        return s

    yield make
    problems = []
    for s in made:
        _finish(s, problems)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def module_server(postern_bin, template, work_root, conf=None,
                  aliases=None):
    """Generator for a module-scoped fixture: a started Server, stopped
    (and checked) at the end of the module."""
    s = Server(postern_bin, new_dir(work_root, "module"), template,
               conf=conf, aliases=aliases)
    s.start()
    yield s
    problems = []
    _finish(s, problems)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def _module_server(postern_bin, template, work_root):
    yield from module_server(postern_bin, template, work_root,
                             conf={"max_errors": 50}, aliases=(
                                 "# shared test server\n"
                                 "postmaster: alice\n"
                                 "team: alice, bob@example.test\n"))


@pytest.fixture
def srv(request, _module_server):
    """The module's shared default server (do not reconfigure it)."""
    _register(request, _module_server)
    assert _module_server.running(), "shared server died:\n" + \
        _module_server.log()[-3000:]
    return _module_server
