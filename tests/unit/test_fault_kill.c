/*
 * test_fault_kill.c - the fault-injection suite (issue 14): xds-lua killed
 * with SIGKILL at random points of its batches, 200 times, never leaves a
 * task held or a guest paused once the next run has recovered, and the
 * guest kernels' invariants (the simulator's checker) always hold.
 *
 * A simulated host runs in real time on its own (xds-sim --realtime), so
 * it outlives every xds-lua.  Each round runs a policy that flips U1/bkup
 * and U2/web between frozen and thawed every tick (every freeze and thaw
 * path: running, queued, sleeping tasks) with XDS_FAULT_KILL_AFTER_WRITES=N,
 * N random: the process dies right after its N-th guest write, between
 * two writes of a batch or between the last write and the read-back.
 * Then `xds-lua --journal J -e ''` starts (and recovers the journal); no
 * task may be left in TASK_FROZEN (shown "D": no task of the scenario
 * sleeps uninterruptibly), no domain paused.  At the end bkup must run.
 * Then point 3 at the scheduler's level: XDS_FAULT_LOSE_WRITE=N drops the
 * N-th write, N = 1..60: the read-back catches it, the batch is undone,
 * and the run goes on and ends with its journal empty and nothing held.
 * XDS_FAULT_ROUNDS changes the number of kill rounds (default 200).
 */
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "../tap.h"
#include "../simctl.h"

#define MAX_WRITES 150          /* a round flips two tasks per tick: reached in a few ticks */
#define ROUND_MS   10000        /* a round that does not die by then is stopped */

static const char flip_policy[] =
	"local n = 0\n"
	"return { name = \"flip\", tick_ms = 5, tick = function()\n"
	"  n = n + 1\n"
	"  for _, t in ipairs(xds.tasks(\"U1/bkup\")) do if n % 2 == 1 then t:freeze() else t:thaw() end end\n"
	"  for _, t in ipairs(xds.tasks(\"U2/web\")) do if n % 3 ~= 0 then t:freeze() else t:thaw() end end\n"
	"end }\n";

static void wait_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

/* Run argv with $var=n (n 0: unset); its wait status. */
static int run_env(char *const *argv, const char *var, int n, int timeout_ms)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		if (n > 0) {
			char v[16];
			snprintf(v, sizeof v, "%d", n);
			setenv(var, v, 1);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	for (int t = 0; t < timeout_ms; t += 5) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		wait_ms(5);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	return st;
}

static int run(char *const *argv, int n, int timeout_ms)
{
	return run_env(argv, "XDS_FAULT_KILL_AFTER_WRITES", n, timeout_ms);
}

static int count_lines(const char *path, const char *word)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int n = 0;
	while (f && fgets(line, sizeof line, f))
		n += strstr(line, word) != NULL;
	if (f)
		fclose(f);
	return n;
}

/* Tasks in "D" (TASK_FROZEN in this scenario), paused domains: both 0 when clean. */
static int left_behind(struct simctl *sc, char *why, size_t n)
{
	struct xds_err err;
	int bad = 0;
	why[0] = 0;
	json_t *tasks = simctl_tasks(sc, &err), *st = simctl_status(sc, &err), *t;
	size_t i;
	json_array_foreach(json_object_get(tasks, "tasks"), i, t) {
		const char *s = json_string_value(json_object_get(t, "state"));
		if (s && !strcmp(s, "D") && json_is_true(json_object_get(t, "alive"))) {
			bad++;
			snprintf(why + strlen(why), n - strlen(why), " %s held",
				 json_string_value(json_object_get(t, "comm")));
		}
	}
	json_array_foreach(json_object_get(st, "domains"), i, t)
		if (json_is_true(json_object_get(t, "paused"))) {
			bad++;
			snprintf(why + strlen(why), n - strlen(why), " %s paused",
				 json_string_value(json_object_get(t, "name")));
		}
	if (!tasks || !st) {
		bad++;
		snprintf(why, n, " no ground truth: %.200s", err.msg);
	}
	json_decref(tasks);
	json_decref(st);
	return bad;
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
	char lua[256], journal[160], cache[160], pol[160], s1[1024], s2[1024];
	simctl_bin("xds-lua", lua, sizeof lua);
	simctl_path(&sc, "journal", journal, sizeof journal);
	simctl_path(&sc, "cache", cache, sizeof cache);
	simctl_path(&sc, "flip.lua", pol, sizeof pol);
	FILE *f = fopen(pol, "w");
	if (f) {
		fputs(flip_policy, f);
		fclose(f);
	}
	simctl_qemu_spec(&sc, "U1", "U1", s1, sizeof s1);
	simctl_qemu_spec(&sc, "U2", "U2", s2, sizeof s2);
	setenv("XDG_CACHE_HOME", cache, 1);
	char *policy_argv[] = { lua, "--journal", journal, "--qemu", s1, "--qemu", s2, pol, NULL };
	char *start_argv[] = { lua, "--journal", journal, "--qemu", s1, "--qemu", s2, "-e", "", NULL };

	const char *r = getenv("XDS_FAULT_ROUNDS");
	int rounds = r && atoi(r) > 0 ? atoi(r) : 200, killed = 0, dirty = 0, failed_starts = 0;
	unsigned seed = 14;
	char why[400], first[600] = "";
	for (int i = 0; i < rounds; i++) {
		int n = 1 + (int)(rand_r(&seed) % MAX_WRITES);
		int st = run(policy_argv, n, ROUND_MS);
		killed += WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
		st = run(start_argv, 0, 60000);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			failed_starts++;
			if (!first[0])
				snprintf(first, sizeof first, "round %d (N=%d): the next start failed (%#x)", i, n, st);
		}
		if (left_behind(&sc, why, sizeof why)) {
			dirty++;
			if (!first[0])
				snprintf(first, sizeof first, "round %d (N=%d):%s", i, n, why);
		}
	}
	if (first[0])
		diag("first failure: %s", first);
	ok(killed > rounds * 9 / 10, "xds-lua died of SIGKILL mid-batch in %d of %d rounds", killed, rounds);
	is_int(failed_starts, 0, "the next start (recovering the journal) succeeded every time");
	is_int(dirty, 0, "after it, no task was held and no domain paused, in every round");
	is_int(simctl_violations(&sc, &err), 0, "no invariant of the guest kernels was ever violated");
	int64_t c0 = simctl_truth(&sc, "U1", "bkup", "cputime_ns");
	wait_ms(2500);
	int64_t c1 = simctl_truth(&sc, "U1", "bkup", "cputime_ns");
	ok(c1 > c0, "bkup runs afterwards (%.3f s of CPU in 2.5 s)", (c1 - c0) / 1e9);

	/* point 3 at the scheduler's level: a write lost (the N-th of the run),
	 * caught by the read-back, the batch undone; then the run goes on, and
	 * its held set, its journal and its exit thaw agree with the guest */
	char trace[160];
	simctl_path(&sc, "trace", trace, sizeof trace);
	char *lose_argv[] = { lua, "--journal", journal, "--trace", trace, "--duration", "300ms",
			      "--qemu", s1, "--qemu", s2, pol, NULL };
	int undone_runs = 0, bad_exit = 0, kept = 0;
	dirty = 0;
	first[0] = 0;
	for (int n = 1; n <= 60; n++) {
		int st = run_env(lose_argv, "XDS_FAULT_LOSE_WRITE", n, 30000);
		undone_runs += count_lines(trace, " undo ") > 0;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			bad_exit++;
			if (!first[0])
				snprintf(first, sizeof first, "write %d lost: exit %#x", n, st);
		}
		kept += simctl_file_size(journal) > 0;
		if (left_behind(&sc, why, sizeof why)) {
			dirty++;
			if (!first[0])
				snprintf(first, sizeof first, "write %d lost:%s", n, why);
		}
	}
	if (first[0])
		diag("first failure: %s", first);
	ok(undone_runs > 40, "a lost write is caught by the read-back and its batch undone (%d of 60 runs; "
	   "the others lost a write of a value already there)", undone_runs);
	is_int(bad_exit, 0, "each run goes on and ends cleanly (exit 0)");
	is_int(kept, 0, "its exit empties the journal: every task it held was thawed");
	is_int(dirty, 0, "no task is left in TASK_FROZEN, no domain paused");
	is_int(simctl_violations(&sc, &err), 0, "no invariant of the guest kernels was violated");
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf %s", cache);
	if (system(cmd) != 0)
		diag("could not remove %s", cache);
	simctl_stop(&sc);
	return done_testing();
}
