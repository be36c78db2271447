# scenario-ps.sh - inside the nested dom0: boot the domUs named in
# $GUESTS ("NAME:TYPE ..."), then read every domU's tasks with xds-lua
# (`xds-lua --xen -e 'ps()'` when the CLI has it, and always the
# xen_ps driver), between two complete listings of each guest's own view.
# Prints, for the host-side test: the timings, the xds output, and each
# guest's listings just before and just after it.
. /xen-lib.sh
. /scenario.env
t0=$(ms)
for g in $GUESTS; do
	guest_create ${g%%:*} ${g##*:} || { echo "xl create $g failed"; exit 10; }
done
echo "XEN-TIME create_ms $(( $(ms) - t0 ))"
for g in $GUESTS; do
	guest_wait ${g%%:*} 1 150 || { echo "${g%%:*} did not list its tasks"; cat $LOGDIR/guest-${g%%:*}.log; exit 11; }
done
echo "XEN-TIME guests_up_ms $(( $(ms) - t0 ))"
section XL-LIST xl list
before=""
for g in $GUESTS; do before="$before ${g%%:*}=$(guest_seq ${g%%:*})"; done
t1=$(ms)
section XPS xen_ps --profile-dir /etc/xds/profiles --count 3
echo "XEN-TIME xen_ps_ms $(( $(ms) - t1 ))"
if xds-lua --help 2>&1 | grep -q -- '--xen'; then
	section XDSLUA xds-lua --xen --profile-dir /etc/xds/profiles -e 'ps()'
fi
# a listing that begins after xds has read: two after the last complete one
for b in $before; do
	name=${b%%=*}
	seq=${b#*=}
	after=$(( $(guest_seq $name) + 2 ))
	guest_wait $name $after 60
	section "GUEST $name before" guest_listing $name $seq
	section "GUEST $name after" guest_listing $name $after
	section "KLOG $name" grep '^KLOG' $LOGDIR/guest-$name.log
done
exit 0
