#!/bin/bash
# guest_identity.t - one scheduler per guest, one name per guest, and a
# RAM file that is the QMP socket's guest.  On a simulator's domains
# attached with --qemu: a second xds-lua on a guest that one already
# schedules (with another journal) is refused and names the holder's pid;
# the same guest twice under two names (its RAM file, or its QMP socket)
# is refused; U1's QMP socket with U2's RAM file is refused at attach,
# saying which.  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" ident sim
. "$(dirname "$0")/sim_dir.sh"
sim_dir_start "$T/d"
# spec NAME RAM_OF QMP_OF: NAME with one domain's RAM file and another's QMP socket
spec() { sim_spec "$2" "$T/d" | sed "s|^$2:|$1:|; s|/$2\.qmp|/$3.qmp|"; }
xl() { timeout 60 "$X" "$@" >"$T/out" 2>"$T/err" </dev/null; rc=$?; }
check() { if [ "$1" = 0 ]; then ok 0 "$2"; else ok 1 "$2"; echo "#   status $rc"; show "$T/out" "$T/err"; fi; }

echo "1..5"

xl --qemu "$(spec U1 U1 U1)" -e 'print(#xds.tasks())'
[ "$rc" = 0 ] && [ "$(cat "$T/out")" = 3 ]
check $? "U1 attached by its own RAM file and QMP socket lists its 3 tasks"

"$X" --qemu "$(spec U1 U1 U1)" --journal "$T/jA" --duration 20s policies/quota.lua 'U1/bkup=20%' \
	>"$T/a.out" 2>&1 &
a=$!
for _ in $(seq 100); do grep -q FLOCK /proc/locks && [ -s "$T/jA" ] && break; sleep 0.1; done
xl --qemu "$(spec U1 U1 U1)" --journal "$T/jB" --duration 1s policies/quota.lua 'U1/db=20%'
[ "$rc" != 0 ] && grep -q "another xds-lua schedules this guest (pid $a holds the lock on $T/d/U1.ram)" "$T/err"
check $? "a second scheduler on U1 (another journal) is refused, naming the first one's pid"
kill "$a"; wait "$a"

xl --qemu "$(spec U1 U1 U1)" --qemu "$(spec U9 U1 U2)" -e 'ps()'
[ "$rc" != 0 ] && grep -q "U9: its RAM file $T/d/U1.ram is U1's: the same guest attached twice" "$T/err"
check $? "the same RAM file under a second name is refused"
xl --qemu "$(spec U1 U1 U1)" --qemu "$(spec U9 U2 U1)" -e 'ps()'
[ "$rc" != 0 ] && grep -q "U9: its QMP socket $T/d/U1.qmp is U1's: the same guest attached twice" "$T/err"
check $? "the same QMP socket under a second name is refused"

xl --qemu "$(spec U1 U2 U1)" -e 'ps()'
[ "$rc" != 0 ] && grep -q "U1: the RAM file $T/d/U2.ram is not the guest of QMP socket $T/d/U1.qmp" "$T/err" &&
	! grep -q web "$T/out"
check $? "U1's QMP socket with U2's RAM file is refused at attach, saying which"
