#!/usr/bin/python3
"""inbound_load.py - port-25 load of DKIM-signed mail, and its check.

Three commands, used by bench/run.sh (BENCH_MODE=inbound):

  sign --key PEM --domain D --selector S --sender ADDR --rcpt ADDR
       --count N --size B --out DIR
    writes N distinct messages (From: ADDR, Subject "inbound K",
    Message-ID, Date, about B octets of body in 76-character lines),
    each signed with dkimpy (rsa-sha256, relaxed/relaxed, d=D, s=S),
    as DIR/K.eml, CRLF lines; done once before the run, so the load
    itself signs nothing.

  send --port P --sessions N --messages M --dir DIR --sender ADDR
       --rcpt ADDR [--helo NAME]
    N processes (one session each) connect to 127.0.0.1:P, read the
    220, EHLO, then send their share of M messages back to back in that
    session: MAIL, RCPT, DATA (one write when the server offers
    PIPELINING, RFC 2920; else one by one), the message as signed
    (taken in turn from DIR, dot-stuffed), the dot, and wait for the 250
    before the next one.  No TLS, no AUTH.  The latency of a message
    runs from MAIL to that 250.  Then QUIT.  Prints one line:
      sent=N accepted=A errors=E start=T0 end=T1 seconds=S rate=R
      p50_ms=X p99_ms=Y max_ms=Z client_cpu_s=C
    T0 and T1 wall-clock epochs (the first connect, the last 250).

  check --maildir DIR --max N
    reads up to N delivered messages of DIR and counts those carrying
    exactly one Authentication-Results field that says spf=pass,
    dkim=pass and dmarc=pass.  Prints one line:
      checked=N fields0=Z fields1=O pass=P first="..." (the first field
    seen, unfolded, or empty)

Loopback only; every wait is bounded (--timeout per reply).
"""

import argparse
import os
import re
import resource
import socket
import sys
import tempfile
import time


def cmd_sign(a):
    import dkim
    with open(a.key, "rb") as f:
        key = f.read()
    os.makedirs(a.out, exist_ok=True)
    dom = a.sender.split("@")[1]
    for k in range(a.count):
        head = ("From: Bench <%s>\r\nTo: <%s>\r\nSubject: inbound %d\r\n"
                "Date: %s\r\nMessage-ID: <inbound.%d.%d@%s>\r\n"
                "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" % (
                    a.sender, a.rcpt, k,
                    time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                  time.gmtime()),
                    os.getpid(), k, dom))
        line = ("inbound %d " % k).ljust(76, "x") + "\r\n"
        msg = (head + line * max(1, a.size // len(line))).encode()
        sig = dkim.sign(msg, a.selector.encode(), a.domain.encode(), key,
                        canonicalize=(b"relaxed", b"relaxed"),
                        include_headers=[b"from", b"to", b"subject",
                                         b"date", b"message-id"])
        with open(os.path.join(a.out, "%d.eml" % k), "wb") as f:
            f.write(sig + msg)
    print("signed=%d" % a.count)
    return 0


class Session:
    """One plain SMTP session over a socket."""

    def __init__(self, host, port, timeout):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def reply(self):
        """Read one complete reply; returns (code, lines)."""
        deadline = time.monotonic() + self.timeout
        lines = []
        while True:
            while b"\r\n" in self.buf:
                line, self.buf = self.buf.split(b"\r\n", 1)
                lines.append(line)
                if len(line) < 4 or line[3:4] != b"-":
                    return int(line[:3]), lines
            if time.monotonic() > deadline:
                raise TimeoutError("no reply")
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data

    def expect(self, code, what):
        got, lines = self.reply()
        if got != code:
            raise ValueError("%s: %s" % (what, b" ".join(lines)[:200]))
        return lines

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def load_messages(d):
    """The signed messages of d, dot-stuffed, each ending in CRLF."""
    out = []
    for name in sorted(os.listdir(d), key=lambda n: (len(n), n)):
        if not name.endswith(".eml"):
            continue
        with open(os.path.join(d, name), "rb") as f:
            m = f.read()
        if not m.endswith(b"\r\n"):
            m += b"\r\n"
        m = re.sub(rb"(?m)^\.", b"..", m)
        out.append(m)
    if not out:
        raise SystemExit("inbound_load.py: no .eml in %s" % d)
    return out


def session(a, msgs, share, first, lat):
    """One session sending share messages; appends latencies (s) to lat;
    returns the number accepted."""
    s = Session(a.host, a.port, a.timeout)
    ok = 0
    try:
        s.expect(220, "greeting")
        s.send(b"EHLO %s\r\n" % a.helo.encode())
        ext = [x[4:].upper() for x in s.expect(250, "EHLO")]
        pipelining = b"PIPELINING" in ext
        mail = b"MAIL FROM:<%s>\r\n" % a.sender.encode()
        rcpt = b"RCPT TO:<%s>\r\n" % a.rcpt.encode()
        for i in range(share):
            data = msgs[(first + i) % len(msgs)]
            t = time.perf_counter()
            if pipelining:
                s.send(mail + rcpt + b"DATA\r\n")
                s.expect(250, "MAIL")
                s.expect(250, "RCPT")
                s.expect(354, "DATA")
            else:
                s.send(mail)
                s.expect(250, "MAIL")
                s.send(rcpt)
                s.expect(250, "RCPT")
                s.send(b"DATA\r\n")
                s.expect(354, "DATA")
            s.send(data + b".\r\n")
            s.expect(250, "end of data")
            lat.append(time.perf_counter() - t)
            ok += 1
        s.send(b"QUIT\r\n")
        s.expect(221, "QUIT")
    finally:
        s.close()
    return ok


def child(a, msgs, share, first, path):
    lat = []
    err = ""
    t0 = time.time()
    try:
        ok = session(a, msgs, share, first, lat)
    except (OSError, EOFError, ValueError) as e:
        ok = len(lat)
        err = str(e).replace("\n", " ")[:200]
    t1 = time.time()
    with open(path, "w") as f:
        f.write("%d %.6f %.6f %s\n" % (ok, t0, t1, err))
        f.write("".join("%.9f\n" % x for x in lat))
    os._exit(0)


def pct(sorted_lat, p):
    if not sorted_lat:
        return float("nan")
    i = min(len(sorted_lat) - 1, int(round(p / 100 * (len(sorted_lat) - 1))))
    return sorted_lat[i]


def cmd_send(a):
    msgs = load_messages(a.dir)
    tmp = tempfile.mkdtemp(prefix="inbound-load.")
    pids, paths, first = [], [], 0
    for k in range(a.sessions):
        share = a.messages // a.sessions + (k < a.messages % a.sessions)
        path = os.path.join(tmp, str(k))
        pid = os.fork()
        if pid == 0:
            child(a, msgs, share, first, path)
        pids.append(pid)
        paths.append(path)
        first += share
    for pid in pids:
        os.waitpid(pid, 0)
    ok, t0, t1, lat, errs = 0, None, None, [], []
    for path in paths:
        try:
            with open(path) as f:
                head = f.readline().split(" ", 3)
                lat.extend(float(x) for x in f)
        except OSError:
            errs.append("session lost")
            continue
        finally:
            if os.path.exists(path):
                os.unlink(path)
        ok += int(head[0])
        t0 = float(head[1]) if t0 is None else min(t0, float(head[1]))
        t1 = float(head[2]) if t1 is None else max(t1, float(head[2]))
        if head[3].strip():
            errs.append(head[3].strip())
    os.rmdir(tmp)
    ru = [resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                          resource.RUSAGE_CHILDREN)]
    cpu = sum(r.ru_utime + r.ru_stime for r in ru)
    lat.sort()
    secs = (t1 - t0) if t0 is not None else 0
    print("sent=%d accepted=%d errors=%d start=%.6f end=%.6f seconds=%.3f "
          "rate=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f client_cpu_s=%.3f"
          % (a.messages, ok, len(errs), t0 or 0, t1 or 0, secs,
             ok / secs if secs > 0 else 0, pct(lat, 50) * 1000,
             pct(lat, 99) * 1000, (lat[-1] if lat else float("nan")) * 1000,
             cpu))
    for e in errs[:3]:
        print("error: " + e, file=sys.stderr)
    return 0 if ok == a.messages else 1


def authres(raw):
    """The Authentication-Results fields of a message, unfolded."""
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    fields = re.split(rb"\n(?![ \t])", head)
    return [re.sub(rb"\n[ \t]+", b" ", f).decode("ascii", "replace")
            for f in fields
            if f.lower().startswith(b"authentication-results:")]


def cmd_check(a):
    names = sorted(os.listdir(a.maildir))[:a.max] \
        if os.path.isdir(a.maildir) else []
    n = zero = one = ok = 0
    first = ""
    for name in names:
        with open(os.path.join(a.maildir, name), "rb") as f:
            ar = authres(f.read())
        n += 1
        if not ar:
            zero += 1
            continue
        first = first or ar[0]
        if len(ar) != 1:
            continue
        one += 1
        if all(re.search(r"[; ]%s=pass\b" % m, ar[0])
               for m in ("spf", "dkim", "dmarc")):
            ok += 1
    print('checked=%d fields0=%d fields1=%d pass=%d first="%s"'
          % (n, zero, one, ok, first.replace('"', "'")))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sign")
    p.add_argument("--key", required=True)
    p.add_argument("--domain", required=True)
    p.add_argument("--selector", required=True)
    p.add_argument("--sender", required=True)
    p.add_argument("--rcpt", required=True)
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--out", required=True)
    p = sub.add_parser("send")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sessions", type=int, default=1)
    p.add_argument("--messages", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--sender", required=True)
    p.add_argument("--rcpt", required=True)
    p.add_argument("--helo", default="client.test")
    p.add_argument("--timeout", type=float, default=30)
    p = sub.add_parser("check")
    p.add_argument("--maildir", required=True)
    p.add_argument("--max", type=int, default=5)
    a = ap.parse_args()
    return {"sign": cmd_sign, "send": cmd_send, "check": cmd_check}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
