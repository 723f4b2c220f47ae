#!/usr/bin/python3
"""dkim_check.py - verify the DKIM signatures of messages a sink kept.

Reads the smtp-sink dump files (-d) under --dir, keeps those whose
Subject is "bench TAG N" (submit_load.py's --tag), and verifies up to
--max of them with dkimpy against the public key in --pubkey (PEM),
published as the TXT record of SELECTOR._domainkey.DOMAIN (--selector,
--domain) through a lookup function: no DNS.  smtp-sink's own X-*
lines come first and its dump ends lines with LF; they are dropped and
CRLF restored before verifying.

Prints one line:  checked=N signed=S verified=V d=... s=... a=... c=...
(the tags of the first signature seen); exits 0.

Used by bench/run.sh (BENCH_MODE=submit).
"""

import argparse
import base64
import os
import re
import sys

import dkim
from cryptography.hazmat.primitives import serialization

SINK_HEADERS = (b"x-client-addr:", b"x-client-proto:", b"x-helo-args:",
                b"x-mail-args:", b"x-rcpt-args:", b"x-sink-")


def load(path):
    """The message as received, CRLF, without smtp-sink's X-* lines."""
    with open(path, "rb") as f:
        raw = f.read()
    lines = raw.split(b"\n")
    while lines and lines[0].lower().startswith(SINK_HEADERS):
        lines.pop(0)
    # the dump ends with an empty line of its own
    if len(lines) >= 2 and lines[-1] == b"" and lines[-2] == b"":
        lines.pop()
    return b"\r\n".join(x.rstrip(b"\r") for x in lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--pubkey", required=True)
    ap.add_argument("--selector", default="bench")
    ap.add_argument("--domain", default="bench.test")
    ap.add_argument("--max", type=int, default=5)
    a = ap.parse_args()
    with open(a.pubkey, "rb") as f:
        pub = serialization.load_pem_public_key(f.read())
    der = pub.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    name = ("%s._domainkey.%s." % (a.selector, a.domain)).encode()
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)

    def txt(qname, timeout=5):
        if qname.rstrip(b".") == name.rstrip(b"."):
            return record
        return None

    subj = re.compile(rb"^Subject: bench %s \d+\r?$" % re.escape(
        a.tag.encode()), re.M | re.I)
    files = []
    for root, _dirs, names in os.walk(a.dir):
        files.extend(os.path.join(root, n) for n in names)
    files.sort()
    checked = signed = verified = 0
    tags = ""
    for path in files:
        if checked >= a.max:
            break
        msg = load(path)
        head = msg.split(b"\r\n\r\n", 1)[0]
        if not subj.search(head):
            continue
        checked += 1
        if not re.search(rb"^DKIM-Signature:", head, re.M | re.I):
            continue
        signed += 1
        if not tags:
            sig = re.search(rb"^DKIM-Signature:(.*(?:\r\n[ \t].*)*)", head,
                            re.M | re.I).group(1)
            sig = re.sub(rb"\s+", b"", sig).decode("ascii", "replace")
            kv = dict(x.split("=", 1) for x in sig.split(";") if "=" in x)
            tags = " ".join("%s=%s" % (k, kv.get(k, "-"))
                            for k in ("d", "s", "a", "c"))
        try:
            if dkim.verify(msg, dnsfunc=txt):
                verified += 1
        except dkim.DKIMException:
            pass
    print("checked=%d signed=%d verified=%d %s" % (checked, signed,
                                                    verified, tags))
    return 0


if __name__ == "__main__":
    sys.exit(main())
