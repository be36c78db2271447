/*
 * test_freeze.c - freezing and thawing tasks on a simulated CFS kernel.
 *
 * The simulator runs in this process; the runtime edits its RAM through
 * the image backend exactly as it edits a real guest's.  The simulator's
 * invariant checker judges every edit, and its ground truth (CPU time the
 * task really got) judges the effect: a frozen task gets no CPU while its
 * peers share it, a thawed one runs again.
 */
#include "../tap.h"
#include "../simguest.h"

static const char scenario[] =
	"host { pcpus = 2 }\n"
	"domain { name = 'F', vcpus = 2, ram = '64M' }\n"
	"group { dom = 'F', name = 'grp', shares = 1024 }\n"
	"for i = 1, 6 do task { dom = 'F', comm = 'busy' .. i, pid = 100 + i, cpu = (i - 1) % 2, run = cpu() } end\n"
	"task { dom = 'F', comm = 'solo', pid = 200, cpu = 1, group = 'grp', run = cpu() }\n"
	"task { dom = 'F', comm = 'pair', pid = 201, cpu = 0, group = 'grp', threads = 2, run = cpu() }\n"
	"task { dom = 'F', comm = 'nap', pid = 300, cpu = 0, run = periodic { run = '1ms', sleep = '200ms' } }\n"
	"for i = 1, 20 do task { dom = 'F', comm = 'w' .. i, pid = 400 + i, run = bursty { run = '2ms', sleep = '15ms' } } end\n";

static struct simguest g;

static struct lx_task *find(struct lx_snapshot *s, int pid)
{
	for (int i = 0; i < s->nr_tasks; i++)
		if (s->tasks[i].pid == pid)
			return &s->tasks[i];
	return NULL;
}

static void snap(struct lx_snapshot *s)
{
	struct xds_err err;
	lx_forget(g.lx);
	if (lx_snapshot(g.lx, s, &err))
		diag("snapshot failed: %s", err.msg);
}

static uint64_t cpu_of(int pid)
{
	return simguest_task(&g, pid)->cpu_ns;
}

static int violations_after(uint64_t ns)
{
	uint64_t before = g.s->violations;
	sim_step(g.s, ns);
	return (int)(g.s->violations - before);
}

static int freeze(int pid, enum lx_hold *hold, struct xds_err *err)
{
	struct lx_snapshot s;
	snap(&s);
	struct lx_task *t = find(&s, pid);
	simguest_sync_regs(&g);
	int rc = t ? lx_freeze(g.lx, t->addr, pid, hold, err) : (xds_fail(err, "no task %d", pid), LX_FAIL);
	lx_snapshot_free(&s);
	return rc;
}

static int thaw(int pid, struct xds_err *err)
{
	struct lx_snapshot s;
	snap(&s);
	struct lx_task *t = find(&s, pid);
	int rc = t ? lx_thaw(g.lx, t->addr, pid, 0, err) : LX_FAIL;
	lx_snapshot_free(&s);
	return rc;
}

/* Pick a task of the given kind, letting time pass (1 ms steps) until one is. */
static int pick(bool running, int lo, int hi)
{
	int pid = -1;
	for (int tries = 0; tries < 1000 && pid < 0; tries++) {
		struct lx_snapshot s;
		snap(&s);
		for (int i = 0; i < s.nr_tasks && pid < 0; i++)
			if (s.tasks[i].pid >= lo && s.tasks[i].pid <= hi && s.tasks[i].queued &&
			    s.tasks[i].running == running)
				pid = s.tasks[i].pid;
		lx_snapshot_free(&s);
		if (pid < 0)
			sim_step(g.s, 1000000);
	}
	return pid;
}

static void queued_task(void)
{
	struct xds_err err;
	enum lx_hold hold = -1;
	int pid = pick(false, 101, 106);
	if (!ok(pid > 0, "a queued, not running busy task exists (%d)", pid))
		return;
	int rc = freeze(pid, &hold, &err);
	ok(rc == LX_OK && hold == LX_HOLD_DEQUEUED, "a queued task is dequeued (%s)", rc ? err.msg : "ok");
	is_int(sim_check_domain(g.d), 0, "the kernel's invariants hold right after the dequeue");
	uint64_t c0 = cpu_of(pid), peers0 = 0, peers1 = 0;
	for (int p = 101; p <= 106; p++)
		peers0 += p == pid ? 0 : cpu_of(p);
	is_int(violations_after(2000000000ULL), 0, "2 s of running: no invariant violated");
	for (int p = 101; p <= 106; p++)
		peers1 += p == pid ? 0 : cpu_of(p);
	is_int(cpu_of(pid) - c0, 0, "frozen task gets no CPU in 2 s");
	ok(peers1 - peers0 > 500000000ULL, "its peers share the CPU meanwhile (%.3f s)", (peers1 - peers0) / 1e9);
	rc = thaw(pid, &err);
	ok(rc == LX_OK, "thaw puts it back (%s)", rc ? err.msg : "ok");
	is_int(violations_after(1000000000ULL), 0, "1 s after thaw: no invariant violated");
	ok(cpu_of(pid) - c0 > 20000000ULL, "thawed, it runs again (%.3f s in 1 s)", (cpu_of(pid) - c0) / 1e9);
}

static void running_task(void)
{
	struct xds_err err;
	enum lx_hold hold = -1;
	g.d->kernel_frac = 1.0;                 /* observations: in the kernel */
	sim_step(g.s, 1000000);
	int pid = pick(true, 101, 106);
	if (!ok(pid > 0, "a running busy task exists (%d)", pid))
		return;
	int rc = freeze(pid, &hold, &err);
	ok(rc == LX_RETRY && strstr(err.msg, "kernel mode"), "in kernel mode: retry later (%s)", err.msg);
	g.d->kernel_frac = 0;
	sim_step(g.s, 1000000);
	pid = pick(true, 101, 106);
	if (pid < 0)
		return;
	rc = freeze(pid, &hold, &err);
	ok(rc == LX_OK && hold == LX_HOLD_DESCHED, "in user mode: told to leave its CPU (%s)", rc ? err.msg : "ok");
	uint64_t c0 = cpu_of(pid);
	is_int(violations_after(5000000), 0, "the guest deschedules it: no invariant violated");
	rc = freeze(pid, &hold, &err);
	ok(rc == LX_OK && hold == LX_HOLD_DEQUEUED, "next call settles it as held (%s)", rc ? err.msg : "ok");
	uint64_t c1 = cpu_of(pid);
	is_int(violations_after(1000000000ULL), 0, "1 s: no invariant violated");
	is_int(cpu_of(pid) - c1, 0, "it gets no CPU once off (%.3f ms before leaving)", (c1 - c0) / 1e6);
	rc = thaw(pid, &err);
	ok(rc == LX_OK, "thaw (%s)", rc ? err.msg : "ok");
	is_int(violations_after(1000000000ULL), 0, "no invariant violated after thaw");
	ok(cpu_of(pid) > c1, "it runs again");
}

static void group_task(void)
{
	struct xds_err err;
	enum lx_hold hold;
	/* solo is the only task of grp on CPU 1: freezing it dequeues the group entity */
	int pid = 200, rc = LX_RETRY;
	for (int i = 0; i < 50 && rc == LX_RETRY; i++) {
		rc = freeze(pid, &hold, &err);
		sim_step(g.s, 2000000);
	}
	if (rc == LX_OK && hold == LX_HOLD_DESCHED) {
		sim_step(g.s, 2000000);
		rc = freeze(pid, &hold, &err);
	}
	ok(rc == LX_OK && hold == LX_HOLD_DEQUEUED, "the only task of a group on its CPU is held (%s)",
	   rc ? err.msg : "ok");
	uint64_t c = cpu_of(pid);
	is_int(violations_after(500000000ULL), 0, "the emptied group entity left its parent cleanly");
	is_int(cpu_of(pid) - c, 0, "it gets no CPU");
	ok(thaw(pid, &err) == LX_OK, "thawed, the group is queued again");
	is_int(violations_after(500000000ULL), 0, "no invariant violated");
	ok(cpu_of(pid) > c, "it runs again");
}

static void sleeping_and_killed(void)
{
	struct xds_err err;
	enum lx_hold hold;
	struct lx_snapshot s;
	snap(&s);
	struct lx_task *t = find(&s, 300);
	bool asleep = t && !t->queued;
	lx_snapshot_free(&s);
	int rc = asleep ? freeze(300, &hold, &err) : LX_FAIL;
	ok(asleep && rc == LX_RETRY && strstr(err.msg, "not queued"), "a sleeping task is left alone: retry (%s)",
	   asleep ? err.msg : "it was not asleep");
	/* a held task ignores SIGKILL until thawed */
	int pid = pick(false, 101, 106);
	rc = freeze(pid, &hold, &err);
	ok(rc == LX_OK, "held %d", pid);
	struct stask *st = simguest_task(&g, pid);
	struct sevent ev = { .at = g.s->now, .kind = EV_KILL, .d = g.d, .pid = pid };
	g.s->events = realloc(g.s->events, (size_t)(g.s->nr_events + 1) * sizeof ev);
	g.s->events[g.s->nr_events] = ev;
	sim_timer_add(g.s, g.s->now, TM_EVENT, g.d, g.s->nr_events++);
	sim_step(g.s, 500000000ULL);
	ok(st->life == LF_ALIVE && st->kill_pending, "SIGKILL while held: still alive, not run");
	ok(thaw(pid, &err) == LX_OK, "thaw");
	sim_step(g.s, 200000000ULL);
	ok(st->life == LF_DEAD, "thawed, it runs and the SIGKILL takes effect");
	is_int(sim_check_domain(g.d), 0, "no invariant violated");
}

static void lock_and_corruption(void)
{
	struct xds_err err;
	enum lx_hold hold;
	int pid = pick(false, 401, 420);
	if (pid < 0)
		pid = pick(false, 101, 106);
	struct rq *rq = simk_rq(g.d, 1);
	int *lock = (int *)simguest_host(&g, (uint64_t)(uintptr_t)&rq->__lock, 4);
	*lock = 1;
	int rc = freeze(pid, &hold, &err);
	ok(rc == LX_RETRY && strstr(err.msg, "lock of CPU 1"), "a held run-queue lock: retry (%s)", err.msg);
	*lock = 0;
	/* break the tree under a queued task: refused, nothing written */
	struct lx_snapshot s;
	snap(&s);
	struct lx_task *t = NULL;
	for (int i = 0; i < s.nr_tasks && !t; i++)
		if (s.tasks[i].queued && !s.tasks[i].running && s.tasks[i].pid >= 101 && s.tasks[i].pid <= 106)
			t = &s.tasks[i];
	if (!t) {
		ok(0, "a queued task to corrupt around");
		lx_snapshot_free(&s);
		return;
	}
	struct rq *rq0 = simk_rq(g.d, t->cpu);
	uint64_t *root = (uint64_t *)simguest_host(&g, (uint64_t)(uintptr_t)&rq0->cfs.tasks_timeline.rb_leftmost, 8);
	uint64_t saved = *root;
	*root = saved + 8;                      /* a wrong leftmost cache */
	uint8_t *copy = malloc(g.d->ram_size);
	memcpy(copy, g.d->ram, g.d->ram_size);
	rc = lx_freeze(g.lx, t->addr, t->pid, &hold, &err);
	ok(rc == LX_FAIL && strstr(err.msg, "leftmost"), "a corrupt tree is refused: %s", err.msg);
	ok(memcmp(copy, g.d->ram, g.d->ram_size) == 0, "and not a byte of the guest changed");
	*root = saved;
	/* a load one unit off passes the checks before writing, fails the read-back */
	unsigned long *load = (unsigned long *)simguest_host(&g, (uint64_t)(uintptr_t)&rq0->cfs.load.weight, 8);
	*load += 1;
	memcpy(copy, g.d->ram, g.d->ram_size);
	lx_begin(g.lx);
	rc = lx_freeze(g.lx, t->addr, t->pid, &hold, &err);
	int crc = lx_commit(g.lx, &err);
	ok(rc == LX_OK && crc == LX_FAIL && strstr(err.msg, "load"),
	   "a batch whose read-back check fails is refused at commit: %s", err.msg);
	ok(memcmp(copy, g.d->ram, g.d->ram_size) == 0, "and every byte it wrote is put back");
	*load -= 1;
	is_int(sim_check_domain(g.d), 0, "the guest is sound again");
	free(copy);
	lx_snapshot_free(&s);
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

#define MAXPID 4096

/* Random freezes and thaws while tasks wake and sleep; busy: pids of CPU hogs. */
static void stress(const char *what, int ops, int busy_lo, int busy_hi, bool batched)
{
	struct xds_err err;
	static uint64_t held_cpu[MAXPID];
	static bool held[MAXPID];
	uint64_t x = 0x5eed;
	memset(held, 0, sizeof held);
	int done = 0, retries = 0, fails = 0, ran_while_held = 0;
	for (int i = 0; i < ops;) {
		/* one tick: a snapshot, a batch of requests, then time moves on */
		struct lx_snapshot s;
		snap(&s);
		simguest_sync_regs(&g);
		if (batched)
			lx_begin(g.lx);
		bool frozen_now[MAXPID] = { false }, thawed_now[MAXPID] = { false };
		for (int k = 0; k < 10 && i < ops; k++, i++) {
			struct lx_task *t = &s.tasks[rnd(&x) % (uint64_t)s.nr_tasks];
			if (t->pid < 100 || t->pid >= MAXPID)
				continue;
			enum lx_hold hold;
			int rc;
			if (rnd(&x) % 2) {
				rc = lx_freeze(g.lx, t->addr, t->pid, &hold, &err);
				if (rc == LX_OK)
					frozen_now[t->pid] = true, thawed_now[t->pid] = false;
			} else {
				rc = lx_thaw(g.lx, t->addr, t->pid, t->start_ns, &err);
				if (rc == LX_OK)
					thawed_now[t->pid] = true, frozen_now[t->pid] = false;
			}
			done += rc == LX_OK;
			retries += rc == LX_RETRY;
			if (rc == LX_FAIL && fails++ < 3)
				diag("refused: %s", err.msg);
		}
		lx_snapshot_free(&s);
		if (batched && lx_commit(g.lx, &err) != LX_OK) {
			if (fails++ < 3)
				diag("batch undone: %s", err.msg);
			memset(frozen_now, 0, sizeof frozen_now);
			memset(thawed_now, 0, sizeof thawed_now);
		}
		for (int p = 100; p < MAXPID; p++) {
			if (frozen_now[p] && !held[p]) {
				held[p] = true;
				held_cpu[p] = cpu_of(p);
			}
			if (thawed_now[p])
				held[p] = false;
		}
		sim_step(g.s, 1000000 + rnd(&x) % 3000000);
		for (int p = 100; p < MAXPID; p++)
			if (held[p] && simguest_task(&g, p) && cpu_of(p) > held_cpu[p] + 8000000) {
				ran_while_held++;      /* a DESCHED may finish its tick, no more */
				held_cpu[p] = cpu_of(p);
			}
	}
	diag("%s: %d ops: %d done, %d retried, %d refused", what, ops, done, retries, fails);
	is_int(g.s->violations, 0, "%s: random freeze/thaw: no invariant violated", what);
	is_int(fails, 0, "%s: no operation refused on a sound guest", what);
	is_int(ran_while_held, 0, "%s: no held task ran", what);
	/* thaw everything; every task runs again */
	for (int p = 100; p < MAXPID; p++)
		if (held[p]) {
			int rc = LX_RETRY;
			for (int k = 0; k < 100 && rc == LX_RETRY; k++) {
				rc = thaw(p, &err);
				if (rc == LX_RETRY)
					sim_step(g.s, 1000000);
			}
		}
	static uint64_t before[MAXPID];
	for (int p = busy_lo; p <= busy_hi; p++)
		before[p] = simguest_task(&g, p) ? cpu_of(p) : 0;
	sim_step(g.s, 5000000000ULL);
	int stuck = 0;
	struct lx_snapshot s;
	snap(&s);
	for (int p = busy_lo; p <= busy_hi; p++)
		if (simguest_task(&g, p)->life == LF_ALIVE && cpu_of(p) == before[p]) {
			struct lx_task *t = find(&s, p);
			diag("task %d did not run: state %c (%#x) queued %d running %d held %d", p,
			     t ? t->state : '?', t ? t->raw_state : 0, t ? t->queued : -1, t ? t->running : -1, held[p]);
			stuck++;
		}
	lx_snapshot_free(&s);
	is_int(stuck, 0, "%s: every busy task still alive runs again after the final thaw", what);
	is_int(g.s->violations, 0, "%s: no invariant violated at the end", what);
}

/* lx_kick now: how many kicks it sent, -1 if it failed. */
static int kicks_sent(void)
{
	struct xds_err err;
	int sent = 0;
	return lx_kick(g.lx, &sent, &err) == 0 ? sent : -1;
}

/* A thaw onto an idle CPU asks for a kick of that vCPU (a real idle vCPU
 * waits for an interrupt); onto a busy CPU it does not; a batch that is
 * undone asks for nothing. */
static void idle_cpu_kick(void)
{
	static const char two[] =
		"host { pcpus = 2 }\n"
		"domain { name = 'K', vcpus = 2, ram = '64M' }\n"
		"task { dom = 'K', comm = 'lone', pid = 100, cpu = 1, run = cpu() }\n"
		"task { dom = 'K', comm = 'a', pid = 101, cpu = 0, run = cpu() }\n"
		"task { dom = 'K', comm = 'b', pid = 102, cpu = 0, run = cpu() }\n";
	struct xds_err err;
	enum lx_hold hold = -1;
	int sent;
	if (simguest_open(&g, two, 100000000ULL, &err)) {
		ok(0, "the two-CPU guest starts: %s", err.msg);
		return;
	}
	int rc = freeze(100, &hold, &err);
	ok(rc == LX_OK && hold == LX_HOLD_DESCHED, "lone, running on CPU 1, is told to leave (%s)",
	   rc ? err.msg : "ok");
	sim_step(g.s, 5000000);
	rc = freeze(100, &hold, &err);
	ok(rc == LX_OK && hold == LX_HOLD_DEQUEUED, "and held once off (%s)", rc ? err.msg : "ok");
	sim_step(g.s, 5000000);
	sent = kicks_sent();
	ok(sent == 0, "freezing asks for no kick (%d sent)", sent);
	lx_begin(g.lx);
	rc = thaw(100, &err);
	ok(rc == LX_OK && lx_commit(g.lx, &err) == LX_OK, "thaw of lone onto idle CPU 1, as a batch (%s)",
	   rc ? err.msg : "ok");
	sent = kicks_sent();
	ok(sent == 1, "one kick is sent after the commit (%d)", sent);
	ok(backend_image_kicks(g.be, 1) == 1 && backend_image_kicks(g.be, 0) == 0,
	   "to vCPU 1 only (vCPU 0: %llu, vCPU 1: %llu)", (unsigned long long)backend_image_kicks(g.be, 0),
	   (unsigned long long)backend_image_kicks(g.be, 1));
	sent = kicks_sent();
	ok(sent == 0, "a kick is sent once (%d the second time)", sent);
	uint64_t c0 = cpu_of(100);
	is_int(violations_after(100000000ULL), 0, "100 ms: no invariant violated");
	ok(cpu_of(100) > c0, "lone runs again on CPU 1 (%.1f ms)", (cpu_of(100) - c0) / 1e6);
	int q = pick(false, 101, 102);
	rc = q > 0 ? freeze(q, &hold, &err) : LX_FAIL;
	ok(rc == LX_OK && hold == LX_HOLD_DEQUEUED, "a queued task on busy CPU 0 is held (%d)", q);
	rc = q > 0 ? thaw(q, &err) : LX_FAIL;
	sent = kicks_sent();
	ok(rc == LX_OK && sent == 0 && backend_image_kicks(g.be, 0) == 0,
	   "its thaw onto busy CPU 0 asks for no kick (%d)", sent);
	/* an undone batch: the thaw's writes and its kick go together */
	rc = freeze(100, &hold, &err);
	sim_step(g.s, 5000000);
	rc = freeze(100, &hold, &err);
	sim_step(g.s, 5000000);
	if (ok(rc == LX_OK && hold == LX_HOLD_DEQUEUED, "lone held again (%s)", rc ? err.msg : "ok")) {
		/* a load one unit off passes the checks before writing, fails the read-back */
		unsigned long *load = (unsigned long *)simguest_host(&g,
			(uint64_t)(uintptr_t)&simk_rq(g.d, 1)->cfs.load.weight, 8);
		*load += 1;
		lx_begin(g.lx);
		rc = thaw(100, &err);
		int crc = lx_commit(g.lx, &err);
		*load -= 1;
		ok(rc == LX_OK && crc == LX_FAIL, "a batch whose check fails is undone (%s)", crc ? err.msg : "ok");
		sent = kicks_sent();
		ok(sent == 0, "and asks for no kick (%d)", sent);
	}
	simguest_close(&g);
}

/*
 * A backend over the image backend that loses one write: the frame it
 * maps for the lose-th write of an operation is a scratch copy, as if the
 * hypervisor had dropped the write.  Nothing but the read-back at commit
 * can tell; the undo that follows writes through as usual.
 */
struct lossy {
	struct backend be;
	struct backend *inner;
	int writes, lose;               /* write maps so far; the one to lose (1-based) */
	bool armed;                     /* only the operation's writes are lost */
	uint8_t scratch[4096];
};

static struct backend *inner(struct backend *be)
{
	return ((struct lossy *)be)->inner;
}

static int lossy_list(struct backend *be, struct be_dom *out, int max, struct xds_err *err)
{
	return be_list(inner(be), out, max, err);
}

static int lossy_pause(struct backend *be, int dom, struct xds_err *err)
{
	return be_pause(inner(be), dom, err);
}

static int lossy_resume(struct backend *be, int dom, struct xds_err *err)
{
	return be_resume(inner(be), dom, err);
}

static int lossy_status(struct backend *be, int dom, int *paused, struct xds_err *err)
{
	return be_status(inner(be), dom, paused, err);
}

static void *lossy_map(struct backend *be, int dom, uint64_t gfn, size_t n, int writable, struct xds_err *err)
{
	struct lossy *l = (struct lossy *)be;
	void *p = be_map(l->inner, dom, gfn, n, writable, err);
	if (!p || !writable || !l->armed || ++l->writes != l->lose || n != 1)
		return p;
	memcpy(l->scratch, p, sizeof l->scratch);
	return l->scratch;
}

static int lossy_regs(struct backend *be, int dom, int vcpu, struct be_regs *out, struct xds_err *err)
{
	return be_regs(inner(be), dom, vcpu, out, err);
}

static int lossy_nr_vcpus(struct backend *be, int dom, struct xds_err *err)
{
	return be_nr_vcpus(inner(be), dom, err);
}

static void lossy_close(struct backend *be)
{
	(void)be;                       /* the inner backend is the simguest's */
}

static const struct backend_ops lossy_ops = {
	.name = "lossy", .list = lossy_list, .pause = lossy_pause, .resume = lossy_resume,
	.status = lossy_status, .map = lossy_map, .regs = lossy_regs, .nr_vcpus = lossy_nr_vcpus,
	.close = lossy_close,
};

struct lost_run {
	struct lossy l;
	struct lx_guest *lx;
	uint8_t *before, *after;        /* the guest's RAM before and after the batch */
};

/* A freeze or thaw of one task, as one entry of a batch. */
struct lost_op {
	bool thaw;
	int pid;
	struct lx_task t;
};

/* One batch of ops on the lossy guest, losing its write lose (0: none). */
static int lossy_batch(struct lost_run *r, struct lost_op *ops, int nops, int lose, struct xds_err *err)
{
	enum lx_hold hold;
	int rc = LX_OK;
	r->l.writes = 0;
	r->l.lose = lose;
	r->l.armed = true;
	lx_forget(r->lx);
	simguest_sync_regs(&g);
	lx_begin(r->lx);
	for (int i = 0; i < nops && rc == LX_OK; i++)
		rc = ops[i].thaw ? lx_thaw(r->lx, ops[i].t.addr, ops[i].pid, 0, err)
			: lx_freeze(r->lx, ops[i].t.addr, ops[i].pid, &hold, err);
	r->l.armed = false;
	int crc = lx_commit(r->lx, rc == LX_OK ? err : NULL);
	return rc == LX_OK && crc == LX_FAIL ? LX_FAIL : rc;
}

/* Lose each write of the batch in turn: the guest is then byte for byte
 * as before (undone) or as after the lossless batch (the write lost wrote
 * what was there already). */
static void lose_each_write(struct lost_run *r, const char *what, struct lost_op *ops, int nops)
{
	struct xds_err err;
	struct lx_snapshot s;
	bool found = true;
	snap(&s);
	for (int i = 0; i < nops; i++) {
		struct lx_task *t = find(&s, ops[i].pid);
		found = found && t;
		ops[i].t = t ? *t : (struct lx_task){ 0 };
	}
	lx_snapshot_free(&s);
	memcpy(r->before, g.d->ram, g.d->ram_size);
	int rc = found ? lossy_batch(r, ops, nops, 0, &err) : LX_FAIL;
	int writes = r->l.writes;
	memcpy(r->after, g.d->ram, g.d->ram_size);
	if (!ok(rc == LX_OK && writes > 0 && memcmp(r->before, r->after, g.d->ram_size),
		"%s: the lossless batch writes %d words (%s)", what, writes, rc ? err.msg : "ok"))
		return;
	int undone = 0, same = 0, other = 0;
	for (int n = 1; n <= writes; n++) {
		memcpy(g.d->ram, r->before, g.d->ram_size);
		rc = lossy_batch(r, ops, nops, n, &err);
		if (rc == LX_FAIL && !memcmp(g.d->ram, r->before, g.d->ram_size) && strstr(err.msg, "read-back"))
			undone++;
		else if (rc == LX_OK && !memcmp(g.d->ram, r->after, g.d->ram_size))
			same++;
		else if (other++ < 3)
			diag("%s, write %d lost: %s", what, n, rc == LX_FAIL ? err.msg : "committed, guest differs");
	}
	memcpy(g.d->ram, r->before, g.d->ram_size);
	ok(undone > 0 && other == 0, "%s: each of %d writes lost in turn: %d undone to the byte, %d lost no change, "
	   "%d otherwise", what, writes, undone, same, other);
}

static void lost_writes(void)
{
	static const char sc[] =
		"host { pcpus = 2 }\n"
		"domain { name = 'L', vcpus = 2, ram = '32M' }\n"
		"group { dom = 'L', name = 'grp', shares = 1024 }\n"
		"for i = 1, 4 do task { dom = 'L', comm = 'busy' .. i, pid = 100 + i, cpu = (i - 1) % 2, run = cpu() } end\n"
		"task { dom = 'L', comm = 'solo', pid = 200, cpu = 1, group = 'grp', run = cpu() }\n";
	struct xds_err err;
	struct lost_run r = { .l = { .be = { &lossy_ops } } };
	enum lx_hold hold;
	if (simguest_open(&g, sc, 100000000ULL, &err)) {
		ok(0, "the lost-write guest starts: %s", err.msg);
		return;
	}
	r.l.inner = g.be;
	r.lx = lx_attach(&r.l.be, 0, &g.prof, &err);
	r.before = malloc(g.d->ram_size);
	r.after = malloc(g.d->ram_size);
	if (!ok(r.lx && r.before && r.after, "a second runtime attaches through a lossy backend (%s)",
		r.lx ? "ok" : err.msg))
		goto out;
	/* solo is the only task of grp on CPU 1: its dequeue empties the group */
	int q = pick(false, 200, 200);
	q = q > 0 ? q : pick(false, 101, 104);
	lose_each_write(&r, "queued dequeue", &(struct lost_op){ false, q, { 0 } }, 1);
	ok(freeze(q, &hold, &err) == LX_OK, "%d held for the enqueue", q);
	lose_each_write(&r, "queued enqueue", &(struct lost_op){ true, q, { 0 } }, 1);
	sim_step(g.s, 2000000);
	int run = pick(true, 101, 104), other = -1;
	for (int p = 101; p <= 104 && other < 0; p++)
		if (p != run && pick(false, p, p) == p)
			other = p;
	lose_each_write(&r, "running task: TASK_FROZEN and NEED_RESCHED", &(struct lost_op){ false, run, { 0 } }, 1);
	struct lost_op mixed[] = { { false, run, { 0 } }, { false, other, { 0 } }, { true, q, { 0 } } };
	lose_each_write(&r, "one batch of a desched, a dequeue and an enqueue", mixed, 3);
	ok(freeze(run, &hold, &err) == LX_OK && hold == LX_HOLD_DESCHED, "%d told to leave its CPU", run);
	lose_each_write(&r, "cancel of a task told to leave", &(struct lost_op){ true, run, { 0 } }, 1);
	sim_step(g.s, 5000000);
	lose_each_write(&r, "settle of a task that left", &(struct lost_op){ false, run, { 0 } }, 1);
	lose_each_write(&r, "settle and enqueue", &(struct lost_op){ true, run, { 0 } }, 1);
	ok(thaw(run, &err) == LX_OK && thaw(q, &err) == LX_OK, "both thawed");
	is_int(violations_after(200000000ULL), 0, "200 ms after: no invariant violated");
out:
	free(r.before);
	free(r.after);
	lx_detach(r.lx);
	simguest_close(&g);
}

/* An EEVDF kernel attaches to be read, and every change is refused before
 * anything is read or written; a kernel whose fields no family matches is
 * refused at attach, with the family its profile declares and what is
 * missing. */
static void unknown_family(void)
{
	struct xds_err err = { "" };
	struct profile p = g.prof;
	p.fields[F_SE_DEADLINE].present = true;
	p.family = PROFILE_FAMILY_EEVDF;
	struct lx_guest *lx = lx_attach(g.be, 0, &p, &err);
	const char *family = "";
	ok(lx && !lx_can_write(lx, &family) && !strcmp(family, "eevdf"),
	   "an EEVDF profile attaches, read only: %s", lx ? family : err.msg);
	enum lx_hold hold = LX_HOLD_DEQUEUED;
	ok(lx && lx_freeze(lx, g.prof.syms[S_INIT_TASK].addr, 0, &hold, &err) == LX_FAIL &&
	   strstr(err.msg, "(eevdf) is read only") && lx_thaw(lx, g.prof.syms[S_INIT_TASK].addr, 0, 0, &err) == LX_FAIL,
	   "freeze and thaw on it are refused: %s", err.msg);
	lx_detach(lx);
	p = g.prof;
	p.fields[F_CFS_RQ_MIN_VRUNTIME].present = false;
	p.family = PROFILE_FAMILY_UNKNOWN;
	lx = lx_attach(g.be, 0, &p, &err);
	ok(!lx && strstr(err.msg, "'unknown'") && strstr(err.msg, "min_vruntime"),
	   "a profile without cfs_rq.min_vruntime is refused: %s", lx ? "attached" : err.msg);
	lx_detach(lx);
}


/*
 * The checks before a write cover what the surgery relies on, not only the
 * words it touches: a tree corrupted far from the frozen task's node (the
 * rightmost entity of the tree, when the leftmost is frozen) is refused,
 * whether its key is out of order or its colour breaks the black heights,
 * and not a byte of the guest changes.
 */
static void distant_corruption(void)
{
	struct xds_err err;
	enum lx_hold hold;
	struct lx_snapshot s;
	snap(&s);
	const struct lx_rq *rq = NULL;
	for (int c = 0; c < s.nr_cpus && !rq; c++)
		if (s.rqs[c].nr_tree >= 4)
			rq = &s.rqs[c];
	if (!rq) {
		ok(0, "a tree of four entities or more to corrupt");
		ok(0, "(skipped)");
		lx_snapshot_free(&s);
		return;
	}
	const struct lx_task *t = &s.tasks[rq->tree[0]], *far = &s.tasks[rq->tree[rq->nr_tree - 1]];
	size_t se = offsetof(struct task_struct, se);
	uint64_t *key = (uint64_t *)simguest_host(&g, far->addr + se + offsetof(struct sched_entity, vruntime), 8);
	unsigned long *pc = (unsigned long *)simguest_host(
		&g, far->addr + se + offsetof(struct sched_entity, run_node.__rb_parent_color), 8);
	uint8_t *copy = malloc(g.d->ram_size);
	struct { const char *what, *expect; } cases[] = {
		{ "the rightmost entity's key below the leftmost's", "out of order" },
		{ "the rightmost entity's colour flipped", "" },
	};
	for (int i = 0; i < 2; i++) {
		uint64_t k0 = *key;
		unsigned long pc0 = *pc;
		if (i == 0)
			*key = t->vruntime - 1000000;
		else
			*pc ^= 1;
		memcpy(copy, g.d->ram, g.d->ram_size);
		int rc = lx_freeze(g.lx, t->addr, t->pid, &hold, &err);
		ok(rc == LX_FAIL && strstr(err.msg, cases[i].expect) && strstr(err.msg, "cfs_rq"),
		   "freezing the leftmost task with %s is refused: %s", cases[i].what, rc ? err.msg : "frozen");
		ok(memcmp(copy, g.d->ram, g.d->ram_size) == 0, "and not a byte of the guest changed");
		if (rc == LX_OK)
			thaw(t->pid, &err);
		*key = k0;
		*pc = pc0;
	}
	free(copy);
	lx_snapshot_free(&s);
	is_int(violations_after(100000000ULL), 0, "repaired, the guest runs on without a violation");
}

int main(void)
{
	struct xds_err err;
	if (simguest_open(&g, scenario, 300000000ULL, &err)) {
		ok(0, "the simulated guest starts: %s", err.msg);
		return done_testing();
	}
	unknown_family();
	queued_task();
	running_task();
	group_task();
	sleeping_and_killed();
	lock_and_corruption();
	distant_corruption();
	const char *n = getenv("XDS_STRESS_OPS");
	int ops = n ? atoi(n) : 100000;
	stress("small host, one operation at a time", ops / 5, 101, 106, false);
	simguest_close(&g);
	idle_cpu_kick();
	lost_writes();
	/* the acceptance's stress: a domain of sim/scenarios/large.lua's shape
	 * (2 vCPUs, 500 tasks waking and sleeping, a task group), given the host */
	static const char large[] =
		"host { pcpus = 2 }\n"
		"domain { name = 'VM1', vcpus = 2, ram = '128M' }\n"
		"group { dom = 'VM1', name = 'batch', shares = 512 }\n"
		"for i = 1, 4 do task { dom = 'VM1', comm = 'crunch' .. i, pid = 1000 + i, run = cpu() } end\n"
		"task { dom = 'VM1', comm = 'svc', pid = 1100, threads = 16, run = bursty { run = '2ms', sleep = '20ms' } }\n"
		"for i = 1, 20 do task { dom = 'VM1', comm = 'batch' .. i, pid = 1200 + i, group = 'batch',\n"
		"  run = periodic { run = '5ms', sleep = '45ms', jitter = '2ms' } } end\n"
		"for i = 1, 460 do task { dom = 'VM1', comm = 'worker' .. i, pid = 2000 + i,\n"
		"  run = periodic { run = '1ms', sleep = (100 + i % 400) .. 'ms', jitter = '500us' } } end\n";
	if (simguest_open(&g, large, 300000000ULL, &err)) {
		ok(0, "the large domain starts: %s", err.msg);
		return done_testing();
	}
	stress("large domain (2 vCPUs x 500 tasks), batched per tick", ops, 1001, 1004, true);
	simguest_close(&g);
	return done_testing();
}
