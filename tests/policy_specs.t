#!/bin/bash
# policy_specs.t - task specs that would make a policy a silent no-op: a
# malformed spec ('', 'U1/', 'U1/[') is an error that shows it; a spec
# that matches no task (U9/nothing for global_priority.lua, U9/x=20% for
# quota.lua) is said at the start and once a minute after (virtual time);
# a domain named in the wrong case (u1 for U1) matches.  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" specs sim
export HOME="$T/home" XDG_STATE_HOME="$T/state"
mkdir -p "$HOME"
SC=sim/scenarios/paper.lua
xl() { timeout 120 "$X" --sim $SC "$@" >"$T/out" 2>"$T/err" </dev/null; rc=$?; }
check() { if [ "$1" = 0 ]; then ok 0 "$2"; else ok 1 "$2"; echo "#   status $rc"; show "$T/out" "$T/err"; fi; }

echo "1..6"
for spec in '' 'U1/' 'U1/['; do
	xl --duration 100ms policies/global_priority.lua "$spec"
	[ "$rc" = 1 ] && grep -qF "xds-lua: task spec '$spec': " "$T/err" && ! grep -q "invariant" "$T/out"
	check $? "malformed spec '$spec' is an error that shows it"
done

xl --tick 100 --duration 125s policies/global_priority.lua U1/db U9/nothing
[ "$rc" = 0 ] && [ "$(grep -c "task spec 'U9/nothing' matches no task (domains: U1, U2)" "$T/err")" = 3 ] &&
	! grep -q "U1/db' matches no task" "$T/err"
check $? "global_priority.lua U9/nothing: said at 0, 60 and 120 s of a 125 s run, U1/db never"

xl --duration 100ms policies/quota.lua 'U9/x=20%'
[ "$rc" = 0 ] && grep -q "task spec 'U9/x' matches no task" "$T/err"
check $? "quota.lua U9/x=20%: said at the start"

xl --duration 3s --report "$T/r.json" policies/quota.lua 'u1/bkup=20%'
frozen=$(python3 -c "import json; r=json.load(open('$T/r.json'))
print([t['frozen_ns'] for t in r['tasks'] if t['comm']=='bkup'][0])")
[ "$rc" = 0 ] && [ "$frozen" -gt 0 ] && ! grep -q "matches no task" "$T/err"
check $? "quota.lua u1/bkup=20%: the domain matches in either case, bkup is held ($frozen ns)"
