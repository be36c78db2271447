/*
 * test_lua.c - the `xds` module over a host filled by hand.
 *
 * Two guests: U1 with a snapshot of five threads on two CPUs, U2 whose
 * snapshot failed.  The host's snapshot call is replaced by one that only
 * bumps the epoch, so the tests check the module's own behaviour: fields,
 * filters, sorting, expiry, run queues, ps's table, durations.  The real
 * host (a simulator) is exercised by tests/cli_sim.t.
 */
#include <fcntl.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lua/xds.h"
#include "lua/xds_int.h"
#include "tests/tap.h"

static struct xds_host *host;

/* Every xds_host_snapshot bumps the host's epoch: the snapshots taken. */
#define nr_snapshots ((int)xds_host_epoch(host))

static struct lx_task u1_tasks[] = {
	{ .pid = 320, .tgid = 320, .comm = "bkup", .state = 'R', .cpu = 0, .nice = 19,
	  .prio = 139, .cputime_ns = 1234567, .vruntime = 500, .queued = true },
	{ .pid = 1, .tgid = 1, .comm = "init", .state = 'S', .cpu = 1, .prio = 120 },
	{ .pid = 210, .tgid = 210, .comm = "db", .state = 'R', .cpu = 0, .prio = 120,
	  .cputime_ns = 2000000000, .vruntime = 900, .queued = true, .running = true },
	{ .pid = 211, .tgid = 210, .comm = "db", .state = 'D', .cpu = 1, .prio = 120,
	  .vruntime = 100 },
	{ .pid = 7, .tgid = 7, .comm = "kworker/0:1", .state = 'I', .cpu = 0, .prio = 120,
	  .vruntime = 300, .queued = true },
};

static int rq0_tree[] = { 4, 0 };        /* kworker (300), bkup (500) */

static struct lx_rq u1_rqs[] = {
	{ .cpu = 0, .curr = 2, .nr_running = 3, .min_vruntime = 250, .tree = rq0_tree,
	  .nr_tree = 2 },
	{ .cpu = 1, .curr = -1, .locked = true },
};

/* Two guests given as snapshots: U1 with five tasks, U2 unreadable. */
static struct xds_host *fill_host(void)
{
	struct xds_err err;
	struct xds_host *h = xds_host_new(&err);
	struct lx_snapshot u1 = { u1_tasks, 5, u1_rqs, 2 };
	if (!h || xds_host_add_static(h, "U1", &u1, NULL, &err) ||
	    xds_host_add_static(h, "U2", NULL, "U2: linux_banner not found", &err))
	{
		printf("Bail out! static host: %s\n", err.msg);
		exit(1);
	}
	return h;
}

static lua_State *open_state(struct xds_host *h)
{
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	xds_lua_open(L, h);
	return L;
}

/* The first result of code as a string, or "error: message". */
static const char *run(lua_State *L, const char *code)
{
	static char out[2048];
	lua_settop(L, 0);
	if (luaL_dostring(L, code) != LUA_OK)
		snprintf(out, sizeof out, "error: %s", lua_tostring(L, -1));
	else
		snprintf(out, sizeof out, "%s", lua_gettop(L) ? luaL_tolstring(L, 1, NULL) : "");
	return out;
}

static int contains(const char *s, const char *part)
{
	return strstr(s, part) != NULL;
}

static void test_domains(lua_State *L)
{
	is_str(run(L, "local d = xds.domains() return #d"), "2", "two domains in attach order");
	is_str(run(L, "local d = xds.domains()[1] return d.name..' '..d.vcpus..' '..d.tasks"),
	       "U1 2 5", "U1: name, vcpus from its snapshot, task count");
	is_str(run(L, "return tostring(xds.domains()[1].error)"), "nil", "U1 has no error");
	is_str(run(L, "local d = xds.domains()[2] return d.tasks..' '..d.error"),
	       "0 U2: linux_banner not found", "a failed guest shows its error and no tasks");
	is_str(run(L, "return require('xds') == xds"), "true", "require('xds') is the global");
}

static void test_fields(lua_State *L)
{
	is_str(run(L, "local s = {} for _, t in ipairs(xds.tasks()) do s[#s+1] = t.pid end "
		      "return table.concat(s, ',')"),
	       "1,7,210,211,320", "xds.tasks(): every thread of every readable guest, by pid");
	is_str(run(L, "local t = xds.tasks{pid=210}[1] return tostring(t)"), "U1/db[210]",
	       "tostring(task) is DOM/comm[pid]");
	is_str(run(L, "local t = xds.tasks{pid=210}[1] "
		      "return table.concat({t.dom, t.pid, t.tgid, t.comm, t.state, t.cpu, t.nice, "
		      "t.prio, t.cputime, t.vruntime, tostring(t.queued), tostring(t.running)}, ' ')"),
	       "U1 210 210 db R 0 0 120 2000000000 900 true true", "task fields");
	is_str(run(L, "return math.type(xds.tasks{pid=320}[1].cputime)"), "integer",
	       "cputime is an integer of nanoseconds");
	is_str(run(L, "return xds.tasks{pid=320}[1].nice"), "19", "nice");
	is_str(run(L, "return tostring(xds.tasks{pid=1}[1].nosuchfield)"), "nil",
	       "an unknown field is nil");
	ok(contains(run(L, "xds.tasks{pid=1}[1].pid = 5"), "read-only"), "tasks are read-only");
	is_str(run(L, "local a, b = xds.tasks{pid=1}[1], xds.tasks{pid=1}[1] return a == b"),
	       "true", "two objects for one task of one snapshot are equal");
}

static void test_filters(lua_State *L)
{
	is_str(run(L, "return #xds.tasks('db')"), "2", "string glob: both db threads");
	is_str(run(L, "return #xds.tasks('U1/b*')"), "1", "DOM/GLOB");
	is_str(run(L, "return #xds.tasks('U2/*')"), "0", "a failed guest has no tasks");
	is_str(run(L, "return tostring(xds.tasks('kworker/0:1')[1])"), "U1/kworker/0:1[7]",
	       "a comm with '/' is a comm when the prefix is no domain");
	is_str(run(L, "return #xds.tasks{comm='[bd]*'}"), "3", "table comm with a [..] class");
	is_str(run(L, "return #xds.tasks{comm='?b'}"), "2", "? matches one character");
	is_str(run(L, "return #xds.tasks{comm='?'}"), "0", "a glob matches the whole comm");
	is_str(run(L, "return #xds.tasks{dom='U1', state='R'}"), "2", "dom and state");
	is_str(run(L, "return #xds.tasks{state='DI'}"), "2", "state as a set of letters");
	is_str(run(L, "return #xds.tasks{tgid=210}"), "2", "tgid");
	is_str(run(L, "return #xds.tasks{cpu=1}"), "2", "cpu");
	is_str(run(L, "return #xds.tasks{dom='U9'}"), "0", "an unknown domain matches nothing");
	is_str(run(L, "return #xds.tasks(function(t) return t.queued and not t.running end)"),
	       "2", "function filter");
	ok(contains(run(L, "return xds.tasks{bogus=1}"), "unknown filter field 'bogus'"),
	   "an unknown filter field is an error");
	ok(contains(run(L, "return xds.tasks{pid='x'}"), "filter field 'pid': integer expected"),
	   "a filter field of the wrong type is an error");
	ok(contains(run(L, "return xds.tasks(42)"), "filter (table, string or function) expected"),
	   "a number is no filter");
	ok(contains(run(L, "return xds.tasks(function() xds.refresh() return true end)"),
		    "may not expire the snapshot"), "a filter function may not refresh");
}

static void test_expiry(lua_State *L)
{
	run(L, "T = xds.tasks('db')[1]");
	int before = nr_snapshots;
	const char *r = run(L, "xds.refresh() return T.pid");
	ok(contains(r, "task U1/db[210] belongs to an expired snapshot; "
		       "take a new one with xds.tasks()"), "a task of an expired snapshot raises");
	is_int(nr_snapshots, before, "refresh takes no snapshot by itself");
	is_str(run(L, "return tostring(T)"), "U1/db[210]", "an expired task still prints");
	is_str(run(L, "return xds.tasks('db')[1].pid"), "210", "a new snapshot works");
	is_int(nr_snapshots, before + 1, "the next call took one snapshot");
	ok(contains(run(L, "return T.comm"), "expired snapshot"),
	   "the old task stays expired after the new snapshot");
	is_str(run(L, "xds.tasks() xds.domains() return #xds.tasks()"), "5", "calls share a snapshot");
	is_int(nr_snapshots, before + 1, "no snapshot while nothing expired");
	ok(contains(run(L, "local t = xds.tasks()[1] xds.advance('1ms') return t.pid"),
		    "expired snapshot"), "advance expires the snapshot");
}

static void test_runqueue(lua_State *L)
{
	is_str(run(L, "local rq = xds.runqueue('U1', 0) return rq.cpu..' '..tostring(rq.curr)"
		      "..' '..rq.nr_running..' '..rq.min_vruntime..' '..tostring(rq.locked)"),
	       "0 U1/db[210] 3 250 false", "runqueue: cpu, curr, nr_running, min_vruntime, locked");
	is_str(run(L, "local s = {} for _, t in ipairs(xds.runqueue('U1', 0).tasks) do "
		      "s[#s+1] = tostring(t) end return table.concat(s, ' ')"),
	       "U1/kworker/0:1[7] U1/bkup[320]", "queued tasks in vruntime order");
	is_str(run(L, "local rq = xds.runqueue(xds.domains()[1], 1) "
		      "return tostring(rq.curr)..' '..#rq.tasks..' '..tostring(rq.locked)"),
	       "nil 0 true", "an idle CPU has no curr; a domain table names its domain");
	ok(contains(run(L, "return xds.runqueue('U1', 2)"), "no such CPU"), "a CPU out of range");
	ok(contains(run(L, "return xds.runqueue('U3', 0)"), "no domain named 'U3'"),
	   "an unknown domain");
	ok(contains(run(L, "return xds.runqueue('U2', 0)"), "domain U2 has no snapshot"),
	   "a failed guest's run queue");
}

/* ps's output, captured from fd 1 into buf. */
static const char *ps_output(lua_State *L, const char *code, char *buf, size_t size)
{
	char path[] = "/tmp/test_lua.XXXXXX";
	int fd = mkstemp(path), saved = dup(1);
	fflush(stdout);
	dup2(fd, 1);
	const char *r = run(L, code);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	ssize_t n = pread(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return r;
}

static void test_ps(lua_State *L)
{
	char out[4096];
	is_str(ps_output(L, "return ps()", out, sizeof out), "5", "ps() returns its row count");
	ok(strncmp(out, "DOM     PID    TGID COMM            S CPU  NI         TIME QRF\n",
		   62) == 0, "ps header");
	ok(contains(out, "U1      320     320 bkup            R   0  19        1.235 Q--\n"),
	   "a row: TIME in ms with 3 decimals, Q flag");
	ok(contains(out, "U1      210     210 db              R   0   0     2000.000 QR-\n"),
	   "a running task has both flags");
	ok(strstr(out, " init ") < strstr(out, "kworker") && strstr(out, "kworker") <
	   strstr(out, "db ") && strstr(out, " 211 ") < strstr(out, "bkup"), "rows sorted by pid");
	is_str(ps_output(L, "return ps('U1/db')", out, sizeof out), "2", "ps takes a filter");
}

static void test_durations(lua_State *L)
{
	is_str(run(L, "xds.advance('2ms') xds.advance(0.001) xds.advance('500us') "
		      "xds.advance(0) return 'ok'"), "ok", "durations: strings and seconds");
	ok(contains(run(L, "xds.advance('10 parsecs')"), "duration expected"), "a bad unit");
	ok(contains(run(L, "xds.advance('')"), "duration expected"), "an empty duration");
	is_str(run(L, "xds.advance('0.001') return 'ok'"), "ok", "a string without a unit is seconds");
	ok(contains(run(L, "xds.advance(-1)"), "duration expected"), "a negative duration");
	is_str(run(L, "return xds.time() > 1.6e9"), "true", "without --sim time is the wall clock");
}

int main(void)
{
	host = fill_host();
	lua_State *L = open_state(host);
	test_domains(L);
	test_fields(L);
	test_filters(L);
	test_expiry(L);
	test_runqueue(L);
	test_ps(L);
	test_durations(L);
	lua_close(L);
	xds_host_free(host);
	return done_testing();
}
