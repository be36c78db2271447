#!/bin/bash
# policy_cli.t - policies through xds-lua's command line, on paper.lua:
#   - a policy that loops forever, allocates without bound, raises an
#     error or calls os.execute is stopped with a message naming file and
#     line, the run exits 1, and every task it froze is thawed (ground
#     truth: no task held any longer, bkup runs again);
#   - --dry-run prints the plan and changes nothing (held_ns stays 0);
#   - --report writes the JSON report, and the end-of-run table is printed;
#   - --trace writes a line per change tried (as many as the report counts);
#   - SIGHUP: a broken new version keeps the old one, a good one swaps;
#   - SIGINT and SIGTERM end a run cleanly: stop(), report, exit 0.
# Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" policy-cli sim
mkdir "$T/tmp"
export TMPDIR="$T/tmp"
SC=sim/scenarios/paper.lua
XL() { "$X" --sim "$SC" --journal "$T/journal" "$@"; }

# A policy that freezes bkup for 20 ticks, then misbehaves at line 4.
bad() {
	printf 'local n = 0\nreturn { tick = function(snap)\n  n = n + 1\n  if n > 20 then %s end\n' "$2"
	printf '  for _, t in ipairs(snap.tasks) do\n'
	printf '    if t.comm == "bkup" and (t.queued or t.running) then t:freeze() end\n  end\nend }\n'
} 
bad_policy() { bad "$@" >"$T/$1.lua"; }
bad_policy loop 'while true do end'
bad_policy alloc 'local t = {} for i = 1, 1e9 do t[i] = {i} end'
bad_policy error 'error("policy bug")'
bad_policy exec 'os.execute("touch '"$T"'/pwned")'

cat >"$T/after.lua" <<'LUA'
local path = ...
xds.load(path)
local fine, msg = pcall(xds.step, 100)
print("stopped " .. tostring(not fine))
io_msg = tostring(msg):gsub("\n", " | ")
print("message " .. io_msg)
print("frozen " .. #xds.frozen())
xds.step(5)
local function truth() local by = {} for _, r in ipairs(xds.sim.tasks().tasks) do by[r.comm] = r end return by end
local t1 = truth()
xds.step(100)
local t2 = truth()
local held = 0
for c, r in pairs(t2) do held = held + (r.held_ns - t1[c].held_ns) end
print("held_growth " .. held)
print("bkup_runs " .. tostring(t2.bkup.cputime_ns > t1.bkup.cputime_ns))
LUA
for kind in loop alloc error exec; do
	case $kind in
	loop) want="$T/loop.lua:4: policy exceeded its instruction budget" ;;
	alloc) want="$T/alloc.lua:4: policy exceeded its memory cap" ;;
	error) want="$T/error.lua:4: policy bug" ;;
	exec) want="$T/exec.lua:4: os.execute is not allowed in a policy" ;;
	esac
	XL --duration 5s "$T/$kind.lua" >"$T/out" 2>"$T/err" </dev/null; rc=$?
	[ $rc = 1 ] && grep -qF "xds-lua: policy $kind stopped: $want" "$T/err"
	ok $? "$kind: the run stops with exit 1 and '$want'" || show "$T/err"
	XL "$T/after.lua" "$T/$kind.lua" >"$T/out" 2>"$T/err" </dev/null
	grep -q '^stopped true$' "$T/out" && grep -qF "$want" "$T/out" && grep -q '^frozen 0$' "$T/out" &&
		grep -q '^held_growth 0$' "$T/out" && grep -q '^bkup_runs true$' "$T/out"
	ok $? "$kind: after the stop nothing is held and bkup runs again (ground truth)" || show "$T/out" "$T/err"
done
[ ! -e "$T/pwned" ]
ok $? "os.execute did not run"

XL --dry-run --duration 3s --report "$T/dry.json" policies/global_priority.lua >"$T/out" 2>"$T/err" </dev/null
rc=$?
[ $rc = 0 ] && grep -Eq '^ *[0-9.]+ s  tick [0-9]+  freeze U1/bkup\[320\]' "$T/out"
ok $? "--dry-run prints the plan ('T s  tick N  freeze U1/bkup[320]')" || show "$T/out" "$T/err"
grep -o '"held_ns": *[0-9]*' "$T/dry.json" | grep -vq ': *0$'
[ $? = 1 ] && grep -q '"held_ns"' "$T/dry.json"
ok $? "--dry-run changes nothing: no task was ever held (ground truth)"

XL --duration 5s --report "$T/r.json" policies/global_priority.lua >"$T/out" 2>"$T/err" </dev/null
rc=$?
[ $rc = 0 ] && grep -q '"comm": "db"' "$T/r.json" && grep -q '"cputime_ns"' "$T/r.json" &&
	grep -q '"frozen_ns"' "$T/r.json" && grep -q '"wait_ns"' "$T/r.json" &&
	grep -q '"share"' "$T/r.json" && grep -q '"truth"' "$T/r.json" && grep -q '"violations": 0' "$T/r.json"
ok $? "--report: per task CPU, share, frozen, waiting; ground truth; 0 violations" || show "$T/err"
grep -Eq '^U1 +320 +bkup ' "$T/out" && grep -q '^invariant violations (host check): 0$' "$T/out"
ok $? "a --sim run ends with the table" || show "$T/out"

# --trace: each change tried, its outcome, in the order done; the frozen
# count in the report agrees
XL --duration 3s --trace "$T/trace" --report "$T/t.json" policies/global_priority.lua >/dev/null 2>"$T/err" </dev/null
grep -Eq '^T [0-9.]+ [0-9]+ freeze U1/bkup\[320\] (frozen|told to leave its CPU)$' "$T/trace" &&
	grep -Eq '^T [0-9.]+ [0-9]+ thaw U1/bkup\[320\] thawed$' "$T/trace" &&
	[ "$(grep -c ' frozen$' "$T/trace")" = "$(sed -n 's/.*"freezes": \([0-9]*\).*/\1/p' "$T/t.json")" ] &&
	[ "$(grep -c ' thawed$' "$T/trace")" = "$(sed -n 's/.*"thaws": \([0-9]*\).*/\1/p' "$T/t.json")" ]
ok $? "--trace: one line per freeze and thaw, as many as the report counts" || show "$T/trace" "$T/err"
XL --trace "$T/no/such/dir/trace" -e 'print("ran")' >"$T/out" 2>"$T/err" </dev/null
rc=$?
[ $rc = 1 ] && grep -q "^xds-lua: --trace $T/no/such/dir/trace: the folder $T/no/such/dir does not exist" "$T/err" &&
	! grep -q ran "$T/out"
ok $? "--trace to a folder that does not exist: refused before anything runs" || show "$T/err"

# SIGHUP: v1, then a broken file (kept v1), then v2 (swapped).
version() { printf 'return { name = "%s", tick = function(snap) end, stop = function() print("stop %s") end }\n' "$1" "$1"; }
version v1 >"$T/live.lua"
# (xds-lua itself in the background, not a subshell: it gets the signals;
# --duration bounds a run whose signal got lost)
"$X" --sim "$SC" --journal "$T/journal" --duration 3600s "$T/live.lua" >"$T/out" 2>"$T/err" </dev/null &
pid=$!
sleep 1
printf 'return { tick = function( end }\n' >"$T/live.lua"
kill -HUP $pid; sleep 1
printf 'return { tick = function(snap) error("rehearsal fails") end }\n' >"$T/live.lua"
kill -HUP $pid; sleep 1
version v2 >"$T/live.lua"
kill -HUP $pid; sleep 1
kill -TERM $pid
wait $pid; rc=$?
grep -q "reload of $T/live.lua failed, the old policy stays: .*live.lua:1:" "$T/err"
ok $? "SIGHUP with a syntax error keeps the old policy, says why" || show "$T/err"
grep -q "reload of $T/live.lua failed (rehearsal tick), the old policy stays: .*rehearsal fails" "$T/err"
ok $? "SIGHUP with a policy whose tick fails on the last snapshot keeps the old one" || show "$T/err"
grep -q "policy v2 reloaded" "$T/err" && [ "$(grep -c '^stop' "$T/out")" = 2 ] &&
	[ "$(grep '^stop' "$T/out" | head -1)" = "stop v1" ] && [ "$(grep '^stop' "$T/out" | tail -1)" = "stop v2" ]
ok $? "SIGHUP with a good version swaps: v1 stops, v2 runs until the end" || show "$T/out" "$T/err"
[ $rc = 0 ]
ok $? "SIGTERM ends the run with exit 0"

version v1 >"$T/live.lua"
"$X" --sim "$SC" --journal "$T/journal" --duration 3600s --report "$T/int.json" "$T/live.lua" \
	>"$T/out" 2>"$T/err" </dev/null &
pid=$!
sleep 1
kill -INT $pid
wait $pid; rc=$?
[ $rc = 0 ] && grep -q '^stop v1$' "$T/out" && grep -q '"tasks"' "$T/int.json"
ok $? "SIGINT: stop(), the report, exit 0" || show "$T/out" "$T/err"

printf 'return { tick = 5 }\n' >"$T/notpolicy.lua"
XL -e 'local ok, m = pcall(xds.load, "'"$T"'/notpolicy.lua") print(m)' >"$T/out" 2>&1 </dev/null
grep -q "notpolicy.lua: not a policy" "$T/out"
ok $? "xds.load of a file that is no policy says so" || show "$T/out"
echo "1..$n"
