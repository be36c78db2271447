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
 * xds.load, ...) in run.c.  The host itself (attach, snapshot, clock)
 * belongs to runtime/host; a kind of host's own controls appear here as
 * xds.<kind>.<control>, by the names the host gives.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "lua/guard.h"
#include "lua/xds.h"
#include "lua/xds_int.h"
#include "util/json.h"

void xds_lua_push_domain(lua_State *L, const struct xds_guest *g)
{
	const struct lx_snapshot *snap = xds_guest_snapshot(g);
	const char *error = xds_guest_error(g);
	bool writes;
	lua_createtable(L, 0, 7);
	lua_pushstring(L, xds_guest_family(g, &writes));
	lua_setfield(L, -2, "family");
	lua_pushboolean(L, writes);
	lua_setfield(L, -2, "writable");
	lua_pushstring(L, xds_guest_name(g));
	lua_setfield(L, -2, "name");
	lua_pushinteger(L, xds_guest_vcpus(g));
	lua_setfield(L, -2, "vcpus");
	lua_pushinteger(L, error[0] ? 0 : snap->nr_tasks);
	lua_setfield(L, -2, "tasks");
	lua_pushinteger(L, (lua_Integer)xds_guest_slide(g));
	lua_setfield(L, -2, "slide");
	lua_pushstring(L, xds_guest_profile_source(g));
	lua_setfield(L, -2, "profile");
	if (error[0]) {
		lua_pushstring(L, error);
		lua_setfield(L, -2, "error");
	}
}

static int xds_domains(lua_State *L)
{
	struct xds_lstate *s = xds_lua_upstate(L);
	xds_lua_fresh(L, s);
	lua_createtable(L, xds_host_nr_guests(s->host), 0);
	for (int i = 0; i < xds_host_nr_guests(s->host); i++) {
		xds_lua_push_domain(L, xds_host_guest(s->host, i));
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

static void push_rq_tasks(lua_State *L, const struct lx_snapshot *snap, int guest,
			  const struct lx_rq *rq)
{
	lua_createtable(L, rq->nr_tree, 0);
	for (int i = 0, n = 0; i < rq->nr_tree; i++) {
		if (rq->tree[i] < 0 || rq->tree[i] >= snap->nr_tasks)
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
	const struct xds_guest *g = xds_host_guest(s->host, guest);
	const struct lx_snapshot *snap = xds_guest_snapshot(g);
	if (xds_guest_error(g)[0])
		return luaL_error(L, "domain %s has no snapshot: %s", xds_guest_name(g), xds_guest_error(g));
	luaL_argcheck(L, cpu >= 0 && cpu < snap->nr_cpus, 2, "no such CPU");
	const struct lx_rq *rq = &snap->rqs[cpu];
	lua_createtable(L, 0, 6);
	lua_pushinteger(L, rq->cpu);
	lua_setfield(L, -2, "cpu");
	if (rq->curr >= 0 && rq->curr < snap->nr_tasks) {
		xds_task_push(L, guest, rq->curr);
		lua_setfield(L, -2, "curr");
	}
	lua_pushinteger(L, rq->nr_running);
	lua_setfield(L, -2, "nr_running");
	lua_pushinteger(L, (lua_Integer)rq->min_vruntime);
	lua_setfield(L, -2, "min_vruntime");
	lua_pushboolean(L, rq->locked);
	lua_setfield(L, -2, "locked");
	push_rq_tasks(L, snap, guest, rq);
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
	if (!xds_host_clock_virtual(s->host)) {
		sleep_ns(L, ns);
		return 0;
	}
	struct xds_err err = {""};
	xds_guard_lock();
	int rc = xds_host_wait_until(s->host, xds_host_now(s->host) + ns, &err);
	xds_guard_unlock();
	if (rc < 0)
		return luaL_error(L, "xds.advance: %s", err.msg);
	return 0;
}

static int xds_time(lua_State *L)
{
	struct xds_lstate *s = xds_lua_upstate(L);
	lua_pushnumber(L, (lua_Number)xds_host_time_of_day(s->host));
	return 1;
}

/* A control's answer is plain data: numbers (integers kept), strings,
 * tables.  Depth is bounded by jansson's parser (JSON_PARSER_MAX_DEPTH). */
static void push_json(lua_State *L, json_t *v)
{
	size_t i;
	const char *key;
	json_t *e;
	luaL_checkstack(L, 4, "a host control's answer is too deep");
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_TRUE:
	case JSON_FALSE: lua_pushboolean(L, json_is_true(v)); break;
	case JSON_INTEGER: lua_pushinteger(L, json_integer_value(v)); break;
	case JSON_REAL: lua_pushnumber(L, json_real_value(v)); break;
	case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); break;
	case JSON_ARRAY:
		lua_createtable(L, (int)json_array_size(v), 0);
		json_array_foreach(v, i, e) {
			push_json(L, e);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case JSON_OBJECT:
		lua_createtable(L, 0, (int)json_object_size(v));
		json_object_foreach(v, key, e) {
			push_json(L, e);
			lua_setfield(L, -2, key);
		}
		break;
	default: lua_pushnil(L); break;
	}
}

/* {name = number | boolean | string, ...} as a JSON object (no nesting);
 * raises on anything else.  The caller frees it. */
static json_t *args_json(lua_State *L, int idx)
{
	json_t *o = json_object();
	bool bad = !o;
	lua_pushnil(L);
	while (!bad && lua_next(L, idx)) {
		json_t *v = NULL;
		if (lua_type(L, -2) != LUA_TSTRING)
			v = NULL;
		else if (lua_isinteger(L, -1))
			v = json_integer(lua_tointeger(L, -1));
		else if (lua_type(L, -1) == LUA_TNUMBER)
			v = json_real(lua_tonumber(L, -1));
		else if (lua_isboolean(L, -1))
			v = json_boolean(lua_toboolean(L, -1));
		else if (lua_type(L, -1) == LUA_TSTRING)
			v = xds_json_bytes(lua_tostring(L, -1), lua_rawlen(L, -1));
		bad = !v || json_object_set_new(o, lua_tostring(L, -2), v);
		lua_pop(L, bad ? 2 : 1);        /* on to the next key, or out */
	}
	if (bad) {
		json_decref(o);
		luaL_argerror(L, idx, "a table of named numbers, booleans or strings");
	}
	return o;
}

/* xds.<kind>.<name>([args]): one of the host kind's own controls. */
static int xds_control(lua_State *L)
{
	const char *name = lua_tostring(L, lua_upvalueindex(2));
	struct xds_lstate *s = outside_tick(L, name);
	json_t *args = NULL;
	if (!lua_isnoneornil(L, 1)) {
		luaL_checktype(L, 1, LUA_TTABLE);
		lua_settop(L, 1);
		args = args_json(L, 1);
	}
	struct xds_err err = {""};
	xds_guard_lock();
	json_t *r = xds_host_control(s->host, name, args, &err);
	xds_guard_unlock();
	json_decref(args);
	if (!r)
		return luaL_error(L, "%s: %s", name, err.msg);
	s->fresh = false;               /* a control may move the host on */
	push_json(L, r);
	json_decref(r);
	return 1;
}

/* The table of a host kind's controls, where the host has one. */
static void open_controls(lua_State *L, struct xds_host *h)
{
	const char *const *names;
	const char *table = xds_host_controls(h, &names);
	if (!table)
		return;
	lua_newtable(L);
	for (int i = 0; names[i]; i++) {
		lua_getfield(L, LUA_REGISTRYINDEX, XDS_LUA_STATE);
		lua_pushstring(L, names[i]);
		lua_pushcclosure(L, xds_control, 2);
		lua_setfield(L, -2, names[i]);
	}
	lua_setfield(L, -2, table);
}

/* xds.warn(msg): one line on stderr, "xds-lua: msg" (policies have no io). */
static int xds_warn(lua_State *L)
{
	size_t n;
	const char *msg = luaL_checklstring(L, 1, &n);
	fprintf(stderr, "xds-lua: %.*s\n", (int)strcspn(msg, "\n"), msg);
	fflush(stderr);
	return 0;
}

static const luaL_Reg xds_funcs[] = {
	{"domains", xds_domains},
	{"warn", xds_warn},
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
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, XDS_LUA_STATE);
	xds_task_init(L);
	luaL_newlibtable(L, xds_funcs);
	lua_rotate(L, -2, 1);
	luaL_setfuncs(L, xds_funcs, 1);
	open_controls(L, h);
	lua_getfield(L, -1, "ps");          /* ps() is also a global */
	lua_setglobal(L, "ps");
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_pushvalue(L, -2);
	lua_setfield(L, -2, "xds");
	lua_pop(L, 1);
	lua_setglobal(L, "xds");
}

