#!/bin/sh
# Installs the Debian packages natlab needs, only those missing: `apt-get update`
# once, then one `apt-get install`. Safe to run again.
set -eu
PKGS="gcc make pkg-config iproute2 iputils-ping nftables
libnl-3-dev libnl-route-3-dev libmnl-dev libnetfilter-conntrack-dev libnftables-dev libinih-dev libjansson-dev
libcmocka-dev libpcap-dev libre-dev libnice-dev coturn tshark gnuplot-nox jq parallel python3 python3-pytest python3-pytest-xdist python3-pytest-timeout"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "natlab: missing Debian packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "natlab: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
