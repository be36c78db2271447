/*
 * policy.h - a policy file in its own Lua state: sandbox and budgets.
 *
 * Every policy (and every script given to the CLI) gets a fresh Lua state
 * of its own: its globals are its own, its memory is counted by its own
 * allocator, and an instruction-count hook bounds each call the tick driver
 * makes into it.  The `xds` module is opened in it over the host and the
 * tick driver (lua/run.h).  What a tick is, and what happens when a policy
 * fails (thaw, unload, exit), is the tick driver's business: this file
 * only runs the policy and says why it failed, naming file and line.
 */
#ifndef XDS_LUA_POLICY_H
#define XDS_LUA_POLICY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "util/err.h"

#define XDS_POLICY_BUDGET  50000000u        /* VM instructions per call */
/* Wall clock per call into a policy, C calls included (lua/watchdog.c):
 * 50M instructions take well under a second; a loaded host gets slack. */
#define XDS_POLICY_DEADLINE_NS 2000000000ULL
#define XDS_POLICY_MEMCAP  (64u << 20)      /* bytes of the policy's state */

struct xds_host;
struct xds_policy;

struct xds_policy_opts {
	bool unsafe;                /* full libraries; budgets stay */
	uint64_t budget;            /* instructions per call; 0: XDS_POLICY_BUDGET */
	size_t mem_cap;             /* bytes; 0: XDS_POLICY_MEMCAP */
	struct xds_host *host;      /* for the xds module; NULL: no module */
	/* a tick driver's: after the module is opened in the new state, and
	 * before the state is closed (may be NULL) */
	void (*on_open)(lua_State *L, void *ctx);
	void (*on_close)(lua_State *L, void *ctx);
	void *hook_ctx;
};

/* A fresh state for the file at path (not run yet).  NULL with err.  A
 * bare file name not in the current folder is looked for in the policy
 * folders ($XDS_LUA_PATH, the build tree's policies/, the installed
 * share/xds-lua/policies); xds_policy_path() gives the file found. */
struct xds_policy *xds_policy_new(const char *path, const struct xds_policy_opts *o,
				  struct xds_err *err);
/* Calls nothing (see xds_policy_stop); closes the state. */
void xds_policy_free(struct xds_policy *p);

/* Run the file's chunk with args[0..nargs) in `arg` and as `...`; the
 * chunk is budgeted when budget is true (a file known to be a policy), else
 * it runs as long as it likes (a CLI script) but SIGINT stops it.
 * Returns 1 when the file is a policy (it returned a table with a tick
 * function, or defined a global tick), 0 when it is a plain script, -1
 * with the error and its traceback in err. */
int xds_policy_exec(struct xds_policy *p, int nargs, char **args, bool budget,
		    struct xds_err *err);

/* The CLI's `arg`: argv[script] at 0, options before it negative, the
 * script's arguments after it.  Else xds_policy_exec sets arg[0] to the
 * path and arg[1..] to its arguments. */
void xds_policy_set_argv(struct xds_policy *p, int argc, char **argv, int script);

/* One tick: snap = { time, tick, tasks, domains } over the host's latest
 * snapshot (taken by the caller), then tick(snap) under the budgets.  With
 * dry, task:freeze() and task:thaw() only count (a reload's rehearsal).
 * -1 with "FILE:LINE: message" and a traceback on any failure. */
int xds_policy_tick(struct xds_policy *p, uint64_t tick, double time_s, bool dry,
		    struct xds_err *err);
/* Call the policy's stop() once (if it has one), under the budgets. */
/* Stop the running call at its next VM instruction, as overrun (the
 * watchdog, from its thread; a C call that never returns is not stopped). */
void xds_policy_interrupt(struct xds_policy *p);
int xds_policy_stop(struct xds_policy *p, struct xds_err *err);

const char *xds_policy_name(const struct xds_policy *p);
const char *xds_policy_path(const struct xds_policy *p);
/* The policy's tick_ms, 0 if it gave none. */
uint64_t xds_policy_tick_ms(const struct xds_policy *p);
lua_State *xds_policy_state(struct xds_policy *p);
/* Bytes its state holds now. */
size_t xds_policy_memory(const struct xds_policy *p);

/* Puts the policies/lib folders (of $XDS_LUA_PATH, the build tree and the
 * installed tree) before package.path in L (the CLI's own state): `-l
 * policy` finds policies/lib/policy.lua from anywhere. */
void xds_policy_open_path(lua_State *L);

/* A flag set by the process's SIGINT/SIGTERM handler: an unbudgeted chunk
 * (a CLI script) stops with "interrupted!" when it is set.  Budgeted calls
 * (ticks) ignore it: the tick driver checks it between ticks. */
void xds_policy_set_interrupt(volatile sig_atomic_t *flag);

/* A message handler for lua_pcall: the error (or its __tostring) with a
 * traceback, as lua.c gives it. */
int xds_lua_msghandler(lua_State *L);

#endif
