#!/bin/bash
# cli_valgrind.t - the CLI's error paths under valgrind's memcheck (issue
# 14, point 15): every error sets its message before anyone reads it, so
# no message carries uninitialised bytes and no error path touches memory
# it should not.  Each command must fail with a message on stderr and
# without a memcheck error (--error-exitcode=99).  Includes the thaw of
# tasks a journal lists at addresses the guest does not hold (the path
# that printed an error never set), on a simulator started on its own.
# Skipped when valgrind is not installed.  Emits TAP.
set -u
. "$(dirname "$0")/tap.sh" valgrind sim
need valgrind
own_sim
S1=$(sim_spec U1)
export XDG_CACHE_HOME="$T/cache" XDG_STATE_HOME="$T/state"

printf 'guest U1 %s\nfreeze U1 0xdead 321 x\nfreeze U1 0xffff888000000008 320 bkup\nfreeze U1 0xffffffffffffffff 322 y\n' \
	"$S1" >"$T/j-bad-tasks"
printf 'guest U1 %s\nwhat is this\n' "$S1" >"$T/j-corrupt"
printf 'guest U9 U9:ram=%s/none.ram,qmp=%s/none.qmp\nfreeze U9 0xffff888000000008 5 z\n' "$T" "$T" >"$T/j-no-guest"
printf 'return { tick = function() error("boom") end }\n' >"$T/fails.lua"
printf 'return { tick = function( }\n' >"$T/syntax.lua"
printf 'not a profile\n' >"$T/bad.profile"

# vg NAME ARGS...: xds-lua ARGS under memcheck; fails (status 1..98), says why.
# vg_said NAME ARGS...: the same for a path that ends well (status 0) but
# says something (an entry dropped with a message).
vg() { vg_ "fails" "$@"; }
vg_said() { vg_ "ends well" "$@"; }
vg_() {
	local want=$1 name=$2
	shift 2
	valgrind -q --error-exitcode=99 --log-file="$T/vg.log" "$X" "$@" >"$T/out" 2>"$T/err" </dev/null
	local rc=$? good
	if [ "$want" = fails ]; then
		[ "$rc" -ne 0 ] && [ "$rc" -ne 99 ]; good=$?
	else
		[ "$rc" -eq 0 ]; good=$?
	fi
	if [ "$good" = 0 ] && [ -s "$T/err" ] && [ ! -s "$T/vg.log" ]; then
		ok 0 "$name: exit $rc, $(head -c 160 "$T/err" | tr '\n' ' ')"
	else
		ok 1 "$name: exit $rc"
		show "$T/err" "$T/vg.log"
	fi
}

vg "an unknown option" --frobnicate
vg "a bad --tick" --tick 0 -e ''
vg "a bad --duration" --duration 5parsecs -e ''
vg "a scenario that does not exist" --sim "$T/none.lua" -e ''
vg "a --qemu guest whose files do not exist" --qemu "U1:ram=$T/none.ram,qmp=$T/none.qmp" -e ''
vg "a --qemu guest with a vmlinux that is not one" --qemu "U1:ram=$D/U1.ram,qmp=$D/U1.qmp,vmlinux=/bin/true,sysmap=$D/U1.System.map" -e ''
vg "a --qemu guest with a profile that is not one" --qemu "U1:ram=$D/U1.ram,qmp=$D/U1.qmp,profile=$T/bad.profile" -e ''
vg "--recover: tasks at addresses the guest does not hold" --recover --journal "$T/j-bad-tasks"
vg "--recover: a corrupt journal" --recover --journal "$T/j-corrupt"
vg_said "--recover: a journal whose guest is gone (dropped with a message)" --recover --journal "$T/j-no-guest"
vg "a policy with a syntax error" --qemu "$S1" "$T/syntax.lua"
vg "a policy whose tick fails" --qemu "$S1" --duration 50ms "$T/fails.lua"
vg "--trace into a folder that does not exist" --trace "$T/no/dir/trace" -e ''
vg "profile show of a file that is not a profile" profile show "$T/bad.profile"

echo "1..$n"
