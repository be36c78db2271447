#!/bin/bash
# linux_guest_read.sh - what reading a real Debian 6.1 guest costs: boot to
# /init's first report, xds-lua's first attach (profile built from the
# vmlinux's DWARF) against a cached one, and the wall time of one snapshot
# (task list + every run queue) over 200 refreshes in one process.  Boots
# one guest with scripts/linux-guest (2 vCPUs, KASLR), then the snapshot
# beside the floor and the QMP pause on it; measures, never
# asserts.  Prints a skip message and exits 0 without qemu or kernel files.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
T=$(mktemp -d /tmp/xds-bench-guest-XXXXXX)
export XDS_GUEST_DIR=$T/guests XDG_CACHE_HOME=$T/cache
name=bench$$
trap 'scripts/linux-guest stop "$name"; rm -rf "$T"' EXIT
skip() { echo "linux_guest_read: SKIP: $*"; exit 0; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
[ -x "$B/xds-lua" ] || skip "$B/xds-lua is not built"
scripts/linux-guest prepare || skip "cannot prepare the guest"

t0=$(now)
spec=$(scripts/linux-guest start "$name" --vcpus 2 --watch $$ --lifetime 300 --timeout 120) ||
	{ echo "linux_guest_read: the guest did not boot"; exit 1; }
echo "boot to the first report:         $(since "$t0") s"
for what in "first attach (profile built)" "attach (profile cached)     "; do
	t0=$(now)
	"$B/xds-lua" --qemu "$spec" -e 'assert(#xds.tasks() > 0)' || exit 1
	echo "$what:    $(since "$t0") s"
done
"$B/xds-lua" --qemu "$spec" -e '
	local n, d, t0 = 200, xds.domains()[1], xds.time()
	local tasks = 0
	for _ = 1, n do
		xds.refresh()
		tasks = #xds.tasks()
		for cpu = 0, d.vcpus - 1 do xds.runqueue(d.name, cpu) end
	end
	print(string.format("one snapshot (%d tasks, %d run queues): %.3f ms",
		tasks, d.vcpus, (xds.time() - t0) * 1e3 / n))'
# the same guest beside the floor (bench/floor.c: the same fields by a plain
# loop over the same RAM), and the pause a change takes: QMP query-status and
# stop in one round trip, then cont
make -s "$B/bench/floor" || exit 1
"$B/bench/floor" "qemu:$spec" "$B/xds-sim" 201 0 | awk '
	/snapshot/ { s = $6; f = $9; printf "real guest beside the floor: %s\n", $0
		     printf "real guest snapshot %.1f ns/task vs floor %.1f ns/task: ratio %.2f (goal within 3: %s)\n", s, f, s / f, s / f <= 3 ? "holds" : "NOT MET"; next }
	{ print "real guest " $0 }'
