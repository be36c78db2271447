#!/bin/bash
# policy_paper.t - global_priority on the paper's host (sim/scenarios/paper.lua),
# 60 s of virtual time, judged by the simulator's ground truth sampled
# every tick (10 ms):
#   - db gets at least 95 % of the CPU whenever it is runnable:
#     db's wait / (cpu + wait + held) over the run <= 5 %;
#   - bkup runs while web is runnable in less than 1 % of the ticks where
#     web is runnable (web's CPU or wait grew), and without a policy this
#     inversion is there (> 10 %);
#   - the simulator counts 0 invariant violations.
# Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" policy-paper sim
mkdir "$T/tmp"
export TMPDIR="$T/tmp"

# measure.lua POLICY|none: per tick, from the ground truth.
cat >"$T/measure.lua" <<'LUA'
local policy = ...
if policy ~= "none" then xds.load(policy) end
local function rows()
  local by, t = {}, xds.sim.tasks()
  for _, r in ipairs(t.tasks) do by[r.comm] = r end
  return by, t.violations
end
local prev = rows()
local web_ticks, inverted, max_viol = 0, 0, 0
for _ = 1, 6000 do
  xds.step(1)
  local now, viol = rows()
  local function grew(c, f) return now[c][f] > prev[c][f] end
  local web_runnable = grew("web", "cputime_ns") or grew("web", "wait_ns")
  if web_runnable then
    web_ticks = web_ticks + 1
    if grew("bkup", "cputime_ns") then inverted = inverted + 1 end
  end
  if viol > max_viol then max_viol = viol end
  prev = now
end
local db = prev.db
print(string.format("db_wait %.4f", db.wait_ns / (db.cputime_ns + db.wait_ns + db.held_ns)))
print(string.format("inversion %.4f %d %d", inverted / math.max(web_ticks, 1), inverted, web_ticks))
print(string.format("db_cpu %.3f web_cpu %.3f bkup_cpu %.3f", db.cputime_ns / 1e9,
  prev.web.cputime_ns / 1e9, prev.bkup.cputime_ns / 1e9))
print("violations " .. max_viol)
LUA

measure() {
	"$X" --sim sim/scenarios/paper.lua --journal "$T/journal" "$T/measure.lua" "$1" \
		>"$T/$2.out" 2>"$T/$2.err" </dev/null
}
field() { awk -v k="$2" '$1 == k { print $2 }' "$T/$1.out"; }
lt() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

measure policies/global_priority.lua gp; rc=$?
ok $rc "60 s of paper.lua under global_priority"
[ $rc = 0 ] || sed 's/^/# /' "$T/gp.err"
sed 's/^/# global_priority: /' "$T/gp.out"
lt "$(field gp db_wait)" 0.05
ok $? "db gets at least 95 % of the CPU whenever it is runnable (waits $(field gp db_wait))"
lt "$(field gp inversion)" 0.01
ok $? "bkup runs while web is runnable in < 1 % of those ticks ($(field gp inversion))"
[ "$(field gp violations)" = 0 ]
ok $? "0 invariant violations with the policy"

measure none np; rc=$?
ok $rc "60 s of paper.lua without a policy"
sed 's/^/# no policy: /' "$T/np.out"
lt 0.10 "$(field np inversion)"
ok $? "without a policy the inversion is there (> 10 %: $(field np inversion))"
[ "$(field np violations)" = 0 ]
ok $? "0 invariant violations without a policy"
echo "1..$n"
