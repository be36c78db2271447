#!/bin/bash
# sim_speed.sh - how fast the simulator runs: virtual seconds simulated per
# wall-clock second, for paper.lua (2 domains, 3 tasks, 1 pCPU) and
# large.lua (4 domains x 2 vCPUs x ~500 tasks, 2 pCPUs).  Each runs
# `xds-sim SCENARIO --run 10s` untouched (best of 3) and prints a line like
# "paper.lua: 10 s virtual in 0.030 s real: ratio 330x".  A benchmark, not
# a test: it prints and exits 0 unless xds-sim fails.  Run after `make`.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
SIM=$B/xds-sim
VIRT=10
[ -x "$SIM" ] || { echo "sim_speed: $SIM is not built (run make)" >&2; exit 1; }

now() { date +%s.%N; }

for s in paper large; do
	best=
	for _ in 1 2 3; do
		t0=$(now)
		if ! "$SIM" "sim/scenarios/$s.lua" --run "${VIRT}s" >/dev/null; then
			echo "sim_speed: $SIM sim/scenarios/$s.lua --run ${VIRT}s failed" >&2
			exit 1
		fi
		t1=$(now)
		best=$(awk -v a="$t0" -v b="$t1" -v best="$best" \
			'BEGIN { t = b - a; print (best == "" || t < best + 0) ? t : best }')
	done
	awk -v s="$s.lua" -v v="$VIRT" -v t="$best" \
		'BEGIN { printf "%s: %d s virtual in %.3f s real: ratio %.0fx\n", s, v, t, v / t }'
done
