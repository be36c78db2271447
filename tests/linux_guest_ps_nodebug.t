#!/bin/bash
# linux_guest_ps_nodebug.t - tests/linux_guest_ps.t on the Debian 6.1
# generic kernel with no profile at all: xds-lua builds it from the guest's
# own memory (BTF + kallsyms + vmcoreinfo, issue 13), and its ps is the
# guest's own, both guest shapes.
cd "$(dirname "$0")/.." || exit 1
XDS_GUEST_PROFILE=guest exec bash tests/linux_guest_ps.t
