#!/bin/bash
# A sweep bigger than one machine, on GNU parallel: N shards of natlab run, then
# natlab merge (docs/shards.md).
#   examples/shards/parallel.sh N OUT SCENARIO...
# runs `natlab run --shard I/N --out OUT/shard-I SCENARIO...` for I = 1..N, then
# `natlab merge OUT/shard-* --out OUT/merged`. On this machine the shards run
# one after another (each natlab run keeps every core busy already). With
#   HOSTS=alice,bob examples/shards/parallel.sh ...
# they run over ssh on those hosts (parallel --sshlogin), one shard per host at
# a time, and each shard's directory comes back (--return). Each host needs
# natlab installed, root, and the scenario files at the same path. NATLAB names
# the natlab to run (default: natlab on the PATH).
set -eu
[ $# -ge 3 ] || { echo "usage: $0 N OUT SCENARIO..." >&2; exit 2; }
N=$1 OUT=$2
shift 2
case $N in '' | *[!0-9]* | 0) echo "$0: N must be a number from 1, got '$N'" >&2; exit 2 ;; esac
[ ! -e "$OUT" ] || { echo "$0: $OUT exists; give a new directory" >&2; exit 2; }
NATLAB=${NATLAB:-natlab}
mkdir -p "$OUT"
# ':' is this machine; --halt: one failed shard stops the rest, and no merge
parallel --will-cite --sshlogin "${HOSTS:-:}" -j 1 --halt now,fail=1 --return "$OUT/shard-{}" --cleanup \
	"$NATLAB" run --shard "{}/$N" --out "$OUT/shard-{}" "$@" ::: $(seq 1 "$N") >/dev/null
shards=()
for ((i = 1; i <= N; i++)); do shards+=("$OUT/shard-$i"); done
"$NATLAB" merge "${shards[@]}" --out "$OUT/merged"
