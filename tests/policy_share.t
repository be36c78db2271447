#!/bin/bash
# policy_share.t - share.lua U1/db=60 U2/web=30 U1/bkup=10 on
# sim/scenarios/share.lua (db and bkup on U1's one vCPU, web on U2's, one
# physical CPU), 120 s of virtual time, judged by the simulator's ground
# truth (each task's CPU time):
#   - the first minute, all three busy: each class's part of the three's
#     CPU time is within 2 points of 60/30/10 (25/50/25 without a policy);
#   - the second minute, db idle: web and bkup split 75/25 within 2 points
#     (50/50 without);
#   - the CPU stays busy (the classes got at least 98 % of it), the
#     hysteresis keeps freezes below 20 a second and at most half what
#     they are without it (--hysteresis 0), 0 invariant violations;
#   - bad arguments are an error naming the argument, exit 1, no tick run.
# Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" policy-share sim
mkdir "$T/tmp"
export TMPDIR="$T/tmp" HOME="$T/home" XDG_STATE_HOME="$T/state"
mkdir -p "$HOME"
SC=sim/scenarios/share.lua
between() { [ -n "$1" ] && awk -v a="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(a >= lo && a <= hi) }'; }

# measure.lua POLICY|none [ARGS...]: each class's part in each minute
cat >"$T/measure.lua" <<'LUA'
local policy = ...
if policy ~= "none" then xds.load(policy, select(2, ...)) end
local function rows()
  local by, t = {}, xds.sim.tasks()
  for _, r in ipairs(t.tasks) do by[r.comm] = r end
  return by, t.violations
end
local function parts(a, b, names)
  local tot = 0
  for _, c in ipairs(names) do tot = tot + b[c].cputime_ns - a[c].cputime_ns end
  local out = {}
  for _, c in ipairs(names) do
    out[#out + 1] = string.format("%s %.2f", c, 100 * (b[c].cputime_ns - a[c].cputime_ns) / tot)
  end
  return table.concat(out, " ") .. string.format(" busy %.2f", 100 * tot / 60e9)
end
local r0 = rows()
xds.step(6000)
local r1 = rows()
xds.step(6000)
local r2, viol = rows()
print("first " .. parts(r0, r1, { "db", "web", "bkup" }))
print("second " .. parts(r1, r2, { "web", "bkup" }))
print("freezes " .. xds.stats().freezes .. " thaws " .. xds.stats().thaws)
print("violations " .. viol)
LUA
measure() {
	local name=$1
	shift
	"$X" --sim $SC --journal "$T/journal" "$T/measure.lua" "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null
}
# field NAME LINE KEY: the number after KEY on the line that starts with LINE
field() { awk -v l="$2" -v k="$3" '$1 == l { for (i = 2; i < NF; i++) if ($i == k) print $(i + 1) }' "$T/$1.out"; }

measure sh policies/share.lua U1/db=60 U2/web=30 U1/bkup=10; rc=$?
ok $rc "120 s of share.lua under share U1/db=60 U2/web=30 U1/bkup=10"
[ $rc = 0 ] || show "$T/sh.err"
sed 's/^/# share: /' "$T/sh.out" >&2
db=$(field sh first db) web=$(field sh first web) bkup=$(field sh first bkup)
between "$db" 58 62 && between "$web" 28 32 && between "$bkup" 8 12
ok $? "all three busy: 60/30/10 within 2 points ($db/$web/$bkup)"
web2=$(field sh second web) bkup2=$(field sh second bkup)
between "$web2" 73 77 && between "$bkup2" 23 27
ok $? "db idle: web and bkup split 75/25 within 2 points ($web2/$bkup2)"
busy1=$(field sh first busy) busy2=$(field sh second busy)
between "$busy1" 98 100.01 && between "$busy2" 98 100.01
ok $? "work-conserving: the classes got $busy1 % and $busy2 % of the CPU"
freezes=$(awk '$1 == "freezes" { print $2 }' "$T/sh.out")
[ -n "$freezes" ] && [ "$freezes" -lt 2400 ]
ok $? "the hysteresis keeps freezes below 20 a second (${freezes:-?} in 120 s)"
[ "$(awk '$1 == "violations" { print $2 }' "$T/sh.out")" = 0 ]
ok $? "0 invariant violations under share"

measure h0 policies/share.lua --hysteresis 0 U1/db=60 U2/web=30 U1/bkup=10
sed 's/^/# share --hysteresis 0: /' "$T/h0.out" >&2
f0=$(awk '$1 == "freezes" { print $2 }' "$T/h0.out")
[ -n "$f0" ] && [ -n "$freezes" ] && [ $((2 * freezes)) -le "$f0" ]
ok $? "the band (2 points) halves the freezes at least (${f0:-?} without, ${freezes:-?} with)"

measure np none
sed 's/^/# no policy: /' "$T/np.out" >&2
between "$(field np first db)" 23 27 && between "$(field np first web)" 48 52 && between "$(field np second web)" 48 52
ok $? "without a policy the hypervisor halves the CPU between the domains ($(field np first db)/$(field np first web)/$(field np first bkup), then $(field np second web)/$(field np second bkup))"

refused() {
	local desc=$1 pat=$2
	shift 2
	timeout 60 "$X" --sim $SC --journal "$T/journal" --duration 1s --trace "$T/trace" \
		policies/share.lua "$@" >"$T/out" 2>"$T/err" </dev/null
	local rc=$?
	[ "$rc" = 1 ] && grep -qF -- "$pat" "$T/err" && ! grep -q "stack traceback" "$T/err" &&
		! grep -q "invariant violations" "$T/out" && [ ! -s "$T/trace" ]
	ok $? "$desc" || { echo "#   status $rc"; show "$T/out" "$T/err"; }
	sed -n '1s/^/# /p' "$T/err" >&2
}
refused "a weight that is no number" "share.lua: argument 2 'U2/web=lots': expected SPEC=WEIGHT" U1/db=60 U2/web=lots
refused "a weight of 0" "share.lua: argument 1 'U1/db=0': expected SPEC=WEIGHT, WEIGHT a number above 0" U1/db=0
refused "an unknown option" "share.lua: unknown option '--weight'" --weight 3 U1/db=60
refused "a malformed spec" "task spec 'U1/[': an unclosed [" 'U1/[=60'
echo "1..$n"
