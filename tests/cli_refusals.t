#!/bin/bash
# cli_refusals.t - what would do nothing, or something else than asked,
# is an error up front with a message naming the value and a non-zero
# exit: a script that is no policy with --duration (return 42, a tick that
# is not a function), run options with -e, a policy with no guest to
# schedule, tick_ms that is not a whole number of ms from 1 to 3600000, a
# run shorter than one tick, quota.lua's '.%' share and 0 s window, run(0)
# in the REPL, --report/--journal/--trace in a folder that does not exist
# (and none is made), xds-sim --dir that does not exist, and a --trace
# that cannot be written.  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" refuse sim
export HOME="$T/home" XDG_STATE_HOME="$T/state"
mkdir -p "$HOME"
SC=sim/scenarios/paper.lua
xl() { timeout 60 "$X" "$@" >"$T/out" 2>"$T/err" </dev/null; rc=$?; }
# refused DESC PATTERN ARGS...: exit 1, PATTERN on stderr, no row of a run
refused() {
	local desc=$1 pat=$2
	shift 2
	xl "$@"
	if [ "$rc" = 1 ] && grep -qF -- "$pat" "$T/err" && ! grep -q "invariant violations" "$T/out"; then
		ok 0 "$desc"
	else
		ok 1 "$desc"; echo "#   status $rc"; show "$T/out" "$T/err"
	fi
}
echo 'return 42' >"$T/p42.lua"
echo 'return { tick = "x" }' >"$T/px.lua"
pol() { echo "return { tick_ms = $1, tick = function() end }" >"$T/pt.lua"; echo "$T/pt.lua"; }

echo "1..20"
refused "return 42 with --duration" "--duration: only meaningful with a policy or a script that runs ticks (the script returns no table" \
	--sim $SC --duration 1s "$T/p42.lua"
refused "return { tick = \"x\" }" "px.lua: not a policy: its tick is a string, not a function" \
	--sim $SC --duration 1s "$T/px.lua"
refused "--report with -e" "--report: only meaningful with a policy or a script that runs ticks (no script given" \
	--sim $SC --report "$T/r.json" -e 'print(1)'
refused "--dry-run with -e" "--dry-run: only meaningful with a policy" --sim $SC --dry-run -e 'print(1)'
refused "a policy with no guest" "no guest to schedule: give --sim SCENARIO or --qemu SPEC" \
	--duration 1s policies/quota.lua
for v in 0 -5 1e12 '"10"' '0/0'; do
	refused "tick_ms = $v" "tick_ms = " --sim $SC --duration 1s "$(pol "$v")"
done
refused "--tick 5000 --duration 1s" "a run of 1000 ms is shorter than one tick (5000 ms)" \
	--sim $SC --tick 5000 --duration 1s policies/quota.lua
refused "--duration 5ms" "a run of 5 ms is shorter than one tick (10 ms)" --sim $SC --duration 5ms policies/quota.lua
refused "quota.lua U1/bkup=.%" "not a share (like 20% or 0.2): .%" --sim $SC --duration 1s policies/quota.lua 'U1/bkup=.%'
refused "quota.lua --window 0s" "the window must be longer than 0 s, not 0" \
	--sim $SC --duration 1s policies/quota.lua --window 0s 'U1/bkup=10%'
refused "--report in a missing folder, before the run" "--report $T/no/x.json: the folder $T/no does not exist" \
	--sim $SC --duration 1s --report "$T/no/x.json" policies/quota.lua
refused "--journal in a missing folder" "--journal $T/no/dir/j: the folder $T/no/dir does not exist" \
	--sim $SC --duration 1s --journal "$T/no/dir/j" policies/quota.lua
[ ! -e "$T/no" ]; ok $? "no folder was made for them"
xl --sim $SC --duration 1s --trace /dev/full policies/quota.lua
[ "$rc" = 1 ] && grep -qF -- "--trace /dev/full: could not be written whole" "$T/err"
ok $? "--trace that cannot be written: an error, not ignored" || show "$T/err"

timeout 20 "$B/xds-sim" $SC --dir "$T/none/d" >"$T/out" 2>&1; rc=$?
[ "$rc" != 0 ] && grep -qF -- "--dir $T/none/d: No such file or directory" "$T/out" && [ ! -e "$T/none" ]
ok $? "xds-sim --dir in a missing folder: refused, nothing made" || show "$T/out"

printf 'run(0)\nprint("after")\n' | timeout 20 "$X" --sim $SC -i >"$T/out" 2>&1
grep -q "a duration above 0 expected" "$T/out" && grep -qx after "$T/out"
ok $? "run(0) in the REPL is refused at once" || show "$T/out"
