/*
 * tick.c - what a tick costs, how long a changed domain stays paused, and
 * how fast the scheduler reacts.
 *
 *  1. 8 domains x 500 tasks (bench/host8x500.lua): every tick a policy in C
 *     freezes a few queued tasks of two domains and thaws what it froze the
 *     tick before; prints the time per phase (snapshot, policy, apply, whole
 *     tick) and the pause length per changed domain, without a journal
 *     and with one (on $XDS_BENCH_JOURNAL_DIR, default /var/tmp: a disk,
 *     where fdatasync costs what it costs), whose syncs are made before
 *     the pause, never inside it.
 *  2. The paper's host with its policy (bkup held while web is runnable):
 *     from the simulator's ground truth each tick, the number of ticks
 *     between web becoming runnable and bkup being off its run queue.
 * Prints figures; asserts nothing.  Goals (issue 16): a whole tick under
 * 0.5 ms, reaction in one tick.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sched/sched.h"
#include "util/json.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double ms(const struct xds_phase *p)
{
	return p->count ? p->total_ns / 1e6 / p->count : 0;
}

static struct xds_host *sim_host(const char *sim, const char *scenario)
{
	struct xds_err err;
	struct xds_attach_opts ao = { .helper = sim, .seed = 1 };
	struct xds_host *h = xds_host_new(&err);
	if (h && !xds_host_attach(h, "sim", scenario, &ao, &err))
		return h;
	fprintf(stderr, "tick: %s\n", err.msg);
	xds_host_free(h);
	return NULL;
}

static const struct lx_snapshot *snap_of(struct xds_host *h, int gi)
{
	return xds_guest_snapshot(xds_host_guest(h, gi));
}

static int tick_cost(const char *sim, int ticks, const char *journal)
{
	struct xds_err err;
	struct xds_host *h = sim_host(sim, "bench/host8x500.lua");
	if (!h)
		return 1;
	struct xds_sched_opts o = { .tick_ns = 10000000, .journal = journal };
	struct xds_sched *s = xds_sched_new(h, &o, &err);
	if (!s) {
		fprintf(stderr, "tick: %s\n", err.msg);
		xds_host_free(h);
		return 1;
	}
	int nr = xds_host_nr_guests(h);
	uint64_t x = 42;
	struct xds_phase policy = { 0 };
	xds_sched_advance(s, &err);
	xds_sched_snapshot(s, &err);
	int tasks = 0;
	for (int i = 0; i < nr; i++)
		tasks += snap_of(h, i)->nr_tasks;
	for (int t = 0; t < ticks; t++) {
		xds_sched_advance(s, &err);
		xds_sched_snapshot(s, &err);
		uint64_t p0 = now_ns();
		for (int i = 0; i < xds_sched_nr_held(s); i++) {
			const struct xds_held *hd = xds_sched_held_at(s, i);
			struct lx_task t = { .addr = hd->addr, .pid = hd->pid };
			xds_sched_request(s, hd->guest, &t, false, &err);
		}
		for (int k = 0; k < 2; k++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			int gi = (int)((x >> 33) % (uint64_t)nr);
			const struct lx_snapshot *sn = snap_of(h, gi);
			for (int n = 0, i = (int)((x >> 20) % (uint64_t)(sn->nr_tasks ? sn->nr_tasks : 1));
			     n < 3 && i < sn->nr_tasks; i++)
				if (sn->tasks[i].queued && !sn->tasks[i].running && !sn->tasks[i].protect) {
					xds_sched_request(s, gi, &sn->tasks[i], true, &err);
					n++;
				}
		}
		uint64_t p1 = now_ns();
		policy.count++;
		policy.total_ns += p1 - p0;
		xds_sched_apply(s, &err);
	}
	const struct xds_stats *st = xds_sched_stats(s);
	double tick = ms(&st->snapshot) + ms(&policy) + ms(&st->apply);
	printf("tick, %d domains x %d tasks, 2 domains changed per tick: snapshot %.3f ms, policy %.3f ms, "
	       "apply %.3f ms; whole tick %.3f ms, %.2fx the goal of 0.5 ms (%s)\n",
	       nr, tasks / nr, ms(&st->snapshot), ms(&policy), ms(&st->apply), tick, tick / 0.5,
	       tick < 0.5 ? "holds" : "NOT MET");
	printf("%s: ", journal ? "with a journal" : "without a journal");
	printf("pause per changed domain (simulator's QMP: query-status and stop in one round trip, then cont): "
	       "mean %.3f ms, max %.3f ms over %llu pauses; %llu freezes, %llu thaws, "
	       "%llu retries, %llu refusals\n",
	       ms(&st->pause), st->pause.max_ns / 1e6, (unsigned long long)st->pause.count,
	       (unsigned long long)st->freezes, (unsigned long long)st->thaws,
	       (unsigned long long)st->retries, (unsigned long long)st->refusals);
	xds_sched_free(s, &err);
	xds_host_free(h);
	return 0;
}

static const struct lx_task *named(struct xds_host *h, int gi, const char *comm)
{
	const struct lx_snapshot *sn = snap_of(h, gi);
	for (int i = 0; i < sn->nr_tasks; i++)
		if (!strcmp(sn->tasks[i].comm, comm))
			return &sn->tasks[i];
	return NULL;
}

static void truth(struct xds_host *h, int64_t *web_busy, int64_t *bkup_cpu)
{
	json_t *j = xds_host_truth(h, NULL), *t;
	size_t i;
	json_array_foreach(json_object_get(j, "tasks"), i, t) {
		const char *c = json_string_value(json_object_get(t, "comm"));
		json_int_t cpu = json_integer_value(json_object_get(t, "cputime_ns"));
		if (c && !strcmp(c, "web"))
			*web_busy = cpu + json_integer_value(json_object_get(t, "wait_ns"));
		if (c && !strcmp(c, "bkup"))
			*bkup_cpu = cpu;
	}
	json_decref(j);
}

static int reaction(const char *sim)
{
	struct xds_err err;
	struct xds_host *h = sim_host(sim, "sim/scenarios/paper.lua");
	if (!h)
		return 1;
	struct xds_sched_opts o = { .tick_ns = 10000000 };
	struct xds_sched *s = xds_sched_new(h, &o, &err);
	int64_t web0 = 0, bkup0 = 0, web1, bkup1;
	int wakes = 0, late = 0, max_late = 0, run = 0;
	bool web_was = false;
	truth(h, &web0, &bkup0);
	for (int t = 0; t < 6000; t++) {            /* 60 s */
		xds_sched_advance(s, &err);
		xds_sched_snapshot(s, &err);
		const struct lx_task *web = named(h, 1, "web"), *bkup = named(h, 0, "bkup");
		if (web && bkup)
			xds_sched_request(s, 0, bkup, web->queued || web->running, &err);
		xds_sched_apply(s, &err);
		truth(h, &web1, &bkup1);
		bool web_runnable = web1 > web0;        /* ground truth: web wanted CPU this tick */
		if (web_runnable && !web_was) {
			wakes++;
			run = 0;
		}
		if (web_runnable && bkup1 > bkup0)
			run++, late++;
		if (run > max_late)
			max_late = run;
		web_was = web_runnable;
		web0 = web1;
		bkup0 = bkup1;
	}
	printf("reaction over 60 s of the paper's host: web became runnable %d times; bkup ran in %d ticks while "
	       "web was runnable (%.2f ticks per wake, worst %d) - goal: one tick\n",
	       wakes, late, wakes ? (double)late / wakes : 0, max_late);
	xds_sched_free(s, &err);
	xds_host_free(h);
	return 0;
}

int main(int argc, char **argv)
{
	const char *sim = argc > 1 ? argv[1] : "build/xds-sim";
	int ticks = argc > 2 ? atoi(argv[2]) : 300;
	const char *dir = getenv("XDS_BENCH_JOURNAL_DIR");
	char journal[4096];
	snprintf(journal, sizeof journal, "%s/xds-bench-journal.%d", dir && *dir ? dir : "/var/tmp", (int)getpid());
	int rc = tick_cost(sim, ticks, NULL) || tick_cost(sim, ticks, journal);
	unlink(journal);
	return rc || reaction(sim);
}
