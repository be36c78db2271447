#!/bin/bash
# policy_args.t - every shipped policy (policies/*.lua) says its arguments
# at the top ("-- Arguments:" in its opening comment), runs with its
# defaults, and refuses a bad argument before the first tick: exit 1, a
# message naming the argument and what was expected, no traceback, no
# tick run and nothing frozen (the trace stays empty).  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" policy-args sim
mkdir "$T/tmp"
export TMPDIR="$T/tmp" HOME="$T/home" XDG_STATE_HOME="$T/state"
mkdir -p "$HOME"
SC=sim/scenarios/paper.lua

for p in policies/*.lua; do
	awk 'NR == 1, !/^--/' "$p" | grep -q '^-- Arguments:'
	ok $? "$p documents its arguments at the top"
	timeout 60 "$X" --sim $SC --journal "$T/journal" --duration 1s "$p" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	[ $rc = 0 ] && grep -q "invariant violations (host check): 0" "$T/out"
	ok $? "$p runs with its defaults" || show "$T/err"
done

# refused POLICY PATTERN ARGS...
refused() {
	local p=$1 pat=$2
	shift 2
	timeout 60 "$X" --sim $SC --journal "$T/journal" --duration 1s --trace "$T/trace" "policies/$p" "$@" \
		>"$T/out" 2>"$T/err" </dev/null
	local rc=$?
	[ "$rc" = 1 ] && grep -qF -- "$pat" "$T/err" && ! grep -q "stack traceback" "$T/err" &&
		! grep -q "invariant violations" "$T/out" && [ ! -s "$T/trace" ]
	ok $? "$p $*: refused before the first tick ('$pat')" || { echo "#   status $rc"; show "$T/out" "$T/err"; }
	sed -n '1s/^/# /p' "$T/err" >&2
}
refused global_priority.lua "global_priority.lua: unknown option '--order'" --order U1/db
refused global_priority.lua "task spec 'U1/': nothing after the '/'" U1/db U1/
refused idle_only.lua "idle_only.lua: unknown option '--idle'" --idle
refused idle_only.lua "task spec 'U1/[a': an unclosed [" 'U1/[a'
refused quota.lua "quota.lua: argument 2 'U1/db': expected SPEC=SHARE" 'U1/bkup=20%' U1/db
refused quota.lua "quota: U1/bkup: not a share (like 20% or 0.2): -5%" 'U1/bkup=-5%'
refused share.lua "share.lua: argument 1 'U1/db=x': expected SPEC=WEIGHT" 'U1/db=x'
refused share.lua "share: the window must be longer than 0 s, not 0" --window 0 U1/db=1 U2/web=1
refused tiers.lua "tiers.lua: takes no arguments" U1/db
echo "1..$n"
