#!/usr/bin/python3
"""tls_rate.py - STARTTLS sessions per second against an SMTP server.

Each of --clients processes opens sessions one after another for
--seconds: connect, read the 220, EHLO, STARTTLS, the TLS handshake
(Python's ssl: TLS 1.3 when the server has it, OpenSSL's default
groups, so X25519 first; no certificate check), EHLO again, QUIT, read
the 221, close.  A session counts once its 221 has arrived.  Prints one
line:  sessions=N errors=E seconds=S rate=R  (R = N / S, S the wall time
from the start of the first to the end of the last client).

Used by bench/run.sh (BENCH_MODE=starttls).  Loopback only; every wait
is bounded (--timeout per read).
"""

import argparse
import os
import socket
import ssl
import sys
import time


def reply(sock, buf, deadline):
    """Read one complete SMTP reply; returns (code, rest of buf)."""
    while True:
        while b"\r\n" in buf:
            line, buf = buf.split(b"\r\n", 1)
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), buf
        if time.monotonic() > deadline:
            raise TimeoutError("no reply")
        data = sock.recv(4096)
        if not data:
            raise EOFError("connection closed")
        buf += data


def session(host, port, ctx, timeout):
    deadline = time.monotonic() + timeout
    sock = socket.create_connection((host, port), timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code, buf = reply(sock, b"", deadline)
        assert code == 220, code
        sock.sendall(b"EHLO bench.client.test\r\n")
        code, buf = reply(sock, buf, deadline)
        assert code == 250, code
        sock.sendall(b"STARTTLS\r\n")
        code, buf = reply(sock, buf, deadline)
        assert code == 220, code
        tls = ctx.wrap_socket(sock, server_hostname=None)
        sock = tls
        tls.sendall(b"EHLO bench.client.test\r\n")
        code, buf = reply(tls, b"", deadline)
        assert code == 250, code
        tls.sendall(b"QUIT\r\n")
        code, buf = reply(tls, buf, deadline)
        assert code == 221, code
    finally:
        sock.close()


def client(host, port, until, timeout, wfd):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ok = bad = 0
    while time.monotonic() < until:
        try:
            session(host, port, ctx, timeout)
            ok += 1
        except (OSError, EOFError, AssertionError, ValueError,
                ssl.SSLError):
            bad += 1
    os.write(wfd, b"%d %d\n" % (ok, bad))
    os._exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--timeout", type=float, default=10)
    a = ap.parse_args()
    rfd, wfd = os.pipe()
    t0 = time.monotonic()
    until = t0 + a.seconds
    pids = []
    for _ in range(a.clients):
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            client(a.host, a.port, until, a.timeout, wfd)
        pids.append(pid)
    os.close(wfd)
    for pid in pids:
        os.waitpid(pid, 0)
    t1 = time.monotonic()
    ok = bad = 0
    with os.fdopen(rfd, "rb") as f:
        for line in f:
            o, b = line.split()
            ok += int(o)
            bad += int(b)
    print("sessions=%d errors=%d seconds=%.3f rate=%.1f" % (
        ok, bad, t1 - t0, ok / (t1 - t0)))
    return 0 if ok > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
