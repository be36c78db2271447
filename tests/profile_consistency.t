#!/bin/bash
# profile_consistency.t - a profile is checked for sense, not only syntax,
# and a guest that cannot be read is an error: a field that lies past the
# end of its struct is refused by `profile show` and at attach; a System.map
# of another build than the vmlinux is refused by `profile build` (the
# Debian kernel's files, skipped when not cached); ps() and a policy run on
# a guest whose task list cannot be read exit non-zero, as does ps() with
# no guest at all.  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" profck sim
. "$(dirname "$0")/sim_dir.sh"
sim_dir_start "$T/d"
xl() { timeout 60 "$X" "$@" >"$T/out" 2>"$T/err" </dev/null; rc=$?; }
check() { if [ "$1" = 0 ]; then ok 0 "$2"; else ok 1 "$2"; echo "#   status $rc"; show "$T/out" "$T/err"; fi; }
attach() { echo "U1:ram=$T/d/U1.ram,qmp=$T/d/U1.qmp,profile=$1"; }

echo "1..7"
xl profile build --vmlinux "$B/xds-sim" --system-map "$T/d/U1.System.map" -o "$T/sim.profile"
[ "$rc" = 0 ]; check $? "the simulator's profile builds"

sed 's/^field task_struct.pid [0-9]*/field task_struct.pid 99999/' "$T/sim.profile" >"$T/past.profile"
xl profile show "$T/past.profile"
[ "$rc" != 0 ] && grep -q "field task_struct.pid at 99999 (4 bytes) lies past the end of the struct" "$T/err"
check $? "profile show: a field past the end of its struct is refused"
xl --qemu "$(attach "$T/past.profile")" -e 'ps()'
[ "$rc" != 0 ] && grep -q "lies past the end of the struct" "$T/err" && ! grep -q '^U1 ' "$T/out"
check $? "attaching with that profile is refused, nothing listed"

sed 's/^field task_struct.tasks [0-9]*/field task_struct.tasks 8/' "$T/sim.profile" >"$T/wrong.profile"
xl --qemu "$(attach "$T/wrong.profile")" -e 'ps()'
# refused at attach by its cross-checks (init_task's list must link back),
# or by ps() itself: either way an error that says where
[ "$rc" != 0 ] && grep -Eq "ps: no guest could be read \(U1: task list|U1: init_task.tasks" "$T/err"
check $? "ps() on a guest whose task list cannot be read exits non-zero"
xl --qemu "$(attach "$T/wrong.profile")" --duration 1s policies/quota.lua 'U1/bkup=20%'
[ "$rc" != 0 ] && grep -Eq "U1: task list|U1: init_task.tasks" "$T/err"
check $? "a policy run on that guest exits non-zero"
xl -e 'ps()'
[ "$rc" != 0 ] && grep -q "ps: no guest attached" "$T/err"
check $? "ps() with no guest attached exits non-zero"

K=/var/cache/xds-lua/usr/lib/debug/boot
vml=$(ls "$K"/vmlinux-* 2>/dev/null | head -1)
map=${vml/vmlinux-/System.map-}
if [ -n "$vml" ] && [ -f "$map" ]; then
	# another build's map: the same names, linux_banner elsewhere
	awk '$3 == "linux_banner" { $1 = "ffffffff82000100" } { print }' "$map" >"$T/other.map"
	xl profile build --vmlinux "$vml" --system-map "$T/other.map" -o "$T/mixed.profile"
	[ "$rc" != 0 ] && grep -q "the System.map is not this vmlinux's: linux_banner is at 0xffffffff82000100" "$T/err" &&
		[ ! -e "$T/mixed.profile" ]
	check $? "profile build: a vmlinux with another build's System.map is refused"
else
	echo "ok 7 # SKIP no Debian kernel debug files in $K"
fi
