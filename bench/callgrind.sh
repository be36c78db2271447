#!/bin/bash
# callgrind.sh - instruction counts, which do not depend on the machine's
# load: the snapshot of 8 domains x 500 tasks (xds_host_snapshot) beside
# the floor walk (bench/floor.c) per task, and a whole tick's snapshot and
# apply (bench/floor.c's tick: 2 changed domains, 6 operations) per tick.
# Skips without valgrind.  Prints figures; asserts nothing.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
command -v valgrind >/dev/null || { echo "callgrind: SKIP: valgrind is not installed"; exit 0; }
make -s "$B/bench/floor" "$B/xds-sim" || exit 1
T=$(mktemp -d /tmp/xds-bench-cg-XXXXXX)
trap 'rm -rf "$T"' EXIT

# count FUNCTION ARGS...: instructions inside FUNCTION (and what it calls), summed
count() {
	local fn=$1; shift
	valgrind --tool=callgrind --collect-atstart=no --toggle-collect="$fn" \
		--callgrind-out-file="$T/cg.%p" "$@" >/dev/null 2>&1
	local f
	f=$(ls -S "$T"/cg.* | head -1)
	callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }'
	rm -f "$T"/cg.*
}

N=20 TICKS=20 TASKS=4000
snap=$(count xds_host_snapshot "$B/bench/floor" bench/host8x500.lua "$B/xds-sim" $N 0)
floor=$(count "floor_walk*" "$B/bench/floor" bench/host8x500.lua "$B/xds-sim" $N 0)
tsnap=$(count xds_sched_snapshot "$B/bench/floor" bench/host8x500.lua "$B/xds-sim" 1 $TICKS)
tapply=$(count xds_sched_apply "$B/bench/floor" bench/host8x500.lua "$B/xds-sim" 1 $TICKS)
# floor.c takes N+1 host snapshots (one to warm up) and N floor walks of 8 guests
awk -v s="$snap" -v f="$floor" -v ts="$tsnap" -v ta="$tapply" -v n=$N -v k=$TICKS -v t=$TASKS 'BEGIN {
	sp = s / (n + 1) / t; fp = f / n / t
	printf "callgrind, 8 x 500 tasks: snapshot %.0f instructions per task, floor %.0f, ratio %.2f\n", sp, fp, sp / fp
	printf "callgrind, one tick of 8 x 500 tasks, 2 domains changed: snapshot %.2f M instructions, apply %.2f M, whole %.2f M\n",
		ts / k / 1e6, ta / k / 1e6, (ts + ta) / k / 1e6 }'
