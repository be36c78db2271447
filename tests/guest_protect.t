#!/bin/bash
# guest_protect.t - init, kernel threads and idle tasks are not frozen
# unless asked in so many words: on a simulated host with a kernel thread
# (PF_KTHREAD in task_struct.flags, found through the simulator's DWARF),
# task.protected says why; a spec such as U1/* never matches them; a
# policy that wishes every task frozen is refused on them with one line
# each for the whole run; the REPL's freeze({}) says why and freezes the
# rest; task:freeze{force = true} and --allow-protected override.  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" protect sim
export HOME="$T/home" XDG_STATE_HOME="$T/state"
mkdir -p "$HOME"

SC="$T/k.lua"
sed 's|^task { dom = "U2"|task { dom = "U1", comm = "kworker/0:1", pid = 40, kthread = true, run = cpu() }\n&|' \
	sim/scenarios/paper.lua >"$SC"
cat >"$T/all.lua" <<'P'
return { tick = function(snap)
  for _, t in ipairs(snap.tasks) do if not t.frozen then t:freeze() end end
end }
P
xl() { timeout 120 "$X" --sim "$SC" "$@" >"$T/out" 2>"$T/err" </dev/null; rc=$?; }
check() { if [ "$1" = 0 ]; then ok 0 "$2"; else ok 1 "$2"; echo "#   status $rc"; show "$T/out" "$T/err"; fi; }
# frozen_ns DOM PID: what the report says the run held that task frozen
frozen_ns() {
	python3 -c "import json,sys; r=json.load(open(sys.argv[1]))
print(sum(t['frozen_ns'] for t in r['tasks'] if t['dom']==sys.argv[2] and t['pid']==int(sys.argv[3])))" \
		"$T/r.json" "$1" "$2"
}

echo "1..6"

xl -e 'for _, t in ipairs(xds.tasks()) do print(t.dom, t.pid, t.protected) end'
[ "$rc" = 0 ] && grep -qx "$(printf 'U1\t40\ta kernel thread')" "$T/out" &&
	grep -qx "$(printf "U1\t1\tthe guest's init (pid 1)")" "$T/out" &&
	grep -qx "$(printf 'U1\t320\tfalse')" "$T/out"
check $? "task.protected: a kernel thread (PF_KTHREAD) and init are protected, bkup is not"

xl --duration 2s --report "$T/r.json" policies/quota.lua 'U1/*=10%'
[ "$rc" = 0 ] && [ "$(frozen_ns U1 40)" = 0 ] && [ "$(frozen_ns U1 1)" = 0 ] &&
	[ "$(frozen_ns U1 320)" -gt 0 ] && ! grep -q "kworker" "$T/err"
check $? "quota.lua U1/*=10%: U1/* never matches the kernel thread or init; bkup is held"

xl --duration 1s --report "$T/r.json" "$T/all.lua"
[ "$rc" = 0 ] && [ "$(frozen_ns U1 40)" = 0 ] && [ "$(frozen_ns U1 1)" = 0 ] && [ "$(frozen_ns U2 1)" = 0 ] &&
	[ "$(frozen_ns U1 210)" -gt 0 ] && [ "$(grep -c 'not frozen' "$T/err")" = 3 ] &&
	[ "$(grep -c 'U1/kworker/0:1\[40\] is a kernel thread: not frozen' "$T/err")" = 1 ]
check $? "a policy freezing every task: protected ones refused, one line each for 100 ticks"

xl --allow-protected --duration 1s --report "$T/r.json" "$T/all.lua"
[ "$rc" = 0 ] && [ "$(frozen_ns U1 40)" -gt 0 ] && ! grep -q 'not frozen' "$T/err"
check $? "--allow-protected: the same policy freezes the kernel thread"

printf 'freeze({})\nfrozen()\n' >"$T/in"
timeout 120 "$X" --sim "$SC" -i <"$T/in" >"$T/out" 2>&1; rc=$?
[ "$rc" = 0 ] && grep -q "not freeze: U1/init\[1\] is the guest's init (pid 1)" "$T/out" &&
	grep -q "not freeze: U1/kworker/0:1\[40\] is a kernel thread" "$T/out" &&
	grep -qx "froze U1/bkup\[320\]" "$T/out" && ! grep -q "froze U1/init" "$T/out" &&
	! grep -q "froze U1/kworker" "$T/out"
check $? "REPL freeze({}): init and the kernel thread refused with the reason, the rest frozen"

printf 'freeze("U1", 1, {force = true})\n' >"$T/in"
timeout 120 "$X" --sim "$SC" -i <"$T/in" >"$T/out" 2>&1; rc=$?
[ "$rc" = 0 ] && grep -qx "froze U1/init\[1\]" "$T/out"
check $? "REPL freeze(\"U1\", 1, {force = true}) freezes init"
