/*
 * xds.c - the `xds` module table: domains, run queues, time and snapshots.
 *
 * Owns the per-state struct xds_lstate and the lazy snapshot: an expiry
 * (xds.refresh, xds.advance, xds_lua_expire) only clears `fresh`; the next
 * xds.* call that reads the guests takes the new snapshot through the
 * host, or through the tick driver (run.c) when there is one, so that the
 * scheduler sees every snapshot.  Inside a policy's tick time stands
 * still: xds.advance and xds.refresh refuse.  Task objects live in task.c,
 * xds.tasks and ps in filter.c, the tick driver's functions (xds.step,
 * xds.load, ...) in run.c.  The host itself (attach, snapshot, simulator)
 * belongs to runtime/sched.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "lua/xds.h"
#include "lua/run.h"
#include "lua/xds_int.h"

void xds_lua_fresh(lua_State *L, struct xds_lstate *s)
{
	struct xds_host *h = s->host;
	struct xds_err err = {""};
	if (s->fresh)
		return;
	s->fresh = true;
	if (h->nr_guests == 0)
		return;
	if ((s->run ? xds_run_snapshot(s->run, &err) : s->snapshot(h, &err)) == 0)
		return;
	for (int i = 0; i < h->nr_guests; i++)
		if (h->guests[i].error[0])
			return;
	luaL_error(L, "xds: snapshot failed: %s", err.msg);
}

int xds_lua_checkdom(lua_State *L, struct xds_lstate *s, int idx)
{
	const char *name;
	if (lua_istable(L, idx)) {
		lua_getfield(L, idx, "name");
		name = lua_tostring(L, -1);
		lua_pop(L, 1);
		luaL_argexpected(L, name != NULL, idx, "domain name or domain");
	} else {
		name = luaL_checkstring(L, idx);
	}
	for (int i = 0; i < s->host->nr_guests; i++)
		if (strcmp(s->host->guests[i].name, name) == 0)
			return i;
	return luaL_error(L, "no domain named '%s'", name);
}

void xds_lua_push_domain(lua_State *L, const struct xds_guest *g)
{
	lua_createtable(L, 0, 5);
	lua_pushstring(L, g->name);
	lua_setfield(L, -2, "name");
	lua_pushinteger(L, g->lx ? lx_nr_cpus(g->lx) : g->snap.nr_cpus);
	lua_setfield(L, -2, "vcpus");
	lua_pushinteger(L, g->error[0] ? 0 : g->snap.nr_tasks);
	lua_setfield(L, -2, "tasks");
	lua_pushinteger(L, g->lx ? (lua_Integer)lx_slide(g->lx) : 0);
	lua_setfield(L, -2, "slide");
	if (g->error[0]) {
		lua_pushstring(L, g->error);
		lua_setfield(L, -2, "error");
	}
}

static int xds_domains(lua_State *L)
{
	struct xds_lstate *s = xds_lua_upstate(L);
	xds_lua_fresh(L, s);
	lua_createtable(L, s->host->nr_guests, 0);
	for (int i = 0; i < s->host->nr_guests; i++) {
		xds_lua_push_domain(L, &s->host->guests[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

static void push_rq_tasks(lua_State *L, const struct xds_guest *g, int guest,
			  const struct lx_rq *rq)
{
	lua_createtable(L, rq->nr_tree, 0);
	for (int i = 0, n = 0; i < rq->nr_tree; i++) {
		if (rq->tree[i] < 0 || rq->tree[i] >= g->snap.nr_tasks)
			continue;
		xds_task_push(L, guest, rq->tree[i]);
		lua_rawseti(L, -2, ++n);
	}
	lua_setfield(L, -2, "tasks");
}

static int xds_runqueue(lua_State *L)
{
	struct xds_lstate *s = xds_lua_upstate(L);
	xds_lua_fresh(L, s);
	int guest = xds_lua_checkdom(L, s, 1);
	lua_Integer cpu = luaL_checkinteger(L, 2);
	const struct xds_guest *g = &s->host->guests[guest];
	if (g->error[0])
		return luaL_error(L, "domain %s has no snapshot: %s", g->name, g->error);
	luaL_argcheck(L, cpu >= 0 && cpu < g->snap.nr_cpus, 2, "no such CPU");
	const struct lx_rq *rq = &g->snap.rqs[cpu];
	lua_createtable(L, 0, 6);
	lua_pushinteger(L, rq->cpu);
	lua_setfield(L, -2, "cpu");
	if (rq->curr >= 0 && rq->curr < g->snap.nr_tasks) {
		xds_task_push(L, guest, rq->curr);
		lua_setfield(L, -2, "curr");
	}
	lua_pushinteger(L, rq->nr_running);
	lua_setfield(L, -2, "nr_running");
	lua_pushinteger(L, (lua_Integer)rq->min_vruntime);
	lua_setfield(L, -2, "min_vruntime");
	lua_pushboolean(L, rq->locked);
	lua_setfield(L, -2, "locked");
	push_rq_tasks(L, g, guest, rq);
	return 1;
}

/* Time stands still inside a policy's tick. */
static struct xds_lstate *outside_tick(lua_State *L, const char *fn)
{
	struct xds_lstate *s = xds_lua_upstate(L);
	if (s->in_tick)
		luaL_error(L, "%s: not allowed inside a policy's tick", fn);
	return s;
}

static int xds_refresh(lua_State *L)
{
	outside_tick(L, "xds.refresh")->fresh = false;
	return 0;
}

static const struct { const char *name; double ns; } units[] = {
	{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"", 1e9}, {"min", 60e9}, {NULL, 0}
};

/* A duration: a number of seconds, or a string "10ms", "2s", "1.5min". */
uint64_t xds_lua_checkduration(lua_State *L, int idx)
{
	double ns = -1;
	if (lua_type(L, idx) == LUA_TNUMBER) {
		ns = lua_tonumber(L, idx) * 1e9;
	} else {
		const char *str = luaL_checkstring(L, idx);
		char *end;
		double v = strtod(str, &end);
		for (int i = 0; end != str && units[i].name; i++)
			if (strcmp(end, units[i].name) == 0)
				ns = v * units[i].ns;
	}
	luaL_argcheck(L, isfinite(ns) && ns >= 0 && ns < 1e18, idx,
		      "duration expected (seconds, or a string like \"10ms\", \"2s\")");
	return (uint64_t)ns;
}

/* Sleeps stop early when a signal handler set a hook (the CLI's SIGINT). */
static void sleep_ns(lua_State *L, uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && lua_gethook(L) == NULL)
		;
}

static int xds_advance(lua_State *L)
{
	struct xds_lstate *s = outside_tick(L, "xds.advance");
	uint64_t ns = xds_lua_checkduration(L, 1);
	s->fresh = false;
	if (s->host->sim_pid > 0) {
		struct xds_err err = {""};
		if (xds_host_sim_step(s->host, ns, &err) < 0)
			return luaL_error(L, "xds.advance: %s", err.msg);
	} else {
		sleep_ns(L, ns);
	}
	return 0;
}

static int xds_time(lua_State *L)
{
	struct xds_lstate *s = xds_lua_upstate(L);
	struct timespec ts;
	if (s->host->sim_pid > 0) {
		lua_pushnumber(L, (lua_Number)s->host->sim_time_ns / 1e9);
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
	return 1;
}

static const luaL_Reg xds_funcs[] = {
	{"domains", xds_domains},
	{"tasks", xds_lua_tasks},
	{"runqueue", xds_runqueue},
	{"refresh", xds_refresh},
	{"advance", xds_advance},
	{"time", xds_time},
	{"ps", xds_lua_ps},
	{NULL, NULL}
};

void xds_lua_open(lua_State *L, struct xds_host *h)
{
	struct xds_lstate *s = lua_newuserdatauv(L, sizeof *s, 0);
	memset(s, 0, sizeof *s);
	s->host = h;
	s->snapshot = xds_host_snapshot;
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, XDS_LUA_STATE);
	xds_task_init(L);
	luaL_newlibtable(L, xds_funcs);
	lua_rotate(L, -2, 1);
	luaL_setfuncs(L, xds_funcs, 1);
	lua_getfield(L, -1, "ps");          /* ps() is also a global */
	lua_setglobal(L, "ps");
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_pushvalue(L, -2);
	lua_setfield(L, -2, "xds");
	lua_pop(L, 1);
	lua_setglobal(L, "xds");
}

struct xds_lstate *xds_lua_state(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, XDS_LUA_STATE);
	struct xds_lstate *s = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return s;
}

void xds_lua_expire(lua_State *L)
{
	struct xds_lstate *s = xds_lua_state(L);
	if (s)
		s->fresh = false;
}

struct xds_host *xds_lua_host(lua_State *L)
{
	struct xds_lstate *s = xds_lua_state(L);
	return s ? s->host : NULL;
}
