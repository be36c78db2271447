#!/bin/bash
# repl_pipe.t - the REPL without a terminal: `xds-lua -i` reads statements
# from a pipe without prompts, prints values and errors and goes on; the
# helpers at work on the simulator (help lists every one, ps sorts, top
# draws one frame, freeze and thaw by ("DOM", pid), every task field that
# help("task") names is readable); a piped session also thaws what it
# froze on the way out and says how many.  Emits TAP.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
X="$B/xds-lua"
if [ ! -x "$X" ] || [ ! -x "$B/xds-sim" ]; then
	echo "1..0 # SKIP $X or xds-sim is not built"
	exit 0
fi
T=$(mktemp -d /tmp/xds-rpipe-XXXXXX)
trap 'rm -rf "$T"' EXIT
export HOME="$T/home" XDG_STATE_HOME="$T/state"
mkdir -p "$HOME"
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; sed 's/^/#   /' "$T/out" | head -30; fi; }
# repl ARGS... < input: output (both streams) in $T/out, status in $rc
repl() { timeout 60 "$X" -i "$@" <"$T/in" >"$T/out" 2>&1; rc=$?; }

echo "1..9"

printf 'x = 6\nx * 7\nerror("bad-1")\nfunction f(a)\nreturn a + 1\nend\nf(x)\n' >"$T/in"; repl
[ "$rc" = 0 ] && grep -qx 42 "$T/out" && grep -q 'bad-1' "$T/out" && grep -qx 7 "$T/out"
ok $? "piped: values printed, an error printed, a multi-line function, the loop goes on"
! grep -q '^>' "$T/out"
ok $? "piped: no prompts"
[ ! -e "$T/state/xds-lua/history" ] || ! grep -q 'x = 6' "$T/state/xds-lua/history"
ok $? "piped: nothing goes to the history"

printf 'help()\n' >"$T/in"; repl
missing=""
for h in ps top freeze thaw frozen step run load unload stats help quit; do
	grep -q "^$h(" "$T/out" || missing="$missing $h"
done
[ -z "$missing" ]
ok $? "help() lists every helper on a line of its own${missing:+ (missing:$missing)}"

cat >"$T/fields.lua" <<'LUA'
step(10)
t = xds.tasks("U1/bkup")[1]
bad = {}
for name in string.gmatch(FIELDS, "%S+") do if t[name] == nil then bad[#bad + 1] = name end end
print("unreadable: " .. table.concat(bad, " ") .. ".")
LUA
fields=$(printf 'help("task")\n' | "$X" -i 2>&1 | sed -n 's/^task fields: //p')
{ printf 'FIELDS = "%s"\n' "$fields"; cat "$T/fields.lua"; } >"$T/in"; repl --sim sim/scenarios/paper.lua
[ -n "$fields" ] && grep -qx 'unreadable: .' "$T/out"
ok $? "every task field help(\"task\") names (and completion offers) reads on a task"

printf 'step(300)\nps(nil, "cpu")\nps("U1/*", "-pid")\n' >"$T/in"; repl --sim sim/scenarios/paper.lua
awk '$1 ~ /^U[12]$/ && $2 ~ /^[0-9]+$/ { print $2, $(NF-1) }' "$T/out" >"$T/rows"
head -5 "$T/rows" | awk 'NR > 1 && $2 > prev { bad = 1 } { prev = $2 } END { exit bad }' &&
	[ "$(sed -n 6,8p "$T/rows" | cut -d' ' -f1 | tr '\n' ' ')" = "320 210 1 " ]
ok $? "ps sorts by CPU time (most first) and by pid reversed, with a filter"

printf 'top(3)\n' >"$T/in"; repl --sim sim/scenarios/paper.lua
grep -q '^xds-lua top: host time 0.5' "$T/out" && [ "$(grep -c '^U[12] ' "$T/out")" = 3 ]
ok $? "top(3) without a terminal draws one frame of three tasks after 0.5 s"

printf 'freeze("U1", 320)\nfreeze("U2/web")\nthaw("U2", 150)\nstep(20)\nfrozen()\n' >"$T/in"
repl --sim sim/scenarios/paper.lua
grep -q '^froze U1/bkup\[320\]$' "$T/out" && grep -q '^thawed U2/web\[150\]$' "$T/out" &&
	grep -Eq '^U1 +320 bkup +frozen$' "$T/out" && ! grep -Eq '^U2 +150 ' "$T/out"
ok $? "freeze and thaw by (\"DOM\", pid) and by name; frozen() lists what stays"
[ "$rc" = 0 ] && [ "$(tail -1 "$T/out")" = "thawed 1 task" ]
ok $? "a piped session thaws on the way out and says so"
