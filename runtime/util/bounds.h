/*
 * bounds.h - every bound on hostile input, in one place.
 *
 * Guest memory is hostile: a list may loop, a tree may be a cycle, a count
 * may hold any number.  Every walker of guest memory stops at one of the
 * bounds below and returns an error that names it, so no guest can make
 * the runtime loop, recurse or allocate without end.  Each value sits far
 * above what a sound guest has and low enough that a walk bounded by it
 * ends quickly; the comment beside it says why.  A walker has no bare
 * number of its own (Lua's llimits.h is the model).
 */
#ifndef XDS_BOUNDS_H
#define XDS_BOUNDS_H

/* Guests attached in one run; also the domains asked of a backend at
 * attach: one process pauses and maps them all. */
#define XDS_MAX_GUESTS 64

/* A guest's name: libvirt's, Xen's and QEMU's -name are shorter. */
#define XDS_MAX_GUEST_NAME 64

/* nr_cpu_ids of one guest: sizes the per-guest arrays of run queues and
 * per-CPU offsets; above the 128 vCPUs Xen gives an HVM guest. */
#define XDS_MAX_CPUS 256

/* Entries of one guest's task lists (leaders on init_task.tasks and the
 * threads on each signal->thread_head, together): a million task_structs
 * are ~10 GiB of guest memory (6.1's is ~9.7 KiB), so a longer list is a
 * cycle. */
#define XDS_MAX_TASKS (1 << 20)

/* Tasks of one snapshot found on a run queue but on no list (exiting,
 * unhashed but not yet off their CPU, or forked while we read): a sound
 * guest has a handful; more is a tree that is not made of tasks. */
#define XDS_MAX_UNLISTED_TASKS 4096

/* A task's pid and tgid: PID_MAX_LIMIT on 64-bit Linux (4 * 1024 * 1024);
 * a larger (or non-positive) one is not a task_struct. */
#define XDS_MAX_PID (4 * 1024 * 1024)

/* Nodes of one cfs_rq's tree: each is a task or a group entity above a
 * queued task, so never more than the tasks. */
#define XDS_MAX_TREE_NODES XDS_MAX_TASKS

/* Tree nodes one CPU's walk may find beyond the guest's task count: room
 * for group entities (the task count, sleepers included, covers the rest). */
#define XDS_MAX_TREE_GROUP_NODES 64

/* Height of a red-black tree: at most 2*log2(n+1), 40 for XDS_MAX_TREE_NODES;
 * a deeper walk is a cycle. */
#define XDS_MAX_RB_HEIGHT 128

/* Task groups nested above a task (sched_entity.depth): systemd nests a
 * service's cgroup 3-5 deep; deeper is refused, not guessed. */
#define XDS_MAX_GROUP_DEPTH 8

/* PSI groups a task is accounted in: its cgroup's and each ancestor's up to
 * psi_system; cgroups nest deeper than task groups (not every level enables
 * the cpu controller), so twice XDS_MAX_GROUP_DEPTH. */
#define XDS_MAX_PSI_GROUPS 16

/* Pages one object read through a view may span: 6.1's task_struct
 * (~9.7 KiB) spans at most 4 at any alignment. */
#define XDS_MAX_OBJECT_PAGES 4

/* x86-64 KASLR moves the kernel image by at most 1 GiB (KERNEL_IMAGE_SIZE),
 * in steps of CONFIG_PHYSICAL_ALIGN (2 MiB). */
#define XDS_MAX_KASLR_SLIDE (1ULL << 30)

/* Reads of a running guest's task list and run queues before a snapshot
 * gives up: a list that changes under three reads in a row is corrupt. */
#define XDS_MAX_SNAPSHOT_TRIES 3

/* Wall-clock time one guest may take per tick to be read (snapshot) and
 * again to be changed (one batch, paused): a guest that presents 2^20
 * tasks or tree nodes would otherwise stall every other guest and its
 * own pause for seconds.  A 6.1 guest with a few thousand tasks reads in
 * a few ms; one over the budget is skipped for the tick, said once, and
 * retried on the next. */
#define XDS_GUEST_BUDGET_NS (100ULL * 1000000ULL)
/* How many nodes a walk reads between two looks at the clock. */
#define XDS_BUDGET_CHECK_EVERY 256

/* Symbols in a kernel's kallsyms tables: 94,105 on Debian's 6.1; a
 * count from a guest's own num_syms above this is a lie. */
#define XDS_MAX_KSYMS (1u << 22)

/* Bytes of a decompressed vmlinuz payload: 66 MB on 6.1; a larger one is
 * refused before it fills memory. */
#define XDS_MAX_VMLINUX (512ull << 20)

/* Bytes of a running guest's BTF blob: 4.35 MB on 6.1. */
#define XDS_MAX_BTF (64u << 20)

/* Refusals to freeze a protected task that the scheduler says, once each:
 * past this many the rest go unsaid (a policy that wants every kernel
 * thread of 64 guests is told enough). */
#define XDS_MAX_REFUSAL_NOTES 4096

#endif
