#!/bin/bash
# Bring-up and tear-down of scenarios/bench.ini (6 namespaces, 2 NATs, a wire),
# measured in one run:
#  1. natlab up + down against the same topology built by bench/iproute2-lab.sh
#     (ip -batch + nft -f), interleaved, BENCH_RUNS times (default 30), with a
#     short pause between cycles; the median of each, and where natlab's time
#     went (`natlab up --timing` / `down --timing`, median per phase).
#  2. BENCH_CYCLES (default 100) back-to-back natlab up + down, no pause: a down
#     must not slow the next up (the kernel cleans namespaces up after down returns).
# Goals (issue 11): up + down median <= 12 ms and >= 5x the script; back to back
# p90 <= 1.5 x p50.
set -eu
cd "$(dirname "$0")/.."
N=${BENCH_RUNS:-30} CYCLES=${BENCH_CYCLES:-100}
NATLAB=build/natlab
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$NATLAB rules port-restricted-cone --wan 198.19.0.1 --lan 10.0.1.0/24 >"$tmp/home1.nft"
$NATLAB rules symmetric --wan 198.19.0.2 --lan 10.0.2.0/24 >"$tmp/home2.nft"

# quantile Q of a column of numbers (nearest rank; Q=0.5 the median)
quantile() { sort -n | awk -v q="$1" '{a[NR]=$1} END {r = int(NR * q); if (r < NR * q) r++; if (r < 1) r = 1; print a[r]}'; }

nat_t=() scr_t=()
for ((i = 0; i < N; i++)); do
	# the clock read in this shell: a $(...) to read it would fork, and put
	# half a millisecond of the bench's own in each figure
	t0=${EPOCHREALTIME/./}
	lab=$($NATLAB up --timing scenarios/bench.ini 2>>"$tmp/phases")
	$NATLAB down --timing "$lab" 2>>"$tmp/phases"
	t1=${EPOCHREALTIME/./}
	bash bench/iproute2-lab.sh up "benchsh$$" "$tmp"
	bash bench/iproute2-lab.sh down "benchsh$$"
	t2=${EPOCHREALTIME/./}
	nat_t+=($((t1 - t0)))
	scr_t+=($((t2 - t1)))
	sleep 0.05
done
nat_ms=$(printf '%s\n' "${nat_t[@]}" | quantile 0.5 | awk '{printf "%.1f", $1/1000}')
scr_ms=$(printf '%s\n' "${scr_t[@]}" | quantile 0.5 | awk '{printf "%.1f", $1/1000}')
ratio=$(awk -v a="$scr_ms" -v b="$nat_ms" 'BEGIN {printf "%.1f", a/b}')
printf '\nlab bring-up + tear-down, 6 namespaces, 2 NATs (median of %d runs, %s)\n' "$N" "$(uname -r)"
printf '  %-40s %8s ms\n' "natlab up + down (the commands, end to end)" "$nat_ms" "iproute2 + nft script (bench/)" "$scr_ms"
printf '  %-40s %8sx\n' "speed-up" "$ratio"
awk -v n="$nat_ms" -v r="$ratio" 'BEGIN {
	printf "  goal: <= 12 ms: %s; >= 5x the script: %s\n", (n <= 12 ? "met" : "NOT met"), (r >= 5 ? "met" : "NOT met") }'

# "timing: up namespaces 3.21 ms": the median of each phase, in the order met
printf '  where natlab'"'"'s time goes (median per phase, ms; total = inside the command):\n'
awk '{ k = $2; for (i = 3; i < NF - 1; i++) k = k " " $i; if (!(k in seen)) { seen[k] = 1; order[++n] = k }
	v[k] = v[k] " " $(NF - 1) } END { for (i = 1; i <= n; i++) print order[i] "\t" v[order[i]] }' "$tmp/phases" |
	while IFS=$'\t' read -r phase values; do
		printf '    %-34s %8s\n' "$phase" "$(tr ' ' '\n' <<<"$values" | grep . | quantile 0.5)"
	done

# back to back: each cycle's up + down, no pause
cyc=()
for ((i = 0; i < CYCLES; i++)); do
	t0=${EPOCHREALTIME/./}
	lab=$($NATLAB up scenarios/bench.ini)
	$NATLAB down "$lab"
	t1=${EPOCHREALTIME/./}
	cyc+=($((t1 - t0)))
done
p50=$(printf '%s\n' "${cyc[@]}" | quantile 0.5 | awk '{printf "%.1f", $1/1000}')
p90=$(printf '%s\n' "${cyc[@]}" | quantile 0.9 | awk '{printf "%.1f", $1/1000}')
printf '  %d back-to-back up + down: p50 %s ms, p90 %s ms; goal p90 <= 1.5 x p50: %s\n' "$CYCLES" "$p50" "$p90" \
	"$(awk -v a="$p50" -v b="$p90" 'BEGIN { print (b <= 1.5 * a ? "met" : "NOT met") }')"
