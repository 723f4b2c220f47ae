#!/usr/bin/python3
"""submit_load.py - authenticated submission load against an SMTP server.

--sessions processes (one session each) connect to --port, read the 220,
EHLO, STARTTLS, the TLS handshake (Python's ssl, no certificate check),
EHLO again, AUTH PLAIN, then send their share of --messages back to back
in that one session: MAIL, RCPT, DATA (one write when the server offers
PIPELINING, RFC 2920; else one by one), the message, the dot, and wait
for the 250 before the next message.  The latency of a message runs from
the MAIL command to that 250.  Then QUIT.

Each message is --size octets of body (76-character lines) under From,
To, Subject (carrying --tag and a serial), Date and Message-ID, so a
receiver can tell the runs apart.

Prints one line:
  sent=N accepted=A errors=E start=T0 end=T1 seconds=S rate=R
  p50_ms=X p99_ms=Y max_ms=Z client_cpu_s=C
T0 and T1 are wall-clock epochs (the first connect, the last 250), R =
A / S, C the user + system time of this program and its processes.

Used by bench/run.sh (BENCH_MODE=submit).  Loopback only; every wait is
bounded (--timeout per reply).
"""

import argparse
import base64
import os
import resource
import socket
import ssl
import sys
import tempfile
import time


class Session:
    """One SMTP session over a socket, TLS once started."""

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

    def starttls(self, ctx):
        self.sock = ctx.wrap_socket(self.sock, server_hostname=None)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def message(tag, serial, size, sender, rcpt):
    """A message of about size octets of body, CRLF lines."""
    head = ("From: Bench <%s>\r\nTo: <%s>\r\nSubject: bench %s %d\r\n"
            "Date: %s\r\nMessage-ID: <%d.%d.%s@%s>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" % (
                sender, rcpt, tag, serial,
                time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
                os.getpid(), serial, tag, sender.split("@")[1]))
    line = ("%s %d " % (tag, serial)).ljust(76, "x") + "\r\n"
    body = line * max(1, size // len(line))
    return (head + body).encode()


def session(a, share, first, lat):
    """One session sending share messages; appends latencies (s) to lat;
    returns the number accepted."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = Session(a.host, a.port, a.timeout)
    ok = 0
    try:
        s.expect(220, "greeting")
        s.send(b"EHLO bench.client.test\r\n")
        s.expect(250, "EHLO")
        s.send(b"STARTTLS\r\n")
        s.expect(220, "STARTTLS")
        s.starttls(ctx)
        s.send(b"EHLO bench.client.test\r\n")
        ext = [x[4:].upper() for x in s.expect(250, "EHLO after TLS")]
        pipelining = b"PIPELINING" in ext
        cred = base64.b64encode(b"\0" + a.user.encode() + b"\0" +
                                a.password.encode())
        s.send(b"AUTH PLAIN " + cred + b"\r\n")
        s.expect(235, "AUTH")
        mail = b"MAIL FROM:<%s>\r\n" % a.sender.encode()
        rcpt = b"RCPT TO:<%s>\r\n" % a.rcpt.encode()
        for i in range(share):
            data = message(a.tag, first + i, a.size, a.sender, a.rcpt)
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


def child(a, share, first, path):
    lat = []
    err = ""
    t0 = time.time()
    try:
        ok = session(a, share, first, lat)
    except (OSError, EOFError, ValueError, ssl.SSLError) as e:
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--messages", type=int, required=True)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--sender", required=True)
    ap.add_argument("--rcpt", required=True)
    ap.add_argument("--tag", default="bench")
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="submit-load.")
    pids, paths, first = [], [], 0
    for k in range(a.sessions):
        share = a.messages // a.sessions + (k < a.messages % a.sessions)
        path = os.path.join(tmp, str(k))
        pid = os.fork()
        if pid == 0:
            child(a, share, first, path)
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


if __name__ == "__main__":
    sys.exit(main())
