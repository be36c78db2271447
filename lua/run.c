/*
 * run.c - the tick driver, its Lua functions and the end-of-run report.
 *
 * A tick is xds_sched_advance, xds_run_snapshot (which also makes the new
 * snapshot the current one in every Lua state registered here, so old
 * task objects expire), the policy's tick, xds_sched_apply.  A policy
 * failure is handled here, once: the policy's stop() runs under pcall,
 * every task is thawed (xds_sched_thaw_all) and the policy is freed.  The
 * scheduler owns what is frozen and the accounting; policy.c owns the
 * sandbox.  The Lua side: xds.load, xds.unload, xds.step, xds.run,
 * xds.frozen, xds.stats, refused inside a policy's tick.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "lua/policy.h"
#include "lua/run.h"
#include "lua/guard.h"
#include "lua/watchdog.h"
#include "lua/xds_int.h"
#include "host/host.h"
#include "sched/sched.h"
#include "util/json.h"
#include "util/log.h"
#include "util/utf8.h"

#define DEFAULT_TICK_NS 10000000u
#define OVERRUN_SAY_NS (60ull * 1000000000u)    /* at most one overrun warning a minute */

void xds_run_init(struct xds_run *r, struct xds_host *h, struct xds_sched *s,
		  const struct xds_run_opts *o)
{
	memset(r, 0, sizeof *r);
	r->host = h;
	r->sched = s;
	r->opt = *o;
}

static void free_args(struct xds_run *r)
{
	for (int i = 0; i < r->nargs; i++)
		free(r->args[i]);
	free(r->args);
	r->args = NULL;
	r->nargs = 0;
}

void xds_run_fini(struct xds_run *r)
{
	struct xds_err err = {""};
	if (xds_run_unload(r, &err) < 0)
		xds_log(XDS_LOG_ERR, "%s", err.msg);
	free_args(r);
	r->nr_states = 0;
	for (int i = 0; i < r->nr_findings; i++)
		free(r->findings[i]);
	r->nr_findings = 0;
}

struct xds_sched *xds_run_sched(struct xds_run *r)
{
	return r->sched;
}

static void on_open(lua_State *L, void *r)
{
	xds_run_open(L, r);
}

static void on_close(lua_State *L, void *r)
{
	xds_run_forget(r, L);
}

void xds_run_policy_opts(struct xds_run *r, struct xds_policy_opts *po)
{
	*po = (struct xds_policy_opts){
		.unsafe = r->opt.unsafe, .host = r->host,
		.on_open = on_open, .on_close = on_close, .hook_ctx = r,
	};
}

/* ---- Lua states ---- */

static void remember(struct xds_run *r, lua_State *L)
{
	for (int i = 0; i < r->nr_states; i++)
		if (r->states[i] == L)
			return;
	if (r->nr_states < XDS_RUN_MAX_STATES)
		r->states[r->nr_states++] = L;
}

void xds_run_forget(struct xds_run *r, lua_State *L)
{
	for (int i = 0; i < r->nr_states; i++)
		if (r->states[i] == L)
			r->states[i] = r->states[--r->nr_states];
}

static int refresh(void *r, struct xds_err *err)
{
	return xds_run_snapshot(r, err);
}

int xds_run_snapshot(struct xds_run *r, struct xds_err *err)
{
	xds_guard_lock();
	int rc = r->sched ? xds_sched_snapshot(r->sched, err) : xds_host_snapshot(r->host, err);
	for (int i = 0; i < r->nr_states; i++) {
		struct xds_lstate *s = xds_lua_state(r->states[i]);
		if (s)
			s->fresh = true;
	}
	xds_guard_unlock();
	return rc;
}

/* ---- policies ---- */

static int copy_args(struct xds_run *r, int nargs, char **args)
{
	free_args(r);
	r->args = calloc((size_t)nargs + 1, sizeof *r->args);
	if (!r->args)
		return -1;
	for (int i = 0; i < nargs; i++)
		if (!(r->args[r->nargs++] = strdup(args[i])))
			return -1;
	return 0;
}

static uint64_t tick_ns(const struct xds_run *r)
{
	if (r->opt.tick_ns)
		return r->opt.tick_ns;
	if (r->policy && xds_policy_tick_ms(r->policy))
		return xds_policy_tick_ms(r->policy) * 1000000u;
	return DEFAULT_TICK_NS;
}

int xds_run_set_policy(struct xds_run *r, struct xds_policy *p, int nargs, char **args,
		       struct xds_err *err)
{
	if (r->policy && xds_run_unload(r, err) < 0)
		return xds_policy_free(p), -1;
	if (copy_args(r, nargs, args) < 0) {
		xds_policy_free(p);
		return xds_fail(err, "policy: out of memory");
	}
	r->policy = p;
	snprintf(r->policy_name, sizeof r->policy_name, "%s", xds_policy_name(p));
	if (r->sched)
		xds_sched_set_tick(r->sched, tick_ns(r));
	return 0;
}

static struct xds_policy *load(struct xds_run *r, const char *path, int nargs, char **args,
			       struct xds_err *err)
{
	struct xds_policy_opts po;
	xds_run_policy_opts(r, &po);
	struct xds_policy *p = xds_policy_new(path, &po, err);
	if (!p)
		return NULL;
	int is = xds_policy_exec(p, nargs, args, true, err);
	if (is <= 0) {
		if (is == 0)
			xds_fail(err, "%s: not a policy (it returns no table with a tick function "
				 "and defines no global tick)", path);
		xds_policy_free(p);
		return NULL;
	}
	return p;
}

int xds_run_load(struct xds_run *r, const char *path, int nargs, char **args,
		 struct xds_err *err)
{
	struct xds_policy *p = load(r, path, nargs, args, err);
	return p ? xds_run_set_policy(r, p, nargs, args, err) : -1;
}

static int thaw_all(struct xds_run *r, struct xds_err *err)
{
	xds_guard_lock();
	int rc = r->sched ? xds_sched_thaw_all(r->sched, err) : 0;
	xds_guard_unlock();
	return rc;
}

int xds_run_unload(struct xds_run *r, struct xds_err *err)
{
	struct xds_err serr = {""};
	if (!r->policy)
		return 0;
	if (xds_policy_stop(r->policy, &serr) < 0)
		xds_log(XDS_LOG_ERR, "policy %s: stop(): %s", xds_policy_name(r->policy), serr.msg);
	xds_policy_free(r->policy);
	r->policy = NULL;
	return thaw_all(r, err);
}

/* The policy failed: stop() under pcall, thaw everything, unload. */
static int policy_failed(struct xds_run *r, struct xds_err *err)
{
	struct xds_err terr = {""};
	xds_err_wrap(err, "policy %s stopped", xds_policy_name(r->policy));
	r->policy_errors++;             /* said once, by whoever gets err */
	if (xds_run_unload(r, &terr) < 0)
		xds_log(XDS_LOG_ERR, "thawing after the policy stopped: %s", terr.msg);
	return -1;
}

static double host_time(const struct xds_run *r)
{
	return r->sched ? (double)xds_sched_now(r->sched) / 1e9 : 0;
}

int xds_run_reload(struct xds_run *r, struct xds_err *err)
{
	if (!r->policy)
		return xds_fail(err, "reload: no policy loaded");
	char path[4096];
	snprintf(path, sizeof path, "%s", xds_policy_path(r->policy));
	struct xds_policy *p = load(r, path, r->nargs, r->args, err);
	if (!p)
		return xds_err_wrap(err, "reload of %s failed, the old policy stays", path);
	if (xds_policy_tick(p, r->ticks, host_time(r), true, err) < 0) {
		xds_policy_free(p);
		return xds_err_wrap(err, "reload of %s failed (rehearsal tick), the old policy stays",
				    path);
	}
	struct xds_err serr = {""};
	if (xds_policy_stop(r->policy, &serr) < 0)
		xds_log(XDS_LOG_ERR, "policy %s: stop(): %s", xds_policy_name(r->policy), serr.msg);
	xds_policy_free(r->policy);
	r->policy = p;
	snprintf(r->policy_name, sizeof r->policy_name, "%s", xds_policy_name(p));
	if (r->sched)
		xds_sched_set_tick(r->sched, tick_ns(r));
	return 0;
}

/* ---- ticks ---- */

static void maybe_reload(struct xds_run *r)
{
	struct xds_err err = {""};
	if (r->opt.status && *r->opt.status) {
		*r->opt.status = 0;
		xds_run_print_status(r, stderr);
	}
	if (!r->opt.reload || !*r->opt.reload)
		return;
	*r->opt.reload = 0;
	if (xds_run_reload(r, &err) < 0) {
		r->policy_errors++;
		xds_log(XDS_LOG_ERR, "policy error: %s", err.msg);
	} else {
		r->reloads++;
		xds_log(XDS_LOG_NOTICE, "policy %s reloaded", xds_policy_name(r->policy));
	}
}

static bool signalled(const struct xds_run *r)
{
	return (r->opt.stop && *r->opt.stop) || (r->opt.reload && *r->opt.reload) ||
	       (r->opt.status && *r->opt.status);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The scheduler times snapshot and apply; the policy and the whole tick
 * (snapshot to apply, without the wait for it) are timed here. */
static int policy_tick(struct xds_run *r, struct xds_err *err)
{
	uint64_t t0 = mono_ns();
	xds_watchdog_enter_policy(r->policy);
	int rc = xds_policy_tick(r->policy, r->ticks, host_time(r), false, err);
	if (xds_watchdog_leave_policy())
		rc = xds_fail(err, "the tick overran its deadline (%llu ms)",
			      (unsigned long long)(XDS_POLICY_DEADLINE_NS / 1000000));
	if (r->sched)
		xds_sched_add_policy_ns(r->sched, mono_ns() - t0);
	return rc;
}

/* A tick whose work took longer than the tick is an overrun: said with
 * figures, at most once a minute of host time (the clock the ticks keep). */
static void overrun(struct xds_run *r, uint64_t took)
{
	uint64_t len = tick_ns(r), now = r->sched ? xds_sched_now(r->sched) : mono_ns();
	if (took <= len)
		return;
	r->overruns++;
	r->overrun_worst_ns = took > r->overrun_worst_ns ? took : r->overrun_worst_ns;
	if (r->overrun_said && now - r->overrun_said_ns < OVERRUN_SAY_NS)
		return;
	xds_log(XDS_LOG_WARNING, "tick overrun: tick %" PRIu64 " took %.3f ms against its %.3f ms; "
		"%" PRIu64 " tick(s) overran since the last warning, the worst %.3f ms",
		r->ticks, (double)took / 1e6, (double)len / 1e6, r->overruns,
		(double)r->overrun_worst_ns / 1e6);
	r->overrun_said = true;
	r->overrun_said_ns = now;
	r->overruns = 0;
	r->overrun_worst_ns = 0;
}

/* 1: a signal cut the wait for the tick short (no tick; the caller looks). */
static int tick(struct xds_run *r, struct xds_err *err)
{
	maybe_reload(r);
	if (r->sched) {
		xds_sched_set_tick(r->sched, tick_ns(r));
		if (xds_sched_advance(r->sched, err) < 0)
			return signalled(r) ? 1 : -1;
	}
	uint64_t t0 = mono_ns();
	if (xds_run_snapshot(r, err) < 0)
		return -1;
	if (r->ticks == 0 && r->sched)
		r->start_ns = xds_sched_now(r->sched);
	r->ticks++;
	if (r->policy && policy_tick(r, err) < 0)
		return policy_failed(r, err);
	if (!r->sched)
		return 0;
	int rc = xds_sched_apply(r->sched, err);
	r->last_tick_ns = mono_ns() - t0;
	xds_sched_add_tick_ns(r->sched, r->last_tick_ns);
	return rc;
}

int xds_run_tick(struct xds_run *r, struct xds_err *err)
{
	if (r->busy)
		return xds_fail(err, "a tick is already running");
	r->busy = true;
	r->last_tick_ns = 0;
	xds_guard_lock();
	int rc = tick(r, err);
	xds_guard_unlock();
	r->busy = false;
	if (rc == 0 && r->opt.on_tick)
		r->opt.on_tick(r->opt.tick_ctx, r);
	if (rc == 0)
		overrun(r, r->last_tick_ns);
	return rc < 0 ? -1 : 0;
}

static uint64_t elapsed_ns(const struct xds_run *r, uint64_t from)
{
	return r->sched && xds_sched_now(r->sched) > from ? xds_sched_now(r->sched) - from : 0;
}

int xds_run_loop(struct xds_run *r, uint64_t duration_ns, struct xds_err *err)
{
	uint64_t from = r->sched ? xds_sched_now(r->sched) : 0;
	uint64_t n = 0, max_ticks = duration_ns ? duration_ns / tick_ns(r) + 1 : 0;
	if (duration_ns && duration_ns < tick_ns(r))
		return xds_fail(err, "a run of %g ms is shorter than one tick (%g ms): no tick "
				"would run whole", (double)duration_ns / 1e6, (double)tick_ns(r) / 1e6);
	r->stop = "signal";
	while (!(r->opt.stop && *r->opt.stop)) {
		if (duration_ns && (elapsed_ns(r, from) >= duration_ns || n >= max_ticks)) {
			r->stop = "duration";
			break;
		}
		if (xds_run_tick(r, err) < 0) {
			r->stop = "error";
			r->error = *err;
			return -1;
		}
		n++;
	}
	return 0;
}

/* ---- Lua functions ---- */

static struct xds_run *run_of(lua_State *L, const char *fn)
{
	struct xds_lstate *s = xds_lua_upstate(L);
	if (s->in_tick)
		luaL_error(L, "%s: not allowed inside a policy's tick", fn);
	return s->run;
}

static int lua_fail(lua_State *L, const struct xds_err *err)
{
	lua_pushstring(L, err->msg);
	return lua_error(L);
}

static int l_load(lua_State *L)
{
	struct xds_run *r = run_of(L, "xds.load");
	struct xds_err err = {""};
	const char *path = luaL_checkstring(L, 1);
	int nargs = lua_gettop(L) - 1;
	char **args = lua_newuserdatauv(L, sizeof *args * (size_t)(nargs + 1), 0);
	for (int i = 0; i < nargs; i++)
		args[i] = (char *)luaL_checkstring(L, i + 2);
	if (r->busy)
		return luaL_error(L, "xds.load: a tick is running");
	if (xds_run_load(r, path, nargs, args, &err) < 0)
		return lua_fail(L, &err);
	lua_pushstring(L, xds_policy_name(r->policy));
	return 1;
}

static int l_unload(lua_State *L)
{
	struct xds_run *r = run_of(L, "xds.unload");
	struct xds_err err = {""};
	bool had = r->policy != NULL;
	if (r->busy)
		return luaL_error(L, "xds.unload: a tick is running");
	if (xds_run_unload(r, &err) < 0)
		return lua_fail(L, &err);
	lua_pushboolean(L, had);
	return 1;
}

static int l_step(lua_State *L)
{
	struct xds_run *r = run_of(L, "xds.step");
	struct xds_err err = {""};
	lua_Integer n = luaL_optinteger(L, 1, 1);
	luaL_argcheck(L, n >= 0, 1, "a number of ticks expected");
	for (lua_Integer i = 0; i < n; i++)
		if (xds_run_tick(r, &err) < 0)
			return lua_fail(L, &err);
	lua_pushinteger(L, (lua_Integer)r->ticks);
	return 1;
}

static int l_run(lua_State *L)
{
	struct xds_run *r = run_of(L, "xds.run");
	struct xds_err err = {""};
	uint64_t ns = xds_lua_checkduration(L, 1);
	luaL_argcheck(L, ns > 0, 1, "a duration above 0 expected (run until interrupted: "
		      "a long one, such as \"1h\")");
	if (xds_run_loop(r, ns, &err) < 0)
		return lua_fail(L, &err);
	lua_pushinteger(L, (lua_Integer)r->ticks);
	return 1;
}

static int l_frozen(lua_State *L)
{
	struct xds_run *r = xds_lua_upstate(L)->run;
	lua_newtable(L);
	if (!r->sched)
		return 1;
	for (int i = 0, n = 0; i < xds_sched_nr_held(r->sched); i++) {
		const struct xds_held *h = xds_sched_held_at(r->sched, i);
		if (h->hold == XH_NONE && !h->want)
			continue;
		lua_createtable(L, 0, 5);
		lua_pushstring(L, xds_guest_name(xds_host_guest(r->host, h->guest)));
		lua_setfield(L, -2, "dom");
		lua_pushinteger(L, h->pid);
		lua_setfield(L, -2, "pid");
		lua_pushlstring(L, h->comm, strnlen(h->comm, sizeof h->comm));
		lua_setfield(L, -2, "comm");
		lua_pushstring(L, xds_run_hold_name(h->hold));
		lua_setfield(L, -2, "hold");
		lua_pushboolean(L, h->want);
		lua_setfield(L, -2, "want");
		lua_rawseti(L, -2, ++n);
	}
	return 1;
}

static void set_num(lua_State *L, const char *k, double v)
{
	lua_pushnumber(L, v);
	lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, uint64_t v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

/* {count, mean, max} in milliseconds. */
static void push_phase(lua_State *L, const char *name, const struct xds_phase *ph)
{
	lua_createtable(L, 0, 3);
	set_int(L, "count", ph->count);
	set_num(L, "mean", ph->count ? (double)ph->total_ns / (double)ph->count / 1e6 : 0);
	set_num(L, "max", (double)ph->max_ns / 1e6);
	lua_setfield(L, -2, name);
}

static int l_stats(lua_State *L)
{
	struct xds_run *r = xds_lua_upstate(L)->run;
	struct xds_stats st = {0};
	if (r->sched)
		st = *xds_sched_stats(r->sched);
	lua_createtable(L, 0, 12);
	set_int(L, "ticks", st.ticks);
	push_phase(L, "snapshot", &st.snapshot);
	push_phase(L, "policy", &st.policy);
	push_phase(L, "apply", &st.apply);
	push_phase(L, "tick", &st.tick);
	push_phase(L, "pauses", &st.pause);
	push_phase(L, "late", &st.late);
	set_int(L, "freezes", st.freezes);
	set_int(L, "thaws", st.thaws);
	set_int(L, "retries", st.retries);
	set_int(L, "refusals", st.refusals);
	set_int(L, "undone", st.undone);
	set_int(L, "kicks", st.kicks);
	if (r->policy) {
		lua_pushstring(L, xds_policy_name(r->policy));
		lua_setfield(L, -2, "policy_name");
		set_int(L, "policy_memory", xds_policy_memory(r->policy));
	}
	return 1;
}

/* xds.finding(text): what a policy found wrong with its arguments on this
 * host (policies/lib/policy.lua: a spec that matches nothing, one that
 * would match protected tasks).  Kept once for `xds-lua check`; in a run,
 * said as a warning. */
static int l_finding(lua_State *L)
{
	struct xds_run *r = xds_lua_upstate(L)->run;
	const char *text = luaL_checkstring(L, 1);
	if (!r || !r->opt.check) {
		xds_log(XDS_LOG_WARNING, "%s", text);
		return 0;
	}
	for (int i = 0; i < r->nr_findings; i++)
		if (!strcmp(r->findings[i], text))
			return 0;
	if (r->nr_findings < XDS_RUN_MAX_FINDINGS && (r->findings[r->nr_findings] = strdup(text)))
		r->nr_findings++;
	return 0;
}

static const luaL_Reg run_funcs[] = {
	{"finding", l_finding},
	{"load", l_load},
	{"unload", l_unload},
	{"step", l_step},
	{"run", l_run},
	{"frozen", l_frozen},
	{"stats", l_stats},
	{NULL, NULL}
};

void xds_run_open(lua_State *L, struct xds_run *r)
{
	struct xds_lstate *s = xds_lua_state(L);
	if (!s)
		return;
	s->run = r;
	s->sched = r->sched;
	s->refresh = refresh;
	s->refresh_ctx = r;
	remember(r, L);
	lua_getglobal(L, "xds");
	lua_getfield(L, LUA_REGISTRYINDEX, XDS_LUA_STATE);
	luaL_setfuncs(L, run_funcs, 1);
	lua_pushboolean(L, r->opt.check);
	lua_setfield(L, -2, "checking");
	lua_pop(L, 1);
}

/* ---- hooks for the REPL ---- */

struct xds_run *xds_run_of(lua_State *L)
{
	struct xds_lstate *s = xds_lua_state(L);
	return s ? s->run : NULL;
}

static void expire_states(struct xds_run *r)
{
	for (int i = 0; i < r->nr_states; i++) {
		struct xds_lstate *s = xds_lua_state(r->states[i]);
		if (s)
			s->fresh = false;
	}
}

int xds_run_apply(struct xds_run *r, struct xds_err *err)
{
	if (!r->sched)
		return xds_fail(err, "no scheduler (xds-lua without a host?)");
	if (r->busy)
		return xds_fail(err, "a tick is running");
	xds_guard_lock();
	int rc = xds_sched_apply(r->sched, err);
	xds_guard_unlock();
	expire_states(r);
	return rc;
}

int xds_run_thaw_all(struct xds_run *r, int *n, struct xds_err *err)
{
	*n = 0;
	if (!r->sched)
		return 0;
	for (int i = 0; i < xds_sched_nr_held(r->sched); i++) {
		const struct xds_held *h = xds_sched_held_at(r->sched, i);
		*n += h->hold != XH_NONE || h->want;
	}
	int rc = thaw_all(r, err);
	expire_states(r);
	return rc;
}

/* ---- the report ---- */

static uint64_t run_ns(const struct xds_run *r)
{
	return r->sched ? xds_sched_elapsed(r->sched) : 0;
}

static json_t *text(const char *s, size_t n)
{
	return xds_json_bytes(s, strnlen(s, n));
}

static json_t *report_task(const struct xds_run *r, const struct xds_acct *a)
{
	uint64_t cpu = a->cpu_last - a->cpu_first, dur = run_ns(r);
	return json_pack("{s:o,s:i,s:i,s:o,s:I,s:f,s:I,s:I,s:b}", "dom", text(a->dom, sizeof a->dom),
			 "pid", a->pid, "tgid", a->tgid, "comm", text(a->comm, sizeof a->comm),
			 "cputime_ns", (json_int_t)cpu, "share", dur ? (double)cpu / (double)dur : 0.0,
			 "frozen_ns", (json_int_t)a->frozen_ns, "wait_ns", (json_int_t)a->wait_ns,
			 "alive", a->alive);
}

static json_t *report_stats(const struct xds_stats *st)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "ticks", (json_int_t)st->ticks,
			 "freezes", (json_int_t)st->freezes, "thaws", (json_int_t)st->thaws,
			 "retries", (json_int_t)st->retries, "refusals", (json_int_t)st->refusals,
			 "undone", (json_int_t)st->undone, "kicks", (json_int_t)st->kicks,
			 "tick_max_ns", (json_int_t)st->tick.max_ns,
			 "tick_mean_ns", (json_int_t)(st->tick.count ? st->tick.total_ns / st->tick.count : 0));
}

/* The host's own account beside ours, or the reason it is missing. */
static void report_truth(json_t *rep, struct xds_run *r)
{
	struct xds_err err = {""};
	json_t *t = xds_host_truth(r->host, &err);
	json_t *v = json_object_get(t, "violations");
	json_object_set_new(rep, "truth", t ? t : text(err.msg, sizeof err.msg));
	json_object_set_new(rep, "violations", json_integer(json_is_integer(v) ? json_integer_value(v) : -1));
}

/* One line of JSON; the share with 6 digits. */
int xds_run_report(struct xds_run *r, const char *path, struct xds_err *err)
{
	struct xds_stats none = {0};
	json_t *tasks = json_array();
	for (int i = 0; r->sched && i < xds_sched_nr_acct(r->sched); i++)
		json_array_append_new(tasks, report_task(r, xds_sched_acct_at(r->sched, i)));
	json_t *rep = json_pack("{s:I,s:I,s:o?,s:o,s:o}", "duration_ns", (json_int_t)run_ns(r),
				"ticks", (json_int_t)r->ticks,
				"policy", r->policy_name[0] ? text(r->policy_name, sizeof r->policy_name) : NULL,
				"tasks", tasks, "stats", report_stats(r->sched ? xds_sched_stats(r->sched) : &none));
	if (rep)
		json_object_update_new(rep, json_pack("{s:i,s:s?,s:o?,s:b}", "format", XDS_REPORT_FORMAT,
			"stop", r->stop, "error", r->error.msg[0] ? text(r->error.msg, sizeof r->error.msg) : NULL,
			"dry_run", r->opt.dry_run));
	if (rep && xds_host_has_truth(r->host))
		report_truth(rep, r);
	FILE *f = rep ? fopen(path, "w") : NULL;
	int rc = f && json_dumpf(rep, f, JSON_REAL_PRECISION(6)) == 0 && fputc('\n', f) != EOF ? 0 : -1;
	if (f && fclose(f) != 0)
		rc = -1;
	json_decref(rep);
	return rc < 0 ? xds_fail(err, "--report %s: cannot write it", path) : 0;
}

static const json_t *truth_row(const json_t *tasks, const char *dom, int pid)
{
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t) {
		const char *d = json_string_value(json_object_get(t, "dom"));
		if (json_integer_value(json_object_get(t, "pid")) == pid && d && !strcmp(d, dom))
			return t;
	}
	return NULL;
}

/* Ours per task that ever ran, beside the host's own account where it
 * keeps one (its columns only then). */
void xds_run_print_table(struct xds_run *r, FILE *f)
{
	struct xds_err err = {""};
	bool truth = xds_host_has_truth(r->host);
	json_t *t = truth ? xds_host_truth(r->host, &err) : NULL;
	const json_t *tasks = json_object_get(t, "tasks");
	double dur = (double)run_ns(r) / 1e9;
	fprintf(f, "%-6s %6s %-16s %8s %7s %8s %9s", "DOM", "PID", "COMM", "CPU s", "share%",
		"frozen s", "waiting s");
	fprintf(f, truth ? " %9s %9s\n" : "\n", "truth CPU", "truth wait");
	for (int i = 0; r->sched && i < xds_sched_nr_acct(r->sched); i++) {
		const struct xds_acct *a = xds_sched_acct_at(r->sched, i);
		const char *dom = a->dom;
		double cpu = (double)(a->cpu_last - a->cpu_first) / 1e9;
		if (a->cpu_last == a->cpu_first && a->frozen_ns == 0 && a->wait_ns == 0)
			continue;
		const json_t *g = truth_row(tasks, dom, a->pid);
		struct utf8_shown comm = utf8_shown(a->comm, sizeof a->comm);
		fprintf(f, "%-6s %6d %s%*s %8.3f %7.1f %8.3f %9.3f", dom, a->pid,
			comm.s, utf8_pad(comm.s, 16), "", cpu, dur > 0 ? 100 * cpu / dur : 0.0,
			(double)a->frozen_ns / 1e9, (double)a->wait_ns / 1e9);
		fprintf(f, truth ? " %9.3f %9.3f\n" : "\n",
			json_number_value(json_object_get(g, "cputime_ns")) / 1e9,
			json_number_value(json_object_get(g, "wait_ns")) / 1e9);
	}
	if (t)
		fprintf(f, "invariant violations (host check): %" PRId64 "\n",
			(int64_t)json_integer_value(json_object_get(t, "violations")));
	else if (truth)
		fprintf(f, "ground truth unavailable: %s\n", err.msg);
	json_decref(t);
}
