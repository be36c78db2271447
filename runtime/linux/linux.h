/*
 * linux.h - the guest kernel model: tasks and run queues read from a guest.
 *
 * A struct lx_guest is one attached Linux kernel: a backend domain, the
 * profile of its build, its page tables (from vCPU 0's CR3) and its KASLR
 * slide, found at attach time by locating linux_banner.  lx_snapshot reads
 * every task (the thread-group leaders on init_task's task list, each
 * leader's threads on its signal->thread_head, and any task found on a run
 * queue but on no list) and every vCPU's run queue (curr and the CFS tree
 * in vruntime order), without pausing the guest.  Every walk is bounded and every address checked: a corrupt guest
 * gives an error that names the address, never a hang or a crash.
 *
 * This layer is the only one that knows struct offsets (through the
 * profile).  It also freezes and thaws tasks, with the rules of the
 * kernel's scheduler family, chosen at attach from the profile's fields.
 * Inside: linux.c (attach), view.c, task.c, snapshot.c (reading); txn.c,
 * shadow.c, freeze.c, acct.c, resched.c (writing); family.c, cfs.c (the
 * families).
 */
#ifndef XDS_LINUX_H
#define XDS_LINUX_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "profile/profile.h"
#include "util/bounds.h"
#include "util/err.h"

#define LX_MAX_TASKS  XDS_MAX_TASKS     /* the bounds, under their older names */
#define LX_MAX_CPUS   XDS_MAX_CPUS

struct lx_task {
	uint64_t addr;          /* guest VA of the task_struct */
	int pid, tgid;
	char comm[16];
	char state;             /* ps's letter: R S D T t X Z P I */
	unsigned raw_state;     /* task_struct.__state (or .state) */
	int cpu;
	int nice;               /* static_prio - 120 */
	int prio;
	uint64_t cputime_ns;    /* se.sum_exec_runtime */
	uint64_t vruntime;
	uint64_t start_ns;      /* task_struct.start_time: fork, on the boot's clock
				 * (0: the profile has no start_time) */
	bool queued;            /* se.on_rq: in its run queue (tree or curr) */
	bool running;           /* rq->curr of its CPU */
	unsigned protect;       /* LX_PROTECT_*: why freezing it could hang the guest */
	int leader;             /* index of its thread-group leader in tasks (itself
				 * for a leader), or -1: not in the snapshot */
	bool unlisted;          /* found on a run queue but on no task list: an
				 * exiting task, or one linked while we read */
	bool exiting;           /* PF_EXITING or exit_state: never frozen */
};

/* Tasks that must not be frozen without an explicit override: the guest's
 * init, its kernel threads (PF_KTHREAD) and idle tasks (PF_IDLE, pid 0),
 * and, on RT kernels, a task waiting on an rtlock or boosted by priority
 * inheritance (another task waits for a lock it holds). */
enum {
	LX_PROTECT_INIT = 1,
	LX_PROTECT_KTHREAD = 2,
	LX_PROTECT_IDLE = 4,
	LX_PROTECT_RTLOCK = 8,
	LX_PROTECT_PI = 16,
};
/* Why t is protected ("the guest's init (pid 1)", ...), or NULL. */
const char *lx_protect_reason(unsigned protect);

struct lx_rq {
	int cpu;
	uint64_t addr;          /* guest VA of this CPU's struct rq */
	int curr;               /* index into tasks, or -1 (the idle task) */
	unsigned nr_running;    /* rq->nr_running */
	uint64_t min_vruntime;  /* rq->cfs.min_vruntime */
	int *tree;              /* task indexes in vruntime order (top level) */
	int nr_tree;
	bool locked;            /* rq lock held at the time of the read */
};

struct lx_snapshot {
	struct lx_task *tasks;
	int nr_tasks;
	struct lx_rq *rqs;
	int nr_cpus;
};

struct lx_guest;

/* Attach to domain dom of be with the kernel described by prof (copied).
 * Finds CR3 and the KASLR slide; checks the profile against the guest's
 * banner.  NULL with err on failure. */
struct lx_guest *lx_attach(struct backend *be, int dom, const struct profile *prof,
			   struct xds_err *err);
void lx_detach(struct lx_guest *g);

uint64_t lx_slide(const struct lx_guest *g);
/* The kernel's linux_banner as its profile names it (for the log). */
const char *lx_banner(const struct lx_guest *g);
/* Where the profile came from ("guest memory 6.1.0 (BTF + kallsyms)"). */
const char *lx_profile_source(const struct lx_guest *g);
/* Drop cached translations: after the guest ran, or its tables changed. */
void lx_forget(struct lx_guest *g);
/* The kernel's jiffies as the guest's memory holds it now, and where it
 * is (guest-physical): a word that a running guest changes every tick,
 * which tells two guests apart.  1 if the profile has no jiffies. */
int lx_jiffies(struct lx_guest *g, uint64_t *value, uint64_t *pa, struct xds_err *err);
int lx_nr_cpus(const struct lx_guest *g);

/* Read every task and run queue.  On error the snapshot is empty. */
int lx_snapshot(struct lx_guest *g, struct lx_snapshot *out, struct xds_err *err);
void lx_snapshot_free(struct lx_snapshot *s);

/*
 * Freeze and thaw (freeze.c).  The domain must be paused.  Each returns
 * LX_OK, LX_RETRY (not now: a lock is held, the task runs in kernel mode,
 * sleeps, or has not left its CPU yet; err says which) or LX_FAIL (refused,
 * err says why; anything written was undone).  pid and start guard against
 * a task_struct reused by another task: lx_thaw says LX_GONE when the
 * task_struct now holds another pid, or one forked at another time than
 * start (the task exited, the guest rebooted; start 0: not known), with err
 * saying which, and writes nothing.
 */
enum { LX_FAIL = -1, LX_OK = 0, LX_RETRY = 1, LX_GONE = 2 };

enum lx_hold {
	LX_HOLD_DEQUEUED,       /* off its run queue, TASK_RUNNING: held */
	LX_HOLD_DESCHED,        /* was running: told to leave its CPU */
};

/* Whether this kernel's scheduler family can change a run queue (false:
 * ps and reads only, e.g. eevdf for now); *family names it. */
bool lx_can_write(const struct lx_guest *g, const char **family);
int lx_freeze(struct lx_guest *g, uint64_t task, int pid, enum lx_hold *hold, struct xds_err *err);
int lx_thaw(struct lx_guest *g, uint64_t task, int pid, uint64_t start, struct xds_err *err);

/* Batch the operations of one pause: trees read once, verification once at
 * lx_commit, which undoes the whole batch if the check fails (LX_FAIL). */
void lx_begin(struct lx_guest *g);
int lx_commit(struct lx_guest *g, struct xds_err *err);

/* From now until the next call, walks of g (task list, trees) fail once
 * CLOCK_MONOTONIC passes deadline_ns (0: no deadline), with a message
 * that says so; lx_past_deadline tells such a failure from others. */
void lx_set_deadline(struct lx_guest *g, uint64_t deadline_ns);
bool lx_past_deadline(const struct lx_guest *g);

/* Called before each write into g's memory with the bytes it replaces
 * (old) and the bytes it writes (val), so that a process killed between
 * two writes of a batch can be undone from the log by the next run
 * (lx_restore); a failing log stops the write.  fn NULL: none. */
typedef int (*lx_write_log_fn)(void *ctx, uint64_t va, unsigned len, uint64_t old, uint64_t val);
void lx_set_write_log(struct lx_guest *g, lx_write_log_fn fn, void *ctx);
/* Put len (1 to 8) bytes of old back at va, unlogged: replaying the undo
 * log of a batch a crash cut short, the guest paused.  With check, only
 * where the guest still holds what was written (expect): a word the write
 * never reached, one undone already, or memory of another boot is left as
 * it is (1); 0 when restored, -1 with err. */
int lx_restore(struct lx_guest *g, uint64_t va, unsigned len, uint64_t old, bool check, uint64_t expect,
	       struct xds_err *err);

/* Wake the idle CPUs (vCPUs) that committed changes asked to reschedule
 * since the last call, where the backend can (be_kick): a task made
 * runnable there would otherwise wait for the CPU's next interrupt.  Call
 * after the domain is resumed.  *sent: how many were sent; -1 with err if
 * the backend failed (the rest are still tried). */
int lx_kick(struct lx_guest *g, int *sent, struct xds_err *err);

/* ps's state letter for a raw state value. */
char lx_state_letter(unsigned state, int exit_state);

#endif
