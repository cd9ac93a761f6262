#!/bin/bash
# The main job: on a fresh machine installs what is missing, builds, runs the
# NAT behaviour suite (every knob of every profile proven with real packets)
# and writes results/<run-id>/ and results/latest. The punching matrix and
# timing windows join it as the prober lands (issues 4 and 5).
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "run_all.sh: needs root (network namespaces, nftables)" >&2; exit 1; }
[ -d /proc/sys/net/netfilter ] || modprobe nf_conntrack 2>/dev/null || true
sh scripts/deps.sh
make -s all
run_id=$(date -u +%Y%m%dT%H%M%SZ)
out=results/$run_id
mkdir -p "$out"
echo "natlab: NAT behaviour suite -> $out" >&2
set +e
/usr/bin/python3 -m pytest -c tests/pytest.ini -n "$(nproc)" -p no:cacheprovider \
	--junitxml="$out/behaviour.xml" tests/test_mapping.py tests/test_filtering.py \
	2>&1 | tee "$out/behaviour.txt"
rc=${PIPESTATUS[0]}
set -e
{
	echo "# natlab run $run_id"
	echo
	echo "kernel $(uname -r), $(nft --version)"
	echo
	echo "NAT behaviour suite: $(tail -n 1 "$out/behaviour.txt")"
	echo
	echo "Each test builds a lab, sends real packets through a NAT profile and"
	echo "checks the mapping, allocation, filtering, unsolicited-SYN, SYN-in-SYN_SENT,"
	echo "hairpin, timeout or nesting behaviour the profile asks for."
	echo "Details: behaviour.txt, behaviour.xml (JUnit)."
} >"$out/report.md"
ln -sfn "$run_id" results/latest
echo "natlab: report in results/latest/report.md" >&2
exit "$rc"
