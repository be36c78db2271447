#!/bin/bash
# linux_guest_freeze_nodebug.t - tests/linux_guest_freeze.t's guest A (a
# queued, a running and a sleeping task frozen and thawed on Debian 6.1)
# with no profile at all: xds-lua builds it from the guest's own memory
# (BTF + kallsyms, issue 13), so no debug package is used.
cd "$(dirname "$0")/.." || exit 1
XDS_GUEST_PROFILE=guest LGFZ_ONLY=A exec bash tests/linux_guest_freeze.t
