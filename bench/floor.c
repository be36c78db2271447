/*
 * floor.c - the snapshot beside the floor: a plain C loop over the same
 * mapped guest RAM, reading the same fields of the same tasks and run
 * queues with every offset resolved beforehand.
 *
 * Attaches a simulated host (a scenario), then alternates N times: one
 * xds_host_snapshot (every check: bounds, list links both ways, tree
 * depth, every task in the trees on the task list) and one floor walk
 * (task list from init_task and each CPU's CFS tree, reading pid, tgid,
 * comm, __state, cpu, on_rq, on_cpu, sum_exec_runtime, static_prio and the
 * run queue's curr and nr_running; translation by one cached large page,
 * no check beyond what keeps the loop inside RAM).  Prints the median ns
 * per task of both and their ratio, and, with a tick count, the mean tick
 * (snapshot + a few freezes and thaws in 2 domains) per task.  SCENARIO
 * may be "qemu:SPEC" (a running QEMU guest, as xds-lua --qemu takes it):
 * then no tick, and the pause is timed as a policy's change would take it
 * (xds_guest_pause: query-status and stop, one QMP round trip; then cont).
 * Asserts nothing: bench/scale.sh reads its output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host/host.h"
#include "linux/linux_int.h"
#include "sched/sched.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Host memory of va through one cached 2 MiB (or 4 KiB) piece. */
struct floor_map {
	struct lx_guest *g;
	uint64_t va0, len;
	const uint8_t *host;
};

static const uint8_t *at(struct floor_map *m, uint64_t va)
{
	if (va - m->va0 < m->len)
		return m->host + (va - m->va0);
	uint64_t gpa, span;
	struct xds_err e;
	if (vmem_translate_span(m->g->vm, va, &gpa, &span, &e))
		return NULL;
	uint64_t page = span > 0x1000 ? 0x200000 : 0x1000;      /* this 2 MiB or 4 KiB */
	uint64_t start = gpa & ~(page - 1);
	if (((start + page) >> 12) - 1 > m->g->max_gfn)
		page = 0x1000, start = gpa & ~0xfffULL;
	m->host = be_map(m->g->be, m->g->dom, start >> 12, (size_t)(page >> 12), 0, &e);
	if (!m->host)
		return NULL;
	m->va0 = va - (gpa - start);
	m->len = page;
	return m->host + (gpa - start);
}

static uint64_t u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

struct floor_task {
	uint64_t addr, runtime;
	int pid, tgid, nice;
	unsigned state, cpu, on_rq, on_cpu;
	char comm[16];
};

/* Offsets resolved once. */
struct offs {
	uint32_t tasks, pid, tgid, comm, state, cpu, on_cpu, se, se_on_rq, runtime, static_prio;
	uint32_t rq_curr, rq_nr, cfs, root, run_node, left, right;
};

static void resolve(const struct lx_guest *g, struct offs *o)
{
	o->tasks = lx_off(g, F_TASK_TASKS) + lx_off(g, F_LIST_NEXT);
	o->pid = lx_off(g, F_TASK_PID);
	o->tgid = lx_off(g, F_TASK_TGID);
	o->comm = lx_off(g, F_TASK_COMM);
	o->state = lx_off(g, F_TASK_STATE);
	o->cpu = lx_off(g, F_TASK_CPU);
	o->on_cpu = lx_off(g, F_TASK_ON_CPU);
	o->se = lx_off(g, F_TASK_SE);
	o->se_on_rq = o->se + lx_off(g, F_SE_ON_RQ);
	o->runtime = o->se + lx_off(g, F_SE_SUM_EXEC_RUNTIME);
	o->static_prio = lx_off(g, F_TASK_STATIC_PRIO);
	o->rq_curr = lx_off(g, F_RQ_CURR);
	o->rq_nr = lx_off(g, F_RQ_NR_RUNNING);
	o->cfs = lx_off(g, F_RQ_CFS);
	o->root = lx_off(g, F_CFS_RQ_TASKS_TIMELINE) + lx_off(g, F_RBC_ROOT) + lx_off(g, F_RB_ROOT_NODE);
	o->run_node = lx_off(g, F_TASK_SE) + lx_off(g, F_SE_RUN_NODE);
	o->left = lx_off(g, F_RB_LEFT);
	o->right = lx_off(g, F_RB_RIGHT);
}

/* The floor walk of one guest: returns the tasks read, -1 when RAM ran out. */
__attribute__((noinline)) static int floor_walk(struct lx_guest *g, const struct offs *o, struct floor_task *out, int cap, uint64_t *queued)
{
	struct floor_map m = { .g = g };
	uint64_t head = g->init_task + o->tasks, node;
	const uint8_t *p = at(&m, g->init_task);
	int n = 0;
	if (!p)
		return -1;
	uint32_t size = lx_sizeof(g, T_TASK_STRUCT);
	uint8_t *bounce = malloc(size);
	for (node = u64(p + o->tasks); node != head && n < cap && bounce; n++) {
		uint64_t va = node - o->tasks;
		struct xds_err e;
		if (!(p = at(&m, va)))
			break;
		if (va - m.va0 + size > m.len) {        /* across the piece: copied */
			if (vmem_read(g->vm, va, bounce, size, &e))
				break;
			p = bounce;
		}
		struct floor_task *t = &out[n];
		t->addr = va;
		t->pid = (int)u32(p + o->pid);
		t->tgid = (int)u32(p + o->tgid);
		memcpy(t->comm, p + o->comm, 16);
		t->state = u32(p + o->state);
		t->cpu = u32(p + o->cpu);
		t->on_cpu = u32(p + o->on_cpu);
		t->on_rq = u32(p + o->se_on_rq);
		t->runtime = u64(p + o->runtime);
		t->nice = (int)u32(p + o->static_prio) - 120;
		node = u64(p + o->tasks);
	}
	free(bounce);
	if (node != head)
		return -1;
	for (int cpu = 0; cpu < g->nr_cpus; cpu++) {        /* each CFS tree, in order, by a stack */
		const uint8_t *rq = at(&m, g->rq[cpu]);
		if (!rq)
			return -1;
		*queued += u64(rq + o->rq_curr) + u32(rq + o->rq_nr);
		uint64_t stack[64], cur = u64(rq + o->cfs + o->root);
		int sp = 0;
		while (cur || sp) {
			while (cur && sp < 64) {
				stack[sp++] = cur;
				const uint8_t *nd = at(&m, cur);
				cur = nd ? u64(nd + o->left) : 0;
			}
			cur = stack[--sp];
			*queued += cur - o->run_node;           /* the task, by address */
			const uint8_t *nd = at(&m, cur);
			cur = nd ? u64(nd + o->right) : 0;
		}
	}
	return n;
}

/* Mean per tick of snapshot + apply, with 3 freezes in each of 2 domains and
 * last tick's thaws, as bench/tick.c does. */
static double tick_ns(struct xds_host *h, int ticks)
{
	struct xds_err err;
	struct xds_sched_opts o = { .tick_ns = 10000000 };
	struct xds_sched *s = xds_sched_new(h, &o, &err);
	int nr = xds_host_nr_guests(h);
	uint64_t x = 42;
	if (!s)
		return 0;
	for (int t = 0; t < ticks; t++) {
		xds_sched_advance(s, &err);
		xds_sched_snapshot(s, &err);
		for (int i = 0; i < xds_sched_nr_held(s); i++) {
			const struct xds_held *hd = xds_sched_held_at(s, i);
			struct lx_task tk = { .addr = hd->addr, .pid = hd->pid };
			xds_sched_request(s, hd->guest, &tk, false, &err);
		}
		for (int k = 0; k < 2 && nr; k++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			int gi = (int)((x >> 33) % (uint64_t)nr);
			const struct lx_snapshot *sn = xds_guest_snapshot(xds_host_guest(h, gi));
			int from = sn->nr_tasks ? (int)((x >> 20) % (uint64_t)sn->nr_tasks) : 0;
			for (int n = 0, i = from; n < 3 && i < sn->nr_tasks; i++)
				if (sn->tasks[i].queued && !sn->tasks[i].running && !sn->tasks[i].protect) {
					xds_sched_request(s, gi, &sn->tasks[i], true, &err);
					n++;
				}
		}
		xds_sched_apply(s, &err);
	}
	const struct xds_stats *st = xds_sched_stats(s);
	double r = (st->snapshot.count ? (double)st->snapshot.total_ns / st->snapshot.count : 0) +
		   (st->apply.count ? (double)st->apply.total_ns / st->apply.count : 0);
	xds_sched_free(s, &err);
	return r;
}

static int cmp_u64(const void *a, const void *b);

/* Pause and resume guest 0 n times: the median of each, in microseconds. */
static void pause_cost(struct xds_host *h, int n)
{
	struct xds_err err;
	struct xds_guest *g = xds_host_guest(h, 0);
	uint64_t *p = malloc((size_t)n * sizeof *p), *r = malloc((size_t)n * sizeof *r);
	int done = 0;
	for (int i = 0; p && r && i < n; i++, done++) {
		bool was;
		uint64_t a = now_ns();
		if (xds_guest_pause(g, &was, &err) || was)
			break;
		uint64_t b = now_ns();
		if (xds_guest_resume(g, &err))
			break;
		p[i] = b - a;
		r[i] = now_ns() - b;
	}
	if (done) {
		qsort(p, (size_t)done, sizeof *p, cmp_u64);
		qsort(r, (size_t)done, sizeof *r, cmp_u64);
		printf("pause of %s over %d: pause %.1f us, resume %.1f us (medians), %.1f us paused at the least\n",
		       xds_guest_name(g), done, p[done / 2] / 1e3, r[done / 2] / 1e3, (p[0] + r[0]) / 1e3);
	} else {
		printf("pause of %s: failed: %s\n", xds_guest_name(g), err.msg);
	}
	free(p);
	free(r);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *scenario = argc > 1 ? argv[1] : "bench/host8x500.lua";
	const char *sim = argc > 2 ? argv[2] : "build/xds-sim";
	int n = argc > 3 ? atoi(argv[3]) : 100, ticks = argc > 4 ? atoi(argv[4]) : 0;
	struct xds_err err;
	struct xds_attach_opts ao = { .helper = sim, .seed = 1 };
	struct xds_host *h = xds_host_new(&err);
	bool qemu = !strncmp(scenario, "qemu:", 5);
	if (!h || xds_host_attach(h, qemu ? "qemu" : "sim", qemu ? scenario + 5 : scenario, &ao, &err)) {
		fprintf(stderr, "floor: %s\n", err.msg);
		xds_host_free(h);
		return 1;
	}
	if (!qemu)
		xds_host_wait_until(h, xds_host_now(h) + 200000000ULL, &err);
	int nr = xds_host_nr_guests(h), tasks = 0;
	struct offs o;
	resolve(xds_guest_lx(xds_host_guest(h, 0)), &o);
	struct floor_task *buf = malloc(XDS_MAX_TASKS * sizeof *buf);
	uint64_t *ts = malloc((size_t)n * sizeof *ts), *tf = malloc((size_t)n * sizeof *tf), sink = 0;
	if (!buf || !ts || !tf || n < 1)
		return 1;
	xds_host_snapshot(h, &err);
	for (int i = 0; i < n; i++) {
		uint64_t a = now_ns();
		xds_host_snapshot(h, &err);
		uint64_t b = now_ns();
		int got = 0;
		for (int gi = 0; gi < nr; gi++) {
			int k = floor_walk(xds_guest_lx(xds_host_guest(h, gi)), &o, buf, XDS_MAX_TASKS, &sink);
			got += k > 0 ? k : 0;
			sink += k > 0 ? buf[k - 1].runtime + (uint64_t)buf[k / 2].pid : 0;
		}
		ts[i] = b - a;
		tf[i] = now_ns() - b;
		tasks = got;
	}
	qsort(ts, (size_t)n, sizeof *ts, cmp_u64);
	qsort(tf, (size_t)n, sizeof *tf, cmp_u64);
	double snap = (double)ts[n / 2] / tasks, flo = (double)tf[n / 2] / tasks;
	double tick = ticks && !qemu ? tick_ns(h, ticks) / tasks : 0;
	printf("%d domains, %d tasks: snapshot %.1f ns/task, floor %.1f ns/task, ratio %.2f; tick %.1f ns/task "
	       "(checksum %llu)\n", nr, tasks, snap, flo, snap / flo, tick, (unsigned long long)(sink & 0xff));
	if (qemu || getenv("XDS_BENCH_PAUSE"))
		pause_cost(h, 200);
	free(buf);
	free(ts);
	free(tf);
	xds_host_free(h);
	return 0;
}
