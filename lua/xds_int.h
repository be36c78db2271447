/*
 * xds_int.h - what the files of the `xds` module share, and nothing else.
 *
 * One struct xds_lstate per Lua state: the host and whether its latest
 * snapshot is the current one.  It is the first upvalue of every module
 * function (and lives in the registry for the C API of xds.h).  Task
 * objects (task.c) and filters (filter.c) are built on it.
 */
#ifndef XDS_LUA_INT_H
#define XDS_LUA_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <lua.h>

#include "host/host.h"

struct xds_sched;

#define XDS_LUA_STATE "xds.state"
#define XDS_LUA_TASK  "xds.task"

struct xds_run;

struct xds_lstate {
	struct xds_host *host;
	bool fresh;                 /* host's latest snapshot is current */
	/* a new snapshot through the tick driver (NULL: the host's own) */
	int (*refresh)(void *ctx, struct xds_err *err);
	void *refresh_ctx;
	struct xds_sched *sched;    /* the driver's scheduler, or NULL */
	struct xds_run *run;        /* the tick driver (run.c), or NULL */
	bool in_tick;               /* a policy's tick or stop is running */
	bool dry;                   /* freeze/thaw are counted, not wished */
	int dry_wishes;             /* wishes counted while dry */
};

/* The state in upvalue 1 of the running C function. */
struct xds_lstate *xds_lua_upstate(lua_State *L);

/* Take a new snapshot if the current one expired.  Raises an error only
 * when no guest could be read for a reason not recorded per guest. */
void xds_lua_fresh(lua_State *L, struct xds_lstate *s);

/* Task objects (task.c).  The state userdata must be on top of the stack
 * for xds_task_init, which creates the metatable. */
void xds_task_init(lua_State *L);
void xds_task_push(lua_State *L, int guest, int task);
/* task.frozen: held by the scheduler, or wished frozen. */
bool xds_task_frozen(const struct xds_lstate *s, int guest, const struct lx_task *t);
/* t's thread-group leader in the same snapshot, or t itself when it was not read. */
const struct lx_task *xds_task_leader(const struct xds_lstate *s, int guest, const struct lx_task *t);
/* The same with the state given (outside the module's own C functions). */
void xds_task_pushs(lua_State *L, struct xds_lstate *s, int guest, int task);
/* The task at idx, checked against the current snapshot; raises if it
 * expired.  *guest receives its guest index. */
const struct lx_task *xds_task_check(lua_State *L, int idx, int *guest);
/* Index of the guest whose name is at idx (string or domain table). */
int xds_lua_checkdom(lua_State *L, struct xds_lstate *s, int idx);

/* The state of L (from the registry), or NULL if the module is not open. */
struct xds_lstate *xds_lua_state(lua_State *L);

/* A domain table {name, vcpus, tasks, slide[, error]}. */
void xds_lua_push_domain(lua_State *L, const struct xds_guest *g);

/* A duration at idx: seconds, or a string "10ms", "2s", "1.5min". */
uint64_t xds_lua_checkduration(lua_State *L, int idx);

/* xds.tasks and ps (filter.c) */
int xds_lua_tasks(lua_State *L);
/* xds.ps and the global ps([filter [, sort]]): sort "cpu", "pid", "dom",
 * "comm", "-KEY" reversed; prints, returns the row count. */
int xds_lua_ps(lua_State *L);

#endif
