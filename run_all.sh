#!/bin/bash
# The main job. On a fresh machine: installs what is missing, builds, runs the
# punching suite (scenarios/suite/*.ini, or the scenarios named) with labs side
# by side, writes results/<run-id>/ (records, tables, windows, plots, pcaps of
# failed attempts, meta.json, report.md), checks the verdicts against
# scenarios/expected, runs the NAT behaviour suite and points results/latest at
# the run. Exit 0 when every cell is as expected and every behaviour test passed.
set -uo pipefail
cd "$(dirname "$0")"

usage="usage: ./run_all.sh [-j N] [--no-behaviour] [SCENARIO.ini...]"
jobs=""   # natlab run chooses from the cores and the timer precision it measures
behaviour=1
scenarios=()
while [ $# -gt 0 ]; do
	case $1 in
	-j) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; jobs=$2; shift ;;
	-j*) jobs=${1#-j} ;;
	--no-behaviour) behaviour=0 ;;
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
	/usr/bin/python3 -m pytest -c tests/pytest.ini -n "$(nproc)" -p no:cacheprovider \
		tests/test_mapping.py tests/test_filtering.py >"$out/behaviour.txt" 2>&1
	bt=$?
	btest=$(grep -E "[0-9]+ (passed|failed|error)" "$out/behaviour.txt" | tail -n 1 | tr -d "=")
else
	bt=0
fi

# meta.json: what ran, on what, with which inputs, and (natlab run's part, kept as
# it wrote it) what the run did and how precisely it kept time
jstr() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\n')"; }
{
	echo "{"
	echo "  \"run_id\": $(jstr "$run_id"),"
	echo "  \"kernel\": $(jstr "$(uname -sr)"),"
	echo "  \"machine\": $(jstr "$(uname -m), $(nproc) cores"),"
	echo "  \"natlab\": $(jstr "$(git describe --always --dirty 2>/dev/null || echo unknown)"),"
	echo "  \"tools\": {"
	echo "    \"nft\": $(jstr "$(nft --version 2>/dev/null)"),"
	echo "    \"cc\": $(jstr "$(cc --version | head -n 1)"),"
	echo "    \"gnuplot\": $(jstr "$(gnuplot --version 2>/dev/null)"),"
	echo "    \"libpcap\": $(jstr "$(dpkg-query -W -f='${Version}' libpcap0.8 2>/dev/null)"),"
	echo "    \"jansson\": $(jstr "$(pkg-config --modversion jansson 2>/dev/null)")"
	echo "  },"
	echo "  \"jobs\": ${jobs:-null},"
	echo "  \"scenarios\": ["
	n=0
	for s in "${scenarios[@]}"; do
		n=$((n + 1))
		seed=$(sed -n 's/^[[:space:]]*seed[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$s" | head -n 1)
		printf '    {"file": %s, "sha256": %s, "seed": %s}%s\n' "$(jstr "$s")" \
			"$(jstr "$(sha256sum "$s" | cut -d' ' -f1)")" "${seed:-0}" \
			"$([ $n -lt ${#scenarios[@]} ] && echo ,)"
	done
	echo "  ],"
	echo "  \"profiles_sha256\": $(jstr "$(cat natsim/profiles/*.profile | sha256sum | cut -d' ' -f1)"),"
	echo "  \"attempts\": $attempts,"
	echo "  \"wall_s\": $wall,"
	echo "  \"check\": $(jstr "$(tail -n 1 "$out/check.txt")"),"
	echo "  \"behaviour\": $(jstr "$btest"),"
	tail -n +2 "$out/meta.json"
} >"$out/meta.json.new" && mv "$out/meta.json.new" "$out/meta.json"

./build/natlab report "$out" || exit 1
printf 'natlab: %d records in %.1f s (%.1f attempts/s); report: %s/report.md\n' \
	"$attempts" "$wall" "$(awk "BEGIN{print $attempts / $wall}")" "$out" >&2
echo "natlab: NAT behaviour suite: $btest" >&2
[ "$check" = 0 ] && [ "$bt" = 0 ]
