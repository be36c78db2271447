#!/bin/bash
# profile_btf.t - a profile from the image package alone (BTF + kallsyms)
# equals the profile from the debug package (DWARF + System.map), field by
# field and symbol by symbol, on the real Debian kernel:
#   - `profile build --vmlinuz` on the bzImage (its xz payload through
#     liblzma) and on the vmlinux extracted from it;
#   - the same vmlinux recompressed with gzip, zstd and legacy lz4 into a
#     bzImage of the same header (zlib, libzstd and liblz4 paths);
#   - every struct, field and sym line equals the DWARF profile's, and the
#     DWARF profile declares them all (no line is missing from either);
#   - `profile show` names the source "(BTF + kallsyms)";
#   - a truncated or garbled image is an error, not a crash.
# Skips without the cached kernel files (scripts/kernel-debug --image).
set -u
. "$(dirname "$0")/tap.sh" pbtf

kd=$(scripts/kernel-debug --image 2>/dev/null) || { echo "1..0 # SKIP no cached kernel files"; exit 0; }
eval "$kd"
[ -s "$vmlinuz" ] && [ -s "$vmlinux" ] && [ -s "$sysmap" ] || { echo "1..0 # SKIP kernel files incomplete"; exit 0; }
echo "1..15"

body() { grep -E '^(struct|field|sym|banner) ' "$1" | sort; }

"$X" profile build --vmlinux "$vmlinux" --system-map "$sysmap" -o "$T/dwarf.p" >/dev/null
ok $? "DWARF profile builds from the debug package"
"$X" profile build --vmlinuz "$vmlinuz" -o "$T/z.p" >/dev/null 2>"$T/err"
ok $? "profile build --vmlinuz builds from the image package's bzImage $(cat "$T/err")"
d=$(grep -cE '^(struct|field|sym) ' "$T/dwarf.p")
diff <(body "$T/dwarf.p") <(body "$T/z.p") >"$T/diff"
ok $? "BTF + kallsyms equals DWARF + System.map on all $d struct, field and sym lines$(head -5 "$T/diff" | tr '\n' ' ')"
"$X" profile show "$T/z.p" | grep -q '^source vmlinuz-.* (BTF + kallsyms)$'
ok $? "profile show names the source: $("$X" profile show "$T/z.p" | grep ^source)"

# The payload, from the boot protocol's header (setup_sects, payload_offset,
# payload_length), into a plain vmlinux; then rebuilt with other compressors.
python3 - "$vmlinuz" "$T" <<'EOF'
import struct, sys
b = open(sys.argv[1], 'rb').read()
setup = (b[0x1f1] or 4) + 1
off, ln = struct.unpack_from('<II', b, 0x248)
start = setup * 512 + off
open(sys.argv[2] + '/head', 'wb').write(b[:start])
open(sys.argv[2] + '/payload.xz', 'wb').write(b[start:start + ln])
EOF
xz -dc <"$T/payload.xz" >"$T/vmlinux" 2>/dev/null
"$X" profile build --vmlinuz "$T/vmlinux" -o "$T/elf.p" >/dev/null && diff -q <(body "$T/dwarf.p") <(body "$T/elf.p") >/dev/null
ok $? "the extracted vmlinux (an ELF without DWARF or symbols) gives the same profile"

rebuild() { # COMPRESSED OUT: the original header with another payload
	python3 - "$T/head" "$1" "$2" <<'EOF'
import struct, sys
h = bytearray(open(sys.argv[1], 'rb').read()); p = open(sys.argv[2], 'rb').read()
struct.pack_into('<I', h, 0x24c, len(p))
open(sys.argv[3], 'wb').write(bytes(h) + p)
EOF
}
gzip -9c <"$T/vmlinux" >"$T/payload.gz"
rebuild "$T/payload.gz" "$T/vmlinuz.gz"
"$X" profile build --vmlinuz "$T/vmlinuz.gz" -o "$T/gz.p" >/dev/null && diff -q <(body "$T/dwarf.p") <(body "$T/gz.p") >/dev/null
ok $? "a gzip payload (zlib) gives the same profile"
if command -v zstd >/dev/null; then
	zstd -q -3 -c <"$T/vmlinux" >"$T/payload.zst"
	rebuild "$T/payload.zst" "$T/vmlinuz.zst"
	"$X" profile build --vmlinuz "$T/vmlinuz.zst" -o "$T/zst.p" >/dev/null && diff -q <(body "$T/dwarf.p") <(body "$T/zst.p") >/dev/null
	ok $? "a zstd payload (libzstd) gives the same profile"
else
	ok 0 "# SKIP no zstd command to make a zstd payload"
fi
# lz4's legacy frames, as the kernel's build writes them (Debian's cloud
# image), with the decompressed size appended as the kernel does
lz4 -q -l -9 -c <"$T/vmlinux" >"$T/payload.lz4" &&
	python3 -c 'import struct, sys; sys.stdout.buffer.write(struct.pack("<I", int(sys.argv[1])))' \
		"$(stat -c %s "$T/vmlinux")" >>"$T/payload.lz4"
rebuild "$T/payload.lz4" "$T/vmlinuz.lz4"
"$X" profile build --vmlinuz "$T/vmlinuz.lz4" -o "$T/lz4.p" >/dev/null && diff -q <(body "$T/dwarf.p") <(body "$T/lz4.p") >/dev/null
ok $? "a legacy lz4 payload with the kernel's size trailer (liblz4) gives the same profile"
# the first block's size made huge; then a block's data overwritten (legacy
# lz4 has no checksum: what decodes is garbage, refused further on)
python3 - "$T/vmlinuz.lz4" "$T/head" "$T/bad.lz4" "$T/bad2.lz4" <<'EOF2'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read()); h = len(open(sys.argv[2], 'rb').read())
c = bytearray(b)
struct.pack_into('<I', b, h + 4, 0x7fffff00)
open(sys.argv[3], 'wb').write(b)
i = len(c) // 2
c[i:i + 4096] = b'\xff' * 4096
open(sys.argv[4], 'wb').write(c)
EOF2
"$X" profile build --vmlinuz "$T/bad.lz4" -o "$T/t.p" >/dev/null 2>"$T/err"
rc=$?; [ $rc = 1 ] && grep -q 'lz4 block 0 of .* does not fit' "$T/err"
ok $? "an lz4 block larger than the payload is an error (rc $rc): $(head -c 140 "$T/err")"
"$X" profile build --vmlinuz "$T/bad2.lz4" -o "$T/t.p" >/dev/null 2>"$T/err"
rc=$?; [ $rc = 1 ] && [ -s "$T/err" ]
ok $? "an lz4 block of garbage is an error, not a crash (rc $rc): $(head -c 120 "$T/err")"

# Hostile images: errors with a message, never a crash (rc 1, not >= 128).
head -c 100000 "$T/vmlinuz.gz" >"$T/trunc"
"$X" profile build --vmlinuz "$T/trunc" -o "$T/t.p" >/dev/null 2>"$T/err"
rc=$?; [ $rc = 1 ] && [ -s "$T/err" ]
ok $? "a truncated bzImage is an error (rc $rc): $(head -c 120 "$T/err")"
head -c 50000 "$T/vmlinuz.zst" 2>/dev/null >"$T/trunc.zst" || head -c 50000 "$vmlinuz" >"$T/trunc.zst"
"$X" profile build --vmlinuz "$T/trunc.zst" -o "$T/t.p" >/dev/null 2>"$T/err"
rc=$?; [ $rc = 1 ]
ok $? "a truncated zstd bzImage is an error (rc $rc)"
printf 'not a kernel' >"$T/junk"
"$X" profile build --vmlinuz "$T/junk" -o "$T/t.p" >/dev/null 2>"$T/err"
rc=$?; [ $rc = 1 ] && grep -q bzImage "$T/err"
ok $? "a file that is no bzImage is named as such: $(cat "$T/err")"
# A vmlinux whose kallsyms token table is wiped: no symbols, an error.
python3 - "$T/vmlinux" "$T/nosyms" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
d = b'0\x001\x002\x003\x004\x005\x006\x007\x008\x009'
i = b.find(d)
while i >= 0:
    b[i:i + len(d)] = b'\xff' * len(d); i = b.find(d, i)
open(sys.argv[2], 'wb').write(b)
EOF
"$X" profile build --vmlinuz "$T/nosyms" -o "$T/t.p" >/dev/null 2>"$T/err"
rc=$?; [ $rc = 1 ] && grep -q kallsyms "$T/err"
ok $? "a vmlinux without kallsyms tables is an error: $(cat "$T/err")"
# Timing, as information (bench/profile_sources.sh reports it).
t0=$(date +%s.%N); "$X" profile build --vmlinuz "$vmlinuz" -o "$T/z2.p" >/dev/null
ok $? "# built from vmlinuz in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s"
