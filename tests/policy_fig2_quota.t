#!/bin/bash
# policy_fig2_quota.t - idle_only and quota on the simulator, judged by its
# ground truth sampled every tick (10 ms of virtual time):
#   - fig2.lua with idle_only, 30 s: the lowest process runs only in ticks
#     where no other process of any domain is runnable, with one tick of
#     slack (a tick where it ran counts against the policy only if another
#     process was runnable, state R, at the samples before that tick and
#     before the previous one);
#   - quota.lua 'U1/bkup=20%' on a host where bkup competes with two busy
#     tasks: bkup gets 20 +/- 2 % of the CPU over 10 s (33 % without);
#   - 0 invariant violations.
# Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" policy-fq sim
between() { [ -n "$1" ] && awk -v a="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(a >= lo && a <= hi) }'; }
mkdir "$T/tmp"
export TMPDIR="$T/tmp"

cat >"$T/idle.lua" <<'LUA'
-- A tick counts against the policy when lowest ran in it although another
-- process was runnable (ground-truth state R) at the two samples before it:
-- the policy saw that at the start of the previous tick and had a whole
-- tick to get lowest off the CPU.
local policy, ticks = ...
if policy ~= "none" then xds.load(policy) end
local function rows()
  local by, t = {}, xds.sim.tasks()
  for _, r in ipairs(t.tasks) do by[r.dom .. "/" .. r.comm] = r end
  return by, t.violations
end
local others = { "U1/proc1", "U1/proc2", "U2/proc3" }
local prev, before = rows(), nil      -- the first tick has no tick before it
local ran, bad, max_viol = 0, 0, 0
for _ = 1, tonumber(ticks) do
  xds.step(1)
  local now, viol = rows()
  if now["U1/lowest"].cputime_ns > prev["U1/lowest"].cputime_ns then
    ran = ran + 1
    for _, o in ipairs(others) do
      if before and before[o].state == "R" and prev[o].state == "R" then bad = bad + 1 break end
    end
  end
  max_viol = math.max(max_viol, viol)
  before, prev = prev, now
end
print("ran " .. ran)
print("bad " .. bad)
print("violations " .. max_viol)
LUA
"$X" --sim sim/scenarios/fig2.lua --journal "$T/journal" "$T/idle.lua" policies/idle_only.lua 3000 \
	>"$T/idle.out" 2>"$T/idle.err" </dev/null
ok $? "30 s of fig2.lua under idle_only"
sed 's/^/# idle_only: /' "$T/idle.out" "$T/idle.err"
bad=$(awk '$1 == "bad" { print $2 }' "$T/idle.out")
ran=$(awk '$1 == "ran" { print $2 }' "$T/idle.out")
[ -n "$bad" ] && [ "$bad" = 0 ] && [ "${ran:-0}" -gt 0 ]
ok $? "lowest runs ($ran ticks) only while no other process is runnable, one tick of slack ($bad ticks against)"
[ "$(awk '$1 == "violations" { print $2 }' "$T/idle.out")" = 0 ]
ok $? "0 invariant violations under idle_only"
"$X" --sim sim/scenarios/fig2.lua --journal "$T/journal" "$T/idle.lua" none 3000 \
	>"$T/none.out" 2>&1 </dev/null
bad=$(awk '$1 == "bad" { print $2 }' "$T/none.out")
[ "${bad:-0}" -gt 100 ]
ok $? "without the policy lowest runs beside busy processes (${bad:-?} ticks)"

cat >"$T/quota_sc.lua" <<'LUA'
-- bkup and two busy tasks share U1's one vCPU; U1 has the one physical CPU.
host { pcpus = 1 }
domain { name = "U1", vcpus = 1, ram = "64M", weight = 256 }
task { dom = "U1", comm = "bkup",  pid = 320, run = cpu() }
task { dom = "U1", comm = "busy1", pid = 401, run = cpu() }
task { dom = "U1", comm = "busy2", pid = 402, run = cpu() }
LUA
cat >"$T/quota.lua" <<'LUA'
local policy = ...
if policy ~= "none" then xds.load(policy, "U1/bkup=20%") end
local function bkup()
  local t = xds.sim.tasks()
  for _, r in ipairs(t.tasks) do if r.comm == "bkup" then return r.cputime_ns, t.violations end end
end
local c0 = bkup()
local max_viol = 0
for _ = 1, 1000 do
  xds.step(1)
  local _, v = bkup()
  max_viol = math.max(max_viol, v)
end
local c1 = bkup()
print(string.format("share %.2f", (c1 - c0) / 1e9 / 10 * 100))
print("violations " .. max_viol)
LUA
"$X" --sim "$T/quota_sc.lua" --journal "$T/journal" "$T/quota.lua" policies/quota.lua \
	>"$T/q.out" 2>"$T/q.err" </dev/null
ok $? "10 s of bkup against two busy tasks under quota U1/bkup=20%"
sed 's/^/# quota: /' "$T/q.out" "$T/q.err"
share=$(awk '$1 == "share" { print $2 }' "$T/q.out")
between "${share:-0}" 18 22
ok $? "bkup gets 20 +/- 2 % of the CPU over 10 s (${share:-?} %)"
[ "$(awk '$1 == "violations" { print $2 }' "$T/q.out")" = 0 ]
ok $? "0 invariant violations under quota"
"$X" --sim "$T/quota_sc.lua" --journal "$T/journal" "$T/quota.lua" none >"$T/qn.out" 2>&1 </dev/null
share=$(awk '$1 == "share" { print $2 }' "$T/qn.out")
between "${share:-0}" 30 37
ok $? "without the quota bkup gets its third (${share:-?} %)"
echo "1..$n"
