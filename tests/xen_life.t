#!/bin/bash
# xen_life.t - on the nested Xen host (scripts/xen-host), xds keeps up with
# domains that are paused by someone else, destroyed and created while it
# runs (scripts/xen/scenario-life.sh: pv1 and pv2 up; xl pause pv2, xl
# unpause pv2, xl destroy pv2, xl create pv3; the xen_ps driver rescans
# and snapshots every 0.5 s meanwhile).  xds must see pv2 as paused by
# someone else and neither resume it nor undo that pause with its own
# pause/resume pair; drop pv2 once destroyed (and release its memory, so
# no zombie domain is left); attach pv3 on a later tick; and read pv1 on
# every tick throughout.  Skips when the packages cannot be fetched or
# XDS_SKIP_XEN is set; XDS_XEN_DIR keeps the run's files.  Emits TAP.
set -u
cd "$(dirname "$0")/.." || exit 1
if [ -n "${XDS_SKIP_XEN:-}" ]; then
	echo "1..0 # SKIP XDS_SKIP_XEN is set"
	exit 0
fi
T=${XDS_XEN_DIR:-$(mktemp -d /tmp/xds-xen-life-XXXXXX)}
[ -n "${XDS_XEN_DIR:-}" ] || trap 'rm -rf "$T"' EXIT
mkdir -p "$T" || exit 1
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

scripts/xen-host run scenario-life.sh --guests "pv1:pv pv2:pv" --dir "$T" --timeout 400 \
	>"$T/xen-host.out" 2>&1
rc=$?
if [ $rc = 77 ]; then
	echo "1..0 # SKIP $(grep -o 'SKIP: .*' "$T/xen-host.out" | head -1)"
	exit 0
fi
log=$T/serial.txt
tr -d '\r' < "$T/serial.log" > "$log"
sed 's/^/# /' "$T/xen-host.out"
ok $rc "the nested host ran the scenario to its end (status $rc)"
section() {
	awk -v t="$1" '$0 == "=== " t " BEGIN" { on = 1; next }
		on && index($0, "=== " t " END") == 1 { exit } on' "$log"
}
section WATCH > "$T/watch"
grep '^EVENT' "$log" | sed 's/^/# /'
ticks=$(grep -c '^TICK [0-9]* .*guests' "$T/watch")
echo "# $ticks ticks"
grep -v '^TICK' "$T/watch" | sed 's/^/# /'

first=$(grep -m1 '^TICK [0-9]* .*guests' "$T/watch")
echo "# $first"
echo "$first" | grep -Eq ' pv1:[0-9]{2,}( |$)' && echo "$first" | grep -Eq ' pv2:[0-9]{2,}( |$)'
ok $? "pv1 and pv2 are attached and read on the first tick"

grep -q ' pv2:[0-9]*:paused-by-others' "$T/watch"
ok $? "pv2 is seen paused by someone else after xl pause"

grep -q '^PAUSE-CHECK pv2 resume-refused=1 pair-ok=1 still-paused=1$' "$T/watch"
ok $? "xds refuses to resume pv2 and its own pause/resume pair leaves it paused"

grep -q 'xen: dom [0-9]* (pv2) is gone: dropped' "$T/watch"
ok $? "pv2 is dropped once destroyed"
last=$(grep '^TICK [0-9]* .*guests' "$T/watch" | tail -1)
echo "# $last"
! echo "$last" | grep -q ' pv2:'
ok $? "pv2 is not a guest any more at the end"

grep -q 'xen: dom [0-9]* (pv3) attached' "$T/watch" &&
	echo "$last" | grep -Eq ' pv3:[0-9]{2,}( |$)'
ok $? "pv3, created later, is attached and read on a later tick"

bad=$(grep '^TICK [0-9]* .*guests' "$T/watch" | grep -Ev ' pv1:[0-9]{2,}( |$)' | head -3)
errs=$(grep '^TICK [0-9]* error pv1' "$T/watch" | head -3)
[ "$ticks" -gt 20 ] && [ -z "$bad" ] && [ -z "$errs" ]
ok $? "pv1 is read on every one of $ticks ticks, without error"
[ -z "$bad$errs" ] || echo "$bad$errs" | sed 's/^/#   /'

xl=$(section XL-LIST)
echo "$xl" | sed 's/^/# /'
! echo "$xl" | grep -Eq '^pv2 |^\(null\)'
ok $? "no trace of pv2 is left in xl list (its memory was released)"
echo "1..$n"
