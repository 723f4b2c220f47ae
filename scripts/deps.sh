#!/bin/sh
# Install what postern needs to build, run and test, from Debian's archive.
# Quiet when everything is already there.
set -e
PKGS="meson ninja-build pkg-config gcc clang libclang-rt-14-dev libssl-dev
libevent-dev libunbound-dev libcmocka-dev openssl python3 python3-pytest
python3-aiosmtpd python3-dnspython python3-dkim python3-nacl opendkim python3-cryptography
dns-root-data swaks libnet-ssleay-perl libio-socket-inet6-perl msmtp
postfix sasl2-bin libsasl2-modules iproute2 procps fuse3 python3-fusepy"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix is only a benchmark peer: never let its package start a system
# instance on port 25.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
