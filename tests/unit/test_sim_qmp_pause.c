/*
 * test_sim_qmp_pause.c - pausing a simulated guest through its own QMP
 * socket, as xds-lua pauses a QEMU guest: after `stop` query-status says
 * paused and the STOP event arrives; a second of virtual time gives U2's
 * tasks no CPU while U1's run on; after `cont` (RESUME) U2's tasks run
 * again; and the stop/cont flow leaves the guests' invariants intact.
 */
#include "tests/tap.h"
#include "tests/simctl.h"

#define SEC 1000000000LL

/* Sum of cputime_ns over the tasks of one domain. */
static int64_t dom_cpu(const json_t *tasks, const char *dom)
{
	int64_t sum = 0;
	const json_t *arr = json_object_get(tasks, "tasks");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *t = json_array_get(arr, i);
		const char *d = json_string_value(json_object_get(t, "dom"));
		if (d && !strcmp(d, dom))
			sum += json_integer_value(json_object_get(t, "cputime_ns"));
	}
	return sum;
}

static int cpu_of(struct simctl *sc, int64_t *u1, int64_t *u2, struct xds_err *err)
{
	json_t *t = simctl_tasks(sc, err);
	if (!t)
		return -1;
	*u1 = dom_cpu(t, "U1");
	*u2 = dom_cpu(t, "U2");
	json_decref(t);
	return 0;
}

static int dom_paused(struct simctl *sc, const char *dom)
{
	struct xds_err err;
	json_t *st = simctl_status(sc, &err);
	const json_t *doms = json_object_get(st, "domains");
	int r = -1;
	for (size_t i = 0; i < json_array_size(doms); i++) {
		const json_t *d = json_array_get(doms, i), *p = json_object_get(d, "paused");
		const char *n = json_string_value(json_object_get(d, "name"));
		if (n && !strcmp(n, dom))
			r = json_is_boolean(p) ? json_is_true(p) : -1;
	}
	json_decref(st);
	return r;
}

int main(void)
{
	struct simctl sc;
	struct xds_err err;
	struct qmp *u2 = NULL;
	if (!ok(simctl_start(&sc, "sim/scenarios/paper.lua", NULL, &err) == 0, "xds-sim serves paper.lua") ||
	    !ok((u2 = simctl_domain(&sc, "U2", &err)) != NULL, "U2.qmp connects")) {
		diag("%s", err.msg);
		simctl_stop(&sc);
		return done_testing();
	}
	/* web is busy from 0.5 s to 2 s */
	int64_t a1 = 0, a2 = 0, b1 = 0, b2 = 0, c1 = 0, c2 = 0;
	ok(simctl_step(&sc, 600000000, &err) == 600000000 && cpu_of(&sc, &a1, &a2, &err) == 0,
	   "stepped to 0.6 s");
	ok(a2 > 0, "U2 ran before the pause (%.3f s)", a2 / 1e9);

	char status[32] = "";
	int running = -1;
	ok(qmp_stop(u2, &err) == 0, "stop on U2.qmp");
	ok(qmp_query_status(u2, &running, status, sizeof status, &err) == 0, "query-status answers");
	is_str(status, "paused", "query-status says paused");
	is_int(running, 0, "and running is false");
	is_str(qmp_last_event(u2), "STOP", "the STOP event was sent");
	is_int(dom_paused(&sc, "U2"), 1, "x-sim-status shows U2 paused");

	ok(simctl_step(&sc, SEC, &err) == 1600000000 && cpu_of(&sc, &b1, &b2, &err) == 0, "stepped 1 s while paused");
	is_int(b2 - a2, 0, "U2's tasks gained no CPU time while paused");
	ok(b1 - a1 > SEC / 2, "U1's tasks ran on (%.3f s of the 1 s)", (b1 - a1) / 1e9);

	ok(qmp_cont(u2, &err) == 0, "cont on U2.qmp");
	ok(qmp_query_status(u2, &running, status, sizeof status, &err) == 0, "query-status answers");
	is_str(status, "running", "query-status says running");
	is_str(qmp_last_event(u2), "RESUME", "the RESUME event was sent");
	is_int(dom_paused(&sc, "U2"), 0, "x-sim-status shows U2 running");

	ok(simctl_step(&sc, SEC, &err) == 2600000000 && cpu_of(&sc, &c1, &c2, &err) == 0, "stepped 1 s after cont");
	ok(c2 - b2 > SEC / 10, "U2's tasks run again (%.3f s of the 1 s)", (c2 - b2) / 1e9);
	ok(c1 - b1 > 0, "U1's tasks still run (%.3f s)", (c1 - b1) / 1e9);
	is_int(simctl_violations(&sc, &err), 0, "stop and cont keep the invariants: 0 violations");
	qmp_close(u2);
	is_int(simctl_stop(&sc), 0, "xds-sim quits with status 0");
	return done_testing();
}
