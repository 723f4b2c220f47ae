"""mxpeer.py - remote MX hosts and a debug-logging server for the tests of
the deliver process that look at its settings (test_dnssec.py, the
outbound part of test_reload.py).

MXPeer is an aiosmtpd server on one loopback address and port standing
in for a remote MX host: it records the messages it accepted (with the
EHLO name the client gave), the EHLOs and the QUITs, and can hold the
end of DATA for a while (a delivery "in flight").  free_port() finds a
port free on every address a test needs.  debug_server() starts
`postern serve -d` through the conftest `server` factory, for the
deliver process's debug lines (the DNSSEC status of each MX plan).
Everything is on loopback; every wait is bounded.
"""

import asyncio
import os
import socket
import threading
import time

import pytest

WAIT = 20           # seconds: the bound of every wait


class _Handler:
    def __init__(self, peer):
        self.peer = peer

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        with self.peer.lock:
            self.peer.ehlos.append(hostname)
        return responses

    async def handle_DATA(self, server, session, envelope):
        with self.peer.lock:
            self.peer.data_started += 1
        if self.peer.hold > 0:
            await asyncio.sleep(self.peer.hold)
        with self.peer.lock:
            self.peer.messages.append({
                "from": envelope.mail_from,
                "rcpts": list(envelope.rcpt_tos),
                "content": envelope.original_content,
                "ehlo": session.host_name,
            })
        return "250 2.0.0 queued"

    async def handle_QUIT(self, server, session, envelope):
        with self.peer.lock:
            self.peer.quits += 1
        return "221 2.0.0 bye"


class MXPeer:
    """An aiosmtpd server at addr:port; hold: seconds the reply to the
    end of DATA waits (0: none)."""

    def __init__(self, addr, port, hold=0):
        self.addr = addr
        self.port = port
        self.hold = hold
        self.messages = []
        self.ehlos = []
        self.quits = 0
        self.data_started = 0
        self.lock = threading.Lock()
        # a test that needs a peer is skipped without aiosmtpd
        controller = pytest.importorskip("aiosmtpd.controller")
        self.ctl = controller.Controller(
            _Handler(self), hostname=addr, port=port)

    def start(self):
        self.ctl.start()
        return self

    def stop(self):
        self.ctl.stop()

    def wait(self, n, timeout=WAIT):
        """The messages, once there are n (asserting no more come)."""
        assert wait_for(lambda: len(self.messages) >= n, timeout), \
            "%s:%d: %d messages, expected %d" % (
                self.addr, self.port, len(self.messages), n)
        time.sleep(0.3)     # a duplicate would show now
        assert len(self.messages) == n, \
            "%s:%d: %d messages, expected %d" % (
                self.addr, self.port, len(self.messages), n)
        return self.messages


def wait_for(pred, timeout=WAIT, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def free_port(addrs, n=1):
    """n distinct ports, each free on every address of addrs."""
    ports = []
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p in ports:
            continue
        try:
            for a in addrs:
                fam = socket.AF_INET6 if ":" in a else socket.AF_INET
                with socket.socket(fam) as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((a, p))
        except OSError:
            continue
        ports.append(p)
        if len(ports) == n:
            return ports if n > 1 else ports[0]
    raise RuntimeError("no free port on %s" % (addrs,))


_seq = iter(range(1, 1 << 30))


def mkmsg(sender, to, subject):
    """A complete small RFC 5322 message."""
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
            "Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n"
            "Message-ID: <mxpeer-%d-%d@example.test>\r\n\r\n"
            "body of %s\r\n" % (sender, to, subject, next(_seq),
                                time.time_ns(), subject)).encode()


def send(srv, sender, rcpts, subjects):
    """One authenticated 587 session sending one message per subject."""
    s = srv.submission(sender)
    try:
        for subj in subjects:
            refused = s.sendmail(sender, rcpts, mkmsg(sender, rcpts[0],
                                                      subj))
            assert not refused, refused
    finally:
        s.quit()


def debug_server(server, conf):
    """A started server whose `serve` runs with -d (debug lines)."""
    s = server(conf=conf, start=False)
    real = s.bin
    wrapper = s.top / "postern-debug"
    wrapper.write_text('#!/bin/sh\n'
                       'if [ "$#" -eq 3 ] && [ "$3" = serve ]; then\n'
                       '    exec "%s" "$@" -d\n'
                       'fi\n'
                       'exec "%s" "$@"\n' % (real, real))
    os.chmod(wrapper, 0o755)
    s.bin = str(wrapper)
    return s.start()
