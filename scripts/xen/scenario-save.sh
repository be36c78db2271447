# scenario-save.sh - inside the nested dom0: xl save and xl restore of a
# domU whose task xds-lua holds.  u1 runs db and bkup, both always busy;
# u2 runs web (4 s of CPU, then idle 1 s); both are pinned to physical
# CPU 1.  policies/global_priority.lua u1/db u2/web bkup holds web and
# bkup for as long as db runs, that is all the time.  Then:
#   xl save u2 (a migration's first half): the toolstack asks u2 to
#     suspend; u2's freezer needs every task able to run, so xds-lua must
#     give web back (a held task does not wake: the freezer gives up after
#     20 s and the save fails);
#   xl restore u2: u2 comes back as a new domain, which xds-lua attaches,
#     and whose web it holds again.
# Prints SAVE lines (held before, save and restore status and time), the
# policy's stderr and --trace, xl's output and the guests' kernel warnings.
. /xen-lib.sh
. /scenario.env
xl vcpu-pin 0 all 0 || echo "DOM0-WARN cannot pin dom0"
export CPUS=1
guest_create u1 pv db:busy,bkup:busy,sleeper1 || { echo "xl create u1 failed"; exit 10; }
guest_create u2 pv web:work:4:1,sleeper1 || { echo "xl create u2 failed"; exit 10; }
for g in u1 u2; do
	guest_wait $g 1 150 || { echo "$g did not list its tasks"; exit 11; }
done
$XDS --tick 50 --journal /tmp/journal.gp --trace /tmp/gp.trace \
	/policies/global_priority.lua u1/db u2/web bkup > /tmp/gp.out 2> /tmp/gp.err &
xpid=$!
held=0
for _ in $(seq 100); do
	grep 'u2/web' /tmp/gp.trace 2>/dev/null | tail -1 | grep -q ' frozen$' && { held=1; break; }
	sleep 0.1
done
sleep 3
w0=$(guest_seq u2)
sleep 3
w1=$(guest_seq u2)
echo "SAVE held=$held web-listings=$w0-$w1 $(seqs u1 u2)"
# the image takes all of u2's memory: a tmpfs of its own, not the rootfs
mkdir -p /save && mount -t tmpfs -o size=200m tmpfs /save
t1=$(ms)
xl save u2 /save/u2 > /tmp/u2.save.out 2>&1
echo "SAVE saved rc=$? ms=$(( $(ms) - t1 ))"
t1=$(ms)
xl restore /save/u2 > /tmp/u2.restore.out 2>&1
rc=$?
rm -f /save/u2
umount /save
s=$(guest_seq u2)
guest_wait u2 $((s + 2)) 60
echo "SAVE restored rc=$rc ms=$(( $(ms) - t1 )) from=$s $(seqs u1 u2)"
sleep 6
echo "SAVE end xds-alive=$(kill -0 $xpid 2>/dev/null && echo 1 || echo 0) $(seqs u1 u2)"
kill -TERM $xpid
wait $xpid
echo "SAVE xds-exit rc=$?"
section POLICY-ERR cat /tmp/gp.err
section POLICY-TRACE cat /tmp/gp.trace
section XL-SAVE cat /tmp/u2.save.out /tmp/u2.restore.out
section XL-LIST-END xl list
for g in u1 u2; do
	section "TRACK $g" guest_track $g db bkup web
	section "KLOG $g" grep '^KLOG' $LOGDIR/guest-$g.log
done
exit 0
