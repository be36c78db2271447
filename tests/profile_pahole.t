#!/bin/bash
# profile_pahole.t - every field offset and struct size a profile records
# must equal what pahole prints for the same binary.  The binary is
# ${XDS_BUILD:-build}/xds-sim; until that exists, an object compiled from
# tests/unit/data/profile_kernel.c (sim/kernel.h's types).  XDS_VMLINUX=path
# (and XDS_SYSTEM_MAP) checks a real kernel too.  Emits TAP.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
T=$(mktemp -d /tmp/xds-pahole-XXXXXX)
trap 'rm -rf "$T"' EXIT
n=0

ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

if ! command -v pahole >/dev/null; then
	echo "1..0 # SKIP pahole is not installed"
	exit 0
fi

# The profile builder: xds-lua if it has the profile command, else a
# driver of our own over libxds.a (or the sources).
if [ -x "$B/xds-lua" ] && "$B/xds-lua" profile 2>&1 | grep -q 'profile build'; then
	PROFILE="$B/xds-lua"
else
	if [ -f "$B/libxds.a" ] && [ -z "$(find runtime/profile runtime/util -newer "$B/libxds.a")" ]; then
		src="bench/profile_driver.c $B/libxds.a"
	else
		src="bench/profile_driver.c runtime/profile/*.c runtime/util/err.c"
	fi
	# shellcheck disable=SC2086
	cc -std=c11 -D_GNU_SOURCE -O1 -I. -Iruntime -I/usr/include/libdwarf \
		$src -o "$T/xds-lua" $(pkg-config --libs lua5.4 2>/dev/null) \
		-ldwarf -lelf -lz -lm || { echo "1..0 # SKIP cannot build a profile driver"; exit 0; }
	PROFILE="$T/xds-lua"
fi

# member STRUCT MEMBER FILE -> "offset size type" from pahole's output
member() {
	awk -v s="$1" -v m="$2" '
		$0 ~ "^(struct|union) " s " \\{" { inside = 1; depth = 0 }
		inside && /\{/ { depth += gsub(/\{/, "{") }
		inside && /\}/ { depth -= gsub(/\}/, "}"); if (depth <= 0) inside = 0 }
		inside && /;[ \t]*\/\*/ {
			decl = $0; sub(/;.*/, "", decl); sub(/ __attribute__.*/, "", decl)
			name = decl; sub(/.*[ *]/, "", name); sub(/\[.*/, "", name)
			if (name != m) next
			c = $0; sub(/.*\/\*[ \t]*/, "", c); split(c, f, /[ \t]+/)
			type = decl; sub(/^[ \t]*(struct|union)?[ \t]*/, "", type)
			sub(/[ \t].*/, "", type)
			print f[1], f[2], type; exit
		}' "$3"
}

# size STRUCT FILE -> the struct's size from pahole's summary line
size_of() {
	awk -v s="$1" '$0 ~ "^(struct|union) " s " \\{" { inside = 1 }
		inside && /\/\* size: / { sub(/.*size: /, ""); sub(/,.*/, ""); print; exit }' "$2"
}

# check LABEL ELF [MAP]: build a profile and compare it with pahole
check() {
	local label=$1 elf=$2 map=${3:-} prof="$T/$1.prof" pa="$T/$1.pahole"
	local args=(profile build --vmlinux "$elf" -o "$prof")
	[ -n "$map" ] && args+=(--system-map "$map")
	"$PROFILE" "${args[@]}" >/dev/null 2>"$T/err"
	ok $? "$label: profile build ($(head -c 200 "$T/err"))"
	[ -s "$prof" ] || return
	local structs
	structs=$(awk '$1 == "struct" && $3 != "-" { printf "%s%s", sep, $2; sep = "," }' "$prof")
	pahole -C "$structs" "$elf" >"$pa" 2>/dev/null
	local bad=0 count=0
	while read -r _ name size; do
		[ "$size" = "-" ] && continue
		count=$((count + 1))
		want=$(size_of "$name" "$pa")
		if [ "$want" != "$size" ]; then
			echo "# struct $name: profile size $size, pahole $want"; bad=1
		fi
	done < <(grep '^struct ' "$prof")
	ok $bad "$label: $count struct sizes agree with pahole"
	bad=0 count=0
	while read -r _ path off size; do
		[ "$off" = "-" ] && continue
		count=$((count + 1))
		local s=${path%%.*} rest=${path#*.} total=0 msize=0 type
		while :; do
			local m=${rest%%.*}
			if [ ! -s "$T/$label.$s.pa" ]; then pahole -C "$s" "$elf" >"$T/$label.$s.pa" 2>/dev/null; fi
			read -r moff msize type < <(member "$s" "$m" "$T/$label.$s.pa")
			if [ -z "${moff:-}" ]; then total=missing; break; fi
			total=$((total + moff))
			[ "$rest" = "$m" ] && break
			rest=${rest#*.}; s=$type
		done
		if [ "$total" != "$off" ] || [ "$msize" != "$size" ]; then
			echo "# $path: profile $off+$size, pahole $total+$msize"; bad=1
		fi
	done < <(grep '^field ' "$prof")
	ok $bad "$label: $count field offsets and sizes agree with pahole"
}

if [ -x "$B/xds-sim" ]; then
	# its symbols are guest addresses the simulator writes to a map at
	# run time; offsets are all this test compares
	for s in init_task runqueues __per_cpu_offset nr_cpu_ids linux_banner; do
		echo "ffffffff81000000 D $s"
	done >"$T/System.map"
	check xds-sim "$B/xds-sim" "$T/System.map"
else
	echo "# $B/xds-sim not built yet: checking an object of sim/kernel.h"
	cc -g -c -I. tests/unit/data/profile_kernel.c -o "$T/profile_kernel.o"
	check sim-object "$T/profile_kernel.o"
fi
if [ -n "${XDS_VMLINUX:-}" ]; then
	check vmlinux "$XDS_VMLINUX" "${XDS_SYSTEM_MAP:-}"
fi
echo "1..$n"
