/*
 * policy.c - loading a policy into a sandbox, and running it on budgets.
 *
 * Modelled on Redis's scripting sandbox.  Each policy has a Lua state of
 * its own, created with a counting allocator and an instruction-count
 * hook.  The sandbox (the default) opens base, string, table, math and
 * utf8, keeps os.time, os.clock and os.date, and takes away what reaches
 * outside: dofile, loadfile, binary chunks (load is text only), io,
 * package, debug, coroutine, collectgarbage except "count".  `require`
 * finds Lua files only in the policy's folder and the policies/lib
 * folders (next to the policy, next to the executable, installed, and
 * the folders of $XDS_LUA_PATH, or its older name $XDS_POLICY_PATH, and
 * their lib/), and runs them in the same sandbox.  --unsafe opens every
 * library; the budgets stay.  The same search path finds a policy given by
 * a bare file name that is not in the current folder (`xds-lua
 * global_priority.lua`: $XDS_LUA_PATH, policies/ of the build tree,
 * share/xds-lua/policies installed), and gives the CLI's own state its
 * package.path (`-l policy`).
 *
 * Budgets: each call into a policy (its chunk when known to be a policy,
 * tick, stop) may run XDS_POLICY_BUDGET VM instructions; the state may hold
 * XDS_POLICY_MEMCAP bytes.  Passing the cap arms the hook, which collects
 * garbage and stops the policy if that was not enough; an allocation far
 * past the cap fails at once (a Lua memory error).  An overrun marks the
 * policy killed: the sandbox's pcall and xpcall pass the error on instead
 * of catching it, so a policy cannot outlive its budget.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lua/policy.h"
#include "lua/xds.h"
#include "lua/xds_int.h"

#define HOOK_EVERY  1000        /* instructions between two hook calls */
#define MAX_LIBDIRS 8

struct xds_policy {
	lua_State *L;
	struct xds_policy_opts opt;
	char path[PATH_MAX];
	char name[64];
	uint64_t tick_ms;
	int tick_ref, stop_ref;     /* registry references, or LUA_NOREF */
	bool stopped;
	bool from_stdin;            /* path NULL: the chunk is stdin */
	char libdirs[MAX_LIBDIRS][PATH_MAX];
	int nr_libdirs;
	/* budgets */
	size_t mem_used;
	bool mem_over;              /* past the cap: the hook decides */
	bool mem_refused;           /* an allocation was refused */
	bool budgeted;              /* a budgeted call is running */
	uint64_t spent;             /* instructions in this call (by HOOK_EVERY) */
	bool killed;                /* overran: no pcall may catch it */
	volatile sig_atomic_t overran;  /* past the wall-clock deadline (watchdog) */
};

static volatile sig_atomic_t *interrupt_flag;

void xds_policy_set_interrupt(volatile sig_atomic_t *flag)
{
	interrupt_flag = flag;
}

static struct xds_policy *owner(lua_State *L)
{
	return *(struct xds_policy **)lua_getextraspace(L);
}

/* ---- budgets ---- */

static void hook(lua_State *L, lua_Debug *ar);

static void arm_hook(struct xds_policy *p, int count)
{
	if (p->L)
		lua_sethook(p->L, hook, LUA_MASKCOUNT, count);
}

static void *policy_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct xds_policy *p = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		p->mem_used -= old;
		return NULL;
	}
	size_t cap = p->opt.mem_cap, after = p->mem_used - old + nsize;
	if (nsize > old && after > cap) {
		if (after > cap + cap / 4) {
			p->mem_refused = true;
			return NULL;
		}
		if (!p->mem_over) {
			p->mem_over = true;
			arm_hook(p, 1);
		}
	}
	void *q = realloc(ptr, nsize);
	if (q)
		p->mem_used = after;
	return q;
}

/* Raises msg at the policy's current line; no pcall of the policy catches it. */
static int kill_policy(lua_State *L, struct xds_policy *p, const char *msg)
{
	lua_Debug ar;
	p->killed = true;
	lua_sethook(L, hook, LUA_MASKCOUNT, 1);
	if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0)
		return luaL_error(L, "%s:%d: %s", ar.short_src, ar.currentline, msg);
	return luaL_error(L, "%s", msg);
}

static void check_memory(lua_State *L, struct xds_policy *p)
{
	char msg[128];
	lua_gc(L, LUA_GCCOLLECT);
	if (p->mem_used <= p->opt.mem_cap) {
		p->mem_over = false;
		arm_hook(p, HOOK_EVERY);
		return;
	}
	snprintf(msg, sizeof msg, "policy exceeded its memory cap (%zu MiB)",
		 p->opt.mem_cap >> 20);
	kill_policy(L, p, msg);
}

static void hook(lua_State *L, lua_Debug *ar)
{
	struct xds_policy *p = owner(L);
	char msg[128];
	(void)ar;
	if (p->killed)
		luaL_error(L, "policy stopped");       /* unwinding a pcall loop */
	if (p->overran) {
		p->overran = 0;
		kill_policy(L, p, "policy overran the tick's wall-clock deadline");
	}
	if (p->mem_over)
		check_memory(L, p);
	if (!p->budgeted) {
		if (interrupt_flag && *interrupt_flag)
			luaL_error(L, "%s", *interrupt_flag == SIGTERM ? "terminated" : "interrupted!");
		return;
	}
	p->spent += HOOK_EVERY;
	if (p->spent > p->opt.budget) {
		snprintf(msg, sizeof msg, "policy exceeded its instruction budget (%llu instructions)",
			 (unsigned long long)p->opt.budget);
		kill_policy(L, p, msg);
	}
}

/* ---- the sandbox's own base functions ---- */

static int sb_pcall(lua_State *L)
{
	luaL_checkany(L, 1);
	int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
	if (status != LUA_OK && owner(L)->killed)
		return lua_error(L);
	lua_pushboolean(L, status == LUA_OK);
	lua_insert(L, 1);
	return lua_gettop(L);
}

static int sb_xpcall(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 1);            /* f, msgh, args, f */
	lua_copy(L, 2, 1);              /* msgh, msgh, args, f */
	lua_replace(L, 2);              /* msgh, f, args */
	int status = lua_pcall(L, n - 2, LUA_MULTRET, 1);
	if (status != LUA_OK && owner(L)->killed)
		return lua_error(L);
	lua_pushboolean(L, status == LUA_OK);
	lua_replace(L, 1);
	return lua_gettop(L);
}

/* load(chunk [, name [, mode [, env]]]): text chunks only. */
static int sb_load(lua_State *L)
{
	const char *mode = luaL_optstring(L, 3, "t");
	if (strchr(mode, 'b'))
		return luaL_error(L, "load: binary chunks are not allowed in a policy");
	lua_settop(L, lua_gettop(L) > 4 ? lua_gettop(L) : 4);
	lua_pushstring(L, "t");
	lua_replace(L, 3);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

static int sb_collectgarbage(lua_State *L)
{
	const char *opt = luaL_optstring(L, 1, "count");
	if (strcmp(opt, "count") != 0)
		return luaL_error(L, "collectgarbage: only \"count\" is allowed in a policy");
	lua_pushnumber(L, (lua_Number)lua_gc(L, LUA_GCCOUNT) +
		       (lua_Number)lua_gc(L, LUA_GCCOUNTB) / 1024);
	return 1;
}

static bool module_name_ok(const char *name)
{
	if (!*name || *name == '.' || strstr(name, ".."))
		return false;
	for (const char *c = name; *c; c++)
		if (!(*c == '_' || *c == '.' || (*c >= '0' && *c <= '9') ||
		      (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
			return false;
	return true;
}

/* The first libdir that holds name (dots are folders) as a .lua file. */
static bool find_module(const struct xds_policy *p, const char *name, char *out, size_t n)
{
	char rel[PATH_MAX];
	snprintf(rel, sizeof rel, "%s", name);
	for (char *c = rel; *c; c++)
		if (*c == '.')
			*c = '/';
	for (int i = 0; i < p->nr_libdirs; i++) {
		snprintf(out, n, "%s/%s.lua", p->libdirs[i], rel);
		if (access(out, R_OK) == 0)
			return true;
	}
	return false;
}

static int sb_require(lua_State *L)
{
	struct xds_policy *p = owner(L);
	const char *name = luaL_checkstring(L, 1);
	char path[PATH_MAX + 64];
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	if (lua_getfield(L, 2, name) != LUA_TNIL)
		return 1;
	if (!module_name_ok(name))
		return luaL_error(L, "module '%s': not a module name (letters, digits, _ and .)",
				  name);
	if (!find_module(p, name, path, sizeof path))
		return luaL_error(L, "module '%s' not found in the policy's folder or policies/lib "
				  "(first: %s)", name, p->nr_libdirs ? p->libdirs[0] : "none");
	if (luaL_loadfilex(L, path, "t") != LUA_OK)
		return lua_error(L);
	lua_pushstring(L, name);
	lua_pushstring(L, path);
	lua_call(L, 2, 1);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_pushboolean(L, 1);
	}
	lua_pushvalue(L, -1);
	lua_setfield(L, 2, name);
	lua_pushstring(L, path);
	return 2;
}

static const char *const forbidden_globals[] = {
	"io", "debug", "package", "coroutine", "dofile", "loadfile", NULL
};
static const char *const forbidden_os[] = {
	"execute", "exit", "remove", "rename", "getenv", "tmpname", "setlocale", NULL
};

static bool listed(const char *const list[], const char *name)
{
	for (int i = 0; name && list[i]; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

/* __index of _G and os: a forbidden name says so; any other is nil. */
static int sb_forbidden(lua_State *L)
{
	const char *lib = lua_tostring(L, lua_upvalueindex(1));
	const char *name = lua_tostring(L, 2);
	if (!listed(*lib ? forbidden_os : forbidden_globals, name))
		return 0;
	return luaL_error(L, "%s%s%s is not allowed in a policy (the sandbox; --unsafe lifts it)",
			  lib, *lib ? "." : "", name);
}

static void guard(lua_State *L, const char *lib)
{
	lua_newtable(L);
	lua_pushstring(L, lib);
	lua_pushcclosure(L, sb_forbidden, 1);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
}

static const luaL_Reg sandbox_libs[] = {
	{LUA_GNAME, luaopen_base},
	{LUA_STRLIBNAME, luaopen_string},
	{LUA_TABLIBNAME, luaopen_table},
	{LUA_MATHLIBNAME, luaopen_math},
	{LUA_UTF8LIBNAME, luaopen_utf8},
	{LUA_OSLIBNAME, luaopen_os},
	{NULL, NULL}
};

static void keep_only(lua_State *L, const char *lib, const char *const keep[])
{
	lua_getglobal(L, lib);
	lua_newtable(L);
	for (int i = 0; keep[i]; i++) {
		lua_getfield(L, -2, keep[i]);
		lua_setfield(L, -2, keep[i]);
	}
	lua_setglobal(L, lib);
	lua_pop(L, 1);
}

static void set_global_fn(lua_State *L, const char *name, lua_CFunction f)
{
	lua_pushcfunction(L, f);
	lua_setglobal(L, name);
}

static void open_sandbox(lua_State *L)
{
	static const char *const os_keep[] = {"time", "clock", "date", NULL};
	for (const luaL_Reg *lib = sandbox_libs; lib->func; lib++) {
		luaL_requiref(L, lib->name, lib->func, 1);
		lua_pop(L, 1);
	}
	keep_only(L, LUA_OSLIBNAME, os_keep);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_getglobal(L, LUA_OSLIBNAME);
	lua_setfield(L, -2, LUA_OSLIBNAME);
	lua_pop(L, 1);
	lua_pushnil(L);
	lua_setglobal(L, "dofile");
	lua_pushnil(L);
	lua_setglobal(L, "loadfile");
	lua_getglobal(L, "load");
	lua_pushcclosure(L, sb_load, 1);
	lua_setglobal(L, "load");
	set_global_fn(L, "collectgarbage", sb_collectgarbage);
	set_global_fn(L, "require", sb_require);
	lua_getglobal(L, LUA_OSLIBNAME);
	guard(L, "os");
	lua_pop(L, 1);
	lua_pushglobaltable(L);
	guard(L, "");
	lua_pop(L, 1);
}

/* package.path: the policy's folders first, then Lua's own. */
static void prepend_package_path(lua_State *L, const struct xds_policy *p)
{
	lua_getglobal(L, "package");
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 0; i < p->nr_libdirs; i++) {
		luaL_addstring(&b, p->libdirs[i]);
		luaL_addstring(&b, "/?.lua;");
	}
	lua_getfield(L, -2, "path");
	luaL_addvalue(&b);
	luaL_pushresult(&b);
	lua_setfield(L, -2, "path");
	lua_pop(L, 1);
}

/* --unsafe: every library, and require also searches the policy folders. */
static void open_unsafe(lua_State *L, const struct xds_policy *p)
{
	luaL_openlibs(L);
	prepend_package_path(L, p);
}

/* ---- the state ---- */

static void add_libdir(struct xds_policy *p, const char *dir, const char *sub)
{
	char d[PATH_MAX], real[PATH_MAX];
	if (p->nr_libdirs == MAX_LIBDIRS || !*dir)
		return;
	snprintf(d, sizeof d, "%s%s", dir, sub);
	if (!realpath(d, real))
		return;
	for (int i = 0; i < p->nr_libdirs; i++)
		if (strcmp(p->libdirs[i], real) == 0)
			return;
	snprintf(p->libdirs[p->nr_libdirs++], PATH_MAX, "%s", real);
}

/* The folders named by $XDS_LUA_PATH and $XDS_POLICY_PATH (colon
 * separated), each with sub appended. */
static void add_env_dirs(struct xds_policy *p, const char *sub)
{
	static const char *const vars[] = { "XDS_LUA_PATH", "XDS_POLICY_PATH" };
	char env[4096];
	for (size_t v = 0; v < sizeof vars / sizeof vars[0]; v++) {
		snprintf(env, sizeof env, "%s", getenv(vars[v]) ? getenv(vars[v]) : "");
		for (char *save = NULL, *e = strtok_r(env, ":", &save); e;
		     e = strtok_r(NULL, ":", &save))
			add_libdir(p, e, sub);
	}
}

/* Beside the executable's folder: the build tree (build/, build/asan/)
 * and the installed tree (PREFIX/bin next to PREFIX/share). */
static void add_exe_dirs(struct xds_policy *p, const char *sub)
{
	static const char *const rel[] = {
		"/../policies", "/../../policies", "/../share/xds-lua/policies",
	};
	char exe[PATH_MAX], dir[PATH_MAX], d[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	snprintf(dir, sizeof dir, "%s", dirname(exe));
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
		snprintf(d, sizeof d, "%s%s", dir, rel[i]);
		add_libdir(p, d, sub);
	}
}

/* The policy's folder, $XDS_LUA_PATH, policies/lib beside the policy,
 * beside the executable's folder (the build tree) and installed. */
static void find_libdirs(struct xds_policy *p)
{
	char buf[PATH_MAX], dir[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", p->path);
	snprintf(dir, sizeof dir, "%s", dirname(buf));
	add_libdir(p, dir, "");
	add_env_dirs(p, "");
	add_env_dirs(p, "/lib");
	add_libdir(p, dir, "/lib");
	add_exe_dirs(p, "/lib");
}

/* A bare file name not in the current folder: the first policy folder that
 * holds it (name, or name.lua).  Else path stays as it is. */
static void find_policy(const char *path, char *out, size_t n)
{
	snprintf(out, n, "%s", path);
	if (strchr(path, '/') || access(path, F_OK) == 0)
		return;
	struct xds_policy *dirs = calloc(1, sizeof *dirs);
	if (!dirs)
		return;
	add_env_dirs(dirs, "");
	add_exe_dirs(dirs, "");
	for (int i = 0; i < dirs->nr_libdirs; i++) {
		char cand[PATH_MAX + 80];
		snprintf(cand, sizeof cand, "%s/%s", dirs->libdirs[i], path);
		if (access(cand, R_OK) != 0)
			snprintf(cand, sizeof cand, "%s/%s.lua", dirs->libdirs[i], path);
		if (access(cand, R_OK) == 0 && strlen(cand) < n) {
			snprintf(out, n, "%s", cand);
			break;
		}
	}
	free(dirs);
}

void xds_policy_open_path(lua_State *L)
{
	struct xds_policy *dirs = calloc(1, sizeof *dirs);
	if (!dirs)
		return;
	add_env_dirs(dirs, "");
	add_env_dirs(dirs, "/lib");
	add_exe_dirs(dirs, "/lib");
	prepend_package_path(L, dirs);
	free(dirs);
}

static void set_name(struct xds_policy *p)
{
	char base[PATH_MAX];
	snprintf(base, sizeof base, "%s", p->path);
	snprintf(p->name, sizeof p->name, "%s", basename(base));
	char *dot = strrchr(p->name, '.');
	if (dot && dot != p->name)
		*dot = '\0';
}

struct xds_policy *xds_policy_new(const char *path, const struct xds_policy_opts *o,
				  struct xds_err *err)
{
	struct xds_policy *p = calloc(1, sizeof *p);
	if (!p)
		return xds_fail(err, "policy %s: out of memory", path ? path : "stdin"), NULL;
	p->opt = *o;
	if (!p->opt.budget)
		p->opt.budget = XDS_POLICY_BUDGET;
	if (!p->opt.mem_cap)
		p->opt.mem_cap = XDS_POLICY_MEMCAP;
	p->tick_ref = p->stop_ref = LUA_NOREF;
	p->from_stdin = path == NULL;
	if (path)
		find_policy(path, p->path, sizeof p->path);
	else
		snprintf(p->path, sizeof p->path, "stdin");
	set_name(p);
	find_libdirs(p);
	lua_State *L = lua_newstate(policy_alloc, p);
	if (!L) {
		xds_fail(err, "policy %s: cannot create a Lua state", p->path);
		free(p);
		return NULL;
	}
	*(struct xds_policy **)lua_getextraspace(L) = p;
	p->L = L;
	if (o->unsafe)
		open_unsafe(L, p);
	else
		open_sandbox(L);
	set_global_fn(L, "pcall", sb_pcall);
	set_global_fn(L, "xpcall", sb_xpcall);
	if (o->host) {
		xds_lua_open(L, o->host);
		if (o->on_open)
			o->on_open(L, o->hook_ctx);
	}
	arm_hook(p, HOOK_EVERY);
	return p;
}

void xds_policy_free(struct xds_policy *p)
{
	if (!p)
		return;
	if (p->L && p->opt.on_close)
		p->opt.on_close(p->L, p->opt.hook_ctx);
	if (p->L)
		lua_close(p->L);
	free(p);
}

/* ---- calls ---- */

int xds_lua_msghandler(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (msg == NULL) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			return 1;
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	return 1;
}

/* The function and its nargs arguments are on top; one result is left. */
static int call(struct xds_policy *p, int nargs, bool budget, struct xds_err *err)
{
	lua_State *L = p->L;
	int base = lua_gettop(L) - nargs;
	lua_pushcfunction(L, xds_lua_msghandler);
	lua_insert(L, base);
	p->budgeted = budget;
	p->spent = 0;
	int status = lua_pcall(L, nargs, 1, base);
	p->budgeted = false;
	if (!p->mem_over)
		arm_hook(p, HOOK_EVERY);
	lua_remove(L, base);
	if (status == LUA_OK)
		return 0;
	const char *msg = lua_tostring(L, -1);
	if (status == LUA_ERRMEM || p->mem_refused)
		xds_fail(err, "%s: %s (the policy's memory cap is %zu MiB)", p->path,
			 msg ? msg : "not enough memory", p->opt.mem_cap >> 20);
	else
		xds_fail(err, "%s", msg ? msg : "(error object is not a string)");
	lua_pop(L, 1);
	p->killed = true;
	return -1;
}

void xds_policy_set_argv(struct xds_policy *p, int argc, char **argv, int script)
{
	lua_State *L = p->L;
	lua_createtable(L, argc - script - 1, script + 1);
	for (int i = 0; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - script);
	}
	lua_setglobal(L, "arg");
}

/* arg = { [0] = path, args... } unless the CLI gave the whole command line. */
static void set_args(lua_State *L, const char *path, int nargs, char **args)
{
	if (lua_getglobal(L, "arg") == LUA_TTABLE) {
		lua_pop(L, 1);
		return;
	}
	lua_pop(L, 1);
	lua_createtable(L, nargs, 1);
	lua_pushstring(L, path);
	lua_rawseti(L, -2, 0);
	for (int i = 0; i < nargs; i++) {
		lua_pushstring(L, args[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setglobal(L, "arg");
}

static int take_function(lua_State *L, int t, const char *key)
{
	int type = t ? lua_getfield(L, t, key) : lua_getglobal(L, key);
	if (type != LUA_TFUNCTION) {
		lua_pop(L, 1);
		return LUA_NOREF;
	}
	return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* name and tick_ms: a tick_ms that is not a whole number of milliseconds
 * from 1 to 3600000 is an error, not the default. */
static int take_fields(struct xds_policy *p, int t, struct xds_err *err)
{
	lua_State *L = p->L;
	int type = t ? lua_getfield(L, t, "name") : lua_getglobal(L, "name");
	if (type == LUA_TSTRING)
		snprintf(p->name, sizeof p->name, "%s", lua_tostring(L, -1));
	lua_pop(L, 1);
	type = t ? lua_getfield(L, t, "tick_ms") : lua_getglobal(L, "tick_ms");
	double ms = type == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
	int rc = 0;
	if (type == LUA_TNUMBER && ms >= 1 && ms <= 3600e3 && ms == (double)(uint64_t)ms)
		p->tick_ms = (uint64_t)ms;
	else if (type != LUA_TNIL)
		rc = xds_fail(err, "%s: tick_ms = %s (a %s): expected a whole number of "
			      "milliseconds from 1 to 3600000", p->path[0] ? p->path : "policy",
			      luaL_tolstring(L, -1, NULL), luaL_typename(L, -2));
	lua_settop(L, t ? t : 0);
	return rc;
}

/* A table with a tick function, else a global tick: 1; 0: not a policy;
 * -1: a table whose tick is not a function, or a bad tick_ms. */
static int recognise(struct xds_policy *p, struct xds_err *err)
{
	lua_State *L = p->L;
	int t = lua_istable(L, -1) ? lua_gettop(L) : 0, rc = 0;
	if (t && lua_getfield(L, t, "tick") != LUA_TNIL && !lua_isfunction(L, -1))
		rc = xds_fail(err, "%s: not a policy: its tick is a %s, not a function",
			      p->path[0] ? p->path : "policy", luaL_typename(L, -1));
	else if (t && (p->tick_ref = take_function(L, t, "tick")) != LUA_NOREF) {
		rc = take_fields(p, t, err);
		p->stop_ref = take_function(L, t, "stop");
	} else if ((p->tick_ref = take_function(L, 0, "tick")) != LUA_NOREF) {
		rc = take_fields(p, 0, err);
		p->stop_ref = take_function(L, 0, "stop");
	}
	lua_settop(L, 0);
	return rc < 0 ? -1 : p->tick_ref != LUA_NOREF;
}

int xds_policy_exec(struct xds_policy *p, int nargs, char **args, bool budget,
		    struct xds_err *err)
{
	lua_State *L = p->L;
	lua_settop(L, 0);
	set_args(L, p->path, nargs, args);
	const char *file = p->from_stdin ? NULL : p->path;
	if (luaL_loadfilex(L, file, p->opt.unsafe ? "bt" : "t") != LUA_OK) {
		xds_fail(err, "%s", lua_tostring(L, -1));
		lua_settop(L, 0);
		return -1;
	}
	luaL_checkstack(L, nargs + 2, "too many arguments to the policy");
	for (int i = 0; i < nargs; i++)
		lua_pushstring(L, args[i]);
	if (call(p, nargs, budget, err) < 0)
		return -1;
	return recognise(p, err);
}

static void push_snap(lua_State *L, struct xds_lstate *s, uint64_t tick, double time_s)
{
	const struct xds_host *h = s->host;
	lua_createtable(L, 0, 4);
	lua_pushnumber(L, time_s);
	lua_setfield(L, -2, "time");
	lua_pushinteger(L, (lua_Integer)tick);
	lua_setfield(L, -2, "tick");
	int nr = xds_host_nr_guests(h);
	lua_createtable(L, nr, 0);
	for (int g = 0; g < nr; g++) {
		xds_lua_push_domain(L, xds_host_guest(h, g));
		lua_rawseti(L, -2, g + 1);
	}
	lua_setfield(L, -2, "domains");
	lua_newtable(L);
	lua_Integer n = 0;
	for (int g = 0; g < nr; g++) {
		const struct xds_guest *gu = xds_host_guest(h, g);
		if (xds_guest_error(gu)[0])
			continue;
		for (int i = 0; i < xds_guest_snapshot(gu)->nr_tasks; i++) {
			xds_task_pushs(L, s, g, i);
			lua_rawseti(L, -2, ++n);
		}
	}
	lua_setfield(L, -2, "tasks");
}

/* In a tick or stop: time stands still, wishes go to the scheduler (or
 * are only counted when dry). */
static int budgeted_call(struct xds_policy *p, int ref, int nargs, bool dry,
			 struct xds_err *err)
{
	lua_State *L = p->L;
	struct xds_lstate *s = p->opt.host ? xds_lua_state(L) : NULL;
	lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
	lua_insert(L, -nargs - 1);
	if (s) {
		s->in_tick = true;
		s->dry = dry;
		s->dry_wishes = 0;
	}
	int r = call(p, nargs, true, err);
	if (s)
		s->in_tick = s->dry = false;
	lua_settop(L, 0);
	return r;
}

int xds_policy_tick(struct xds_policy *p, uint64_t tick, double time_s, bool dry,
		    struct xds_err *err)
{
	lua_State *L = p->L;
	if (p->tick_ref == LUA_NOREF || p->killed)
		return xds_fail(err, "policy %s: not running", p->name);
	lua_settop(L, 0);
	if (p->opt.host) {
		struct xds_lstate *s = xds_lua_state(L);
		s->fresh = true;
		push_snap(L, s, tick, time_s);
	} else {
		lua_newtable(L);
	}
	return budgeted_call(p, p->tick_ref, 1, dry, err);
}

int xds_policy_stop(struct xds_policy *p, struct xds_err *err)
{
	if (p->stopped || p->stop_ref == LUA_NOREF)
		return 0;
	p->stopped = true;
	p->killed = false;
	p->mem_over = false;
	lua_settop(p->L, 0);
	return budgeted_call(p, p->stop_ref, 0, false, err);
}

void xds_policy_interrupt(struct xds_policy *p)
{
	p->overran = 1;
	lua_sethook(p->L, hook, LUA_MASKCOUNT, 1);     /* may be called from another thread */
}

const char *xds_policy_name(const struct xds_policy *p)
{
	return p->name;
}

const char *xds_policy_path(const struct xds_policy *p)
{
	return p->path;
}

uint64_t xds_policy_tick_ms(const struct xds_policy *p)
{
	return p->tick_ms;
}

lua_State *xds_policy_state(struct xds_policy *p)
{
	return p->L;
}

size_t xds_policy_memory(const struct xds_policy *p)
{
	return p->mem_used;
}
