/*
 * test_sim_corruption.c - the simulator's checker (sim/check.c) catches a
 * corrupted run queue and says precisely what is wrong.  One simulator per
 * case: the test finds rq 0 in the RAM file (System.map's runqueues and
 * __per_cpu_offset, the layout from sim/kernel.h: this test checks the
 * checker, it may know the sim's layout), breaks one thing, steps, and
 * expects x-sim-status to report it: a counter off by one, a tree node's
 * parent link, a task both in the tree and current.  An untouched run
 * reports nothing, and --strict stops xds-sim with status 3.
 */
#include <stddef.h>

#include "tests/tap.h"
#include "tests/simctl.h"
#include "kernel.h"

/* Six CPU-bound tasks share vCPU 0, so its tree holds five. */
static const char scenario[] =
	"host { pcpus = 1 }\n"
	"domain { name = \"G\", vcpus = 2, ram = \"64M\" }\n"
	"for i = 1, 6 do\n"
	"  task { dom = \"G\", comm = \"hog\" .. i, pid = 500 + i, cpu = 0, run = cpu() }\n"
	"end\n"
	"task { dom = \"G\", comm = \"other\", pid = 600, cpu = 1,\n"
	"       run = periodic { run = \"3ms\", sleep = \"7ms\" } }\n";

struct guest {
	struct simctl sc;
	uint8_t *ram;
	size_t size;
	uint64_t rq_va;
	struct rq *rq;          /* rq 0 in the mapped RAM */
};

static void *at(struct guest *g, uint64_t va, size_t len)
{
	int64_t pa = simctl_pa(va, len, g->size);
	return pa < 0 ? NULL : g->ram + pa;
}

static int guest_start(struct guest *g, const char *path, const char *const *extra, struct xds_err *err)
{
	memset(g, 0, sizeof *g);
	if (simctl_start(&g->sc, path, extra, err))
		return -1;
	if (simctl_step(&g->sc, 20000000, err) < 0 || !(g->ram = simctl_map_ram(&g->sc, "G", &g->size, err)))
		return -1;
	uint64_t pco = simctl_symbol(&g->sc, "G", "__per_cpu_offset");
	uint64_t rqoff = simctl_symbol(&g->sc, "G", "runqueues");
	uint64_t *area = pco ? at(g, pco, 8) : NULL;
	if (!area || !rqoff)
		return xds_fail(err, "no __per_cpu_offset or runqueues in G.System.map");
	g->rq_va = *area + rqoff;
	if (!(g->rq = at(g, g->rq_va, sizeof *g->rq)))
		return xds_fail(err, "rq 0 at %#" PRIx64 " is outside G's RAM", g->rq_va);
	return 0;
}

static void guest_stop(struct guest *g)
{
	if (g->ram)
		munmap(g->ram, g->size);
	g->ram = NULL;
	simctl_stop(&g->sc);
}

/* Step a little; the checker runs before the guest moves. */
static json_t *step_and_status(struct guest *g, struct xds_err *err)
{
	if (simctl_step(&g->sc, 100000, err) < 0)
		return NULL;
	return simctl_status(&g->sc, err);
}

static void expect(struct guest *g, const char *what, const char *const *want)
{
	struct xds_err err;
	json_t *st = step_and_status(g, &err);
	char msg[300] = "";
	ok(json_integer_value(json_object_get(st, "violations")) > 0, "%s: violations > 0", what);
	if (!ok(simctl_has_message(st, want, msg, sizeof msg), "%s: reported precisely", what)) {
		char *msgs = json_dumps(json_object_get(st, "messages"), JSON_ENCODE_ANY);
		diag("messages: %s", msgs ? msgs : "none");
		diag("wanted '%s' ...", want[0]);
		free(msgs);
	} else {
		diag("%s", msg);
	}
	json_decref(st);
}

enum counter { CFS_NR_RUNNING, CFS_H_NR_RUNNING, RQ_NR_RUNNING };

/* One counter + 1; the message names it with the wrong and the right count. */
static void counter_off_by_one(const char *path, enum counter which)
{
	static const char *const names[] = { "rq->cfs.nr_running", "rq->cfs.h_nr_running", "rq->nr_running" };
	struct guest g;
	struct xds_err err;
	if (!ok(guest_start(&g, path, NULL, &err) == 0, "%s: sim started, rq 0 found", names[which])) {
		diag("%s", err.msg);
		guest_stop(&g);
		return;
	}
	unsigned nr = g.rq->cfs.nr_running;
	ok(nr >= 5 && g.rq->cfs.curr, "rq 0's cfs_rq has several entities (%u), one current", nr);
	unsigned long long cfs = g.rq_va + offsetof(struct rq, cfs);
	char want[160];
	switch (which) {
	case CFS_NR_RUNNING:
		g.rq->cfs.nr_running = nr + 1;
		snprintf(want, sizeof want, "cfs_rq %#llx: nr_running %u, but %u in the tree + 1 current",
			 cfs, nr + 1, nr - 1);
		break;
	case CFS_H_NR_RUNNING:
		g.rq->cfs.h_nr_running = nr + 1;
		snprintf(want, sizeof want, "cfs_rq %#llx: h_nr_running %u, but %u tasks queued at and below it",
			 cfs, nr + 1, nr);
		break;
	case RQ_NR_RUNNING:
		g.rq->nr_running = nr + 1;
		snprintf(want, sizeof want, "rq->nr_running %u, but %u tasks are queued", nr + 1, nr);
		break;
	}
	char what[64];
	snprintf(what, sizeof what, "%s + 1", names[which]);
	expect(&g, what, (const char *const[]){ "G cpu 0", want, NULL });
	guest_stop(&g);
}

static void broken_parent_link(const char *path)
{
	struct guest g;
	struct xds_err err;
	if (!ok(guest_start(&g, path, NULL, &err) == 0, "tree link: sim started, rq 0 found")) {
		diag("%s", err.msg);
		guest_stop(&g);
		return;
	}
	uint64_t root_va = (uint64_t)(uintptr_t)g.rq->cfs.tasks_timeline.rb_root.rb_node;
	struct rb_node *root = root_va ? at(&g, root_va, sizeof *root) : NULL;
	uint64_t child_va = root ? (uint64_t)(uintptr_t)(root->rb_left ? root->rb_left : root->rb_right) : 0;
	struct rb_node *child = child_va ? at(&g, child_va, sizeof *child) : NULL;
	if (!ok(child != NULL, "the tree has a root and a child")) {
		guest_stop(&g);
		return;
	}
	/* the child now claims to be its own parent; its colour is kept */
	child->__rb_parent_color = (child->__rb_parent_color & 3) | child_va;
	char want[160];
	snprintf(want, sizeof want, "rb_node %#llx: parent link %#llx, but its parent is %#llx",
		 (unsigned long long)child_va, (unsigned long long)child_va, (unsigned long long)root_va);
	expect(&g, "a child's parent pointer changed", (const char *const[]){ "G cpu 0", want, NULL });
	guest_stop(&g);
}

static void queued_and_current(const char *path)
{
	struct guest g;
	struct xds_err err;
	if (!ok(guest_start(&g, path, NULL, &err) == 0, "curr: sim started, rq 0 found")) {
		diag("%s", err.msg);
		guest_stop(&g);
		return;
	}
	uint64_t node = (uint64_t)(uintptr_t)g.rq->cfs.tasks_timeline.rb_leftmost;
	uint64_t task_va = node - offsetof(struct sched_entity, run_node) - offsetof(struct task_struct, se);
	struct task_struct *p = node ? at(&g, task_va, sizeof *p) : NULL;
	if (!ok(p != NULL, "the tree's leftmost task is in RAM")) {
		guest_stop(&g);
		return;
	}
	g.rq->curr = (struct task_struct *)(uintptr_t)task_va;
	char want[80];
	snprintf(want, sizeof want, "task %d (%.16s): both in the tree and current", p->pid, p->comm);
	expect(&g, "rq->curr set to a queued task", (const char *const[]){ "G cpu 0", want, NULL });
	guest_stop(&g);
}

static void untouched_is_clean(const char *path)
{
	struct guest g;
	struct xds_err err;
	if (!ok(guest_start(&g, path, NULL, &err) == 0, "untouched: sim started")) {
		diag("%s", err.msg);
		guest_stop(&g);
		return;
	}
	json_t *t = NULL;
	int64_t now = simctl_step(&g.sc, 1000000000, &err);
	ok(now == 1020000000, "stepped to 1.02 s");
	t = simctl_tasks(&g.sc, &err);
	ok(simctl_task_int(t, "G", "hog1", "cputime_ns") > 0 && simctl_task_int(t, "G", "other", "cputime_ns") > 0,
	   "the guest ran its tasks");
	json_decref(t);
	json_t *st = simctl_status(&g.sc, &err);
	is_int(simctl_int(st, "violations"), 0, "an untouched run reports 0 violations");
	is_int(json_array_size(json_object_get(st, "messages")), 0, "and no message");
	json_decref(st);
	guest_stop(&g);
}

static void strict_stops(const char *path)
{
	struct guest g;
	struct xds_err err;
	const char *const strict[] = { "--strict", NULL };
	if (!ok(guest_start(&g, path, strict, &err) == 0, "strict: sim started with --strict")) {
		diag("%s", err.msg);
		guest_stop(&g);
		return;
	}
	g.rq->nr_running += 1;
	ok(simctl_step(&g.sc, 100000, &err) < 0, "x-sim-step fails: the simulator stopped");
	qmp_close(g.sc.host);
	g.sc.host = NULL;
	is_int(simctl_wait(&g.sc, 5000), 3, "--strict: xds-sim exits with status 3 on the first violation");
	char *log = simctl_log(&g.sc);
	ok(strstr(log, "rq->nr_running") && strstr(log, "--strict: stopping"), "its stderr names rq->nr_running");
	free(log);
	guest_stop(&g);
}

int main(void)
{
	char path[256];
	if (!ok(simctl_write_scenario("hogs.lua", scenario, path, sizeof path) == 0, "scenario written"))
		return done_testing();
	untouched_is_clean(path);
	counter_off_by_one(path, CFS_NR_RUNNING);
	counter_off_by_one(path, CFS_H_NR_RUNNING);
	counter_off_by_one(path, RQ_NR_RUNNING);
	broken_parent_link(path);
	queued_and_current(path);
	strict_stops(path);
	simctl_remove_scenario(path);
	return done_testing();
}
