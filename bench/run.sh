#!/bin/bash
#
# bench/run.sh - postern next to Postfix, on loopback, same machine, same work.
#
# Starts a private postern (POSTERN_BIN) and a private Postfix instance
# (Debian's postfix package, its own config and queue directories under a
# temporary directory; the system's Postfix is never touched), each
# listening on 127.0.0.1 on a free unprivileged port, each accepting mail
# for the domain bench.test and delivering it to a Maildir with fsync.
# Then it measures, with Postfix's smtp-source:
#   - accepted messages per second at 1, 10 and 50 sessions, with 2 KiB
#     and 100 KiB messages;
#   - memory per idle connection: PSS of the server's whole process tree
#     with 1,000 idle connections (greeted), minus the baseline, / 1,000.
# and prints both side by side with the ratio.  Every server it starts is
# stopped on exit; every wait is bounded.
#
# With BENCH_MODE=relay it measures outbound delivery instead: both servers
# forward bench@bench.test (an alias) to sink@sink.test, a remote domain,
# and relay it to one smtp-sink on 127.0.0.1; the figure is end-to-end
# delivered messages per second: from the first message smtp-source sends
# to the moment the sink has received the last one.  postern finds the
# sink through DNS (MX sink.test -> mx.sink.test -> A 127.0.0.1, served by
# tests/integration/dnsserver.py on loopback, its dns_resolver and
# outbound_smtp_port test knobs); Postfix through a transport map entry
# "sink.test smtp:[127.0.0.1]:PORT" (no DNS at all, which favours it).
# No memory figure in this mode.
#
# With BENCH_MODE=starttls it measures STARTTLS sessions per second: N
# clients (bench/tls_rate.py, one process each) open sessions one after
# another for BENCH_TLS_SECONDS on port 25 (connect, EHLO, STARTTLS, the
# handshake, EHLO, QUIT), and the server CPU per session (= per
# handshake) from /proc.  Postfix gets smtpd_tls_security_level = may
# with an ECDSA P-256 certificate, the key type postern init makes.
#
# With BENCH_MODE=submit it measures signed submission: N sessions
# (bench/submit_load.py, one process each) do EHLO, STARTTLS, EHLO, AUTH
# PLAIN as bench@bench.test on the submission port, then send messages
# back to back (MAIL, RCPT sink@sink.test, DATA, pipelined) and wait for
# each 250.  Both servers relay them to one smtp-sink on 127.0.0.1 as in
# relay mode (postern through the DNS server, Postfix through its
# transport map) and sign them with one RSA 2048 key made for the run
# (selector "bench", domain bench.test): postern from
# CONFDIR/domains/bench.test/dkim/bench.pem, in place of the key init
# made; Postfix through Debian's OpenDKIM as a milter (a private
# instance in the foreground, its own config, relaxed/relaxed, Mode s,
# on a loopback port; milter_default_action = tempfail), with
# smtpd_tls_security_level = encrypt (ECDSA P-256) and Cyrus SASL from a
# private sasldb (cyrus_sasl_config_path in the work directory).
# Figures: accepted messages/s at the client (every message 250) and
# delivered messages/s (until the sink has them all), the latency of one
# message (MAIL to the 250 after the dot: median and p99), the server
# CPU per message (Postfix: its master's tree plus opendkim) and the
# client's own CPU per message.  The sink dumps what it receives (-d);
# bench/dkim_check.py verifies a few messages per cell with dkimpy
# against the run's public key and the report says "signed: V/N
# verified" per server, or UNSIGNED when a server's mail had no
# signature.
#
# With BENCH_MODE=inbound it measures postern's port-25 acceptance twice
# in one run: two posterns run side by side, one with inbound_checks =
# no, one with inbound_checks = yes (SPF, DKIM and DMARC before the reply
# to DATA), both asking tests/integration/dnsserver.py on loopback
# (dns_resolver, dnssec_trust_anchor none); each cell, and each repeat,
# runs on the one and then on the other, so a change in the machine's
# load falls on both.  That server publishes the sending domain
# client.test: SPF "v=spf1 ip4:127.0.0.1 -all", DMARC "v=DMARC1;
# p=reject" and the public half of an RSA 2048 key made for the run as
# bench._domainkey.client.test.  Before the load, bench/inbound_load.py
# signs BENCH_SIGNED distinct 2 KiB messages from sender@client.test
# with that key (dkimpy, relaxed/relaxed); its sessions then send them in
# turn (EHLO client.test, MAIL, RCPT, DATA, pipelined; no TLS, no AUTH)
# and wait for each 250.  Figures per cell: accepted messages/s (every
# message 250, all delivered to the Maildir), latency from MAIL to the
# 250 after the dot (median and p99; the 1-session cell is one message
# at a time), server CPU per message (the whole postern tree) and the
# verifier process's part of it, and the DNS server's CPU per message.
# A few delivered messages per cell are read back: with the checks on
# the report says "checked: V/N spf=pass dkim=pass dmarc=pass" (one
# Authentication-Results field each), with them off how many carried
# none.  BENCH_SERVERS="postern postfix" adds Postfix (accepting only,
# no checks at all) as a third column, labelled so.
#
# Environment:
#   POSTERN_BIN       the postern binary (required unless BENCH_SERVERS=postfix)
#   BENCH_MODE        "accept" (default), "relay", "starttls", "submit"
#                     or "inbound"
#   BENCH_SERVERS     "postern postfix" (default), or one of them
#                     ("postern" in inbound mode)
#   BENCH_SESSIONS    "1 10 50" ("1 10" in starttls mode: clients, and
#                     in submit and inbound modes)
#   BENCH_SIZES       "2048 102400" ("2048" in relay, submit and inbound
#                     modes)
#   BENCH_SIGNED      inbound mode: distinct signed messages (default 20)
#   BENCH_AR_CHECK    inbound mode: messages read back per cell (default 5)
#   BENCH_DKIM_CHECK  submit mode: messages verified per cell (default 5)
#   BENCH_MILTER      submit mode: "unix" (default), OpenDKIM on a unix
#                     socket in the work directory, or "inet", on a
#                     loopback TCP port
#   BENCH_TLS_SECONDS seconds per starttls cell (default 10)
#   BENCH_OUT_PER_DOMAIN  relay mode: postern's outbound_max_per_domain
#                     (default: postern's own default)
#   BENCH_SCALE       multiplier of the message counts (default 1)
#   BENCH_REPEAT      runs per cell, best kept (default 1)
#   BENCH_IDLE        idle connections for the memory test (default 1000)
#   BENCH_KEEP=1      keep the work directory (logs, Maildirs) afterwards
#   BENCH_DIR         work directory (default: mktemp -d /tmp/postern-bench.XXXXXX)
#
# Must run as root (Postfix's master needs it; postern drops to its user).

set -u
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
MODE=${BENCH_MODE:-accept}
if [ "$MODE" = inbound ]; then
	SERVERS=${BENCH_SERVERS:-postern}
else
	SERVERS=${BENCH_SERVERS:-postern postfix}
fi
if [ "$MODE" = starttls ] || [ "$MODE" = submit ] ||
    [ "$MODE" = inbound ]; then
	SESSIONS=${BENCH_SESSIONS:-1 10}
else
	SESSIONS=${BENCH_SESSIONS:-1 10 50}
fi
TLS_SECONDS=${BENCH_TLS_SECONDS:-10}
OUT_PER_DOMAIN=${BENCH_OUT_PER_DOMAIN:-}
if [ "$MODE" = relay ] || [ "$MODE" = submit ] ||
    [ "$MODE" = inbound ]; then
	SIZES=${BENCH_SIZES:-2048}
else
	SIZES=${BENCH_SIZES:-2048 102400}
fi
SCALE=${BENCH_SCALE:-1}
REPEAT=${BENCH_REPEAT:-1}
IDLE=${BENCH_IDLE:-1000}
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-300}
DOMAIN=bench.test
RCPT=bench@$DOMAIN
FROM=sender@client.test
SMTP_SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
SMTP_SINK=${SMTP_SINK:-/usr/sbin/smtp-sink}
SINK_DOMAIN=sink.test
SINK_RCPT=sink@$SINK_DOMAIN
DNSSERVER=$HERE/../tests/integration/dnsserver.py
TLS_RATE=$HERE/tls_rate.py
SUBMIT_LOAD=$HERE/submit_load.py
DKIM_CHECK=$HERE/dkim_check.py
DKIM_PER_CELL=${BENCH_DKIM_CHECK:-5}
MILTER=${BENCH_MILTER:-unix}
SUB_USER=bench@$DOMAIN
SUB_PASSWORD=bench-password
SELECTOR=bench
INBOUND_LOAD=$HERE/inbound_load.py
SIGNED=${BENCH_SIGNED:-20}
AR_PER_CELL=${BENCH_AR_CHECK:-5}
SEND_DOMAIN=${FROM#*@}
CHECKS=no
P_DIR=

die() { echo "run.sh: $*" >&2; exit 1; }
note() { echo "# $*" >&2; }

[ "$(id -u)" = 0 ] || die "run as root (a private Postfix master needs it)"
[ -x "$SMTP_SOURCE" ] || die "smtp-source missing: apt-get install postfix"
case $MODE in
accept) ;;
relay)
	[ -x "$SMTP_SINK" ] || die "smtp-sink missing: apt-get install postfix"
	[ -r "$DNSSERVER" ] || die "$DNSSERVER missing"
	/usr/bin/python3 -c 'import dns.message' 2>/dev/null ||
	    die "dnspython missing: apt-get install python3-dnspython"
	;;
starttls)
	[ -r "$TLS_RATE" ] || die "$TLS_RATE missing"
	SIZES=tls
	;;
submit)
	[ -x "$SMTP_SINK" ] || die "smtp-sink missing: apt-get install postfix"
	[ -r "$DNSSERVER" ] || die "$DNSSERVER missing"
	[ -r "$SUBMIT_LOAD" ] || die "$SUBMIT_LOAD missing"
	[ -r "$DKIM_CHECK" ] || die "$DKIM_CHECK missing"
	/usr/bin/python3 -c 'import dns.message' 2>/dev/null ||
	    die "dnspython missing: apt-get install python3-dnspython"
	/usr/bin/python3 -c 'import dkim' 2>/dev/null ||
	    die "dkimpy missing: apt-get install python3-dkim"
	case " $SERVERS " in
	*" postfix "*)
		[ -x /usr/sbin/opendkim ] ||
		    die "opendkim missing: apt-get install opendkim"
		[ -x /usr/sbin/saslpasswd2 ] ||
		    die "saslpasswd2 missing: apt-get install sasl2-bin"
		ls /usr/lib/*/sasl2/libplain.so* >/dev/null 2>&1 ||
		    die "SASL PLAIN missing: apt-get install libsasl2-modules"
		ls /usr/lib/*/sasl2/libsasldb.so* >/dev/null 2>&1 ||
		    die "sasldb missing: apt-get install libsasl2-modules-db"
		;;
	esac
	;;
inbound)
	[ -r "$DNSSERVER" ] || die "$DNSSERVER missing"
	[ -r "$INBOUND_LOAD" ] || die "$INBOUND_LOAD missing"
	/usr/bin/python3 -c 'import dns.message' 2>/dev/null ||
	    die "dnspython missing: apt-get install python3-dnspython"
	/usr/bin/python3 -c 'import dkim' 2>/dev/null ||
	    die "dkimpy missing: apt-get install python3-dkim"
	case " $SERVERS " in
	*" postern "*) ;;
	*) die "inbound mode measures postern: BENCH_SERVERS needs it" ;;
	esac
	;;
*)	die "BENCH_MODE must be accept, relay, starttls, submit or inbound" ;;
esac
case " $SERVERS " in
*" postern "*)
	[ -n "${POSTERN_BIN:-}" ] || die "set POSTERN_BIN to the postern binary"
	[ -x "$POSTERN_BIN" ] || die "POSTERN_BIN=$POSTERN_BIN is not executable"
	POSTERN_BIN=$(readlink -f "$POSTERN_BIN")
	;;
esac
case " $SERVERS " in
*" postfix "*)
	if ! command -v postfix >/dev/null ||
	    ! [ -x /usr/lib/postfix/sbin/master ]; then
		die "postfix missing: apt-get install postfix"
	fi
	;;
esac

if [ -n "${BENCH_DIR:-}" ]; then
	W=$BENCH_DIR
	mkdir -p "$W" || die "cannot create $W"
else
	W=$(mktemp -d /tmp/postern-bench.XXXXXX) || die "mktemp failed"
fi
chmod 0755 "$W"

# Room for 1,000+ connections in the servers and the client.
ulimit -n 8192 2>/dev/null || ulimit -n 4096 2>/dev/null || true

POSTERN_PID=
OFF_PID=
SINK_PID=
DNS_PID=
DKIM_PID=
PF_CONF=$W/postfix/etc
PF_QUEUE=$W/postfix/spool

# stop_pid PID - TERM, at most 5 s, then KILL; only that process
stop_pid() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	local p
	# inbound mode runs two posterns: OFF_PID is the one without checks
	for p in $POSTERN_PID $OFF_PID; do
		kill -0 "$p" 2>/dev/null || continue
		kill -TERM "$p" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	if [ -f "$PF_CONF/main.cf" ] && [ -f "$PF_QUEUE/pid/master.pid" ]; then
		postfix -c "$PF_CONF" stop >/dev/null 2>&1
		pfpid=$(awk '{print $1; exit}' "$PF_QUEUE/pid/master.pid" 2>/dev/null)
		if [ -n "$pfpid" ] && kill -0 "$pfpid" 2>/dev/null; then
			# only our master: its pid file lives in our queue dir
			kill -KILL -- "-$pfpid" 2>/dev/null
		fi
	fi
	stop_pid "$DKIM_PID"
	stop_pid "$SINK_PID"
	stop_pid "$DNS_PID"
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		note "kept $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_base N - a port P such that P..P+N-1 are free on 127.0.0.1 and ::1
free_base() {
	/usr/bin/python3 - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 40000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            for fam, host in ((socket.AF_INET, "127.0.0.1"),
                              (socket.AF_INET6, "::1")):
                s = socket.socket(fam, socket.SOCK_STREAM)
                socks.append(s)
                s.bind((host, p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit(1)
EOF
}

# wait_port PORT - until 127.0.0.1:PORT accepts, at most 10 s
wait_port() {
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# tree_pids ROOT - ROOT and all its descendants
tree_pids() {
	/usr/bin/python3 - "$1" <<'EOF'
import os, sys
kids = {}
for n in os.listdir("/proc"):
    if n.isdigit():
        try:
            st = open("/proc/%s/stat" % n).read()
        except OSError:
            continue
        ppid = int(st[st.rfind(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(n))
todo, out = [int(sys.argv[1])], []
while todo:
    p = todo.pop(); out.append(p); todo.extend(kids.get(p, []))
print(" ".join(map(str, out)))
EOF
}

# tree_cpu ROOT - CPU seconds (user + system) used so far by ROOT and its
# descendants, including the children they have reaped
tree_cpu() {
	# shellcheck disable=SC2046
	/usr/bin/python3 - $(tree_pids "$1") <<'EOF'
import os, sys
total = 0
for p in sys.argv[1:]:
    try:
        st = open("/proc/%s/stat" % p).read()
    except OSError:
        continue
    total += sum(int(x) for x in st[st.rfind(")") + 2:].split()[11:15])
print("%.3f" % (total / os.sysconf("SC_CLK_TCK")))
EOF
}

# check_listeners NAME ROOTPID PORTS... - every TCP listener of the tree is
# on loopback and one of PORTS; never port 25, never a public address
check_listeners() {
	local name=$1 root=$2 bad=0 pids addr port
	shift 2
	pids=" $(tree_pids "$root") "
	while read -r addr proc; do
		local found=0 pid
		for pid in $(echo "$proc" | grep -o 'pid=[0-9]*' | cut -d= -f2); do
			case "$pids" in *" $pid "*) found=1 ;; esac
		done
		[ $found = 1 ] || continue
		port=${addr##*:}
		case "$addr" in
		127.0.0.1:*|\[::1\]:*) ;;
		*) echo "$name listens on $addr: not loopback" >&2; bad=1 ;;
		esac
		case " $* " in
		*" $port "*) ;;
		*) echo "$name listens on unexpected port $addr" >&2; bad=1 ;;
		esac
	done < <(ss -Hltnp 2>/dev/null | awk '{print $4, $6}')
	[ $bad = 0 ] || die "$name: refusing to benchmark a server bound beyond loopback"
}

# set_conf FILE KEY VALUE - replace or append "KEY = VALUE"
set_conf() {
	local f=$1 k=$2 v=$3
	sed -i "/^[[:space:]]*${k}[[:space:]]*=/d" "$f"
	printf '%s = %s\n' "$k" "$v" >>"$f"
}

# --- relay mode: the sink and the DNS server -------------------------------

SINK_PORT=
SINK_LOG=
SINK_DUMP=
# start_sink - one smtp-sink on 127.0.0.1, counting messages (-c); in
# submit mode it also dumps each message into a file under $SINK_DUMP
start_sink() {
	local dump=()
	SINK_PORT=$(free_base 1) || die "no free port for smtp-sink"
	SINK_LOG=$W/sink/counters
	mkdir -p "$W/sink"
	if [ "$MODE" = submit ]; then
		SINK_DUMP=$W/sink/dump
		mkdir -p "$SINK_DUMP"
		chown nobody: "$SINK_DUMP"
		dump=(-d "$SINK_DUMP/%H%M%S.")
	fi
	"$SMTP_SINK" -c -4 -m 1000 -u nobody -h "mx.$SINK_DOMAIN" \
	    "${dump[@]}" "127.0.0.1:$SINK_PORT" 1000 >"$SINK_LOG" \
	    2>"$W/sink/stderr" </dev/null &
	SINK_PID=$!
	wait_port "$SINK_PORT" || { cat "$W/sink/stderr" >&2;
	    die "smtp-sink did not start"; }
	check_listeners smtp-sink "$SINK_PID" "$SINK_PORT"
	note "smtp-sink pid $SINK_PID on 127.0.0.1:$SINK_PORT"
}

# sink_count - messages the sink has received so far ("." seen); -c
# rewrites one "sess=N quit=N mesg=N" line, ending in CR, per event
sink_count() {
	local n
	n=$(tail -c 200 "$SINK_LOG" 2>/dev/null | tr '\r' '\n' |
	    sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1)
	echo "${n:-0}"
}

DNS_PORT=
# start_dns - the test DNS server on 127.0.0.1: MX and A of the sink
start_dns() {
	local zone=$W/dns/zone out=$W/dns/out
	mkdir -p "$W/dns"
	if [ "$MODE" = inbound ]; then
		# the sending domain: SPF for 127.0.0.1, DMARC p=reject and
		# the run's DKIM key
		{
			echo "$SEND_DOMAIN TXT v=spf1 ip4:127.0.0.1 -all"
			echo "_dmarc.$SEND_DOMAIN TXT v=DMARC1; p=reject"
			echo "$SELECTOR._domainkey.$SEND_DOMAIN TXT v=DKIM1;" \
			    "k=rsa; p=$(openssl pkey -pubin -in "$DKIM_PUB" \
			    -outform DER 2>/dev/null | base64 -w0)"
		} >"$zone"
	else
		printf '%s MX 10 mx.%s\nmx.%s A 127.0.0.1\n' "$SINK_DOMAIN" \
		    "$SINK_DOMAIN" "$SINK_DOMAIN" >"$zone"
	fi
	/usr/bin/python3 "$DNSSERVER" --no-ipv6 "$zone" >"$out" \
	    2>"$W/dns/stderr" </dev/null &
	DNS_PID=$!
	for _ in $(seq 100); do
		DNS_PORT=$(sed -n 's/^listening on .* port \([0-9]*\)$/\1/p' \
		    "$out")
		[ -n "$DNS_PORT" ] && break
		kill -0 "$DNS_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$DNS_PORT" ] || { cat "$W/dns/stderr" >&2;
	    die "DNS server did not start"; }
	check_listeners dnsserver "$DNS_PID" "$DNS_PORT"
	note "DNS server pid $DNS_PID on 127.0.0.1:$DNS_PORT (udp, tcp)"
}

# --- submit mode: the DKIM key and OpenDKIM ----------------------------------

DKIM_KEY=
DKIM_PUB=
# make_key - the run's RSA 2048 signing key (PKCS#8 PEM) and its public half
make_key() {
	mkdir -p "$W/dkim"
	DKIM_KEY=$W/dkim/$SELECTOR.pem
	DKIM_PUB=$W/dkim/$SELECTOR.pub
	(umask 077 && openssl genpkey -algorithm RSA \
	    -pkeyopt rsa_keygen_bits:2048 -out "$DKIM_KEY") 2>/dev/null ||
	    die "openssl genpkey failed"
	openssl pkey -in "$DKIM_KEY" -pubout -out "$DKIM_PUB" 2>/dev/null ||
	    die "openssl pkey failed"
	note "DKIM key $DKIM_KEY (RSA 2048, selector $SELECTOR)"
}

DKIM_PORT=
DKIM_MILTER=
# start_opendkim - a private OpenDKIM in the foreground: its own config,
# the run's key, signing mail from bench.test on a loopback port.  Its
# key file is 0600 and its own, but the work directory lies under /tmp,
# which others may write: RequireSafeKeys would refuse it.
start_opendkim() {
	local d=$W/opendkim sock
	mkdir -p "$d"
	chown opendkim: "$d"
	if [ "$MILTER" = inet ]; then
		DKIM_PORT=$(free_base 1) || die "no free port for opendkim"
		sock=inet:$DKIM_PORT@127.0.0.1
		DKIM_MILTER=inet:127.0.0.1:$DKIM_PORT
	else
		# a socket only the work directory holds; 0666 so Postfix's
		# smtpd reaches it without joining the opendkim group
		sock=local:$d/opendkim.sock
		DKIM_MILTER=unix:$d/opendkim.sock
	fi
	install -m 0600 -o opendkim -g opendkim "$DKIM_KEY" "$d/$SELECTOR.pem"
	cat >"$d/opendkim.conf" <<EOF
Syslog			no
Mode			s
Canonicalization	relaxed/relaxed
SignatureAlgorithm	rsa-sha256
Domain			$DOMAIN
Selector		$SELECTOR
KeyFile			$d/$SELECTOR.pem
Socket			$sock
PidFile			$d/opendkim.pid
UserID			opendkim:opendkim
UMask			000
RequireSafeKeys		no
EOF
	/usr/sbin/opendkim -f -x "$d/opendkim.conf" >"$d/log" 2>&1 \
	    </dev/null &
	DKIM_PID=$!
	for _ in $(seq 100); do
		if [ "$MILTER" = inet ]; then
			wait_port "$DKIM_PORT" && break
		else
			[ -S "$d/opendkim.sock" ] && break
		fi
		kill -0 "$DKIM_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$DKIM_PID" 2>/dev/null || { cat "$d/log" >&2;
	    die "opendkim did not start"; }
	check_listeners opendkim "$DKIM_PID" $DKIM_PORT
	note "opendkim pid $DKIM_PID on $DKIM_MILTER, log $d/log"
}

# --- postern ---------------------------------------------------------------

POSTERN_PORT=
POSTERN_MAILDIR=
start_postern() {
	local pd=${P_DIR:-$W/postern}
	local conf=$pd/conf data=$pd/data base
	base=$(free_base 3) || die "no free ports for postern"
	mkdir -p "$pd"
	"$POSTERN_BIN" -C "$conf" init "$DOMAIN" --listen-base "$base" \
	    --data-dir "$data" >"$pd/init.log" 2>&1 ||
	    { cat "$pd/init.log" >&2; die "postern init failed"; }
	chmod 0755 "$conf"
	set_conf "$conf/postern.conf" smtp_listen "127.0.0.1:$base"
	set_conf "$conf/postern.conf" submission_listen "127.0.0.1:$((base + 1))"
	set_conf "$conf/postern.conf" submissions_listen "127.0.0.1:$((base + 2))"
	set_conf "$conf/postern.conf" max_sessions $((IDLE + 100))
	set_conf "$conf/postern.conf" max_sessions_per_ip $((IDLE + 100))
	if ! getent passwd postern >/dev/null; then
		useradd --system --no-create-home --shell /usr/sbin/nologin \
		    postern || die "useradd postern failed"
	fi
	set_conf "$conf/postern.conf" user postern
	# Postfix here checks no SPF, DKIM or DMARC: the same work (in
	# inbound mode, once off and once on)
	set_conf "$conf/postern.conf" inbound_checks "$CHECKS"
	if [ "$MODE" = inbound ]; then
		# the checks ask only our DNS server, which is unsigned
		set_conf "$conf/postern.conf" dns_resolver "127.0.0.1:$DNS_PORT"
		set_conf "$conf/postern.conf" dnssec_trust_anchor none
	fi
	if [ "$MODE" = relay ] || [ "$MODE" = submit ]; then
		# mail goes to a remote domain; the test knobs send the
		# lookups to our DNS server and the connections to the
		# sink's port; that server is unsigned, so validation
		# against the root key would only add lookups
		set_conf "$conf/postern.conf" dns_resolver "127.0.0.1:$DNS_PORT"
		set_conf "$conf/postern.conf" outbound_smtp_port "$SINK_PORT"
		set_conf "$conf/postern.conf" dnssec_trust_anchor none
		[ -n "$OUT_PER_DOMAIN" ] && set_conf "$conf/postern.conf" \
		    outbound_max_per_domain "$OUT_PER_DOMAIN"
	fi
	if [ "$MODE" = relay ]; then
		# bench@bench.test forwards to the remote domain
		printf '%s: %s\n' "${RCPT%@*}" "$SINK_RCPT" \
		    >"$conf/domains/$DOMAIN/aliases"
		chmod 0644 "$conf/domains/$DOMAIN/aliases"
	elif [ "$MODE" = submit ]; then
		# the user that submits, and the run's key as the domain's
		# only DKIM key, laid out as dkim-keygen does (0640, the
		# service user's group), in place of the one init made
		echo "$SUB_PASSWORD" | "$POSTERN_BIN" -C "$conf" user-add \
		    "$SUB_USER" --password-stdin >>"$pd/init.log" 2>&1 ||
		    die "postern user-add failed"
		find "$conf/domains/$DOMAIN/dkim" -maxdepth 1 -type f \
		    -name '*.pem' -delete
		install -m 0640 -o root -g postern "$DKIM_KEY" \
		    "$conf/domains/$DOMAIN/dkim/$SELECTOR.pem" ||
		    die "cannot install the DKIM key"
	else
		echo "bench-password" | "$POSTERN_BIN" -C "$conf" user-add \
		    "$RCPT" --password-stdin >>"$pd/init.log" 2>&1 ||
		    die "postern user-add failed"
	fi
	mkdir -p "$data"
	chown -R postern: "$data"
	setsid "$POSTERN_BIN" -C "$conf" serve 2>"$pd/serve.log" \
	    </dev/null >/dev/null &
	POSTERN_PID=$!
	wait_port "$base" || { tail -20 "$pd/serve.log" >&2;
	    die "postern did not start"; }
	check_listeners postern "$POSTERN_PID" "$base" $((base + 1)) \
	    $((base + 2))
	POSTERN_PORT=$base
	[ "$MODE" = submit ] && POSTERN_PORT=$((base + 1))
	POSTERN_MAILDIR=$data/mail/$DOMAIN/bench/new
	note "postern pid $POSTERN_PID on 127.0.0.1:$POSTERN_PORT," \
	    "inbound_checks $CHECKS, log $pd/serve.log"
}

# --- Postfix ---------------------------------------------------------------

POSTFIX_PORT=
POSTFIX_MAILDIR=
POSTFIX_PID=
start_postfix() {
	local port base=$W/postfix
	port=$(free_base 1) || die "no free port for postfix"
	mkdir -p "$PF_CONF" "$PF_QUEUE" "$base/data" "$base/mail"
	chown root:root "$PF_QUEUE"
	chmod 0755 "$PF_QUEUE" "$base"
	chown postfix: "$base/data"
	chown nobody:nogroup "$base/mail"
	echo "$RCPT $DOMAIN/bench/" >"$PF_CONF/vmailbox"
	relay_restrictions="permit_mynetworks reject_unauth_destination"
	[ "$MODE" = submit ] &&
	    relay_restrictions="permit_sasl_authenticated reject"

	# Every path under $W; only loopback; defaults otherwise, except
	# what would slow Postfix's acceptance for reasons that are not
	# durability (client name lookup, inflow throttle, per-client
	# connection limits), so the comparison favours Postfix.
	cat >"$PF_CONF/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $PF_CONF
queue_directory = $PF_QUEUE
data_directory = $base/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-bench
maillog_file_prefixes = $W
maillog_file = $base/maillog
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench-postfix.test
mydomain = bench-postfix.test
myorigin = \$myhostname
mydestination =
relay_domains =
relayhost =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no
append_dot_mydomain = no
smtpd_peername_lookup = no
in_flow_delay = 0
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
default_process_limit = $((IDLE + 100))
smtpd_relay_restrictions = $relay_restrictions
EOF
	if [ "$MODE" = starttls ] || [ "$MODE" = submit ]; then
		# the key type postern init makes: ECDSA P-256
		openssl req -x509 -newkey ec -pkeyopt \
		    ec_paramgen_curve:prime256v1 -nodes -days 2 \
		    -subj "/CN=bench-postfix.test" \
		    -keyout "$PF_CONF/tls-key.pem" \
		    -out "$PF_CONF/tls-cert.pem" >/dev/null 2>&1 ||
		    die "openssl req failed"
		echo "smtpd_tls_chain_files = $PF_CONF/tls-key.pem," \
		    "$PF_CONF/tls-cert.pem" >>"$PF_CONF/main.cf"
	fi
	if [ "$MODE" = submit ]; then
		# submission: TLS required, then AUTH PLAIN against a
		# private sasldb (Debian's Postfix reads smtpd.conf from
		# config_directory/sasl/; cyrus_sasl_config_path says the
		# same); OpenDKIM signs through the milter, and mail waits
		# (4xx) rather than leave unsigned
		mkdir -p "$PF_CONF/sasl"
		cat >"$PF_CONF/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $PF_CONF/sasl/sasldb2
EOF
		echo "$SUB_PASSWORD" | saslpasswd2 -f "$PF_CONF/sasl/sasldb2" -c \
		    -p -u "$DOMAIN" "${SUB_USER%@*}" ||
		    die "saslpasswd2 failed"
		chown root:postfix "$PF_CONF/sasl/sasldb2"
		chmod 0640 "$PF_CONF/sasl/sasldb2"
		cat >>"$PF_CONF/main.cf" <<EOF
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $PF_CONF/sasl
smtpd_sasl_security_options = noanonymous
smtpd_milters = $DKIM_MILTER
milter_default_action = tempfail
EOF
	elif [ "$MODE" = starttls ]; then
		echo "smtpd_tls_security_level = may" >>"$PF_CONF/main.cf"
	fi
	if [ "$MODE" = relay ] || [ "$MODE" = submit ]; then
		# mail for sink.test goes by smtp(8) straight to the sink:
		# no DNS, no TLS (the sink offers none), Postfix's default
		# concurrency; in relay mode bench@bench.test is a virtual
		# alias of sink@sink.test
		echo "$SINK_DOMAIN smtp:[127.0.0.1]:$SINK_PORT" \
		    >"$PF_CONF/transport"
		cat >>"$PF_CONF/main.cf" <<EOF
transport_maps = hash:$PF_CONF/transport
smtp_tls_security_level = none
EOF
		postmap -c "$PF_CONF" "hash:$PF_CONF/transport" ||
		    die "postmap failed"
	fi
	if [ "$MODE" = relay ]; then
		echo "$RCPT $SINK_RCPT" >"$PF_CONF/valias"
		cat >>"$PF_CONF/main.cf" <<EOF
virtual_alias_domains = $DOMAIN
virtual_alias_maps = hash:$PF_CONF/valias
EOF
		postmap -c "$PF_CONF" "hash:$PF_CONF/valias" ||
		    die "postmap failed"
	elif [ "$MODE" != submit ]; then
		cat >>"$PF_CONF/main.cf" <<EOF
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps = hash:$PF_CONF/vmailbox
virtual_mailbox_base = $base/mail
virtual_minimum_uid = 100
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
EOF
		postmap -c "$PF_CONF" "hash:$PF_CONF/vmailbox" ||
		    die "postmap failed"
	fi
	# Only one inet service: our loopback port.  No chroot (the queue
	# dir has no copy of /etc); no local/pickup-fed mail is needed.
	cat >"$PF_CONF/master.cf" <<EOF
127.0.0.1:$port inet n - n - $((IDLE + 100)) smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
smtp      unix  -       -       n       -       -       smtp
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	[ "$MODE" = starttls ] || [ "$MODE" = submit ] &&
	    echo "tlsmgr    unix  -       -       n       1000?   1       tlsmgr" \
	    >>"$PF_CONF/master.cf"
	# refuse to go on if any inet service is not our loopback port
	if postconf -c "$PF_CONF" -M 2>/dev/null | awk '$2 == "inet"' |
	    grep -v "^127\.0\.0\.1:${port}[[:space:]]" | grep -q .; then
		die "postfix master.cf has an inet service beyond loopback"
	fi
	postfix -c "$PF_CONF" start >"$base/start.log" 2>&1 ||
	    { cat "$base/start.log" >&2; die "postfix start failed"; }
	wait_port "$port" || die "postfix did not start"
	POSTFIX_PID=$(awk '{print $1; exit}' "$PF_QUEUE/pid/master.pid")
	check_listeners postfix "$POSTFIX_PID" "$port"
	POSTFIX_PORT=$port
	POSTFIX_MAILDIR=$base/mail/$DOMAIN/bench/new
	note "postfix master pid $POSTFIX_PID on 127.0.0.1:$port, log $base/maillog"
}

# --- measurements ------------------------------------------------------------

count_files() {
	[ -d "$1" ] || { echo 0; return; }
	find "$1" -maxdepth 1 -type f | wc -l
}

# wait_delivered DIR N - until DIR holds N files, at most 300 s; prints count
wait_delivered() {
	local n=0
	for _ in $(seq 3000); do
		n=$(count_files "$1")
		[ "$n" -ge "$2" ] && break
		sleep 0.1
	done
	echo "$n"
}

# messages SESSIONS SIZE - how many messages one run sends
messages() {
	local s=$1 size=$2 n
	if [ "$MODE" = inbound ]; then
		# a few seconds per cell with the checks on
		case $s in 1) n=1000 ;; *) n=$((s * 300)) ;; esac
	elif [ "$size" -le 16384 ]; then
		case $s in 1) n=300 ;; 10) n=2000 ;; *) n=$((s * 80)) ;; esac
	else
		case $s in 1) n=150 ;; 10) n=800 ;; *) n=$((s * 30)) ;; esac
	fi
	[ "$n" -lt "$s" ] && n=$s
	echo $((n * SCALE))
}

# throughput NAME PORT MAILDIR SESSIONS SIZE - prints msg/s ("-" on failure)
throughput() {
	local name=$1 port=$2 dir=$3 s=$4 size=$5 m t0 t1 rc got rate c0 cpu
	m=$(messages "$s" "$size")
	[ -d "$dir" ] && find "$dir" -maxdepth 1 -type f -delete
	c0=$(tree_cpu "$(srv_pid "$name")")
	t0=$(date +%s.%N)
	timeout "$RUN_TIMEOUT" "$SMTP_SOURCE" -s "$s" -m "$m" -l "$size" \
	    -M client.test -f "$FROM" -t "$RCPT" "127.0.0.1:$port" \
	    >"$W/$name.source.log" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	got=$(wait_delivered "$dir" "$m")
	cpu=$(per_msg "$c0" "$(tree_cpu "$(srv_pid "$name")")" "$m")
	rate=$(awk -v m="$m" -v a="$t0" -v b="$t1" \
	    'BEGIN { printf "%.0f", m / (b - a) }')
	note "$name s=$s size=$size: $m messages in" \
	    "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s," \
	    "rc=$rc, delivered $got, server CPU $cpu ms/msg"
	if [ $rc != 0 ] || [ "$got" -lt "$m" ]; then
		tail -3 "$W/$name.source.log" >&2
		echo "- -"
	else
		echo "$rate $cpu"
	fi
	[ -d "$dir" ] && find "$dir" -maxdepth 1 -type f -delete
}

# sink_wait TARGET TIMEOUT - poll the sink's counter every 5 ms until it
# reaches TARGET or TIMEOUT seconds pass; prints "COUNT EPOCH", EPOCH the
# wall-clock time the counter was first seen at TARGET (or the give-up time)
sink_wait() {
	/usr/bin/python3 - "$SINK_LOG" "$1" "$2" <<'EOF'
import os, re, sys, time
path, target, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.time() + limit
pat = re.compile(rb"mesg=(\d+)")
n = 0
while True:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 200))
        m = pat.findall(f.read())
    now = time.time()
    if m:
        n = int(m[-1])
    if n >= target or now >= end:
        break
    time.sleep(0.005)
print(n, "%.6f" % now)
EOF
}

# sink_settle - until the sink's counter has not moved for 1 s (at most
# 30 s), so a late delivery of one run is not counted in the next
sink_settle() {
	local a b
	a=$(sink_count)
	for _ in $(seq 30); do
		sleep 1
		b=$(sink_count)
		[ "$a" = "$b" ] && return 0
		a=$b
	done
	note "smtp-sink counter still moving"
}

# relay_throughput NAME PORT SESSIONS SIZE - end-to-end delivered msg/s
# into the sink ("-" on failure)
relay_throughput() {
	local name=$1 port=$2 s=$3 size=$4 m base t0 t1 t2 rc got wpid c0 cpu
	m=$(messages "$s" "$size")
	sink_settle
	base=$(sink_count)
	sink_wait $((base + m)) $((RUN_TIMEOUT + 300)) >"$W/sink/wait" &
	wpid=$!
	sleep 0.2	# the poller is up
	c0=$(tree_cpu "$(srv_pid "$name")")
	t0=$(date +%s.%N)
	timeout "$RUN_TIMEOUT" "$SMTP_SOURCE" -s "$s" -m "$m" -l "$size" \
	    -M client.test -f "$FROM" -t "$RCPT" "127.0.0.1:$port" \
	    >"$W/$name.source.log" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	wait "$wpid"
	read -r got t2 <"$W/sink/wait"
	got=$((${got:-0} - base))
	cpu=$(per_msg "$c0" "$(tree_cpu "$(srv_pid "$name")")" "$m")
	note "$name s=$s size=$size: $m messages accepted in" \
	    "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s," \
	    "rc=$rc, $got at the sink after" \
	    "$(awk -v a="$t0" -v b="$t2" 'BEGIN{printf "%.2f", b-a}') s," \
	    "server CPU $cpu ms/msg"
	if [ $rc != 0 ] || [ "$got" -lt "$m" ]; then
		tail -3 "$W/$name.source.log" >&2
		echo "- -"
	else
		awk -v m="$m" -v a="$t0" -v b="$t2" -v c="$cpu" \
		    'BEGIN { printf "%.0f %s\n", m / (b - a), c }'
	fi
}

# tls_throughput NAME PORT CLIENTS - STARTTLS sessions/s and server CPU ms
# per session ("-" on failure)
tls_throughput() {
	local name=$1 port=$2 s=$3 c0 out n rate cpu
	c0=$(tree_cpu "$(srv_pid "$name")")
	out=$(timeout $((${TLS_SECONDS%.*} + 60)) /usr/bin/python3 "$TLS_RATE" \
	    --port "$port" --clients "$s" --seconds "$TLS_SECONDS" 2>&1)
	n=$(echo "$out" | sed -n 's/^sessions=\([0-9]*\) .*/\1/p')
	rate=$(echo "$out" | sed -n 's/.* rate=\([0-9.]*\)$/\1/p')
	if [ -z "$n" ] || [ "$n" = 0 ]; then
		note "$name clients=$s: $out"
		echo "- -"
		return
	fi
	cpu=$(per_msg "$c0" "$(tree_cpu "$(srv_pid "$name")")" "$n")
	note "$name clients=$s: $out, server CPU $cpu ms/session"
	printf '%.0f %s\n' "$rate" "$cpu"
}

# best "RATE CPU"... - the run with the highest rate, as "RATE CPU"
best() {
	local best="- -" r
	for r in "$@"; do
		[ "${r%% *}" = - ] && continue
		if [ "${best%% *}" = - ] || [ "${r%% *}" -gt "${best%% *}" ]; then
			best=$r
		fi
	done
	echo "$best"
}

# srv_pid NAME - the root process of a server
srv_pid() {
	case $1 in
	postern|on) echo "$POSTERN_PID" ;;
	off) echo "$OFF_PID" ;;
	*) echo "$POSTFIX_PID" ;;
	esac
}

# srv_cpu NAME - CPU seconds of the server's process tree; Postfix's
# includes its OpenDKIM milter in submit mode
srv_cpu() {
	local a b
	a=$(tree_cpu "$(srv_pid "$1")")
	if [ "$1" = postfix ] && [ -n "$DKIM_PID" ]; then
		b=$(tree_cpu "$DKIM_PID")
		awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a + b }'
	else
		echo "$a"
	fi
}

# field NAME LINE - the value of NAME= in a key=value line
field() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1
}

# submit_throughput NAME PORT SESSIONS SIZE - signed submission: prints
# "ACCEPTED/s DELIVERED/s CPU P50 P99 CLIENT_CPU CHECKED SIGNED VERIFIED
# MILTER_CPU" (the rates "-" on failure; CPU in ms per message, latency
# in ms; MILTER_CPU the part of CPU that opendkim used, "-" for postern)
submit_throughput() {
	local name=$1 port=$2 s=$3 size=$4 m base wpid c0 cpu out rc got t2
	local acc t0 t1 acc_rate del_rate ccpu dk d0 dcpu=-
	m=$(messages "$s" "$size")
	sink_settle
	base=$(sink_count)
	find "$SINK_DUMP" -type f -delete
	sink_wait $((base + m)) $((RUN_TIMEOUT + 60)) >"$W/sink/wait" \
	    2>/dev/null &
	wpid=$!
	sleep 0.2	# the poller is up
	c0=$(srv_cpu "$name")
	[ "$name" = postfix ] && d0=$(tree_cpu "$DKIM_PID")
	out=$(timeout "$RUN_TIMEOUT" /usr/bin/python3 "$SUBMIT_LOAD" \
	    --port "$port" --sessions "$s" --messages "$m" --size "$size" \
	    --user "$SUB_USER" --password "$SUB_PASSWORD" \
	    --sender "$SUB_USER" --rcpt "$SINK_RCPT" --tag "$name" \
	    2>"$W/$name.load.err")
	rc=$?
	acc=$(field accepted "$out")
	if [ $rc != 0 ] || [ "${acc:-0}" -lt "$m" ]; then
		# not all accepted: the sink will not see them all either
		pkill -TERM -P "$wpid" 2>/dev/null
	fi
	wait "$wpid"
	read -r got t2 <"$W/sink/wait"
	got=$((${got:-0} - base))
	cpu=$(per_msg "$c0" "$(srv_cpu "$name")" "$m")
	[ "$name" = postfix ] &&
	    dcpu=$(per_msg "$d0" "$(tree_cpu "$DKIM_PID")" "$m")
	t0=$(field start "$out")
	t1=$(field end "$out")
	: "${t0:=0}" "${t1:=$t0}" "${t2:=$t1}"
	ccpu=$(awk -v c="$(field client_cpu_s "$out")" -v m="$m" \
	    'BEGIN { printf "%.3f", c * 1000 / m }')
	dk=$(/usr/bin/python3 "$DKIM_CHECK" --dir "$SINK_DUMP" --tag "$name" \
	    --pubkey "$DKIM_PUB" --selector "$SELECTOR" --domain "$DOMAIN" \
	    --max "$DKIM_PER_CELL" 2>&1)
	note "$name s=$s size=$size: $out"
	note "$name s=$s size=$size: rc=$rc, $got at the sink after" \
	    "$(awk -v a="${t0:-0}" -v b="$t2" 'BEGIN{printf "%.2f", b-a}') s," \
	    "server CPU $cpu ms/msg, client CPU $ccpu ms/msg; dkim: $dk"
	if [ $rc != 0 ] || [ "${acc:-0}" -lt "$m" ] || [ "$got" -lt "$m" ]; then
		tail -3 "$W/$name.load.err" >&2
		acc_rate=- del_rate=-
	else
		acc_rate=$(awk -v m="$m" -v a="$t0" -v b="$t1" \
		    'BEGIN { printf "%.0f", m / (b - a) }')
		del_rate=$(awk -v m="$m" -v a="$t0" -v b="$t2" \
		    'BEGIN { printf "%.0f", m / (b - a) }')
	fi
	echo "$acc_rate $del_rate $cpu $(field p50_ms "$out") \
$(field p99_ms "$out") $ccpu $(field checked "$dk") $(field signed "$dk") \
$(field verified "$dk") $dcpu"
}

# inbound_throughput NAME PORT MAILDIR SESSIONS SIZE - the signed messages
# to port 25; prints "RATE CPU P50 P99 DNS_CPU CHECKED NONE ONE PASS
# VERIFIER_CPU" (RATE "-" on failure; CPU in ms per message, latency in
# ms; CHECKED messages read back, NONE of them without
# Authentication-Results, ONE with exactly one, PASS with one saying
# spf=pass dkim=pass dmarc=pass; VERIFIER_CPU the part of CPU that
# postern's verifier process used, "-" without one)
inbound_throughput() {
	local name=$1 port=$2 dir=$3 s=$4 size=$5 m c0 d0 out rc acc got
	local cpu dcpu rate ar vpid="" v0 vcpu=-
	m=$(messages "$s" "$size")
	[ -d "$dir" ] && find "$dir" -maxdepth 1 -type f -delete
	# the verifier's pid, from the log of the postern with the checks on
	[ "$name" = on ] && vpid=$(sed -n \
	    's/.*verifier started pid=\([0-9]*\).*/\1/p' \
	    "$W/postern-on/serve.log" | tail -1)
	[ -n "$vpid" ] && v0=$(tree_cpu "$vpid")
	c0=$(tree_cpu "$(srv_pid "$name")")
	d0=$(tree_cpu "$DNS_PID")
	out=$(timeout "$RUN_TIMEOUT" /usr/bin/python3 "$INBOUND_LOAD" send \
	    --port "$port" --sessions "$s" --messages "$m" \
	    --dir "$W/signed/$size" --sender "$FROM" --rcpt "$RCPT" \
	    2>"$W/$name.load.err")
	rc=$?
	acc=$(field accepted "$out")
	got=$(wait_delivered "$dir" "$m")
	cpu=$(per_msg "$c0" "$(tree_cpu "$(srv_pid "$name")")" "$m")
	dcpu=$(per_msg "$d0" "$(tree_cpu "$DNS_PID")" "$m")
	[ -n "$vpid" ] && vcpu=$(per_msg "$v0" "$(tree_cpu "$vpid")" "$m")
	ar=$(/usr/bin/python3 "$INBOUND_LOAD" check --maildir "$dir" \
	    --max "$AR_PER_CELL" 2>&1)
	note "$name s=$s size=$size: $out"
	note "$name s=$s size=$size: rc=$rc, delivered $got," \
	    "server CPU $cpu ms/msg (verifier $vcpu), DNS server CPU" \
	    "$dcpu ms/msg; $ar"
	if [ $rc != 0 ] || [ "${acc:-0}" -lt "$m" ] || [ "$got" -lt "$m" ]; then
		tail -3 "$W/$name.load.err" >&2
		rate=-
	else
		rate=$(awk -v m="$m" -v a="$(field start "$out")" \
		    -v b="$(field end "$out")" \
		    'BEGIN { printf "%.0f", m / (b - a) }')
	fi
	[ -d "$dir" ] && find "$dir" -maxdepth 1 -type f -delete
	echo "$rate $cpu $(field p50_ms "$out") $(field p99_ms "$out") $dcpu" \
	    "$(field checked "$ar") $(field fields0 "$ar") $(field fields1 "$ar")" \
	    "$(field pass "$ar") $vcpu"
}

# inbound_record COLUMN SIZE SESSIONS RESULT - one run of a cell into R:
# kept when it has the most accepted messages/s so far; the read-back
# counts of all runs added up
inbound_record() {
	local col=$1 size=$2 s=$3 rate cpu p50 p99 dcpu ch f0 f1 ok vcpu top
	read -r rate cpu p50 p99 dcpu ch f0 f1 ok vcpu <<<"$4"
	R[$col,checked]=$((${R[$col,checked]:-0} + ${ch:-0}))
	R[$col,none]=$((${R[$col,none]:-0} + ${f0:-0}))
	R[$col,one]=$((${R[$col,one]:-0} + ${f1:-0}))
	R[$col,pass]=$((${R[$col,pass]:-0} + ${ok:-0}))
	[ "$rate" = - ] && return 0
	top=${R[$col,$size,$s]:--}
	[ "$top" != - ] && [ "$rate" -le "$top" ] && return 0
	R[$col,$size,$s]=$rate
	R[$col,cpu,$size,$s]=$cpu
	R[$col,p50,$size,$s]=$p50
	R[$col,p99,$size,$s]=$p99
	R[$col,dns,$size,$s]=$dcpu
	[ "$vcpu" = - ] || R[$col,ver,$size,$s]=$vcpu
}

OFF_PORT=
OFF_MAILDIR=
ON_PORT=
ON_MAILDIR=
# inbound_main - the inbound mode: key, DNS, signed messages, two posterns
# (checks off, checks on) and Postfix if asked, all running at once; each
# cell (and each repeat) is measured on one after the other, so a change
# of the machine's load falls on both alike; then the report
inbound_main() {
	local size s cols c a b label port dir r
	make_key
	start_dns
	for size in $SIZES; do
		/usr/bin/python3 "$INBOUND_LOAD" sign --key "$DKIM_KEY" \
		    --domain "$SEND_DOMAIN" --selector "$SELECTOR" \
		    --sender "$FROM" --rcpt "$RCPT" --count "$SIGNED" \
		    --size "$size" --out "$W/signed/$size" >/dev/null ||
		    die "signing the messages failed"
	done
	note "$SIGNED signed messages per size under $W/signed"
	CHECKS=no P_DIR=$W/postern-off
	start_postern
	OFF_PID=$POSTERN_PID OFF_PORT=$POSTERN_PORT OFF_MAILDIR=$POSTERN_MAILDIR
	# from here on POSTERN_PID is the one with the checks on
	CHECKS=yes P_DIR=$W/postern-on
	start_postern
	ON_PORT=$POSTERN_PORT ON_MAILDIR=$POSTERN_MAILDIR
	cols="off on"
	if has postfix; then
		start_postfix
		cols="off on postfix"
	fi
	for size in $SIZES; do
		for s in $SESSIONS; do
			for _ in $(seq "$REPEAT"); do
				for c in $cols; do
					case $c in
					off) port=$OFF_PORT dir=$OFF_MAILDIR ;;
					on) port=$ON_PORT dir=$ON_MAILDIR ;;
					*) port=$POSTFIX_PORT
					   dir=$POSTFIX_MAILDIR ;;
					esac
					r=$(inbound_throughput "$c" "$port" \
					    "$dir" "$s" "$size")
					inbound_record "$c" "$size" "$s" "$r"
				done
			done
		done
	done

	# row LABEL KEY [-] - one line: every column, then on/off (not
	# with "-": the DNS server's figure is mostly its idle loop)
	row() {
		local out="" c v r=-
		for c in $cols; do
			v=${R[$c,$2]:--}
			out="$out $(printf '%11s' "$v")"
		done
		a=${R[off,$2]:--} b=${R[on,$2]:--}
		[ "${3:-}" = - ] || r=$(ratio "$b" "$a")
		printf '%-32s%s %8s\n' "$1" "$out" "$r"
	}
	printf '\n%-32s %11s %11s' "inbound acceptance (port 25)" \
	    "checks off" "checks on"
	has postfix && printf ' %11s' "postfix*"
	printf ' %8s\n' "on/off"
	hr
	for size in $SIZES; do
		for s in $SESSIONS; do
			label="$((size / 1024)) KiB, $s session$([ "$s" = 1 ] || echo s)"
			echo "$label"
			row "  accepted messages/s" "$size,$s"
			row "  latency ms, median" "p50,$size,$s"
			row "  latency ms, p99" "p99,$size,$s"
			row "  server CPU ms per message" "cpu,$size,$s"
			row "    of which the verifier" "ver,$size,$s" -
			row "  DNS server CPU ms per message" "dns,$size,$s" -
		done
	done
	hr
	if [ "${R[on,checked]}" -gt 0 ] &&
	    [ "${R[on,pass]}" = "${R[on,checked]}" ]; then
		echo "checked: ${R[on,pass]}/${R[on,checked]} spf=pass dkim=pass" \
		    "dmarc=pass (checks on, one Authentication-Results field each)"
	else
		echo "checked: ${R[on,pass]}/${R[on,checked]} spf=pass dkim=pass" \
		    "dmarc=pass (checks on): NOT ALL PASSED;" \
		    "${R[on,none]} without the field, ${R[on,one]} with one"
	fi
	echo "checks off: ${R[off,none]}/${R[off,checked]} delivered without" \
	    "Authentication-Results"
	has postfix && echo "postfix*: Postfix accepting only, no SPF, DKIM" \
	    "or DMARC checks at all (${R[postfix,none]}/${R[postfix,checked]}" \
	    "without the field): not the same work"
	echo "on/off: checks on divided by checks off.  Sessions: EHLO, then"
	echo "       messages back to back (MAIL, RCPT, DATA pipelined, no TLS,"
	echo "       no AUTH), $SIGNED distinct messages signed before the run"
	echo "       (RSA 2048, relaxed/relaxed); latency from MAIL to the 250"
	echo "       after the dot; server CPU: postern's whole tree (verifier"
	echo "       included); the DNS server (dnsserver.py, TTL 60 s) apart."
	echo "machine: $(nproc) cores, $(uname -r), $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# per_msg CPU0 CPU1 MESSAGES - milliseconds of CPU per message
per_msg() {
	awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN { printf "%.3f", (b - a) * 1000 / m }'
}

ratio() {
	case "$1$2" in *-*) echo -; return ;; esac
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}

has() { case " $SERVERS " in *" $1 "*) return 0 ;; esac; return 1; }
hr() { printf '%s\n' "------------------------------------------------------------------"; }

note "mode $MODE, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$MODE" = inbound ]; then
	declare -A R
	inbound_main
	exit 0
fi
if [ "$MODE" = relay ] || [ "$MODE" = submit ]; then
	start_sink
	has postern && start_dns
fi
if [ "$MODE" = submit ]; then
	make_key
	has postfix && start_opendkim
fi
has postern && start_postern
has postfix && start_postfix

declare -A R
R[postern,checked]=0 R[postern,signed]=0 R[postern,verified]=0
R[postfix,checked]=0 R[postfix,signed]=0 R[postfix,verified]=0

# submit_record NAME SIZE SESSIONS RUN... - keep the run with the most
# accepted messages/s in R, and add up the DKIM checks of all runs
submit_record() {
	local name=$1 size=$2 s=$3 r acc del cpu p50 p99 ccpu ch sg vf dcpu
	local top=-
	shift 3
	for r in "$@"; do
		read -r acc del cpu p50 p99 ccpu ch sg vf dcpu <<<"$r"
		R[$name,checked]=$((R[$name,checked] + ${ch:-0}))
		R[$name,signed]=$((R[$name,signed] + ${sg:-0}))
		R[$name,verified]=$((R[$name,verified] + ${vf:-0}))
		[ "$acc" = - ] && continue
		[ "$top" != - ] && [ "$acc" -le "$top" ] && continue
		top=$acc
		R[$name,$size,$s]=$acc
		R[$name,del,$size,$s]=$del
		R[$name,cpu,$size,$s]=$cpu
		R[$name,p50,$size,$s]=$p50
		R[$name,p99,$size,$s]=$p99
		R[$name,ccpu,$size,$s]=$ccpu
		R[$name,dcpu,$size,$s]=$dcpu
	done
}

# Memory first, on freshly started servers: Postfix keeps idle smtpd
# processes around after a load, which would hide in the baseline.
for srv in postern postfix; do
	[ "$MODE" = accept ] || break
	has $srv || continue
	if [ $srv = postern ]; then pid=$POSTERN_PID port=$POSTERN_PORT
	else pid=$POSTFIX_PID port=$POSTFIX_PORT; fi
	out=$(/usr/bin/python3 "$HERE/idle_mem.py" --pid "$pid" --port "$port" \
	    --count "$IDLE" --timeout 120)
	note "$srv idle: $out"
	case "$out" in
	*"greeted=$IDLE "*)
		R[$srv,mem]=${out##*per_conn_kib=}
		procs=${out##*procs=}
		R[$srv,procs]=${procs%% *} ;;
	*)	R[$srv,mem]=- ;;
	esac
	# let the server see the closes before the next test
	sleep 2
done

for size in $SIZES; do
	for s in $SESSIONS; do
		for srv in postern postfix; do
			has $srv || continue
			if [ $srv = postern ]; then
				port=$POSTERN_PORT dir=$POSTERN_MAILDIR
			else
				port=$POSTFIX_PORT dir=$POSTFIX_MAILDIR
			fi
			runs=()
			for _ in $(seq "$REPEAT"); do
				if [ "$MODE" = relay ]; then
					runs+=("$(relay_throughput $srv \
					    "$port" "$s" "$size")")
				elif [ "$MODE" = starttls ]; then
					runs+=("$(tls_throughput $srv \
					    "$port" "$s")")
				elif [ "$MODE" = submit ]; then
					runs+=("$(submit_throughput $srv \
					    "$port" "$s" "$size")")
				else
					runs+=("$(throughput $srv "$port" \
					    "$dir" "$s" "$size")")
				fi
			done
			if [ "$MODE" = submit ]; then
				submit_record $srv "$size" "$s" "${runs[@]}"
				continue
			fi
			r=$(best "${runs[@]}")
			R[$srv,$size,$s]=${r%% *}
			R[$srv,cpu,$size,$s]=${r##* }
		done
	done
done

# --- report ------------------------------------------------------------------

if [ "$MODE" = starttls ]; then
	printf '\n%-34s %10s %10s %8s\n' "STARTTLS sessions/s" postern \
	    postfix ratio
	hr
	for s in $SESSIONS; do
		a=${R[postern,tls,$s]:--}
		b=${R[postfix,tls,$s]:--}
		label="$s client$([ "$s" = 1 ] || echo s)"
		printf '%-34s %10s %10s %8s\n' "$label" "$a" "$b" \
		    "$(ratio "$a" "$b")"
	done
	hr
	printf '%-34s %10s %10s %8s\n' "server CPU ms per handshake" \
	    postern postfix ratio
	hr
	for s in $SESSIONS; do
		a=${R[postern,cpu,tls,$s]:--}
		b=${R[postfix,cpu,tls,$s]:--}
		label="$s client$([ "$s" = 1 ] || echo s)"
		printf '%-34s %10s %10s %8s\n' "$label" "$a" "$b" \
		    "$(ratio "$b" "$a")"
	done
	hr
	echo "ratio: postern/postfix for sessions/s, postfix/postern for CPU"
	echo "       (higher is better); a session: connect, EHLO, STARTTLS,"
	echo "       handshake, EHLO, QUIT, $TLS_SECONDS s per cell."
	echo "machine: $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
	exit 0
fi
if [ "$MODE" = submit ]; then
	# dkim_state NAME - "V/N" messages verified, UNSIGNED, or "-"
	dkim_state() {
		if [ "${R[$1,checked]}" = 0 ]; then echo -
		elif [ "${R[$1,signed]}" = 0 ]; then echo UNSIGNED
		else echo "${R[$1,verified]}/${R[$1,checked]}"; fi
	}
	# row LABEL KEY HIGHER - one line of both servers; the ratio is
	# postern/postfix when HIGHER is "up", postfix/postern otherwise,
	# in parentheses when one side is not signed and verified
	row() {
		local a=${R[postern,$2]:--} b=${R[postfix,$2]:--} r
		case $3 in
		up) r=$(ratio "$a" "$b") ;;
		down) r=$(ratio "$b" "$a") ;;
		*) r=- ;;
		esac
		[ "$r" != - ] && [ "$unlike" = 1 ] && r="($r)"
		printf '%-34s %10s %10s %8s\n' "$1" "$a" "$b" "$r"
	}
	unlike=0
	for srv in postern postfix; do
		has $srv || continue
		st=$(dkim_state $srv)
		case $st in
		UNSIGNED|-) unlike=1 ;;
		*/*) [ "${st%/*}" = "${st#*/}" ] || unlike=1 ;;
		esac
	done
	printf '\n%-34s %10s %10s %8s\n' "signed submission (587)" postern \
	    postfix ratio
	hr
	printf '%-34s %10s %10s\n' "DKIM signatures verified" \
	    "$(dkim_state postern)" "$(dkim_state postfix)"
	hr
	for size in $SIZES; do
		for s in $SESSIONS; do
			label="$((size / 1024)) KiB, $s session$([ "$s" = 1 ] || echo s)"
			echo "$label"
			row "  accepted messages/s" "$size,$s" up
			row "  delivered messages/s" "del,$size,$s" up
			row "  latency ms, median" "p50,$size,$s" down
			row "  latency ms, p99" "p99,$size,$s" down
			row "  server CPU ms per message" "cpu,$size,$s" down
			row "    of which opendkim" "dcpu,$size,$s" -
			row "  client CPU ms per message" "ccpu,$size,$s" -
		done
	done
	hr
	for srv in postern postfix; do
		has $srv || continue
		st=$(dkim_state $srv)
		case $st in
		UNSIGNED) echo "$srv signed: 0/${R[$srv,checked]} verified" \
		    "(UNSIGNED: its mail carried no DKIM signature)" ;;
		-) echo "$srv signed: none checked" ;;
		*) echo "$srv signed: $st verified" ;;
		esac
	done
	echo "ratio: postern/postfix for messages/s, postfix/postern for"
	echo "       latency and server CPU (higher is better); in parentheses"
	echo "       when a server's mail was not all signed and verified."
	echo "       Sessions: EHLO, STARTTLS, EHLO, AUTH PLAIN, then messages"
	echo "       back to back; latency from MAIL to the 250 after the dot;"
	echo "       Postfix's CPU includes opendkim; RSA 2048, relaxed/relaxed."
	echo "machine: $(nproc) cores, $(uname -r), $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
	exit 0
fi
if [ "$MODE" = relay ]; then
	title="delivered messages/s, end to end"
else
	title="accepted messages/s"
fi
printf '\n%-34s %10s %10s %8s\n' "$title" postern postfix ratio
hr
for size in $SIZES; do
	for s in $SESSIONS; do
		a=${R[postern,$size,$s]:--}
		b=${R[postfix,$size,$s]:--}
		label="$((size / 1024)) KiB, $s session$([ "$s" = 1 ] || echo s)"
		printf '%-34s %10s %10s %8s\n' "$label" "$a" "$b" "$(ratio "$a" "$b")"
	done
done
hr
printf '%-34s %10s %10s %8s\n' "server CPU ms per message" postern postfix ratio
hr
for size in $SIZES; do
	for s in $SESSIONS; do
		a=${R[postern,cpu,$size,$s]:--}
		b=${R[postfix,cpu,$size,$s]:--}
		label="$((size / 1024)) KiB, $s session$([ "$s" = 1 ] || echo s)"
		printf '%-34s %10s %10s %8s\n' "$label" "$a" "$b" "$(ratio "$b" "$a")"
	done
done
hr
if [ "$MODE" = relay ]; then
	echo "ratio: postern/postfix for messages/s, postfix/postern for CPU"
	echo "       (higher is better); smtp-source to"
	echo "       postern or Postfix, each relaying to one smtp-sink."
	echo "machine: $(nproc) cores, $(uname -r), $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
	exit 0
fi
a=${R[postern,mem]:--}
b=${R[postfix,mem]:--}
r=-
case "$a$b" in *-*) ;; *) r=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a > 0) printf "%.1f", b / a; else print "-" }') ;; esac
printf '%-34s %10s %10s %8s\n' "KiB PSS per idle connection ($IDLE)" "$a" "$b" "$r"
printf '%-34s %10s %10s\n' "  server processes, loaded" "${R[postern,procs]:--}" "${R[postfix,procs]:--}"
hr
echo "ratio: postern/postfix for messages/s, postfix/postern for CPU"
echo "       (higher is better);"
echo "       postfix/postern for memory (higher is better)."
echo "machine: $(nproc) cores, $(uname -r), $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
