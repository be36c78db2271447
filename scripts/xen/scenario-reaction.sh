# scenario-reaction.sh - inside the nested dom0: the paper's host of
# scenario-main.sh (u1: db phases 3:1 + bkup busy, u2: web work 4:1, both
# pinned to physical CPU 1) under gp_watch.lua (global_priority with a log
# of what it saw each tick) and xds-lua --trace, twice for $REACT_S
# seconds (30): with the wake-ups of idle vCPUs after a thaw ("kick"), and
# without them (XDS_XEN_NO_KICK=1, "nokick").  bench/xen_reaction.sh reads
# the sections WATCH-<round> (the policy's view), TRACE-<round> (every
# change tried) and REPORT-<round> (the run's counters).
. /xen-lib.sh
. /scenario.env
xl vcpu-pin 0 all 0 || echo "DOM0-WARN cannot pin dom0"
export CPUS=1
guest_create u1 pv db:phases:3:1,bkup:busy,sleeper1 || { echo "xl create u1 failed"; exit 10; }
guest_create u2 pv web:work:4:1,sleeper1 || { echo "xl create u2 failed"; exit 10; }
for g in u1 u2; do
	guest_wait $g 1 150 || { echo "$g did not list its tasks"; exit 11; }
done
sleep 2
for round in kick nokick; do
	nk=
	[ $round = nokick ] && nk=1
	echo "ROUND $round start $(seqs u1 u2)"
	GP_WATCH=/tmp/gp.watch XDS_POLICY_PATH=/policies/lib XDS_XEN_NO_KICK=$nk $XDS --unsafe \
		--tick ${REACT_TICK:-50} --journal /tmp/journal.gp --trace /tmp/gp.trace \
		--report /tmp/gp.json --duration ${REACT_S:-30}s /gp_watch.lua u1/db u2/web bkup \
		> /tmp/gp.out 2> /tmp/gp.err
	echo "ROUND $round end rc=$? $(seqs u1 u2)"
	section "POLICY-ERR-$round" cat /tmp/gp.err
	section "REPORT-$round" grep -o '"stats": {[^}]*}' /tmp/gp.json
	section "TRACE-$round" cat /tmp/gp.trace
	section "WATCH-$round" cat /tmp/gp.watch
done
exit 0
