#!/bin/bash
# dry_run.t - --dry-run on paper.lua under global_priority prints only the
# changes the policy asks for, under a header that says nothing is
# changed: each line has the time (virtual here, the header says so), the
# tick, the change and the reason the policy gave (task:freeze(reason));
# a wish repeated tick after tick is printed once; and no task is ever
# held (the simulator's ground truth).
# Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" dry-run sim
"$X" --sim sim/scenarios/paper.lua --journal "$T/journal" --dry-run --duration 20s --report "$T/r.json" \
	policies/global_priority.lua >"$T/out" 2>"$T/err" </dev/null
rc=$?
[ $rc = 0 ] && head -1 "$T/out" | grep -q '^# dry run: nothing is changed in any guest' &&
	sed -n 2p "$T/out" | grep -q 'virtual time'
ok $? "a header says nothing is changed, and which clock the times are" || show "$T/out" "$T/err"
body=$(grep -v '^#' "$T/out")
bad=$(echo "$body" | grep -Evc '^ *[0-9]+\.[0-9]{3} s  tick [0-9]+  (freeze|thaw) U[12]/[a-z]+\[[0-9]+\]  # .+$')
[ -n "$body" ] && [ "$bad" = 0 ]
ok $? "every other line is one change: time, tick, change, the policy's reason ($bad not)" || show "$T/out"
echo "$body" | grep -q 'freeze U1/bkup\[320\]  # class 1 (U1/db) is runnable' &&
	echo "$body" | grep -q 'thaw U2/web\[150\]  # no higher class is runnable'
ok $? "the reasons are the policy's own words" || show "$T/out"
# per task the changes alternate: never the same change twice in a row
echo "$body" | awk '{ k = $6; if (last[k] == $5) bad++; last[k] = $5 } END { exit bad > 0 }'
ok $? "changes only: a task's lines alternate freeze and thaw" || show "$T/out"
lines=$(echo "$body" | wc -l)
[ "$lines" -lt 100 ]
ok $? "$lines lines for 2000 ticks"
grep -o '"held_ns": *[0-9]*' "$T/r.json" | grep -vq ': *0$'
[ $? = 1 ] && grep -q '"held_ns"' "$T/r.json"
ok $? "nothing was held (ground truth)"
grep -q '^DOM ' "$T/err" && ! grep -q '^DOM ' "$T/out"
ok $? "the summary table goes to stderr, not among the changes"
echo "1..$n"
