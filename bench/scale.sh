#!/bin/bash
# scale.sh - snapshot and tick cost per task for 1, 2, 4, 8, 16 domains x
# 100, 500, 2000 tasks (scenarios generated here, shaped like
# bench/host8x500.lua), the snapshot beside the floor (bench/floor.c: the
# same fields read by a plain loop over the same RAM) for 8 x 500, and the
# RSS of xds-lua holding a snapshot of 16 x 2000 tasks.  Prints the table
# and whether each goal holds; asserts nothing.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
make -s "$B/bench/floor" "$B/xds-lua" "$B/xds-sim" || exit 1
T=$(mktemp -d /tmp/xds-bench-scale-XXXXXX)
trap 'rm -rf "$T"' EXIT

scenario() {    # domains tasks -> file
	local f=$T/host$1x$2.lua ram=64M
	[ "$2" -gt 500 ] && ram=128M
	cat >"$f" <<LUA
host { pcpus = 2 }
for d = 1, $1 do
  local dom = "VM" .. d
  domain { name = dom, vcpus = 2, ram = "$ram" }
  for i = 1, 4 do task { dom = dom, comm = "crunch" .. i, run = cpu() } end
  for i = 1, $2 - 5 do
    task { dom = dom, comm = "w" .. i, run = periodic { run = "1ms", sleep = (50 + i % 200) .. "ms" } }
  end
end
LUA
	echo "$f"
}

echo "snapshot and tick cost per task (median of 15 snapshots, mean of 10 ticks with 2 changed domains):"
printf "%8s %8s %12s %12s %14s\n" domains tasks snapshot floor tick
rows=$T/rows
for d in 1 2 4 8 16; do
	for t in 100 500 2000; do
		line=$("$B/bench/floor" "$(scenario $d $t)" "$B/xds-sim" 15 10) || { echo "scale: $d x $t failed"; exit 1; }
		set -- $line
		# "D domains, N tasks: snapshot S ns/task, floor F ns/task, ratio R; tick K ns/task ..."
		printf "%8s %8s %9s ns %9s ns %11s ns\n" "$d" "$t" "$6" "$9" "${14}"
		echo "$d $t $6 $9 ${14}" >>"$rows"
	done
done
awk '{ s = $3 + 0; k = $5 + 0
       if (NR == 1 || s < smin) smin = s; if (NR == 1 || s > smax) smax = s
       if (NR == 1 || k < kmin) kmin = k; if (NR == 1 || k > kmax) kmax = k }
     END { printf "snapshot per task: %.1f to %.1f ns, ratio %.2f (goal within 1.5: %s)\n", smin, smax, smax / smin, smax / smin <= 1.5 ? "holds" : "NOT MET"
           printf "tick per task: %.1f to %.1f ns, ratio %.2f (goal within 1.5: %s)\n", kmin, kmax, kmax / kmin, kmax / kmin <= 1.5 ? "holds" : "NOT MET" }' "$rows"

line=$("$B/bench/floor" bench/host8x500.lua "$B/xds-sim" 101 0) || exit 1
set -- $line
awk -v s="$6" -v f="$9" 'BEGIN { printf "snapshot of 8 x 500 beside the floor: %.1f ns/task vs %.1f ns/task, ratio %.2f (goal within 3: %s)\n", s, f, s / f, s / f <= 3 ? "holds" : "NOT MET" }'

rss=$( { /usr/bin/time -f "%M" "$B/xds-lua" --sim "$(scenario 16 2000)" -e 'xds.refresh(); assert(#xds.tasks() > 30000)' >/dev/null; } 2>&1 | tail -1)
echo "RSS of xds-lua with a snapshot of 16 x 2000 tasks: $((rss / 1024)) MiB ($rss KiB)"
