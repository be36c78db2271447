#!/bin/bash
# profile_sources.sh - how long each profile source takes to build on the
# cached Debian kernel: the image package's bzImage (BTF + kallsyms, xz
# payload through liblzma), the vmlinux inside it, and the debug package's
# DWARF vmlinux + System.map; then a cached load (profile show).  Prints
# figures; asserts nothing (tests/profile_btf.t checks the profiles agree).
# Then, unless XDS_BENCH_NO_GUEST=1, boots a real guest (scripts/linux-guest,
# 2 vCPUs, KASLR) and times `--qemu NAME:ram=...,qmp=... -e 'ps()'` with no
# profile: the first attach (profile built from the guest's memory) and
# the cached one (profile loaded by build id), each with its ps.
set -u
cd "$(dirname "$0")/.." || exit 1
X=${XDS_BUILD:-build}/xds-lua
B=$X
kd=$(scripts/kernel-debug --image) || { echo "no cached kernel files"; exit 1; }
eval "$kd"
T=$(mktemp -d /tmp/xds-bps-XXXXXX)
name=
trap '[ -n "$name" ] && scripts/linux-guest stop "$name"; rm -rf "$T"' EXIT
t() { local t0; t0=$(date +%s.%N); "$@" >/dev/null || echo "failed: $*"; awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f s", b - a }'; }
echo "vmlinuz ($(du -h "$vmlinuz" | cut -f1), BTF + kallsyms): $(t "$X" profile build --vmlinuz "$vmlinuz" -o "$T/z.p")"
xz -dc < <(python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(); s=((b[0x1f1] or 4)+1)*512+struct.unpack_from("<I",b,0x248)[0]; sys.stdout.buffer.write(b[s:])' "$vmlinuz") >"$T/vmlinux" 2>/dev/null
echo "extracted vmlinux ($(du -h "$T/vmlinux" | cut -f1), BTF + kallsyms): $(t "$X" profile build --vmlinuz "$T/vmlinux" -o "$T/e.p")"
echo "DWARF vmlinux + System.map: $(t "$X" profile build --vmlinux "$vmlinux" --system-map "$sysmap" -o "$T/d.p")"
echo "cached profile load (profile show): $(t "$X" profile show "$T/z.p")"
[ "${XDS_BENCH_NO_GUEST:-}" = 1 ] && exit 0
export XDS_GUEST_DIR=$T/guests XDG_CACHE_HOME=$T/cache
spec=$(scripts/linux-guest start "bps-$$" --vcpus 2 --watch $$ --lifetime 300 --timeout 150 2>"$T/start.err") ||
	{ echo "guest: cannot boot: $(tail -1 "$T/start.err")"; exit 1; }
name=bps-$$
bare=$(echo "$spec" | sed 's/,vmlinux=.*//')
echo "guest, first attach + ps (profile from guest memory): $(t "$B" --qemu "$bare" -e 'ps()')"
echo "guest, cached attach + ps (profile by build id): $(t "$B" --qemu "$bare" -e 'ps()')"
