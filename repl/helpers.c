/*
 * helpers.c - the REPL's global helpers: ps, top, freeze, thaw, frozen,
 * step, run, load, unload, stats, help, quit.
 *
 * They are for people at a terminal: they print and return nothing, while
 * the `xds` module (lua/) returns data.  Each is built on the module's own
 * functions (xds.tasks, xds.frozen, xds.load, ...) and, for what a REPL
 * does between ticks, on the tick driver's hooks (lua/run.h): freeze and
 * thaw apply at once rather than at the end of the next tick.  Long
 * commands (step, run, top) look at xds_repl_signal between ticks, so
 * Ctrl-C ends them and leaves the REPL at its prompt.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "lua/policy.h"
#include "lua/run.h"
#include "repl/repl_int.h"
#include "util/utf8.h"

#define TOP_INTERVAL_NS 500000000u

const char *const xds_repl_task_fields[] = {
	"dom", "pid", "tgid", "comm", "state", "cpu", "nice", "prio",
	"cputime", "vruntime", "queued", "running", "frozen", NULL
};

/* One task as ps and top show it. */
struct row {
	char dom[32], comm[17];
	int pid, tgid, cpu, nice;
	char state;
	long long cputime;          /* ns */
	bool queued, running, frozen;
	double share;               /* top: CPU share over the last interval */
};


/* ---- from the xds module ---- */

static void push_xds(lua_State *L, const char *fn)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	if (lua_getfield(L, -1, "xds") != LUA_TTABLE)
		luaL_error(L, "the xds module is not open");
	if (lua_getfield(L, -1, fn) == LUA_TNIL)
		luaL_error(L, "xds.%s: not available", fn);
	lua_replace(L, -3);
	lua_pop(L, 1);
}

static struct xds_run *driver(lua_State *L, const char *fn)
{
	struct xds_run *r = xds_run_of(L);
	if (!r)
		luaL_error(L, "%s: no tick driver (the xds module is not open)", fn);
	return r;
}

static double host_time(lua_State *L)
{
	push_xds(L, "time");
	lua_call(L, 0, 1);
	double t = lua_tonumber(L, -1);
	lua_pop(L, 1);
	return t;
}

static void copy_field(lua_State *L, int t, const char *k, char *buf, size_t size)
{
	lua_getfield(L, t, k);
	snprintf(buf, size, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
	lua_pop(L, 1);
}

static lua_Integer int_field(lua_State *L, int t, const char *k)
{
	lua_getfield(L, t, k);
	lua_Integer v = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return v;
}

static bool bool_field(lua_State *L, int t, const char *k)
{
	lua_getfield(L, t, k);
	bool v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

static void fill_row(lua_State *L, int t, struct row *r)
{
	char state[4];
	memset(r, 0, sizeof *r);
	copy_field(L, t, "dom", r->dom, sizeof r->dom);
	copy_field(L, t, "comm", r->comm, sizeof r->comm);
	copy_field(L, t, "state", state, sizeof state);
	r->state = state[0];
	r->pid = (int)int_field(L, t, "pid");
	r->tgid = (int)int_field(L, t, "tgid");
	r->cpu = (int)int_field(L, t, "cpu");
	r->nice = (int)int_field(L, t, "nice");
	r->cputime = (long long)int_field(L, t, "cputime");
	r->queued = bool_field(L, t, "queued");
	r->running = bool_field(L, t, "running");
	r->frozen = bool_field(L, t, "frozen");
}

/* xds.tasks(filter at idx, 0 for all) as rows, in a userdata left on top. */
static struct row *get_rows(lua_State *L, int idx, int *n)
{
	push_xds(L, "tasks");
	if (idx)
		lua_pushvalue(L, idx);
	else
		lua_pushnil(L);
	lua_call(L, 1, 1);
	int tasks = lua_gettop(L);
	*n = (int)luaL_len(L, tasks);
	struct row *rows = lua_newuserdatauv(L, sizeof *rows * (size_t)(*n + 1), 0);
	for (int i = 0; i < *n; i++) {
		lua_rawgeti(L, tasks, i + 1);
		fill_row(L, lua_gettop(L), &rows[i]);
		lua_pop(L, 1);
	}
	lua_remove(L, tasks);
	return rows;
}

/* ---- ps and top ---- */

/* top's order: the largest share of CPU first, then the most CPU time. */
static int cmp_share(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = (y->share > x->share) - (y->share < x->share);
	if (!c)
		c = (y->cputime > x->cputime) - (y->cputime < x->cputime);
	if (!c)
		c = strcmp(x->dom, y->dom);
	return c ? c : (x->pid > y->pid) - (x->pid < y->pid);
}

static int dom_width(const struct row *rows, int n)
{
	int w = 3;
	for (int i = 0; i < n; i++)
		if ((int)strlen(rows[i].dom) > w)
			w = (int)strlen(rows[i].dom);
	return w;
}

static void print_rows(const struct row *rows, int n)
{
	int w = dom_width(rows, n);
	printf("%-*s %7s %7s %-15s S CPU  NI %10s %s\n", w, "DOM", "PID", "TGID", "COMM", "%CPU", "QRF");
	for (int i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		struct utf8_shown comm = utf8_shown(r->comm, sizeof r->comm);
		printf("%-*s %7d %7d %s%*s %c %3d %3d %10.3f %c%c%c\n", w, r->dom, r->pid, r->tgid,
		       comm.s, utf8_pad(comm.s, 15), "", r->state ? r->state : '?', r->cpu, r->nice,
		       100 * r->share,
		       r->queued ? 'Q' : '-', r->running ? 'R' : '-', r->frozen ? 'F' : '-');
	}
}

/* The module's ps (xds.ps), which sorts too; the REPL's returns nothing. */
static int h_ps(lua_State *L)
{
	lua_settop(L, 2);
	push_xds(L, "ps");
	lua_insert(L, 1);
	lua_call(L, 2, 0);
	return 0;
}

/* ---- freeze, thaw, frozen ---- */

/* The tasks x names, as a table on top: a task, ("DOM", pid), a pid, or a
 * filter for xds.tasks (a domain and comm glob "U1/bkup*", a table, a
 * function). */
static void push_targets(lua_State *L, const char *fn)
{
	if (luaL_testudata(L, 1, "xds.task")) {
		lua_createtable(L, 1, 0);
		lua_pushvalue(L, 1);
		lua_rawseti(L, -2, 1);
		return;
	}
	if (lua_isnoneornil(L, 1))
		luaL_error(L, "%s: which task? a task, (\"DOM\", pid), a pid or a filter "
			   "such as \"U1/bkup*\"", fn);
	push_xds(L, "tasks");
	if (lua_isinteger(L, 1) || (lua_type(L, 1) == LUA_TSTRING && lua_isinteger(L, 2))) {
		lua_createtable(L, 0, 2);
		lua_pushvalue(L, lua_isinteger(L, 1) ? 1 : 2);
		lua_setfield(L, -2, "pid");
		if (!lua_isinteger(L, 1)) {
			lua_pushvalue(L, 1);
			lua_setfield(L, -2, "dom");
		}
	} else {
		lua_pushvalue(L, 1);
	}
	lua_call(L, 1, 1);
}

static const char *target_name(lua_State *L)
{
	if (lua_isinteger(L, 2))
		return lua_pushfstring(L, "%s %d", luaL_tolstring(L, 1, NULL), (int)lua_tointeger(L, 2));
	return luaL_tolstring(L, 1, NULL);
}

/* freeze(x[, {force = true}]): an options table after the target goes to
 * each task's method.  A task the scheduler refuses (protected) is said
 * with the reason, and is not in the "froze" lines. */
static int wish(lua_State *L, const char *fn, const char *method, const char *done)
{
	struct xds_run *r = driver(L, fn);
	struct xds_err err = {""};
	int o = lua_gettop(L) >= 2 && lua_istable(L, lua_gettop(L)) ? lua_gettop(L) : 0;
	push_targets(L, fn);
	int t = lua_gettop(L), n = (int)luaL_len(L, t);
	if (n == 0)
		return luaL_error(L, "%s: no task matches %s", fn, target_name(L));
	if (lua_isinteger(L, 1) && n > 1)
		return luaL_error(L, "%s: pid %d is in %d domains; say %s(\"DOM\", %d)", fn,
				  (int)lua_tointeger(L, 1), n, fn, (int)lua_tointeger(L, 1));
	lua_createtable(L, n, 0);       /* accepted[i] */
	int ok = lua_gettop(L), accepted = 0;
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, t, i);
		lua_getfield(L, -1, method);
		lua_insert(L, -2);
		if (o)
			lua_pushvalue(L, o);
		lua_call(L, o ? 2 : 1, 2);
		bool yes = lua_toboolean(L, -2);
		if (!yes)
			printf("not %s: %s\n", method, lua_tostring(L, -1));
		accepted += yes;
		lua_pop(L, 2);
		lua_pushboolean(L, yes);
		lua_rawseti(L, ok, i);
	}
	if (!accepted)
		return luaL_error(L, "%s: every task that %s names is protected", fn, target_name(L));
	if (xds_run_apply(r, &err) < 0)
		return luaL_error(L, "%s: %s", fn, err.msg);
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, ok, i);
		bool yes = lua_toboolean(L, -1);
		lua_pop(L, 1);
		if (!yes)
			continue;
		lua_rawgeti(L, t, i);
		printf("%s %s\n", done, luaL_tolstring(L, -1, NULL));
		lua_pop(L, 2);
	}
	fflush(stdout);
	return 0;
}

static int h_freeze(lua_State *L)
{
	return wish(L, "freeze", "freeze", "froze");
}

static int h_thaw(lua_State *L)
{
	return wish(L, "thaw", "thaw", "thawed");
}

static int h_frozen(lua_State *L)
{
	push_xds(L, "frozen");
	lua_call(L, 0, 1);
	int t = lua_gettop(L), n = (int)luaL_len(L, t);
	if (n == 0)
		printf("no task is frozen\n");
	else
		printf("%-6s %7s %-15s %s\n", "DOM", "PID", "COMM", "HOLD");
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, t, i);
		int row = lua_gettop(L);
		char dom[32], comm[17], hold[16];
		copy_field(L, row, "dom", dom, sizeof dom);
		copy_field(L, row, "comm", comm, sizeof comm);
		copy_field(L, row, "hold", hold, sizeof hold);
		struct utf8_shown shown = utf8_shown(comm, sizeof comm);
		printf("%-6s %7d %s%*s %s%s\n", dom, (int)int_field(L, row, "pid"), shown.s,
		       utf8_pad(shown.s, 15), "", hold, bool_field(L, row, "want") ? "" : " (thaw wished)");
		lua_pop(L, 1);
	}
	fflush(stdout);
	return 0;
}

/* ---- time: step, run ---- */

static void said_interrupted(lua_State *L, const char *fn)
{
	if (xds_repl_signal != SIGINT)
		return;
	xds_repl_clear_interrupt(L);
	printf("%s%s: interrupted\n", xds_repl_is_tty() ? "\n" : "", fn);
}

/* lua_pcall for a command Ctrl-C may end: the interruption is taken
 * quietly (said, when fn is given), any other error raised again. */
static void interruptible_call(lua_State *L, int nargs, int nres, const char *fn)
{
	if (lua_pcall(L, nargs, nres, 0) == LUA_OK)
		return;
	if (xds_repl_signal != SIGINT)
		lua_error(L);
	lua_pop(L, 1);
	if (fn)
		said_interrupted(L, fn);
	xds_repl_clear_interrupt(L);
	for (int i = 0; i < nres; i++)
		lua_pushnil(L);
}

static int h_step(lua_State *L)
{
	struct xds_run *r = driver(L, "step");
	struct xds_err err = {""};
	lua_Integer n = luaL_optinteger(L, 1, 1), i;
	luaL_argcheck(L, n >= 0, 1, "a number of ticks expected");
	double t0 = host_time(L);
	for (i = 0; i < n && !xds_repl_signal; i++)
		if (xds_run_tick(r, &err) < 0)
			return luaL_error(L, "step: %s", err.msg);
	said_interrupted(L, "step");
	printf("%lld tick%s, %.3f s\n", (long long)i, i == 1 ? "" : "s", host_time(L) - t0);
	fflush(stdout);
	return 0;
}

static int h_run(lua_State *L)
{
	struct xds_run *r = driver(L, "run");
	luaL_checkany(L, 1);
	uint64_t ticks = r->ticks;
	double t0 = host_time(L);
	push_xds(L, "run");
	lua_pushvalue(L, 1);
	interruptible_call(L, 1, 0, "run");
	said_interrupted(L, "run");
	printf("%llu ticks, %.3f s%s%s\n", (unsigned long long)(r->ticks - ticks),
	       host_time(L) - t0, r->policy ? ", policy " : ", no policy",
	       r->policy ? xds_policy_name(r->policy) : "");
	fflush(stdout);
	return 0;
}

/* ---- policies, stats, quit ---- */

/* load(path, ...) loads a policy; load(chunk [, ...]) with a function or
 * a string that names no file is Lua's own load (upvalue 1). */
static int h_load(lua_State *L)
{
	int nargs = lua_gettop(L);
	if (lua_isfunction(L, 1) || (lua_type(L, 1) == LUA_TSTRING &&
				     access(lua_tostring(L, 1), F_OK) != 0 &&
				     !strstr(lua_tostring(L, 1), ".lua"))) {
		lua_pushvalue(L, lua_upvalueindex(1));
		lua_insert(L, 1);
		lua_call(L, nargs, LUA_MULTRET);
		return lua_gettop(L);
	}
	luaL_checkstring(L, 1);
	push_xds(L, "load");
	lua_insert(L, 1);
	lua_call(L, nargs, 1);
	printf("policy %s loaded\n", lua_tostring(L, -1));
	fflush(stdout);
	return 0;
}

static int h_unload(lua_State *L)
{
	push_xds(L, "unload");
	lua_call(L, 0, 1);
	printf("%s\n", lua_toboolean(L, -1) ? "policy unloaded, its tasks thawed" : "no policy loaded");
	fflush(stdout);
	return 0;
}

static void print_phase(lua_State *L, int t, const char *name)
{
	lua_getfield(L, t, name);
	int p = lua_gettop(L);
	lua_getfield(L, p, "mean");
	lua_getfield(L, p, "max");
	printf("  %-9s %8lld  mean %.3f ms  max %.3f ms\n", name, (long long)int_field(L, p, "count"),
	       lua_tonumber(L, -2), lua_tonumber(L, -1));
	lua_settop(L, p - 1);
}

static int h_stats(lua_State *L)
{
	static const char *const counts[] = { "ticks", "freezes", "thaws", "retries", "refusals",
					      "undone", "kicks", NULL };
	static const char *const phases[] = { "snapshot", "policy", "apply", "tick", "pauses", NULL };
	push_xds(L, "stats");
	lua_call(L, 0, 1);
	int t = lua_gettop(L);
	for (int i = 0; counts[i]; i++)
		printf("%s %lld%s", counts[i], (long long)int_field(L, t, counts[i]),
		       counts[i + 1] ? ", " : "\n");
	for (int i = 0; phases[i]; i++)
		print_phase(L, t, phases[i]);
	if (lua_getfield(L, t, "policy_name") == LUA_TSTRING)
		printf("policy %s, %lld bytes\n", lua_tostring(L, -1),
		       (long long)int_field(L, t, "policy_memory"));
	else
		printf("no policy loaded\n");
	fflush(stdout);
	return 0;
}

static int h_quit(lua_State *L)
{
	(void)L;
	xds_repl_request_quit();
	return 0;
}

/* ---- top ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_dom_pid(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->dom, y->dom);
	return c ? c : (x->pid > y->pid) - (x->pid < y->pid);
}

/* Each row's share of a CPU since prev (sorted by dom, pid) dt seconds ago. */
static void set_shares(struct row *rows, int n, const struct row *prev, int nprev, double dt)
{
	for (int i = 0; i < n; i++) {
		const struct row *p = bsearch(&rows[i], prev, (size_t)nprev, sizeof *prev, cmp_dom_pid);
		long long d = p ? rows[i].cputime - p->cputime : 0;
		rows[i].share = dt > 0 && d > 0 ? (double)d / 1e9 / dt : 0;
	}
}

static void draw_top(lua_State *L, struct row *rows, int n, int max, double t)
{
	struct xds_run *r = xds_run_of(L);
	int frozen = 0;
	for (int i = 0; i < n; i++)
		frozen += rows[i].frozen;
	if (xds_repl_is_tty())
		fputs("\033[H\033[2J", stdout);
	printf("xds-lua top: host time %.3f s, %llu ticks, policy %s, %d frozen, %d tasks%s\n", t,
	       r ? (unsigned long long)r->ticks : 0ULL,
	       r && r->policy ? xds_policy_name(r->policy) : "none", frozen, n,
	       xds_repl_is_tty() ? "  (a key or Ctrl-C leaves)" : "");
	qsort(rows, (size_t)n, sizeof *rows, cmp_share);
	print_rows(rows, n < max ? n : max);
	fflush(stdout);
}

/* Ticks for one interval of host time; false when interrupted. */
static bool top_advance(lua_State *L, struct xds_run *r, uint64_t *wall0)
{
	struct xds_err err = {""};
	*wall0 = mono_ns();
	if (r && r->sched && xds_run_loop(r, TOP_INTERVAL_NS, &err) < 0)
		luaL_error(L, "top: %s", err.msg);
	return !xds_repl_signal;
}

/* Waits the rest of the interval: true if a key (drained) or a signal came. */
static bool top_key(uint64_t wall0)
{
	uint64_t spent = mono_ns() - wall0;
	int ms = spent < TOP_INTERVAL_NS ? (int)((TOP_INTERVAL_NS - spent) / 1000000) : 0;
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	int rc = poll(&p, 1, ms);
	if (rc < 0)
		return errno == EINTR && xds_repl_signal;
	if (rc == 0)
		return false;
	char buf[64];
	while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN) && read(STDIN_FILENO, buf, sizeof buf) > 0)
		;
	return true;
}

static int top_loop(lua_State *L)
{
	int max = (int)lua_tointeger(L, 1), nprev, n;
	struct xds_run *r = xds_run_of(L);
	struct row *prev = get_rows(L, 0, &nprev);
	double t = host_time(L);
	uint64_t wall0;
	qsort(prev, (size_t)nprev, sizeof *prev, cmp_dom_pid);
	while (top_advance(L, r, &wall0)) {
		struct row *rows = get_rows(L, 0, &n);
		double now = host_time(L);
		set_shares(rows, n, prev, nprev, now - t);
		draw_top(L, rows, n, max, now);
		qsort(rows, (size_t)n, sizeof *rows, cmp_dom_pid);
		lua_replace(L, -2);
		prev = rows;
		nprev = n;
		t = now;
		if (!xds_repl_is_tty() || top_key(wall0))
			break;
	}
	xds_repl_clear_interrupt(L);    /* before the return hook fires */
	return 0;
}

static int terminal_rows(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 6)
		return ws.ws_row - 3;
	return 20;
}

static int h_top(lua_State *L)
{
	lua_Integer max = luaL_optinteger(L, 1, terminal_rows());
	luaL_argcheck(L, max > 0, 1, "a number of rows expected");
	struct termios saved, t;
	bool raw = xds_repl_is_tty() && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		t = saved;
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	lua_pushcfunction(L, top_loop);
	lua_pushinteger(L, max);
	int status = lua_pcall(L, 1, 0, 0);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (status != LUA_OK && xds_repl_signal != SIGINT)
		return lua_error(L);
	xds_repl_clear_interrupt(L);
	return 0;
}

/* ---- help ---- */

struct helper {
	const char *name, *synopsis, *line;
	lua_CFunction fn;
};

static int h_help(lua_State *L);

static const struct helper helpers[] = {
	{"ps", "ps([filter [, sort]])", "list tasks, a row per thread (PID the thread, TGID its process); "
	 "filter \"U1/bkup*\" (a comm: the process's threads), {dom=, comm=, pid=, tgid=, state=} "
	 "or a function; sort \"cpu\" (most first), \"pid\", \"dom\", \"comm\", \"-KEY\" reverses", h_ps},
	{"top", "top([n])", "live view of the n busiest tasks, ticking; a key or Ctrl-C leaves", h_top},
	{"freeze", "freeze(x[, {force = true}])", "freeze a task, (\"DOM\", pid), a pid or every "
	 "task of a filter (\"U1/bkup*\"), now; init, kernel threads and idle tasks only with force",
	 h_freeze},
	{"thaw", "thaw(x)", "thaw what freeze(x) took", h_thaw},
	{"frozen", "frozen()", "list the tasks held frozen (or about to be)", h_frozen},
	{"step", "step([n])", "run n ticks (default 1; of virtual time on a host that keeps it)", h_step},
	{"run", "run(seconds)", "run the loaded policy that long (\"2s\", \"500ms\", or seconds)", h_run},
	{"load", "load(path [, args...])", "load a policy file; it runs on every tick (load(chunk) stays Lua's)", h_load},
	{"unload", "unload()", "stop the policy and thaw its tasks", h_unload},
	{"stats", "stats()", "the scheduler's counters and time per phase", h_stats},
	{"help", "help([topic])", "this list; help(\"ps\"), help(\"task\"), help(\"xds\")", h_help},
	{"quit", "quit()", "leave (as Ctrl-D); every task frozen in the session is thawed", h_quit},
	{NULL, NULL, NULL, NULL}
};

/* help("ps"): what each column of ps() means (docs/formats.md, "ps"). */
#define PS_COLUMNS \
	"  columns: DOM the domain; PID, TGID the guest's pid and thread group;\n" \
	"  COMM the task's comm (escaped: \\n, \\xff); S its state (R running or\n" \
	"  runnable, S sleeping, D uninterruptible or frozen by the guest, T\n" \
	"  stopped, t traced, P parked, I idle, Z zombie, X dead, ? unknown);\n" \
	"  CPU the CPU whose run queue it is on or last ran on; NI its nice;\n" \
	"  TIME the CPU time it has used (sum_exec_runtime), in milliseconds with\n" \
	"  3 decimals; QRF three flags: Q on a run queue, R running on its CPU\n" \
	"  now, F held frozen by xds-lua (- where a flag is off)\n"

static void help_xds(lua_State *L)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	if (lua_getfield(L, -1, "xds") != LUA_TTABLE)
		return;
	printf("xds:");
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		if (lua_type(L, -2) == LUA_TSTRING)
			printf(" xds.%s", lua_tostring(L, -2));
		lua_pop(L, 1);
	}
	printf("\ntask:freeze(), task:thaw(); xds.tasks() and ps() take the same filters\n");
}

static int h_help(lua_State *L)
{
	const char *topic = luaL_optstring(L, 1, NULL);
	if (!topic) {
		for (int i = 0; helpers[i].name; i++)
			printf("%-24s %s\n", helpers[i].synopsis, helpers[i].line);
	} else if (strcmp(topic, "task") == 0) {
		printf("task fields:");
		for (int i = 0; xds_repl_task_fields[i]; i++)
			printf(" %s", xds_repl_task_fields[i]);
		printf("\ntask methods: freeze() thaw()\n");
	} else if (strcmp(topic, "xds") == 0) {
		help_xds(L);
	} else {
		int i = 0;
		while (helpers[i].name && strcmp(helpers[i].name, topic) != 0)
			i++;
		if (!helpers[i].name)
			return luaL_error(L, "help: no topic '%s' (a helper, \"task\" or \"xds\")", topic);
		printf("%s\n  %s\n", helpers[i].synopsis, helpers[i].line);
		if (helpers[i].fn == h_ps)
			fputs(PS_COLUMNS, stdout);
	}
	fflush(stdout);
	return 0;
}

void xds_repl_helpers_open(lua_State *L)
{
	for (int i = 0; helpers[i].name; i++) {
		if (helpers[i].fn == h_load) {
			lua_getglobal(L, "load");
			if (lua_tocfunction(L, -1) == h_load) {     /* opened before */
				lua_getupvalue(L, -1, 1);
				lua_remove(L, -2);
			}
			lua_pushcclosure(L, h_load, 1);
		} else {
			lua_pushcfunction(L, helpers[i].fn);
		}
		lua_setglobal(L, helpers[i].name);
	}
}
