# test-lib.sh - what the nested-Xen tests (tests/xen_*.t) share; source it
# after `set -u` from the repository's root.  Gives TAP (ok, diag, plan at
# exit), a private folder $T removed at exit, the shared nested runs, and
# readers of their serial logs.
#
#   xen_run NAME SCENARIO GUESTS   the nested run NAME (scripts/xen-host
#                                  shared): sets $dir and $log, prints the
#                                  host script's lines as diag; skips the
#                                  whole test (TAP SKIP) when XDS_SKIP_XEN
#                                  is set, xds-lua is not built or the
#                                  packages cannot be fetched
#   section TITLE                  the log's lines between "=== TITLE BEGIN"
#                                  and its END
#   ticks GUEST COMM SEQ           COMM's CPU ticks in GUEST's listing SEQ
#                                  (the first listing at or after SEQ that
#                                  shows it), empty if none
#   gain GUEST COMM S0 S1          ticks gained from listing S0 to S1
#   seq_of LINE GUEST              GUEST's SEQ in a "... g=SEQ ..." line
#   klog_clean GUEST               no WARN, BUG, Oops or psi warning
B=${XDS_BUILD:-build}
n=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
	return "$1"
}
diag() { echo "# $*" >&2; }  # on stderr: prove shows it in any run
T=$(mktemp -d /tmp/xds-xen-test-XXXXXX)
planned=
skip_all() { echo "1..0 # SKIP $*"; planned=1; exit 0; }
trap 'rm -rf "$T"; [ -n "$planned" ] || echo "1..$n"' EXIT

[ -z "${XDS_SKIP_XEN:-}" ] || skip_all "XDS_SKIP_XEN is set"
[ -x "$B/xds-lua" ] || skip_all "$B/xds-lua is not built"

xen_run() {
	local rc
	dir=$(scripts/xen-host shared "$1" "$2" --guests "$3" --period 1 --timeout 500 2>&1 | tail -1)
	[ -d "$dir" ] || skip_all "xen-host: $dir"
	rc=$(cat "$dir/status" 2>/dev/null || echo 77)
	[ "$rc" != 77 ] || skip_all "$(grep -o 'SKIP: .*' "$dir/xen-host.out" | head -1)"
	log=$dir/serial.txt
	sed 's/^/# /' "$dir/xen-host.out"
	ok "$rc" "the nested host ran $2 ($3) to its end (status $rc, $dir)" ||
		tail -30 "$log" | sed 's/^/#   /'
	grep '^XEN-TIME' "$log" | sed 's/^/# /'
}

section() {
	awk -v t="$1" '$0 == "=== " t " BEGIN" { on = 1; next }
		on && index($0, "=== " t " END") == 1 { exit } on' "$log"
}

ticks() {
	awk -v g="$1" -v c="$2" -v s="$3" '$1 == "TRK" && $2 == g && $5 == c && $3 >= s {
		print $6; exit }' "$log"
}

gain() {
	local a b
	a=$(ticks "$1" "$2" "$3")
	b=$(ticks "$1" "$2" "$4")
	[ -n "$a" ] && [ -n "$b" ] && echo $((b - a))
}

seq_of() {
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

klog_clean() {
	local k
	k=$(section "KLOG $1")
	[ -z "$k" ] || echo "$k" | head -10 | sed 's/^/#   /'
	[ -z "$k" ]
}
