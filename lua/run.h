/*
 * run.h - the tick driver: time, snapshot, policy, apply, over and over.
 *
 * struct xds_run ties a host, its scheduler (runtime/sched) and at most one
 * loaded policy (lua/policy.h).  A tick advances time, takes a snapshot
 * through the scheduler, expires every Lua object of the old snapshot in
 * every Lua state that knows the driver, runs the policy's tick and
 * applies its wishes.  A policy that fails (error, budget, forbidden call)
 * is stopped, every task is thawed, and the tick reports why.  SIGHUP
 * reloads the policy between ticks.  The CLI (cli/main.c) and the Lua
 * functions xds.load, xds.step, xds.run ... (run.c) drive it; the report
 * at the end of a run comes from the scheduler's accounting and, where
 * the host keeps one, the host's own account of its tasks.
 */
#ifndef XDS_LUA_RUN_H
#define XDS_LUA_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <lua.h>

#include "util/err.h"

#define XDS_RUN_MAX_STATES 8

struct xds_host;
struct xds_sched;
struct xds_policy;
struct xds_policy_opts;
struct xds_run;

struct xds_run_opts {
	uint64_t tick_ns;               /* --tick; 0: the policy's tick_ms, else 10 ms */
	bool unsafe;                    /* policies without the sandbox */
	bool realtime;                  /* ticks follow the wall clock */
	/* After every tick that ran (observers: metrics, timeline); may be NULL. */
	void (*on_tick)(void *ctx, struct xds_run *r);
	void *tick_ctx;
	volatile sig_atomic_t *stop;    /* set by SIGINT/SIGTERM: end a run */
	volatile sig_atomic_t *reload;  /* set by SIGHUP: reload between ticks */
	bool dry_run;                   /* for the report: nothing was changed */
	bool check;                     /* xds-lua check: the policy's findings are kept */
	volatile sig_atomic_t *status;  /* set by SIGUSR1: a status on log between ticks */
};

/* The report's format (docs/report.md): raised when a field changes meaning
 * or goes; new fields may appear without it. */
#define XDS_REPORT_FORMAT 1

#define XDS_RUN_MAX_FINDINGS 64

struct xds_run {
	struct xds_host *host;
	struct xds_sched *sched;        /* NULL: no scheduler (no host) */
	struct xds_run_opts opt;
	struct xds_policy *policy;      /* the loaded policy, or NULL */
	char policy_name[128];          /* the last policy run, for the report */
	char **args;                    /* its arguments (copies, for reloads) */
	int nargs;
	uint64_t ticks;                 /* ticks run */
	uint64_t start_ns;              /* host time of the first tick */
	bool busy;                      /* a tick is running */
	uint64_t reloads;               /* SIGHUP reloads that took */
	uint64_t policy_errors;         /* policies stopped by an error, reloads refused */
	uint64_t last_tick_ns;          /* the latest tick's work, wall time */
	uint64_t overruns, overrun_worst_ns;    /* since the last warning */
	uint64_t overrun_said_ns;       /* host time of the last warning, if overrun_said */
	bool overrun_said;
	const char *stop;               /* why xds_run_loop ended: "duration",
					 * "signal", "error"; NULL: it did not run */
	struct xds_err error;           /* the error that stopped it, or "" */
	lua_State *states[XDS_RUN_MAX_STATES];  /* to expire after a snapshot */
	int nr_states;
	/* xds-lua check: what the policy found (xds.finding), each once */
	char *findings[XDS_RUN_MAX_FINDINGS];
	int nr_findings;
};

void xds_run_init(struct xds_run *r, struct xds_host *h, struct xds_sched *s,
		  const struct xds_run_opts *o);
/* Stops and frees the policy (thawing), forgets the states. */
void xds_run_fini(struct xds_run *r);

/* Take p (loaded, recognised as a policy) as the running policy, with its
 * arguments (copied); a previous one is unloaded first. */
int xds_run_set_policy(struct xds_run *r, struct xds_policy *p, int nargs, char **args,
		       struct xds_err *err);
/* Options for a policy state this driver will run: the module opened on
 * its host, the driver's functions in it. */
void xds_run_policy_opts(struct xds_run *r, struct xds_policy_opts *po);
/* Load path as the policy (sandboxed unless opt.unsafe; its chunk on the
 * budgets); -1 if it fails or is no policy. */
int xds_run_load(struct xds_run *r, const char *path, int nargs, char **args,
		 struct xds_err *err);
/* Call the policy's stop(), thaw every task, free it.  0 if none. */
int xds_run_unload(struct xds_run *r, struct xds_err *err);
/* Compile the policy file again in a fresh state, rehearse a tick against
 * the last snapshot (wishes counted, not made), swap.  On failure the old
 * policy stays and err says why. */
int xds_run_reload(struct xds_run *r, struct xds_err *err);

/* One tick.  -1 with err if the policy failed (it is then unloaded and
 * every task thawed) or the scheduler did.  A signal (stop, reload) that
 * cuts the wait for a real-time tick short makes it no tick, and 0. */
int xds_run_tick(struct xds_run *r, struct xds_err *err);
/* Ticks until duration_ns of host time passed (0: forever) or *opt.stop. */
int xds_run_loop(struct xds_run *r, uint64_t duration_ns, struct xds_err *err);

/* Snapshot through the scheduler; every known Lua state sees it as current. */
int xds_run_snapshot(struct xds_run *r, struct xds_err *err);
struct xds_sched *xds_run_sched(struct xds_run *r);

/* The JSON report (--report), and the table on f (ours beside the host's
 * own account where it keeps one). */
int xds_run_report(struct xds_run *r, const char *path, struct xds_err *err);
void xds_run_print_table(struct xds_run *r, FILE *f);

/* In L (where xds_lua_open ran): xds.load, unload, step, run, frozen,
 * stats; L is expired with every snapshot from now on. */
void xds_run_open(lua_State *L, struct xds_run *r);
/* L is about to close. */
void xds_run_forget(struct xds_run *r, lua_State *L);

/* For the REPL (repl/): the driver L was opened with, or NULL; apply the
 * wishes made since the last tick now, between ticks (snapshots expire);
 * thaw every task held, *n receiving how many were held or wished. */
struct xds_run *xds_run_of(lua_State *L);
int xds_run_apply(struct xds_run *r, struct xds_err *err);

/* The status (status.c): guests, held tasks, tick figures, on f. */
void xds_run_print_status(struct xds_run *r, FILE *f);
/* "none", "pending", "desched", "frozen" */
const char *xds_run_hold_name(int hold);
int xds_run_thaw_all(struct xds_run *r, int *n, struct xds_err *err);

#endif
