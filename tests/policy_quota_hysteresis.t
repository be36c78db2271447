#!/bin/bash
# policy_quota_hysteresis.t - quota.lua's band keeps a subject at its quota
# from flipping every tick, and the quota still holds:
#   - large.lua (4 domains x 500 tasks, 2 CPUs), 'VM1/*=10%' for 5 s:
#     with the default band (20 %) at least 4 times fewer freezes and thaws
#     than with --hysteresis 0 (the rule before the band: 25,778 freezes),
#     fewer than 8,000, and VM1 at 10 +/- 1 % of one CPU either way;
#   - a subject with two CPUs ('U1/*=150%', three hogs on 2 vCPUs and
#     2 CPUs) holds 150 +/- 5 % over 10 s (200 % without the quota);
#   - bad arguments are an error naming the argument, exit 1, no tick run.
# Counts are the scheduler's (--report stats), shares its accounting.
# Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" quota-hyst sim
mkdir "$T/tmp"
export TMPDIR="$T/tmp" HOME="$T/home" XDG_STATE_HOME="$T/state"
mkdir -p "$HOME"
between() { [ -n "$1" ] && awk -v a="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(a >= lo && a <= hi) }'; }
# run NAME SCENARIO DURATION QUOTA-ARGS...: stats and the share of DOM's tasks
run() {
	local name=$1 sc=$2 dur=$3
	shift 3
	"$X" --sim "$sc" --journal "$T/journal" --duration "$dur" --report "$T/$name.json" \
		policies/quota.lua "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null
}
# figures NAME DOM: "freezes thaws share% tasks-held"
figures() {
	python3 -c "import json, sys
r = json.load(open('$T/$1.json')); s = r['stats']
mine = [t for t in r['tasks'] if t['dom'] == '$2']
print(s['freezes'], s['thaws'], '%.2f' % (100 * sum(t['share'] for t in mine)),
      sum(1 for t in mine if t['frozen_ns'] > 0))"
}

run none sim/scenarios/large.lua 5s --hysteresis 0 'VM1/*=10%'
ok $? "5 s of large.lua under quota VM1/*=10% with --hysteresis 0"
read -r f0 t0 s0 h0 <<<"$(figures none VM1)"
echo "# --hysteresis 0: $f0 freezes, $t0 thaws of $h0 tasks in 5 s; VM1 $s0 % of a CPU" >&2
run band sim/scenarios/large.lua 5s 'VM1/*=10%'
ok $? "5 s of large.lua under quota VM1/*=10% with the default band"
read -r f1 t1 s1 h1 <<<"$(figures band VM1)"
echo "# default band (20 %): $f1 freezes, $t1 thaws of $h1 tasks in 5 s; VM1 $s1 % of a CPU" >&2
echo "# a held task of VM1 is frozen every $((500 * h0 / (f0 > 0 ? f0 : 1))) ticks without the band," \
	"every $((500 * h1 / (f1 > 0 ? f1 : 1))) with it" >&2
[ -n "$f1" ] && [ "$f1" -lt 8000 ] && [ "$t1" -lt 8000 ] && [ $((4 * f1)) -le "$f0" ] && [ $((4 * t1)) -le "$t0" ]
ok $? "the band cuts freezes and thaws at least 4 times ($f0 -> $f1, $t0 -> $t1), below 8,000"
between "$s0" 9 11 && between "$s1" 9 11
ok $? "VM1 holds 10 +/- 1 % of a CPU either way ($s0 %, $s1 %)"

cat >"$T/two.lua" <<'LUA'
-- three hogs on U1's two vCPUs, two physical CPUs: U1 could use 200 %
host { pcpus = 2 }
domain { name = "U1", vcpus = 2, ram = "64M" }
task { dom = "U1", comm = "hog1", pid = 301, run = cpu() }
task { dom = "U1", comm = "hog2", pid = 302, run = cpu() }
task { dom = "U1", comm = "hog3", pid = 303, run = cpu() }
LUA
run two "$T/two.lua" 10s 'U1/*=150%'
ok $? "10 s of three hogs on two CPUs under quota U1/*=150%"
read -r f2 t2 s2 _ <<<"$(figures two U1)"
echo "# U1/*=150%: U1 used $s2 % of a CPU; $f2 freezes, $t2 thaws in 10 s" >&2
between "$s2" 145 155
ok $? "a subject with two CPUs holds a quota above 100 % ($s2 %)"

# refused DESC PATTERN ARGS...: exit 1, PATTERN on stderr, no tick ran
refused() {
	local desc=$1 pat=$2
	shift 2
	timeout 60 "$X" --sim sim/scenarios/paper.lua --journal "$T/journal" --duration 1s \
		--trace "$T/trace" policies/quota.lua "$@" >"$T/out" 2>"$T/err" </dev/null
	local rc=$?
	[ "$rc" = 1 ] && grep -qF -- "$pat" "$T/err" && ! grep -q "stack traceback" "$T/err" &&
		! grep -q "invariant violations" "$T/out" && [ ! -s "$T/trace" ]
	ok $? "$desc" || { echo "#   status $rc"; show "$T/out" "$T/err"; }
	sed -n '1s/^/# /p' "$T/err" >&2
}
refused "SPEC without =SHARE" "quota.lua: argument 1 'U1/bkup': expected SPEC=SHARE" U1/bkup
refused "a share that is not one" "quota: U1/bkup: not a share (like 20% or 0.2): lots" 'U1/bkup=lots'
refused "an unknown option" "quota.lua: unknown option '--windo'" --windo 2s 'U1/bkup=10%'
refused "an option without its value" "quota.lua: option '--window' needs a value: a duration" 'U1/bkup=10%' --window
refused "a window that is no duration" "quota: the window: not a duration (like 2s, 500ms or 1.5): soon" \
	--window soon 'U1/bkup=10%'
refused "a band wider than the quota" "quota: the hysteresis: a share of at most 100%, not 300%" \
	--hysteresis 300% 'U1/bkup=10%'
echo "1..$n"
