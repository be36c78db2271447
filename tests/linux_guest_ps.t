#!/bin/bash
# linux_guest_ps.t - xds-lua reads a real Debian kernel under QEMU and its
# task list matches the guest's own ps.  Boots two guests with
# scripts/linux-guest (2 vCPUs with KASLR and the named tasks in their own
# autogroups, so run queues hold group entities; 1 vCPU with nokaslr, an
# Intel CPU model, so page-table isolation is on, and every task in the
# root group); for each,
# xds-lua attaches through the RAM file and QMP socket with a profile built
# from the kernel's vmlinux (first build and cached load are timed), and
# its processes (pid == tgid) are compared with the guest's reports taken
# just before (k) and just after (k+1) the read:
#   - a pid in both reports is in xds-lua's list, with the same comm;
#   - a process xds-lua lists is in report k, or was born after it (a
#     larger pid: pids grow, so this names exactly the tasks that started
#     between the two reads);
#   - busy1, busy2, hog are R and sleeper is S, in both views;
#   - the KASLR slide is non-zero with KASLR on and zero with nokaslr;
#   - busy loops' CPU time grows and matches the guest's utime+stime; each
#     is on exactly one run queue; every CFS tree is in vruntime order;
#   - the guest keeps reporting and its kernel log has no WARN, BUG, Oops
#     or "psi: inconsistent".
# Skips (never fails) without qemu, without a built xds-lua, or without the
# kernel files (nothing cached and no network).  Emits TAP.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
T=$(mktemp -d /tmp/xds-lgps-XXXXXX)
export XDS_GUEST_DIR=$T/guests
export XDG_CACHE_HOME=$T/cache          # a fresh profile cache: time the first build
running=
. tests/linux_guest_lib.sh
cleanup() { [ -n "$running" ] && $G stop "$running"; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

linux_guest_ready

# xds_read SPEC OUT: the slide and vcpus on the first line, then per task
# "pid tgid state cputime_ns flags cpu comm" (flags: Q queued, R running),
# then per CPU "rq cpu curr_pid nr_running in_order tree_pids".
read_lua='local d = xds.domains()[1]
print(d.slide, d.vcpus, d.family)
for _, t in ipairs(xds.tasks()) do
	print(t.pid, t.tgid, t.state, t.cputime, (t.queued and "Q" or "-") .. (t.running and "R" or "-"), t.cpu, t.comm)
end
for cpu = 0, d.vcpus - 1 do
	local q, pids, order, prev = xds.runqueue(d.name, cpu), {}, 1, nil
	for _, t in ipairs(q.tasks) do
		pids[#pids + 1] = t.pid
		if prev and t.vruntime - prev < 0 then order = 0 end
		prev = t.vruntime
	end
	print("rq", cpu, q.curr and q.curr.pid or -1, q.nr_running, order, table.concat(pids, " "))
end'
xds_read() { "$B/xds-lua" --qemu "$1" -e "$read_lua" >"$2" 2>"$2.err"; }

# xds_field FILE COMM N: field N of the process called COMM in xds-lua's list
xds_field() { awk -F'\t' -v c="$2" -v f="$3" 'NR > 1 && $1 == $2 && $7 == c { print $f; exit }' "$1"; }
# guest_field FILE COMM N: field N (1 pid, 2 state, 3 ticks) of COMM in a report
guest_field() { awk -v c="$2" -v f="$3" '{ v = $f; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "") } $0 == c { print v; exit }' "$1"; }

# on_rqs XDS PID: how many run queues hold PID, as curr or in the tree
on_rqs() {
	awk -F'\t' -v p="$2" '$1 == "rq" { if ($3 == p) n++; k = split($6, a, " ")
		for (i = 1; i <= k; i++) if (a[i] == p) n++ } END { print n + 0 }' "$1"
}

# user_cr3 NAME: CR3 of a vCPU caught in user mode (CPL 3), empty if none
user_cr3() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		$G hmp "$1" 'info registers -a' | tr -d '\r' | awk '
			/CPL=3/ { user = 1 } /CPL=[012]/ { user = 0 }
			user && /CR3=/ { sub(/.*CR3=/, ""); sub(/ .*/, ""); print; exit }' | grep . && return
		sleep 0.2
	done
}

# compare XDS BLOCK_K BLOCK_K1: prints "missing" and "extra" lines, nothing if they agree.
# /proc shows a kernel thread's full name and a kworker's workqueue after
# a '-'; task_struct.comm holds 15 characters.
compare() {
	awk -F'\t' -v K="$2" -v K1="$3" '
	function guest(file, arr,   line, pid, comm) {
		while ((getline line < file) > 0) {
			pid = line; sub(/ .*/, "", pid)
			comm = line; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", comm)
			arr[pid] = comm
		}
	}
	function same(x, g) {
		if (x == g) return 1
		if (index(g, x) != 1) return 0
		return length(x) == 15 || substr(g, length(x) + 1, 1) == "-" && x ~ /^kworker/
	}
	BEGIN { guest(K, k); guest(K1, k1); maxk = 0; for (p in k) if (p + 0 > maxk) maxk = p + 0 }
	NR > 1 && $1 == $2 { x[$1] = $7 }
	END {
		for (p in k) if (p in k1 && k[p] == k1[p]) {
			if (!(p in x)) print "missing " p " " k[p]
			else if (!same(x[p], k[p])) print "comm " p " xds-lua=" x[p] " guest=" k[p]
		}
		for (p in x) if (!(p in k) && p + 0 <= maxk) print "extra " p " " x[p]
	}' "$1"
}

check_guest() {
	local label=$1 opts=$2 kaslr=$3 t0 spec
	local name=$label-$$        # RAM files are in /dev/shm: one name per run
	t0=$(now)
	# shellcheck disable=SC2086
	spec=$($G start "$name" $opts --watch $$ --lifetime 300 --timeout 120 2>"$T/$name.start.err")
	local boots=1
	if [ -z "$spec" ]; then
		# a guest that never reports is QEMU's or the kernel's, before
		# xds-lua is there: said with its log, and booted once more
		diag "$label: the first boot did not report: $(tail -3 "$T/$name.start.err" | tr '\n' ' ')"
		$G stop "$name"
		name=$label-$$-2 boots=2
		# shellcheck disable=SC2086
		spec=$($G start "$name" $opts --watch $$ --lifetime 300 --timeout 120 2>"$T/$name.start.err")
	fi
	[ -n "$spec" ]
	ok $? "$label ($opts) boots to its first report (boot $boots)" || true
	if [ -z "$spec" ]; then
		sed 's/^/# /' "$T/$name.start.err"
		return
	fi
	running=$name
	diag "$label: boot to the first report $(since "$t0") s"
	# with --autogroup the named tasks sit in their own task groups, so
	# the run queues hold group entities
	local groups named
	groups=$(tr -d '\r' <"$XDS_GUEST_DIR/$name.log" | grep -c '^xds-task .* autogroup=/autogroup-')
	named=$(tr -d '\r' <"$XDS_GUEST_DIR/$name.log" | grep -c '^xds-task ')
	case $opts in
	*--autogroup*) [ "$groups" = "$named" ] && [ "$named" -ge 4 ]
		ok $? "$label: the $named named tasks are in their own autogroups" ;;
	*) [ "$groups" = 0 ]; ok $? "$label: the named tasks are in the root task group" ;;
	esac

	# PTI, as the guest's kernel says it (an Intel model turns it on), and
	# when on, a user-mode CR3 is the kernel's tables' upper 4 KiB (bit 12;
	# without PTI a process's tables may sit at any page, 7.x)
	local cr3 pti=0 says
	case $opts in *GenuineIntel*) pti=1 ;; esac
	says=$($G run "$name" 'cat /sys/devices/system/cpu/vulnerabilities/meltdown' 10 2>/dev/null | tr -d '\r')
	cr3=$(user_cr3 "$name")
	if [ "$pti" = 1 ]; then
		[ "$says" = "Mitigation: PTI" ] && [ -n "$cr3" ] && [ $(( (0x$cr3 >> 12) & 1 )) = 1 ]
	else
		[ -n "$says" ] && [ "$says" != "Mitigation: PTI" ]
	fi
	ok $? "$label: page-table isolation is $( [ $pti = 1 ] && echo on || echo off) (meltdown: ${says:-?}; user-mode CR3 ${cr3:-not seen})"

	local vmlinux cached=built
	vmlinux=$(echo "$spec" | sed 's/.*vmlinux=//; s/,.*//')
	ls "$XDG_CACHE_HOME"/xds-lua/*.profile >/dev/null 2>&1 && cached=cached
	t0=$(now)
	xds_read "$spec" "$T/$name.first"
	ok $? "$label: xds-lua attaches (profile from $(basename "$vmlinux"))" ||
		diag "$(tail -3 "$T/$name.first.err")"
	diag "$label: first attach + read, profile $cached: $(since "$t0") s"
	ls "$XDG_CACHE_HOME"/xds-lua/*.profile >/dev/null 2>&1
	ok $? "$label: the profile is cached"

	# read between two reports: right after report k, before k+1 began
	local k rc
	for _ in 1 2 3; do
		k=$(( $($G seq "$name") + 1 ))
		$G wait "$name" "$k" 30
		t0=$(now)
		xds_read "$spec" "$T/$name.xds"
		rc=$?
		if [ "$rc" != 0 ]; then
			diag "$label: xds-lua failed after $(since "$t0") s: $(tail -3 "$T/$name.xds.err")"
			continue
		fi
		tr -d '\r' <"$XDS_GUEST_DIR/$name.log" | grep -q "^=== xds-ps BEGIN seq=$((k + 1)) " || break
		diag "$label: report $((k + 1)) began before the read ended; again"
	done
	diag "$label: attach + read with the cached profile: $(since "$t0") s"
	$G wait "$name" $((k + 1)) 30
	ok $? "$label: the guest reports again after the reads (report $((k + 1)))"
	$G block "$name" "$k" >"$T/$name.k"
	$G block "$name" $((k + 1)) >"$T/$name.k1"
	[ "$rc" = 0 ] && [ -s "$T/$name.k" ]
	ok $? "$label: xds-lua and the guest each list tasks"
	diag "$label: xds-lua: $(awk -F'\t' 'NR > 1 && $1 ~ /^[0-9]/' "$T/$name.xds" | wc -l) tasks," \
	     "$(awk -F'\t' 'NR > 1 && $1 == $2' "$T/$name.xds" | wc -l) processes;" \
	     "guest report $k: $(wc -l <"$T/$name.k") processes"

	local slide
	slide=$(head -1 "$T/$name.xds" | cut -f1)
	diag "$label: KASLR slide $slide ($(printf '0x%x' "${slide:-0}" 2>/dev/null))"
	if [ "$kaslr" = 1 ]; then
		[ -n "$slide" ] && [ "$slide" != 0 ]
		ok $? "$label: KASLR on gives a non-zero slide"
	else
		[ "$slide" = 0 ]
		ok $? "$label: nokaslr gives slide 0"
	fi

	local t want xs gs c0 c1 tk tk1 rqn
	for t in busy1:R busy2:R hog:R sleeper:S; do
		want=${t#*:} t=${t%:*}
		xs=$(xds_field "$T/$name.xds" "$t" 3)
		gs=$(guest_field "$T/$name.k" "$t" 2)
		[ "$xs" = "$want" ] && [ "$gs" = "$want" ]
		ok $? "$label: $t is $want (xds-lua: ${xs:-absent}, guest: ${gs:-absent})"
		# /proc's utime+stime is sum_exec_runtime in 1/100 s, read before and after
		c1=$(xds_field "$T/$name.xds" "$t" 4)
		tk=$(guest_field "$T/$name.k" "$t" 3)
		tk1=$(guest_field "$T/$name.k1" "$t" 3)
		awk -v c="${c1:-x}" -v a="${tk:-x}" -v b="${tk1:-x}" 'BEGIN {
			exit !(c ~ /^[0-9]+$/ && a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/ &&
			       c >= (a - 2) * 1e7 && c <= (b + 2) * 1e7) }'
		ok $? "$label: $t's CPU time ${c1:-?} ns lies between the guest's ${tk:-?} and ${tk1:-?} ticks"
	done
	for t in busy1 busy2 hog; do
		c0=$(xds_field "$T/$name.first" "$t" 4)
		c1=$(xds_field "$T/$name.xds" "$t" 4)
		rqn=$(on_rqs "$T/$name.xds" "$(xds_field "$T/$name.xds" "$t" 1)")
		[ "${c0:-0}" -gt 0 ] && [ "${c1:-0}" -gt "${c0:-0}" ]
		ok $? "$label: $t's CPU time grows between two reads (${c0:-?} -> ${c1:-?} ns)"
		[ "$rqn" = 1 ] && [ "$(xds_field "$T/$name.xds" "$t" 5)" != "--" ]
		ok $? "$label: $t is queued on exactly one run queue, as curr or in the tree (found $rqn)"
	done
	grep '^rq' "$T/$name.xds" | sed 's/^/# /'
	family=$(head -1 "$T/$name.xds" | cut -f3)
	if [ "$family" = cfs ]; then
		! awk -F'\t' '$1 == "rq" && $5 != 1' "$T/$name.xds" | grep -q .
		ok $? "$label: every CFS tree is read in vruntime order"
	else
		# EEVDF orders its tree by deadline (6.8+), which is not read yet
		ok 0 "# SKIP $label: a ${family:-?} tree is not ordered by vruntime"
		# and its run queues are not changed: a freeze is refused, said once
		"$B/xds-lua" --qemu "$spec" --journal "$T/$name.j" -e 'local t = xds.tasks("busy1")[1]
			print("FREEZE", t:freeze()); xds.step(); xds.tasks("busy1")[1]:freeze(); xds.step()
			print("HELD", #xds.frozen())' \
			>"$T/$name.fz" 2>&1
		rc=$?
		[ "$rc" = 0 ] && grep -q "^FREEZE	false	.*busy1.*not frozen: this kernel's scheduler family ($family) is read only" "$T/$name.fz" &&
			grep -q '^HELD	0$' "$T/$name.fz" && [ "$(grep -c 'not frozen: this kernel' "$T/$name.fz")" -le 2 ] &&
			! grep -q '^freeze' "$T/$name.j" 2>/dev/null
		ok $? "$label: a freeze on the $family family is refused with a clear reason, nothing held or journaled" ||
			sed 's/^/#   /' "$T/$name.fz" | head -5
	fi

	compare "$T/$name.xds" "$T/$name.k" "$T/$name.k1" >"$T/$name.diff"
	local missing extra
	missing=$(grep -c -v '^extra' "$T/$name.diff")
	extra=$(grep -c '^extra' "$T/$name.diff")
	sed 's/^/# /' "$T/$name.diff"
	ok $((missing != 0)) "$label: every process of the guest's two reports is in xds-lua's list, same comm"
	ok $((extra != 0)) "$label: every process xds-lua lists is in the guest's report or newer"

	local klog
	klog=$($G klog "$name"; tr -d '\r' <"$XDS_GUEST_DIR/$name.log" |
		grep -E '^\[ *[0-9.]+\] .*(WARNING|BUG|Oops|psi: inconsistent)')
	[ -z "$klog" ]
	ok $? "$label: no WARN, BUG, Oops or psi warning in the guest's log"
	[ -n "$klog" ] && echo "$klog" | head -20 | sed 's/^/# /'

	$G stop "$name"
	running=
}

check_guest smp2kaslr "--vcpus 2 --kaslr --autogroup" 1
check_guest smp1nokaslr "--vcpus 1 --nokaslr --cpu-model qemu64,vendor=GenuineIntel" 0
echo "1..$n"
