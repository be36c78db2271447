#!/bin/bash
# linux_guest_btf_sid.t - tests/linux_guest_btf.t on sid's 7.2 kernel: a
# profile from nothing but the running guest's memory (BTF, 7.x's
# place-relative kallsyms, vmcoreinfo with a negative phys_base under
# KASLR) lists its ps and equals the debug package's profile.
cd "$(dirname "$0")/.." || exit 1
XDS_KERNEL_SUITE=sid exec bash tests/linux_guest_btf.t
