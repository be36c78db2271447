/*
 * test_policy.c - policies in their sandbox, on their budgets, without a host.
 *
 * Each test writes a small policy file to a private directory, loads it
 * with xds_policy_new/xds_policy_exec and runs its tick (the snapshot is
 * an empty table: no host).  Checked: what the sandbox allows and refuses,
 * that errors name file and line, that the instruction budget and the
 * memory cap stop a policy and that its pcall cannot catch that, require's
 * search path, arg, stop(), and --unsafe.  The policy helpers of
 * policies/lib/policy.lua run on fake task tables (test_policy_lib.c).
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "lua/policy.h"
#include "tests/tap.h"

static char dir[] = "/tmp/xds-test-policy.XXXXXX";

static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return path;
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load text as file name; returns the policy (or NULL) and the exec result. */
static struct xds_policy *load(const char *name, const char *text, bool unsafe, int *is,
			       struct xds_err *err)
{
	struct xds_policy_opts o = { .unsafe = unsafe };
	struct xds_policy *p = xds_policy_new(write_file(name, text), &o, err);
	*is = p ? xds_policy_exec(p, 0, NULL, true, err) : -1;
	return p;
}

/* The message of a policy whose tick fails, or "" if it does not. */
static const char *tick_error(const char *name, const char *body)
{
	static struct xds_err err;
	char text[2048];
	int is;
	snprintf(text, sizeof text, "return { tick = function(snap)\n%s\nend }\n", body);
	err.msg[0] = '\0';
	struct xds_policy *p = load(name, text, false, &is, &err);
	if (p && is == 1 && xds_policy_tick(p, 1, 0, false, &err) == 0)
		err.msg[0] = '\0';
	xds_policy_free(p);
	return err.msg;
}

static bool has(const char *hay, const char *needle)
{
	bool r = strstr(hay, needle) != NULL;
	if (!r)
		diag("'%s' not in: %s", needle, hay);
	return r;
}

static void test_recognition(void)
{
	struct xds_err err = {""};
	int is;
	struct xds_policy *p = load("table.lua",
		"return { name = 'mine', tick_ms = 25, tick = function() end }\n", false, &is, &err);
	is_int(is, 1, "a file returning a table with tick is a policy");
	is_str(xds_policy_name(p), "mine", "the policy's name comes from its table");
	is_int(xds_policy_tick_ms(p), 25, "its tick_ms too");
	xds_policy_free(p);
	p = load("global.lua", "function tick(snap) end\n", false, &is, &err);
	is_int(is, 1, "a file defining a global tick is a policy");
	is_str(xds_policy_name(p), "global", "its name defaults to the file's");
	is_int(xds_policy_tick_ms(p), 0, "and no tick_ms");
	xds_policy_free(p);
	p = load("script.lua", "local x = 1 + 1\nreturn x\n", false, &is, &err);
	is_int(is, 0, "a file that returns no tick is a plain script");
	xds_policy_free(p);
	p = load("syntax.lua", "return {\n  tick = = 1 }\n", false, &is, &err);
	ok(is == -1 && has(err.msg, "syntax.lua:2:"), "a syntax error names file and line");
	xds_policy_free(p);
}

static void test_sandbox(void)
{
	ok(has(tick_error("exec.lua", "os.execute('true')"),
	       "exec.lua:2: os.execute is not allowed in a policy"),
	   "os.execute is refused, at file:line");
	ok(has(tick_error("io.lua", "io.open('/etc/passwd')"), "io is not allowed in a policy"),
	   "io is not there");
	ok(has(tick_error("exit.lua", "os.exit(0)"), "os.exit is not allowed"), "os.exit neither");
	ok(has(tick_error("getenv.lua", "os.getenv('HOME')"), "os.getenv is not allowed"),
	   "os.getenv neither");
	ok(has(tick_error("dofile.lua", "dofile('/etc/hostname')"), "dofile is not allowed"),
	   "dofile is refused");
	ok(has(tick_error("loadfile.lua", "loadfile('/etc/hostname')"), "loadfile is not allowed"),
	   "loadfile is refused");
	ok(has(tick_error("binary.lua", "local f, m = load(string.dump(function() end))\nerror(m)"),
	       "attempt to load a binary chunk"), "load refuses binary chunks");
	ok(has(tick_error("binmode.lua", "load('return 1', 'x', 'b')"),
	       "binary chunks are not allowed"), "load refuses mode 'b'");
	ok(has(tick_error("gc.lua", "collectgarbage('stop')"), "only \"count\""),
	   "collectgarbage only counts");
	ok(has(tick_error("debug.lua", "debug.sethook()"), "debug is not allowed"),
	   "no debug library");
	ok(has(tick_error("pkg.lua", "package.loadlib('x', 'y')"), "package is not allowed"),
	   "no package.loadlib");
	is_str(tick_error("fine.lua",
		"assert(load('return 1 + 1')() == 2)\n"
		"assert(type(os.time()) == 'number' and os.clock() >= 0 and os.date('%Y'))\n"
		"assert(string.rep('a', 3) == 'aaa' and table.concat({1, 2}) == '12')\n"
		"assert(math.max(1, 2) == 2 and utf8.char(72) == 'H')\n"
		"assert(collectgarbage('count') > 0)\n"
		"assert(pcall(error, 'x') == false and select(2, xpcall(error, function(m) return 'h' .. m end, 'y')) == 'hy')"),
	       "", "load (text), os.time/clock/date, string, table, math, utf8, pcall work");
	ok(has(tick_error("err.lua", "local t = nil\nreturn t.field"), "err.lua:3: attempt to index"),
	   "a runtime error names file and line");
	ok(has(tick_error("trace.lua", "local function f() error('deep') end\nf()"),
	       "stack traceback:"), "and comes with a traceback");
}

static void test_budgets(void)
{
	ok(has(tick_error("loop.lua", "while true do end"),
	       "loop.lua:2: policy exceeded its instruction budget"),
	   "an endless loop is stopped by the instruction budget, at file:line");
	ok(has(tick_error("pcall.lua", "while true do pcall(function() while true do end end) end"),
	       "policy exceeded its instruction budget"),
	   "pcall cannot catch a budget overrun");
	ok(has(tick_error("xpcall.lua",
		"for i = 1, 3 do xpcall(function() while true do end end, function(m) return m end) end"),
	       "policy exceeded its instruction budget"), "neither can xpcall");
	ok(has(tick_error("grow.lua",
		"local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 64) .. i end"),
	       "policy exceeded its memory cap (64 MiB)"),
	   "unbounded allocation is stopped by the memory cap");
	ok(has(tick_error("huge.lua", "local s = string.rep('x', 1 << 30)"), "not enough memory"),
	   "one allocation far past the cap fails at once");
	is_str(tick_error("garbage.lua",
		"for i = 1, 200 do local s = string.rep('x', 1 << 20) .. i end"), "",
	       "garbage over the cap is collected, not held against the policy");

	struct xds_err err = {""};
	int is;
	struct xds_policy *p = load("again.lua",
		"local n = 0\nreturn { tick = function() n = n + 1\n"
		"if n == 2 then while true do end end end }\n", false, &is, &err);
	ok(xds_policy_tick(p, 1, 0, false, &err) == 0, "the budget is per tick: tick 1 runs");
	ok(xds_policy_tick(p, 2, 0, false, &err) < 0, "tick 2 overruns");
	ok(xds_policy_tick(p, 3, 0, false, &err) < 0 && has(err.msg, "not running"),
	   "a stopped policy does not tick again");
	xds_policy_free(p);
}

static void test_require_and_args(void)
{
	struct xds_err err = {""};
	int is;
	char lib[600];
	snprintf(lib, sizeof lib, "%s/extra", dir);
	mkdir(lib, 0700);
	write_file("extra/helper2.lua", "return { twice = function(x) return 2 * x end }\n");
	write_file("helper.lua", "return { add = function(a, b) return a + b end, name = ... }\n");
	setenv("XDS_POLICY_PATH", lib, 1);
	struct xds_policy *p = load("req.lua",
		"local h = require 'helper'\nlocal h2 = require 'helper2'\n"
		"assert(require('helper') == h, 'cached')\n"
		"return { name = h.name .. h.add(1, 2) .. h2.twice(4), tick = function() end }\n",
		false, &is, &err);
	if (!ok(is == 1, "require finds the policy's folder and $XDS_POLICY_PATH"))
		diag("%s", err.msg);
	is_str(xds_policy_name(p), "helper38", "modules run with their name, results are used");
	xds_policy_free(p);
	ok(has(tick_error("reqdots.lua", "require '../../etc/passwd'"), "not a module name"),
	   "require refuses paths");
	ok(has(tick_error("reqnone.lua", "require 'no_such_module'"),
	       "module 'no_such_module' not found"), "require says what it did not find");
	ok(has(tick_error("reqc.lua", "require 'socket.core'"), "not found"),
	   "require loads no C library");

	struct xds_policy_opts o = {0};
	p = xds_policy_new(write_file("args.lua",
		"local a, b = ...\nreturn { name = arg[0]:match('[^/]*$') .. ':' .. arg[1] .. a .. b, "
		"tick = function() end }\n"), &o, &err);
	char *args[] = { "U1/db", "x" };
	ok(p && xds_policy_exec(p, 2, args, true, &err) == 1, "a policy with arguments loads");
	is_str(xds_policy_name(p), "args.lua:U1/dbU1/dbx", "arguments are in arg and in ...");
	xds_policy_free(p);
}

static void test_stop_and_unsafe(void)
{
	struct xds_err err = {""};
	int is;
	struct xds_policy *p = load("stop.lua",
		"stops = 0\nreturn { tick = function() end, stop = function() stops = stops + 1\n"
		"assert(stops == 1) end }\n", false, &is, &err);
	ok(xds_policy_stop(p, &err) == 0 && xds_policy_stop(p, &err) == 0,
	   "stop() runs once, however often the driver stops the policy");
	lua_State *L = xds_policy_state(p);
	lua_getglobal(L, "stops");
	is_int(lua_tointeger(L, -1), 1, "stop() ran exactly once");
	lua_pop(L, 1);
	xds_policy_free(p);
	p = load("unsafe.lua", "return { name = type(io.open) .. type(os.getenv('HOME')), "
		 "tick = function() while true do end end }\n", true, &is, &err);
	is_str(p ? xds_policy_name(p) : "", "functionstring", "--unsafe opens io and os");
	ok(xds_policy_tick(p, 1, 0, false, &err) < 0 && has(err.msg, "instruction budget"),
	   "--unsafe keeps the budgets");
	xds_policy_free(p);
}

int main(void)
{
	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	test_recognition();
	test_sandbox();
	test_budgets();
	test_require_and_args();
	test_stop_and_unsafe();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
