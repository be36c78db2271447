#!/bin/bash
# linux_guest_threads.t - threads of a real Debian kernel under QEMU (2
# vCPUs): the guest runs db, a process of 3 busy threads (scripts/guest/
# threads.c, its main thread asleep), beside busy1.  xds-lua must list
# every thread of db exactly as the guest's /proc/PID/task does, from
# the leader's signal->thread_head (not only off a run queue); one
# thread of db is frozen while its siblings keep running (the guest's
# per-thread ticks: the frozen one flat, the siblings growing), then
# thawed (it grows again); 500 reads back to back never fail; 1000
# freeze/thaw cycles ($LGTH_CYCLES) over db's three busy threads and busy1
# each reach frozen and are released; and the guest's log has no WARN,
# BUG, Oops or psi warning.  With $XDS_GUEST_APPEND (kernel parameters,
# e.g. preempt=full: tests/linux_guest_threads_preempt.t) the guest is
# booted with them, and a preempt= one is checked in its dmesg.  The driver is
# tests/linux_guest_driver.lua, as in linux_guest_freeze.t.
# Skips (never fails) without qemu, a built xds-lua or the kernel files.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
T=$(mktemp -d /tmp/xds-lgth-XXXXXX)
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

drv_start() {
	: >"$T/drv.cmd"; : >"$T/drv.out"
	"$B/xds-lua" --qemu "$1" --journal "$T/journal" -e "DRV_CMD, DRV_OUT, DRV_LIFETIME = '$T/drv.cmd', '$T/drv.out', 300" \
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
# tticks NAME TID [SEQ]: TICKS of thread TID in report SEQ (default last)
tticks() { $G block "$1" "${3:-}" | awk -v p="$2" '$1 == p { print $3; exit }'; }
next_report() {
	local s
	s=$(( $($G seq "$1") + 2 ))
	$G wait "$1" "$s" 30 && echo "$s"
}
tdelta() {
	local a b
	a=$(tticks "$1" "$2" "$3"); b=$(tticks "$1" "$2" "$4")
	echo "$(( ${b:-0} - ${a:-0} ))"
}
klog_clean() {
	local klog
	klog=$($G klog "$1"; tr -d '\r' <"$XDS_GUEST_DIR/$1.log" |
		grep -E '^\[ *[0-9.]+\] .*(WARNING|BUG|Oops|psi: inconsistent)')
	[ -n "$klog" ] && echo "$klog" | head -20 | sed 's/^/# /'
	[ -z "$klog" ]
}

a=thr-$$
spec=$($G start "$a" --vcpus 2 --noautogroup --tasks db:threads:3,busy1:busy --watch $$ --lifetime 300 \
	--timeout 120 2>"$T/start.err")
if [ -z "$spec" ]; then
	sed 's/^/# /' "$T/start.err"
	ok 1 "the guest (2 vCPUs, db of 3 threads) boots"
	echo "1..$n"
	exit 0
fi
running=$a
ok 0 "the guest (2 vCPUs, db of 3 threads) boots"
drv_start "$spec"
db=$($G pid "$a" db)
guest=$($G run "$a" "ls /proc/$db/task" 20 | sort -n | tr '\n' ',' | sed 's/,$//')
r=$(drv "threads db" 60)
mine=$(field "$r" tids | tr ',' '\n' | sort -n | tr '\n' ',' | sed 's/,$//')
[ -n "$guest" ] && [ "$guest" = "$mine" ] && [ "$(echo "$guest" | tr ',' '\n' | wc -l)" = 4 ]
ok $? "xds-lua lists db's threads exactly as the guest's /proc/$db/task does ($mine vs $guest)"
[ "$(field "$r" unlisted)" = 0 ]
ok $? "each found on its leader's thread list, none only on a run queue (unlisted=$(field "$r" unlisted))"

# the threads other than the leader: the busy ones
set -- $(echo "$guest" | tr ',' '\n' | grep -vx "$db")
victim=$1 sib1=$2 sib2=$3
r=$(drv "freeze pid=$victim any" 120); ok $? "one thread of db (tid $victim) frozen ($r)"
r=$(drv "settle pid=$victim" 60); ok $? "and held frozen ($r)"
s0=$(next_report "$a"); s1=$((s0 + 2)); $G wait "$a" "$s1" 30
dv=$(tdelta "$a" "$victim" "$s0" "$s1") d1=$(tdelta "$a" "$sib1" "$s0" "$s1") d2=$(tdelta "$a" "$sib2" "$s0" "$s1")
diag "ticks over 4 s while $victim is frozen: $victim +$dv, $sib1 +$d1, $sib2 +$d2"
[ -n "$(tticks "$a" "$victim" "$s1")" ] && [ "$dv" -le 1 ]
ok $? "the frozen thread's ticks stay flat in the guest over 4 s (+$dv)"
[ "$d1" -ge 60 ] && [ "$d2" -ge 60 ]
ok $? "its sibling threads keep running meanwhile (+$d1, +$d2 ticks in 4 s)"
r=$(drv "thaw pid=$victim" 60); ok $? "the thread thawed ($r)"
s0=$(next_report "$a"); s1=$((s0 + 1)); $G wait "$a" "$s1" 30
dv=$(tdelta "$a" "$victim" "$s0" "$s1")
diag "ticks in 2 s after thaw: $victim +$dv"
[ "$dv" -ge 20 ]
ok $? "the thawed thread runs again (+$dv ticks in 2 s)"

r=$(drv "reads 500" 240); rc=$?
diag "reads: $r"
ok $rc "500 reads back to back, none failed ($r)"

cycles=${LGTH_CYCLES:-1000}
r=$(drv "cycles $cycles 60 pid=$victim pid=$sib1 pid=$sib2 busy1" 400); rc=$?
diag "cycles: $r"
frozen=$(field "$r" frozen | head -1)
[ "$rc" = 0 ] && [ "$(field "$r" cycles)" = "$cycles" ] && [ "${frozen:-0}" = "$cycles" ] &&
	[ "$(field "$r" stuck)" = 0 ]
ok $? "$cycles freeze/thaw cycles over db's threads and busy1, each frozen and released"
case " ${XDS_GUEST_APPEND:-} " in
*" preempt="*)
	want=$(echo " $XDS_GUEST_APPEND " | sed -n 's/.* preempt=\([a-z]*\) .*/\1/p')
	msg=$($G run "$a" "dmesg | grep -i 'dynamic preempt'" 20)
	echo "$msg" | grep -qi "dynamic preempt: $want"
	ok $? "the guest runs with preempt=$want (${msg:-no 'Dynamic Preempt' line in its dmesg})"
	;;
esac
drv_stop; ok $? "xds-lua ends cleanly"
klog_clean "$a"; ok $? "no WARN, BUG, Oops or psi warning in the guest's log"
$G stop "$a"; running=
echo "1..$n"
