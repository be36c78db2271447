#!/bin/bash
# profile_kernels.t - every kernel Debian ships, from its image package
# alone: for bullseye 5.10, bookworm 6.1 (generic, cloud, rt), trixie 6.12
# and sid 7.2 (scripts/kernel-debug --suite --flavour, fetched once into
# the cache through a second apt configuration):
#   - `profile build --vmlinuz` (BTF + kallsyms; xz, lz4 and zstd payloads)
#     equals the profile from that kernel's debug package (DWARF +
#     System.map) on every struct, field and sym line;
#   - the family is the one the kernel has: cfs before 6.6, eevdf after;
#   - per-CPU symbols are offsets into the per-CPU area up to 6.14 and
#     ordinary kernel addresses from 6.15, and the preempt count is
#     __preempt_count, or pcpu_hot.preempt_count on 6.2-6.14 (KERNELS.md).
# A kernel that cannot be fetched (no network, nothing cached) is skipped
# with the reason.  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" pkern

body() { grep -E '^(struct|field|sym|banner) ' "$1" | sort; }
# show FILE KEY: the value of "KEY ..." in `profile show`
show() { "$X" profile show "$1" | awk -v k="$2" '$1 " " $2 == k { print $3 ($4 != "" ? " " $4 : ""); exit }'; }
skip() { ok 0 "# SKIP $*"; }

for sf in bullseye:generic bookworm:generic bookworm:cloud bookworm:rt trixie:generic sid:generic; do
	suite=${sf%%:*} flavour=${sf#*:}
	if ! kd=$(scripts/kernel-debug --suite "$suite" --flavour "$flavour" --image 2>"$T/kd.err"); then
		for _ in 1 2 3 4; do skip "$suite $flavour: $(tail -1 "$T/kd.err")"; done
		continue
	fi
	eval "$kd"
	k="$suite $flavour ($ver)"
	"$X" profile build --vmlinux "$vmlinux" --system-map "$sysmap" -o "$T/d.p" >/dev/null 2>"$T/err" &&
		"$X" profile build --vmlinuz "$vmlinuz" -o "$T/z.p" >/dev/null 2>>"$T/err" &&
		lines=$(body "$T/d.p" | wc -l) && diff <(body "$T/d.p") <(body "$T/z.p") >"$T/diff"
	ok $? "$k: the image package's profile equals the debug package's on all ${lines:-?} lines$(head -c 300 "$T/err"; head -4 "$T/diff" | tr '\n' ' ')"

	mm=$(echo "$ver" | sed -n 's/^\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	set -- $mm
	v=$(( ${1:-0} * 100 + ${2:-0} ))
	want=cfs; [ "$v" -ge 606 ] && want=eevdf
	fam=$("$X" profile show "$T/z.p" | awk '$1 == "family" { print $2 }')
	[ "$fam" = "$want" ]
	ok $? "$k: the $want family (profile says ${fam:-nothing})"

	rq=$(show "$T/z.p" "sym runqueues" | cut -d' ' -f1)
	if [ "$v" -ge 615 ]; then
		[[ $rq == 0xffffffff* ]]
		ok $? "$k: per-CPU runqueues is an ordinary kernel address ($rq)"
	else
		[[ $rq == 0x00000000* ]]
		ok $? "$k: per-CPU runqueues is an offset into the per-CPU area ($rq)"
	fi

	pc=$(show "$T/z.p" "sym __preempt_count" | cut -d' ' -f1)
	hot=$(show "$T/z.p" "field pcpu_hot.preempt_count")
	if [ "$v" -ge 602 ] && [ "$v" -le 614 ]; then
		[ "$pc" = - ] && [ "$hot" = "8 4" ]
		ok $? "$k: the preempt count is pcpu_hot.preempt_count ($hot), no __preempt_count"
	else
		[ -n "$pc" ] && [ "$pc" != - ] && [ "${hot:--}" = - ]
		ok $? "$k: the preempt count is __preempt_count ($pc)"
	fi
done
echo "1..$n"
