#!/bin/bash
# The main job. On a fresh machine: installs what is missing, builds, runs the
# punching suite (scenarios/suite/*.ini, or the scenarios named) with labs side
# by side, writes results/<run-id>/ (records, tables, windows, plots, pcaps of
# failed attempts, meta.json, report.md), checks the verdicts against
# scenarios/expected (a scenario without expected verdicts: against the behaviour
# model), runs the NAT behaviour suite and points results/latest at the run.
# Exit 0 when every cell is as expected and every behaviour test passed.
set -uo pipefail
cd "$(dirname "$0")"

usage="usage: ./run_all.sh [-j N] [--no-behaviour] [--long] [SCENARIO.ini...]"
jobs=""   # natlab run chooses from the cores and the timer precision it measures
behaviour=1
long=0    # --long: also the impairment scenarios (scenarios/long), into <run-id>/long
scenarios=()
while [ $# -gt 0 ]; do
	case $1 in
	-j) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; jobs=$2; shift ;;
	-j*) jobs=${1#-j} ;;
	--no-behaviour) behaviour=0 ;;
	--long) long=1 ;;
	-h|--help) echo "$usage"; exit 0 ;;
	-*) echo "$usage" >&2; exit 2 ;;
	*) scenarios+=("$1") ;;
	esac
	shift
done
[ ${#scenarios[@]} -gt 0 ] || scenarios=(scenarios/suite/*.ini)
for s in "${scenarios[@]}"; do
	[ -r "$s" ] || { echo "run_all.sh: $s: no such scenario" >&2; exit 2; }
done

# what the lab needs, said before anything starts
[ "$(id -u)" = 0 ] || { echo "run_all.sh: needs root (network namespaces, nftables); run it as root" >&2; exit 1; }
unshare --net true 2>/dev/null ||
	{ echo "run_all.sh: this kernel or container cannot make network namespaces (unshare --net failed)" >&2; exit 1; }
[ -d /proc/sys/net/netfilter ] || modprobe nf_conntrack 2>/dev/null || true
[ -d /proc/sys/net/netfilter ] ||
	{ echo "run_all.sh: no conntrack in this kernel (/proc/sys/net/netfilter is missing)" >&2; exit 1; }

sh scripts/deps.sh || exit 1
make -s all || exit 1

run_id=$(date -u +%Y%m%dT%H%M%SZ)
out=results/$run_id
mkdir -p "$out"
start=$(date +%s.%N)
echo "natlab: ${#scenarios[@]} scenario(s) -> $out" >&2
./build/natlab run ${jobs:+-j "$jobs"} --out "$out" "${scenarios[@]}" >/dev/null
rc=$?
end=$(date +%s.%N)
ln -sfn "$run_id" results/latest
if [ "$rc" = 130 ]; then
	echo "run_all.sh: interrupted; the records so far are in $out/attempts.jsonl" >&2
	exit 130
fi
[ "$rc" = 0 ] || { echo "run_all.sh: natlab run failed ($rc)" >&2; exit 1; }
./build/natlab check "$out" >"$out/check.txt" 2>&1
check=$?
cat "$out/check.txt"

attempts=$(wc -l <"$out/attempts.jsonl")
wall=$(awk "BEGIN{printf \"%.1f\", $end - $start}")
btest="not run"
if [ "$behaviour" = 1 ]; then
	# they mostly wait out NAT timeouts of seconds: three workers a core (21 s with
	# one a core, 11-15 s with three, 2026-12-02)
	/usr/bin/python3 -m pytest -c tests/pytest.ini -n "$(($(nproc) * 3))" -p no:cacheprovider \
		tests/test_mapping.py tests/test_filtering.py >"$out/behaviour.txt" 2>&1
	bt=$?
	btest=$(grep -E "[0-9]+ (passed|failed|error)" "$out/behaviour.txt" | tail -n 1 | tr -d "=")
else
	bt=0
fi

# meta.json: what ran, on what, with which inputs, ahead of natlab run's part (what
# the run did and how precisely it kept time), as JSON by jq, not by hand
scenarios_json=$(for s in "${scenarios[@]}"; do
	seed=$(sed -n 's/^[[:space:]]*seed[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$s" | head -n 1)
	jq -n --arg file "$s" --arg sha "$(sha256sum "$s" | cut -d' ' -f1)" --argjson seed "${seed:-0}" \
		'{file: $file, sha256: $sha, seed: $seed}'
done | jq -s .)
jq --arg run_id "$run_id" --arg kernel "$(uname -sr)" --arg machine "$(uname -m), $(nproc) cores" \
	--arg natlab "$(git describe --always --dirty 2>/dev/null || echo unknown)" \
	--arg nft "$(nft --version 2>/dev/null)" --arg cc "$(cc --version | head -n 1)" \
	--arg gnuplot "$(gnuplot --version 2>/dev/null)" \
	--arg libpcap "$(dpkg-query -W -f='${Version}' libpcap0.8 2>/dev/null)" \
	--arg jansson "$(pkg-config --modversion jansson 2>/dev/null)" \
	--argjson jobs "${jobs:-null}" --argjson scenarios "$scenarios_json" \
	--arg profiles "$(cat natsim/profiles/*.profile | sha256sum | cut -d' ' -f1)" \
	--argjson attempts "$attempts" --argjson wall "$wall" \
	--arg check "$(tail -n 1 "$out/check.txt")" --arg behaviour "$btest" \
	'{run_id: $run_id, kernel: $kernel, machine: $machine, natlab: $natlab,
	  tools: {nft: $nft, cc: $cc, gnuplot: $gnuplot, libpcap: $libpcap, jansson: $jansson},
	  jobs: $jobs, scenarios: $scenarios, profiles_sha256: $profiles, attempts: $attempts,
	  wall_s: $wall, check: $check, behaviour: $behaviour} + .' "$out/meta.json" >"$out/meta.json.new" &&
	mv "$out/meta.json.new" "$out/meta.json"

./build/natlab report "$out" || exit 1
# the impairment scenarios: rates and first tries with their intervals, a report of
# their own; chance decides their cells, so no verdicts are checked
if [ "$long" = 1 ]; then
	echo "natlab: impairment scenarios (scenarios/long) -> $out/long" >&2
	./build/natlab run ${jobs:+-j "$jobs"} --out "$out/long" scenarios/long/*.ini >/dev/null &&
		./build/natlab report "$out/long" || { echo "run_all.sh: the impairment scenarios failed" >&2; exit 1; }
	echo "natlab: impairment report: $out/long/report.md" >&2
fi
printf 'natlab: %d records in %.1f s (%.1f attempts/s); report: %s/report.md\n' \
	"$attempts" "$wall" "$(awk "BEGIN{print $attempts / $wall}")" "$out" >&2
echo "natlab: NAT behaviour suite: $btest" >&2
[ "$check" = 0 ] && [ "$bt" = 0 ]
