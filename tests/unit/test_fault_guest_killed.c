/*
 * test_fault_guest_killed.c - the fault-injection suite's other half
 * (issue 14): one guest's VMM killed with SIGKILL mid-run; xds-lua goes on
 * scheduling the others, and thaws them at its exit.
 *
 * Two simulated hosts, each started on its own (xds-sim --realtime), stand
 * for two QEMU processes: xds-lua attaches U1 of the first as A and U1 of
 * the second as B (the qemu kind, as for real QEMU guests) and holds bkup
 * frozen in both.  The first simulator is killed with SIGKILL; B's bkup
 * must stay held (the ticks go on) and xds-lua stay up; on SIGTERM it
 * exits and B's bkup runs again, B not left paused.  How few lines the
 * loss of A prints is not judged here.
 */
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "../tap.h"
#include "../simctl.h"

static int64_t bkup(struct simctl *sc, const char *field)
{
	return simctl_truth(sc, "U1", "bkup", field);
}

static bool paused(struct simctl *sc)
{
	struct xds_err err;
	json_t *st = simctl_status(sc, &err), *d;
	size_t i;
	bool p = false;
	json_array_foreach(json_object_get(st, "domains"), i, d)
		p = p || json_is_true(json_object_get(d, "paused"));
	json_decref(st);
	return p;
}

int main(void)
{
	struct simctl a, b;
	struct xds_err err;
	const char *extra[] = { "--realtime", NULL };
	if (simctl_start(&a, "sim/scenarios/paper.lua", extra, &err) ||
	    simctl_start(&b, "sim/scenarios/paper.lua", extra, &err)) {
		ok(0, "two xds-sim --realtime start: %s", err.msg);
		return done_testing();
	}
	char lua[256], journal[160], cache[160], pol[160], sa[1024], sb[1024], errp[160];
	simctl_bin("xds-lua", lua, sizeof lua);
	simctl_path(&b, "journal", journal, sizeof journal);
	simctl_path(&b, "cache", cache, sizeof cache);
	simctl_path(&b, "hold.lua", pol, sizeof pol);
	simctl_path(&b, "xds-lua.err", errp, sizeof errp);
	FILE *f = fopen(pol, "w");
	if (f) {
		fputs("return { tick = function() for _, t in ipairs(xds.tasks('bkup')) do t:freeze() end end }\n", f);
		fclose(f);
	}
	simctl_qemu_spec(&a, "A", "U1", sa, sizeof sa);
	simctl_qemu_spec(&b, "B", "U1", sb, sizeof sb);
	setenv("XDG_CACHE_HOME", cache, 1);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY), e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(null, 1);
		dup2(e, 2);
		execl(lua, lua, "--journal", journal, "--qemu", sa, "--qemu", sb, pol, (char *)NULL);
		_exit(127);
	}
	bool held = false;
	for (int i = 0; i < 500 && !held; i++) {
		usleep(10000);
		held = bkup(&a, "held_ns") > 100000000 && bkup(&b, "held_ns") > 100000000;
	}
	ok(held, "xds-lua holds bkup in both guests");
	kill(a.pid, SIGKILL);
	waitpid(a.pid, &a.status, 0);
	a.pid = 0;
	usleep(300000);
	int64_t h0 = bkup(&b, "held_ns");
	usleep(1500000);
	int64_t h1 = bkup(&b, "held_ns");
	ok(kill(pid, 0) == 0, "xds-lua is still running after A's VMM was killed");
	ok(h1 - h0 > 1000000000, "and still holds B's bkup (%.2f s held of 1.5 s)", (h1 - h0) / 1e9);
	kill(pid, SIGTERM);
	int st = 0;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st), "on SIGTERM it exits (status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
	int64_t c0 = bkup(&b, "cputime_ns");
	usleep(1500000);
	int64_t c1 = bkup(&b, "cputime_ns");
	ok(c1 > c0 && !paused(&b), "B's bkup runs again (%.3f s of CPU in 1.5 s), B not paused", (c1 - c0) / 1e9);
	is_int(simctl_violations(&b, &err), 0, "no invariant of B's kernel was violated");
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf %s", cache);
	if (system(cmd) != 0)
		diag("could not remove %s", cache);
	simctl_stop(&a);
	simctl_stop(&b);
	return done_testing();
}
