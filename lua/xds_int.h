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

#include "sched/host.h"

#define XDS_LUA_STATE "xds.state"
#define XDS_LUA_TASK  "xds.task"

struct xds_lstate {
	struct xds_host *host;
	bool fresh;                 /* host's latest snapshot is current */
	/* xds_host_snapshot; unit tests put a fake in its place */
	int (*snapshot)(struct xds_host *h, struct xds_err *err);
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
/* The task at idx, checked against the current snapshot; raises if it
 * expired.  *guest receives its guest index. */
const struct lx_task *xds_task_check(lua_State *L, int idx, int *guest);
/* Index of the guest whose name is at idx (string or domain table). */
int xds_lua_checkdom(lua_State *L, struct xds_lstate *s, int idx);

/* xds.tasks and ps (filter.c) */
int xds_lua_tasks(lua_State *L);
int xds_lua_ps(lua_State *L);

#endif
