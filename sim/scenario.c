/*
 * scenario.c - reading a simulated host from a Lua scenario file.
 *
 * A scenario is a Lua chunk that calls constructors: host{}, domain{},
 * group{}, task{}, event{}, with behaviours built by cpu(), periodic{},
 * bursty{}, phases{} and sleeper().  Each constructor checks its table the
 * moment it is called, so a mistake is reported with the file and line of
 * the call ("paper.lua:12: task 'db': unknown field 'behavior'").  Loops
 * and arithmetic are plain Lua; io, os and loading of code are not there.
 * The result is a struct sim ready for sim_start(); nothing runs here.
 */
#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "simk.h"

#define SIM_KEY "xds.sim"

uint64_t sim_parse_duration(const char *s, bool *ok)
{
	char *end;
	double v = strtod(s, &end);
	double mult = 1e9;
	if (end == s || v < 0) {
		*ok = false;
		return 0;
	}
	if (!strcmp(end, "s") || !*end)
		mult = 1e9;
	else if (!strcmp(end, "ms"))
		mult = 1e6;
	else if (!strcmp(end, "us"))
		mult = 1e3;
	else if (!strcmp(end, "ns"))
		mult = 1;
	else if (!strcmp(end, "min"))
		mult = 60e9;
	else {
		*ok = false;
		return 0;
	}
	*ok = v * mult < 1e19;
	return (uint64_t)(v * mult + 0.5);
}

static struct sim *get_sim(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, SIM_KEY);
	struct sim *s = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return s;
}

static int current_line(lua_State *L)
{
	lua_Debug ar;
	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar))
		return ar.currentline;
	return 0;
}

/* Every key of the table must be one of allowed (a NULL-terminated list). */
static void only_keys(lua_State *L, int idx, const char *what, const char *const *allowed)
{
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "%s: keys must be names", what);
		const char *k = lua_tostring(L, -1);
		bool found = false;
		for (int i = 0; allowed[i]; i++)
			found |= !strcmp(k, allowed[i]);
		if (!found)
			luaL_error(L, "%s: unknown field '%s'", what, k);
	}
}

static bool has(lua_State *L, int idx, const char *key)
{
	bool r = lua_getfield(L, idx, key) != LUA_TNIL;
	lua_pop(L, 1);
	return r;
}

static const char *opt_string(lua_State *L, int idx, const char *key, const char *def, const char *what)
{
	int t = lua_getfield(L, idx, key);
	const char *r = def;
	if (t == LUA_TSTRING)
		r = lua_tostring(L, -1);
	else if (t != LUA_TNIL)
		luaL_error(L, "%s: '%s' must be a string", what, key);
	lua_pop(L, 1);     /* the string stays alive in the table */
	return r;
}

static long long opt_int(lua_State *L, int idx, const char *key, long long def, long long lo,
			 long long hi, const char *what)
{
	int t = lua_getfield(L, idx, key);
	long long r = def;
	if (t != LUA_TNIL) {
		int isint;
		r = lua_tointegerx(L, -1, &isint);
		if (!isint)
			luaL_error(L, "%s: '%s' must be an integer", what, key);
		if (r < lo || r > hi)
			luaL_error(L, "%s: '%s' = %I is out of range [%I, %I]", what, key, (lua_Integer)r,
				   (lua_Integer)lo, (lua_Integer)hi);
	}
	lua_pop(L, 1);
	return r;
}

static double opt_num(lua_State *L, int idx, const char *key, double def, double lo, double hi,
		      const char *what)
{
	int t = lua_getfield(L, idx, key);
	double r = def;
	if (t != LUA_TNIL) {
		if (t != LUA_TNUMBER)
			luaL_error(L, "%s: '%s' must be a number", what, key);
		r = lua_tonumber(L, -1);
		if (!(r >= lo && r <= hi))
			luaL_error(L, "%s: '%s' = %f is out of range [%f, %f]", what, key, (lua_Number)r,
				   (lua_Number)lo, (lua_Number)hi);
	}
	lua_pop(L, 1);
	return r;
}

/* A duration: "150ms", "2s", "500us", or a number of seconds. */
static uint64_t opt_duration(lua_State *L, int idx, const char *key, uint64_t def, const char *what)
{
	int t = lua_getfield(L, idx, key);
	uint64_t r = def;
	bool ok = true;
	if (t == LUA_TNUMBER) {
		double v = lua_tonumber(L, -1);
		ok = v >= 0 && v < 1e9;
		r = (uint64_t)(v * 1e9 + 0.5);
	} else if (t == LUA_TSTRING) {
		r = sim_parse_duration(lua_tostring(L, -1), &ok);
	} else if (t != LUA_TNIL) {
		ok = false;
	}
	if (!ok)
		luaL_error(L, "%s: '%s' is not a duration (like \"150ms\" or \"2s\")", what, key);
	lua_pop(L, 1);
	return r;
}

static uint64_t opt_size(lua_State *L, int idx, const char *key, uint64_t def, const char *what)
{
	int t = lua_getfield(L, idx, key);
	uint64_t r = def;
	if (t == LUA_TNUMBER) {
		r = (uint64_t)lua_tointeger(L, -1);
	} else if (t == LUA_TSTRING) {
		const char *s = lua_tostring(L, -1);
		char *end;
		unsigned long long v = strtoull(s, &end, 10);
		uint64_t mult = !*end ? 1 : !strcmp(end, "K") ? 1ULL << 10 : !strcmp(end, "M") ? 1ULL << 20
			: !strcmp(end, "G") ? 1ULL << 30 : 0;
		if (end == s || !mult || v > (1ULL << 40) / mult)
			luaL_error(L, "%s: '%s' = \"%s\" is not a size (like \"64M\")", what, key, s);
		r = v * mult;
	} else if (t != LUA_TNIL) {
		luaL_error(L, "%s: '%s' is not a size (like \"64M\")", what, key);
	}
	lua_pop(L, 1);
	return r;
}

static int l_host(lua_State *L)
{
	struct sim *s = get_sim(L);
	luaL_checktype(L, 1, LUA_TTABLE);
	static const char *const keys[] = { "pcpus", "slice", NULL };
	only_keys(L, 1, "host", keys);
	s->pcpus = (int)opt_int(L, 1, "pcpus", s->pcpus, 1, 64, "host");
	s->slice_ns = opt_duration(L, 1, "slice", s->slice_ns, "host");
	if (s->slice_ns < 10000 || s->slice_ns > 100000000)
		luaL_error(L, "host: 'slice' must be between 10us and 100ms");
	return 0;
}

static bool valid_name(const char *n)
{
	if (!*n || strlen(n) > 63)
		return false;
	for (; *n; n++)
		if (!isalnum((unsigned char)*n) && !strchr("_.-", *n))
			return false;
	return true;
}

static int l_domain(lua_State *L)
{
	struct sim *s = get_sim(L);
	luaL_checktype(L, 1, LUA_TTABLE);
	static const char *const keys[] = { "name", "vcpus", "ram", "weight", "kaslr", "pti",
		"kernel_time", "lock_time", NULL };
	only_keys(L, 1, "domain", keys);
	const char *name = opt_string(L, 1, "name", NULL, "domain");
	if (!name || !valid_name(name))
		luaL_error(L, "domain: 'name' must be 1-63 letters, digits, '_', '.' or '-'");
	if (sim_domain(s, name))
		luaL_error(L, "domain '%s' is defined twice", name);
	if (s->nr_doms == SIM_MAX_DOMAINS)
		luaL_error(L, "domain '%s': more than %d domains", name, SIM_MAX_DOMAINS);
	char what[80];
	snprintf(what, sizeof what, "domain '%s'", name);
	struct sdom *d = calloc(1, sizeof *d);
	if (!d)
		luaL_error(L, "out of memory");
	s->doms[s->nr_doms] = d;
	d->idx = s->nr_doms++;
	d->sim = s;
	d->line = current_line(L);
	d->ram_fd = -1;
	snprintf(d->name, sizeof d->name, "%s", name);
	d->nr_vcpus = (int)opt_int(L, 1, "vcpus", 1, 1, SIM_MAX_VCPUS, what);
	d->ram_size = opt_size(L, 1, "ram", 64ULL << 20, what);
	if (d->ram_size < (32ULL << 20) || d->ram_size > (64ULL << 30) || d->ram_size % (2ULL << 20))
		luaL_error(L, "%s: 'ram' must be a multiple of 2M between 32M and 64G", what);
	d->weight = (unsigned)opt_int(L, 1, "weight", 256, 1, 65535, what);
	lua_getfield(L, 1, "kaslr");
	d->kaslr = lua_toboolean(L, -1);
	lua_getfield(L, 1, "pti");
	d->pti = lua_toboolean(L, -1);
	lua_pop(L, 2);
	d->kernel_frac = opt_num(L, 1, "kernel_time", 0, 0, 1, what);
	d->lock_frac = opt_num(L, 1, "lock_time", 0, 0, 1, what);
	return 0;
}

static struct sdom *need_domain(lua_State *L, struct sim *s, int idx, const char *what)
{
	const char *dom = opt_string(L, idx, "dom", NULL, what);
	if (!dom)
		luaL_error(L, "%s: 'dom' is missing", what);
	struct sdom *d = sim_domain(s, dom);
	if (!d)
		luaL_error(L, "%s: no domain '%s' (define it with domain{} first)", what, dom);
	return d;
}

static int l_group(lua_State *L)
{
	struct sim *s = get_sim(L);
	luaL_checktype(L, 1, LUA_TTABLE);
	static const char *const keys[] = { "dom", "name", "shares", NULL };
	only_keys(L, 1, "group", keys);
	struct sdom *d = need_domain(L, s, 1, "group");
	const char *name = opt_string(L, 1, "name", NULL, "group");
	if (!name || !valid_name(name) || strlen(name) >= sizeof d->groups[0].name)
		luaL_error(L, "group: 'name' must be 1-23 letters, digits, '_', '.' or '-'");
	for (int i = 0; i < d->nr_groups; i++)
		if (!strcmp(d->groups[i].name, name))
			luaL_error(L, "group '%s' is defined twice in domain '%s'", name, d->name);
	if (d->nr_groups == (int)(sizeof d->groups / sizeof d->groups[0]))
		luaL_error(L, "group '%s': too many groups in domain '%s'", name, d->name);
	struct sgroup *g = &d->groups[d->nr_groups++];
	snprintf(g->name, sizeof g->name, "%s", name);
	g->shares = (unsigned long)opt_int(L, 1, "shares", 1024, 2, 262144, "group");
	return 0;
}

/* Behaviours are tables tagged with their kind, checked when a task uses them. */
static int make_behaviour(lua_State *L, const char *kind)
{
	if (lua_isnoneornil(L, 1))
		lua_newtable(L);
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushstring(L, kind);
	lua_setfield(L, 1, "kind");
	lua_settop(L, 1);
	return 1;
}

static int l_cpu(lua_State *L) { return make_behaviour(L, "cpu"); }
static int l_periodic(lua_State *L) { return make_behaviour(L, "periodic"); }
static int l_bursty(lua_State *L) { return make_behaviour(L, "bursty"); }
static int l_phases(lua_State *L) { return make_behaviour(L, "phases"); }
static int l_sleeper(lua_State *L) { return make_behaviour(L, "sleeper"); }

static void read_behaviour(lua_State *L, int idx, struct behaviour *b, const char *what)
{
	int t = lua_getfield(L, idx, "run");
	int bi = lua_gettop(L);
	const char *kind = NULL;
	if (t == LUA_TNIL)
		kind = "cpu";
	else if (t == LUA_TSTRING)
		kind = lua_tostring(L, bi);
	else if (t == LUA_TTABLE && lua_getfield(L, bi, "kind") == LUA_TSTRING)
		kind = lua_tostring(L, -1);
	if (!kind)
		luaL_error(L, "%s: 'run' must be a behaviour: cpu(), periodic{}, bursty{}, phases{} or sleeper()", what);
	memset(b, 0, sizeof *b);
	static const char *const none[] = { "kind", NULL };
	static const char *const per[] = { "kind", "run", "sleep", "jitter", "offset", NULL };
	static const char *const ph[] = { "kind", "busy", "idle", "offset", NULL };
	char bw[120];
	snprintf(bw, sizeof bw, "%s: behaviour '%s'", what, kind);
	if (!strcmp(kind, "cpu") || !strcmp(kind, "sleeper")) {
		b->kind = kind[0] == 'c' ? BH_CPU : BH_SLEEPER;
		if (t == LUA_TTABLE)
			only_keys(L, bi, bw, none);
	} else if (!strcmp(kind, "periodic") || !strcmp(kind, "bursty")) {
		if (t != LUA_TTABLE)
			luaL_error(L, "%s needs its table: %s{ run = ..., sleep = ... }", bw, kind);
		only_keys(L, bi, bw, per);
		b->kind = kind[0] == 'p' ? BH_PERIODIC : BH_BURSTY;
		b->run_ns = opt_duration(L, bi, "run", 0, bw);
		b->sleep_ns = opt_duration(L, bi, "sleep", 0, bw);
		b->jitter_ns = opt_duration(L, bi, "jitter", 0, bw);
		b->offset_ns = opt_duration(L, bi, "offset", 0, bw);
		if (!b->run_ns || !b->sleep_ns)
			luaL_error(L, "%s: 'run' and 'sleep' must be given and above zero", bw);
		if (b->jitter_ns >= b->run_ns || b->jitter_ns >= b->sleep_ns)
			luaL_error(L, "%s: 'jitter' must be smaller than 'run' and 'sleep'", bw);
	} else if (!strcmp(kind, "phases")) {
		if (t != LUA_TTABLE)
			luaL_error(L, "%s needs its table: phases{ busy = ..., idle = ... }", bw);
		only_keys(L, bi, bw, ph);
		b->kind = BH_PHASES;
		b->busy_ns = opt_duration(L, bi, "busy", 0, bw);
		b->idle_ns = opt_duration(L, bi, "idle", 0, bw);
		b->offset_ns = opt_duration(L, bi, "offset", 0, bw);
		if (!b->busy_ns || !b->idle_ns)
			luaL_error(L, "%s: 'busy' and 'idle' must be given and above zero", bw);
	} else {
		luaL_error(L, "%s: unknown behaviour '%s' (cpu, periodic, bursty, phases, sleeper)", what, kind);
	}
	lua_settop(L, bi - 1);
}

static struct stask *new_stask(lua_State *L, struct sim *s)
{
	if (s->nr_tasks == SIM_MAX_TASKS)
		luaL_error(L, "more than %d tasks", SIM_MAX_TASKS);
	if (s->nr_tasks == s->cap_tasks) {
		int cap = s->cap_tasks ? 2 * s->cap_tasks : 64;
		struct stask *n = realloc(s->tasks, (size_t)cap * sizeof *n);
		if (!n)
			luaL_error(L, "out of memory");
		s->tasks = n;
		s->cap_tasks = cap;
	}
	struct stask *t = &s->tasks[s->nr_tasks];
	memset(t, 0, sizeof *t);
	t->id = s->nr_tasks++;
	return t;
}

static bool pid_taken(struct sim *s, struct sdom *d, int pid)
{
	for (int i = 0; i < s->nr_tasks; i++)
		if (s->tasks[i].d == d && s->tasks[i].pid == pid)
			return true;
	return false;
}

static int next_pid(struct sim *s, struct sdom *d)
{
	int pid = 100;
	for (int i = 0; i < s->nr_tasks; i++)
		if (s->tasks[i].d == d && s->tasks[i].pid >= pid)
			pid = s->tasks[i].pid + 1;
	return pid;
}

static struct stask *add_task(lua_State *L, struct sim *s, struct sdom *d, int pid, const char *comm)
{
	struct stask *t = new_stask(L, s);
	t->d = d;
	t->pid = pid;
	t->tgid = pid;
	t->line = current_line(L);
	snprintf(t->comm, sizeof t->comm, "%s", comm);
	return t;
}

static int l_task(lua_State *L)
{
	struct sim *s = get_sim(L);
	luaL_checktype(L, 1, LUA_TTABLE);
	static const char *const keys[] = { "dom", "comm", "pid", "tgid", "nice", "cpu", "group",
		"run", "start", "exit", "exit_queued", "threads", "kthread", NULL };
	only_keys(L, 1, "task", keys);
	const char *comm = opt_string(L, 1, "comm", NULL, "task");
	if (!comm || !*comm || strlen(comm) > 15)
		luaL_error(L, "task: 'comm' must be 1-15 characters");
	char what[64];
	snprintf(what, sizeof what, "task '%s'", comm);
	struct sdom *d = need_domain(L, s, 1, what);
	struct stask proto = { 0 };
	read_behaviour(L, 1, &proto.b, what);
	int pid = (int)opt_int(L, 1, "pid", next_pid(s, d), 2, 4194304, what);
	int tgid = (int)opt_int(L, 1, "tgid", pid, 1, 4194304, what);
	int nice = (int)opt_int(L, 1, "nice", 0, -20, 19, what);
	int threads = (int)opt_int(L, 1, "threads", 1, 1, 4096, what);
	int cpu = (int)opt_int(L, 1, "cpu", -1, 0, d->nr_vcpus - 1, what);
	lua_getfield(L, 1, "kthread");
	bool kthread = lua_toboolean(L, -1);
	lua_getfield(L, 1, "exit_queued");
	bool exit_queued = lua_toboolean(L, -1);
	lua_pop(L, 2);
	uint64_t start = opt_duration(L, 1, "start", 0, what);
	uint64_t exit_at = opt_duration(L, 1, "exit", 0, what);
	if (has(L, 1, "exit") && exit_at <= start)
		luaL_error(L, "%s: 'exit' must come after 'start'", what);
	const char *group = opt_string(L, 1, "group", "", what);
	bool gfound = !*group;
	for (int i = 0; i < d->nr_groups; i++)
		gfound |= !strcmp(d->groups[i].name, group);
	if (!gfound)
		luaL_error(L, "%s: no group '%s' in domain '%s'", what, group, d->name);
	for (int i = 0; i < threads; i++) {
		if (pid + i > 4194304 || pid_taken(s, d, pid + i))
			luaL_error(L, "%s: pid %d is already used in domain '%s'", what, pid + i, d->name);
		struct stask *t = add_task(L, s, d, pid + i, comm);
		t->b = proto.b;
		t->tgid = tgid;
		t->nice = nice;
		t->kthread = kthread;
		t->exit_queued = exit_queued;
		t->cpu = cpu >= 0 ? cpu : (t->id % d->nr_vcpus);
		t->start_ns = start;
		t->exit_ns = exit_at;
		snprintf(t->group, sizeof t->group, "%s", group);
	}
	return 0;
}

static int l_event(lua_State *L)
{
	struct sim *s = get_sim(L);
	luaL_checktype(L, 1, LUA_TTABLE);
	static const char *const keys[] = { "at", "pause", "resume", "dom", "weight", "pid", "kill",
		"nice", "wake", NULL };
	only_keys(L, 1, "event", keys);
	struct sevent e = { .line = current_line(L) };
	if (!has(L, 1, "at"))
		luaL_error(L, "event: 'at' is missing");
	e.at = opt_duration(L, 1, "at", 0, "event");
	int actions = 0;
	const char *pause = opt_string(L, 1, "pause", NULL, "event");
	const char *resume = opt_string(L, 1, "resume", NULL, "event");
	if (pause || resume) {
		e.kind = pause ? EV_PAUSE : EV_RESUME;
		actions += !!pause + !!resume;
		e.d = sim_domain(s, pause ? pause : resume);
		if (!e.d)
			luaL_error(L, "event: no domain '%s'", pause ? pause : resume);
	} else {
		e.d = need_domain(L, s, 1, "event");
		if (has(L, 1, "weight")) {
			e.kind = EV_WEIGHT;
			e.value = (int)opt_int(L, 1, "weight", 0, 1, 65535, "event");
			actions++;
		}
		static const struct { const char *key; enum ev_kind kind; } per_task[] = {
			{ "kill", EV_KILL }, { "nice", EV_NICE }, { "wake", EV_WAKE },
		};
		for (size_t i = 0; i < sizeof per_task / sizeof per_task[0]; i++) {
			if (!has(L, 1, per_task[i].key))
				continue;
			e.kind = per_task[i].kind;
			actions++;
			e.pid = (int)opt_int(L, 1, "pid", 0, 1, 4194304, "event");
			if (!pid_taken(s, e.d, e.pid))
				luaL_error(L, "event: no task with pid %d in domain '%s'", e.pid, e.d->name);
			if (e.kind == EV_NICE)
				e.value = (int)opt_int(L, 1, "nice", 0, -20, 19, "event");
		}
	}
	if (actions != 1)
		luaL_error(L, "event: give exactly one action (pause, resume, weight, kill, nice, wake)");
	struct sevent *n = realloc(s->events, (size_t)(s->nr_events + 1) * sizeof *n);
	if (!n)
		luaL_error(L, "out of memory");
	s->events = n;
	s->events[s->nr_events++] = e;
	return 0;
}

static void add_init_tasks(struct sim *s)
{
	/* Every guest has its init: pid 1, asleep, first in the task list. */
	for (int i = 0; i < s->nr_doms; i++) {
		struct stask *t = &s->tasks[s->nr_tasks++];
		memset(t, 0, sizeof *t);
		t->id = s->nr_tasks - 1;
		t->d = s->doms[i];
		t->pid = t->tgid = 1;
		strcpy(t->comm, "init");
		t->b.kind = BH_SLEEPER;
	}
}

static int check_capacity(struct sim *s, char *err, size_t errlen)
{
	for (int i = 0; i < s->nr_doms; i++) {
		struct sdom *d = s->doms[i];
		uint64_t n = 0;
		for (int j = 0; j < s->nr_tasks; j++)
			n += s->tasks[j].d == d;
		uint64_t need = SIM_KIMG_PA + SIM_KIMG_SIZE + (uint64_t)d->nr_vcpus * (SIM_PERCPU_SIZE + 4096)
			+ (n + 1) * (sizeof(struct task_struct) + 64) + (uint64_t)d->nr_groups * 4096 * d->nr_vcpus;
		if (need + (1ULL << 20) > d->ram_size) {
			snprintf(err, errlen, "%s:%d: domain '%s': ram %llu MiB is too small for %llu tasks",
				 s->scenario, d->line, d->name, (unsigned long long)(d->ram_size >> 20),
				 (unsigned long long)n);
			return -1;
		}
	}
	return 0;
}

struct sim *sim_load(const char *path, uint64_t seed, char *err, size_t errlen)
{
	struct sim *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(s->scenario, sizeof s->scenario, "%s", path);
	s->seed = seed;
	s->obs_rng = seed ^ 0x5eedULL;
	s->pcpus = 1;
	s->slice_ns = 1000000;
	lua_State *L = luaL_newstate();
	luaL_requiref(L, "_G", luaopen_base, 1);
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
	lua_settop(L, 0);
	static const char *const unsafe[] = { "dofile", "loadfile", "load", "require", "collectgarbage", NULL };
	for (int i = 0; unsafe[i]; i++) {
		lua_pushnil(L);
		lua_setglobal(L, unsafe[i]);
	}
	lua_pushlightuserdata(L, s);
	lua_setfield(L, LUA_REGISTRYINDEX, SIM_KEY);
	static const luaL_Reg api[] = {
		{ "host", l_host }, { "domain", l_domain }, { "group", l_group }, { "task", l_task },
		{ "event", l_event }, { "cpu", l_cpu }, { "periodic", l_periodic },
		{ "bursty", l_bursty }, { "phases", l_phases }, { "sleeper", l_sleeper }, { NULL, NULL },
	};
	for (const luaL_Reg *r = api; r->name; r++) {
		lua_pushcfunction(L, r->func);
		lua_setglobal(L, r->name);
	}
	int rc = luaL_loadfile(L, path);
	if (rc == LUA_OK)
		rc = lua_pcall(L, 0, 0, 0);
	if (rc != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(L, -1));
		lua_close(L);
		sim_free(s);
		return NULL;
	}
	lua_close(L);
	if (!s->nr_doms) {
		snprintf(err, errlen, "%s: no domain{} in the scenario", path);
		sim_free(s);
		return NULL;
	}
	struct stask *more = realloc(s->tasks, (size_t)(s->nr_tasks + s->nr_doms) * sizeof *more);
	if (!more) {
		snprintf(err, errlen, "out of memory");
		sim_free(s);
		return NULL;
	}
	s->tasks = more;
	s->cap_tasks = s->nr_tasks + s->nr_doms;
	add_init_tasks(s);
	if (check_capacity(s, err, errlen)) {
		sim_free(s);
		return NULL;
	}
	return s;
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nr_doms; i++) {
		struct sdom *d = s->doms[i];
		if (d->ram)
			sim_mem_release(d);
		free(d->tids);
		free(d);
	}
	free(s->tasks);
	free(s->events);
	free(s->heap);
	free(s);
}
