#!/bin/bash
# policy_compose.t - policies/tiers.lua (policy.compose of a quota on web,
# a strict priority db > web, idle_only bkup) on the paper's host, 60 s of
# virtual time, judged by the simulator's ground truth sampled every tick:
#   - db gets at least 95 % of the CPU whenever it is runnable;
#   - web never uses more than its quota, 30 % of a CPU, plus a band and
#     a half (20 % of the quota each) and a tick, 40 %, in any 1 s window
#     (global_priority alone lets it have up to 100 %);
#   - bkup runs beside a waiting db in less than 1 % of the ticks (the one
#     tick it takes to see db wake);
#   - what the quota holds back from web goes to bkup, not to waste: the
#     three get at least 98 % of the CPU;
#   - 0 invariant violations; an argument to tiers.lua is refused.
# Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" policy-compose sim
mkdir "$T/tmp"
export TMPDIR="$T/tmp" HOME="$T/home" XDG_STATE_HOME="$T/state"
mkdir -p "$HOME"
SC=sim/scenarios/paper.lua

cat >"$T/measure.lua" <<'LUA'
local policy = ...
if policy ~= "none" then xds.load(policy) end
local function rows()
  local by, t = {}, xds.sim.tasks()
  for _, r in ipairs(t.tasks) do by[r.comm] = r end
  return by, t.violations
end
local first = rows()
local prev, web = first, { first.web.cputime_ns }
local beside, db_ticks, max_viol, web_max = 0, 0, 0, 0
for i = 1, 6000 do
  xds.step(1)
  local now, viol = rows()
  local function grew(c, f) return now[c][f] > prev[c][f] end
  if grew("db", "wait_ns") or grew("db", "cputime_ns") then db_ticks = db_ticks + 1 end
  if grew("bkup", "cputime_ns") and grew("db", "wait_ns") then beside = beside + 1 end
  web[i + 1] = now.web.cputime_ns
  if i >= 100 then web_max = math.max(web_max, web[i + 1] - web[i - 99]) end
  max_viol = math.max(max_viol, viol)
  prev = now
end
local function pct(c) return (prev[c].cputime_ns - first[c].cputime_ns) / 6e8 end
print(string.format("db_wait %.4f", prev.db.wait_ns / (prev.db.cputime_ns + prev.db.wait_ns + prev.db.held_ns)))
print(string.format("web_max %.2f", web_max / 1e7))
print(string.format("beside %.4f %d %d", beside / math.max(db_ticks, 1), beside, db_ticks))
print(string.format("busy %.2f db %.2f web %.2f bkup %.2f", pct("db") + pct("web") + pct("bkup"),
                    pct("db"), pct("web"), pct("bkup")))
print("violations " .. max_viol)
LUA
measure() {
	"$X" --sim $SC --journal "$T/journal" "$T/measure.lua" "$1" >"$T/$2.out" 2>"$T/$2.err" </dev/null
}
field() { awk -v k="$2" '$1 == k { print $2 }' "$T/$1.out"; }
lt() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

measure policies/tiers.lua ti; rc=$?
ok $rc "60 s of paper.lua under tiers.lua (quota inside a priority order, idle_only below)"
[ $rc = 0 ] || show "$T/ti.err"
sed 's/^/# tiers: /' "$T/ti.out" >&2
lt "$(field ti db_wait)" 0.05
ok $? "db gets at least 95 % of the CPU whenever it is runnable (waits $(field ti db_wait))"
lt "$(field ti web_max)" 40
ok $? "web uses at most 40 % of a CPU in any 1 s window ($(field ti web_max) %)"
lt "$(field ti beside)" 0.01
ok $? "bkup runs beside a waiting db in < 1 % of db's ticks ($(field ti beside))"
lt 98 "$(field ti busy)"
ok $? "the CPU goes to bkup, not to waste: the three got $(field ti busy) % of it"
[ "$(field ti violations)" = 0 ]
ok $? "0 invariant violations under tiers.lua"
measure policies/global_priority.lua gp
sed 's/^/# global_priority alone: /' "$T/gp.out" >&2
lt 50 "$(field gp web_max)"
ok $? "global_priority alone lets web have $(field gp web_max) % of a CPU in a 1 s window"

timeout 60 "$X" --sim $SC --journal "$T/journal" --duration 1s --trace "$T/trace" policies/tiers.lua U1/db \
	>"$T/out" 2>"$T/err" </dev/null
rc=$?
sed -n '1s/^/# /p' "$T/err" >&2
[ "$rc" = 1 ] && grep -qF "tiers.lua: takes no arguments (the classes are in the file), not 'U1/db'" "$T/err" &&
	[ ! -s "$T/trace" ] && ! grep -q "stack traceback" "$T/err"
ok $? "an argument to tiers.lua is refused before the first tick"
echo "1..$n"
