#!/bin/bash
# linux_guest_protect.t - on a real Debian kernel under QEMU, the guest's
# kernel threads (task_struct.flags & PF_KTHREAD, read through the DWARF
# profile) and its init are protected: every kworker reads as "a kernel
# thread", the spec GUEST/* never matches one (policy.matcher), and
# quota.lua 'GUEST/*=10%' run for 3 s holds the busy tasks but never a
# kernel thread or init; the guest stays healthy.  Skips (never fails)
# without qemu, a built xds-lua or the kernel files.  Emits TAP.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${XDS_BUILD:-build}
T=$(mktemp -d /tmp/xds-lgprot-XXXXXX)
export XDS_GUEST_DIR=$T/guests XDG_CACHE_HOME=$T/cache XDG_STATE_HOME=$T/state
running=
. tests/linux_guest_lib.sh
cleanup() { [ -n "$running" ] && $G stop "$running"; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

linux_guest_ready
echo "1..5"
name=prot-$$
spec=$($G start "$name" --vcpus 1 --watch $$ --lifetime 300 --timeout 120 2>"$T/start.err")
ok $? "the guest boots to its first report" || { sed 's/^/# /' "$T/start.err"; exit 0; }
running=$name

# per task: pid, protected (or false), whether NAME/* matches it, comm
"$B/xds-lua" --qemu "$spec" -e "local m = dofile('policies/lib/policy.lua').matcher('$name/*')
for _, t in ipairs(xds.tasks()) do print(t.pid, tostring(t.protected), tostring(m(t)), t.comm) end" \
	>"$T/tasks" 2>"$T/tasks.err"
rc=$?
kw=$(awk -F'\t' '$4 ~ /^kworker/' "$T/tasks" | wc -l)
[ "$rc" = 0 ] && [ "$kw" -ge 2 ] &&
	[ -z "$(awk -F'\t' '$4 ~ /^kworker/ && $2 != "a kernel thread"' "$T/tasks")" ] &&
	awk -F'\t' '$1 == 1 && $2 == "the guest'"'"'s init (pid 1)" { f = 1 } END { exit !f }' "$T/tasks"
ok $? "every kworker ($kw) reads as a kernel thread, pid 1 as the guest's init" ||
	{ head -5 "$T/tasks" | sed 's/^/# /'; sed 's/^/# /' "$T/tasks.err"; }

[ -z "$(awk -F'\t' '$2 != "false" && $3 == "true"' "$T/tasks")" ] &&
	[ -n "$(awk -F'\t' '$4 == "busy1" && $3 == "true"' "$T/tasks")" ]
ok $? "$name/* matches busy1 and never a kworker, another kernel thread or init" ||
	awk -F'\t' '$2 != "false" && $3 == "true"' "$T/tasks" | head -5 | sed 's/^/# /'

"$B/xds-lua" --qemu "$spec" --duration 3s --report "$T/r.json" policies/quota.lua "$name/*=10%" \
	>"$T/q.out" 2>"$T/q.err"
rc=$?
held=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); prot=set(sys.argv[2].split())
print(sum(1 for t in r['tasks'] if str(t['pid']) in prot and t['frozen_ns'] > 0),
      sum(1 for t in r['tasks'] if str(t['pid']) not in prot and t['frozen_ns'] > 0))" \
	"$T/r.json" "$(awk -F'\t' '$2 != "false" { print $1 }' "$T/tasks" | tr '\n' ' ')" 2>&1)
[ "$rc" = 0 ] && [ "${held% *}" = 0 ] && [ "${held#* }" -gt 0 ]
ok $? "quota.lua $name/*=10% for 3 s: protected tasks held $held (protected, others)" ||
	sed 's/^/# /' "$T/q.err" | head -5

[ -z "$($G klog "$name")" ]
ok $? "the guest's kernel log has no WARN, BUG, Oops" || $G klog "$name" | head -5 | sed 's/^/# /'
