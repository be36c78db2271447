#!/bin/bash
# linux_guest_paper.t - the paper's experiment on real Debian kernels under
# QEMU: two guests whose QEMU processes share one host CPU (taskset, CPU 0),
# g1 running db (busy 2 s, idle 2 s, over and over) and bkup (always busy),
# g2 running web (busy 1.5 s, idle 1 s).  The wanted order is db > web >
# bkup.  xds-lua (tests/linux_guest_driver.lua) samples both guests every
# tick for 20 s without a policy, then 20 s with policies/global_priority.lua
# (classes g1/db, g2/web, g1/bkup), and attributes the CPU time each task
# gained from one tick to the next to the highest class that wanted the CPU
# (queued, running, or held frozen) at the first tick:
#   with the policy, while db wants the CPU, web and bkup together gain
#   < 5 % of what db gains; while web wants it and db does not, bkup gains
#   < 2 % of what web gains past the first tick after each wake of web
#   (the tick that freezes bkup; within one tick per wake, issue 12) and
#   < 10 % in all, and web gains at least 1 s;
#   without it the inversion shows: while web wants the CPU, bkup gains at
#   least half of what web gains.
# db has idle phases because an always-busy db would, under a strict order,
# leave web nothing and hide the web > bkup half of the order.  CPU time is
# the guests' own (se.sum_exec_runtime; a guest under TCG does not see the
# host take its CPU away), also read from their ps (TICKS) and printed with
# the QEMU processes' host CPU time as diag lines.  At the end every task is
# thawed (the guests' ps show each progressing) and neither log has a WARN,
# BUG, Oops or "psi: inconsistent".  The policy's 20 s are then sampled
# again on a loaded host (issue 14, point 6: a host that needs this
# scheduler is busy): one `nice -n 19` busy loop per host CPU, started by
# the test, and the same bounds must hold (XDS_PAPER_UNDER_LOAD=0 leaves
# this out).  The diag lines split each class's gain: edgeI is what it
# gained in the first tick after class I became the top one (a freeze takes
# effect at the guest's next preemption point), the rest of topI is what a
# freeze that held would not have let it gain.  Skips without qemu,
# xds-lua or kernel.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
T=$(mktemp -d /tmp/xds-lgpp-XXXXXX)
export XDS_GUEST_DIR=$T/guests
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-$T/cache}
g1=g1-$$ g2=g2-$$
. tests/linux_guest_lib.sh
cleanup() {
	[ -n "$drv_pid" ] && kill "$drv_pid" 2>/dev/null && sleep 1
	$G stop "$g1"; $G stop "$g2"
	if [ -n "${XDS_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

command -v taskset >/dev/null || skip_all "taskset is not installed"
linux_guest_ready

# gain ROW CLASS: the ms CLASS (1 db, 2 web, 3 bkup) gained in ROW (top1..3)
gain() { field "$1" "$2" | cut -d, -f"$3"; }
ticks() { $G block "$1" "${3:-}" | awk -v c="$2" '$4 == c && NF == 4 { print $3; exit }'; }
qemu_cpu() { awk '{ print $14 + $15 }' "/proc/$(. "$XDS_GUEST_DIR/$1.env"; echo "$qpid")/stat" 2>/dev/null; }
# snap: "db web bkup q1 q2" (guest TICKS, QEMU host ticks) after a fresh report of each
snap() {
	local s1 s2
	s1=$(( $($G seq "$g1") + 1 )); s2=$(( $($G seq "$g2") + 1 ))
	$G wait "$g1" "$s1" 30; $G wait "$g2" "$s2" 30
	echo "$(ticks "$g1" db "$s1") $(ticks "$g2" web "$s2") $(ticks "$g1" bkup "$s1") $(qemu_cpu "$g1") $(qemu_cpu "$g2")"
}
# ps_diag LABEL BEFORE AFTER
ps_diag() {
	set -- "$1" $2 $3
	diag "$1, the guests' ps: db +$(( ${7:-0} - ${2:-0} )) web +$(( ${8:-0} - ${3:-0} ))" \
		"bkup +$(( ${9:-0} - ${4:-0} )) ticks; host CPU of QEMU g1 +$(( ${10:-0} - ${5:-0} ))" \
		"g2 +$(( ${11:-0} - ${6:-0} )) ticks"
	PS_BKUP=$(( ${9:-0} - ${4:-0} ))
}
# web_over_bkup LABEL SAMPLE MIN_WEB: while web wants the CPU and db does
# not, bkup runs only until the freeze of the tick that saw web wake takes
# effect (the guest's next preemption point; issue 12: within one tick per
# wake): past that first tick it gains < 2 % of web's time, and in all
# < 10 % (on a quiet host it is 1-2 %; the first tick's share grows with
# how late ticks and pauses are, which the diag line shows)
web_over_bkup() {
	local w k e wakes      # (not n: that is the TAP counter)
	w=$(gain "$2" top2 2) k=$(gain "$2" top2 3) e=$(field "$2" edge2 | cut -d, -f3) wakes=$(field "$2" edges2)
	[ -n "$w" ] && [ "$w" -ge "$3" ] && [ -n "$k" ] && [ -n "$e" ] &&
		[ $((50 * (k - e))) -lt "$w" ] && [ $((10 * k)) -lt "$w" ]
	ok $? "$1, while web wants the CPU and db does not, bkup gains ${k:-?} ms of web's ${w:-?} ms: $(( ${k:-0} - ${e:-0} )) ms past the first tick after each of web's ${wakes:-?} wakes (< 2 %), ${e:-?} ms in those ticks"
}

klog_clean() {
	local klog
	klog=$($G klog "$1"; tr -d '\r' <"$XDS_GUEST_DIR/$1.log" |
		grep -E '^\[ *[0-9.]+\] .*(WARNING|BUG|Oops|psi: inconsistent)')
	[ -n "$klog" ] && echo "$klog" | head -20 | sed 's/^/# /'
	[ -z "$klog" ]
}

opts="--vcpus 1 --noautogroup --cpu 0 --watch $$ --lifetime 400 --timeout 120"
# shellcheck disable=SC2086
spec1=$($G start "$g1" $opts --tasks db:phases:2:2,bkup:busy 2>"$T/g1.err")
ok $? "g1 (db, bkup) boots on host CPU 0" || sed 's/^/# /' "$T/g1.err"
# shellcheck disable=SC2086
spec2=$($G start "$g2" $opts --tasks web:phases:1.5:1 2>"$T/g2.err")
ok $? "g2 (web) boots on host CPU 0" || sed 's/^/# /' "$T/g2.err"
if [ -z "$spec1" ] || [ -z "$spec2" ]; then echo "1..$n"; exit 0; fi

: >"$T/drv.cmd"; : >"$T/drv.out"
"$B/xds-lua" --qemu "$spec1" --qemu "$spec2" --journal "$T/journal" \
	-e "DRV_CMD, DRV_OUT, DRV_LIFETIME = '$T/drv.cmd', '$T/drv.out', 300" \
	-e 'dofile "tests/linux_guest_driver.lua"' >"$T/drv.log" 2>&1 &
drv_pid=$!
classes="$g1/db $g2/web $g1/bkup"

p0=$(snap)
r=$(drv "sample 20 $classes" 60); ok $? "20 s without a policy sampled" || diag "$r"
p1=$(snap)
diag "without the policy, ms gained by db,web,bkup while the top wanting class was none/db/web/bkup: $r"
ps_diag "without the policy" "$p0" "$p1"
ps_none=$PS_BKUP
w=$(gain "$r" top2 2) k=$(gain "$r" top2 3)
[ -n "$w" ] && [ -n "$k" ] && [ "$w" -gt 0 ] && [ $((2 * k)) -ge "$w" ]
ok $? "without a policy the inversion shows: while web wants the CPU bkup gains ${k:-?} ms, at least half of web's ${w:-?} ms"

r=$(drv "load policies/global_priority.lua $classes"); ok $? "global_priority.lua loaded ($r)"
p0=$(snap)
r=$(drv "sample 20 $classes" 60); ok $? "20 s with global_priority.lua sampled" || diag "$r"
p1=$(snap)
diag "with global_priority.lua, ms gained by db,web,bkup while the top wanting class was none/db/web/bkup: $r"
ps_diag "with global_priority.lua" "$p0" "$p1"
d=$(gain "$r" top1 1) w=$(gain "$r" top1 2) k=$(gain "$r" top1 3)
[ -n "$d" ] && [ "$d" -gt 0 ] && [ $(( 20 * (${w:-0} + ${k:-0}) )) -lt "$d" ]
ok $? "with the policy, while db wants the CPU web and bkup gain ${w:-?} + ${k:-?} ms, < 5 % of db's ${d:-?} ms"
web_over_bkup "with the policy" "$r" 1000
[ "$PS_BKUP" -lt $((ps_none / 2)) ]
ok $? "the guest's own ps agrees: bkup got $PS_BKUP ticks with the policy against $ps_none without"

diag "the tick: $(drv stats 2>/dev/null)"
# the same under host load: a busy loop per CPU, at the lowest priority
if [ "${XDS_PAPER_UNDER_LOAD:-1}" != 0 ]; then
	hogs=
	for _ in $(seq "$(nproc)"); do nice -n 19 sh -c 'while :; do :; done' & hogs="$hogs $!"; done
	r=$(drv "sample 20 $classes" 60); ok $? "20 s with global_priority.lua sampled under $(nproc) busy loops" || diag "$r"
	# shellcheck disable=SC2086
	kill $hogs 2>/dev/null; wait $hogs 2>/dev/null
	diag "under load, ms gained by db,web,bkup while the top wanting class was none/db/web/bkup: $r"
	diag "under load, the tick: $(drv stats 2>/dev/null)"
	web_over_bkup "under host load" "$r" 500
fi

r=$(drv unload); ok $? "the policy unloads ($r)"
drv quit 10 >/dev/null
wait "$drv_pid"; ok $? "xds-lua ends cleanly"; drv_pid=
a=$(snap); sleep 4; b=$(snap)
set -- $a $b
[ $(($6 - $1)) -gt 3 ] && [ $(($7 - $2)) -gt 3 ] && [ $(($8 - $3)) -gt 3 ]
ok $? "after the run every task progresses: db +$(($6 - $1)) web +$(($7 - $2)) bkup +$(($8 - $3)) ticks"
klog_clean "$g1"; ok $? "g1: no WARN, BUG, Oops or psi warning in its log"
klog_clean "$g2"; ok $? "g2: no WARN, BUG, Oops or psi warning in its log"
echo "1..$n"
