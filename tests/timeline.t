#!/bin/bash
# timeline.t - --timeline writes a Trace Event Format file (what Perfetto
# and chrome://tracing open) that agrees with the run's --report, on
# paper.lua under global_priority for 20 s:
#   - it is one JSON object with traceEvents; every event has ph, ts, pid
#     and tid; every pid and tid used is named by an "M" event;
#   - the spans of one task's track are "X" events that never overlap;
#   - each task's frozen and queued spans add up to the report's
#     frozen_ns and wait_ns within one tick;
#   - a freeze instant per freeze the report counts, CPU share counters;
#   - a policy that fails leaves a "policy error" instant, a reload a
#     "policy reload" one.
# Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" timeline sim
XL() { "$X" --sim sim/scenarios/paper.lua --journal "$T/journal" "$@"; }
# In the background only: the job is then xds-lua itself, which signals reach.
XLP() { exec "$X" --sim sim/scenarios/paper.lua --journal "$T/journal" "$@"; }
XL --duration 20s --report "$T/r.json" --timeline "$T/t.json" policies/global_priority.lua >"$T/out" 2>"$T/err" </dev/null
ok $? "the run with --timeline succeeds" || show "$T/err"

cat >"$T/check.py" <<'PY'
import json, sys
from collections import defaultdict
def ok(cond, what):
    print(("ok" if cond else "not ok") + " - " + what)
tl, rep = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ev = tl["traceEvents"]
missing = [e for e in ev if not all(k in e for k in ("ph", "ts", "pid", "tid"))]
ok(isinstance(ev, list) and len(ev) > 50 and not missing,
   "%d events, each with ph, ts, pid, tid (%d without)" % (len(ev), len(missing)))
ok({e["ph"] for e in ev} <= {"M", "X", "i", "C"}, "phases used: %s" % sorted({e["ph"] for e in ev}))
procs = {e["pid"]: e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"}
threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
unnamed = {(e["pid"], e["tid"]) for e in ev if e["ph"] == "X" and (e["pid"], e["tid"]) not in threads}
ok(set(procs.values()) >= {"U1", "U2", "xds-lua"} and not unnamed,
   "guests are processes, tasks threads, all named (%s; unnamed %s)" % (sorted(procs.values()), unnamed))
spans = defaultdict(list)
for e in ev:
    if e["ph"] == "X":
        spans[(e["pid"], e["tid"])].append(e)
overlaps = 0
for k, s in spans.items():
    s.sort(key=lambda e: e["ts"])
    overlaps += sum(1 for a, b in zip(s, s[1:]) if a["ts"] + a["dur"] > b["ts"])
names = {e["name"] for s in spans.values() for e in s}
ok(overlaps == 0 and names <= {"running", "queued", "frozen", "asleep"} and {"running", "frozen"} <= names,
   "spans on a track never overlap (%d overlaps); states %s" % (overlaps, sorted(names)))
tick_us = 10000
off = []
for t in rep["tasks"]:
    key = next((k for k, n in threads.items() if procs[k[0]] == t["dom"] and n == "%s[%d]" % (t["comm"], t["pid"])), None)
    tot = defaultdict(int)
    for e in spans.get(key, []):
        tot[e["name"]] += e["dur"]
    for state, field in (("frozen", "frozen_ns"), ("queued", "wait_ns")):
        if abs(tot[state] - t[field] / 1000) > tick_us:
            off.append((t["comm"], state, tot[state], t[field] // 1000))
ok(not off, "frozen and queued spans = the report's frozen_ns and wait_ns within a tick (off: %s)" % off)
freezes = sum(1 for e in ev if e["ph"] == "i" and e["name"] == "freeze")
thaws = sum(1 for e in ev if e["ph"] == "i" and e["name"] == "thaw")
st = rep["stats"]
ok(freezes == st["freezes"] and 0 < thaws <= st["thaws"],
   "an instant per freeze (%d = %d), thaws %d <= %d" % (freezes, st["freezes"], thaws, st["thaws"]))
cs = [e for e in ev if e["ph"] == "C"]
ok(cs and all(0 <= v <= 1.01 for e in cs for v in e["args"].values()),
   "%d CPU share counters, each share in [0, 1]" % len(cs))
PY
python3 "$T/check.py" "$T/t.json" "$T/r.json" >"$T/py" 2>&1 || echo "not ok - the check failed: $(tail -1 "$T/py")" >>"$T/py"
while read -r res rest; do
	[ "$res" = ok ] && ok 0 "${rest#- }" || { [ "$res" = not ] && ok 1 "${rest#ok - }"; }
done <"$T/py"
grep -q Traceback "$T/py" && show "$T/py"

printf 'local n = 0\nreturn { tick = function() n = n + 1; if n > 5 then error("policy bug") end end }\n' >"$T/bad.lua"
XL --duration 2s --timeline "$T/bad.json" "$T/bad.lua" >/dev/null 2>&1 </dev/null
python3 -c '
import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
sys.exit(not any(e["ph"] == "i" and e["name"] == "policy error" and e["pid"] == 0 for e in ev))' "$T/bad.json"
ok $? "a policy that fails leaves a 'policy error' instant"
# SIGHUP reloads the policy mid-run: an instant marks it.
XLP --duration 3000s --timeline "$T/hup.json" policies/global_priority.lua >/dev/null 2>"$T/err" </dev/null &
xp=$!
sleep 1; kill -HUP $xp; sleep 1; kill -TERM $xp; wait $xp
python3 -c '
import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
sys.exit(not any(e["ph"] == "i" and e["name"] == "policy reload" and e["pid"] == 0 for e in ev))' "$T/hup.json"
ok $? "a reload (SIGHUP) leaves a 'policy reload' instant" || show "$T/err"
echo "1..$n"
