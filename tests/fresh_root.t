#!/bin/bash
# fresh_root.t - the README's first command on a fresh Debian 12 machine.
#
# Builds a clean Debian 12 root (debootstrap minbase, plus make, from the
# host's own mirror), copies a clean checkout of HEAD into it (git archive:
# no build/, nothing uncommitted), and runs `make -j2 demo` there once, as
# root, in a chroot: the packages are installed by scripts/install-deps
# inside the root and the build must follow in the same run.  -j2 is the
# harder case: the install must not race the build.
#
# The finished root is cached as a tarball in /var/cache/xds-lua (made once,
# ~30 s on a quiet machine; unpacked in a few seconds later), and so are the
# .debs that make demo downloads in it (a folder of the cache bound on the
# root's /var/cache/apt/archives: the packages are still installed from
# nothing, only not downloaded again).  proc, sys and dev are mounted
# into the root and unmounted at exit, whatever happened.  Skipped (TAP
# SKIP) only without root, without debootstrap (and no way to install it),
# or without a network path to the mirror.
set -u
cd "$(dirname "$0")/.." || exit 1
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; return "$1"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
diag() { sed 's/^/#   /' "$@"; }

SUITE=bookworm
CACHE=${XDS_CACHE:-/var/cache/xds-lua}
TIMEOUT=${XDS_FRESH_TIMEOUT:-600}   # the whole make demo, seconds

[ "$(id -u)" = 0 ] || skip_all "needs root (debootstrap and chroot)"
git rev-parse --verify -q HEAD >/dev/null || skip_all "not a git checkout: no clean HEAD to copy"
if ! command -v debootstrap >/dev/null; then
	apt-get install -y --no-install-recommends debootstrap >/dev/null 2>&1 ||
		skip_all "debootstrap is not installed and apt-get cannot install it"
fi

# The host's own mirror: the first deb822 source that carries the suite,
# else the first line of sources.list.
mirror=$(awk -v s="$SUITE" '
	/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) f = 1 }
	/^$/ { if (f && u && !m) m = u; u = ""; f = 0 }
	END { if (f && u && !m) m = u; if (m) print m }' /etc/apt/sources.list.d/*.sources 2>/dev/null)
[ -n "$mirror" ] || mirror=$(awk -v s="$SUITE" '$1 == "deb" && $3 == s { print $2; exit }' \
	/etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || skip_all "no $SUITE mirror in /etc/apt/sources.list.d/*.sources or sources.list"
hostport=${mirror#*://}; hostport=${hostport%%/*}
port=80; case $mirror in https:*) port=443 ;; esac
case $hostport in *:*) port=${hostport##*:}; hostport=${hostport%:*} ;; esac
timeout 10 bash -c "exec 3<>/dev/tcp/$hostport/$port" 2>/dev/null ||
	skip_all "no network to the mirror $mirror ($hostport:$port)"

T=$(mktemp -d /var/tmp/xds-fresh-root-XXXXXX)
R=$T/root
mounted=()
cleanup() {
	# processes left in the root by this run (make, a simulator): by pid
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && kill -9 "${p#/proc/}" 2>/dev/null
	done
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}"
	done
	# nothing may be mounted under the root when it is removed
	if grep -q " $T/" /proc/mounts; then
		echo "# fresh_root.t: still mounted under $T, left in place" >&2
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "1..4"
start=$(date +%s)

# 1. The root: from the cached tarball, else debootstrap (and cache it).
mkdir -p "$CACHE" "$R"
tarball=$CACHE/debootstrap-$SUITE-minbase-make.tar.gz
(
	flock 9
	if [ ! -s "$tarball" ]; then
		debootstrap --variant=minbase --include=make "$SUITE" "$T/new" "$mirror" \
			>"$T/debootstrap.log" 2>&1 || exit 1
		tar -C "$T/new" --numeric-owner -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball" ||
			exit 1
		rm -rf "$T/new"
	fi
) 9>"$CACHE/debootstrap.lock"
st=$?
[ $st = 0 ] && tar -C "$R" --numeric-owner -xzf "$tarball"
st=$?
ok $st "a clean Debian 12 root ($SUITE minbase + make from $mirror; cache $tarball)" ||
	{ [ -f "$T/debootstrap.log" ] && tail -20 "$T/debootstrap.log" | diag; }
t_root=$(( $(date +%s) - start ))

# 2. What a fresh machine has: its apt sources, a resolver, proc, sys, dev.
if [ $st = 0 ]; then
	cp /etc/resolv.conf "$R/etc/resolv.conf"
	rm -f "$R/etc/apt/sources.list"
	cp /etc/apt/sources.list.d/*.sources "$R/etc/apt/sources.list.d/" 2>/dev/null
	[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$R/etc/apt/"
	mkdir -p "$CACHE/fresh-root-debs/partial"
	for m in proc sys dev dev/pts var/cache/apt/archives; do
		case $m in
		var/cache/apt/archives) mount --bind "$CACHE/fresh-root-debs" "$R/$m" ;;
		proc) mount -t proc proc "$R/proc" ;;
		sys) mount -t sysfs sys "$R/sys" ;;
		dev) mount --bind /dev "$R/dev" ;;
		dev/pts) mount -t devpts devpts "$R/dev/pts" ;;
		esac && mounted+=("$R/$m") || st=1
	done
	mkdir -p "$R/src" && git archive HEAD | tar -C "$R/src" -xf - || st=1
	[ -e "$R/src/build" ] && st=1
fi
ok $st "proc, sys, dev and the .deb cache mounted; a clean checkout of HEAD ($(git rev-parse --short HEAD)) in /src"

# 3. The README's command, once, from nothing.
if [ $st = 0 ]; then
	t0=$(date +%s)
	timeout "$TIMEOUT" chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root TERM=dumb LANG=C.UTF-8 /bin/sh -c 'cd /src && make -j2 demo' \
		>"$T/demo.log" 2>&1
	st=$?
	t_demo=$(( $(date +%s) - t0 ))
	ok $st "make -j2 demo succeeds in one run in the fresh root (${t_demo} s, exit $st)" ||
		tail -25 "$T/demo.log" | diag
else
	ok 1 "make -j2 demo: no root to run it in"
fi

# 4. It installed the packages, built, and showed the demo to its end.
grep -q '^install-deps: installing:' "$T/demo.log" &&
	[ -x "$R/src/build/xds-lua" ] && [ -x "$R/src/build/xds-sim" ] &&
	grep -q '^== Side by side' "$T/demo.log" && grep -q '^violations' "$T/demo.log"
ok $? "install-deps ran inside the run, build/xds-lua and build/xds-sim were built, the demo printed its table" ||
	{ grep -c . "$T/demo.log" | sed 's/^/lines of output: /' | diag; }
echo "# fresh_root.t: root ${t_root} s, make demo ${t_demo:-?} s, total $(( $(date +%s) - start )) s"
