#!/bin/bash
# policy_threads.t - a spec names a process or one thread.  On
# sim/scenarios/threads.lua (db: 4 busy threads and db-flush, a thread of
# db that renamed itself; threads linked as Linux links them): "db" and
# tgid=500 select all 5 of db's threads, "db-flush" and pid=510 one; a
# quota on T1/db sums the threads' CPU time and holds every one of them,
# db-flush included, and none of web's.  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" threads sim
export HOME="$T/home" XDG_STATE_HOME="$T/state"
mkdir -p "$HOME"
SC=sim/scenarios/threads.lua
xl() { timeout 120 "$X" --sim $SC "$@" >"$T/out" 2>"$T/err" </dev/null; rc=$?; }
check() { if [ "$1" = 0 ]; then ok 0 "$2"; else ok 1 "$2"; echo "#   status $rc"; show "$T/out" "$T/err"; fi; }

echo "1..3"
xl -e 'xds.advance("300ms")
print(#xds.tasks("db"), #xds.tasks{tgid = 500}, #xds.tasks("T1/db-flush"), #xds.tasks{pid = 510},
      #xds.tasks{comm = "db", pid = 510})'
[ "$rc" = 0 ] && [ "$(cat "$T/out")" = "$(printf '5\t5\t1\t1\t1')" ]
check $? "'db' and tgid=500 select db's 5 threads, 'db-flush' and pid=510 one: $(tr '\t' ' ' < "$T/out")"

xl -e 'xds.advance("300ms") local sum = 0
for _, t in ipairs(xds.tasks{tgid = 500}) do sum = sum + t.cputime end
local l = xds.tasks{pid = 500}[1]
print(#xds.tasks{tgid = 500}, sum > 0 and l.process_cputime == sum and xds.tasks{pid = 510}[1].process_cputime == sum, l.cputime < sum)'
[ "$rc" = 0 ] && [ "$(cat "$T/out")" = "$(printf '5\ttrue\ttrue')" ]
check $? "process_cputime of db, from any of its threads, is the sum of its 5 threads' cputime: $(tr '\t' ' ' < "$T/out")"

xl --duration 3s --report "$T/r.json" policies/quota.lua 'T1/db=10%'
held=$(python3 -c "import json; r=json.load(open('$T/r.json'))
db=[t for t in r['tasks'] if 500 <= t['pid'] <= 510]
web=[t for t in r['tasks'] if t['comm']=='web']
print(len(db), sum(1 for t in db if t['frozen_ns'] > 0), sum(1 for t in web if t['frozen_ns'] > 0))")
[ "$rc" = 0 ] && [ "$held" = "5 5 0" ]
check $? "quota.lua T1/db=10% holds all of db's threads (found, held, web held): $held"
