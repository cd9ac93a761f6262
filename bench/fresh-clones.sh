#!/bin/bash
# Does CI pass from a fresh clone, N times in a row? (issue 10, acceptance 1)
#   bash bench/fresh-clones.sh [N=5] [REPO=.]
# For i in 1..N: git clone -q REPO /tmp/natlab-fresh-$i, then `bash .ci/run` in it
# (make check: deps, build, unit tests, pytest), stopping at the first failure.
# Prints per clone pass/FAIL, the elapsed time, the pytest summary line and the
# skipped count; each run's whole output goes to a log (its path is printed; logs
# are kept). Removes the clones it made, and only those (a /tmp/natlab-fresh-$i
# that already exists is not touched and counts as a failure). Exit 1 if any clone
# failed. It clones REPO's committed HEAD: uncommitted changes are not tested.
# Not part of `make bench`: a clone takes about 2 minutes (as root, labs need it).
# make check judges only the namespaces its own tests made, but other labs on the
# machine load it: run it on an otherwise quiet machine.
set -u
N=${1:-5} REPO=${2:-.}
[ "$(id -u)" = 0 ] || { echo "fresh-clones: needs root (make check builds labs)" >&2; exit 1; }
case $N in '' | *[!0-9]*) echo "fresh-clones: N must be a number, got '$N'" >&2; exit 2 ;; esac
REPO=$(cd "$REPO" && pwd) || { echo "fresh-clones: no directory $2" >&2; exit 2; }
logs=$(mktemp -d /tmp/natlab-fresh-logs.XXXXXX)
made=()
cleanup() { for d in "${made[@]}"; do rm -rf -- "$d"; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM

printf 'fresh clones of %s (%s), %s run(s) of .ci/run; logs in %s\n' \
	"$REPO" "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')" "$N" "$logs"
left=$(ip netns list 2>/dev/null | wc -l)
[ "$left" = 0 ] || echo "  note: $left network namespace(s) exist now (other labs): they load the machine"
passed=0 failed=0
for ((i = 1; i <= N; i++)); do
	dir=/tmp/natlab-fresh-$i log=$logs/run-$i.log
	t0=${EPOCHREALTIME/./}
	if [ -e "$dir" ]; then
		echo "fresh-clones: $dir exists (not ours, left alone)" >"$log"
		ok=1
	else
		made+=("$dir")
		git clone -q "$REPO" "$dir" >"$log" 2>&1 && (cd "$dir" && bash .ci/run) >>"$log" 2>&1
		ok=$?
	fi
	t1=${EPOCHREALTIME/./}
	# pytest -q ends with e.g. "61 passed, 2 skipped in 75.31s (0:01:15)"
	summary=$(grep -E '(passed|failed|error|skipped|no tests ran).* in [0-9.]+s' "$log" | tail -1 | sed -E 's/^=+ //; s/ =+$//')
	skipped=$(printf '%s' "$summary" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+' || true)
	verdict=pass
	if [ "$ok" != 0 ]; then
		verdict=FAIL failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
	awk -v i="$i" -v v="$verdict" -v t="$(((t1 - t0) / 1000))" -v s="${summary:-no pytest summary}" \
		-v k="${skipped:-0}" -v l="$log" \
		'BEGIN { printf "  clone %d: %-4s %6.1f s  pytest: %s  (skipped: %d)  log %s\n", i, v, t / 1000, s, k, l }'
	if [ "$ok" != 0 ]; then
		tail -5 "$log" | sed 's/^/    | /'
		grep -q '^make check: namespaces left behind' "$log" &&
			echo "    (the tests ran; make check failed on namespaces left: if they are not this clone's labs, another user's labs were up)"
		break
	fi
done
printf 'fresh clones: %d passed, %d failed, %d not run\n' "$passed" "$failed" "$((N - passed - failed))"
[ "$failed" = 0 ]
