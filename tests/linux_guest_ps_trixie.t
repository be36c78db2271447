#!/bin/bash
# linux_guest_ps_trixie.t - tests/linux_guest_ps.t on trixie's kernel (issue 12's
# kernel matrix; scripts/kernel-debug --suite trixie, fetched once), with the
# profile from its image package alone (BTF + kallsyms): the guest's own
# ps against xds-lua's, both guest shapes; its EEVDF run queues are read,
# and a freeze is refused (the family reads only so far).
cd "$(dirname "$0")/.." || exit 1
XDS_KERNEL_SUITE=trixie XDS_GUEST_PROFILE=vmlinuz exec bash tests/linux_guest_ps.t
