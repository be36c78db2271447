#!/bin/bash
# fail_signals.t - no task is left frozen whatever signal ends xds-lua or
# however its policy hangs (issue 14, points 1 and 2): a closed stdout
# (`| head`), SIGQUIT, SIGUSR2, SIGALRM, SIGXCPU thaw before exit; SIGUSR1
# prints a status and the run goes on; a policy stuck inside one C call
# is stopped by the tick's deadline and every task is thawed; a forced
# exit (second signal while the first is stuck) thaws first.  "Thawed" is
# read from the journal: every freeze it lists has its thaw.  On the
# simulator, wall-clock ticks (--realtime).  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" failsig sim

SC="$T/paper.lua"
cp sim/scenarios/paper.lua "$SC"
mkdir "$T/tmp"
export TMPDIR="$T/tmp"
J="$T/journal"

# freezes U1/bkup every tick and prints a line; with HANG=N the Nth tick
# runs a pattern that backtracks for ever inside string.find
cat >"$T/pol.lua" <<'LUA'
local hang = tonumber(arg[1] or "0")
local n = 0
return { name = "printer", tick = function()
	n = n + 1
	for _, t in ipairs(xds.tasks("U1/bkup")) do t:freeze() end
	print("tick " .. n)
	if n == hang then string.find(("a"):rep(28), ("a*"):rep(28) .. "b") end
end }
LUA

# held_left: the journal's tasks frozen and never thawed (none: empty output)
held_left() {
	awk '$1 == "freeze" { h[$2 " " $3]++ } $1 == "thaw" || $1 == "gone" { h[$2 " " $3]-- }
	     END { for (k in h) if (h[k] > 0) print k }' "$J" 2>/dev/null
}
froze_once() { grep -q ' freeze U1/bkup\[320\] frozen' "$T/trace" 2>/dev/null; }
# held_once: frozen, or told to leave its CPU (caught running; the tick that
# would see it off the CPU may never come when the run is stuck)
held_once() { grep -qE ' freeze U1/bkup\[320\] (frozen|told to leave its CPU)' "$T/trace" 2>/dev/null; }
wait_frozen() { for _ in $(seq 100); do froze_once && return 0; sleep 0.1; done; return 1; }
wait_held() { for _ in $(seq 100); do held_once && return 0; sleep 0.1; done; return 1; }
sim_gone() { ! pgrep -f "xds-sim $SC" >/dev/null && [ -z "$(ls -A "$T/tmp")" ]; }
why() { echo "#   status $rc; stderr:"; show "$T/err"; echo "#   journal:"; show "$J"; echo "#   trace:"; show "$T/trace"; }
check() { if [ "$1" = 0 ]; then ok 0 "$2"; else ok 1 "$2"; why >&2; fi; }

rm -f "$J" "$T/trace"
timeout -s KILL 30 "$X" --sim "$SC" --realtime --journal "$J" --trace "$T/trace" "$T/pol.lua" 2>"$T/err" </dev/null |
	head -2 >"$T/out"
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] && [ "$(wc -l <"$T/out")" = 2 ] && froze_once && [ -z "$(held_left)" ] && sim_gone
check $? "a closed stdout (| head -2) ends the run cleanly: exit 0, bkup thawed, simulator gone"

for sig in QUIT USR2 ALRM XCPU; do
	rm -f "$J" "$T/trace"
	"$X" --sim "$SC" --realtime --journal "$J" --trace "$T/trace" "$T/pol.lua" >/dev/null 2>"$T/err" </dev/null &
	pid=$!
	wait_frozen
	kill -s $sig $pid
	for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	kill -s KILL $pid 2>/dev/null
	wait $pid; rc=$?
	[ "$rc" != 137 ] && froze_once && [ -z "$(held_left)" ] && sim_gone
	check $? "SIG$sig thaws before exit (status $rc, not killed by the signal)"
done

rm -f "$J" "$T/trace"
"$X" --sim "$SC" --realtime --journal "$J" --trace "$T/trace" "$T/pol.lua" >/dev/null 2>"$T/err" </dev/null &
pid=$!
wait_frozen
sleep 0.3
kill -s USR1 $pid
for _ in $(seq 50); do grep -q 'held U1/bkup\[320\] frozen' "$T/err" && break; sleep 0.1; done
alive=0; kill -0 $pid 2>/dev/null || alive=1
kill -s TERM $pid
wait $pid; rc=$?
[ "$alive" = 0 ] && grep -q '^xds-lua: status: guest U1$' "$T/err" && grep -q '^xds-lua: status: guest U2$' "$T/err" &&
	grep -q 'status: 1 task(s) held; tick mean' "$T/err" && grep -q 'held U1/bkup\[320\] frozen' "$T/err" &&
	[ -z "$(held_left)" ]
check $? "SIGUSR1 prints the guests, the held tasks and the tick figures; the run goes on"

rm -f "$J" "$T/trace"
t0=$(date +%s)
timeout -s KILL 60 "$X" --sim "$SC" --realtime --journal "$J" --trace "$T/trace" "$T/pol.lua" 5 >/dev/null 2>"$T/err" </dev/null
rc=$?
t1=$(date +%s)
[ "$rc" = 1 ] && froze_once && [ -z "$(held_left)" ] && sim_gone &&
	grep -q 'policy printer overran the tick.s deadline (2000 ms) inside one call; every task is thawed' "$T/err" &&
	[ $((t1 - t0)) -lt 30 ]
check $? "a policy stuck in one C call (string.find backtracking): thawed at the deadline, exit 1 ($((t1 - t0)) s)"

# the same stuck C call outside any policy (an -e chunk, after a freeze by
# hand): SIGTERM cannot stop it; a second SIGTERM forces the exit, thawing first
rm -f "$J" "$T/trace"
"$X" --sim "$SC" --realtime --journal "$J" --trace "$T/trace" -e 'xds.tasks("U1/bkup")[1]:freeze(); xds.step()
	string.find(("a"):rep(28), ("a*"):rep(28) .. "b")' >/dev/null 2>"$T/err" </dev/null &
pid=$!
wait_held
sleep 0.3
kill -s TERM $pid
sleep 2.5
kill -s TERM $pid
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -s KILL $pid 2>/dev/null
wait $pid; rc=$?
[ "$rc" = 143 ] && held_once && [ -z "$(held_left)" ] && sim_gone && grep -q 'forced exit: every task thawed' "$T/err"
check $? "a forced exit (second SIGTERM, first stuck in C) thaws first"

echo "1..$n"
