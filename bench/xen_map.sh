#!/bin/bash
# xen_map.sh - the xen backend's costs on the nested Xen host
# (scripts/xen-host): attach (banner search included), the first tick
# (a full snapshot with every frame mapped afresh through
# xenforeignmemory_map) and steady ticks (frames from the cache), for one
# PV domU (XDS_XEN_GUESTS to change).  Prints the times and the ratio
# first/steady.  Skips (exit 0) when the packages cannot be fetched.
set -u
cd "$(dirname "$0")/.." || exit 1
GUESTS=${XDS_XEN_GUESTS:-pv1:pv}
T=$(mktemp -d /tmp/xds-xen-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT
scripts/xen-host run scenario-bench.sh --guests "$GUESTS" --dir "$T" --timeout 400 \
	>"$T/out" 2>&1
rc=$?
if [ $rc = 77 ]; then
	echo "xen_map: SKIP: $(grep -o 'SKIP: .*' "$T/out" | head -1)"
	exit 0
fi
tr -d '\r' < "$T/serial.log" | grep '^XEN-TIME\|^xen-ps: \(attached\|tick\|dom\)' |
	sed 's/^/xen_map: /'
tr -d '\r' < "$T/serial.log" | awk '/^xen-ps: tick first/ {
	f = $4; s = $8; if (s > 0) printf "xen_map: first tick / steady tick = %.1f\n", f / s }'
[ $rc = 0 ] || { echo "xen_map: the nested host failed (status $rc)"; cat "$T/out"; exit 1; }
