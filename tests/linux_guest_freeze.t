#!/bin/bash
# linux_guest_freeze.t - xds-lua freezes and thaws tasks of a real Debian
# kernel under QEMU, and the guest agrees.  xds-lua runs
# tests/linux_guest_driver.lua, which ticks and takes commands from this
# script; the guest's own reports (scripts/guest/init: ps with TICKS =
# utime+stime every 2 s) and its control port (linux-guest run) are the
# other side.
#   Guest A (1 vCPU, busy1 busy2 hog sleeper burst in the root group):
#   - a queued busy loop (hog) is frozen off its run queue: its CPU time
#     stays flat in the guest's ps and in xds-lua's view while busy1 and
#     busy2 share the CPU; kill -9 from inside the guest does not end it
#     while frozen; after thaw the SIGKILL takes effect (it disappears);
#   - a running busy loop (busy1) takes the DESCHED path, settles frozen,
#     stays flat, and runs again after thaw;
#   - a sleeping task (burst) is requested frozen while asleep (pending),
#     is held when it wakes, stays flat, and runs again after thaw.
#   Guest B (2 vCPUs, autogroup on: every task in its own task group):
#   - 1000 freeze/thaw cycles ($LGFZ_CYCLES) over busy1 busy2 hog burst: each cycle
#     reaches frozen and is released; the guest keeps reporting;
#   - busy2 is frozen mid-run and xds-lua quits: the exit thaws it.
#   Both: every named task progresses at the end (nothing left frozen),
#   and the guest's log has no WARN, BUG, Oops or "psi: inconsistent".
# Skips (never fails) without qemu, a built xds-lua or the kernel files.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
T=$(mktemp -d /tmp/xds-lgfz-XXXXXX)
export XDS_GUEST_DIR=$T/guests
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-$T/cache}
running=
. tests/linux_guest_lib.sh
cleanup() {
	[ -n "$drv_pid" ] && kill "$drv_pid" 2>/dev/null && sleep 1
	[ -n "$running" ] && $G stop "$running"
	if [ -n "${XDS_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP


linux_guest_ready

# ---- the driver: xds-lua running tests/linux_guest_driver.lua ----
drv_start() {
	: >"$T/drv.cmd"; : >"$T/drv.out"
	"$B/xds-lua" --qemu "$1" --journal "$T/journal.$2" -e "DRV_CMD, DRV_OUT, DRV_LIFETIME = '$T/drv.cmd', '$T/drv.out', 400" \
		-e 'dofile "tests/linux_guest_driver.lua"' >"$T/drv.log" 2>&1 &
	drv_pid=$!
}
drv_stop() {
	drv quit 10 >/dev/null
	for _ in $(seq 50); do kill -0 "$drv_pid" 2>/dev/null || break; sleep 0.1; done
	kill "$drv_pid" 2>/dev/null
	wait "$drv_pid" 2>/dev/null
	local rc=$?
	drv_pid=
	return $rc
}

# ---- the guest's view ----
# ticks NAME COMM [SEQ]: TICKS of COMM in report SEQ (default last); empty if absent
ticks() { $G block "$1" "${3:-}" | awk -v c="$2" '$4 == c && NF == 4 { print $3; exit }'; }
# next_report NAME: waits for a report that begins after now; prints its seq
next_report() {
	local s
	s=$(( $($G seq "$1") + 2 ))
	$G wait "$1" "$s" 30 && echo "$s"
}
# grows NAME COMM S0 S1 MIN: COMM's TICKS grew by at least MIN from S0 to S1
grows() {
	local a b
	a=$(ticks "$1" "$2" "$3"); b=$(ticks "$1" "$2" "$4")
	[ -n "$a" ] && [ -n "$b" ] && [ $((b - a)) -ge "$5" ]
}
delta() {
	local a b
	a=$(ticks "$1" "$2" "$3"); b=$(ticks "$1" "$2" "$4")
	echo "$(( ${b:-0} - ${a:-0} )) (${a:-absent} -> ${b:-absent})"
}
klog_clean() {
	local klog
	klog=$($G klog "$1"; tr -d '\r' <"$XDS_GUEST_DIR/$1.log" |
		grep -E '^\[ *[0-9.]+\] .*(WARNING|BUG|Oops|psi: inconsistent)')
	[ -n "$klog" ] && echo "$klog" | head -20 | sed 's/^/# /'
	[ -z "$klog" ]
}
xds_cpu() { field "$(drv "show $1")" cputime; }

boot() {
	local name=$1; shift
	local spec
	spec=$($G start "$name" "$@" --watch $$ --lifetime 400 --timeout 120 2>"$T/$name.start.err")
	if [ -z "$spec" ]; then
		sed 's/^/# /' "$T/$name.start.err"
		return 1
	fi
	running=$name
	echo "$spec"
}

# frozen_flat NAME COMM LABEL: COMM stays flat for two reports, in both views
frozen_flat() {
	local name=$1 c=$2 label=$3 s0 s1 x0 x1 d
	s0=$(next_report "$name"); x0=$(xds_cpu "$c")
	s1=$((s0 + 2)); $G wait "$name" "$s1" 30; x1=$(xds_cpu "$c")
	d=$(delta "$name" "$c" "$s0" "$s1")
	[ "${d%% *}" -le 1 ] && [ -n "$(ticks "$name" "$c" "$s1")" ]
	ok $? "$label: $c's CPU time stays flat in the guest's ps over 4 s while frozen (+$d ticks)"
	awk -v a="${x0:-x}" -v b="${x1:-x}" 'BEGIN { exit !(a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/ && b - a < 1e7) }'
	ok $? "$label: and in xds-lua's view (${x0:-?} -> ${x1:-?} ns)"
	FLAT_S0=$s0 FLAT_S1=$s1
}

# runs_again NAME COMM LABEL: COMM's TICKS grow over the next two reports
runs_again() {
	local s0 s1
	s0=$(next_report "$1"); s1=$((s0 + 1)); $G wait "$1" "$s1" 30
	grows "$1" "$2" "$s0" "$s1" "${4:-20}"
	ok $? "$3: $2 runs again after thaw (+$(delta "$1" "$2" "$s0" "$s1") ticks in 2 s)"
}

# ---- guest A: the three situations, SIGKILL ----
a=fzA-$$
if [ "${LGFZ_ONLY:-A}" != A ]; then
	:
elif spec=$(boot "$a" --vcpus 1 --noautogroup); then
	ok 0 "guest A (1 vCPU) boots"
	drv_start "$spec" A
	hog=$($G pid "$a" hog)
	r=$(drv "freeze hog queued" 120); ok $? "A: hog frozen while queued, not running: dequeued at once ($r)"
	frozen_flat "$a" hog "A queued"
	for c in busy1 busy2; do
		grows "$a" "$c" "$FLAT_S0" "$FLAT_S1" 60
		ok $? "A: $c shares the CPU meanwhile (+$(delta "$a" "$c" "$FLAT_S0" "$FLAT_S1") ticks in 4 s)"
	done
	out=$($G run "$a" "kill -9 $hog" 20); ok $? "A: kill -9 $hog (hog) from inside the guest succeeds ($out)"
	s=$(next_report "$a"); s=$((s + 1)); $G wait "$a" "$s" 30
	[ -n "$(ticks "$a" hog "$s")" ] && [ "$(field "$(drv "show hog")" pid)" = "$hog" ]
	ok $? "A: the frozen hog is still there a few seconds after SIGKILL (guest report $s, xds-lua: $(drv "show hog"))"
	r=$(drv "thaw hog"); ok $? "A: hog thawed ($r)"
	gone=
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		$G run "$a" "[ ! -d /proc/$hog ]" 10 >/dev/null && { gone=1; break; }
		sleep 0.5
	done
	s=$(next_report "$a")
	[ -n "$gone" ] && [ -z "$(ticks "$a" hog "$s")" ] && [ "$(drv "show hog")" = gone ]
	ok $? "A: after thaw the SIGKILL takes effect: hog is gone (guest ps, /proc, xds-lua)"

	r=$(drv "freeze busy1 running" 120); ok $? "A: busy1 frozen while running in user mode: DESCHED path ($r)"
	r=$(drv "settle busy1"); ok $? "A: busy1 then settles frozen ($r)"
	frozen_flat "$a" busy1 "A running"
	grows "$a" busy2 "$FLAT_S0" "$FLAT_S1" 60
	ok $? "A: busy2 runs meanwhile (+$(delta "$a" busy2 "$FLAT_S0" "$FLAT_S1") ticks)"
	r=$(drv "thaw busy1"); ok $? "A: busy1 thawed ($r)"
	runs_again "$a" busy1 "A running"

	r=$(drv "freeze burst sleeping" 120); ok $? "A: burst requested frozen while asleep: pending ($r)"
	r=$(drv "settle burst 500"); ok $? "A: burst is held when it wakes ($r)"
	frozen_flat "$a" burst "A sleeping"
	r=$(drv "thaw burst"); ok $? "A: burst thawed ($r)"
	runs_again "$a" burst "A sleeping" 3

	drv_stop; ok $? "A: xds-lua ends cleanly"
	s0=$(next_report "$a"); s1=$((s0 + 1)); $G wait "$a" "$s1" 30
	for c in busy1 busy2 burst; do
		grows "$a" "$c" "$s0" "$s1" 3
		ok $? "A end: $c progresses (+$(delta "$a" "$c" "$s0" "$s1") ticks in 2 s)"
	done
	[ "$($G block "$a" "$s1" | awk '$4 == "sleeper" { print $2 }')" = S ]
	ok $? "A end: sleeper is there and sleeping"
	klog_clean "$a"; ok $? "A: no WARN, BUG, Oops or psi warning in the guest's log"
	$G stop "$a"; running=
else
	ok 1 "guest A (1 vCPU) boots"
fi

# ---- guest B: 1000 cycles with autogroup on 2 vCPUs ----
b=fzB-$$
cycles=${LGFZ_CYCLES:-1000}
if [ "${LGFZ_ONLY:-B}" != B ]; then
	:
elif spec=$(boot "$b" --vcpus 2 --autogroup); then
	ok 0 "guest B (2 vCPUs, autogroup) boots"
	drv_start "$spec" B
	s0=$($G seq "$b")
	r=$(drv "cycles $cycles 60 busy1 busy2 hog burst" 300)
	rc=$?
	diag "B: $r"
	# a cycle may catch a sleeper (burst) asleep for its whole window: by
	# design it is frozen only when it wakes, so such a miss is no failure;
	# any other miss, or a task left stuck, is
	frozen=$(field "$r" frozen | head -1) missed=$(field "$r" missed) asleep=$(field "$r" asleep)
	[ "$rc" = 0 ] && [ "$(field "$r" cycles)" = "$cycles" ] && [ "$((${frozen:-0} + ${asleep:-0}))" = "$cycles" ] &&
		[ "$missed" = "$asleep" ] && [ "$(field "$r" stuck)" = 0 ] && [ "${asleep:-99}" -le $((cycles / 50 > 5 ? cycles / 50 : 5)) ]
	ok $? "B: $cycles freeze/thaw cycles, each frozen and released (${asleep:-?} caught a sleeper asleep)"
	s1=$($G seq "$b")
	[ $((s1 - s0)) -ge 3 ]
	ok $? "B: the guest kept reporting during the cycles (reports $s0 -> $s1 in $(field "$r" seconds) s)"
	r=$(drv "freeze busy2 running" 120); ok $? "B: busy2 frozen mid-run ($r)"
	drv_stop; ok $? "B: xds-lua quits with busy2 held"
	s0=$(next_report "$b"); s1=$((${s0:-0} + 1))
	[ -n "$s0" ] && $G wait "$b" "$s1" 30
	ok $? "B end: the guest reports again after xds-lua quit (last report $($G seq "$b"))"
	for c in busy1 busy2 hog burst; do
		grows "$b" "$c" "$s0" "$s1" 3
		ok $? "B end: $c progresses (+$(delta "$b" "$c" "$s0" "$s1") ticks in 2 s)"
	done
	klog_clean "$b"; ok $? "B: no WARN, BUG, Oops or psi warning in the guest's log"
	$G stop "$b"; running=
else
	ok 1 "guest B (2 vCPUs, autogroup) boots"
fi
echo "1..$n"
