#!/bin/bash
# linux_guest_ps_cloud.t - tests/linux_guest_ps.t on bookworm's cloud kernel (issue
# 12's kernel matrix; scripts/kernel-debug --suite bookworm --flavour cloud, fetched
# once), with the profile from its image package alone (BTF + kallsyms).
cd "$(dirname "$0")/.." || exit 1
XDS_KERNEL_SUITE=bookworm XDS_KERNEL_FLAVOUR=cloud XDS_GUEST_PROFILE=vmlinuz exec bash tests/linux_guest_ps.t
