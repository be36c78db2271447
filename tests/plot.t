#!/bin/bash
# plot.t - `xds-lua plot` draws the paper's Fig. 2 from a --timeline of
# paper.lua under global_priority:
#   - the SVG exists and is well-formed XML (xmllint), with a panel per
#     guest and a run-queue line per task that was ever on a run queue;
#   - each task's line goes up exactly where the timeline says the task
#     joined its run queue, and down where it left (every transition, at
#     its time within a pixel);
#   - rsvg-convert (librsvg) renders it to a PNG.
# Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" plot sim
"$X" --sim sim/scenarios/paper.lua --journal "$T/journal" --duration 20s --timeline "$T/t.json" \
	policies/global_priority.lua >/dev/null 2>"$T/err" </dev/null
"$X" plot "$T/t.json" -o "$T/fig.svg" --title "paper.lua under global_priority" 2>"$T/err"
[ $? = 0 ] && [ -s "$T/fig.svg" ]
ok $? "plot writes the SVG" || show "$T/err"
if command -v xmllint >/dev/null; then
	xmllint --noout "$T/fig.svg" 2>"$T/err"
	ok $? "it is well-formed XML (xmllint)" || show "$T/err"
else
	n=$((n + 1)); echo "ok $n # SKIP xmllint (libxml2-utils) is not installed"
fi

cat >"$T/check.py" <<'PY'
import json, re, sys
import xml.etree.ElementTree as ET
def ok(cond, what):
    print(("ok" if cond else "not ok") + " - " + what)
ev = json.load(open(sys.argv[1]))["traceEvents"]
svg = ET.parse(sys.argv[2]).getroot()
ns = "{http://www.w3.org/2000/svg}"
paths = {p.get("id"): p.get("d") for p in svg.iter(ns + "path") if p.get("id")}
texts = [t.text for t in svg.iter(ns + "text")]
ok({"U1", "U2"} <= set(texts) and {"db[210]", "bkup[320]", "web[150]"} <= set(texts),
   "a panel per guest, a row per task, labelled")
ok({"rq-U1-db-210", "rq-U1-bkup-320", "rq-U2-web-150"} <= set(paths), "a run-queue line per task: %s" % sorted(paths))
procs = {e["pid"]: e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"}
threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
t_end = max(e["ts"] + e["dur"] for e in ev if e["ph"] == "X") / 1e6
def changes(key):
    # (time, up) where the task joins or leaves its run queue, from the spans
    out, up, last_end = [], False, None
    for e in sorted((e for e in ev if e["ph"] == "X" and (e["pid"], e["tid"]) == key), key=lambda e: e["ts"]):
        on = e["name"] in ("running", "queued")
        gap = last_end is not None and e["ts"] > last_end
        if up and gap:
            out.append((last_end / 1e6, False)); up = False
        if on != up:
            out.append((e["ts"] / 1e6, on)); up = on
        last_end = e["ts"] + e["dur"]
    if up:
        out.append((last_end / 1e6, False))
    return [c for c in out if 0 < c[0] < t_end]
def drawn(d):
    # the path's vertical moves as (x, up), and its x range
    toks = re.findall(r"([MHV])\s*([-\d.]+)(?:\s+([-\d.]+))?", d)
    x, y, x0, moves = None, None, None, []
    lo = float(toks[0][2])
    for cmd, a, b in toks:
        if cmd == "M": x, y = float(a), float(b); x0 = x
        elif cmd == "H": x = float(a)
        else:
            ny = float(a)
            if ny != y: moves.append((x, ny < lo))
            y = ny
    return x0, x, moves
bad = []
total = 0
for key, name in threads.items():
    pid_name = procs[key[0]]
    pid = "rq-%s-%s" % (pid_name, name.replace("[", "-").rstrip("]"))
    if pid not in paths:
        continue
    x0, x1, moves = drawn(paths[pid])
    want = changes(key)
    moves = [m for m in moves if x0 < m[0] < x1]
    total += len(want)
    if len(moves) != len(want):
        bad.append((pid, len(moves), len(want)))
        continue
    for (x, up), (t, on) in zip(moves, want):
        if up != on or abs((x - x0) / (x1 - x0) * t_end - t) > t_end / (x1 - x0):
            bad.append((pid, round(t, 3), on, round((x - x0) / (x1 - x0) * t_end, 3), up))
            break
ok(not bad and total > 20, "the lines go up and down where the timeline says (%d transitions; off: %s)" % (total, bad[:3]))
PY
python3 "$T/check.py" "$T/t.json" "$T/fig.svg" >"$T/py" 2>&1 || echo "not ok - the check failed: $(tail -1 "$T/py")" >>"$T/py"
while read -r res rest; do
	[ "$res" = ok ] && ok 0 "${rest#- }" || { [ "$res" = not ] && ok 1 "${rest#ok - }"; }
done <"$T/py"
grep -q Traceback "$T/py" && show "$T/py"
if command -v rsvg-convert >/dev/null; then
	rsvg-convert "$T/fig.svg" -o "$T/fig.png" 2>"$T/err" && [ "$(head -c 8 "$T/fig.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
	ok $? "rsvg-convert renders it to a PNG" || show "$T/err"
else
	n=$((n + 1)); echo "ok $n # SKIP rsvg-convert (librsvg2-bin) is not installed"
fi
"$X" plot "$T/none.json" -o "$T/x.svg" 2>"$T/err"
[ $? = 1 ] && grep -q "^xds-lua: plot: $T/none.json" "$T/err"
ok $? "a missing timeline is an error that names it" || show "$T/err"
echo "1..$n"
