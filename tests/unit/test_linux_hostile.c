/*
 * test_linux_hostile.c - a corrupt or malicious guest never crashes or hangs
 * the runtime's reader.
 *
 * A simulated guest runs in-process; its RAM is then corrupted on purpose,
 * one way at a time (random bytes over task_structs and run queues, list
 * cycles, pointers out of RAM or non-canonical, tree cycles, page-table
 * garbage), a snapshot is taken, and the bytes are put back.  Each snapshot
 * must end, quickly, in success or an error; the named cases must be
 * errors that say what is wrong.  Under ASan/UBSan (make check's second
 * run) any stray read is a failure too.
 */
#include <signal.h>
#include <time.h>

#include "../tap.h"
#include "../simguest.h"

static const char scenario[] =
	"host { pcpus = 2 }\n"
	"domain { name = 'H', vcpus = 2, ram = '32M' }\n"
	"group { dom = 'H', name = 'g', shares = 2048 }\n"
	"for i = 1, 24 do task { dom = 'H', comm = 'busy' .. i, run = cpu(), group = (i % 3 == 0) and 'g' or nil } end\n"
	"for i = 1, 16 do task { dom = 'H', comm = 'nap' .. i, run = periodic { run = '2ms', sleep = '30ms' } } end\n"
	"task { dom = 'H', comm = 'mt', pid = 900, threads = 4, run = cpu() }\n";

static uint64_t rng_state = 0x1234567;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct patch {
	uint8_t *at;
	uint8_t saved[64];
	size_t len;
};

static void patch_bytes(struct patch *p, uint8_t *at, const void *bytes, size_t len)
{
	p->at = at;
	p->len = len;
	memcpy(p->saved, at, len);
	memcpy(at, bytes, len);
}

static void unpatch(struct patch *p)
{
	memcpy(p->at, p->saved, p->len);
}

static double worst_ms;

/* Snapshot under a watchdog; returns 0/-1 and the error in err. */
static int snap(struct simguest *g, struct xds_err *err, int *nr_tasks)
{
	struct lx_snapshot s;
	lx_forget(g->lx);
	alarm(10);                      /* a hang kills the test: it fails */
	double t0 = now_ms();
	int rc = lx_snapshot(g->lx, &s, err);
	double dt = now_ms() - t0;
	alarm(0);
	if (dt > worst_ms)
		worst_ms = dt;
	if (nr_tasks)
		*nr_tasks = s.nr_tasks;
	lx_snapshot_free(&s);
	return rc;
}

static uint32_t off(struct simguest *g, enum profile_field_id id)
{
	return profile_field(&g->prof, id)->offset;
}

static void named_cases(struct simguest *g, const struct lx_snapshot *pristine)
{
	struct xds_err err;
	struct patch p;
	int k = pristine->nr_tasks / 2;
	uint64_t task = pristine->tasks[k].addr, earlier = pristine->tasks[1].addr;
	uint8_t *next = simguest_host(g, task + off(g, F_TASK_TASKS), 8);
	uint64_t v;

	v = earlier + off(g, F_TASK_TASKS);
	patch_bytes(&p, next, &v, 8);
	ok(snap(g, &err, NULL) < 0 && (strstr(err.msg, "prev") || strstr(err.msg, "cycle")),
	   "a task list that loops back is an error: %s", err.msg);
	unpatch(&p);

	v = 0xffff888000000000ULL + g->d->ram_size + 0x10000;
	patch_bytes(&p, next, &v, 8);
	ok(snap(g, &err, NULL) < 0 && (strstr(err.msg, "outside") || strstr(err.msg, "not present")) &&
	   strstr(err.msg, "0xffff888002"),
	   "a task list pointer past the end of RAM is an error naming it: %s", err.msg);
	unpatch(&p);

	v = 0x0000123456789000ULL;
	patch_bytes(&p, next, &v, 8);
	ok(snap(g, &err, NULL) < 0 && strstr(err.msg, "0x123456789000"),
	   "a user-space pointer in the task list is an error naming it: %s", err.msg);
	unpatch(&p);

	v = 0x8000000000000000ULL;
	patch_bytes(&p, next, &v, 8);
	ok(snap(g, &err, NULL) < 0, "a non-canonical pointer in the task list is an error: %s", err.msg);
	unpatch(&p);

	/* a tree whose node points back at the root */
	uint64_t rq = pristine->rqs[0].addr;
	uint64_t root_slot = rq + off(g, F_RQ_CFS) + off(g, F_CFS_RQ_TASKS_TIMELINE);
	uint64_t root;
	memcpy(&root, simguest_host(g, root_slot, 8), 8);
	ok(root != 0, "CPU 0's CFS tree is not empty");
	if (root) {
		uint8_t *left = simguest_host(g, root + off(g, F_RB_LEFT), 8);
		patch_bytes(&p, left, &root, 8);
		ok(snap(g, &err, NULL) < 0 && (strstr(err.msg, "deeper") || strstr(err.msg, "more nodes")),
		   "a CFS tree with a cycle is an error: %s", err.msg);
		unpatch(&p);
	}

	/* the PML4 entry of the direct map cleared */
	uint8_t *pml4 = g->d->ram + (g->d->cr3 & ~0xfffULL);
	unsigned idx = (unsigned)((g->d->page_offset >> 39) & 511);
	uint64_t zero = 0;
	patch_bytes(&p, pml4 + 8 * idx, &zero, 8);
	ok(snap(g, &err, NULL) < 0 && strstr(err.msg, "not present"),
	   "a missing page-table entry is an error naming it: %s", err.msg);
	unpatch(&p);
}

static int find_pid(const struct lx_snapshot *s, int pid)
{
	for (int i = 0; i < s->nr_tasks; i++)
		if (s->tasks[i].pid == pid)
			return i;
	return -1;
}

/* Thread lists (signal->thread_head through thread_node) as hostile as the
 * task list; a queued thread taken off every list is read from its queue. */
static void thread_cases(struct simguest *g, const struct lx_snapshot *pristine)
{
	struct xds_err err;
	struct patch p, q;
	int l = find_pid(pristine, 900), t1 = find_pid(pristine, 901), t3 = find_pid(pristine, 903);
	if (!ok(l >= 0 && t1 >= 0 && t3 >= 0 && pristine->tasks[t3].tgid == 900 && pristine->tasks[t3].leader == l,
		"the leader 900 and its threads 901-903 are listed, each with its leader"))
		return;
	uint64_t lead = pristine->tasks[l].addr, th1 = pristine->tasks[t1].addr, th3 = pristine->tasks[t3].addr;
	uint8_t *next3 = simguest_host(g, th3 + off(g, F_TASK_THREAD_NODE) + off(g, F_LIST_NEXT), 8);
	uint64_t v = th1 + off(g, F_TASK_THREAD_NODE);
	patch_bytes(&p, next3, &v, 8);
	ok(snap(g, &err, NULL) < 0 && strstr(err.msg, "thread list") && strstr(err.msg, "prev"),
	   "a thread list that loops back is an error: %s", err.msg);
	unpatch(&p);

	v = 0x0000123456789000ULL;
	patch_bytes(&p, next3, &v, 8);
	ok(snap(g, &err, NULL) < 0 && strstr(err.msg, "thread list") && strstr(err.msg, "0x123456789000"),
	   "a user-space pointer in a thread list is an error naming it: %s", err.msg);
	unpatch(&p);

	v = 0xffff888000000000ULL + g->d->ram_size + 0x10000;
	patch_bytes(&p, simguest_host(g, lead + off(g, F_TASK_SIGNAL), 8), &v, 8);
	ok(snap(g, &err, NULL) < 0 && strstr(err.msg, "thread list of task 900"),
	   "a leader's signal past the end of RAM is an error naming the task: %s", err.msg);
	unpatch(&p);

	/* 901 unlinked from its thread list, as __unhash_process leaves it */
	uint64_t node1 = th1 + off(g, F_TASK_THREAD_NODE), prev1, next1;
	memcpy(&prev1, simguest_host(g, node1 + off(g, F_LIST_PREV), 8), 8);
	memcpy(&next1, simguest_host(g, node1 + off(g, F_LIST_NEXT), 8), 8);
	patch_bytes(&p, simguest_host(g, prev1 + off(g, F_LIST_NEXT), 8), &next1, 8);
	patch_bytes(&q, simguest_host(g, next1 + off(g, F_LIST_PREV), 8), &prev1, 8);
	struct lx_snapshot s;
	lx_forget(g->lx);
	int rc = lx_snapshot(g->lx, &s, &err);
	int i = rc ? -1 : find_pid(&s, 901);
	bool queued = pristine->tasks[t1].queued;
	ok(rc == 0 && (queued ? i >= 0 && s.tasks[i].unlisted && s.tasks[i].leader == find_pid(&s, 900) : i < 0),
	   "a thread off its thread list is read from its run queue, unlisted, with its leader (queued %d): %s",
	   queued, rc ? err.msg : "read");
	if (!rc)
		lx_snapshot_free(&s);
	unpatch(&q);
	unpatch(&p);
}

static void random_cases(struct simguest *g, const struct lx_snapshot *pristine, int iters)
{
	int errors = 0, fine = 0;
	uint32_t tsize = profile_struct(&g->prof, T_TASK_STRUCT)->size;
	uint32_t rqsize = profile_struct(&g->prof, T_RQ)->size;
	for (int i = 0; i < iters; i++) {
		struct patch p;
		uint8_t junk[64];
		for (size_t j = 0; j < sizeof junk; j++)
			junk[j] = (uint8_t)rnd();
		size_t len = 1 + rnd() % 32;
		uint8_t *at;
		switch (rnd() % 4) {
		case 0: {       /* random bytes over a task_struct */
			const struct lx_task *t = &pristine->tasks[rnd() % (uint64_t)pristine->nr_tasks];
			at = simguest_host(g, t->addr + rnd() % (tsize - len), len);
			break;
		}
		case 1: {       /* over a run queue */
			const struct lx_rq *r = &pristine->rqs[rnd() % (uint64_t)pristine->nr_cpus];
			at = simguest_host(g, r->addr + rnd() % (rqsize - len), len);
			break;
		}
		case 2: {       /* a pointer field replaced by another object's address */
			const struct lx_task *t = &pristine->tasks[rnd() % (uint64_t)pristine->nr_tasks];
			const struct lx_task *o = &pristine->tasks[rnd() % (uint64_t)pristine->nr_tasks];
			uint64_t v = o->addr + (rnd() % tsize & ~7ULL);
			memcpy(junk, &v, 8);
			len = 8;
			at = simguest_host(g, t->addr + (rnd() % (tsize - 8) & ~7ULL), 8);
			break;
		}
		default: {      /* page tables */
			at = g->d->ram + SIM_PT_PA + rnd() % (0x2000 + 8 * 0x1000);
			if (at + len > g->d->ram + g->d->ram_size)
				continue;
			break;
		}
		}
		if (!at)
			continue;
		patch_bytes(&p, at, junk, len);
		struct xds_err err;
		if (snap(g, &err, NULL))
			errors++;
		else
			fine++;
		unpatch(&p);
	}
	diag("%d corrupted snapshots: %d errors, %d read through; slowest %.2f ms", iters, errors, fine,
	     worst_ms);
	ok(errors + fine > iters / 2, "every corrupted snapshot ended (%d of %d run)", errors + fine, iters);
	ok(errors > iters / 20, "corruption is noticed: %d errors", errors);
	ok(worst_ms < 2000, "no snapshot took long (worst %.2f ms)", worst_ms);
}

int main(void)
{
	struct simguest g;
	struct xds_err err;
	if (simguest_open(&g, scenario, 500000000ULL, &err)) {
		ok(0, "the simulated guest starts: %s", err.msg);
		return done_testing();
	}
	struct lx_snapshot pristine;
	int rc = lx_snapshot(g.lx, &pristine, &err);
	ok(rc == 0, "the intact guest reads: %s", rc ? err.msg : "ok");
	is_int(pristine.nr_tasks, 45, "it has init, the 40 scenario tasks and mt's 4 threads");
	if (rc == 0) {
		named_cases(&g, &pristine);
		thread_cases(&g, &pristine);
		const char *iters = getenv("XDS_HOSTILE_ITERS");
		random_cases(&g, &pristine, iters ? atoi(iters) : 3000);
		int n = 0;
		rc = snap(&g, &err, &n);
		ok(rc == 0 && n == pristine.nr_tasks,
		   "with every byte put back the guest reads as before (%d tasks)", n);
	}
	lx_snapshot_free(&pristine);
	simguest_close(&g);
	return done_testing();
}
