#!/bin/bash
# policy_check.t - `xds-lua check POLICY [args]` (issue 17) on the
# simulated paper host: a dry run that changes nothing and reports a spec
# that matches no task, one that would match protected tasks, and a tick
# that costs more than the tick; exit 0 with no finding, 2 with some, 1
# for a policy that cannot run.  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" check sim
SC=sim/scenarios/paper.lua
echo "1..8"

"$X" check --sim "$SC" policies/global_priority.lua U1/db U2/web U1/bkup >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 0 ] && grep -q '^global_priority: 0 finding(s)$' "$T/out" && ! grep -q '^finding' "$T/out" &&
	grep -Eq '^policy tick: mean [0-9.]+ ms, max [0-9.]+ ms over 100 ticks: within the tick of 10 ms' "$T/out"
ok $? "a sound policy: no finding, the tick's cost within the tick, exit 0 (exit $rc)" || show "$T/out" "$T/err"

grep -Eq '^dry run: the policy asked for [1-9][0-9]* freeze\(s\) and [0-9]+ thaw\(s\); nothing was changed$' "$T/out" &&
	! grep -Eq '^ *[0-9.]+ s  tick' "$T/out"
ok $? "it says what the policy asked for, and prints no plan" || show "$T/out"

"$X" check --sim "$SC" policies/global_priority.lua U1/db U2/nothing 'u1/*' >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 2 ] && grep -qx "finding: task spec 'U2/nothing' matches no task (domains: U1, U2)" "$T/out" &&
	grep -qx "finding: task spec 'u1/\*' would match 1 protected task(s), which it leaves alone: U1/init\[1\] (the guest's init (pid 1))" "$T/out" &&
	grep -qx 'global_priority: 2 finding(s)' "$T/out"
ok $? "a spec that matches nothing and one that would match init are findings, exit 2 (exit $rc)" || show "$T/out" "$T/err"

# protected = true: the spec asks for protected tasks; not a finding
cat >"$T/prot.lua" <<'LUA'
local policy = require("policy")
return policy.idle_only{ "U1/db", { dom = "U1", comm = "init", protected = true } }
LUA
"$X" check --sim "$SC" "$T/prot.lua" >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 0 ] && ! grep -q 'protected task' "$T/out"
ok $? "a spec that says protected = true is no finding (exit $rc)" || show "$T/out" "$T/err"

# a policy whose tick spins for 30 ms
cat >"$T/slow.lua" <<'LUA'
return { name = "slow", tick = function()
	local t = os.clock() + 0.03
	while os.clock() < t do end
end }
LUA
"$X" check --sim "$SC" --duration 100ms "$T/slow.lua" >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 2 ] && grep -Eq '^finding: policy tick: mean [0-9.]+ ms, max [0-9.]+ ms over 10 ticks: more than the tick of 10 ms' "$T/out"
ok $? "a tick that costs more than the tick is a finding (exit $rc)" || show "$T/out" "$T/err"

"$X" check --sim "$SC" policies/quota.lua 'U1/bkup=.%' >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 1 ] && grep -q 'quota' "$T/err" && ! grep -q 'traceback' "$T/err"
ok $? "a policy given bad arguments: its usage message, exit 1 (exit $rc)" || show "$T/err"

"$X" check --sim "$SC" >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 1 ] && grep -q 'check: give the policy to check' "$T/err"
ok $? "no policy to check: said, exit 1 (exit $rc)" || show "$T/err"

# nothing is changed: bkup, which the policy wants frozen every tick,
# runs on through the check (a simulator served as a QEMU guest is)
. "$(dirname "$0")/sim_dir.sh"
sim_dir_start "$T/d"
cat >"$T/hold.lua" <<'LUA'
return { name = "hold", tick = function() for _, t in ipairs(xds.tasks("U1/bkup")) do t:freeze() end end }
LUA
cpu() { "$X" --qemu "$(sim_spec U1 "$T/d")" -e 'print(xds.tasks("U1/bkup")[1].cputime)' 2>/dev/null; }
c0=$(cpu)
"$X" check --qemu "$(sim_spec U1 "$T/d")" "$T/hold.lua" >"$T/out" 2>"$T/err"
rc=$?
c1=$(cpu)
[ "$rc" = 0 ] && grep -Eq 'asked for [1-9][0-9]* freeze' "$T/out" &&
	awk -v a="${c0:-x}" -v b="${c1:-x}" 'BEGIN { exit !(a + 0 == a && b - a > 1e8) }'
ok $? "a check freezes nothing: bkup, held every tick by the policy, ran from $c0 to $c1 ns of CPU time (exit $rc)" ||
	show "$T/out" "$T/err"
