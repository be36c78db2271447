#!/bin/bash
# guest_lost.t - a guest whose QEMU disappears is dropped with one line:
# two simulated domains attached with --qemu, a policy holding U1's bkup,
# the simulator killed (-9) mid-run: xds-lua says each guest is gone once,
# prints no flood of QMP errors, forgets the held tasks, ends the run with
# exit 0, and the next start on the same journal is not blocked.  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" lost sim
. "$(dirname "$0")/sim_dir.sh"
spec() { sim_spec "$@"; }
start_sim() { sim_dir_start "$@"; }
start_sim "$T/d"
echo "1..11"

"$X" --qemu "$(spec U1 "$T/d")" --qemu "$(spec U2 "$T/d")" --journal "$T/j" --duration 6s \
	policies/global_priority.lua U2/web U1/bkup >"$T/out" 2>"$T/err" </dev/null &
xl=$!
for _ in $(seq 100); do grep -q '^freeze ' "$T/j" 2>/dev/null && break; sleep 0.05; done
held=$(grep -c '^freeze ' "$T/j")
kill -9 "$sim"; wait "$sim" 2>/dev/null
wait "$xl"; rc=$?
[ "$held" -gt 0 ] && [ "$rc" = 0 ] && [ "$(grep -c 'U1: its QEMU is gone (QMP socket closed): dropped' "$T/err")" = 1 ] &&
	[ "$(grep -c 'U2: its QEMU is gone (QMP socket closed): dropped' "$T/err")" = 1 ]
ok $? "the simulator killed with $held task(s) held: each guest dropped with one line, exit $rc" || show "$T/err"
# besides the run's own start and stop lines (docs/log.md)
lines=$(grep -cv 'xds-lua: started: \|xds-lua: stopped: ' "$T/err")
! grep -Eq "connection closed|Broken pipe|could not be thawed" "$T/err" && [ "$lines" -le $((2 + held)) ]
ok $? "no flood of QMP errors ($lines lines on stderr besides the start and stop lines)" || show "$T/err"
! grep -q '^freeze ' "$T/j" || [ "$(grep -c '^gone ' "$T/j")" -ge "$(grep -c '^freeze ' "$T/j")" ]
ok $? "the journal keeps no held task of the lost guests" || show "$T/j"

start_sim "$T/d2"
"$X" --qemu "$(spec U1 "$T/d2")" --journal "$T/j" --duration 200ms policies/global_priority.lua U2/web U1/bkup \
	>"$T/out" 2>"$T/err" </dev/null
rc=$?
[ "$rc" = 0 ]
ok $? "the next start on that journal is not blocked" || show "$T/err"

# a crashed run's journal whose task_struct now holds another pid
"$X" --qemu "$(spec U1 "$T/d2")" --qemu "$(spec U2 "$T/d2")" --journal "$T/j2" --duration 20s \
	policies/global_priority.lua U2/web U1/bkup >"$T/out" 2>"$T/err" </dev/null &
xl=$!
for _ in $(seq 100); do grep -q '^freeze ' "$T/j2" 2>/dev/null && break; sleep 0.05; done
kill -9 "$xl"; wait "$xl" 2>/dev/null
sed -i 's/^\(freeze U1 0x[0-9a-f]*\) 320 /\1 999 /' "$T/j2"
"$X" --qemu "$(spec U1 "$T/d2")" --journal "$T/j2" --duration 200ms policies/global_priority.lua U2/web U1/bkup \
	>"$T/out" 2>"$T/err" </dev/null
rc=$?
[ "$rc" = 0 ] && [ "$(grep -c 'recover: U1 pid 999 is gone (task_struct 0x[0-9a-f]* now holds pid 320, not 999: the task exited or the guest rebooted); dropped from the journal' "$T/err")" = 1 ]
ok $? "a journal entry whose task_struct holds another pid is dropped with one line; the start goes on" || show "$T/err" "$T/j2"
# a guest rebooted since the crash: its task_struct may hold the same pid
# again (the sim, like a real boot, makes the same tasks at the same
# addresses), but forked at another time of another boot (--seed)
reboot_sim() {
	kill -9 "$sim"; wait "$sim" 2>/dev/null
	rm -f "$T/d2"/U1.* "$T/d2"/U2.*
	start_sim "$T/d2" "$1"
}
reboot_sim 1            # a guest of its own: the last check left its bkup frozen
"$X" --qemu "$(spec U1 "$T/d2")" --qemu "$(spec U2 "$T/d2")" --journal "$T/j4" --duration 20s \
	policies/global_priority.lua U2/web U1/bkup >"$T/out" 2>"$T/err" </dev/null &
xl=$!
for _ in $(seq 100); do grep -q '^freeze U1 ' "$T/j4" 2>/dev/null && break; sleep 0.05; done
kill -9 "$xl"; wait "$xl" 2>/dev/null
read -r _ _ addr pid start _ < <(grep '^freeze U1 ' "$T/j4" | head -1)
[ "${start:-0}" -gt 0 ] 2>/dev/null
ok $? "the journal keeps the frozen task's start time with its pid (pid ${pid:-?} forked at ${start:-?} ns)" || show "$T/j4"
# the kill may have cut a batch short or not: without its lines, the
# journal is the same in every run (its freeze entry alone)
sed -i '/^\(pause\|undo\|end\|resume\) /d' "$T/j4"
cp "$T/j4" "$T/j5"
cp "$T/j4" "$T/j7"
printf 'pause U1 1 99999999999\nundo U1 %s 8 0 0x1\n' "$addr" >>"$T/j7"
reboot_sim 1            # the same boot again: the same task, to be thawed
"$X" --qemu "$(spec U1 "$T/d2")" --journal "$T/j4" --duration 200ms policies/global_priority.lua U2/web U1/bkup \
	>"$T/out" 2>"$T/err" </dev/null
rc=$?
[ "$rc" = 0 ] && grep -q "recover: thawed U1 pid $pid\$" "$T/err" && ! grep -q 'is gone' "$T/err"
ok $? "the same pid forked at the same time is the journal's task: thawed" || show "$T/err"
reboot_sim 7            # another boot
"$X" --qemu "$(spec U1 "$T/d2")" --journal "$T/j5" --duration 200ms policies/global_priority.lua U2/web U1/bkup \
	>"$T/out" 2>"$T/err" </dev/null
rc=$?
[ "$rc" = 0 ] && [ "$(grep -c "recover: U1 pid $pid is gone (task_struct $addr holds a pid $pid forked [0-9.]* s into the guest's boot, not [0-9.]* s: the task exited or the guest rebooted); dropped from the journal" "$T/err")" = 1 ] &&
	! grep -q "recover: thawed" "$T/err"
ok $? "after a reboot, the same task_struct holding the same pid forked at another time is dropped with one line; the start goes on" || show "$T/err" "$T/j5"
reboot_sim 7
# a batch cut short at jiffies 99999999999, the guest's clock now behind it
"$X" --qemu "$(spec U1 "$T/d2")" --journal "$T/j7" --duration 200ms policies/global_priority.lua U2/web U1/bkup \
	>"$T/out" 2>"$T/err" </dev/null
rc=$?
[ "$rc" = 0 ] && [ "$(grep -c "recover: U1 booted again (its jiffies are [0-9]*, 99999999999 when the crashed run paused it); its 1 held task(s) went with the old boot, dropped from the journal" "$T/err")" = 1 ] &&
	! grep -Eq "undone|resuming|recover: thawed" "$T/err"
ok $? "the same slide, but the guest's jiffies behind the open batch's: another boot, its batch not undone, nothing written" || show "$T/err" "$T/j7"
# a KASLR guest rebooted: its slide changed, so the journal's addresses,
# its cut-short batch and its pause are of the old boot: nothing is written
sed 's/name = "U1", vcpus = 1,/name = "U1", kaslr = true, vcpus = 1,/' sim/scenarios/paper.lua >"$T/kaslr.lua"
sim_scenario="$T/kaslr.lua" reboot_sim 1
"$X" --qemu "$(spec U1 "$T/d2")" --qemu "$(spec U2 "$T/d2")" --journal "$T/j6" --duration 20s \
	policies/global_priority.lua U2/web U1/bkup >"$T/out" 2>"$T/err" </dev/null &
xl=$!
for _ in $(seq 100); do grep -q '^freeze U1 ' "$T/j6" 2>/dev/null && break; sleep 0.05; done
kill -9 "$xl"; wait "$xl" 2>/dev/null
slide=$(awk '$1 == "boot" && $2 == "U1" { print $3 }' "$T/j6" | tail -1)
# and a batch cut short, as a kill between write and end would leave it
read -r _ _ addr _ < <(grep '^freeze U1 ' "$T/j6" | head -1)
printf 'pause U1\nundo U1 %s 8 0xdead\n' "$addr" >>"$T/j6"
sim_scenario="$T/kaslr.lua" reboot_sim 7
"$X" --qemu "$(spec U1 "$T/d2")" --journal "$T/j6" --duration 200ms policies/global_priority.lua U2/web U1/bkup \
	>"$T/out" 2>"$T/err" </dev/null
rc=$?
[ "$rc" = 0 ] && [ -n "$slide" ] && [ "$slide" != 0 ] &&
	[ "$(grep -c "recover: U1 booted again (its KASLR slide is 0x[0-9a-f]*, the journal's $slide); its 1 held task(s) went with the old boot, dropped from the journal" "$T/err")" = 1 ] &&
	! grep -Eq "recover: thawed|undone|resuming" "$T/err"
ok $? "after a reboot with another KASLR slide, the guest's entries, batch and pause are dropped with one line, nothing written; the start goes on" || show "$T/err" "$T/j6"
kill -9 "$sim"; wait "$sim" 2>/dev/null
rm -f "$T/d2"/U1.* "$T/d2"/U2.*
printf 'guest U1 %s\nfreeze U1 0xffff888000100000 320 bkup\n' "$(spec U1 "$T/d2")" >"$T/j3"
"$X" --recover --journal "$T/j3" >"$T/out" 2>"$T/err" </dev/null
rc=$?
[ "$rc" = 0 ] && grep -q "U1: its RAM file $T/d2/U1.ram and QMP socket $T/d2/U1.qmp are gone" "$T/err"
ok $? "--recover: an entry for a guest that is gone is dropped with a message" || show "$T/err"
