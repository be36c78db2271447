#!/bin/bash
# linux_guest_ps_cloud.t - tests/linux_guest_ps.t on bookworm's cloud kernel (issue
# 12's kernel matrix; scripts/kernel-debug --suite bookworm --flavour cloud, fetched
# once), with no profile at all: built from the guest's own memory (BTF + kallsyms).
cd "$(dirname "$0")/.." || exit 1
XDS_KERNEL_SUITE=bookworm XDS_KERNEL_FLAVOUR=cloud XDS_GUEST_PROFILE=guest exec bash tests/linux_guest_ps.t
