# scenario-bench.sh - inside the nested dom0: boot the domUs of $GUESTS,
# then time xds's attach, its first tick (every frame mapped afresh) and
# its steady ticks (frames from the cache) with the xen_ps driver, over
# $TICKS snapshots.  bench/xen_map.sh prints the XEN-TIME and xen-ps lines.
. /xen-lib.sh
. /scenario.env
t0=$(ms)
for g in $GUESTS; do
	guest_create ${g%%:*} ${g##*:} || exit 10
done
for g in $GUESTS; do
	guest_wait ${g%%:*} 1 150 || exit 11
done
echo "XEN-TIME guests_up_ms $(( $(ms) - t0 ))"
section XPS xen_ps --profile-dir /etc/xds/profiles --count ${TICKS:-200}
