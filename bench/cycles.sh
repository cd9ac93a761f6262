#!/bin/bash
# Nothing of a lab outlives it: BENCH_LEAK_CYCLES (default 1000) natlab up + down of
# scenarios/bench.ini back to back, in a run directory of its own, and what exists
# before and after: named namespaces (/run/netns), network namespaces any process
# is in (lsns), processes (not the kernel's own threads, which come and go) and
# natlab-wire processes (zombies not counted: they wait for whoever reaps
# orphans, not for natlab), sockets in use machine-wide
# (/proc/net/sockstat counts every namespace's, packet sockets included), nft tables
# of the root namespace, files in the run directory and open files of this shell.
# Goal (issue 11): every count the same after as before.
set -eu
cd "$(dirname "$0")/.."
N=${BENCH_LEAK_CYCLES:-1000}
NATLAB=build/natlab
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
run=$(mktemp -d)
trap 'NATLAB_RUN_DIR=$run $NATLAB down --all 2>/dev/null || true; rm -rf "$run"' EXIT
export NATLAB_RUN_DIR=$run

counts() {
	printf '%s %s %s %s %s %s %s %s\n' \
		"$(find /run/netns -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" \
		"$(lsns -n -t net -o NS | sort -u | wc -l)" \
		"$(ps -e -o stat=,pid=,ppid= | awk '$1 !~ /^Z/ && $2 != 2 && $3 != 2' | wc -l)" \
		"$(ps -e -o stat=,comm= | awk '$1 !~ /^Z/ && $2 == "natlab-wire"' | wc -l)" \
		"$(awk '/^sockets:/ {print $3}' /proc/net/sockstat)" \
		"$(nft list tables 2>/dev/null | wc -l)" \
		"$(find "$run" -mindepth 1 | wc -l)" \
		"$(find /proc/$$/fd -mindepth 1 | wc -l)"
}
# the kernel ends a killed wire and cleans a namespace up after down returns: give
# the last one a moment, as the next user of the machine would
settle() { sleep 0.5; }

before=$(counts)
start=${EPOCHREALTIME/./}
for ((i = 0; i < N; i++)); do
	lab=$($NATLAB up scenarios/bench.ini)
	$NATLAB down "$lab"
done
end=${EPOCHREALTIME/./}
settle
after=$(counts)
printf '\n%d up + down cycles back to back in %.1f s (%.1f ms each)\n' "$N" \
	"$(awk -v u=$((end - start)) 'BEGIN {print u / 1e6}')" "$(awk -v u=$((end - start)) -v n="$N" 'BEGIN {print u / n / 1e3}')"
paste <(printf '%s\n' "named namespaces" "namespaces in use" processes "natlab-wire processes" \
	"sockets (all namespaces)" "root nft tables" "run directory files" "open files (this shell)") \
	<(tr ' ' '\n' <<<"$before") <(tr ' ' '\n' <<<"$after") |
	awk -F'\t' '{ printf "  %-26s %8s before %8s after  %s\n", $1, $2, $3, $2 == $3 ? "same" : "CHANGED"; if ($2 != $3) bad++ }
		END { printf "  goal: nothing left behind: %s\n", bad ? "NOT met" : "met" }'
