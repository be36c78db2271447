#!/bin/bash
# profile_sources.sh - how long each profile source takes to build on the
# cached Debian kernel: the image package's bzImage (BTF + kallsyms, xz
# payload through liblzma), the vmlinux inside it, and the debug package's
# DWARF vmlinux + System.map; then a cached load (profile show).  Prints
# figures; asserts nothing (tests/profile_btf.t checks the profiles agree).
# The attach times on a real guest (first attach with the build, cached
# attach) are printed by `XDS_GUEST_PROFILE=vmlinuz tests/linux_guest_ps.t`.
set -u
cd "$(dirname "$0")/.." || exit 1
X=${XDS_BUILD:-build}/xds-lua
kd=$(scripts/kernel-debug --image) || { echo "no cached kernel files"; exit 1; }
eval "$kd"
T=$(mktemp -d /tmp/xds-bps-XXXXXX); trap 'rm -rf "$T"' EXIT
t() { local t0; t0=$(date +%s.%N); "$@" >/dev/null || echo "failed: $*"; awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f s", b - a }'; }
echo "vmlinuz ($(du -h "$vmlinuz" | cut -f1), BTF + kallsyms): $(t "$X" profile build --vmlinuz "$vmlinuz" -o "$T/z.p")"
xz -dc < <(python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(); s=((b[0x1f1] or 4)+1)*512+struct.unpack_from("<I",b,0x248)[0]; sys.stdout.buffer.write(b[s:])' "$vmlinuz") >"$T/vmlinux" 2>/dev/null
echo "extracted vmlinux ($(du -h "$T/vmlinux" | cut -f1), BTF + kallsyms): $(t "$X" profile build --vmlinuz "$T/vmlinux" -o "$T/e.p")"
echo "DWARF vmlinux + System.map: $(t "$X" profile build --vmlinux "$vmlinux" --system-map "$sysmap" -o "$T/d.p")"
echo "cached profile load (profile show): $(t "$X" profile show "$T/z.p")"
