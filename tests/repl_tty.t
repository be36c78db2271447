#!/bin/bash
# repl_tty.t - the REPL at a terminal, driven through tmux: completion of
# xds.* and of task fields, history kept across two sessions, a multi-line
# function then its call, an error followed by a working line, Ctrl-C in
# top(), in step() and in a Lua loop, a task frozen by name on the
# simulator that gets no CPU across step(100) (our view and the
# simulator's ground truth), and the thaw count on the way out.
# Every wait polls the pane with a deadline; the tmux server is private and
# killed on every path; HOME and XDG_STATE_HOME are private.  Emits TAP.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
X="$PWD/$B/xds-lua"
SCEN="$PWD/sim/scenarios/paper.lua"
if ! command -v tmux >/dev/null; then
	echo "1..0 # SKIP tmux is not installed (scripts/install-deps)"
	exit 0
fi
if [ ! -x "$X" ] || [ ! -x "$B/xds-sim" ]; then
	echo "1..0 # SKIP $X or xds-sim is not built"
	exit 0
fi
T=$(mktemp -d /tmp/xds-repl-XXXXXX)
SOCK="xds-repl-$$"
TM() { tmux -L "$SOCK" -f /dev/null "$@"; }
cleanup() { TM kill-server 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$T/home"
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; show; fi; }
show() { TM capture-pane -p -t repl 2>/dev/null | grep -v '^$' | tail -15 | sed 's/^/#   /'; }

# start ARGS...: a fresh session running xds-lua ARGS; "EXIT <status>" when
# it ends.  $STATE, when set, is its XDG_STATE_HOME.
start() {
	local env="env -u XDG_STATE_HOME"
	[ -n "${STATE:-}" ] && env="env XDG_STATE_HOME=$STATE"
	TM kill-session -t repl 2>/dev/null
	TM new-session -d -s repl -x 200 -y 50 \
		"$env HOME=$T/home TERM=xterm $X $*; echo EXIT \$?; sleep 60"
	wait_for '^> ?$' 20
}
# wait_for REGEX [SECONDS]: until a line of the pane matches
wait_for() {
	local deadline=$((SECONDS + ${2:-10}))
	while [ $SECONDS -le "$deadline" ]; do
		TM capture-pane -p -t repl 2>/dev/null | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}
send() { TM send-keys -t repl "$@"; }
# line TEXT: type TEXT and Enter
line() { send -l "$1"; send Enter; }
clear_pane() { send C-l; TM clear-history -t repl; }

echo "1..15"

# ---- session 1: no host ----
start
ok $? "the REPL starts on a terminal with its prompt"
send -l 'xds.do'
send Tab
wait_for '^> xds\.domains\($'
ok $? "xds.do<TAB> completes to xds.domains("
send -l ')'
send Enter
wait_for '^table: 0x'
ok $? "the completed call runs"
line 'function sq(x)'
wait_for '^>> ?$'
line 'return x * x'
line 'end'
line 'sq(12)'
wait_for '^144$'
ok $? "a multi-line function definition, then its call"
line 'error("boom-1")'
wait_for 'boom-1'
line '6 * 7'
wait_for '^42$'
ok $? "an error is printed and the next line works"
line 'hist_marker = 31337'
send C-d
wait_for '^EXIT 0$'
ok $? "Ctrl-D leaves with status 0"

# ---- session 2: history ----
start
send Up
wait_for '^> hist_marker = 31337$'
ok $? "a line typed in session 1 is recalled with Up in session 2"
send Enter
line 'hist_marker + 1'
wait_for '^31338$'
grep -qx 'hist_marker = 31337' "$T/home/.xds_lua_history"
ok $? "history is kept in ~/.xds_lua_history"
line 'quit()'
wait_for '^EXIT 0$' || ok 1 "quit() leaves"

# ---- session 3: the simulator ----
start --sim "$SCEN"
line 't = xds.tasks("U1/bkup")[1]'
send -l 't.co'
send Tab
wait_for '^> t\.comm$'
ok $? "t.co<TAB> completes to the task field t.comm"
line 'top()'
wait_for '^xds-lua top: ' 20 && sleep 0.7 && send C-c && wait_for '^> ?$' 10
clear_pane
line 'print("after" .. "-top")'
wait_for '^after-top$'
ok $? "Ctrl-C ends top() and the REPL goes on"
line 'step(1e9)'
sleep 0.5
send C-c
wait_for 'step: interrupted$' 10 && clear_pane && line 'while true do end' && sleep 0.3 && send C-c &&
	wait_for 'interrupted!' 10 && line 'print(1 + 1)' && wait_for '^2$'
ok $? "Ctrl-C interrupts step() and a Lua loop, not the REPL"
line 'function truth(p) for _, r in ipairs(xds.sim.tasks().tasks) do if r.dom == "U1" and r.pid == p then return r.cputime_ns end end end'
line 'function cpu(f) return xds.tasks(f)[1].cputime end'
line 'freeze("U1/bkup")'
wait_for '^froze U1/bkup\[320\]$'
line 'step(5) c0, g0, w0 = cpu("U1/bkup"), truth(320), cpu("U2/web")'
line 'step(100)'
clear_pane
line 'print("bkup", cpu("U1/bkup") - c0, truth(320) - g0, cpu("U2/web") > w0)'
wait_for '^bkup +0 +0 +true$'
ok $? "a task frozen by name gets no CPU across step(100) (ours and the simulator's truth) while web runs"
line 'frozen()'
wait_for '^U1 +320 bkup +frozen$'
ok $? "frozen() lists it"
send C-d
wait_for '^thawed 1 task$' 20 && wait_for '^EXIT 0$' 10
ok $? "Ctrl-D thaws it and says so: thawed 1 task"

# ---- session 4: XDG_STATE_HOME ----
STATE="$T/state" start
line 'xdg_marker = 1'
send C-d
wait_for '^EXIT 0$' && grep -qx 'xdg_marker = 1' "$T/state/xds-lua/history" &&
	! grep -q xdg_marker "$T/home/.xds_lua_history"
ok $? "with XDG_STATE_HOME the history is \$XDG_STATE_HOME/xds-lua/history"
