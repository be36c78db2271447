#!/bin/bash
# xen_freeze.t - on the nested Xen host (scripts/xen-host), xds-lua in dom0
# freezes a busy loop in every domU and thaws it (scripts/xen/freeze.lua,
# run by `xds-lua --xen`) for 10 s: u1/bkup and u2/web in two PV domUs (the shared
# run "main"), busy1 in a PVH domU (the run "pvh").  Each domU prints its
# own ps every second (CPU ticks per process, TRK rows); a listing counts
# as "during the hold" when it began after xds said HELD (two after the
# last complete one then) and ended before THAWING (one before the last
# complete one when dom0's watcher saw THAWING: by then the thaw may have
# been done and one more listing taken).
#   - every task is held frozen;
#   - while held, its CPU time grows by at most 1 tick in the guest's own
#     ps and by under 10 ms in xds's view;
#   - meanwhile u1's db, which xds left alone, keeps running;
#   - the guest stays healthy: its listings keep coming during the hold,
#     and its log has no WARN, BUG, Oops or psi warning;
#   - after thaw the task runs again (its ticks grow, in both views), and
#     xds-lua ends without error.
# Skips when the packages cannot be fetched or XDS_SKIP_XEN is set.
set -u
cd "$(dirname "$0")/.." || exit 1
. scripts/xen/test-lib.sh

# check DOM COMM MIN: one frozen task against its guest's listings
check() {
	local d=$1 c=$2 min=$3 sh st se s0 s1 e1 g x0 x1 x2 x3
	sh=$(seq_of "$held" "$d"); st=$(seq_of "$thawing" "$d")
	se=$(seq_of "$endl" "$d"); s0=$(seq_of "$thawed" "$d")
	s1=$((sh + 2))
	[ -n "$sh" ] && [ -n "$st" ] && [ "$st" -ge $((s1 + 2)) ]
	ok $? "$d: the guest kept listing its tasks while $c was held (listings $sh -> $st in 10 s)"
	e1=$((${st:-0} - 1))
	g=$(gain "$d" "$c" "$s1" "$e1")
	[ -n "$g" ] && [ "$e1" -gt "$s1" ] && [ "$g" -le 1 ]
	ok $? "$d/$c: no CPU while frozen in the guest's own ps (+${g:-?} ticks from listing $s1 to $e1)"
	x0=$(awk -v s="$d/$c" '$1 == "XCPU" && $2 == s && $3 == "held" { print $4 }' <<<"$fz")
	x1=$(awk -v s="$d/$c" '$1 == "XCPU" && $2 == s && $3 == "holdend" { print $4 }' <<<"$fz")
	x2=$(awk -v s="$d/$c" '$1 == "XCPU" && $2 == s && $3 == "thawed" { print $4 }' <<<"$fz")
	x3=$(awk -v s="$d/$c" '$1 == "XCPU" && $2 == s && $3 == "end" { print $4 }' <<<"$fz")
	[ -n "$x0" ] && [ -n "$x1" ] && [ "$x0" -ge 0 ] && [ $((x1 - x0)) -lt 10000000 ]
	ok $? "$d/$c: and in xds-lua's view (${x0:-?} -> ${x1:-?} ns over 10 s)"
	if [ "$d" = u1 ]; then
		g=$(gain u1 db "$s1" "$e1")
		[ -n "$g" ] && [ "$g" -ge 50 ]
		ok $? "u1/db, left alone, runs meanwhile (+${g:-?} ticks)"
	fi
	[ "$se" -ge $((s0 + 4)) ] || se=$((s0 + 4))
	g=$(gain "$d" "$c" $((s0 + 2)) "$se")
	[ -n "$g" ] && [ "$g" -ge "$min" ] && [ -n "$x3" ] && [ "$x3" -gt "${x2:-0}" ]
	ok $? "$d/$c runs again after thaw (+${g:-?} ticks from listing $((s0 + 2)) to $se; xds: ${x2:-?} -> ${x3:-?} ns)"
	klog_clean "$d"
	ok $? "$d: no WARN, BUG, Oops or psi warning in the guest's log"
}

for run in "main scenario-main.sh u1:pv,u2:pv" "pvh scenario-ps.sh pvh1:pvh"; do
	set -- $run
	xen_run "$1" "$2" "${3//,/ }"
	fz=$(section FREEZE)
	echo "$fz" | grep -v '^XCPU' | sed 's/^/# freeze.lua: /'
	grep '^FRZ' "$log" | sed 's/^/# /'
	held=$(grep '^FRZ held' "$log"); thawing=$(grep '^FRZ thawing' "$log")
	thawed=$(grep '^FRZ thawed' "$log"); endl=$(grep '^FRZ end' "$log")
	echo "$fz" | grep -q '^HELD' && echo "$fz" | grep -q '^DONE' && echo "$endl" | grep -q 'rc=0 '
	ok $? "$1: xds-lua held every task frozen, thawed them and ended without error"
	case $1 in
	main) check u1 bkup 20; check u2 web 20 ;;
	pvh) check pvh1 busy1 100 ;;
	esac
done
