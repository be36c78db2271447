#!/bin/bash
# xen_ps.t - on a real Xen 4.17 nested under QEMU (scripts/xen-host), xds-lua
# in dom0 lists every domU's tasks as the domU's own /proc does: a PV and
# a PVH domU, each with a busy loop (busy1) and a sleeper (sleeper1).
# Every task the guest lists both just before and just after xds read it
# must be in xds's list with the same comm; xds may list at most two
# tasks the guest never showed (short-lived ones); busy1 must be R and
# sleeper1 S; the guests log no kernel warning.  Skips when the packages
# cannot be fetched.  XDS_XEN_RUNS lists the nested hosts to run and their
# domUs ("NAME:TYPE ...;NAME:TYPE ...": default one host with a PV domU,
# one with a PVH domU); XDS_XEN_DIR keeps the runs' files there;
# XDS_SKIP_XEN=1 skips (each run takes 2-3 minutes).  Emits TAP.
set -u
cd "$(dirname "$0")/.." || exit 1
if [ -n "${XDS_SKIP_XEN:-}" ]; then
	echo "1..0 # SKIP XDS_SKIP_XEN is set"
	exit 0
fi
T=${XDS_XEN_DIR:-$(mktemp -d /tmp/xds-xen-ps-XXXXXX)}
[ -n "${XDS_XEN_DIR:-}" ] || trap 'rm -rf "$T"' EXIT
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

# section TITLE: the lines of $log between "=== TITLE BEGIN" and its END
section() {
	awk -v t="$1" '$0 == "=== " t " BEGIN" { on = 1; next }
		on && index($0, "=== " t " END") == 1 { exit } on' "$log"
}

# guest listing -> "pid comm" lines (comm as the kernel keeps it: 15 bytes,
# without the workqueue suffix /proc adds to a kworker's name)
pid_comm() {
	awk '{ c = $5; for (i = 6; i <= NF; i++) c = c " " $i
		if (c ~ /^kworker\//) sub(/-.*/, "", c)
		print $2, substr(c, 1, 15) }' | sort
}

# check_guest NAME TYPE: xds's list of one domU against the domU's own
check_guest() {
	local name=$1 type=$2 line r stable missing extra nextra st_busy st_sleep klog
	echo "$xps" | grep -q "^xds-lua: xen: dom [0-9]* ($name) attached"
	ok $? "$name ($type): attached by its kernel's banner"
	line=$(echo "$xps" | grep "^xen-ps: dom [0-9]* ($name):" | head -2)
	echo "$line" | sed 's/^/# /'
	case $line in *error:*|"") r=1 ;; *) r=0 ;; esac
	ok $r "$name: snapshots without error"
	echo "$xps" | awk -v d="$name" '$1 == "XPS" && $2 == d {
		c = $6; for (i = 7; i <= NF; i++) c = c " " $i; print $3, c }' |
		sort > "$T/$name.xds"
	section "GUEST $name before" | pid_comm > "$T/$name.before"
	section "GUEST $name after" | pid_comm > "$T/$name.after"
	comm -12 "$T/$name.before" "$T/$name.after" > "$T/$name.stable"
	stable=$(wc -l < "$T/$name.stable")
	missing=$(comm -23 "$T/$name.stable" "$T/$name.xds")
	[ "$stable" -gt 20 ] && [ -z "$missing" ]
	ok $? "$name: all $stable tasks the guest lists before and after are in xds's list with their comm"
	[ -z "$missing" ] || echo "$missing" | sed 's/^/#   missing: /'
	sort -u "$T/$name.before" "$T/$name.after" | cut -d' ' -f1 | sort > "$T/$name.seen"
	extra=$(cut -d' ' -f1 "$T/$name.xds" | sort | comm -23 - "$T/$name.seen" |
		while read -r pid; do grep "^$pid " "$T/$name.xds"; done | grep -v ' sleep$')
	nextra=$(echo -n "$extra" | grep -c .)
	[ -s "$T/$name.xds" ] && [ "$nextra" -le 2 ]
	ok $? "$name: xds lists at most 2 tasks the guest never showed (besides sleep): $nextra"
	[ -z "$extra" ] || echo "$extra" | sed 's/^/#   extra: /'
	st_busy=$(echo "$xps" | awk -v d="$name" '$1 == "XPS" && $2 == d && $6 == "busy1" { print $5 }')
	st_sleep=$(echo "$xps" | awk -v d="$name" '$1 == "XPS" && $2 == d && $6 == "sleeper1" { print $5 }')
	[ "$st_busy" = R ]
	ok $? "$name: busy1 is running or runnable (R): '$st_busy'"
	[ "$st_sleep" = S ]
	ok $? "$name: sleeper1 sleeps (S): '$st_sleep'"
	if [ "$type" = pv ]; then
		echo "$xps" | grep -q "^ALIAS-CHECK $name .*: same$"
		ok $? "$name: the alias of its PV root table maps the root table itself"
	fi
	klog=$(section "KLOG $name")
	[ -z "$klog" ]
	ok $? "$name: no kernel warning in the guest"
	[ -z "$klog" ] || echo "$klog" | sed 's/^/#   /'
}

# run GUESTS DIR: one nested host with these domUs, and its checks
run() {
	local guests=$1 dir=$2 rc g
	mkdir -p "$dir" || return 1
	scripts/xen-host run scenario-ps.sh --guests "$guests" --dir "$dir" --timeout 400 \
		>"$dir/xen-host.out" 2>&1
	rc=$?
	if [ $rc = 77 ]; then
		echo "1..0 # SKIP $(grep -o 'SKIP: .*' "$dir/xen-host.out" | head -1)"
		exit 0
	fi
	log=$dir/serial.txt
	tr -d '\r' < "$dir/serial.log" > "$log" 2>/dev/null
	sed 's/^/# /' "$dir/xen-host.out"
	ok $rc "$guests: the nested host ran the scenario to its end (status $rc)"
	if ! grep -q '^=== XPS END' "$log"; then
		tail -30 "$log" | sed 's/^/#   /'
		return 1
	fi
	grep '^XEN-TIME\|^xen-ps: \(attached\|snapshot\|tick\)' "$log" | sed 's/^/# /'
	xps=$(section XPS)
	for g in $guests; do
		check_guest "${g%%:*}" "${g##*:}"
	done
	if grep -q '^=== XDSLUA BEGIN' "$log"; then
		local nb
		nb=$(section XDSLUA | grep -c 'busy1')
		[ "$nb" -ge "$(echo "$guests" | wc -w)" ]
		ok $? "xds-lua --xen -e 'ps()' shows busy1 in every domU ($nb)"
	else
		echo "# xds-lua has no --xen option yet: only the xen_ps driver was checked"
	fi
}

# PV and PVH in hosts of their own by default: under this emulation a PVH
# domU booting beside a PV one has triple-faulted before xds ever ran.
IFS=';' read -r -a RUNS <<< "${XDS_XEN_RUNS:-pv1:pv;pvh1:pvh}"
k=0
for guests in "${RUNS[@]}"; do
	k=$((k + 1))
	run "$guests" "$T/run$k"
done
echo "1..$n"
