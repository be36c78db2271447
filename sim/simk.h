/*
 * simk.h - the simulator's internals: host, domains, vCPUs, tasks.
 *
 * A simulated host (struct sim) runs domains (struct sdom).  Each domain is
 * a guest kernel whose memory is a RAM file; its kernel objects (kernel.h)
 * live in that RAM and point at each other by guest-virtual address, so
 * every dereference goes through G(), which checks the address and turns it
 * into a host pointer.  A bad address is an oops: the domain stops, the
 * simulator does not.
 *
 * What the guest's user programs do (run, sleep, exit) and the ground truth
 * the tests compare against live on the host side, in struct stask.
 */
#ifndef SIM_SIMK_H
#define SIM_SIMK_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kernel.h"

#define SIM_MAX_VCPUS   64
#define SIM_MAX_DOMAINS 64
#define SIM_MAX_TASKS   (1 << 20)
#define SIM_TICK_NS     4000000ULL      /* guest HZ = 250 */
#define SIM_NSEC        1000000000ULL
/* include/linux/jiffies.h: jiffies start 5 minutes before wrapping (32 bits) */
#define SIM_INITIAL_JIFFIES 0xfffedb08ULL       /* (unsigned int)(-300 * HZ) */

/* Guest address space (before any slide). */
#define SIM_PAGE_OFFSET   0xffff888000000000ULL
#define SIM_KIMG_VA       0xffffffff81000000ULL
#define SIM_KIMG_PA       0x1000000ULL        /* 16 MiB */
#define SIM_KIMG_SIZE     0x400000ULL         /* 4 MiB */
#define SIM_PT_PA         0x100000ULL         /* page tables from 1 MiB */
#define SIM_PT_PAGES      192
#define SIM_PERCPU_SIZE   0x10000ULL

/* Offsets of the kernel image's symbols from _text (see mem.c). */
#define SYM_LINUX_BANNER    0x200100ULL
#define SYM_INIT_TASK       0x300000ULL
#define SYM_PER_CPU_OFFSET  0x310000ULL
#define SYM_NR_CPU_IDS      0x310400ULL
#define SYM_ROOT_TASK_GROUP 0x310440ULL
#define SYM_PAGE_OFFSET_BASE 0x310600ULL
#define SYM_JIFFIES         0x310640ULL
#define SYM_RUNQUEUES       0x2a40ULL          /* a per-cpu offset */

enum behaviour_kind { BH_CPU, BH_PERIODIC, BH_BURSTY, BH_PHASES, BH_SLEEPER };

struct behaviour {
	enum behaviour_kind kind;
	uint64_t run_ns;        /* periodic: CPU per burst; bursty: mean */
	uint64_t sleep_ns;      /* periodic: sleep per cycle; bursty: mean */
	uint64_t jitter_ns;
	uint64_t busy_ns;       /* phases: wall time busy, then idle */
	uint64_t idle_ns;
	uint64_t offset_ns;     /* first phase starts this late (asleep) */
};

enum acct { AC_SLEEP, AC_QUEUED, AC_HELD };

struct stask {
	struct sdom *d;
	int id;                 /* index in sim->tasks */
	int pid, tgid, nice, cpu, line;
	bool kthread;           /* a kernel thread: PF_KTHREAD */
	bool exit_queued;       /* exits as with preempt=full: reaped, then
				 * preempted before its last schedule() */
	bool exiting;           /* reaped, still queued: dies when next run */
	bool zombie;            /* a leader that exited before its threads */
	char comm[16];
	char group[24];
	struct behaviour b;
	uint64_t start_ns, exit_ns;     /* exit_ns 0: never */
	uint64_t ts;                    /* guest VA of its task_struct, 0 if none */
	enum { LF_UNBORN, LF_ALIVE, LF_DEAD } life;
	bool want_cpu;                  /* the program is in a running phase */
	bool kill_pending;
	int64_t burst_left;             /* CPU ns left in this burst; <0 endless */
	uint64_t rng;
	/* ground truth */
	uint64_t cpu_ns, wait_ns, held_ns;
	uint64_t ran_in_slice, slept_in_slice;
};

struct svcpu {
	int cpu;
	uint64_t hv_vt;                 /* hypervisor's weighted virtual time */
	uint64_t clock_task;            /* CPU time this vCPU has received */
	uint64_t next_tick;
	int cpl;                        /* as observed between slices */
	bool halted;
	bool lock_held;                 /* the vCPU is inside a locked section */
	bool on_pcpu;
};

struct sgroup {
	char name[24];
	uint64_t tg;                    /* guest VA of struct task_group */
	unsigned long shares;
};

struct sdom {
	struct sim *sim;
	int idx, line;
	char name[64];
	int nr_vcpus;
	uint64_t ram_size;
	unsigned weight;
	bool pti, kaslr;
	double kernel_frac, lock_frac;
	uint8_t *ram;
	int ram_fd;
	char ram_path[512];

	/* layout, after the slide */
	uint64_t page_offset;           /* direct-map base */
	uint64_t kimg_va, kimg_pa;      /* where _text is, and its frame */
	uint64_t cr3;
	uint64_t heap_next, heap_end;   /* physical bump allocator */
	uint64_t free_tasks;            /* guest VA list of freed task_structs */
	uint64_t percpu[SIM_MAX_VCPUS];

	struct svcpu vcpu[SIM_MAX_VCPUS];
	int *tids;                      /* its tasks' indexes in sim->tasks */
	int nr_tids;
	struct sgroup groups[16];
	int nr_groups;
	bool paused, crashed;
	char oops[256];
	jmp_buf *oops_jmp;
	int qmp_listen;
	uint64_t last_min_vruntime[SIM_MAX_VCPUS][17];  /* root, then groups */
};

struct timer {
	uint64_t at, seq;
	int kind, arg;
	struct sdom *d;
	int ev;                         /* index into sim->events */
};

enum { TM_WAKE, TM_START, TM_EXIT, TM_PHASE, TM_EVENT };

enum ev_kind { EV_PAUSE, EV_RESUME, EV_WEIGHT, EV_KILL, EV_NICE, EV_WAKE };

struct sevent {
	uint64_t at;
	enum ev_kind kind;
	struct sdom *d;
	int pid, value, line;
};

struct sim {
	char scenario[512];
	uint64_t seed;
	int pcpus;
	uint64_t slice_ns;
	uint64_t now;
	bool strict;
	bool halted;                    /* --strict saw a violation: time stops */
	struct sdom *doms[SIM_MAX_DOMAINS];
	int nr_doms;
	struct stask *tasks;
	int nr_tasks, cap_tasks;
	struct sevent *events;
	int nr_events;
	struct timer *heap;
	int nr_heap, cap_heap;
	uint64_t timer_seq;
	uint64_t obs_rng;               /* dice for the observation state */
	/* invariant violations */
	uint64_t violations;
	char last_violation[8][256];
	int nr_last;
	FILE *log;
};

/* mem.c: guest RAM and its address space */
int sim_mem_create(struct sdom *d, const char *dir, char *err, size_t errlen);
void *simk_host(struct sdom *d, uint64_t va, size_t size);
uint64_t simk_gva(struct sdom *d, const void *host);
bool simk_peek(struct sdom *d, uint64_t va, void *out, size_t n);
bool simk_pa(const struct sdom *d, uint64_t va, size_t size, uint64_t *pa);
uint64_t simk_alloc(struct sdom *d, size_t size);
void sim_mem_release(struct sdom *d);
int sim_write_system_map(const char *path);
struct rq *simk_rq(struct sdom *d, int cpu);
struct task_struct *simk_init_task(struct sdom *d);
void simk_oops(struct sdom *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#define G(d, p) ((__typeof__(p))simk_host((d), (uint64_t)(uintptr_t)(p), sizeof(*(p))))
#define GVA(d, hp) ((__typeof__(hp))(uintptr_t)simk_gva((d), (hp)))

/* rbtree.c: the CFS tree's red-black operations on guest memory */
void simk_rb_insert(struct sdom *d, struct rb_root_cached *root, struct rb_node *node_gva,
		    bool (*less)(struct sdom *, struct rb_node *, struct rb_node *));
void simk_rb_erase(struct sdom *d, struct rb_root_cached *root, struct rb_node *node_gva);
struct rb_node *simk_rb_next(struct sdom *d, struct rb_node *node_gva);

/* cfs.c: the guest scheduler */
void simk_init_kernel(struct sdom *d);
/* jiffies at host time t: each domain booted at its own moment. */
void simk_update_jiffies(struct sdom *d, uint64_t t);
uint64_t simk_new_task(struct sdom *d, struct stask *t);
void simk_wake_up_new_task(struct sdom *d, struct stask *t);
bool simk_try_to_wake_up(struct sdom *d, struct stask *t, unsigned state_mask);
void simk_block(struct sdom *d, struct stask *t, unsigned state);
void simk_exit(struct sdom *d, struct stask *t);
/* The running task is reaped (off every list) and preempted before it
 * dies: queued, TASK_RUNNING, PF_EXITING, EXIT_DEAD; simk_exit when next run. */
void simk_exit_reaped(struct sdom *d, struct stask *t);
void simk_schedule(struct sdom *d, int cpu);
void simk_tick(struct sdom *d, int cpu);
void simk_update_curr(struct sdom *d, int cpu);
void simk_set_nice(struct sdom *d, struct stask *t, int nice);
struct stask *simk_stask(struct sdom *d, struct task_struct *p_gva);
uint64_t simk_create_group(struct sdom *d, const char *name, unsigned long shares);
unsigned long simk_nice_weight(int nice);
void simk_lock(struct sdom *d, raw_spinlock_t *lock_gva);
void simk_unlock(struct sdom *d, raw_spinlock_t *lock_gva);

/* check.c: invariants after every step; ps's letter for a task state */
int sim_check_domain(struct sdom *d);
void sim_violation(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *sim_state_name(unsigned state, int exit_state);

/* hv.c: the hypervisor, time and the guests' programs */
void sim_start(struct sim *s);
void sim_step(struct sim *s, uint64_t ns);
void sim_pause(struct sdom *d);
void sim_resume(struct sdom *d);
void sim_timer_add(struct sim *s, uint64_t at, int kind, struct sdom *d, int arg);
void sim_print_truth(struct sim *s, FILE *out, bool json);
/* The truth as x-sim-tasks returns it: {time_ns, violations, tasks}. */
struct json_t *sim_truth_json(struct sim *s);
struct sdom *sim_domain(struct sim *s, const char *name);

/* scenario.c */
struct sim *sim_load(const char *path, uint64_t seed, char *err, size_t errlen);
void sim_free(struct sim *s);
uint64_t sim_parse_duration(const char *s, bool *ok);

/* qmp.c */
int sim_serve(struct sim *s, const char *dir, bool realtime);

#endif
