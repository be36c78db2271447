/*
 * test_policy_lib.c - policies/lib/policy.lua on fake tasks, in the sandbox.
 *
 * A Lua script (below) requires "policy" from policies/lib (through
 * $XDS_POLICY_PATH, the way an installed policy finds it), builds fake
 * task tables whose freeze/thaw record the wish, runs the policy shapes
 * and compose tick by tick and records named checks in the global `results`;
 * this file turns them into TAP lines.  Run from the top of the tree.
 */
#include <limits.h>
#include <unistd.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "lua/policy.h"
#include "tests/tap.h"

static const char script[] =
"local P = require 'policy'\n"
"results = {}\n"
"local function check(name, cond) results[#results + 1] = { name, cond and true or false } end\n"
"-- fake tasks: freeze/thaw flip .frozen and count\n"
"local wishes = 0\n"
"local function task(dom, comm, pid, how, cpu)\n"
"  local t = { dom = dom, comm = comm, pid = pid, tgid = pid, cputime = cpu or 0,\n"
"              queued = how == 'q' or how == 'r', running = how == 'r', frozen = false }\n"
"  function t:freeze() self.frozen = true self.queued = false self.running = false wishes = wishes + 1 end\n"
"  function t:thaw() self.frozen = false wishes = wishes + 1 end\n"
"  return t\n"
"end\n"
"local m = P.matcher('U1/bkup*')\n"
"check('DOM/GLOB matches dom and comm', m(task('U1', 'bkup2', 1)) and not m(task('U2', 'bkup', 1)))\n"
"check('a glob without domain matches any domain', P.matcher('b?up')(task('U9', 'bkup', 1)))\n"
"check('[..] classes', P.matcher('[dw]*')(task('U1', 'web', 1)) and not P.matcher('[dw]*')(task('U1', 'bkup', 1)))\n"
"check('magic characters are literal', P.matcher('a.b')(task('U1', 'a.b', 1)) and not P.matcher('a.b')(task('U1', 'axb', 1)))\n"
"check('tgid= and pid= specs', P.matcher('U1/tgid=7')(task('U1', 'x', 7)) and not P.matcher('U1/pid=7')(task('U1', 'x', 8)))\n"
"check('table specs', P.matcher{ dom = 'U1', comm = 'db', pid = 210 }(task('U1', 'db', 210)) and not P.matcher{ dom = 'U1', pid = 211 }(task('U1', 'db', 210)))\n"
"local c = P.classes{ 'U1/db', 'U2/web', 'U1/bkup' }\n"
"check('classes are ordered, others have none', c(task('U1', 'db', 1)) == 1 and c(task('U1', 'bkup', 1)) == 3 and c(task('U1', 'init', 1)) == nil)\n"
"check('runnable: queued, running or frozen', P.runnable(task('U1', 'a', 1, 'q')) and not P.runnable(task('U1', 'a', 1, 's')) and P.runnable({ frozen = true }))\n"
"check('durations and shares', P.seconds('2s') == 2 and P.seconds('500ms') == 0.5 and P.fraction('20%') == 0.2 and P.fraction('0.25') == 0.25 and P.fraction('150%', nil, 2) == 1.5)\n"
"-- strict priority: db idle, web and bkup runnable: bkup frozen, web runs\n"
"local sp = P.strict_priority{ 'U1/db', 'U2/web', 'U1/bkup' }\n"
"local db, web, bk, init = task('U1', 'db', 210, 's'), task('U2', 'web', 150, 'q'), task('U1', 'bkup', 320, 'r'), task('U1', 'init', 1, 'q')\n"
"local snap = { time = 0, tick = 1, tasks = { db, web, bk, init } }\n"
"sp.tick(snap)\n"
"check('strict_priority: bkup frozen while web is runnable', bk.frozen and not web.frozen and not db.frozen)\n"
"check('strict_priority: unclassified tasks are left alone', not init.frozen)\n"
"db.queued = true sp.tick(snap)\n"
"check('strict_priority: db runnable freezes web and keeps bkup', web.frozen and bk.frozen and not db.frozen)\n"
"db.queued = false sp.tick(snap)\n"
"check('strict_priority: db asleep thaws web, bkup stays frozen (web wants CPU)', not web.frozen and bk.frozen)\n"
"web.queued = false sp.tick(snap)\n"
"check('strict_priority: only bkup runnable: it is thawed', not bk.frozen)\n"
"local n0 = wishes sp.tick(snap)\n"
"check('strict_priority: no wish when nothing changes', wishes == n0)\n"
"-- idle_only\n"
"local io_ = P.idle_only{ 'U1/lowest' }\n"
"local low, p1, p3 = task('U1', 'lowest', 303, 'r'), task('U1', 'proc1', 301, 's'), task('U2', 'proc3', 401, 'q')\n"
"local s2 = { time = 0, tick = 1, tasks = { low, p1, p3 } }\n"
"io_.tick(s2)\n"
"check('idle_only: another domain runnable freezes lowest', low.frozen)\n"
"p3.queued = false io_.tick(s2)\n"
"check('idle_only: host idle thaws it', not low.frozen)\n"
"-- quota: bkup at 50% of a CPU gets frozen past 20%, thawed below\n"
"local q = P.quota{ { 'U1/bkup', '20%' }, window = 1 }\n"
"local b = task('U1', 'bkup', 320, 'r')\n"
"local s3 = { tasks = { b } }\n"
"local frozen_ticks, used = 0, 0\n"
"for i = 0, 999 do\n"
"  s3.time = i * 0.01\n"
"  q.tick(s3)\n"
"  if b.frozen then frozen_ticks = frozen_ticks + 1 else b.queued = true b.cputime = b.cputime + 10000000 used = used + 1 end\n"
"end\n"
"check('quota: a task alone holds to its share over 10 s (' .. used .. ' of 1000 ticks)', used >= 190 and used <= 210)\n"
"-- compose: what a layer holds does not count as runnable below it\n"
"local hold_web = function(snap, held) for _, t in ipairs(snap.tasks) do if t.comm == 'web' then held[t] = 'test' end end end\n"
"local cp = P.compose{ hold_web, P.strict_priority{ 'U2/web', 'U1/bkup' } }\n"
"local w2, b2 = task('U2', 'web', 150, 'q'), task('U1', 'bkup', 320, 'r')\n"
"cp.tick({ time = 0, tick = 1, tasks = { w2, b2 } })\n"
"check('compose: web held by the layer above, bkup below it runs', w2.frozen and not b2.frozen)\n"
"check('compose: a layer that is no shape is an error', not pcall(P.compose, { 42 }))\n"
"-- share: two busy classes 3:1 on one CPU, one running per tick\n"
"local sh = P.share{ { 'U1/a', 3 }, { 'U1/b', 1 } }\n"
"local ta, tb = task('U1', 'a', 1, 'q'), task('U1', 'b', 2, 'q')\n"
"local s4, got = { tasks = { ta, tb } }, { 0, 0 }\n"
"for i = 0, 999 do\n"
"  s4.time = i * 0.01\n"
"  sh.tick(s4)\n"
"  local run = not ta.frozen and (tb.frozen or i % 2 == 0) and ta or tb\n"
"  run.cputime = run.cputime + 10000000 got[run == ta and 1 or 2] = got[run == ta and 1 or 2] + 1\n"
"  ta.queued, tb.queued = true, true\n"
"end\n"
"check('share: 3:1 over 10 s (' .. got[1] .. ':' .. got[2] .. ' ticks)', got[1] >= 730 and got[1] <= 770)\n"
"check('share: the map form { [spec] = weight } is a class each', pcall(P.share, { ['U1/a'] = 3, ['U1/b'] = 1, window = '2s' }))\n"
"check('share: a weight of 0 is an error', not pcall(P.share, { { 'U1/a', 0 } }))\n";

int main(void)
{
	char lib[PATH_MAX], path[] = "/tmp/xds-test-plib.XXXXXX";
	struct xds_err err = {""};
	if (!realpath("policies/lib", lib))
		return printf("1..0 # SKIP run from the top of the tree\n"), 0;
	setenv("XDS_POLICY_PATH", lib, 1);
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, script, sizeof script - 1) != (ssize_t)(sizeof script - 1))
		return perror(path), 1;
	close(fd);
	struct xds_policy_opts o = {0};
	struct xds_policy *p = xds_policy_new(path, &o, &err);
	int is = p ? xds_policy_exec(p, 0, NULL, true, &err) : -1;
	if (!ok(is == 0, "the helpers load and run in the sandbox"))
		diag("%s", err.msg);
	lua_State *L = p ? xds_policy_state(p) : NULL;
	if (L && lua_getglobal(L, "results") == LUA_TTABLE) {
		for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
			lua_rawgeti(L, -1, 1);
			lua_rawgeti(L, -2, 2);
			ok(lua_toboolean(L, -1), "%s", lua_tostring(L, -2));
			lua_pop(L, 3);
		}
	}
	xds_policy_free(p);
	unlink(path);
	return done_testing();
}
