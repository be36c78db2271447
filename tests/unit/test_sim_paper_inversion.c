/*
 * test_sim_paper_inversion.c - the problem xds-lua exists for, seen in the
 * simulator: on sim/scenarios/paper.lua with no scheduler in the way, the
 * backup job (bkup, U1) runs while the web server (web, U2) is runnable
 * and waiting, in a good part of the time.  Stepping 10 ms at a time
 * through host.qmp, a step counts as an inversion when web's wait_ns and
 * bkup's cputime_ns both grew in it.  Also: the guests' invariants hold
 * throughout (0 violations).
 */
#include "tests/tap.h"
#include "tests/simctl.h"

#define STEP_NS  10000000ULL      /* 10 ms */
#define NR_STEPS 1000             /* 10 s of virtual time */

int main(void)
{
	struct simctl sc;
	struct xds_err err;
	if (!ok(simctl_start(&sc, "sim/scenarios/paper.lua", NULL, &err) == 0, "xds-sim serves paper.lua")) {
		diag("%s", err.msg);
		return done_testing();
	}
	int64_t web_wait = 0, bkup_cpu = 0, web_cpu = 0;
	int inversions = 0, web_waiting = 0, steps = 0, bad = 0;
	for (; steps < NR_STEPS; steps++) {
		json_t *t = NULL;
		if (simctl_step(&sc, STEP_NS, &err) < 0 || !(t = simctl_tasks(&sc, &err))) {
			bad = 1;
			break;
		}
		int64_t ww = simctl_task_int(t, "U2", "web", "wait_ns");
		int64_t bc = simctl_task_int(t, "U1", "bkup", "cputime_ns");
		int64_t wc = simctl_task_int(t, "U2", "web", "cputime_ns");
		json_decref(t);
		if (ww < 0 || bc < 0 || wc < 0) {
			xds_fail(&err, "x-sim-tasks lacks web or bkup at step %d", steps);
			bad = 1;
			break;
		}
		web_waiting += ww > web_wait;
		inversions += ww > web_wait && bc > bkup_cpu;
		web_wait = ww;
		bkup_cpu = bc;
		web_cpu = wc;
	}
	if (!ok(!bad, "1000 steps of 10 ms with x-sim-tasks after each"))
		diag("%s", err.msg);
	diag("bkup ran while web waited in %d of %d steps (%.1f%%); web waited in %d steps",
	     inversions, steps, 100.0 * inversions / (steps ? steps : 1), web_waiting);
	diag("after 10 s: web cpu %.3f s, waited %.3f s; bkup cpu %.3f s",
	     web_cpu / 1e9, web_wait / 1e9, bkup_cpu / 1e9);
	ok(inversions * 10 > steps, "bkup ran while web was runnable and waiting in more than 10%% of the steps");
	ok(web_wait > 1000000000LL, "web waited more than 1 s of the 10 s in total");
	is_int(simctl_violations(&sc, &err), 0, "no invariant violated in 10 s");
	is_int(simctl_stop(&sc), 0, "xds-sim quits with status 0");
	return done_testing();
}
