#!/bin/bash
# Median time of `natlab up` + `natlab down` of scenarios/bench.ini against the
# same topology built by bench/iproute2-lab.sh, measured in one run, interleaved.
# Goal (issue 2): natlab <= 25 ms median and >= 4x faster than the script.
set -eu
cd "$(dirname "$0")/.."
N=${BENCH_RUNS:-30}
NATLAB=build/natlab
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
rules=$(mktemp -d)
trap 'rm -rf "$rules"' EXIT
$NATLAB rules port-restricted-cone --wan 198.19.0.1 --lan 10.0.1.0/24 >"$rules/home1.nft"
$NATLAB rules symmetric --wan 198.19.0.2 --lan 10.0.2.0/24 >"$rules/home2.nft"

now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

nat_t=() scr_t=()
for ((i = 0; i < N; i++)); do
	t0=$(now_us)
	lab=$($NATLAB up scenarios/bench.ini)
	$NATLAB down "$lab"
	t1=$(now_us)
	bash bench/iproute2-lab.sh up "benchsh$$" "$rules"
	bash bench/iproute2-lab.sh down "benchsh$$"
	t2=$(now_us)
	nat_t+=($((t1 - t0)))
	scr_t+=($((t2 - t1)))
done
nat_ms=$(printf '%s\n' "${nat_t[@]}" | median | awk '{printf "%.1f", $1/1000}')
scr_ms=$(printf '%s\n' "${scr_t[@]}" | median | awk '{printf "%.1f", $1/1000}')
ratio=$(awk -v a="$scr_ms" -v b="$nat_ms" 'BEGIN {printf "%.1f", a/b}')
printf '\nlab bring-up + tear-down, 6 namespaces, 2 NATs (median of %d runs, %s)\n' "$N" "$(uname -r)"
printf '  %-34s %8s ms\n' "natlab up + down" "$nat_ms" "iproute2 + nft script (bench/)" "$scr_ms"
printf '  %-34s %8sx\n' "speed-up" "$ratio"
awk -v n="$nat_ms" -v r="$ratio" 'BEGIN {
	ok = (n <= 25 && r >= 4)
	printf "  goal (<= 25 ms and >= 4x): %s\n", ok ? "met" : "NOT met"
}'
