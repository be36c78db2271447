#!/bin/bash
# journal_undo_area.t - a batch's undo records live in the journal's undo
# area (PATH.undo, a shared mapping: no system call per write into the
# guest) and a kill -9 mid-batch is undone from it: xds-lua is killed
# after its 7th write into a simulated guest; the area then names the
# journal's open batch and holds 7 records, and the next start undoes 7
# writes.  An area left by another batch (its number not the journal's)
# undoes nothing; a record cut short (its first byte not yet stored) is
# not one; a clean end removes the area.  Under strace, the undo records
# of a run cost no write(2) at all.  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" undoarea sim
. "$(dirname "$0")/sim_dir.sh"
echo "1..6"

crash() {       # crash DIR JOURNAL: a kill -9 after the 7th write into a guest
	sim_dir_start "$1"
	XDS_FAULT_KILL_AFTER_WRITES=7 "$X" --qemu "$(sim_spec U1 "$1")" --qemu "$(sim_spec U2 "$1")" --journal "$2" \
		--duration 5s policies/global_priority.lua U2/web U1/bkup >/dev/null 2>&1 </dev/null
}
restart() {     # restart DIR JOURNAL: the next start, its messages in $T/err
	"$X" --qemu "$(sim_spec U1 "$1")" --journal "$2" --duration 200ms policies/global_priority.lua U2/web U1/bkup \
		>/dev/null 2>"$T/err" </dev/null
}
area() { tr -d '\000' <"$1.undo"; }

crash "$T/a" "$T/ja" 2>/dev/null        # (the shell's "Killed" line)
rc=$?
seq=$(awk '$1 == "pause" { s = $3 } END { print s }' "$T/ja")
[ "$rc" = 137 ] && [ -n "$seq" ] && [ "$(area "$T/ja" | head -1)" = "batch U1 $seq" ] &&
	[ "$(area "$T/ja" | grep -Ec '^undo U1 0x[0-9a-f]+ [1248] (0x[0-9a-f]+|0) (0x[0-9a-f]+|0)$')" = 7 ] && ! grep -q '^undo ' "$T/ja"
ok $? "killed mid-batch: the area names the journal's open batch ($seq) and holds its 7 records, the journal none" ||
	{ show "$T/ja"; area "$T/ja" | show; }
restart "$T/a" "$T/ja"
rc=$?
[ "$rc" = 0 ] && grep -q 'recover: U1: a batch cut short by the crash is undone (7 write(s))' "$T/err"
ok $? "the next start undoes the 7 writes from the area (exit $rc)" || show "$T/err"
[ ! -e "$T/ja.undo" ] && [ ! -s "$T/ja" ]
ok $? "a clean end leaves no area and an empty journal" || ls -l "$T" | show

# the same crash on another guest, its journal's open batch renumbered
kill -9 "$sim"; wait "$sim" 2>/dev/null
crash "$T/b" "$T/jb" 2>/dev/null
seq=$(awk '$1 == "pause" { s = $3 } END { print s }' "$T/jb")
sed -i "s/^pause U1 $seq /pause U1 $((seq + 1)) /" "$T/jb"
restart "$T/b" "$T/jb"
rc=$?
[ "$rc" = 0 ] && grep -q 'recover: U1: left paused' "$T/err" && ! grep -q 'undone' "$T/err"
ok $? "an area of another batch than the journal's open one undoes nothing" || show "$T/err"
kill -9 "$sim"; wait "$sim" 2>/dev/null
crash "$T/c" "$T/jc" 2>/dev/null
# the 7th record cut short: its first byte not stored, as a kill between
# its bytes and its first byte leaves it (its write, made here, then stays:
# this guest is not used after)
python3 - "$T/jc.undo" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
end = b.index(0)
last = b.rindex(b"\nundo ", 0, end) + 1
b[last] = 0
open(p, "wb").write(b)
PY
restart "$T/c" "$T/jc"
rc=$?
[ "$rc" = 0 ] && grep -q 'recover: U1: a batch cut short by the crash is undone (6 write(s))' "$T/err"
ok $? "a record cut short is not one: 6 writes undone" || show "$T/err"

if command -v strace >/dev/null; then
	kill -9 "$sim"; wait "$sim" 2>/dev/null
	sim_dir_start "$T/d"
	strace -f -s 200 -e trace=write,sendto -o "$T/st" "$X" --qemu "$(sim_spec U1 "$T/d")" --qemu "$(sim_spec U2 "$T/d")" \
		--journal "$T/jd" --duration 2s policies/global_priority.lua U2/web U1/bkup >/dev/null 2>&1 </dev/null
	rc=$?
	pauses=$(grep -c 'execute\\":\\"stop' "$T/st")
	[ "$rc" = 0 ] && [ "$pauses" -ge 2 ] && ! grep -q 'write([0-9]*, "undo ' "$T/st"
	ok $? "under strace: $pauses pauses, no write(2) of an undo record (exit $rc)" || grep 'undo' "$T/st" | show
else
	echo "ok 6 # SKIP strace is not installed"
fi
