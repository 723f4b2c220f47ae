#!/usr/bin/python3
"""deliver_alone.py - the deliver process alone: N jobs of one body to
one smtp-sink on loopback, through tests/unit/deliver_probe (built
beside postern with -Dtests=true), which runs deliver_main() as a child.

It makes a throwaway configuration (postern init), points dns_resolver
at tests/integration/dnsserver.py (sink.test MX -> 127.0.0.1) and
outbound_smtp_port at the sink, sends --jobs jobs and prints one line:

    jobs=N ok=K seconds=S rate=R cpu_ms=C

C is the CPU (user + system) of the probe's children (the deliver
process) per job.  Everything it starts is stopped on exit; loopback
only.  Example:

    bench/deliver_alone.py --postern build/postern \\
        --probe build/tests/deliver_probe --jobs 1000 --size 102400
"""

import argparse
import os
import pathlib
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--postern", required=True)
    ap.add_argument("--probe", required=True)
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--size", type=int, default=102400)
    ap.add_argument("--per-domain", type=int, default=5)
    ap.add_argument("--sink", default="/usr/sbin/smtp-sink")
    a = ap.parse_args()
    from dnsserver import DNSServer

    top = pathlib.Path(tempfile.mkdtemp(prefix="postern-deliver-"))
    sink = dns = None
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        sink = subprocess.Popen([a.sink, "-c", "-4", "-u", "nobody",
                                 "127.0.0.1:%d" % port, "1000"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        dns = DNSServer({"sink.test": {"MX": "10 mx.sink.test"},
                         "mx.sink.test": {"A": "127.0.0.1"}}).start()
        conf = top / "conf"
        subprocess.run([a.postern, "-C", str(conf), "init", "example.test",
                        "--data-dir", str(top / "data")], check=True,
                       capture_output=True, timeout=60)
        with open(conf / "postern.conf", "a") as f:
            f.write("dns_resolver = 127.0.0.1:%d\n"
                    "outbound_smtp_port = %d\n"
                    "outbound_max_per_domain = %d\n"
                    "dnssec_trust_anchor = none\n"
                    % (dns.port, port, a.per_domain))
        line = b"x" * 76 + b"\r\n"
        body = top / "body"
        body.write_bytes(b"Subject: bench\r\n\r\n" +
                         line * max(1, a.size // len(line)))
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), 1):
                    break
            except OSError:
                time.sleep(0.05)
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        cp = subprocess.run([a.probe, "-C", str(conf), "--jobs",
                             str(a.jobs), "--from", "bench@example.test",
                             "--domain", "sink.test", str(body),
                             "sink@sink.test"], capture_output=True,
                            text=True, timeout=600)
        t1 = time.monotonic()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        ok = sum(1 for ln in cp.stdout.splitlines() if " ok " in ln)
        cpu = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
        print("jobs=%d ok=%d seconds=%.3f rate=%.0f cpu_ms=%.3f" % (
            a.jobs, ok, t1 - t0, ok / (t1 - t0), cpu * 1000 / a.jobs))
        return 0 if ok == a.jobs else 1
    finally:
        if sink is not None:
            sink.kill()
            sink.wait(10)
        if dns is not None:
            dns.stop()
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
