#!/bin/bash
# profile_vs_pahole.sh - time `xds-lua profile build` against
# `pahole -C <the same structs>` on Debian 12's current 6.1 vmlinux.
#
# scripts/kernel-debug fetches linux-image-<ver>-amd64-dbg once into
# ${XDS_CACHE:-/var/cache/xds-lua} and keeps only vmlinux and System.map;
# this prints both times (best of 3) and the ratio, and the profile's key
# offsets next to pahole's.  Prints a skip message and exits 0 when there
# is no network or no pahole.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
skip() { echo "profile_vs_pahole: SKIP: $*"; exit 0; }

command -v pahole >/dev/null || skip "pahole is not installed"
# the cached vmlinux and System.map, fetched once (scripts/kernel-debug)
kd=$(scripts/kernel-debug) || skip "no kernel debug files (no network?)"
eval "$kd"

if [ -x "$B/xds-lua" ] && "$B/xds-lua" profile 2>&1 | grep -q 'profile build'; then
	xds=$B/xds-lua
else
	xds=$(mktemp /tmp/xds-profile-driver-XXXXXX)
	cc -std=c11 -D_GNU_SOURCE -O2 -I. -Iruntime -I/usr/include/libdwarf \
		bench/profile_driver.c runtime/profile/*.c runtime/util/err.c \
		-o "$xds" -ldwarf -lelf -lz -lm || { echo "cannot build the driver"; exit 1; }
fi
prof=$(mktemp /tmp/xds-bench-profile-XXXXXX)
trap 'rm -f "${xds#$B/xds-lua}" "$prof" "$prof.pahole"' EXIT
structs=$(sed -n 's/^PROFILE_STRUCT([A-Z_]*, *"\([a-z_]*\)".*/\1/p' \
	  runtime/profile/fields.def | paste -sd,)

now() { date +%s.%N; }
# best of three wall-clock times of a command, in seconds
best() {
	local best=
	for _ in 1 2 3; do
		local t0 t1
		t0=$(now); "$@" >/dev/null 2>&1 || return 1; t1=$(now)
		best=$(echo "$t0 $t1 ${best:-}" |
		       awk '{ d = $2 - $1; if ($3 == "" || d < $3) d = d; else d = $3; print d }')
	done
	echo "$best"
}

cat "$vmlinux" >/dev/null      # same warm page cache for both
t_pahole=$(best pahole -C "$structs" "$vmlinux") || { echo "pahole failed"; exit 1; }
t_xds=$(best "$xds" profile build --vmlinux "$vmlinux" --system-map "$sysmap" -o "$prof") ||
	{ "$xds" profile build --vmlinux "$vmlinux" --system-map "$sysmap" -o "$prof"; exit 1; }

echo "kernel:  $(sed -n 's/^banner //p' "$prof")"
echo "structs: $structs"
printf 'pahole -C:            %.3f s\n' "$t_pahole"
printf 'xds-lua profile build: %.3f s\n' "$t_xds"
awk -v a="$t_pahole" -v b="$t_xds" 'BEGIN { printf "ratio pahole/xds-lua: %.1fx\n", a / b }'

pahole -C task_struct,rq "$vmlinux" >"$prof.pahole"
for f in task_struct.__state task_struct.se task_struct.tasks task_struct.pid \
	 task_struct.comm rq.cfs; do
	s=${f%%.*} m=${f#*.}
	mine=$(awk -v f="$f" '$1 == "field" && $2 == f { print $3 }' "$prof")
	theirs=$(awk -v s="$s" -v m="$m" '
		$0 ~ "^struct " s " \\{" { inside = 1 } inside && /^\}/ { inside = 0 }
		inside && /;[ \t]*\/\*/ { d = $0; sub(/;.*/, "", d); sub(/ __attribute__.*/, "", d)
			n = d; sub(/.*[ *]/, "", n); sub(/\[.*/, "", n)
			if (n == m) { sub(/.*\/\*[ \t]*/, ""); print $1; exit } }' "$prof.pahole")
	printf '%-22s profile %-6s pahole %-6s %s\n' "$f" "$mine" "$theirs" \
		"$([ "$mine" = "$theirs" ] && echo agree || echo DIFFER)"
done
echo "runqueues: $(awk '$1 == "sym" && $2 == "runqueues" { print $3 }' "$prof")" \
     "System.map: $(awk '$3 == "runqueues" { print $1 }' "$sysmap")"
rm -f "$prof.pahole"
