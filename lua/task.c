/*
 * task.c - task objects: one thread of one guest, as of one snapshot.
 *
 * A task is a full userdata holding (host epoch, guest index, task index)
 * and a label such as "U1/db[210]" for messages.  Every field access
 * checks that the snapshot it came from is still the current one and
 * raises a clear error otherwise: Lua never sees stale guest data.  The
 * fields are read-only.  task:freeze() and task:thaw() record a wish with
 * the scheduler (runtime/sched), which applies it at the end of the tick;
 * task.frozen is the scheduler's view (held, or wished frozen).  Without
 * a scheduler (no tick driver) the methods raise an error.
 */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "lua/guard.h"
#include "lua/xds_int.h"
#include "sched/sched.h"
#include "util/utf8.h"

struct xds_ltask {
	uint64_t epoch;             /* host epoch of the snapshot */
	int guest, task;            /* indexes into host guests and snap.tasks */
	char label[144];            /* "DOM/comm[pid]", the comm shown (util/utf8.h) */
};

enum { F_DOM, F_PID, F_TGID, F_COMM, F_STATE, F_CPU, F_NICE, F_PRIO,
       F_CPUTIME, F_VRUNTIME, F_QUEUED, F_RUNNING, F_FROZEN, F_PROTECTED,
       F_LEADER, F_PROCESS, F_PROCESS_CPUTIME, F_THREAD, F_EXITING, F_UNLISTED, F_NONE };

static const char *const task_fields[] = {
	"dom", "pid", "tgid", "comm", "state", "cpu", "nice", "prio",
	"cputime", "vruntime", "queued", "running", "frozen", "protected",
	"leader", "process", "process_cputime", "thread", "exiting", "unlisted", NULL
};

void xds_task_push(lua_State *L, int guest, int task)
{
	xds_task_pushs(L, xds_lua_upstate(L), guest, task);
}

void xds_task_pushs(lua_State *L, struct xds_lstate *s, int guest, int task)
{
	struct xds_guest *g = xds_host_guest(s->host, guest);
	const struct lx_task *t = &xds_guest_snapshot(g)->tasks[task];
	struct xds_ltask *u = lua_newuserdatauv(L, sizeof *u, 0);
	u->epoch = xds_host_epoch(s->host);
	u->guest = guest;
	u->task = task;
	snprintf(u->label, sizeof u->label, "%s/%s[%d]", xds_guest_name(g),
		 utf8_shown(t->comm, sizeof t->comm).s, t->pid);
	luaL_setmetatable(L, XDS_LUA_TASK);
}

static int task_expired(const struct xds_lstate *s, const struct xds_ltask *u)
{
	struct xds_host *h = s->host;
	if (!s->fresh || u->epoch != xds_host_epoch(h) || u->guest >= xds_host_nr_guests(h))
		return 1;
	const struct xds_guest *g = xds_host_guest(h, u->guest);
	return xds_guest_error(g)[0] || u->task >= xds_guest_snapshot(g)->nr_tasks;
}

const struct lx_task *xds_task_check(lua_State *L, int idx, int *guest)
{
	struct xds_lstate *s = xds_lua_upstate(L);
	struct xds_ltask *u = luaL_checkudata(L, idx, XDS_LUA_TASK);
	if (task_expired(s, u))
		luaL_error(L, "task %s belongs to an expired snapshot; "
			   "take a new one with xds.tasks()", u->label);
	if (guest)
		*guest = u->guest;
	return &xds_guest_snapshot(xds_host_guest(s->host, u->guest))->tasks[u->task];
}

static int field_index(const char *key)
{
	int i = 0;
	while (task_fields[i] && strcmp(task_fields[i], key) != 0)
		i++;
	return task_fields[i] ? i : F_NONE;
}

static void push_state(lua_State *L, char state)
{
	char c = state ? state : '?';
	lua_pushlstring(L, &c, 1);
}

const struct lx_task *xds_task_leader(const struct xds_lstate *s, int guest, const struct lx_task *t)
{
	const struct lx_snapshot *snap = xds_guest_snapshot(xds_host_guest(s->host, guest));
	const struct lx_task *l = t->leader >= 0 && t->leader < snap->nr_tasks ? &snap->tasks[t->leader] : t;
	return l->pid == t->tgid && l->tgid == t->tgid ? l : t;     /* a leader's pid is its tgid */
}

bool xds_task_frozen(const struct xds_lstate *s, int guest, const struct lx_task *t)
{
	if (!s->sched)
		return false;
	xds_guard_lock();
	bool frozen = xds_sched_is_frozen(s->sched, guest, t->addr);
	xds_guard_unlock();
	return frozen;
}

/* The CPU time of t's process: its live threads' together, as the guest's
 * /proc/PID/stat counts it (less what threads that exited had). */
static uint64_t process_cputime(const struct xds_lstate *s, int guest, const struct lx_task *t)
{
	const struct lx_snapshot *snap = xds_guest_snapshot(xds_host_guest(s->host, guest));
	uint64_t sum = 0;
	for (int i = 0; i < snap->nr_tasks; i++)
		if (snap->tasks[i].tgid == t->tgid)
			sum += snap->tasks[i].cputime_ns;
	return sum;
}

static void push_field(lua_State *L, const struct lx_task *t, int guest, int f)
{
	struct xds_lstate *s = xds_lua_upstate(L);
	switch (f) {
	case F_DOM:      lua_pushstring(L, xds_guest_name(xds_host_guest(s->host, guest))); break;
	case F_PID:      lua_pushinteger(L, t->pid); break;
	case F_TGID:     lua_pushinteger(L, t->tgid); break;
	case F_COMM:     lua_pushlstring(L, t->comm, strnlen(t->comm, sizeof t->comm)); break;
	case F_STATE:    push_state(L, t->state); break;
	case F_CPU:      lua_pushinteger(L, t->cpu); break;
	case F_NICE:     lua_pushinteger(L, t->nice); break;
	case F_PRIO:     lua_pushinteger(L, t->prio); break;
	case F_CPUTIME:  lua_pushinteger(L, (lua_Integer)t->cputime_ns); break;
	case F_VRUNTIME: lua_pushinteger(L, (lua_Integer)t->vruntime); break;
	case F_QUEUED:   lua_pushboolean(L, t->queued); break;
	case F_RUNNING:  lua_pushboolean(L, t->running); break;
	case F_FROZEN:   lua_pushboolean(L, xds_task_frozen(s, guest, t)); break;
	case F_PROTECTED:       /* why, or false (--allow-protected: never) */
		if (s->sched && xds_sched_protected(s->sched, t))
			lua_pushstring(L, xds_sched_protected(s->sched, t));
		else
			lua_pushboolean(L, 0);
		break;
	case F_LEADER: {        /* the thread-group leader's pid, nil when it was not read */
		const struct lx_task *l = xds_task_leader(s, guest, t);
		if (l->pid == t->tgid)
			lua_pushinteger(L, l->pid);
		else
			lua_pushnil(L);
		break;
	}
	case F_PROCESS: {
		const struct lx_task *l = xds_task_leader(s, guest, t);
		lua_pushlstring(L, l->comm, strnlen(l->comm, sizeof l->comm));
		break;
	}
	case F_PROCESS_CPUTIME: lua_pushinteger(L, (lua_Integer)process_cputime(s, guest, t)); break;
	case F_THREAD:   lua_pushboolean(L, t->pid != t->tgid); break;
	case F_EXITING:  lua_pushboolean(L, t->exiting); break;
	case F_UNLISTED: lua_pushboolean(L, t->unlisted); break;
	default:         lua_pushnil(L); break;
	}
}

/* Fields first; any other key is looked up in the metatable's __methods. */
static int task_index(lua_State *L)
{
	luaL_checkudata(L, 1, XDS_LUA_TASK);
	const char *key = lua_tostring(L, 2);
	int f = key ? field_index(key) : F_NONE;
	if (f == F_NONE) {
		luaL_getmetafield(L, 1, "__methods");
		if (!lua_istable(L, -1))
			return 0;
		lua_pushvalue(L, 2);
		lua_rawget(L, -2);
		return 1;
	}
	int guest;
	const struct lx_task *t = xds_task_check(L, 1, &guest);
	push_field(L, t, guest, f);
	return 1;
}

static int task_newindex(lua_State *L)
{
	struct xds_ltask *u = luaL_checkudata(L, 1, XDS_LUA_TASK);
	return luaL_error(L, "task %s is read-only (field '%s')", u->label,
			  luaL_tolstring(L, 2, NULL));
}

static int task_tostring(lua_State *L)
{
	struct xds_ltask *u = luaL_checkudata(L, 1, XDS_LUA_TASK);
	lua_pushstring(L, u->label);
	return 1;
}

static int task_eq(lua_State *L)
{
	struct xds_ltask *a = luaL_checkudata(L, 1, XDS_LUA_TASK);
	struct xds_ltask *b = luaL_checkudata(L, 2, XDS_LUA_TASK);
	lua_pushboolean(L, a->epoch == b->epoch && a->guest == b->guest && a->task == b->task);
	return 1;
}

/* The wish goes to the scheduler; applied at the end of the tick.
 * task:freeze{force = true} freezes a protected task too.  Returns true,
 * or false and why a protected task was not frozen. */
static int task_wish(lua_State *L, bool freeze)
{
	struct xds_lstate *s = xds_lua_upstate(L);
	struct xds_err err = {""};
	int guest;
	const struct lx_task *t = xds_task_check(L, 1, &guest);
	/* task:freeze([reason]) or task:freeze{reason = ..., force = true}: the
	 * policy's reason is shown by --dry-run; force overrides protection */
	const char *why = NULL;
	struct xds_sched *sched = s->sched;
	bool force = false;
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_getfield(L, 2, "force");
		force = lua_toboolean(L, -1);
		lua_getfield(L, 2, "reason");
		why = lua_tostring(L, -1);      /* stays alive: the table holds it */
		lua_pop(L, 2);
	} else if (!lua_isnoneornil(L, 2)) {
		why = luaL_checkstring(L, 2);
	}
	if (s->dry) {
		s->dry_wishes++;
		lua_pushboolean(L, 1);
		return 1;
	}
	if (!sched)
		return luaL_error(L, "task:%s(): no scheduler (xds-lua without a host?)",
				  freeze ? "freeze" : "thaw");
	xds_guard_lock();
	int rc = xds_guard_stopped() ? xds_fail(&err, "the policy is stopped (deadline)")
		: force ? xds_sched_force(sched, guest, t, freeze, &err)
		: xds_sched_request_why(sched, guest, t, freeze, why, &err);
	xds_guard_unlock();
	if (rc < 0)
		return luaL_error(L, "%s: %s", luaL_tolstring(L, 1, NULL), err.msg);
	lua_pushboolean(L, rc == 0);
	if (rc == 0)
		return 1;
	lua_pushstring(L, err.msg);
	return 2;
}

static int task_freeze(lua_State *L)
{
	return task_wish(L, true);
}

static int task_thaw(lua_State *L)
{
	return task_wish(L, false);
}

static const luaL_Reg task_methods[] = {
	{"freeze", task_freeze},
	{"thaw", task_thaw},
	{NULL, NULL}
};

static const luaL_Reg task_meta[] = {
	{"__index", task_index},
	{"__newindex", task_newindex},
	{"__tostring", task_tostring},
	{"__eq", task_eq},
	{NULL, NULL}
};

void xds_task_init(lua_State *L)
{
	luaL_newmetatable(L, XDS_LUA_TASK);
	lua_pushvalue(L, -2);
	luaL_setfuncs(L, task_meta, 1);
	lua_newtable(L);
	lua_pushvalue(L, -3);
	luaL_setfuncs(L, task_methods, 1);
	lua_setfield(L, -2, "__methods");
	lua_pop(L, 1);
}
