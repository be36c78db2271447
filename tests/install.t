#!/bin/bash
# install.t - make install and make uninstall, into a DESTDIR tree.
#
# `make install DESTDIR=$T/root PREFIX=/usr`, then with only that tree's
# bin on PATH (and its man pages on MANPATH): man renders xds-lua without a
# warning; `xds-lua global_priority.lua --sim ...` finds and runs the
# installed policy and the installed xds-sim from another folder; -l policy
# loads the installed helpers; systemd-analyze verify accepts the installed
# unit (its paths moved into the tree); the config and profile folders are
# there; `make uninstall` with the same variables leaves no file behind.
set -u
. "$(dirname "$0")/tap.sh" install sim
R=$T/root
echo "1..9"

make -s install DESTDIR="$R" PREFIX=/usr B="$B" >"$T/inst.log" 2>&1
ok $? "make install DESTDIR=\$T/root PREFIX=/usr" || show "$T/inst.log"
unit=$(find "$R" -name xds-lua.service | head -1)
[ -x "$R/usr/bin/xds-lua" ] && [ -x "$R/usr/bin/xds-sim" ] &&
	[ -f "$R/usr/share/xds-lua/policies/global_priority.lua" ] &&
	[ -f "$R/usr/share/xds-lua/policies/lib/policy.lua" ] &&
	[ -f "$R/usr/share/man/man5/xds-lua-policy.5" ] && [ -n "$unit" ] &&
	[ -f "$R/etc/xds-lua/xds-lua.conf" ] && [ -d "$R/etc/xds/profiles" ]
ok $? "binaries, policies, policies/lib, man pages, the unit (${unit#$R}), the config and /etc/xds/profiles are installed"

# Only the tree: no build/ on PATH, run from a folder with no policies.
P="$R/usr/bin:/usr/bin:/bin"
cd "$T" || exit 1
env -i PATH="$P" MANPATH="$R/usr/share/man" MANWIDTH=80 HOME="$T" man xds-lua >"$T/man.out" 2>"$T/man.err"
grep -q '^SYNOPSIS' "$T/man.out" && grep -q -- '--recover' "$T/man.out" && [ ! -s "$T/man.err" ]
ok $? "man xds-lua renders from the tree's MANPATH, without warnings" || show "$T/man.err"

# (options come before the script, as with lua(1): after it they are its own)
env -i PATH="$P" HOME="$T" timeout 60 xds-lua --sim "$R/usr/share/xds-lua/scenarios/paper.lua" \
	--duration 1s --report "$T/r.json" global_priority.lua U1/db U2/web 'U1/bkup*' \
	>"$T/run.out" 2>"$T/run.err" &&
	grep -q '"policy": *"global_priority"' "$T/r.json" && grep -q '^U1 .* bkup' "$T/run.out"
ok $? "xds-lua global_priority.lua --sim ... runs the installed policy and xds-sim from anywhere" ||
	show "$T/run.err"

env -i PATH="$P" HOME="$T" timeout 60 xds-lua -l policy -e 'assert(type(policy.strict_priority) == "function")
	print(package.searchpath("policy", package.path))' >"$T/l.out" 2>&1 &&
	grep -q "^$R/usr/share/xds-lua/policies/lib/policy.lua$" "$T/l.out"
ok $? "-l policy loads the installed policies/lib/policy.lua" || show "$T/l.out"
cd - >/dev/null || exit 1

# systemd-analyze verify checks that the unit's programs exist: the
# installed unit with its paths moved into the tree, under the same name.
if ! command -v systemd-analyze >/dev/null; then
	if apt-get -s install systemd 2>/dev/null | grep -q '^Inst systemd .*\['; then
		sa_skip="installing systemd would upgrade the host's systemd"
	elif ! apt-get install -y --no-install-recommends systemd >/dev/null 2>&1; then
		sa_skip="systemd-analyze is missing and systemd cannot be installed"
	fi
fi
if [ -n "${sa_skip:-}" ]; then
	echo "ok 6 # SKIP $sa_skip"
else
	mkdir -p "$T/unit"
	sed -e "s|/usr/bin/|$R/usr/bin/|g" -e "s|/etc/xds-lua/|$R/etc/xds-lua/|g" "$unit" \
		>"$T/unit/xds-lua.service"
	MANPATH="$R/usr/share/man" systemd-analyze verify "$T/unit/xds-lua.service" >"$T/sa.out" 2>&1 &&
		[ ! -s "$T/sa.out" ] && grep -q '^Restart=on-failure' "$unit" &&
		grep -q '^ExecStartPre=/usr/bin/xds-lua --recover' "$unit" &&
		grep -q '^EnvironmentFile=/etc/xds-lua/xds-lua.conf' "$unit"
	ok $? "systemd-analyze verify accepts the unit (Restart=on-failure, recovery before start, the config)" ||
		show "$T/sa.out"
fi

# The unit's command line, as systemd would expand it from the config: the
# installed xds-lua accepts it (a 1 s simulated run in place of a host).
(
	set -a
	. "$R/etc/xds-lua/xds-lua.conf"
	set +a
	cd "$T" && env PATH="$P" timeout 60 xds-lua --journal "$T/journal" --profile-dir "$XDS_PROFILE_DIR" \
		--tick "$XDS_TICK" --sim "$R/usr/share/xds-lua/scenarios/paper.lua" --duration 1s \
		"$XDS_POLICY" $(echo "$XDS_POLICY_ARGS" | tr 'u' 'U') >"$T/conf.out" 2>&1
)
ok $? "the config's policy, arguments, tick and profile folder make a valid command line" ||
	show "$T/conf.out"

make -s uninstall DESTDIR="$R" PREFIX=/usr B="$B" >"$T/uninst.log" 2>&1
ok $? "make uninstall" || show "$T/uninst.log"
left=$(find "$R" ! -type d)
[ -z "$left" ]
ok $? "no file is left in the tree after make uninstall" || echo "$left" | show
