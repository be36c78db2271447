#!/bin/bash
# xen_save.t - xl save and xl restore of a domU whose task xds-lua holds
# (the nested run "save", scripts/xen/scenario-save.sh): u1's db is always
# busy, so global_priority holds u2's web all the time.
#   - web is held before the save: it gains no CPU in the guest's own ps;
#   - xl save u2 asks the guest to suspend (xenstore control/shutdown):
#     xds-lua sees it and gives web back, so the guest's freezer can stop
#     every task and the save succeeds (a held task does not wake: the
#     freezer would give up after 20 s, "Freezing of tasks failed", and the
#     save with it);
#   - xl restore u2: the guest runs on as a new domain, which xds-lua
#     attaches and whose web it holds again;
#   - xds-lua ends on SIGTERM with status 0; no kernel warning in the guests.
# Skips when the packages cannot be fetched or XDS_SKIP_XEN is set.
set -u
cd "$(dirname "$0")/.." || exit 1
. scripts/xen/test-lib.sh

xen_run save scenario-save.sh "u1:pv u2:pv"
grep '^SAVE' "$log" | sed 's/^/# /'
err=$(section POLICY-ERR)
echo "$err" | head -20 | sed 's/^/# xds-lua: /'
line() { grep "^SAVE $1" "$log" | head -1; }

h=$(line held)
w=$(echo "$h" | sed -n 's/.*web-listings=\([0-9]*\)-\([0-9]*\).*/\1 \2/p')
g=$(gain u2 web ${w:-x x})
echo "$h" | grep -q 'held=1' && [ -n "$g" ] && [ "$g" -le 1 ] && [ "${w#* }" -gt "${w% *}" ]
ok $? "web is held before the save: +${g:-?} ticks in u2's listings ${w/ /-}"
echo "$err" | grep -q '^xds-lua: u2 is asked to shut down, reboot or suspend: its tasks are given back (1 held)'
ok $? "xds-lua sees the request to suspend u2 and gives web back"
v=$(line saved)
echo "$v" | grep -q 'rc=0'
ok $? "xl save u2 succeeds: the guest's freezer reached every task ($(echo "$v" | grep -o 'rc=.*'))" ||
	section XL-SAVE | grep -v progress | tail -6 | sed 's/^/#   /'
r=$(line restored)
to=$(seq_of "$r" u2); from=$(echo "$r" | sed -n 's/.*from=\([0-9]*\).*/\1/p')
echo "$r" | grep -q 'rc=0' && [ -n "$to" ] && [ -n "$from" ] && [ "$to" -ge $((from + 2)) ]
ok $? "xl restore u2: the guest runs on and lists again (listing ${from:-?} -> ${to:-?})"
[ "$(echo "$err" | grep -c 'xen: dom [0-9]* (u2) attached')" -ge 2 ]
ok $? "xds-lua attaches the restored u2, a new domain"
section POLICY-TRACE | sed -n '/release u2/,$p' | grep -q 'freeze u2/web\[[0-9]*\] frozen'
ok $? "and holds its web again"
line xds-exit | grep -q 'rc=0'
ok $? "xds-lua ends on SIGTERM with status 0"
for d in u1 u2; do
	klog_clean $d
	ok $? "$d: no WARN, BUG, Oops, psi or freezer warning in the guest's log"
done
