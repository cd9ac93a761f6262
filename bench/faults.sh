#!/bin/bash
# Labs never collide or leak under any kill (issue 13): N cycles (default 1000, first
# argument) in two run directories at once, each cycle one of: up + down; down as
# soon as the lab's bookkeeping appears, while up still builds; SIGKILL of up at a
# random point of its build; SIGKILL of down at a random point; and every 25th a
# SIGKILL of `natlab run -j 4` while its labs work. Then `natlab down --stale` in
# each directory, and the counts: namespaces of these labs, natlab processes of this
# checkout, files left in the run directories, name collisions, and commands that
# failed when nothing killed them. Labs that a killed down left intact are still up
# (listed, usable, not stale): counted apart, then taken down. Exit 0 when every
# count is 0. `make check` runs it with 40 cycles.
set -u
cd "$(dirname "$0")/.."
N=${1:-1000}
NATLAB=$PWD/build/natlab
[ "$(id -u)" = 0 ] || { echo "faults.sh: needs root" >&2; exit 1; }
[ -x "$NATLAB" ] || { echo "faults.sh: $NATLAB is missing: run make" >&2; exit 1; }

tmp=$(mktemp -d)
tag=flt$(printf '%04x' $((RANDOM)))
dirs=("$tmp/A" "$tmp/B")
mkdir -m 0700 "${dirs[@]}" "$tmp/out"
sed "s/^name = bench/name = $tag/" scenarios/bench.ini >"$tmp/lab.ini"
cat >"$tmp/run.ini" <<EOF
[lab]
name = ${tag}r
[matrix]
profiles = full-cone, port-restricted-cone, symmetric
rtt_ms = 20
strategies = so, udp
repeat = 2
deadline_s = 1.5
EOF
cleanup() {
	for d in "${dirs[@]}"; do NATLAB_RUN_DIR=$d "$NATLAB" down --all >/dev/null 2>&1; done
	rm -rf "$tmp"
}
trap cleanup EXIT

wires_up() { # the wires of the labs still up: theirs to keep
	local d ids
	for d in "${dirs[@]}"; do
		ids=$(NATLAB_RUN_DIR=$d "$NATLAB" list | awk -v d="$d" '{print d "/" $1 ".json"}')
		[ -z "$ids" ] || jq -r '.wire.pid // 0' $ids 2>/dev/null
	done
}
ours() { # natlab processes of this checkout (the wire is a fork of natlab), but those
	local n=0 p exe keep
	keep=" $(wires_up | tr '\n' ' ') "
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case $keep in *" ${p#/proc/} "*) continue ;; esac
		case $exe in "$NATLAB" | "$PWD/build/natlab-probe")
			n=$((n + 1))
			[ -z "${SHOW_PROCS:-}" ] || echo "faults.sh: left running: ${p#/proc/} $(tr '\0' ' ' <"$p/cmdline")" >&2 ;;
		esac
	done
	echo "$n"
}
rand_us() { echo $((RANDOM % $1)); } # 0 .. $1-1

collisions=0 failed=0 kills=0
fail() { # a command failed that nothing killed: count it and keep what it said
	failed=$((failed + 1))
	{ echo "cycle $i ($1):"; sed 's/^/  /' "$tmp/err"; } >>"$tmp/failed"
}
declare -A done_ops
start=${EPOCHREALTIME/./}
for ((i = 0; i < N; i++)); do
	export NATLAB_RUN_DIR=${dirs[RANDOM % 2]}
	op=$((RANDOM % 4))
	((i % 25 == 24)) && op=4
	case $op in
	0) # up + down
		if lab=$("$NATLAB" up "$tmp/lab.ini" 2>"$tmp/err"); then
			"$NATLAB" down "$lab" 2>>"$tmp/err" || fail "down after up"
		else
			fail "up"
		fi ;;
	1) # down while up builds
		before=$(ls "$NATLAB_RUN_DIR")
		"$NATLAB" up "$tmp/lab.ini" >/dev/null 2>"$tmp/err" &
		up=$!
		lab=
		t=0
		while [ -z "$lab" ] && [ $t -lt 2000 ]; do
			# this up's lab, not one of a killed run's labs that its workers still tear down
			lab=$(ls "$NATLAB_RUN_DIR" | grep -vxF -e "$before" | sed -n "s/^\($tag-[0-9a-f]*\)\.json\$/\1/p" | head -1)
			t=$((t + 1))
		done
		[ -n "$lab" ] && { "$NATLAB" down "$lab" 2>>"$tmp/err" || fail "down during up"; }
		wait $up || fail "up under a down" ;;
	2) # SIGKILL of up
		"$NATLAB" up "$tmp/lab.ini" >/dev/null 2>"$tmp/err" &
		up=$!
		usleep=$(rand_us 40000)
		sleep "0.$(printf '%06d' "$usleep")"
		kill -9 $up 2>/dev/null && kills=$((kills + 1))
		wait $up 2>/dev/null ;;
	3) # SIGKILL of down
		if lab=$("$NATLAB" up "$tmp/lab.ini" 2>"$tmp/err"); then
			"$NATLAB" down "$lab" 2>/dev/null &
			dn=$!
			sleep "0.$(printf '%06d' "$(rand_us 3000)")"
			kill -9 $dn 2>/dev/null && kills=$((kills + 1))
			wait $dn 2>/dev/null
		else
			fail "up before a killed down"
		fi ;;
	4) # SIGKILL of natlab run -j 4
		"$NATLAB" run -j 4 --out "$tmp/out/$i" "$tmp/run.ini" >/dev/null 2>&1 &
		run=$!
		sleep "$((RANDOM % 2)).$(printf '%03d' $((RANDOM % 1000)))"
		kill -9 $run 2>/dev/null && kills=$((kills + 1))
		wait $run 2>/dev/null ;;
	esac
	done_ops[$op]=$((${done_ops[$op]:-0} + 1))
	grep -q "File exists" "$tmp/err" 2>/dev/null && collisions=$((collisions + 1))
done
elapsed=$(((${EPOCHREALTIME/./} - start) / 1000))

# a killed run's workers see their parent gone and end after their attempt (the
# wires of labs whose up was killed stay until down --stale: not waited for here)
runs_left() {
	local p n=0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$NATLAB" ] || continue
		case $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) in *" run "*) n=$((n + 1)) ;; esac
	done
	echo "$n"
}
for ((t = 0; t < 100; t++)); do
	[ "$(runs_left)" = 0 ] && break
	sleep 0.1
done
# what a kill left in the middle of its work is reaped once it is 5 s old (a
# younger one may still be some natlab's work in progress)
sleep 6
still_up=0
for d in "${dirs[@]}"; do
	NATLAB_RUN_DIR=$d "$NATLAB" down --stale >/dev/null 2>>"$tmp/stale.err" || failed=$((failed + 1))
	still_up=$((still_up + $(NATLAB_RUN_DIR=$d "$NATLAB" list | wc -l)))
	[ -n "${FAULTS_SHOW:-}" ] && NATLAB_RUN_DIR=$d "$NATLAB" list | while read -r id rest; do
		echo "still up: $id $rest"
		/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print({k: d[k] for k in d if k != "nodes"})' "$d/$id.json"
		ip netns list 2>/dev/null | grep "^$id" | tr '\n' ' '; echo
		NATLAB_RUN_DIR=$d "$NATLAB" show "$id" >/dev/null
	done
done
sleep 0.5 # the last killed wires close their sockets
procs=$(SHOW_PROCS=1 ours)
files=0
for d in "${dirs[@]}"; do
	# the labs still up keep their files; nothing else may stay
	keep=$(NATLAB_RUN_DIR=$d "$NATLAB" list | awk '{print $1}')
	for f in "$d"/* "$d"/.[!.]*; do
		[ -e "$f" ] || continue
		b=$(basename "$f")
		printf '%s\n' "$keep" | grep -qxF "${b%%.*}" || {
			files=$((files + 1))
			echo "faults.sh: left behind: $f" >&2
		}
	done
done
# namespaces of no lab still up
ns=0
for n in $(ip netns list | awk '{print $1}' | grep "^$tag"); do
	lab=${n%-*}
	up=0
	for d in "${dirs[@]}"; do
		NATLAB_RUN_DIR=$d "$NATLAB" list | awk '{print $1}' | grep -qxF "$lab" && up=1
	done
	[ $up = 1 ] || ns=$((ns + 1))
done
for d in "${dirs[@]}"; do NATLAB_RUN_DIR=$d "$NATLAB" down --all >/dev/null 2>&1; done

printf 'faults.sh: %d cycles in %d ms (up+down %d, down during up %d, kill up %d, kill down %d, kill run -j 4 %d; %d processes killed)\n' \
	"$N" "$elapsed" "${done_ops[0]:-0}" "${done_ops[1]:-0}" "${done_ops[2]:-0}" "${done_ops[3]:-0}" \
	"${done_ops[4]:-0}" "$kills"
printf 'faults.sh: after down --stale: namespaces %d, natlab processes %d, files %d, collisions %d, failed commands %d; labs still up (a killed up that had finished, a killed down that had not begun) %d\n' \
	"$ns" "$procs" "$files" "$collisions" "$failed" "$still_up"
[ -s "$tmp/failed" ] && sed 's/^/faults.sh: failed: /' "$tmp/failed"
[ -s "$tmp/stale.err" ] && sed 's/^/faults.sh: down --stale: /' "$tmp/stale.err"
[ "$ns" = 0 ] && [ "$procs" = 0 ] && [ "$files" = 0 ] && [ "$collisions" = 0 ] && [ "$failed" = 0 ]
