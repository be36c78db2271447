# scenario-main.sh - inside the nested dom0: the paper's host on Xen, and
# domains that come and go while xds-lua runs a policy.  u1 runs db
# (busy 3 s, idle 1 s) and bkup (busy), u2 runs web (4 s of CPU, then idle 1 s),
# each a sleeper1 too; both are pinned to physical CPU 1, dom0 to CPU 0.
# Phases, each between markers for the host-side tests:
#   ps      xds-lua --xen -e 'ps()' against the guests' own listings
#   freeze  freeze.lua holds u1/bkup and u2/web 10 s, then thaws them
#   WIN none     15 s with no xds-lua running
#   WIN policy   15 s of policies/global_priority.lua u1/db u2/web bkup,
#                which then keeps running through the life events:
#   LIFE    xl pause u2 (5 s), xl unpause u2, xl destroy u2 (xds must drop
#           it and forget its held tasks), xl create u3 running bkup (xds
#           must attach it and hold its bkup under db), SIGTERM to xds-lua
# Then every listing's row of the named processes (TRK), xds's own view
# of their CPU time at the window edges (XV), the policy's stderr, its
# report's counters and --trace, the journal, xl list, and the guests'
# kernel warnings.
. /xen-lib.sh
. /scenario.env
xl vcpu-pin 0 all 0 || echo "DOM0-WARN cannot pin dom0"
export CPUS=1
t0=$(ms)
guest_create u1 pv db:phases:3:1,bkup:busy,sleeper1 || { echo "xl create u1 failed"; exit 10; }
guest_create u2 pv web:work:4:1,sleeper1 || { echo "xl create u2 failed"; exit 10; }
for g in u1 u2; do
	guest_wait $g 1 150 || { echo "$g did not list its tasks"; cat $LOGDIR/guest-$g.log; exit 11; }
done
echo "XEN-TIME guests_up_ms $(( $(ms) - t0 ))"
section XL-LIST xl list
section VCPU-LIST xl vcpu-list
phase_ps u1 u2
phase_freeze 10 u1/bkup u2/web

# xds's view of the three classes' CPU time, by a reader of its own; it
# writes nothing, so it takes its domain locks in a folder of its own (a
# second xds-lua is otherwise refused the domains the policy run holds)
xv() {
	XDS_XEN_LOCK_DIR=/tmp/xv-locks $XDS --journal /tmp/journal.xv -e "for _, t in ipairs(xds.tasks()) do
		if t.pid == t.tgid and (t.comm == 'db' or t.comm == 'web' or t.comm == 'bkup') then
			print('XV $1', t.dom, t.comm, t.cputime) end end" 2>&1
}
window() {
	echo "WIN $1 start $(seqs $2)"
	xv "$1-start"
	sleep "$3"
	xv "$1-end"
	echo "WIN $1 end $(seqs $2)"
}
sleep 2
window none "u1 u2" 15
$XDS --tick 50 --journal /tmp/journal.gp --trace /tmp/gp.trace --report /tmp/gp.json \
	/policies/global_priority.lua u1/db u2/web bkup > /tmp/gp.out 2> /tmp/gp.err &
xpid=$!
sleep 4
window policy "u1 u2" 15
# one scheduler per domain: a second xds-lua leaves u1 and u2 alone, saying whose they are
section SECOND-XDS $XDS --journal /tmp/journal.second -e 'local n = 0
	for _ in ipairs(xds.tasks()) do n = n + 1 end print("SECOND tasks " .. n)'

event() { echo "LIFE $(ms) $*"; }
event pause u2 "$(seqs u1 u2)"
xl pause u2
sleep 5
event paused u2 state="$(xl list u2 | awk 'NR == 2 { print $5 }')" "$(seqs u1 u2)"
xl unpause u2
t1=$(ms)
guest_wait u2 $(( $(guest_seq u2) + 1 )) 30
event unpaused u2 "$(seqs u1 u2)" relisted_ms=$(( $(ms) - t1 ))
xl destroy u2
sleep 3
event destroyed u2 xds-alive=$(kill -0 $xpid 2>/dev/null && echo 1 || echo 0)
cp /tmp/journal.gp /tmp/journal.after-destroy 2>/dev/null
guest_create u3 pv bkup:busy,sleeper1 || echo "xl create u3 failed"
guest_wait u3 1 150
event u3-up "$(seqs u1 u3)"
# the window of u3's bkup under db starts once xds has attached u3 and held
# its bkup (attaching needs u3's profile, which may take seconds on a busy host)
t1=$(ms)
for _ in $(seq 600); do grep -q ' freeze u3/bkup\[[0-9]*\] ' /tmp/gp.trace 2>/dev/null && break; sleep 0.1; done
event u3-held "$(seqs u1 u3)" held_after_ms=$(( $(ms) - t1 ))
sleep 6
event stop "$(seqs u1 u3)" xds-alive=$(kill -0 $xpid 2>/dev/null && echo 1 || echo 0)
kill -TERM $xpid
wait $xpid
event xds-exit rc=$?
s=$(guest_seq u3)
guest_wait u1 $(( $(guest_seq u1) + 3 )) 30
guest_wait u3 $((s + 3)) 30
event end "$(seqs u1 u3)"
section POLICY-OUT cat /tmp/gp.out
section POLICY-ERR cat /tmp/gp.err
section POLICY-STATS grep -o '"stats": {[^}]*}' /tmp/gp.json
section POLICY-TRACE cat /tmp/gp.trace
section JOURNAL-AFTER-DESTROY cat /tmp/journal.after-destroy
section XL-LIST-END xl list
for g in u1 u2 u3; do
	section "TRACK $g" guest_track $g db bkup web sleeper1
	section "KLOG $g" grep '^KLOG' $LOGDIR/guest-$g.log
done
exit 0
