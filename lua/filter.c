/*
 * filter.c - xds.tasks([filter]) and the global ps([filter]).
 *
 * A filter selects tasks of the current snapshot: nil (all), a table of
 * fields {dom=, comm=, pid=, tgid=, state=, cpu=} (dom and comm are globs
 * with * ? [..]; comm matches a thread's own comm or its process's, the
 * leader's; state a set of letters such as "R" or "RD"), a string
 * "DOM/COMMGLOB" or "COMMGLOB", or a function(task) -> bool.  Matches come
 * out in one order: domains in attach order, then by pid.  Guests whose
 * snapshot failed contribute nothing to xds.tasks; ps() lists the others
 * and names on stderr each guest that could not be read; it is an error
 * when no guest could be (or none is attached).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lua/xds_int.h"
#include "util/utf8.h"

struct filter {
	int func;                   /* stack index of a function filter, or 0 */
	const char *dom, *comm, *state;
	bool has_pid, has_tgid, has_cpu;
	lua_Integer pid, tgid, cpu;
};

struct match {
	int guest, task, pid;
};

static const char *const filter_keys[] = {
	"dom", "comm", "pid", "tgid", "state", "cpu", NULL
};

static const char *opt_string(lua_State *L, int t, const char *key)
{
	if (lua_getfield(L, t, key) == LUA_TNIL)
		return NULL;
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "filter field '%s': string expected, got %s", key, luaL_typename(L, -1));
	return lua_tostring(L, -1);     /* stays on the stack, anchored */
}

static bool opt_integer(lua_State *L, int t, const char *key, lua_Integer *v)
{
	int isnum;
	if (lua_getfield(L, t, key) == LUA_TNIL) {
		lua_pop(L, 1);
		return false;
	}
	*v = lua_tointegerx(L, -1, &isnum);
	if (!isnum)
		luaL_error(L, "filter field '%s': integer expected, got %s", key, luaL_typename(L, -1));
	lua_pop(L, 1);
	return true;
}

static void check_keys(lua_State *L, int t)
{
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		int i = 0;
		while (key && filter_keys[i] && strcmp(filter_keys[i], key) != 0)
			i++;
		if (!key || !filter_keys[i])
			luaL_error(L, "unknown filter field '%s' (dom, comm, pid, tgid, state, cpu)",
				   luaL_tolstring(L, -1, NULL));
	}
}

static void table_filter(lua_State *L, int t, struct filter *f)
{
	check_keys(L, t);
	f->dom = opt_string(L, t, "dom");
	f->comm = opt_string(L, t, "comm");
	f->state = opt_string(L, t, "state");
	f->has_pid = opt_integer(L, t, "pid", &f->pid);
	f->has_tgid = opt_integer(L, t, "tgid", &f->tgid);
	f->has_cpu = opt_integer(L, t, "cpu", &f->cpu);
}

static bool is_domain(const struct xds_host *h, const char *name, size_t len)
{
	for (int i = 0; i < xds_host_nr_guests(h); i++) {
		const char *g = xds_guest_name(xds_host_guest(h, i));
		if (strlen(g) == len && memcmp(g, name, len) == 0)
			return true;
	}
	return false;
}

/* "DOM/GLOB" only when DOM names a domain: comms may hold '/' (kworker/0:1). */
static void string_filter(lua_State *L, int idx, struct filter *f)
{
	const char *str = lua_tostring(L, idx);
	const char *slash = strchr(str, '/');
	f->comm = str;
	if (slash && is_domain(xds_lua_upstate(L)->host, str, (size_t)(slash - str))) {
		lua_pushlstring(L, str, (size_t)(slash - str));
		f->dom = lua_tostring(L, -1);
		f->comm = slash + 1;
	}
}

static void check_filter(lua_State *L, int idx, struct filter *f)
{
	memset(f, 0, sizeof *f);
	switch (lua_type(L, idx)) {
	case LUA_TNONE:
	case LUA_TNIL:      break;
	case LUA_TTABLE:    table_filter(L, idx, f); break;
	case LUA_TSTRING:   string_filter(L, idx, f); break;
	case LUA_TFUNCTION: f->func = idx; break;
	default:
		luaL_typeerror(L, idx, "filter (table, string or function)");
	}
}

/* A comm glob names a thread by its own comm, or every thread of a process
 * by the process's comm (its leader's): "db" is all of db's threads, even
 * those that renamed themselves. */
static bool comm_match(const char *glob, const struct lx_task *t, const struct lx_task *leader)
{
	char comm[sizeof t->comm + 1];
	snprintf(comm, sizeof comm, "%.*s", (int)sizeof t->comm, t->comm);
	if (fnmatch(glob, comm, 0) == 0)
		return true;
	snprintf(comm, sizeof comm, "%.*s", (int)sizeof leader->comm, leader->comm);
	return leader != t && fnmatch(glob, comm, 0) == 0;
}

static bool fields_match(const struct filter *f, const char *dom, const struct lx_task *t,
			 const struct lx_task *leader)
{
	if (f->dom && fnmatch(f->dom, dom, 0) != 0)
		return false;
	if (f->comm && !comm_match(f->comm, t, leader))
		return false;
	if (f->state && (!t->state || !strchr(f->state, t->state)))
		return false;
	return (!f->has_pid || f->pid == t->pid) && (!f->has_tgid || f->tgid == t->tgid) &&
	       (!f->has_cpu || f->cpu == t->cpu);
}

/* The walk reads the snapshot the function may not replace. */
static bool call_filter(lua_State *L, const struct filter *f, int guest, int task)
{
	struct xds_lstate *s = xds_lua_upstate(L);
	uint64_t epoch = xds_host_epoch(s->host);
	lua_pushvalue(L, f->func);
	xds_task_push(L, guest, task);
	lua_call(L, 1, 1);
	if (!s->fresh || xds_host_epoch(s->host) != epoch)
		luaL_error(L, "a filter function may not expire the snapshot it filters");
	bool keep = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return keep;
}

static int match_cmp(const void *a, const void *b)
{
	const struct match *x = a, *y = b;
	if (x->guest != y->guest)
		return x->guest < y->guest ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->task > y->task) - (x->task < y->task);
}

static int total_tasks(const struct xds_host *h)
{
	int n = 0;
	for (int i = 0; i < xds_host_nr_guests(h); i++)
		if (!xds_guest_error(xds_host_guest(h, i))[0])
			n += xds_guest_snapshot(xds_host_guest(h, i))->nr_tasks;
	return n;
}

/* Matches of the filter at idx, sorted; the array is a userdata left on
 * the stack so that an error in a function filter frees it. */
static struct match *collect(lua_State *L, int idx, int *n)
{
	struct xds_lstate *s = xds_lua_upstate(L);
	struct filter f;
	xds_lua_fresh(L, s);
	check_filter(L, idx, &f);
	struct xds_host *h = s->host;
	struct match *m = lua_newuserdatauv(L, sizeof *m * (size_t)(total_tasks(h) + 1), 0);
	*n = 0;
	for (int gi = 0; gi < xds_host_nr_guests(h); gi++) {
		const struct xds_guest *g = xds_host_guest(h, gi);
		for (int ti = 0; !xds_guest_error(g)[0] && ti < xds_guest_snapshot(g)->nr_tasks; ti++) {
			const struct lx_task *t = &xds_guest_snapshot(g)->tasks[ti];
			if (f.func ? call_filter(L, &f, gi, ti)
				   : fields_match(&f, xds_guest_name(g), t, xds_task_leader(s, gi, t)))
				m[(*n)++] = (struct match){ gi, ti, t->pid };
		}
	}
	qsort(m, (size_t)*n, sizeof *m, match_cmp);
	return m;
}

int xds_lua_tasks(lua_State *L)
{
	int n;
	struct match *m = collect(L, 1, &n);
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		xds_task_push(L, m[i].guest, m[i].task);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

static int dom_width(const struct xds_host *h)
{
	int w = 3;
	for (int i = 0; i < xds_host_nr_guests(h); i++)
		if ((int)strlen(xds_guest_name(xds_host_guest(h, i))) > w)
			w = (int)strlen(xds_guest_name(xds_host_guest(h, i)));
	return w;
}

/* The comm as bytes become text (util/utf8.h): UTF-8 kept, control bytes escaped. */
static void ps_row(FILE *out, int w, const char *dom, const struct lx_task *t, bool frozen)
{
	struct utf8_shown comm = utf8_shown(t->comm, sizeof t->comm);
	fprintf(out, "%-*s %7d %7d %s%*s %c %3d %3d %12.3f %c%c%c\n", w, dom, t->pid, t->tgid,
		comm.s, utf8_pad(comm.s, 15), "", t->state ? t->state : '?',
		t->cpu, t->nice, (double)t->cputime_ns / 1e6,
		t->queued ? 'Q' : '-', t->running ? 'R' : '-', frozen ? 'F' : '-');
}

/* ps's orders: "cpu" (most first), "pid", "dom", "comm"; "-KEY" reverses. */
enum ps_sort { PS_DOM_PID, PS_CPU, PS_PID, PS_DOM, PS_COMM };

struct ps_key {
	const struct xds_host *h;
	enum ps_sort by;
};

static const struct lx_task *match_task(const struct xds_host *h, const struct match *m)
{
	return &xds_guest_snapshot(xds_host_guest(h, m->guest))->tasks[m->task];
}

static int ps_cmp(const void *a, const void *b, void *arg)
{
	const struct ps_key *k = arg;
	const struct match *x = a, *y = b;
	const struct lx_task *tx = match_task(k->h, x), *ty = match_task(k->h, y);
	int c = 0;
	switch (k->by) {
	case PS_CPU:  c = (ty->cputime_ns > tx->cputime_ns) - (ty->cputime_ns < tx->cputime_ns); break;
	case PS_PID:  c = (tx->pid > ty->pid) - (tx->pid < ty->pid); break;
	case PS_DOM:  c = strcmp(xds_guest_name(xds_host_guest(k->h, x->guest)), xds_guest_name(xds_host_guest(k->h, y->guest))); break;
	case PS_COMM: c = strncmp(tx->comm, ty->comm, sizeof tx->comm); break;
	default:      break;
	}
	return c ? c : match_cmp(a, b);
}

/* ps([filter [, sort]]): a ps-like table of the tasks; returns how many. */
int xds_lua_ps(lua_State *L)
{
	static const char *const orders[] = { "none", "cpu", "pid", "dom", "comm", NULL };
	const char *order = luaL_optstring(L, 2, "none");
	bool reverse = order[0] == '-';
	lua_pushstring(L, order + reverse);
	struct ps_key key = { .by = (enum ps_sort)luaL_checkoption(L, -1, NULL, orders) };
	lua_pop(L, 1);
	int n;
	struct match *m = collect(L, 1, &n);
	struct xds_lstate *s = xds_lua_upstate(L);
	const struct xds_host *h = s->host;
	key.h = h;
	qsort_r(m, (size_t)n, sizeof *m, ps_cmp, &key);
	int w = dom_width(h);
	fprintf(stdout, "%-*s %7s %7s %-15s %s %3s %3s %12s %s\n", w, "DOM", "PID", "TGID",
		"COMM", "S", "CPU", "NI", "TIME", "QRF");
	for (int i = 0; i < n; i++) {
		const struct match *mi = &m[reverse ? n - 1 - i : i];
		const struct xds_guest *g = xds_host_guest(h, mi->guest);
		const struct lx_task *t = &xds_guest_snapshot(g)->tasks[mi->task];
		ps_row(stdout, w, xds_guest_name(g), t, xds_task_frozen(s, mi->guest, t));
	}
	fflush(stdout);
	/* a guest that could not be read is not silently left out; when no
	 * guest can be read (or none is attached) ps() is an error */
	int live = 0, failed = 0, first = -1;
	for (int gi = 0; gi < xds_host_nr_guests(h); gi++) {
		const struct xds_guest *g = xds_host_guest(h, gi);
		live += !xds_guest_gone(g);
		if (xds_guest_gone(g) || !xds_guest_error(g)[0])
			continue;
		if (!failed++)
			first = gi;
		fprintf(stderr, "xds-lua: ps: %s is not listed: %s\n", xds_guest_name(g),
			xds_guest_error(g));
	}
	fflush(stderr);
	if (!live)
		return luaL_error(L, "ps: no guest attached (xds-lua --help says how to attach one)");
	if (failed == live)
		return luaL_error(L, "ps: no guest could be read (%s: %s)",
				  xds_guest_name(xds_host_guest(h, first)),
				  xds_guest_error(xds_host_guest(h, first)));
	lua_pushinteger(L, n);
	return 1;
}
