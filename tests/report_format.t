#!/bin/bash
# report_format.t - the JSON report's own fields (docs/formats.md): its
# format version, why the run stopped (duration, signal, error) with the
# error, and whether it was a dry run.  Parsed with Python's json module.
set -u
. "$(dirname "$0")/tap.sh" report_format sim
SC=sim/scenarios/paper.lua
field() { python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]; print(json.dumps(v))' "$@"; }
echo "1..5"

"$X" --sim "$SC" --duration 300ms --report "$T/a.json" policies/global_priority.lua >/dev/null 2>"$T/err"
[ "$(field "$T/a.json" format)" = 1 ] && [ "$(field "$T/a.json" stop)" = '"duration"' ] &&
	[ "$(field "$T/a.json" error)" = null ] && [ "$(field "$T/a.json" dry_run)" = false ]
ok $? "a run to its --duration: format 1, stop \"duration\", error null, dry_run false" || show "$T/err"

"$X" --sim "$SC" --duration 300ms --dry-run --report "$T/b.json" policies/global_priority.lua >/dev/null 2>&1
[ "$(field "$T/b.json" dry_run)" = true ]
ok $? "--dry-run: dry_run true"

printf 'return { name = "bad", tick = function(s) if s.tick > 3 then error("boom") end end }\n' >"$T/bad.lua"
"$X" --sim "$SC" --duration 1s --report "$T/c.json" "$T/bad.lua" >/dev/null 2>&1
rc=$?
[ $rc = 1 ] && [ "$(field "$T/c.json" stop)" = '"error"' ] && field "$T/c.json" error | grep -q 'bad.lua:1: boom'
ok $? "a policy error: exit 1, stop \"error\", the error with its file and line"

# running: global_priority's first freeze is in the trace
"$X" --sim "$SC" --realtime --trace "$T/d.trace" --report "$T/d.json" policies/global_priority.lua \
	>/dev/null 2>&1 &
pid=$!
for _ in $(seq 300); do [ -s "$T/d.trace" ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -TERM $pid
wait $pid
rc=$?
[ $rc = 0 ] && [ "$(field "$T/d.json" stop)" = '"signal"' ]
ok $? "SIGTERM: exit 0, stop \"signal\" (exit $rc)"

python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not (d["ticks"] > 0 and d["tasks"]))' "$T/d.json"
ok $? "the signalled run's report has its ticks and tasks"
