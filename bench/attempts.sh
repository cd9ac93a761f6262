#!/bin/bash
# Attempts per second through one lab that natlab run reuses (scenarios/bench-attempts.ini:
# a 0-delay full-cone pair, so), and the per-attempt overhead beyond the punch itself.
# Goal (issue 4): overhead <= 20 ms median.
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=${EPOCHREALTIME/./}
build/natlab run scenarios/bench-attempts.ini --out "$out" >/dev/null 2>&1
end=${EPOCHREALTIME/./}
py=/usr/bin/python3  # a driver, as in the tests
printf '\nnatlab run, one lab reused (%s)\n' "$(uname -r)"
"$py" - "$out/attempts.jsonl" "$start" "$end" <<'PY'
import json, statistics, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
wall = (int(sys.argv[3]) - int(sys.argv[2])) / 1e6
over = statistics.median(r["duration_ms"] - r["time_to_connect_ms"] for r in recs)
outcomes = {}
for r in recs:
    outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
print(f"  {len(recs)} attempts in {wall:.2f} s (lab up and down included): {len(recs) / wall:.1f} attempts/s")
print(f"  outcomes: {outcomes}")
print(f"  per-attempt overhead beyond the punch: {over:.1f} ms median (goal <= 20 ms: {'met' if over <= 20 else 'NOT met'})")
PY
