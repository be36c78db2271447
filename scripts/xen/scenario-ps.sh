# scenario-ps.sh - inside the nested dom0: boot the domUs named in
# $GUESTS ("NAME:TYPE ...", each with busy1 and sleeper1), read every
# domU's tasks with `xds-lua --xen -e 'ps()'` (and the xen_ps driver's
# root check) between two listings of each guest's own view, then freeze
# busy1 in every domU for 10 s with freeze.lua and thaw it.  Prints, for the
# host-side tests (xen_ps.t, xen_freeze.t): the timings, xds's output, the
# guests' listings around the read, busy1's and sleeper1's row in every
# listing (TRK) and the guests' kernel warnings (KLOG).
. /xen-lib.sh
. /scenario.env
names=""
for g in $GUESTS; do names="$names ${g%%:*}"; done
t0=$(ms)
for g in $GUESTS; do
	guest_create ${g%%:*} ${g##*:} busy1,sleeper1 || { echo "xl create $g failed"; exit 10; }
done
echo "XEN-TIME create_ms $(( $(ms) - t0 ))"
for g in $names; do
	guest_wait $g 1 150 || { echo "$g did not list its tasks"; cat $LOGDIR/guest-$g.log; exit 11; }
done
echo "XEN-TIME guests_up_ms $(( $(ms) - t0 ))"
section XL-LIST xl list
phase_ps $names
# no profile at all: a PVH or HVM domU's kernel is read from its own memory
# (BTF, kallsyms, vmcoreinfo); a PV domU is left alone, with the reason
mkdir -p /tmp/noprofiles
section XDS-OWNMEM env HOME=/tmp xds-lua --xen --profile-dir /tmp/noprofiles --journal /tmp/journal.own \
	-e 'for _, d in ipairs(xds.domains()) do print("DOM", d.name, d.family, d.profile) end ps()'
specs=""
for g in $names; do specs="$specs $g/busy1"; done
phase_freeze 10 $specs
for g in $names; do
	section "TRACK $g" guest_track $g busy1 sleeper1
	section "KLOG $g" grep '^KLOG' $LOGDIR/guest-$g.log
done
exit 0
