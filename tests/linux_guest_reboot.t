#!/bin/bash
# linux_guest_reboot.t - a journal that outlives its guest's boot (issue 14,
# point 7), on the real Debian 6.1 guest under QEMU: xds-lua is killed (-9)
# while it holds busy1 frozen, the guest is booted again on the same RAM
# file and QMP socket, and the next start on that journal drops the old
# boot's entry with one line, thaws nothing, writes nothing, and starts.
# Twice: with KASLR (the slide tells the boots apart) and without (the
# task_struct's pid and start time do).  Skips (never fails) without qemu,
# a built xds-lua or the kernel files.  Emits TAP.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
T=$(mktemp -d /tmp/xds-lgreboot-XXXXXX)
export XDS_GUEST_DIR=$T/guests XDG_CACHE_HOME=$T/cache XDG_STATE_HOME=$T/state
running=
. tests/linux_guest_lib.sh
cleanup() { [ -n "$running" ] && $G stop "$running"; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

linux_guest_ready
echo "1..8"

# holds NAME/busy1 frozen, every tick
cat >"$T/hold.lua" <<'LUA'
local spec = assert(arg[1], "give the task spec")
return { name = "hold", tick = function()
	for _, t in ipairs(xds.tasks(spec)) do t:freeze() end
end }
LUA
printf 'return { name = "nothing", tick = function() end }\n' >"$T/nothing.lua"
show() { sed "s/^/#   /" "$@" | head -20; }

boot() {        # boot NAME OPTIONS...: the spec in $spec
	spec=$($G start "$1" --vcpus 1 --watch $$ --lifetime 600 --timeout 120 "${@:2}" 2>"$T/start.err") ||
		{ diag "boot of $1 failed: $(tail -3 "$T/start.err")"; return 1; }
	running=$1
}

# one round: boot, hold busy1, kill -9, boot again, start on the journal
round() {
	local name=$1 how=$2 opt=$3 J=$T/journal-$1
	boot "$name" "$opt"
	ok $? "the $how guest boots" || return
	"$B/xds-lua" --qemu "$spec" --journal "$J" --trace "$T/trace-$name" --duration 120s "$T/hold.lua" "$name/busy1" \
		>"$T/hold.out" 2>"$T/hold.err" </dev/null &
	local xl=$! i
	for ((i = 0; i < 600; i++)); do
		grep -q ' freeze [^ ]*/busy1\[[0-9]*\] frozen' "$T/trace-$name" 2>/dev/null && break
		kill -0 "$xl" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$xl"; wait "$xl" 2>/dev/null
	local line; line=$(grep '^freeze ' "$J" | head -1)
	[ -n "$line" ] && grep -q ' frozen' "$T/trace-$name"
	ok $? "xds-lua killed (-9) holding busy1 frozen ($line)" || { show "$T/hold.err"; return; }
	$G stop "$name"; running=
	boot "$name" "$opt" || { ok 1 "the $how guest boots again"; return; }
	"$B/xds-lua" --qemu "$spec" --journal "$J" --duration 1s "$T/nothing.lua" >"$T/next.out" 2>"$T/next.err" </dev/null
	local rc=$? said
	said=$(grep -cE 'recover: .*(booted again|runs another kernel|is gone \(task_struct)' "$T/next.err")
	diag "$how: $(grep 'recover: ' "$T/next.err" | head -1)"
	[ "$rc" = 0 ] && [ "$said" = 1 ] && ! grep -Eq 'recover: thawed|undone|resuming|could not' "$T/next.err" &&
		[ ! -s "$J" ]
	ok $? "$how guest booted again: the old boot's entry is dropped with one line, nothing thawed, the start goes on (exit $rc)" ||
		show "$T/next.err" "$J"
	local seq; seq=$($G seq "$name")
	$G wait "$name" $((seq + 2)) 60 >/dev/null && [ -z "$($G klog "$name")" ]
	ok $? "$how guest: it goes on reporting, its kernel log has no WARN, BUG, Oops" || $G klog "$name" | head -5 | sed 's/^/# /'
	$G stop "$name"; running=
}

round rbk-$$ "KASLR" --kaslr
round rbn-$$ "no-KASLR" --nokaslr
