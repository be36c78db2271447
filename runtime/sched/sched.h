/*
 * sched.h - the tick loop: snapshot -> policy -> plan -> apply -> journal.
 *
 * struct xds_sched holds what the scheduler has done to the guests of one
 * host: the set of tasks it holds frozen (or is about to), the policy's
 * wishes for this tick, the journal that lets a later run thaw what a
 * crashed one left, per-task accounting and statistics.  A tick is:
 *
 *   xds_sched_advance()   time passes: one tick of the host's clock
 *                         (virtual, or slept on the wall clock)
 *   xds_sched_snapshot()  read every guest (no pause); settle the frozen
 *                         set against what the guests now show
 *   (the policy runs: xds_sched_request() for each wish)
 *   xds_sched_apply()     freeze and thaw what differs from the wishes,
 *                         domain by domain, pausing only domains that
 *                         change, writing only when their locks are free
 *
 * Policies live above (lua/); the run-queue surgery below (linux/).
 * Nothing is left frozen: xds_sched_fini thaws every task, and every
 * freeze is journaled before it is applied.
 */
#ifndef XDS_SCHED_H
#define XDS_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "host/host.h"

enum xds_hold {
	XH_NONE,        /* not held: runs as the guest's scheduler decides */
	XH_PENDING,     /* freeze wanted, not applied yet (retry next tick) */
	XH_DESCHED,     /* was running: told to leave the CPU, not yet gone */
	XH_FROZEN,      /* off its run queue, held by us */
};

struct xds_held {
	int guest;              /* index in host->guests */
	uint32_t gen;           /* that slot's generation when it was wished */
	uint64_t addr;          /* task_struct */
	int pid;
	uint64_t start;         /* its start_time: with pid, which task it is */
	char comm[16];
	enum xds_hold hold;
	bool want;              /* the latest wish: frozen (true) or not */
	uint64_t vruntime_rel;  /* saved at freeze, for the journal */
	char why[64];           /* the reason the policy gave with its wish, or "" */
	bool planned;           /* --dry-run: the plan has shown this wish */
};

/* Accounting per task over the run, from the snapshots (not ground truth). */
struct xds_acct {
	int guest, pid, tgid;
	char dom[64];                   /* the guest's name (its slot may be reused) */
	uint64_t addr;
	char comm[16];
	uint64_t cpu_first, cpu_last;   /* se.sum_exec_runtime at first/last sight */
	uint64_t wait_ns;               /* queued but not running, tick by tick */
	uint64_t frozen_ns;             /* held frozen by us */
	uint64_t seen_ns;               /* time it was seen alive */
	bool alive;                     /* in the latest snapshot */
	bool named;                     /* a policy wished it frozen or thawed */
};

/* Upper bounds of the duration histograms' buckets (Prometheus' le). */
#define XDS_HIST_BUCKETS 14
extern const uint64_t xds_hist_le_ns[XDS_HIST_BUCKETS];

struct xds_phase {
	uint64_t count, total_ns, max_ns;
	uint64_t le[XDS_HIST_BUCKETS];  /* how many took <= xds_hist_le_ns[i] */
};

struct xds_stats {
	uint64_t ticks;
	struct xds_phase snapshot, policy, apply, tick;
	struct xds_phase pause;         /* one entry per paused domain */
	struct xds_phase guest_pause[XDS_MAX_GUESTS];   /* the same, per guest slot */
	struct xds_phase late;          /* how late each tick started on the wall clock */
	uint64_t freezes, thaws;        /* completed */
	uint64_t retries;               /* deferred: lock held, kernel mode */
	uint64_t refusals;              /* refused: layout, corruption, check */
	uint64_t undone;                /* writes rolled back after a failed check */
	uint64_t kicks;                 /* idle vCPUs sent a wake-up after a thaw */
	uint64_t planned_freezes, planned_thaws;        /* --dry-run: the plan's changes */
};

struct xds_sched_opts {
	uint64_t tick_ns;               /* default 10 ms */
	const char *journal;            /* path; NULL: no journal */
	bool dry_run;                   /* plan only, write nothing */
	FILE *plan;                     /* --dry-run: the changes it would make; may be NULL */
	bool allow_protected;           /* freeze init, kernel threads, idle tasks too */
	FILE *trace;                    /* --trace: each change tried, its outcome and
					 * why, undone batches, kicks; may be NULL */
};

struct xds_sched;

/* Starts the scheduler on h (not owned).  A journal that a crashed run
 * left is recovered first. */
struct xds_sched *xds_sched_new(struct xds_host *h, const struct xds_sched_opts *o,
				struct xds_err *err);
/* Thaws every held task (failures go to the log, util/log.h), closes the
 * journal and frees s (NULL is fine).  -1 with err if some task could not
 * be thawed (the journal keeps it). */
int xds_sched_free(struct xds_sched *s, struct xds_err *err);

int xds_sched_advance(struct xds_sched *s, struct xds_err *err);
int xds_sched_snapshot(struct xds_sched *s, struct xds_err *err);
/* The policy's wish for task t of guest (from the current snapshot).  0:
 * recorded; 1: refused, t is protected (init, a kernel thread, an idle
 * task, an RT lock holder: err says which; the log says it once) unless
 * the options allow protected tasks; -1 with err.  xds_sched_force
 * records a wish on a protected task too (an explicit override). */
int xds_sched_request(struct xds_sched *s, int guest, const struct lx_task *t, bool freeze,
		      struct xds_err *err);
/* The same with the policy's reason (NULL: none), shown by --dry-run. */
int xds_sched_request_why(struct xds_sched *s, int guest, const struct lx_task *t, bool freeze,
			  const char *why, struct xds_err *err);
/* The same without the protection of init, kernel threads and idle tasks
 * (an explicit override: task:freeze{force = true}). */
int xds_sched_force(struct xds_sched *s, int guest, const struct lx_task *t, bool freeze,
		    struct xds_err *err);
/* Why t must not be frozen in this run (linux.h's LX_PROTECT_*), or NULL
 * (not protected, or the run has allow_protected). */
const char *xds_sched_protected(const struct xds_sched *s, const struct lx_task *t);
int xds_sched_apply(struct xds_sched *s, struct xds_err *err);
/* Wish every held task thawed and apply: a policy stopped, an exit. */
int xds_sched_thaw_all(struct xds_sched *s, struct xds_err *err);

/* The held entry of a task, or NULL. */
const struct xds_held *xds_sched_held(const struct xds_sched *s, int guest, uint64_t addr);
/* Frozen as far as a policy is concerned: held, or wished frozen. */
bool xds_sched_is_frozen(const struct xds_sched *s, int guest, uint64_t addr);
/* The held set, and the accounting, entry by entry. */
int xds_sched_nr_held(const struct xds_sched *s);
const struct xds_held *xds_sched_held_at(const struct xds_sched *s, int i);
int xds_sched_nr_acct(const struct xds_sched *s);
const struct xds_acct *xds_sched_acct_at(const struct xds_sched *s, int i);

const struct xds_stats *xds_sched_stats(const struct xds_sched *s);
/* The policy's and the whole tick's share of a tick, measured above. */
void xds_sched_add_policy_ns(struct xds_sched *s, uint64_t ns);
void xds_sched_add_tick_ns(struct xds_sched *s, uint64_t ns);
void xds_sched_set_tick(struct xds_sched *s, uint64_t tick_ns);
/* Host time of the latest snapshot, and since the scheduler started. */
uint64_t xds_sched_now(const struct xds_sched *s);
uint64_t xds_sched_elapsed(const struct xds_sched *s);
struct xds_host *xds_sched_host(const struct xds_sched *s);

/* Thaw what a journal lists, attaching its guests again (--recover; a run
 * that finds a journal left by a crash does the same with its own guests).
 * A journal is locked by the run that writes it: recovering one that a
 * live xds-lua holds is refused. */
int xds_sched_recover(const char *journal, struct xds_err *err);

#endif
