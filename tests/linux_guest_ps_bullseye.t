#!/bin/bash
# linux_guest_ps_bullseye.t - tests/linux_guest_ps.t on bullseye's generic kernel (issue
# 12's kernel matrix; scripts/kernel-debug --suite bullseye --flavour generic, fetched
# once), with the profile from its image package alone (BTF + kallsyms).
cd "$(dirname "$0")/.." || exit 1
XDS_KERNEL_SUITE=bullseye XDS_KERNEL_FLAVOUR=generic XDS_GUEST_PROFILE=vmlinuz exec bash tests/linux_guest_ps.t
