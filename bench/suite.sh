#!/bin/bash
# The full suite's wall time and attempts per second (issue 5: <= 5 minutes on
# 2 cores), and how many deterministic cells gave the same verdict in twenty
# repeats (scenarios/bench-determinism.ini).
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
jobs=$(nproc)

start=${EPOCHREALTIME/./}
build/natlab run -j "$jobs" --out "$out/suite" scenarios/suite/*.ini >/dev/null 2>"$out/suite.err" ||
	{ cat "$out/suite.err" >&2; exit 1; }
end=${EPOCHREALTIME/./}
n=$(wc -l <"$out/suite/attempts.jsonl")
printf '\nthe suite (scenarios/suite/*.ini, -j %s, %s cores)\n' "$jobs" "$(nproc)"
awk -v n="$n" -v us=$((end - start)) 'BEGIN {
	s = us / 1e6
	printf "  %d attempts in %.1f s: %.1f attempts/s (goal: the suite within 300 s: %s)\n",
		n, s, n / s, s <= 300 ? "met" : "NOT met" }'
build/natlab check "$out/suite" >/dev/null 2>"$out/check.err" || true
printf '  against scenarios/expected: %s\n' "$(sed 's/^natlab: //' "$out/check.err" | tail -n 1)"

build/natlab run -j "$jobs" --out "$out/det" scenarios/bench-determinism.ini >/dev/null 2>"$out/det.err" ||
	{ cat "$out/det.err" >&2; exit 1; }
build/natlab report "$out/det" 2>/dev/null
printf '\ndeterministic cells, 20 repeats each (scenarios/bench-determinism.ini)\n'
cat "$out"/det/matrix-*.csv | awk -F, '
	$1 == "scenario" { next }
	{ cells++; off += $7; if ($11 == "mixed") mixed++; if ($6 < 20) short++ }
	END { printf "  %d cells x 20 repeats: %d gave one verdict every time, %d did not; %d cells had fewer than 20 attempts on schedule; %d attempts ran off schedule (run again, not counted)\n",
		cells, cells - mixed, mixed, short, off }'
