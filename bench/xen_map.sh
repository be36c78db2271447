#!/bin/bash
# xen_map.sh - the xen backend's costs on the nested Xen host
# (scripts/xen-host, scripts/xen/scenario-bench.sh), beside the qemu
# backend's on the same Debian 6.1 kernel booted under plain QEMU
# (scripts/linux-guest, read through --qemu).  Both guests run the same
# tasks (db, bkup, web, sleeper1) on one vCPU.  Prints:
#   xen:  attach (banner search included), the first tick (a full
#         snapshot with every frame mapped afresh through
#         xenforeignmemory_map) and steady ticks (frames from the cache),
#         from the xen_ps driver; then xds-lua's own numbers (bench.lua:
#         first and steady snapshot, ticks of global_priority per phase,
#         pauses);
#   qemu: xds-lua's numbers from the same bench.lua;
# then the two side by side, also per unit of CPU (dom0 runs under
# software emulation: the policy phase, the same Lua, says how much
# slower its CPU is).
# Measures, never asserts; skips a side (exit 0) that cannot run here.
# XDS_XEN_GUESTS changes the domUs (default one PV domU, u1:pv);
# XDS_BENCH_TICKS the number of ticks (200).
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
GUESTS=${XDS_XEN_GUESTS:-u1:pv}
TICKS=${XDS_BENCH_TICKS:-200}
T=$(mktemp -d /tmp/xds-xen-bench-XXXXXX)
name=xbench$$
trap 'scripts/linux-guest stop "$name" >/dev/null 2>&1; rm -rf "$T"' EXIT
say() { echo "xen_map: $*"; }

XDS_XEN_TICKS=$TICKS scripts/xen-host run scenario-bench.sh --guests "$GUESTS" --dir "$T/xen" \
	--timeout 500 >"$T/xen.out" 2>&1
rc=$?
if [ $rc = 77 ]; then
	say "xen: SKIP: $(grep -o 'SKIP: .*' "$T/xen.out" | head -1)"
else
	tr -d '\r' < "$T/xen/serial.log" > "$T/xen.log"
	grep '^XEN-TIME\|^xen-ps: \(attached\|tick\|dom\)\|^BENCH' "$T/xen.log" | sed 's/^/xen_map: xen: /'
	awk '/^xen-ps: tick first/ { f = $4; s = $8
		if (s > 0) printf "xen_map: xen: first tick / steady tick = %.1f\n", f / s }' "$T/xen.log"
	[ $rc = 0 ] || { say "xen: the nested host failed (status $rc)"; sed 's/^/xen_map:   /' "$T/xen.out"; }
fi

if ! command -v qemu-system-x86_64 >/dev/null || ! scripts/linux-guest prepare >/dev/null 2>&1; then
	say "qemu: SKIP: cannot boot the plain QEMU guest"
	exit 0
fi
export XDS_GUEST_DIR=$T/guests
spec=$(scripts/linux-guest start "$name" --vcpus 1 --period 2 --watch $$ --lifetime 300 --timeout 120 \
	--tasks db:phases:3:1,bkup:busy,web:work:4:1,sleeper1:sleeper 2>"$T/qemu.err") ||
	{ say "qemu: the guest did not boot: $(tail -1 "$T/qemu.err")"; exit 0; }
t0=$(date +%s%N)
"$B/xds-lua" --qemu "$spec" --journal "$T/journal" -e 'assert(#xds.tasks() > 0)' >/dev/null 2>&1
say "qemu: attach and first ps: $(( ($(date +%s%N) - t0) / 1000000 )) ms (the profile cached)"
"$B/xds-lua" --qemu "$spec" --journal "$T/journal" --unsafe scripts/xen/bench.lua "$TICKS" \
	policies/global_priority.lua > "$T/qemu.bench" 2>&1
sed 's/^/xen_map: qemu: /' "$T/qemu.bench"

# Side by side.  The xen side runs in a dom0 under software emulation, the
# qemu side on this machine: the policy phase (the same Lua on the same
# snapshot size) measures how much slower dom0's CPU is, and the read costs
# are also given divided by that factor.
[ -f "$T/xen.log" ] || exit 0
awk '
function grab(line, key,    i, n, w) {
	n = split(line, w, " ")
	for (i = 1; i < n; i++) if (w[i] == key) { sub(/,$/, "", w[i + 1]); return w[i + 1] + 0 }
	return 0
}
FNR == 1 { side++ }
/BENCH snapshot/ { first[side] = grab($0, "first"); steady[side] = grab($0, "steady") }
/BENCH [0-9]+ ticks/ { tick[side] = grab($0, "mean"); policy[side] = grab($0, "policy") }
END {
	if (!steady[1] || !steady[2] || !policy[1] || !policy[2]) exit
	cpu = policy[1] / policy[2]
	printf "xen_map: xen / qemu: first snapshot %.1f, steady snapshot %.1f, tick %.1f\n",
		first[1] / first[2], steady[1] / steady[2], tick[1] / tick[2]
	printf "xen_map: dom0 under emulation runs the same policy %.1f times slower; per unit of CPU, xen / qemu: first snapshot %.2f, steady snapshot %.2f\n",
		cpu, first[1] / first[2] / cpu, steady[1] / steady[2] / cpu
}' <(grep '^BENCH' "$T/xen.log") "$T/qemu.bench"
