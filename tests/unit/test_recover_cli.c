/*
 * test_recover_cli.c - `kill -9` of a running xds-lua, then
 * `xds-lua --recover`: every task is runnable again.
 *
 * A simulated host runs in real time on its own (xds-sim --realtime), so it
 * outlives the scheduler.  xds-lua attaches to its guests with --qemu and
 * runs policies/global_priority.lua with a journal; once bkup is held it is
 * killed with SIGKILL, which leaves no chance to clean up.  The simulator's
 * ground truth must show bkup still held; `xds-lua --recover --journal J`
 * must thaw it, and then bkup runs again.
 */
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "../tap.h"
#include "../simctl.h"

static bool journal_holds(const char *path, const char *comm)
{
	FILE *f = fopen(path, "r");
	char line[512];
	bool held = false;
	while (f && fgets(line, sizeof line, f)) {
		if (!strncmp(line, "freeze ", 7) && strstr(line, comm))
			held = true;
		if (!strncmp(line, "thaw ", 5))
			held = false;       /* only bkup is ever frozen by this policy */
	}
	if (f)
		fclose(f);
	return held;
}

static int64_t truth(struct simctl *sc, const char *field)
{
	struct xds_err err;
	json_t *j = simctl_tasks(sc, &err);
	int64_t v = simctl_task_int(j, "U1", "bkup", field);
	json_decref(j);
	return v;
}

static void wait_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

int main(void)
{
	struct simctl sc;
	struct xds_err err;
	const char *extra[] = { "--realtime", NULL };
	if (simctl_start(&sc, "sim/scenarios/paper.lua", extra, &err)) {
		ok(0, "xds-sim --realtime starts: %s", err.msg);
		return done_testing();
	}
	char lua[256], journal[160], cache[160], s1[1024], s2[1024];
	simctl_bin("xds-lua", lua, sizeof lua);
	simctl_path(&sc, "journal", journal, sizeof journal);
	simctl_path(&sc, "cache", cache, sizeof cache);
	simctl_qemu_spec(&sc, "U1", "U1", s1, sizeof s1);
	simctl_qemu_spec(&sc, "U2", "U2", s2, sizeof s2);
	setenv("XDG_CACHE_HOME", cache, 1);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execl(lua, lua, "--journal", journal, "--qemu", s1, "--qemu", s2, "policies/global_priority.lua",
		      (char *)NULL);
		_exit(127);
	}
	/* web is busy from 0.5 s to 2 s: bkup gets held in that window */
	bool held = false;
	for (int i = 0; i < 400 && !held; i++) {
		wait_ms(10);
		held = journal_holds(journal, "bkup") && truth(&sc, "held_ns") > 50000000;
	}
	ok(held, "xds-lua runs global_priority and holds bkup (journaled)");
	kill(pid, SIGKILL);
	int st = 0;
	waitpid(pid, &st, 0);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "xds-lua is killed with SIGKILL in the middle of the run");
	int64_t h0 = truth(&sc, "held_ns"), c0 = truth(&sc, "cputime_ns");
	wait_ms(1500);
	int64_t h1 = truth(&sc, "held_ns"), c1 = truth(&sc, "cputime_ns");
	ok(h1 - h0 > 1000000000 && c1 == c0, "left behind, bkup stays off its run queue (%.2f s held, %.3f s CPU)",
	   (h1 - h0) / 1e9, (c1 - c0) / 1e9);
	ok(simctl_file_size(journal) > 0, "the journal still lists it");
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s --recover --journal %s 2>&1", lua, journal);
	FILE *p = popen(cmd, "r");
	char out[2048] = "";
	size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
	out[n] = 0;
	int rc = p ? pclose(p) : -1;
	ok(rc == 0 && strstr(out, "thawed U1 pid 320"), "xds-lua --recover thaws it: %s", out);
	is_int(simctl_file_size(journal), 0, "and empties the journal");
	int64_t h2 = truth(&sc, "held_ns"), c2 = truth(&sc, "cputime_ns");
	wait_ms(1000);
	int64_t h3 = truth(&sc, "held_ns"), c3 = truth(&sc, "cputime_ns");
	ok(c3 > c2 && h3 - h2 < 50000000, "every task is runnable again: bkup ran %.3f s in 1 s", (c3 - c2) / 1e9);
	is_int(simctl_violations(&sc, &err), 0, "no invariant of the guest kernels was violated");
	snprintf(cmd, sizeof cmd, "rm -rf %s", cache);
	if (system(cmd) != 0)
		diag("could not remove %s", cache);
	simctl_stop(&sc);
	return done_testing();
}
