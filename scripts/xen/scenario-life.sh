# scenario-life.sh - inside the nested dom0: domains that come, go and are
# paused by someone else while xds runs.  Boots pv1 and pv2, starts the
# xen_ps driver in watch mode (a rescan and a snapshot every tick), then:
# xl pause pv2 (xds must not resume it), xl unpause pv2, xl destroy pv2
# (xds must drop it), xl create pv3 (xds must attach it on a later tick).
# Prints the driver's TICK lines and the events between markers.
. /xen-lib.sh
. /scenario.env
for g in pv1 pv2; do
	guest_create $g pv || exit 10
done
for g in pv1 pv2; do
	guest_wait $g 1 150 || { echo "$g did not list its tasks"; exit 11; }
done
echo "XEN-TIME guests_up_ms $(ms)"
xen_ps --profile-dir /etc/xds/profiles --watch 100000 --interval 500 \
	> /tmp/watch.out 2>&1 &
watcher=$!
event() { echo "EVENT $(ms) $*"; }
sleep 5
event pause pv2; xl pause pv2
sleep 4
event state pv2 "$(xl list pv2 | awk 'NR == 2 { print $5 }')"
event unpause pv2; xl unpause pv2
sleep 3
event destroy pv2; xl destroy pv2
sleep 3
event create pv3; guest_create pv3 pv
guest_wait pv3 1 150
event pv3-listing
sleep 4
event stop
kill $watcher 2>/dev/null
wait $watcher
section WATCH cat /tmp/watch.out
section XL-LIST xl list
exit 0
