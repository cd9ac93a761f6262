#!/bin/bash
# The topology of scenarios/bench.ini built the usual way: iproute2 and nft
# processes, one batch per namespace. `make bench` times it against natlab.
# As natlab builds it: the internet a bridge where natlab has its wire, and each
# NAT's one host linked straight to it (its veth is the NAT's lan).
#   iproute2-lab.sh up PREFIX RULESDIR | down PREFIX
# RULESDIR holds home1.nft and home2.nft (from `natlab rules`).
set -eu
cmd=$1 p=$2
trap 'rc=$?; if [ "$cmd" = up ] && [ $rc != 0 ]; then bash "$0" down "$p"; fi' EXIT
NS="internet home1 home2 a b rv"
if [ "$cmd" = down ]; then
	for n in $NS; do ip netns del "$p-$n" 2>/dev/null || true; done
	exit 0
fi
rules=$3
for n in $NS; do ip netns add "$p-$n"; done
ip -n "$p-internet" -b - <<EOB
link set lo up
link add name inet type bridge
link set inet up
link add name home1 type veth peer name wan netns $p-home1
link set dev home1 master inet up
link add name home2 type veth peer name wan netns $p-home2
link set dev home2 master inet up
link add name rv type veth peer name eth0 netns $p-rv
link set dev rv master inet up
EOB
for h in 1 2; do
	host=$([ $h = 1 ] && echo a || echo b)
	ip -n "$p-home$h" -b - <<EOB
link set lo up
link set wan up
addr add 198.19.0.$h/15 dev wan
link add name lan type veth peer name eth0 netns $p-$host
link set lan up
addr add 10.0.$h.1/24 dev lan
EOB
	ip -n "$p-$host" -b - <<EOB
link set lo up
link set eth0 up
addr add 10.0.$h.2/24 dev eth0
route add default via 10.0.$h.1
EOB
	ip netns exec "$p-home$h" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$p-home$h" nft -f "$rules/home$h.nft"
done
ip -n "$p-rv" -b - <<EOB
link set lo up
link set eth0 up
addr add 198.18.0.1/15 dev eth0
addr add 198.18.1.1/15 dev eth0
EOB
