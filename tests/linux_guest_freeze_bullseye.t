#!/bin/bash
# linux_guest_freeze_bullseye.t - tests/linux_guest_freeze.t (a queued, a running and a
# sleeping task frozen and thawed; 200 freeze/thaw cycles on 2 vCPUs with autogroup)
# on bullseye's generic kernel (issue 12's kernel matrix), with the profile from its
# image package alone (BTF + kallsyms).
cd "$(dirname "$0")/.." || exit 1
XDS_KERNEL_SUITE=bullseye XDS_KERNEL_FLAVOUR=generic XDS_GUEST_PROFILE=vmlinuz LGFZ_CYCLES=200 exec bash tests/linux_guest_freeze.t
