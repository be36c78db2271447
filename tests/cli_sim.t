#!/bin/bash
# cli_sim.t - the `xds` module and the CLI on a simulated host
# (xds-lua --sim on the paper's scenario): ps shows every task, objects of
# an expired snapshot raise, filters select, virtual time advances, and
# the simulator is stopped and its directory removed however xds-lua ends
# (normal exit, error, os.exit, SIGINT, SIGTERM).  Exact numbers against
# the simulator's ground truth are another test's business.  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" clisim sim

# A private copy of the scenario and TMPDIR: our simulator and its
# directory are told apart from anyone else's.
SC="$T/paper.lua"
cp sim/scenarios/paper.lua "$SC"
mkdir "$T/tmp"
export TMPDIR="$T/tmp"

# xl ARGS...: xds-lua on the simulated host; status in $rc, $T/out, $T/err
xl() { "$X" --sim "$SC" "$@" >"$T/out" 2>"$T/err" </dev/null; rc=$?; }
show() { echo "#   status $rc, stdout: $(head -c 400 "$T/out"), stderr: $(head -c 400 "$T/err")"; }
check() { if [ "$1" = 0 ]; then ok 0 "$2"; else ok 1 "$2"; show; fi; }
sim_gone() { ! pgrep -f "xds-sim $SC" >/dev/null && [ -z "$(ls -A "$T/tmp")" ]; }

xl -e 'print(ps())'
row() { grep -Eq "^$1 +$2 +$2 +$3 " "$T/out"; }
[ "$rc" = 0 ] && row U1 1 init && row U1 210 db && row U1 320 bkup && row U2 1 init &&
	row U2 150 web && [ "$(tail -1 "$T/out")" = 5 ]
check $? "ps() lists db, bkup, web and both inits, and returns 5"
[ "$(sed -n 2p "$T/out" | cut -c1-2)" = U1 ] && [ "$(sed -n 5p "$T/out" | cut -c1-2)" = U2 ] &&
	[ "$(awk 'NR > 1 && NR < 5 { print $2 }' "$T/out" | tr '\n' ' ')" = "1 210 320 " ]
check $? "ps() sorts by domain in attach order, then pid"
sim_gone
check $? "after a normal exit the simulator and its directory are gone"

xl -e 'for _, d in ipairs(xds.domains()) do print(d.name, d.vcpus, d.tasks, d.error) end'
[ "$rc" = 0 ] && [ "$(cat "$T/out")" = "$(printf 'U1\t1\t3\tnil\nU2\t1\t2\tnil')" ]
check $? "xds.domains(): names, vcpus, task counts, no error"

xl -e 'local t = xds.tasks("db")[1]; xds.refresh(); print(t.pid)'
[ "$rc" = 1 ] && grep -q "task U1/db\[210\] belongs to an expired snapshot; take a new one with xds.tasks()" "$T/err"
check $? "a task of an expired snapshot raises a clear error"
xl -e 'local rq = xds.runqueue("U1", 0); xds.advance("10ms"); print(rq.tasks[1] and rq.tasks[1].pid or rq.curr.pid)'
[ "$rc" = 1 ] && grep -q "belongs to an expired snapshot" "$T/err"
check $? "xds.advance expires run-queue tasks too"
sim_gone
check $? "after an error the simulator and its directory are gone"

xl -e 'print(#xds.tasks("*"), #xds.tasks("U1/*"), #xds.tasks("b?*p"), #xds.tasks{dom="U2"},
	#xds.tasks{comm="[dw]*"}, #xds.tasks(function(t) return t.pid > 100 end),
	#xds.tasks{pid=150, dom="U1"}, tostring(xds.tasks("web")[1]))'
[ "$rc" = 0 ] && [ "$(cat "$T/out")" = "$(printf '5\t3\t1\t2\t2\t3\t0\tU2/web[150]')" ]
check $? "filters: glob, DOM/GLOB, dom, [..] class, function, fields together"

xl -e 'local t0 = xds.time(); xds.advance("1s"); xds.advance(0.5); print(xds.time() - t0)'
[ "$rc" = 0 ] && [ "$(cat "$T/out")" = 1.5 ]
check $? "with --sim xds.advance steps virtual time exactly"
xl -e 'local c0 = xds.tasks("bkup")[1].cputime; xds.advance("1s");
	print(xds.tasks("bkup")[1].cputime > c0, math.type(c0))'
[ "$rc" = 0 ] && [ "$(cat "$T/out")" = "$(printf 'true\tinteger')" ]
check $? "a new snapshot after advance shows bkup's CPU time grown"
xl -e 'local rq = xds.runqueue("U1", 0); print(rq.cpu, rq.nr_running >= #rq.tasks, type(rq.locked))'
[ "$rc" = 0 ] && [ "$(cat "$T/out")" = "$(printf '0\ttrue\tboolean')" ]
check $? "xds.runqueue gives cpu, nr_running, queued tasks and the lock"

xl -e 'xds.tasks(); os.exit(3)'
[ "$rc" = 3 ] && sim_gone
check $? "os.exit still stops the simulator"

printf 'domain {\n' >"$T/broken.lua"
"$X" --sim "$T/broken.lua" -e 'ps()' >"$T/out" 2>"$T/err" </dev/null; rc=$?
[ "$rc" = 1 ] && grep -q "^xds-lua: --sim $T/broken.lua: " "$T/err" && [ ! -s "$T/out" ] &&
	[ -z "$(ls -A "$T/tmp")" ]
check $? "a scenario the simulator rejects: one message naming it, exit 1, nothing left"

XDS_SIM="$T/no-sim" "$X" --sim "$SC" -e 'ps()' >"$T/out" 2>"$T/err" </dev/null; rc=$?
[ "$rc" = 1 ] && grep -q "$T/no-sim: No such file" "$T/err"
check $? "XDS_SIM names the simulator binary"

for sig in INT TERM; do
	"$X" --sim "$SC" -e 'while true do xds.advance("10ms") ps() end' >/dev/null 2>"$T/err" &
	pid=$!
	for _ in $(seq 50); do grep -q . "$T/err" && break; pgrep -f "xds-sim $SC" >/dev/null && break; sleep 0.1; done
	sleep 0.5
	kill -s $sig $pid
	wait $pid; rc=$?
	[ "$rc" = 1 ] && grep -Eq 'interrupted!|terminated' "$T/err" && sim_gone
	check $? "SIG$sig: the script stops with a message, the simulator is stopped"
done

echo "1..$n"
