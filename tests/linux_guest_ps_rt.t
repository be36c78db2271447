#!/bin/bash
# linux_guest_ps_rt.t - tests/linux_guest_ps.t on bookworm's rt kernel (issue
# 12's kernel matrix; scripts/kernel-debug --suite bookworm --flavour rt, fetched
# once), with the profile from its image package alone (BTF + kallsyms).
cd "$(dirname "$0")/.." || exit 1
XDS_KERNEL_SUITE=bookworm XDS_KERNEL_FLAVOUR=rt XDS_GUEST_PROFILE=vmlinuz exec bash tests/linux_guest_ps.t
