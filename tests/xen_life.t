#!/bin/bash
# xen_life.t - on the nested Xen host (the shared run "main",
# scripts/xen/scenario-main.sh), `xds-lua --xen` running
# policies/global_priority.lua (u1/db > u2/web > bkup) keeps up with
# domains that are paused by someone else, destroyed and created:
#   - xl pause u2: u2 stays paused for the 5 s xds keeps running (xl list
#     says p, its listings stop) while u1 goes on; after xl unpause u2
#     runs again, so xds left no pause of its own behind;
#   - xl destroy u2: xds drops it (and forgets the tasks it held there,
#     with a journal line) and keeps running;
#   - xl create u3: xds attaches it on a later tick, and its bkup joins
#     the lowest class: from the tick it is first held, db gains more
#     than twice its CPU time;
#   - SIGTERM: xds-lua ends with status 0 and every task it held runs
#     again (u1's bkup and u3's bkup gain CPU time afterwards);
#   - no trace of u2 in xl list, and no error about u1 in xds's log;
#   - a second xds-lua started meanwhile leaves the domains alone (one
#     scheduler per domain: a lock per domain, the holder's pid said).
# Skips when the packages cannot be fetched or XDS_SKIP_XEN is set.
set -u
cd "$(dirname "$0")/.." || exit 1
. scripts/xen/test-lib.sh

xen_run main scenario-main.sh "u1:pv u2:pv"
grep '^LIFE' "$log" | sed 's/^/# /'
err=$(section POLICY-ERR)
echo "$err" | head -40 | sed 's/^/# xds-lua: /'
journal=$(section JOURNAL-AFTER-DESTROY)
life() { grep "^LIFE [0-9]* $1 " "$log" | head -1; }

second=$(section SECOND-XDS)
echo "$second" | sed 's/^/# second xds-lua: /' | head -8
echo "$second" | grep -q 'dom [0-9]* (u1) left alone: another xds-lua schedules this guest (pid [0-9]* holds the lock' &&
	! echo "$second" | grep -q '(u1) attached'
ok $? "a second xds-lua on the host leaves u1 alone while the first runs, naming the first's pid"

p0=$(life pause); p1=$(life paused); p2=$(life unpaused)
echo "$p1" | grep -q 'state=[-a-z]*p'
ok $? "u2 is paused after xl pause while xds-lua runs: $(echo "$p1" | grep -o 'state=[^ ]*')"
a=$(seq_of "$p0" u2); b=$(seq_of "$p1" u2); c=$(seq_of "$p2" u2)
[ -n "$a" ] && [ -n "$b" ] && [ $((b - a)) -le 1 ]
ok $? "u2's listings stop for the 5 s of its pause: xds did not resume it (listing $a -> $b)"
a1=$(seq_of "$p0" u1); b1=$(seq_of "$p1" u1)
[ -n "$a1" ] && [ -n "$b1" ] && [ $((b1 - a1)) -ge 1 ]
ok $? "u1 goes on meanwhile (listing $a1 -> $b1)"
[ -n "$c" ] && [ "$c" -ge $((b + 1)) ]
ok $? "after xl unpause u2 lists again: xds left no pause of its own (listing $b -> $c, $(echo "$p2" | grep -o 'relisted_ms=[0-9]*'))"

echo "$err" | grep -q 'xen: dom [0-9]* (u2) is gone: dropped'
ok $? "xds-lua drops u2 once it is destroyed"
life destroyed | grep -q 'xds-alive=1'
ok $? "xds-lua keeps running after the destroy"
if echo "$err" | grep -q '^xds-lua: u2/.*forgetting it'; then
	echo "$journal" | sed 's/^/# journal: /' | tail -5
	echo "$journal" | grep -q 'u2'
	ok $? "the held tasks of u2 are forgotten, and the journal says so"
else
	echo "$journal" | sed 's/^/# journal: /' | tail -5
	ok 0 "u2 held no task when destroyed (nothing to forget) # SKIP web was not held then"
fi

echo "$err" | grep -q 'xen: dom [0-9]* (u3) attached'
ok $? "xds-lua attaches u3, created later, on a later tick"
u=$(life u3-held); s=$(life stop)
g3=$(gain u3 bkup "$(seq_of "$u" u3)" "$(seq_of "$s" u3)")
g1=$(gain u1 db "$(seq_of "$u" u1)" "$(seq_of "$s" u1)")
diag "u3 held -> stop: u3/bkup +${g3:-?} ticks, u1/db +${g1:-?} ticks; u3's bkup held $(echo "$u" | grep -o 'held_after_ms=[0-9]*') after u3 first listed"
[ -n "$g3" ] && [ -n "$g1" ] && [ "$g1" -gt $((2 * g3)) ]
ok $? "u3's bkup joins the lowest class: db gains more than twice its CPU (${g1:-?} vs ${g3:-?} ticks)"

x=$(life xds-exit)
echo "$x" | grep -q 'rc=0'
ok $? "xds-lua ends on SIGTERM with status 0 ($x)"
e=$(life end)
for gc in u1/bkup u3/bkup u1/db; do
	g=${gc%/*} c=${gc#*/}
	d=$(gain "$g" "$c" "$(( $(seq_of "$s" "$g") + 1 ))" "$(seq_of "$e" "$g")")
	[ -n "$d" ] && [ "$d" -ge 10 ]
	ok $? "$gc runs after xds-lua ended (+${d:-?} ticks)"
done

xl=$(section XL-LIST-END)
echo "$xl" | sed 's/^/# /'
! echo "$xl" | grep -Eq '^u2 |^\(null\)'
ok $? "no trace of u2 is left in xl list (its memory was released)"
bad=$(echo "$err" | grep -i 'u1' | grep -iv 'attached\|forgetting\|started:\|stopped:\|matches no task (domains:' | head -3)
[ -z "$bad" ]
ok $? "no error about u1 in xds-lua's log${bad:+: $bad}"
for g in u1 u2 u3; do
	klog_clean $g
	ok $? "$g: no WARN, BUG, Oops or psi warning in the guest's log"
done
