#!/usr/bin/python3
"""dnsserver.py - a small authoritative DNS server for postern's tests.

Serves one zone over UDP and TCP on 127.0.0.1 (and ::1 when the host has
IPv6) on one port, with python3-dnspython.  Loopback only.

The zone is a dict or a text:

    zone = {
        "example.test": {"MX": ["10 mx1.example.test", (20, "mx2")],
                         "TXT": ["v=spf1 -all"]},
        "mx1.example.test": {"A": ["127.0.0.1"], "AAAA": "::1"},
        "alias.example.test": {"CNAME": "mx1.example.test"},
        "broken.test": "SERVFAIL",          # every type of the name
        "slow.test": "TIMEOUT",             # never answered
        "half.test": {"A": ["127.0.0.2"], "AAAA": "SERVFAIL"},
    }

    text = '''
    example.test      MX    10 mx1.example.test
    mx1.example.test  A     127.0.0.1
    broken.test       SERVFAIL
    half.test         AAAA  TIMEOUT
    '''

Record data is in zone-file syntax; names are taken from the root (no
trailing dot needed); an MX may be a (preference, host) tuple; a TXT
value that does not start with a quote is one string (split into
255-octet pieces when longer).  Answers: the records of the name and type
(after following CNAMEs inside the zone), NODATA when the name exists
without that type (or only has names below it), NXDOMAIN otherwise; both
negative answers carry the SOA of the root.  Every answer is
authoritative; a UDP answer too large for the query's buffer (or for
udp_max, when given) is sent truncated (TC) so the client retries over
TCP.

DNSSEC: zone.sign("sec.test") makes sec.test a signed zone with a new
ECDSA P-256 key (flags 257, one key for everything, algorithm 13): its
DNSKEY and an SOA are added at the origin, and a query with the DO bit
gets an RRSIG (by that key) for every RRset at or below the origin and,
for negative answers, the zone's own SOA and the NSEC records that prove
them (RFC 4035 3.1.3: the name's NSEC for NODATA; for NXDOMAIN the NSEC
covering the name and the one covering the wildcard).  The returned
SignedZone gives the trust anchor as text, anchor("DNSKEY") or
anchor("DS"), in the format libunbound's ub_ctx_add_ta_file reads.
Broken zones for the validation-failure paths: sign(origin, mode=)
"nosig" (DNSKEY served, never an RRSIG: the signatures were stripped) or
"badsig" (every signature corrupted).  Queries without DO and unsigned
names are answered exactly as before.

As a module:
    srv = DNSServer(zone, udp_max=512).start()  # srv.port, srv.queries
    ...
    srv.stop()
As a script:
    dnsserver.py [--port N] [--no-ipv6] [--sign ORIGIN[=MODE]]...
                 [--anchor-file PATH] ZONEFILE
  (--anchor-file writes the DNSKEY anchors of the --sign zones)
"""

import argparse
import errno
import signal
import socket
import struct
import sys
import threading
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

BEHAVIOURS = ("SERVFAIL", "TIMEOUT")
TTL = 60
SOA = "ns.test. hostmaster.test. 1 3600 600 86400 60"
MAX_CNAME = 8
SIGN_MODES = ("valid", "nosig", "badsig")
SIG_BEFORE = 3600               # inception: now - 1 h (clock skew)
SIG_AFTER = 7 * 86400           # expiration: now + 7 d


def _key(name):
    """Canonical dict key of a name: lower case, no trailing dot."""
    if isinstance(name, dns.name.Name):
        name = name.to_text()
    name = name.strip().lower()
    return name[:-1] if name.endswith(".") and name != "." else name


def _txt_text(value):
    if value.startswith('"'):
        return value
    raw = value.encode()
    parts = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    out = []
    for p in parts:
        s = p.decode("utf-8", "surrogateescape")
        out.append('"%s"' % s.replace("\\", "\\\\").replace('"', '\\"'))
    return " ".join(out)


def _rdata(rdtype, value):
    if rdtype == dns.rdatatype.MX and isinstance(value, tuple):
        value = "%d %s" % value
    elif rdtype == dns.rdatatype.TXT:
        value = _txt_text(value)
    return dns.rdata.from_text(dns.rdataclass.IN, rdtype, value,
                               origin=dns.name.root, relativize=False)


class SignedZone:
    """One signed zone: its origin, key and mode (see the module doc)."""

    def __init__(self, origin, mode="valid"):
        # imported here: only signing needs python3-cryptography
        import dns.dnssec
        from cryptography.hazmat.primitives.asymmetric import ec

        if mode not in SIGN_MODES:
            raise ValueError("sign mode %r is not one of %s"
                             % (mode, ", ".join(SIGN_MODES)))
        self._dnssec = dns.dnssec
        self.origin = dns.name.from_text(_key(origin))
        self.mode = mode
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.dnskey = dns.dnssec.make_dnskey(
            self.key.public_key(), dns.dnssec.Algorithm.ECDSAP256SHA256,
            flags=257)

    def anchor(self, kind="DNSKEY"):
        """The trust anchor line: "origin. 3600 IN DNSKEY|DS ..."."""
        if kind.upper() == "DS":
            rd = self._dnssec.make_ds(self.origin, self.dnskey, "SHA256")
            return "%s 3600 IN DS %s" % (self.origin.to_text(), rd.to_text())
        return "%s 3600 IN DNSKEY %s" % (self.origin.to_text(),
                                         self.dnskey.to_text())

    def covers(self, name):
        return name.is_subdomain(self.origin)

    def rrsig(self, rrset):
        """The RRSIG RRset of rrset, or None in mode nosig."""
        if self.mode == "nosig":
            return None
        now = int(time.time())
        sig = self._dnssec.sign(rrset, self.key, self.origin, self.dnskey,
                                inception=now - SIG_BEFORE,
                                expiration=now + SIG_AFTER)
        if self.mode == "badsig":
            bad = bytes([sig.signature[0] ^ 0xff]) + sig.signature[1:]
            sig = sig.replace(signature=bad)
        out = dns.rrset.RRset(rrset.name, dns.rdataclass.IN,
                              dns.rdatatype.RRSIG, rrset.rdtype)
        out.add(sig, rrset.ttl)
        return out


class Zone:
    """Records and behaviours by name and type."""

    def __init__(self, spec):
        self.records = {}       # name -> {rdtype: [rdata]}
        self.behaviour = {}     # (name, rdtype or None) -> behaviour
        self.signed = []        # SignedZone, by sign()
        if isinstance(spec, str):
            self._load_text(spec)
        else:
            for name, value in spec.items():
                self._add_name(name, value)

    def _add_name(self, name, value):
        key = _key(name)
        self.records.setdefault(key, {})
        if isinstance(value, str):
            self._set_behaviour(key, None, value)
            return
        for tname, values in value.items():
            rdtype = dns.rdatatype.from_text(tname.upper())
            if isinstance(values, str) and values.upper() in BEHAVIOURS:
                self._set_behaviour(key, rdtype, values)
                continue
            if isinstance(values, (str, tuple)):
                values = [values]
            for v in values:
                self.add(key, rdtype, v)

    def _set_behaviour(self, key, rdtype, value):
        value = value.upper()
        if value not in BEHAVIOURS:
            raise ValueError("%s: unknown behaviour %r" % (key, value))
        self.behaviour[(key, rdtype)] = value

    def _load_text(self, text):
        for lineno, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            fields = line.split(None, 2)
            if len(fields) == 2 and fields[1].upper() in BEHAVIOURS:
                self.records.setdefault(_key(fields[0]), {})
                self._set_behaviour(_key(fields[0]), None, fields[1])
                continue
            if len(fields) < 3:
                raise ValueError("zone line %d: %r" % (lineno, line))
            name, tname, data = fields
            rdtype = dns.rdatatype.from_text(tname.upper())
            self.records.setdefault(_key(name), {})
            if data.strip().upper() in BEHAVIOURS:
                self._set_behaviour(_key(name), rdtype, data.strip())
            else:
                self.add(name, rdtype, data.strip())

    def add(self, name, rdtype, value):
        if isinstance(rdtype, str):
            rdtype = dns.rdatatype.from_text(rdtype.upper())
        key = _key(name)
        self.records.setdefault(key, {}).setdefault(rdtype, []).append(
            _rdata(rdtype, value))

    def sign(self, origin, mode="valid"):
        """Serve origin and the names below it signed (see the module
        doc); returns the SignedZone (its anchor() for the validator)."""
        sz = SignedZone(origin, mode)
        key = _key(origin)
        types = self.records.setdefault(key, {})
        if dns.rdatatype.SOA not in types:
            self.add(key, "SOA", "ns.%s. hostmaster.%s. 1 3600 600 86400 %d"
                     % (key, key, TTL))
        types[dns.rdatatype.DNSKEY] = [sz.dnskey]
        self.signed = [z for z in self.signed if z.origin != sz.origin]
        self.signed.append(sz)
        return sz

    def signer(self, name, rdtype=None):
        """The SignedZone holding name (a DS belongs to the parent), or
        None; the innermost one when zones nest."""
        if rdtype == dns.rdatatype.DS and name != dns.name.root:
            name = name.parent()
        best = None
        for sz in self.signed:
            if sz.covers(name) and (best is None or
                                    sz.origin.is_subdomain(best.origin)):
                best = sz
        return best

    def _nsec_names(self, sz):
        """The owner names of sz's NSEC chain, in canonical order."""
        names = set()
        for key, types in self.records.items():
            if not types:
                continue
            n = dns.name.from_text(key)
            if sz.covers(n) and self.signer(n) is sz:
                names.add(n)
        names.add(sz.origin)
        return sorted(names)

    def _nsec(self, sz, names, i):
        owner = names[i]
        nxt = names[(i + 1) % len(names)]
        types = set(self.records.get(_key(owner), {}))
        types |= {dns.rdatatype.RRSIG, dns.rdatatype.NSEC}
        text = "%s %s" % (nxt.to_text(), " ".join(
            dns.rdatatype.to_text(t) for t in sorted(types)))
        rrs = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.NSEC)
        rrs.add(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.NSEC,
                                    text, origin=dns.name.root,
                                    relativize=False), TTL)
        return rrs

    def _nsec_for(self, sz, names, name):
        """The NSEC of name if it is an owner, else the one covering it."""
        i = 0
        for j, n in enumerate(names):
            if n <= name:
                i = j
        return self._nsec(sz, names, i)

    def _denial(self, sz, name, nxdomain):
        """NSEC RRsets proving NODATA or NXDOMAIN for name in sz."""
        names = self._nsec_names(sz)
        out = [self._nsec_for(sz, names, name)]
        if nxdomain:
            ce = name.parent()
            while ce != sz.origin and not self.exists(_key(ce)):
                ce = ce.parent()
            wild = dns.name.Name((b"*",) + ce.labels)
            w = self._nsec_for(sz, names, wild)
            if w.name != out[0].name:
                out.append(w)
        return out

    @staticmethod
    def _want_dnssec(query):
        return query.edns >= 0 and bool(query.ednsflags & dns.flags.DO)

    def _add_rrsigs(self, resp):
        """An RRSIG after every RRset of a signed zone (DO queries)."""
        for section in (resp.answer, resp.authority):
            signed = []
            for rrs in section:
                signed.append(rrs)
                sz = self.signer(rrs.name, rrs.rdtype)
                sig = sz.rrsig(rrs) if sz is not None else None
                if sig is not None:
                    signed.append(sig)
            section[:] = signed

    def exists(self, key):
        if key == "." or key in self.records:
            return True
        suffix = "." + key
        return any(n.endswith(suffix) for n in self.records)

    def how(self, key, rdtype):
        return self.behaviour.get((key, rdtype)) or \
            self.behaviour.get((key, None))

    def respond(self, query):
        """The response to a query, or None to stay silent."""
        resp = dns.message.make_response(query)
        resp.flags |= dns.flags.AA
        resp.flags &= ~dns.flags.RA
        do = self._want_dnssec(query)
        if do:
            resp.ednsflags |= dns.flags.DO
        if len(query.question) != 1:
            resp.set_rcode(dns.rcode.FORMERR)
            return resp
        q = query.question[0]
        name, rdtype = q.name, q.rdtype
        for _ in range(MAX_CNAME + 1):
            key = _key(name)
            how = self.how(key, rdtype)
            if how == "TIMEOUT":
                return None
            if how == "SERVFAIL":
                resp.set_rcode(dns.rcode.SERVFAIL)
                return resp
            types = self.records.get(key, {})
            if rdtype in types:
                resp.answer.append(self._rrset(name, rdtype, types[rdtype]))
                if do:
                    self._add_rrsigs(resp)
                return resp
            cname = types.get(dns.rdatatype.CNAME)
            if cname and rdtype != dns.rdatatype.CNAME:
                resp.answer.append(self._rrset(name, dns.rdatatype.CNAME,
                                               cname))
                name = cname[0].target
                continue
            break
        nxdomain = not self.exists(_key(name))
        if nxdomain:
            resp.set_rcode(dns.rcode.NXDOMAIN)
        sz = self.signer(name, rdtype)
        if sz is None:
            resp.authority.append(dns.rrset.from_text(
                dns.name.root, TTL, "IN", "SOA", SOA))
            return resp
        origin = _key(sz.origin)
        resp.authority.append(self._rrset(
            sz.origin, dns.rdatatype.SOA,
            self.records[origin][dns.rdatatype.SOA]))
        if do:
            if sz.mode != "nosig":
                resp.authority.extend(self._denial(sz, name, nxdomain))
            self._add_rrsigs(resp)
        return resp

    @staticmethod
    def _rrset(name, rdtype, rdatas):
        rrs = dns.rrset.RRset(name, dns.rdataclass.IN, rdtype)
        for rd in rdatas:
            rrs.add(rd, TTL)
        return rrs


class DNSServer:
    """The zone served on loopback, UDP and TCP, until stop()."""

    def __init__(self, zone, port=0, ipv6=True, udp_max=None):
        self.zone = zone if isinstance(zone, Zone) else Zone(zone)
        self.port = port
        self.udp_max = udp_max  # cap UDP answers below the client's size
        self.want_ipv6 = ipv6
        self.ipv6 = False
        self.queries = []       # (name, type, "udp"|"tcp"), in order
        self._socks = []
        self._threads = []
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # --- sockets ---------------------------------------------------------

    def _bind(self, port):
        socks = []
        try:
            fams = [(socket.AF_INET, "127.0.0.1")]
            for fam, host in fams:
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(fam, kind)
                    socks.append(s)
                    if kind == socket.SOCK_STREAM:
                        s.setsockopt(socket.SOL_SOCKET,
                                     socket.SO_REUSEADDR, 1)
                    s.bind((host, port))
                    port = s.getsockname()[1]
            if self.want_ipv6:
                try:
                    v6 = []
                    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                        s = socket.socket(socket.AF_INET6, kind)
                        v6.append(s)
                        s.setsockopt(socket.IPPROTO_IPV6,
                                     socket.IPV6_V6ONLY, 1)
                        if kind == socket.SOCK_STREAM:
                            s.setsockopt(socket.SOL_SOCKET,
                                         socket.SO_REUSEADDR, 1)
                        s.bind(("::1", port))
                    socks.extend(v6)
                    self.ipv6 = True
                except OSError as e:
                    for s in v6:
                        s.close()
                    if e.errno == errno.EADDRINUSE:
                        raise       # another port, or the caller's problem
            return port, socks
        except OSError:
            for s in socks:
                s.close()
            raise

    def start(self):
        for _ in range(50):
            try:
                port, socks = self._bind(self.port)
                break
            except OSError:
                if self.port:
                    raise
        else:
            raise RuntimeError("dnsserver: no free port")
        self.port = port
        self._socks = socks
        for s in socks:
            s.settimeout(0.2)
            if s.type == socket.SOCK_STREAM:
                s.listen(16)
                target = self._serve_tcp
            else:
                target = self._serve_udp
            t = threading.Thread(target=target, args=(s,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(5)
        for s in self._socks:
            s.close()
        self._threads = []
        self._socks = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- serving -----------------------------------------------------------

    def _note(self, query, transport):
        if query.question:
            q = query.question[0]
            with self._lock:
                self.queries.append((_key(q.name),
                                     dns.rdatatype.to_text(q.rdtype),
                                     transport))

    def _answer(self, wire, transport, max_size):
        try:
            query = dns.message.from_wire(wire)
        except Exception:               # garbage in: no answer
            return None
        self._note(query, transport)
        try:
            resp = self.zone.respond(query)
        except Exception as e:          # a bug here: say so, answer SERVFAIL
            print("dnsserver: %r" % e, file=sys.stderr)
            resp = dns.message.make_response(query)
            resp.set_rcode(dns.rcode.SERVFAIL)
        if resp is None:
            return None
        if transport == "udp":
            size = query.payload if query.edns >= 0 else 512
            if self.udp_max is not None:
                size = min(size, self.udp_max)
            try:
                return resp.to_wire(max_size=max(size, 512))
            except dns.exception.TooBig:
                resp = dns.message.make_response(query)
                resp.flags |= dns.flags.AA | dns.flags.TC
                return resp.to_wire()
        return resp.to_wire(max_size=max_size)

    def _serve_udp(self, s):
        while not self._stop.is_set():
            try:
                wire, peer = s.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            out = self._answer(wire, "udp", 512)
            if out is not None:
                try:
                    s.sendto(out, peer)
                except OSError:
                    pass

    def _serve_tcp(self, s):
        while not self._stop.is_set():
            try:
                conn, _ = s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._tcp_conn, args=(conn,),
                                 daemon=True)
            t.start()

    def _recv_exact(self, conn, n):
        data = b""
        while len(data) < n and not self._stop.is_set():
            try:
                chunk = conn.recv(n - len(data))
            except socket.timeout:
                continue
            if not chunk:
                return None
            data += chunk
        return data if len(data) == n else None

    def _tcp_conn(self, conn):
        conn.settimeout(0.2)
        try:
            while not self._stop.is_set():
                head = self._recv_exact(conn, 2)
                if head is None:
                    return
                wire = self._recv_exact(conn, struct.unpack("!H", head)[0])
                if wire is None:
                    return
                out = self._answer(wire, "tcp", 65535)
                if out is not None:
                    conn.sendall(struct.pack("!H", len(out)) + out)
        except OSError:
            pass
        finally:
            conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--no-ipv6", action="store_true")
    ap.add_argument("--sign", action="append", default=[],
                    metavar="ORIGIN[=MODE]",
                    help="serve ORIGIN signed; MODE: %s" % ", ".join(
                        SIGN_MODES))
    ap.add_argument("--anchor-file", help="write the trust anchors of "
                    "the --sign zones here")
    ap.add_argument("zonefile")
    args = ap.parse_args()
    with open(args.zonefile) as f:
        zone = Zone(f.read())
    anchors = []
    for spec in args.sign:
        origin, _, mode = spec.partition("=")
        anchors.append(zone.sign(origin, mode or "valid").anchor())
    if args.anchor_file:
        with open(args.anchor_file, "w") as f:
            f.write("".join(a + "\n" for a in anchors))
    srv = DNSServer(zone, port=args.port, ipv6=not args.no_ipv6).start()
    print("listening on 127.0.0.1%s port %d" % (
        " and ::1" if srv.ipv6 else "", srv.port), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *a: done.set())
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    while not done.wait(1):
        pass
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
