#!/bin/bash
# What the wire adds to a packet's time (issue 10, acceptance 2), measured in one run.
#
# One-way: host x (delay_ms = D on its uplink) sends datagrams to host y, each
# carrying its CLOCK_REALTIME send time; y stamps them on arrival (SO_TIMESTAMPNS)
# (wirebench owd-send / owd-recv). The same two hosts on a kernel bridge
# (internet = bridge) give the baseline, the bridge's median one-way time. Per
# datagram, excess = one-way time - bridge median - D.
#   goal: median excess <= 20 us and p99 excess <= 100 us + 0.5 % of D.
# Round trip: a host behind a full-cone NAT whose uplink has delay_ms = 1 pings a
# host in the internet (iputils ping, 50 echoes 10 ms apart, the median of its
# per-echo times, which it takes from the kernel's receive stamp); less the same
# lab on a kernel bridge, it should be 2.000 +- 0.050 ms.
# Both idle, then while a second lab (wire, no delay) carries bulk TCP (wirebench
# tcp-send/tcp-sink, LOAD_MB at a time, for as long as the loaded rows take, 30 s
# at most); the bridge baseline is measured under the same condition. The load's
# TCP uses the machine's default congestion control (what a lab's host inherits),
# or BENCH_LOAD_CC's; the load line says which. Where the default is not cubic
# (BBR here) and BENCH_LOAD_CC is unset, the loaded rows are measured once more
# beside a cubic load ("load:cubic"): BBR paces from timers that run as softirqs on
# whatever core they fire on, a real-time wire's included (docs/precision.md).
# Then once more with each lab on CPUs of its own ([lab] cpus; "load:apart", the
# load's congestion control as in "load"): the loading lab on the first CPU, the
# measured labs (and their bridge baselines) on the last.
# "NOT met" does not fail the script (make bench goes on); errors do.
# BENCH_OWD_SAMPLES (default 500, 2 ms apart) sets the datagrams per row.
set -eu
cd "$(dirname "$0")/.."
NATLAB=build/natlab WB=build/wirebench N=${BENCH_OWD_SAMPLES:-500} IV=2 LOAD_MB=${BENCH_LOAD_MB:-100}
DELAYS="1 10 100"
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
tmp=$(mktemp -d)
labs=() loadpid=
cleanup() {
	touch "$tmp/stop"
	for l in "${labs[@]}"; do $NATLAB down "$l" 2>/dev/null || true; done
	[ -z "$loadpid" ] || wait "$loadpid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# up NAME INTERNET EXTRA: two hosts x, y in the internet, EXTRA in x's section
# upnat NAME INTERNET EXTRA: host a behind a full-cone NAT n (EXTRA in its section), host s
# in the internet. Both: the lab up (on the cores $cpus, where set), its name in $lab
cpus=
up() {
	printf '[lab]\nname = %s\ninternet = %s\n%s\n[host.x]\nbehind = internet\n%s\n[host.y]\nbehind = internet\n' \
		"$1" "$2" "${cpus:+cpus = $cpus}" "$3" >"$tmp/$1.ini"
	lab=$($NATLAB up "$tmp/$1.ini")
	labs+=("$lab")
}
upnat() {
	printf '[lab]\nname = %s\ninternet = %s\n%s\n[nat.n]\nprofile = full-cone\n%s\n[host.a]\nbehind = n\n[host.s]\nbehind = internet\n' \
		"$1" "$2" "${cpus:+cpus = $cpus}" "$3" >"$tmp/$1.ini"
	lab=$($NATLAB up "$tmp/$1.ini")
	labs+=("$lab")
}
# stats FILE: count, median, p99 (nearest rank) of a column of numbers
stats() {
	sort -n "$1" | awk '{a[NR] = $1} END {
		if (!NR) { print 0, "nan", "nan"; exit }
		m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		r = int(NR * 0.99); if (r < NR * 0.99) r++
		print NR, m, a[r] }'
}
# owd LAB DELAY_MS: one-way times x -> y in $tmp/owd, in us
port=7100
owd() {
	port=$((port + 1)) checks=$((checks + 1))
	[ "$(others)" = 0 ] || seen=$((seen + 1))
	$NATLAB exec "$1" y -- $WB owd-recv "$port" "$N" "$((N * IV / 1000 + 2 * $2 / 1000 + 15))" >"$tmp/owd" &
	local rx=$!
	$NATLAB exec "$1" x -- $WB owd-send 198.18.0.2 "$port" "$N" "$IV"
	wait "$rx" || { echo "latency: owd-recv failed in $1" >&2; exit 1; }
}
# wire_late LAB: how late the lab's wire itself released the frames since the last
# call (its own figures, LAB.wire.stats: each frame against its due time), "p99 max"
# in us: a row whose excess the wire does not show came late on the path around it
wire_late() {
	sleep 0.05 # the wire writes its figures 10 ms after its last frame
	/usr/bin/python3 - "${NATLAB_RUN_DIR:-/run/natlab}/$1.json" "$tmp/$1.late" <<'PY'
import json, os, sys, time
path = json.load(open(sys.argv[1]))["wire"]["stats"]
for _ in range(20):  # a reader that meets half a write reads again
    try:
        text = open(path).read()
        now = dict(json.loads(text)["late_us"]) if text.strip() else {}  # nothing sent yet
        break
    except (ValueError, KeyError):
        time.sleep(0.01)
else:
    sys.exit("latency: cannot read " + path)
before = json.load(open(sys.argv[2])) if os.path.exists(sys.argv[2]) else {}
h = sorted((int(us), c - before.get(str(us), 0)) for us, c in now.items())
h = [(us, c) for us, c in h if c > 0]
n, acc, p99 = sum(c for _, c in h), 0, None
for us, c in h:
    acc += c
    if p99 is None and acc >= 0.99 * n:
        p99 = us
print(p99 if n else "-", h[-1][0] if n else "-")
json.dump({str(us): c for us, c in now.items()}, open(sys.argv[2], "w"))
PY
}
# rtt LAB: median round trip a -> s (198.18.0.1), in ms, in $rtt
rtt() {
	rtt=$($NATLAB exec "$1" a -- ping -n -c 50 -i 0.01 -W 2 198.18.0.1 |
		sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' | sort -n | awk '{ v[NR] = $1 } END {
			if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')
	[ -n "$rtt" ] || { echo "latency: no ping answered in $1" >&2; exit 1; }
}

# other labs on this machine (another bench, a test run) load it: say so, the figures are then not idle
others() { $NATLAB list 2>/dev/null | awk -v mine=" ${labs[*]} " 'index(mine, " " $1 " ") == 0 && $2 == "up"' | wc -l; }
checks=0 seen=0
declare -A wire_lab
# labs SUFFIX MEASURED_CPUS LOAD_CPUS: the labs measured (on MEASURED_CPUS, else anywhere)
# and the one that loads (on LOAD_CPUS)
labs_up() {
	cpus=$2
	up "latbr$1" bridge ''
	bridge_lab=$lab
	for d in $DELAYS; do
		up "latw$d$1" wire "delay_ms = $d"
		wire_lab[$d]=$lab
	done
	upnat "latpw$1" wire 'delay_ms = 1'
	ping_wire=$lab
	upnat "latpb$1" bridge ''
	ping_bridge=$lab
	cpus=$3
	up "latload$1" wire ''
	load_lab=$lab
	cpus=
}
labs_up '' '' ''

measure() { # CONDITION: one block of rows
	local cond=$1 n base p99
	owd "$bridge_lab" 0
	read -r n base p99 < <(stats "$tmp/owd")
	[ "$n" -gt 0 ] || { echo "latency: no datagram through the bridge" >&2; exit 1; }
	printf '  %-10s %-11s %6s %11.1f %11s %11.1f %11s %11s %7s %7s  %s\n' "$cond" bridge "$n" "$base" - "$p99" - - - - baseline
	for d in $DELAYS; do
		wire_late "${wire_lab[$d]}" >/dev/null
		owd "${wire_lab[$d]}" "$d"
		stats "$tmp/owd" | awk -v c="$cond" -v d="$d" -v b="$base" -v want="$N" -v wl="$(wire_late "${wire_lab[$d]}")" '{
			n = $1; med = $2; p99 = $3
			if (!n) { printf "  %-10s %-11s %6d %11s %11s %11s %11s %11s %7s %7s  NOT met (no datagram)\n", c, "wire " d " ms", 0, "-", "-", "-", "-", "-", "-", "-"; exit }
			em = med - b - d * 1000; ep = p99 - b - d * 1000; bound = 100 + 0.005 * d * 1000
			v = (em <= 20 && ep <= bound) ? "met" : em > 20 && ep > bound ? "NOT met" : em > 20 ? "NOT met (median)" : "NOT met (p99)"
			if (n < want) v = v " (" want - n " lost)"
			split(wl, w, " ")
			printf "  %-10s %-11s %6d %11.1f %11.1f %11.1f %11.1f %11s %7s %7s  %s\n", c, "wire " d " ms", n, med, em, p99, ep, "<= " bound, w[1], w[2], v }'
	done
	rtt "$ping_wire"
	local rw=$rtt
	rtt "$ping_bridge"
	printf '%s %s %s\n' "$cond" "$rw" "$rtt" >>"$tmp/ping"
}

printf '\none-way time through the wire, less a kernel bridge and the configured delay\n'
printf '  (%s datagrams %s ms apart per row; us; goal: median excess <= 20, p99 excess <= 100 + 0.5%% of the delay;\n' "$N" "$IV"
printf '  own: how late the wire itself released the row'"'"'s frames against their due time, by its own figures; %s)\n' \
	"$(uname -r)"
printf '  %-10s %-11s %6s %11s %11s %11s %11s %11s %7s %7s  %s\n' when path n "median owd" "med excess" "p99 owd" "p99 excess" "p99 goal" "own p99" "own max" verdict
measure idle

# loaded COND [CC]: the rows again while bulk TCP (congestion control CC, else the
# lab's default) runs through the second lab's wire, LOAD_MB at a time, until told
# to stop (30 s at most); then what the load carried
loaded() {
	local cond=$1 cc=${2:-} t0 t1
	rm -f "$tmp/stop" "$tmp/load"
	(
		end=$((SECONDS + 30))
		while ((SECONDS < end)) && [ ! -e "$tmp/stop" ]; do
			$NATLAB exec "$load_lab" y -- $WB tcp-sink 9000 >>"$tmp/load" &
			sink=$!
			$NATLAB exec "$load_lab" x -- $WB tcp-send 198.18.0.2 9000 "$LOAD_MB" ${cc:+"$cc"} || break
			wait "$sink" || break
		done
	) &
	loadpid=$!
	sleep 0.3
	t0=${EPOCHREALTIME/./}
	measure "$cond"
	t1=${EPOCHREALTIME/./}
	touch "$tmp/stop"
	wait "$loadpid" || true
	loadpid=
	awk -v t="$(((t1 - t0) / 1000))" -v cc="${cc:-$default_cc}" -v c="$cond" '{ b += $1; s += $2; n++ } END {
		if (n && s > 0) printf "  %s: %d MB of TCP (%s) through another lab'"'"'s wire (%d transfers, %.0f Mbit/s) over the %.1f s of its rows\n", c, b / 1e6, cc, n, b * 8 / s / 1e6, t / 1000
		else printf "  %s: no transfer finished\n", c }' "$tmp/load" 2>/dev/null || echo "  $cond: no transfer finished"
}
default_cc=$($NATLAB exec "$load_lab" x -- cat /proc/sys/net/ipv4/tcp_congestion_control 2>/dev/null || echo '?')
loaded load "${BENCH_LOAD_CC:-}"
# BBR (a machine's default here) paces from timers whose softirqs run on whatever core
# they fire on, a real-time wire's too: the same rows beside a load that does not pace
if [ -z "${BENCH_LOAD_CC:-}" ] && [ "$default_cc" != cubic ] &&
	grep -qw cubic /proc/sys/net/ipv4/tcp_available_congestion_control 2>/dev/null; then
	loaded load:cubic cubic
fi
# the loaded lab on the first core and the measured ones on the last ([lab] cpus): the
# load's kernel work (its wire's sends, its hosts' pacing timers) stays on its own core
# (the first and the last CPU this script may use, bench/cpus.sh)
. bench/cpus.sh
if [ -n "$others" ]; then
	for l in "${labs[@]}"; do $NATLAB down "$l" >/dev/null; done
	labs=()
	labs_up a "$last_cpu" "$first_cpu"
	loaded load:apart "${BENCH_LOAD_CC:-}"
else
	echo "  load:apart: one CPU only (or none a scenario can name), no lab can have one of its own"
fi

printf '\nround trip through a full-cone NAT with a 1 ms uplink, less a kernel bridge (median of 50 pings, ms)\n'
printf '  %-10s %10s %10s %10s %15s  %s\n' when wire bridge difference goal verdict
awk '{ e = $2 - $3; v = (e >= 1.95 && e <= 2.05) ? "met" : "NOT met"
	printf "  %-10s %10.3f %10.3f %10.3f %15s  %s\n", $1, $2, $3, e, "2.000 +- 0.050", v }' "$tmp/ping"
[ "$seen" = 0 ] || printf '  note: other labs were up on this machine before %d of the %d one-way rows: their load is in those figures too\n' "$seen" "$checks"
