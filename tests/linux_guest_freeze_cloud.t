#!/bin/bash
# linux_guest_freeze_cloud.t - tests/linux_guest_freeze.t (a queued, a running and a
# sleeping task frozen and thawed; 200 freeze/thaw cycles on 2 vCPUs with autogroup)
# on bookworm's cloud kernel (issue 12's kernel matrix), with the profile from its
# image package alone (BTF + kallsyms).
cd "$(dirname "$0")/.." || exit 1
XDS_KERNEL_SUITE=bookworm XDS_KERNEL_FLAVOUR=cloud XDS_GUEST_PROFILE=vmlinuz LGFZ_CYCLES=200 exec bash tests/linux_guest_freeze.t
