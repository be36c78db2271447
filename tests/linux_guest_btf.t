#!/bin/bash
# linux_guest_btf.t - attach to a real Debian 6.1 guest with nothing but
# its RAM file and QMP socket: no profile, no vmlinux, no System.map.
# Boots one guest (2 vCPUs, KASLR on) with scripts/linux-guest; then
#   - `xds-lua --qemu NAME:ram=...,qmp=... -e 'ps()'` lists the guest's
#     processes (pid 1 is init, kthreadd is pid 2, the named tasks busy1,
#     busy2, hog, sleeper are there);
#   - the profile it built from the guest's memory (BTF blob, kallsyms,
#     vmcoreinfo) is cached under the cache directory by build id, and
#     names its source "guest memory ... (BTF + kallsyms)" (profile show,
#     and the profile field of xds.domains());
#   - that profile equals the DWARF + System.map profile of the debug
#     package (every struct, field, sym and the banner) when the debug
#     files are cached;
#   - the KASLR slide is non-zero, and the second attach loads the cache
#     (times printed; bench/profile_sources.sh has the build times).
# tests/linux_guest_ps.t and tests/linux_guest_freeze.t run with this
# source under XDS_GUEST_PROFILE=guest.  Skips like the other real-guest
# tests.  Emits TAP.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
T=$(mktemp -d /tmp/xds-lgbtf-XXXXXX)
export XDS_GUEST_DIR=$T/guests
export XDG_CACHE_HOME=$T/cache
running=
. tests/linux_guest_lib.sh
cleanup() { [ -n "$running" ] && $G stop "$running"; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

linux_guest_ready
echo "1..8"
name=btf-$$
spec=$($G start "$name" --vcpus 2 --watch $$ --lifetime 300 --timeout 150 2>"$T/start.err")
ok $? "the guest boots to its first report" || { sed 's/^/# /' "$T/start.err"; exit 0; }
running=$name
bare=$(echo "$spec" | sed 's/,vmlinux=.*//; s/,profile=.*//; s/,vmlinuz=.*//')
lua='local d = xds.domains()[1]; print("slide", d.slide); print("profile", d.profile); ps()'
t0=$(now)
"$B/xds-lua" --qemu "$bare" -e "$lua" >"$T/first" 2>"$T/err"
ok $? "xds-lua --qemu ${bare%%:*}:ram=...,qmp=... attaches with no profile at all $(head -2 "$T/err")"
diag "first attach (profile built from guest memory) + ps: $(since "$t0") s"
awk '$2 == 1 && $3 == 1 && $4 == "init" { a = 1 } $2 == 2 && $4 == "kthreadd" { b = 1 }
     $4 == "busy1" { c++ } $4 == "busy2" { c++ } $4 == "hog" { c++ } $4 == "sleeper" { c++ }
     END { exit !(a && b && c >= 4) }' "$T/first"
ok $? "ps lists init as pid 1, kthreadd as pid 2 and the named tasks ($(grep -c . "$T/first") lines)"
slide=$(awk '$1 == "slide" { print $2 }' "$T/first")
[ -n "$slide" ] && [ "$slide" != 0 ]
ok $? "the KASLR slide is found and non-zero ($slide)"
cached=$(ls "$XDG_CACHE_HOME"/xds-lua/guest-*.profile 2>/dev/null | head -1)
[ -n "$cached" ] && "$B/xds-lua" profile show "$cached" | grep -q '^source guest memory .* (BTF + kallsyms)$' &&
	grep -q '^profile	guest memory .* (BTF + kallsyms)$' "$T/first"
ok $? "the profile is cached by build id ($(basename "${cached:-none}")); profile show and the domain's profile field name its source ($(grep ^profile "$T/first" | cut -f2))"
t0=$(now)
"$B/xds-lua" --qemu "$bare" -e "$lua" >"$T/second" 2>"$T/err"
ok $? "the second attach uses the cached profile"
diag "cached attach + ps: $(since "$t0") s"
kd=$(scripts/kernel-debug --image) && eval "$kd"
if [ -s "${vmlinux:-}" ] && [ -s "${sysmap:-}" ]; then
	"$B/xds-lua" profile build --vmlinux "$vmlinux" --system-map "$sysmap" -o "$T/dwarf.p" >/dev/null
	body() { grep -E '^(struct|field|sym|banner) ' "$1" | sort; }
	diff <(body "$T/dwarf.p") <(body "$cached") >"$T/diff"
	ok $? "the guest-memory profile equals the DWARF + System.map profile on all $(body "$T/dwarf.p" | wc -l) lines $(head -3 "$T/diff" | tr '\n' ' ')"
else
	ok 0 "# SKIP no debug package cached to compare with"
fi
tr -d '\r' <"$XDS_GUEST_DIR/$name.log" | grep -qE 'WARNING:|BUG:|Oops'
[ $? = 1 ]
ok $? "the guest's kernel log has no WARN, BUG or Oops"
