/*
 * kernel.h - the simulated guest kernel's data structures.
 *
 * These are the objects a simulated guest keeps in its RAM file.  They use
 * Linux 6.1's names and meanings for everything xds-lua touches, but their
 * own field order and padding, so that nothing can work by hard-coding
 * Linux's offsets: the runtime must find every offset in this binary's
 * DWARF, as it does in a vmlinux.  Pointer fields hold guest-virtual
 * addresses (the guest's direct map or kernel image), never host pointers;
 * the simulator dereferences them through G() in simk.h.
 *
 * The __sim_* fields are the simulator's own; the runtime never names them.
 */
#ifndef SIM_KERNEL_H
#define SIM_KERNEL_H

#include <stdint.h>

struct task_struct;
struct rq;

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

struct list_head {
	struct list_head *next, *prev;
};

/* Colour in bit 0 of __rb_parent_color: 0 red, 1 black. */
struct rb_node {
	unsigned long __rb_parent_color;
	struct rb_node *rb_right;
	struct rb_node *rb_left;
} __attribute__((aligned(sizeof(long))));

struct rb_root {
	struct rb_node *rb_node;
};

struct rb_root_cached {
	struct rb_root rb_root;
	struct rb_node *rb_leftmost;
};

typedef struct {
	int counter;
} atomic_t;

/* A queued spinlock: val == 0 means free. */
struct qspinlock {
	atomic_t val;
};
typedef struct qspinlock arch_spinlock_t;

typedef struct raw_spinlock {
	arch_spinlock_t raw_lock;
} raw_spinlock_t;

struct load_weight {
	unsigned long weight;
	u32 inv_weight;
};

struct cfs_rq;
struct task_group;

struct sched_entity {
	u64 __sim_stamp;                /* simulator's own bookkeeping */
	u64 vruntime;
	struct rb_node run_node;
	unsigned int on_rq;
	u32 __sim_pad0;
	struct load_weight load;
	u64 exec_start;
	struct list_head group_node;    /* on rq->cfs_tasks while queued */
	u64 prev_sum_exec_runtime;
	u64 sum_exec_runtime;
	u64 nr_migrations;
	int depth;
	struct sched_entity *parent;    /* NULL at the top level */
	struct cfs_rq *cfs_rq;          /* the cfs_rq this entity is queued on */
	struct cfs_rq *my_q;            /* the cfs_rq this group entity owns */
	unsigned long runnable_weight;
};

struct cfs_rq {
	u64 exec_clock;
	unsigned int nr_running;        /* entities queued here, curr included */
	u16 __sim_pad1;
	struct sched_entity *curr;      /* running entity: not in the tree */
	u64 min_vruntime;               /* monotonic */
	unsigned int h_nr_running;      /* tasks queued here and below */
	unsigned int idle_h_nr_running;
	struct load_weight load;        /* sum of queued entities' weights */
	struct rb_root_cached tasks_timeline;
	struct sched_entity *skip;
	struct sched_entity *last;
	struct sched_entity *next;
	struct rq *rq;
	struct task_group *tg;
	int on_list;
};

struct rq {
	u64 __sim_pad2[3];
	unsigned int nr_running;
	int cpu;
	struct task_struct *idle;
	raw_spinlock_t __lock;          /* held while the run queue changes */
	u64 nr_switches;
	struct task_struct *curr;
	u64 clock;
	u64 clock_task;
	struct list_head cfs_tasks;     /* every queued CFS task's se.group_node */
	struct cfs_rq cfs;
	int online;
};

struct thread_info {
	unsigned long flags;            /* TIF_* bits */
	unsigned long syscall_work;
	u32 status;
	u32 cpu;
};

#define TIF_NEED_RESCHED 3

struct task_group {
	struct sched_entity **se;       /* per cpu */
	struct cfs_rq **cfs_rq;         /* per cpu */
	unsigned long shares;
	struct task_group *parent;
	struct list_head list;
	char __sim_name[24];
};

/* The part of a thread group that its threads share: thread_head links
 * every thread, the leader included, through task_struct.thread_node. */
struct signal_struct {
	u64 __sim_pad4;
	int nr_threads;
	struct list_head thread_head;
};

struct task_struct {
	u32 __sim_id;                   /* index into the simulator's own table */
	unsigned int __state;
	unsigned int flags;             /* PF_* bits */
	char comm[16];
	int on_rq;
	raw_spinlock_t pi_lock;
	struct thread_info thread_info;
	int prio;
	int on_cpu;
	int static_prio;
	int normal_prio;
	unsigned int rt_priority;
	unsigned int policy;
	u64 __sim_pad3[5];
	struct sched_entity se;
	struct task_group *sched_task_group;
	int exit_state;
	int exit_code;
	struct list_head tasks;         /* thread-group leaders, headed by init_task */
	int pid;
	int tgid;
	struct task_struct *group_leader;
	struct signal_struct *signal;   /* shared by the group */
	struct list_head thread_node;   /* on signal->thread_head */
	unsigned long atomic_flags;
	u64 start_time;
};

/* task_struct::__state (Linux 6.1 values). */
#define TASK_RUNNING         0x0000
#define TASK_INTERRUPTIBLE   0x0001
#define TASK_UNINTERRUPTIBLE 0x0002
#define __TASK_STOPPED       0x0004
#define TASK_DEAD            0x0080
#define TASK_WAKEKILL        0x0100
#define TASK_NOLOAD          0x0400
#define TASK_NEW             0x0800
#define TASK_FROZEN          0x8000
#define TASK_KILLABLE        (TASK_WAKEKILL | TASK_UNINTERRUPTIBLE)
#define EXIT_ZOMBIE          0x0020
#define EXIT_DEAD            0x0010

/* task_struct::flags (include/linux/sched.h, Linux 6.1 values). */
#define PF_IDLE              0x00000002
#define PF_EXITING           0x00000004
#define PF_KTHREAD           0x00200000

/* task_struct::on_rq */
#define TASK_ON_RQ_QUEUED    1
#define TASK_ON_RQ_MIGRATING 2

#endif
