/*
 * test_sim_determinism.c - a simulated run is a function of its scenario
 * and seed: `xds-sim fig2.lua --run 5s --json` prints the same ground
 * truth twice with the same seed, and a different one with another seed
 * (fig2.lua has jitter, so the dice show).
 */
#include "tests/tap.h"
#include "tests/simctl.h"

/* The output of xds-sim --run 5s --json --seed N, and its exit status. */
static char *run_json(const char *scenario, const char *seed, int *status)
{
	char bin[256], cmd[768];
	simctl_bin("xds-sim", bin, sizeof bin);
	snprintf(cmd, sizeof cmd, "%s %s --run 5s --json --seed %s 2>/dev/null", bin, scenario, seed);
	FILE *p = popen(cmd, "r");
	char *text = simctl_slurp(p);
	int st = p ? pclose(p) : -1;
	*status = st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return text;
}

int main(void)
{
	const char *scen = "sim/scenarios/fig2.lua";
	int st1, st2, st3;
	char *a = run_json(scen, "7", &st1);
	char *b = run_json(scen, "7", &st2);
	char *c = run_json(scen, "8", &st3);
	is_int(st1, 0, "fig2.lua --run 5s --seed 7 exits 0");
	is_int(st3, 0, "fig2.lua --run 5s --seed 8 exits 0");
	struct xds_err err;
	json_t *ja = xds_json_parse(a, strlen(a), &err);
	if (!ok(ja != NULL, "--json output parses"))
		diag("%s", err.msg);
	is_int(simctl_int(ja, "time_ns"), 5000000000LL, "the truth is taken at 5 s of virtual time");
	is_int(json_array_size(json_object_get(ja, "tasks")), 6, "it lists fig2's 4 tasks and the 2 inits");
	ok(simctl_task_int(ja, "U1", "proc1", "cputime_ns") > 0, "proc1 ran (the output is not empty truth)");
	ok(strlen(a) > 100 && !strcmp(a, b), "same seed twice: identical output");
	ok(strlen(c) > 100 && strcmp(a, c) != 0, "seed 8 differs from seed 7");
	int64_t d = simctl_task_int(ja, "U1", "proc1", "cputime_ns");
	json_t *jc = xds_json_parse(c, strlen(c), &err);
	diag("proc1 cpu: seed 7 %.3f ms, seed 8 %.3f ms", d / 1e6,
	     simctl_task_int(jc, "U1", "proc1", "cputime_ns") / 1e6);
	json_decref(ja);
	json_decref(jc);
	free(a);
	free(b);
	free(c);
	return done_testing();
}
