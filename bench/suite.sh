#!/bin/bash
# The main job's wall time: ./run_all.sh as a user runs it (the punching suite
# with natlab's own choice of -j, the report, the check against
# scenarios/expected and the NAT behaviour suite; its results go to results/ like
# any run's). Goal (issue 11): <= 3 minutes on 2 cores, at the precision of the
# timing issue (read from the run's meta.json). Then how many deterministic cells
# gave the same verdict in twenty repeats (scenarios/bench-determinism.ini).
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
jobs=$(nproc)

start=${EPOCHREALTIME/./}
./run_all.sh >"$out/run_all.log" 2>&1 || { tail -n 20 "$out/run_all.log" >&2; exit 1; }
end=${EPOCHREALTIME/./}
meta=results/latest/meta.json
printf '\nthe main job, ./run_all.sh (%s cores)\n' "$(nproc)"
/usr/bin/python3 - "$meta" $((end - start)) <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
s = int(sys.argv[2]) / 1e6
p = m.get("precision", {})
n = m["run"]["attempts"]
again = m["run"]["run_again"]
print(f"  {n} attempts ({again} run again off schedule) in {s:.1f} s, -j {m['run']['jobs']}: "
      f"goal <= 180 s: {'met' if s <= 180 else 'NOT met'}")
print(f"  {m.get('check', '')}")
warn = p.get("warnings", [])
print(f"  precision: {len(warn)} warning(s)" + "".join(f"\n    {w}" for w in warn))
PY

build/natlab run -j "$jobs" --out "$out/det" scenarios/bench-determinism.ini >/dev/null 2>"$out/det.err" ||
	{ cat "$out/det.err" >&2; exit 1; }
build/natlab report "$out/det" 2>/dev/null
printf '\ndeterministic cells, 20 repeats each (scenarios/bench-determinism.ini)\n'
# columns by their header's names: a column added to the tables once shifted
# these, and the line counted successes as runs off schedule and never saw a
# mixed verdict
cat "$out"/det/matrix-*.csv | awk -F, '
	$1 == "scenario" { for (i = 1; i <= NF; i++) col[$i] = i; next }
	{ cells++; off += $col["off_schedule"]; if ($col["verdict"] == "mixed") mixed++; if ($col["n"] < 20) short++ }
	END { printf "  %d cells x 20 repeats: %d gave one verdict every time, %d did not; %d cells had fewer than 20 attempts on schedule; %d attempts ran off schedule (run again, not counted)\n",
		cells, cells - mixed, mixed, short, off }'
