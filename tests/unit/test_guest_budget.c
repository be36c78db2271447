/*
 * test_guest_budget.c - one guest cannot stall the others (issue 14,
 * point 4): every walk of a guest (task list, CFS trees) stops at the
 * guest's deadline for the tick, with a message that says so, so that a
 * guest presenting 2^20 tasks costs at most its budget; without a
 * deadline, or before it, the same guest reads whole.  A guest of 600
 * tasks (more than XDS_BUDGET_CHECK_EVERY) on the in-process simulator.
 */
#include <time.h>

#include "../tap.h"
#include "../simguest.h"

static const char scenario[] =
	"host { pcpus = 2 }\n"
	"domain { name = 'B', vcpus = 2, ram = '64M' }\n"
	"for i = 1, 600 do task { dom = 'B', comm = 't' .. i, run = bursty { run = '1ms', sleep = '5ms' } } end\n";

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int snap(struct simguest *g, uint64_t deadline, int *n, struct xds_err *err)
{
	struct lx_snapshot s;
	lx_forget(g->lx);
	lx_set_deadline(g->lx, deadline);
	int rc = lx_snapshot(g->lx, &s, err);
	*n = rc ? 0 : s.nr_tasks;
	if (!rc)
		lx_snapshot_free(&s);
	return rc;
}

int main(void)
{
	struct simguest g;
	struct xds_err err;
	int n = 0, rc;
	if (simguest_open(&g, scenario, 50000000ULL, &err)) {
		ok(0, "the simulated guest starts: %s", err.msg);
		return done_testing();
	}
	rc = snap(&g, 0, &n, &err);
	ok(rc == 0 && n > 600, "without a deadline the guest reads whole (%d tasks)", n);
	ok(!lx_past_deadline(g.lx), "and is not past a deadline");
	rc = snap(&g, mono_ns() + 60000000000ULL, &n, &err);
	ok(rc == 0 && n > 600, "with a deadline a minute away, whole too (%d tasks)", n);
	uint64_t t0 = mono_ns();
	rc = snap(&g, 1, &n, &err);
	double ms = (double)(mono_ns() - t0) / 1e6;
	ok(rc < 0 && strstr(err.msg, "over its time budget") && lx_past_deadline(g.lx),
	   "past its deadline the walk stops, saying why: %s", rc ? err.msg : "(read whole)");
	ok(ms < 1000, "at once (%.2f ms)", ms);
	lx_set_deadline(g.lx, 0);
	rc = snap(&g, 0, &n, &err);
	ok(rc == 0 && n > 600 && !lx_past_deadline(g.lx),
	   "the next tick, within its budget, it reads whole again (%d tasks)", n);
	simguest_close(&g);
	return done_testing();
}
