/*
 * freeze.c - freeze and thaw: the public API, the batch, and core's part.
 *
 * The rules are DESIGN.md's "Safety" section.  Every function here runs
 * with the domain paused, and first checks that every run-queue lock of
 * the guest and the task's pi_lock are free; otherwise it answers
 * LX_RETRY.  What the kernel's core does around a scheduling class is
 * done here: a queued task that is not running is deactivated (the
 * family's dequeue, then PSI and p->on_rq), its state staying
 * TASK_RUNNING so that no wake-up or signal touches it; thaw activates it
 * again and asks its CPU to reschedule.  A running task is never
 * unlinked: in user mode it gets TASK_FROZEN and TIF_NEED_RESCHED and the
 * guest's own schedule() takes it off; the next freeze settles it into the
 * same state as a dequeued one.
 *
 * Every write of every path goes through the batch's txn; an operation
 * outside lx_begin/lx_commit is a batch of its own.  At commit every word
 * is read back and the family checks each cfs_rq it touched; a failed
 * check puts every old value back, so an undone batch leaves the guest
 * exactly as it was, before the caller resumes the domain.
 */
#include <stdlib.h>
#include <string.h>

#include "linux/family.h"

#define TASK_RUNNING      0x0000
#define TASK_FROZEN       0x8000        /* sleeping; no signal or wake-up ends it */
#define TASK_ON_RQ_QUEUED 1

/* ---- the batch ---- */

void lx_begin(struct lx_guest *g)
{
	if (g->batch)
		return;
	struct lx_batch *b = calloc(1, sizeof *b);
	if (!b)
		return;                 /* the operation reports it */
	b->g = g;
	lx_txn_init(&b->tx, g);
	lx_shadows_init(&b->trees, g, g->family->key);
	g->batch = b;
	lx_piece_start(g);      /* the guest is paused: its tables stay as they are until lx_commit */
}

int lx_batch_touch(struct lx_batch *b, uint64_t cfs_rq, struct xds_err *err)
{
	for (int i = 0; i < b->nlev; i++)
		if (b->levels[i] == cfs_rq)
			return 0;
	if (lx_grow(&b->levels, &b->caplev, b->nlev, sizeof *b->levels, err))
		return -1;
	b->levels[b->nlev++] = cfs_rq;
	return 0;
}

/* Where a batch stood before an operation, to go back there if it fails. */
struct mark {
	int writes, levels;
	uint64_t kick[LX_CPU_WORDS];
};

static void mark_take(const struct lx_batch *b, struct mark *m)
{
	m->writes = b->tx.n;
	m->levels = b->nlev;
	memcpy(m->kick, b->kick, sizeof m->kick);
}

static void roll_back(struct lx_batch *b, const struct mark *m)
{
	lx_txn_undo(&b->tx, m->writes);
	b->nlev = m->levels;
	memcpy(b->kick, m->kick, sizeof b->kick);
	lx_shadows_drop(&b->trees);     /* they may hold the undone state */
}

static int verify(struct lx_batch *b, struct xds_err *err)
{
	if (lx_txn_readback(&b->tx, err))
		return -1;
	for (int i = 0; i < b->nlev; i++)
		if (b->g->family->verify(b, b->levels[i], err))
			return -1;
	return 0;
}

int lx_commit(struct lx_guest *g, struct xds_err *err)
{
	struct lx_batch *b = g->batch;
	if (!b)
		return LX_OK;
	int rc = verify(b, err);
	lx_piece_stop(g);
	g->batch = NULL;
	lx_shadows_free(&b->trees);
	if (rc) {
		lx_txn_undo(&b->tx, 0);
		xds_err_wrap(err, "the tick's changes were undone");
	} else {
		for (int i = 0; i < LX_CPU_WORDS; i++)
			g->kick[i] |= b->kick[i];
	}
	lx_txn_free(&b->tx);
	free(b->levels);
	free(b);
	return rc ? LX_FAIL : LX_OK;
}

typedef int op_fn(struct lx_batch *b, const struct lx_target *t, struct xds_err *err);

/* Run op in the current batch, or in one of its own; a failed op leaves
 * the batch as it was before it. */
static int apply(struct lx_guest *g, const struct lx_target *t, op_fn *op, struct xds_err *err)
{
	bool own = !g->batch;
	if (own)
		lx_begin(g);
	struct lx_batch *b = g->batch;
	if (!b) {
		xds_fail(err, "out of memory");
		return LX_FAIL;
	}
	struct mark m;
	mark_take(b, &m);
	int rc = op(b, t, err);
	if (rc) {
		roll_back(b, &m);
		xds_err_wrap(err, "undone");
	}
	if (own && lx_commit(g, rc ? NULL : err))
		rc = -1;
	return rc ? LX_FAIL : LX_OK;
}

/* ---- core's steps ---- */

static int set_state(struct lx_batch *b, const struct lx_target *t, uint64_t state, struct xds_err *err)
{
	return lx_txn_set(&b->tx, t->p.addr, F_TASK_STATE, state, err);
}

/* deactivate_task: the class's dequeue, PSI, then p->on_rq. */
static int deactivate(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	return b->g->family->dequeue(b, t, err) || lx_psi_dequeue(b, t, err) ||
	       lx_txn_set(&b->tx, t->p.addr, F_TASK_ON_RQ, 0, err) ? -1 : 0;
}

/* activate_task, then the CPU looks again: its current task (or idle) reschedules. */
static int activate(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	return b->g->family->enqueue(b, t, err) || lx_psi_enqueue(b, t, err) ||
	       lx_txn_set(&b->tx, t->p.addr, F_TASK_ON_RQ, TASK_ON_RQ_QUEUED, err) || lx_resched_curr(b, t, err)
		? -1 : 0;
}

/* In user mode, the flag alone sends it to schedule() on its way back to
 * user space; the fold keeps a system call it makes first from spinning
 * on need_resched(). */
static int desched(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	return set_state(b, t, TASK_FROZEN, err) || lx_set_need_resched(&b->tx, (int)t->p.cpu, t->p.addr, err)
		? -1 : 0;
}

/* A task we told to leave the CPU has left: make it look dequeued by us. */
static int settle(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	return b->g->family->settle(b, t, err) || set_state(b, t, TASK_RUNNING, err) ? -1 : 0;
}

static int settle_and_activate(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	if (settle(b, t, err))
		return -1;
	return t->p.exit_state ? 0 : activate(b, t, err);  /* exiting: not held, nothing to undo */
}

/* Told to leave, never left: just take the word back. */
static int cancel(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	return set_state(b, t, TASK_RUNNING, err);
}

/* ---- checks ---- */

static int target_read(struct lx_guest *g, uint64_t task, int pid, uint64_t start, struct lx_target *t,
		       struct xds_err *err)
{
	memset(t, 0, sizeof *t);
	if (lx_task_read(g, task, &t->p, err))
		return -1;
	if (t->p.pid != pid)
		return xds_fail(err, "task_struct %#llx now holds pid %d, not %d", (unsigned long long)task, t->p.pid,
				pid), LX_GONE;
	if (start && t->p.start_time && t->p.start_time != start)
		return xds_fail(err, "task_struct %#llx holds a pid %d forked %.6f s into the guest's boot, "
				"not %.6f s", (unsigned long long)task, pid, t->p.start_time / 1e9, start / 1e9),
		       LX_GONE;
	if (t->p.cpu >= (unsigned)g->nr_cpus)
		return xds_fail(err, "task %d: CPU %u out of range", pid, t->p.cpu);
	t->rq = g->rq[t->p.cpu];
	t->cfs_rq = t->rq + lx_off(g, F_RQ_CFS);
	uint64_t curr;
	if (lx_read_field(g, t->rq, F_RQ_CURR, &curr, err))
		return -1;
	t->running = curr == task;
	return 0;
}

static int locks_free(struct lx_guest *g, uint64_t task, struct xds_err *err)
{
	unsigned lw = lx_sizeof(g, T_RAW_SPINLOCK);
	uint64_t v;
	lw = lw > 4 || !lw ? 4 : lw;    /* the lock word; debug builds add fields after it */
	for (int cpu = 0; cpu < g->nr_cpus; cpu++) {
		if (lx_read(g, g->rq[cpu] + lx_off(g, F_RQ_LOCK), lw, &v, err))
			return -1;
		if (v) {
			xds_fail(err, "the run-queue lock of CPU %d is held", cpu);
			return LX_RETRY;
		}
	}
	if (lx_read(g, task + lx_off(g, F_TASK_PI_LOCK), lw, &v, err))
		return -1;
	if (v) {
		xds_fail(err, "the task's pi_lock is held");
		return LX_RETRY;
	}
	return LX_OK;
}

/* ---- the API ---- */

static int freeze_running(struct lx_guest *g, const struct lx_target *t, enum lx_hold *hold, struct xds_err *err)
{
	int pid = t->p.pid;
	struct be_regs regs;
	if (t->p.state == TASK_FROZEN) {        /* told already; not gone yet */
		*hold = LX_HOLD_DESCHED;
		xds_fail(err, "task %d has not left its CPU yet", pid);
		return LX_RETRY;
	}
	if (t->p.state != TASK_RUNNING) {
		xds_fail(err, "task %d is running in state %#llx (going to sleep)", pid, (unsigned long long)t->p.state);
		return LX_RETRY;
	}
	if (be_regs(g->be, g->dom, (int)t->p.cpu, &regs, err))
		return LX_FAIL;
	if (regs.cpl != 3) {
		xds_fail(err, "task %d is running in kernel mode on CPU %u", pid, t->p.cpu);
		return LX_RETRY;
	}
	*hold = LX_HOLD_DESCHED;
	return apply(g, t, desched, err);
}

static int held(int rc, enum lx_hold *hold)
{
	if (rc == LX_OK)
		*hold = LX_HOLD_DEQUEUED;
	return rc;
}

bool lx_can_write(const struct lx_guest *g, const char **family)
{
	if (family)
		*family = g->family->name;
	return g->family->writes;
}

/* A family that reads only is asked nothing that writes. */
static int writable(const struct lx_guest *g, struct xds_err *err)
{
	const char *family;
	if (lx_can_write(g, &family))
		return 0;
	return xds_fail(err, "this kernel's scheduler family (%s) is read only in xds-lua so far: ps works, "
			"freezing does not", family);
}

int lx_freeze(struct lx_guest *g, uint64_t task, int pid, enum lx_hold *hold, struct xds_err *err)
{
	struct lx_target t;
	if (writable(g, err))
		return LX_FAIL;
	if (target_read(g, task, pid, 0, &t, err))
		return LX_FAIL;
	if (lx_task_exiting(&t.p)) {             /* do_exit may already have unhashed it */
		xds_fail(err, "task %d is exiting (exit_state %#x, PF_EXITING %s): not frozen", pid,
			 (unsigned)t.p.exit_state, t.p.flags & 0x4 ? "set" : "clear");
		return LX_FAIL;
	}
	int lk = locks_free(g, task, err);
	if (lk != LX_OK)
		return lk < 0 ? LX_FAIL : LX_RETRY;
	if (t.running)
		return freeze_running(g, &t, hold, err);
	if (t.p.state == TASK_FROZEN && !t.p.on_rq)        /* left its CPU: ours now */
		return held(apply(g, &t, settle, err), hold);
	if (t.p.state == TASK_RUNNING && !t.p.on_rq && !t.p.se_on_rq) {
		*hold = LX_HOLD_DEQUEUED;               /* already off: held */
		return LX_OK;
	}
	if (t.p.state != TASK_RUNNING || t.p.on_rq != TASK_ON_RQ_QUEUED) {
		xds_fail(err, "task %d is not queued (state %#llx, on_rq %llu)", pid, (unsigned long long)t.p.state,
			 (unsigned long long)t.p.on_rq);
		return LX_RETRY;
	}
	return held(apply(g, &t, deactivate, err), hold);
}

int lx_thaw(struct lx_guest *g, uint64_t task, int pid, uint64_t start, struct xds_err *err)
{
	struct lx_target t;
	if (writable(g, err))
		return LX_FAIL;
	int r = target_read(g, task, pid, start, &t, err);
	if (r)
		return r == LX_GONE ? LX_GONE : LX_FAIL;
	int lk = locks_free(g, task, err);
	if (lk != LX_OK)
		return lk < 0 ? LX_FAIL : LX_RETRY;
	if (t.p.state == TASK_FROZEN && t.running)
		return apply(g, &t, cancel, err);
	if (t.p.state == TASK_FROZEN && !t.p.on_rq)
		return apply(g, &t, settle_and_activate, err);
	if (t.p.on_rq || t.p.state != TASK_RUNNING || t.p.exit_state)
		return LX_OK;           /* queued, asleep or exiting: not held, nothing to undo */
	return apply(g, &t, activate, err);
}

int lx_kick(struct lx_guest *g, int *sent, struct xds_err *err)
{
	int rc = 0;
	*sent = 0;
	for (int cpu = 0; cpu < XDS_MAX_CPUS; cpu++) {
		uint64_t bit = 1ull << (cpu % 64);
		if (!(g->kick[cpu / 64] & bit))
			continue;
		g->kick[cpu / 64] &= ~bit;
		int r = be_kick(g->be, g->dom, cpu, rc ? NULL : err);
		if (r < 0)
			rc = -1;
		else if (r == 0)
			(*sent)++;
	}
	return rc;
}
