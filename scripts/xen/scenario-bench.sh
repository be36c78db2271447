# scenario-bench.sh - inside the nested dom0: boot the domUs of $GUESTS,
# each running db (busy 3 s, idle 1 s), bkup (busy), web (4 s of CPU, idle
# 1 s) and sleeper1, then time xds's attach, its first tick (every frame
# mapped afresh) and its steady ticks (frames from the cache) with the
# xen_ps driver over $TICKS snapshots, and the same through xds-lua with
# bench.lua (snapshots, then $TICKS ticks of global_priority).
# bench/xen_map.sh prints the XEN-TIME, xen-ps and BENCH lines.
. /xen-lib.sh
. /scenario.env
t0=$(ms)
for g in $GUESTS; do
	guest_create ${g%%:*} ${g##*:} db:phases:3:1,bkup:busy,web:work:4:1,sleeper1 || exit 10
done
for g in $GUESTS; do
	guest_wait ${g%%:*} 1 150 || exit 11
done
echo "XEN-TIME guests_up_ms $(( $(ms) - t0 ))"
section XPS xen_ps --profile-dir /etc/xds/profiles --count ${TICKS:-200}
section XDSLUA $XDS --unsafe --journal /tmp/journal.bench /bench.lua ${TICKS:-200} \
	/policies/global_priority.lua
