#!/bin/sh
# Build postern and run a working local server on an embedded default:
# a generated config for the test domain example.test, loopback ports
# 2525 (MX), 2587 (submission, STARTTLS) and 2465 (submissions, TLS), a
# self-signed certificate, mail delivered to Maildirs in the data dir.
# Ctrl-C stops it.
set -e
cd "$(dirname "$0")"
sh scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build postern
top=$(pwd)
conf="$top/local/conf"
if [ "$(id -u)" = 0 ]; then
	data=/var/lib/postern-quickstart
	id postern >/dev/null 2>&1 ||
	    useradd --system --no-create-home --shell /usr/sbin/nologin postern
else
	data="$top/local/data"
fi
if [ ! -f "$conf/postern.conf" ]; then
	mkdir -p "$top/local"
	./build/postern -C "$conf" init example.test --data-dir "$data"
	printf 'secret\n' | ./build/postern -C "$conf" user-add \
	    you@example.test --password-stdin
	echo "added user you@example.test with password \"secret\""
fi
echo "mail for you@example.test lands in $data/mail/example.test/you/new/"
exec ./build/postern -C "$conf" serve
