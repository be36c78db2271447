/*
 * snapshot.c - the cost of one snapshot of a whole host.
 *
 * Starts xds-sim on a scenario (default: 8 domains x 2 vCPUs x 500 tasks),
 * attaches every domain as xds-lua does (qemu backend, DWARF profile), and
 * times xds_host_snapshot: the first one (cold page-table walks) and the
 * mean, median and worst of the next N, while virtual time moves between
 * them.  Prints its figures; asserts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "host/host.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *scenario = argc > 1 ? argv[1] : "bench/host8x500.lua";
	const char *sim = argc > 2 ? argv[2] : "build/xds-sim";
	int n = argc > 3 ? atoi(argv[3]) : 200;
	struct xds_err err;
	struct xds_attach_opts ao = { .helper = sim, .seed = 1 };
	struct xds_host *h = xds_host_new(&err);
	if (!h || xds_host_attach(h, "sim", scenario, &ao, &err)) {
		fprintf(stderr, "snapshot: %s\n", err.msg);
		xds_host_free(h);
		return 1;
	}
	xds_host_wait_until(h, xds_host_now(h) + 500000000ULL, &err);
	double t0 = now_us();
	if (xds_host_snapshot(h, &err)) {
		fprintf(stderr, "snapshot: %s\n", err.msg);
		xds_host_free(h);
		return 1;
	}
	double first = now_us() - t0;
	int tasks = 0;
	for (int i = 0; i < xds_host_nr_guests(h); i++)
		tasks += xds_guest_snapshot(xds_host_guest(h, i))->nr_tasks;
	double *t = malloc((size_t)n * sizeof *t), sum = 0;
	for (int i = 0; i < n && t; i++) {
		xds_host_wait_until(h, xds_host_now(h) + 10000000ULL, &err);     /* one 10 ms tick */
		double a = now_us();
		xds_host_snapshot(h, &err);
		t[i] = now_us() - a;
		sum += t[i];
	}
	if (t) {
		qsort(t, (size_t)n, sizeof *t, cmp);
		printf("snapshot of %d domains, %d tasks: first %.0f us; next %d: mean %.0f us, "
		       "median %.0f us, worst %.0f us; %.0f ns per task (bench/scale.sh sets it beside the floor)\n",
		       xds_host_nr_guests(h), tasks, first, n, sum / n, t[n / 2], t[n - 1], 1000.0 * sum / n / tasks);
	}
	free(t);
	xds_host_free(h);
	return 0;
}
