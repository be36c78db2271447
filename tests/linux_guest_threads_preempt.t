#!/bin/bash
# linux_guest_threads_preempt.t - tests/linux_guest_threads.t (one thread of
# a multi-threaded process frozen while its siblings run, 500 reads, 1000
# freeze/thaw cycles) on the Debian 6.1 guest booted with preempt=full
# (issue 12: the preemption model under which an exiting task was seen
# queued after it left the task list).
cd "$(dirname "$0")/.." || exit 1
XDS_GUEST_APPEND=preempt=full exec bash tests/linux_guest_threads.t
