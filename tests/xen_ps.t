#!/bin/bash
# xen_ps.t - on a real Xen 4.17 nested under QEMU (scripts/xen-host), the
# real `xds-lua --xen -e 'ps()'` in dom0 lists every domU's tasks as the
# domU's own /proc does: two PV domUs (u1, u2 of the shared run "main",
# scripts/xen/scenario-main.sh) and a PVH domU (pvh1 of the run "pvh",
# scripts/xen/scenario-ps.sh; a host of its own, since under this
# emulation a PVH domU booting beside a PV one has triple-faulted).
# For each domU: xds-lua attached it by its kernel's banner; every task
# the guest lists both just before and just after xds read it is in xds's
# list with its pid and comm; xds lists at most 2 tasks the guest never
# showed (short-lived ones); its busy loop is R and queued or running,
# sleeper1 S (or R and queued or running, when caught just woken); the
# guest logs no kernel warning.  For each PV domU, the root table xds
# walks is the one CR3 names, bit 12 and all (the xen_ps driver's
# ROOT-CHECK: the frame mapped at CR3's MFN holds the kernel half, and
# differs from the frame with bit 12 cleared when the MFN is odd).
# Skips when the packages cannot be fetched or XDS_SKIP_XEN is set.
set -u
cd "$(dirname "$0")/.." || exit 1
. scripts/xen/test-lib.sh

# guest listing -> "pid comm" lines (comm as the kernel keeps it: 15 bytes,
# without the workqueue suffix /proc adds to a kworker's name)
pid_comm() {
	awk '{ c = $6; for (i = 7; i <= NF; i++) c = c " " $i
		if (c ~ /^kworker\//) sub(/-.*/, "", c)
		print $2, substr(c, 1, 15) }' | sort
}

# xds-lua's ps() rows of one domain -> "pid comm" (comm: the fields
# between TGID and the last five: S CPU NI TIME QR)
xds_pid_comm() {
	echo "$xds" | awk -v d="$1" '$1 == d && NF >= 9 && $2 ~ /^[0-9]+$/ {
		c = $4; for (i = 5; i <= NF - 5; i++) c = c " " $i; print $2, c }' | sort
}

# STATE and the QRF flags of DOM's process COMM in xds-lua's ps()
xds_state() {
	echo "$xds" | awk -v d="$1" -v c="$2" '$1 == d && $4 == c && $2 == $3 { print $(NF - 4); exit }'
}
xds_flags() {
	echo "$xds" | awk -v d="$1" -v c="$2" '$1 == d && $4 == c && $2 == $3 { print $NF; exit }'
}

# the guest reporter's own short-lived processes (lines "PID COMM"): its
# forked copies of init before they exec, busybox applets re-executed
# through /proc/self/exe (comm exe), and the applets themselves
transient() {
	grep "$@" -E ' (sleep|awk|dmesg|grep|sed|exe)$|^([2-9]|[1-9][0-9]+) init$'
}

# check_guest NAME TYPE BUSY: xds's list of one domU against the domU's own
check_guest() {
	local name=$1 type=$2 busy=$3 t=$T/$1 stable missing extra nextra st
	echo "$xds" | grep -q "^xds-lua: xen: dom [0-9]* ($name) attached"
	ok $? "$name ($type): xds-lua attached it by its kernel's banner"
	xds_pid_comm "$name" > "$t.xds"
	section "GUEST $name before" | pid_comm > "$t.before"
	section "GUEST $name after" | pid_comm > "$t.after"
	comm -12 "$t.before" "$t.after" > "$t.stable"
	stable=$(wc -l < "$t.stable")
	missing=$(comm -23 "$t.stable" "$t.xds")
	[ "$stable" -gt 20 ] && [ -z "$missing" ]
	ok $? "$name: all $stable tasks the guest lists before and after are in xds-lua's ps() with their pid and comm"
	[ -z "$missing" ] || echo "$missing" | head -10 | sed 's/^/#   missing: /'
	sort -u "$t.before" "$t.after" | cut -d' ' -f1 | sort > "$t.seen"
	extra=$(cut -d' ' -f1 "$t.xds" | sort | comm -23 - "$t.seen" |
		while read -r pid; do grep "^$pid " "$t.xds"; done | transient -v)
	nextra=$(echo -n "$extra" | grep -c .)
	[ -s "$t.xds" ] && [ "$nextra" -le 2 ]
	ok $? "$name: xds-lua lists at most 2 tasks the guest never showed (besides the reporter's own short-lived processes): $nextra"
	[ -z "$extra" ] || echo "$extra" | head -5 | sed 's/^/#   extra: /'
	if [ -n "$busy" ]; then
		st=$(xds_state "$name" "$busy")$(xds_flags "$name" "$busy")
		case $st in RQ*|R?R*) true ;; *) false ;; esac
		ok $? "$name: the busy loop $busy is running or runnable (R): '$st'"
	fi
	st=$(xds_state "$name" sleeper1)$(xds_flags "$name" sleeper1)
	case $st in S---|RQ*|R?R*) true ;; *) false ;; esac
	ok $? "$name: sleeper1 sleeps (S), or has just woken and is queued or running (R): '$st'"
	if [ "$type" = pv ]; then
		local rc
		rc=$(grep "^ROOT-CHECK $name " "$log")
		diag "$rc"
		echo "$rc" | grep -q 'exact=1 mapped=1 upper-present=[0-9]* last-present=1' &&
			[ "$(echo "$rc" | sed -n 's/.*upper-present=\([0-9]*\).*/\1/p')" -ge 2 ] &&
			{ echo "$rc" | grep -q ' even ' || echo "$rc" | grep -q 'even-twin-same=0'; }
		ok $? "$name: the root table at CR3's own MFN holds the kernel half (and is not its bit-12-cleared twin)"
	fi
	klog_clean "$name"
	ok $? "$name: no kernel warning in the guest"
}

for run in "main scenario-main.sh u1:pv,u2:pv" "pvh scenario-ps.sh pvh1:pvh"; do
	set -- $run
	xen_run "$1" "$2" "${3//,/ }"
	xds=$(section XDSLUA)
	echo "$xds" | grep -v '^[a-z0-9]* *[0-9]' | sed 's/^/# xds-lua: /'
	case $1 in
	main) check_guest u1 pv bkup; check_guest u2 pv "" ;;
	pvh) check_guest pvh1 pvh busy1
	     own=$(section XDS-OWNMEM)
	     echo "$own" | grep -v '^pvh1 ' | head -6 | sed 's/^/# no profile: /'
	     echo "$own" | grep -q '^DOM	pvh1	cfs	guest memory .* (BTF + kallsyms)$' &&
		     echo "$own" | grep -Eq '^pvh1 +[0-9]+ +[0-9]+ busy1 ' && echo "$own" | grep -Eq '^pvh1 +1 +1 init '
	     ok $? "pvh1: with no profile at all, xds-lua --xen reads the kernel from the domain's own memory and lists its ps" ;;
	esac
done
