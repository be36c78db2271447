#!/bin/bash
# metrics.t - --metrics-file and --metrics, read by Prometheus' own text
# parser (Debian's python3-prometheus-client), on paper.lua with a task
# whose comm needs escaping (a quote and a backslash):
#   - the file parses, every name follows Prometheus' rules (units in the
#     name, counters end in _total), label values come back exactly;
#   - each task's CPU, frozen and waiting seconds, and the counts of
#     ticks, freezes, thaws, retries and refusals, equal the run's --report;
#   - the tick histogram counts every tick, its buckets never decrease;
#   - it is written atomically (never a partial file seen while running);
#   - over HTTP, during a --realtime run: GET /metrics answers 200 with the
#     same families, another path 404; a wrong address starts nothing.
# Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" metrics sim
# Debian's python, whose packages python3-prometheus-client extends.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
if ! $PY -c 'import prometheus_client.parser' 2>/dev/null; then
	echo "1..0 # SKIP python3-prometheus-client is not installed (scripts/install-deps)"
	exit 0
fi
sed 's/comm = "bkup"/comm = "b\\"k\\\\p"/' sim/scenarios/paper.lua >"$T/paper.lua"
XL() { "$X" --sim "$T/paper.lua" --journal "$T/journal" "$@"; }
# In the background only: the job is then xds-lua itself, which signals reach.
XLP() { exec "$X" --sim "$T/paper.lua" --journal "$T/journal" "$@"; }
POL=(policies/global_priority.lua U1/db U2/web 'U1/b"k\p')

# A reader that checks the file many times while the run writes it.
XL --duration 20s --report "$T/r.json" --metrics-file "$T/m.prom" "${POL[@]}" >"$T/out" 2>"$T/err" </dev/null
rc=$?
[ $rc = 0 ] && [ -s "$T/m.prom" ] && ! ls "$T"/m.prom.* >/dev/null 2>&1
ok $? "--metrics-file: written, no temporary file left" || show "$T/err"

cat >"$T/check.py" <<'PY'
import json, re, sys
from prometheus_client.parser import text_string_to_metric_families
text, report = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
fams = {f.name: f for f in text_string_to_metric_families(text)}
def ok(cond, what):
    print(("ok" if cond else "not ok") + " - " + what)
bad = [n for n, f in fams.items()
       if not re.match(r"^xds_[a-z_]+$", n)
       or (f.type == "counter" and not all(s.name.endswith("_total") for s in f.samples))
       or (("seconds" in n) != any(u in n for u in ("seconds",)))]
ok(not bad and len(fams) >= 15, "%d families, names by the rules (bad: %s)" % (len(fams), bad))
timed = [n for n in fams if n != "xds_frozen_tasks" and any(w in n for w in ("duration", "cpu", "frozen", "waiting", "pause_"))]
ok(all("seconds" in n for n in timed), "every time figure says its unit (seconds): %s" % timed)
def series(name):
    return {(s.labels["dom"], s.labels["comm"], int(s.labels["pid"])): s.value
            for s in fams[name].samples}
cpu, frozen, wait = (series("xds_task_%s_seconds" % k) for k in ("cpu", "frozen", "waiting"))
ok(('U1', 'b"k\\p', 320) in frozen, "the escaped comm comes back exactly: %s" % sorted(frozen))
diffs = []
for t in report["tasks"]:
    key = (t["dom"], t["comm"], t["pid"])
    if t["cputime_ns"] == 0 and t["frozen_ns"] == 0 and t["wait_ns"] == 0:
        continue
    for got, want in ((cpu, t["cputime_ns"]), (frozen, t["frozen_ns"]), (wait, t["wait_ns"])):
        if key not in got or abs(got[key] - want / 1e9) > 1e-6:
            diffs.append((key, got.get(key), want / 1e9))
ok(not diffs and len(cpu) >= 3, "per task CPU, frozen and waiting seconds = the report's (%d tasks; off: %s)"
   % (len(cpu), diffs))
st = report["stats"]
def one(name):
    return fams[name].samples[0].value
pairs = [("xds_ticks", "ticks"), ("xds_freezes", "freezes"), ("xds_thaws", "thaws"),
         ("xds_retries", "retries"), ("xds_refusals", "refusals")]
off = [(m, one(m), st[k]) for m, k in pairs if one(m) != st[k]]
ok(not off and st["freezes"] > 0, "ticks, freezes, thaws, retries, refusals = the report's (off: %s)" % off)
h = {s.labels.get("le"): s.value for s in fams["xds_tick_duration_seconds"].samples if s.name.endswith("_bucket")}
cnt = [s.value for s in fams["xds_tick_duration_seconds"].samples if s.name.endswith("_count")][0]
les = sorted((float(k), v) for k, v in h.items())
ok(cnt == st["ticks"] and h["+Inf"] == cnt and all(a[1] <= b[1] for a, b in zip(les, les[1:])),
   "the tick histogram counts every tick (%d), buckets never decrease" % cnt)
g = {s.labels["dom"]: s.value for s in fams["xds_guest_attached"].samples}
p = {s.labels["dom"]: s.value for s in fams["xds_guest_pauses"].samples}
ok(g == {"U1": 1, "U2": 1} and all(v > 0 for v in p.values()), "both guests attached, paused %s times" % p)
PY
$PY "$T/check.py" "$T/m.prom" "$T/r.json" >"$T/py" 2>&1 || echo "not ok - the parser failed: $(tail -1 "$T/py")" >>"$T/py"
while read -r res rest; do
	[ "$res" = ok ] && ok 0 "${rest#- }" || { [ "$res" = not ] && ok 1 "${rest#ok - }"; }
done <"$T/py"
grep -q Traceback "$T/py" && show "$T/py"

# Atomic: a reader in a loop during a long run never sees a partial file.
XLP --duration 600s --metrics-file "$T/a.prom" "${POL[@]}" >/dev/null 2>"$T/err" </dev/null &
xp=$!
bad=0 seen=0
for _ in $(seq 200); do
	if [ -e "$T/a.prom" ]; then
		seen=$((seen + 1))
		tail -c 200 "$T/a.prom" | grep -q '^xds_frozen_tasks [0-9]' || bad=$((bad + 1))
	fi
	sleep 0.02
done
kill -TERM $xp; wait $xp
[ $seen -gt 0 ] && [ $bad = 0 ]
ok $? "atomic: $seen reads during the run, $bad partial"

# HTTP during a real-time run; the port is the one the log names.
XLP --realtime --duration 6s --metrics 127.0.0.1:0 "${POL[@]}" >"$T/out" 2>"$T/err" </dev/null &
xp=$!
for _ in $(seq 100); do grep -q 'serving http' "$T/err" && break; sleep 0.1; done
url=$(sed -n 's/.*serving \(http:[^ ]*\)/\1/p' "$T/err")
sleep 1
$PY - "$url" >"$T/http" 2>&1 <<'PY'
import sys, urllib.request, urllib.error
from prometheus_client.parser import text_string_to_metric_families
r = urllib.request.urlopen(sys.argv[1], timeout=10)
body = r.read().decode()
fams = {f.name for f in text_string_to_metric_families(body)}
print(r.status, r.headers["Content-Type"], len(fams), "xds_task_cpu_seconds" in fams)
try:
    urllib.request.urlopen(sys.argv[1].replace("/metrics", "/nothing"), timeout=10)
except urllib.error.HTTPError as e:
    print(e.code)
PY
wait $xp
grep -q '^200 text/plain; version=0.0.4; charset=utf-8 [0-9]* True$' "$T/http" && grep -qx 404 "$T/http"
ok $? "--metrics: GET /metrics is 200 in the text format, parsed; another path 404 ($url)" || show "$T/http" "$T/err"
XL --duration 1s --metrics nowhere "${POL[@]}" >"$T/out" 2>"$T/err" </dev/null
[ $? = 1 ] && grep -q '^xds-lua: --metrics nowhere: expected ADDR:PORT' "$T/err"
ok $? "--metrics without a port: the run does not start, the message says why" || show "$T/err"
echo "1..$n"
