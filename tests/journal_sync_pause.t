#!/bin/bash
# journal_sync_pause.t - the journal is never synced while a guest is
# paused (issue 14, point 5): a tick's freezes are journaled with one
# fdatasync before the pause, and nothing inside the pause waits for the
# disk.  xds-lua runs global_priority.lua on a simulated host started on
# its own (attached with --qemu, so that a pause is QMP's "stop" and
# "cont"), under strace; between each "stop" and the next "cont" there must
# be no fdatasync, and freezes must have been journaled (some fdatasync
# before a "stop").  Skipped without strace.  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" jsync sim
need strace
own_sim
export XDG_CACHE_HOME="$T/cache"

strace -f -qq -e trace=fdatasync,sendto -s 120 -o "$T/strace" \
	"$X" --journal "$T/journal" --duration 4s --qemu "$(sim_spec U1)" --qemu "$(sim_spec U2)" \
	policies/global_priority.lua >"$T/out" 2>"$T/err" </dev/null
rc=$?
# per line: S (a stop sent), C (a cont sent), F (an fdatasync)
awk '/sendto\(.*execute.*stop/ { print "S" } /sendto\(.*execute.*cont/ { print "C" } /fdatasync\(/ { print "F" }' \
	"$T/strace" | tr -d '\n' >"$T/seq"
pauses=$(grep -o S "$T/seq" | wc -l)
inside=$(sed 's/C[^S]*/ /g; s/^[^S]*//' "$T/seq" | grep -o F | wc -l)
before=$(grep -Eo 'F+S' "$T/seq" | wc -l)
[ "$rc" = 0 ]
ok $? "global_priority.lua runs 4 s on two guests attached with --qemu (status $rc)" || sed "s/^/# /" "$T/err"
[ "$pauses" -gt 3 ] && [ "$before" -gt 0 ]
ok $? "it pauses ($pauses pauses) and syncs the journal before pausing ($before times)"
[ "$inside" = 0 ]
ok $? "no fdatasync while a guest is paused ($inside)" || echo "# $(head -c 300 "$T/seq")"
echo "1..$n"
