/*
 * acct.c - the bookkeeping a dequeue or enqueue does beside the tree and
 * the counts: PSI (core's dequeue_task) and util_est (fair.c's), where the
 * profile has them.
 *
 * PSI counts, per CPU and per pressure group, the tasks in each state; a
 * task's psi_flags say which counts it is in.  Taking a task off its queue
 * takes it out of the running count (TSK_RUNNING) of every group it
 * belongs to (its cgroup's and their parents', or psi_system alone), and
 * putting it back puts it in; a kernel that finds flags and counts
 * disagreeing warns "psi: inconsistent task state".  Only the counts and
 * flags are kept: the per-CPU state times catch up at the next change.
 * util_est is the same idea for the root cfs_rq's estimated utilisation.
 *
 * Left alone on purpose: sched_info (delay accounting).  A task we hold
 * keeps its last_queued stamp, so when it runs again the time it was held
 * shows as run delay, which is what it was; no scheduling decision reads
 * it.  uclamp's and core scheduling's bookkeeping is not done either.
 */
#include "linux/family.h"

#define PSI_NR_RUNNING  2               /* enum psi_task_count, since 4.20 */
#define PSI_TSK_RUNNING (1u << PSI_NR_RUNNING)
#define PSI_COUNT_WIDTH 4               /* psi_group_cpu.tasks[] are unsigned int */
#define UTIL_AVG_UNCHANGED 0x80000000u

/* A static key's state: enabled when its count is above 0. */
static int key_enabled(struct lx_guest *g, enum profile_sym_id key, bool *on, struct xds_err *err)
{
	uint64_t v = 0;
	if (lx_read(g, lx_sym(g, key), 4, &v, err))
		return -1;
	*on = (int32_t)(uint32_t)v > 0;
	return 0;
}

static bool psi_on(struct lx_guest *g)
{
	bool disabled = false;
	if (!g->prof.psi || !lx_has(g, F_PSIG_PCPU) || !lx_has(g, F_PSIGC_TASKS) ||
	    lx_wid(g, F_PSIGC_TASKS) < PSI_COUNT_WIDTH * (PSI_NR_RUNNING + 1))
		return false;
	if (g->prof.syms[S_PSI_DISABLED].present && key_enabled(g, S_PSI_DISABLED, &disabled, NULL))
		return false;
	return !disabled;
}

/* The psi group of the task's cgroup when cgroups are accounted, else psi_system. */
static int psi_first_group(struct lx_guest *g, uint64_t task, uint64_t *group, struct xds_err *err)
{
	bool cg = false;
	*group = lx_sym(g, S_PSI_SYSTEM);
	if (g->prof.syms[S_PSI_CGROUPS_ENABLED].present && lx_has(g, F_TASK_CGROUPS) &&
	    lx_has(g, F_CSS_SET_DFL_CGRP) && lx_has(g, F_CGROUP_PSI) &&
	    key_enabled(g, S_PSI_CGROUPS_ENABLED, &cg, err))
		return -1;
	if (!cg)
		return 0;
	uint64_t css, cgrp, level;
	if (lx_read_field(g, task, F_TASK_CGROUPS, &css, err) || !lx_kernel_addr(css) ||
	    lx_read_field(g, css, F_CSS_SET_DFL_CGRP, &cgrp, err) || !lx_kernel_addr(cgrp) ||
	    lx_read_field(g, cgrp, F_CGROUP_LEVEL, &level, err))
		return xds_fail(err, "task %#llx: cannot find its cgroup", (unsigned long long)task);
	return level ? lx_read_field(g, cgrp, F_CGROUP_PSI, group, err) : 0;
}

/* The pressure groups a task is accounted in, innermost first. */
static int psi_groups(struct lx_guest *g, uint64_t task, uint64_t *out, struct xds_err *err)
{
	uint64_t group;
	int n = 0;
	if (psi_first_group(g, task, &group, err))
		return -1;
	while (group && n < XDS_MAX_PSI_GROUPS) {
		if (!lx_kernel_addr(group))
			return xds_fail(err, "psi group %#llx: not a kernel address", (unsigned long long)group);
		out[n++] = group;
		if (!lx_has(g, F_PSIG_PARENT) || lx_read_field(g, group, F_PSIG_PARENT, &group, err))
			break;
	}
	return n;
}

static int psi_count(struct lx_batch *b, uint64_t group, unsigned cpu, int delta, struct xds_err *err)
{
	struct lx_guest *g = b->g;
	uint64_t pcpu, cnt;
	if (lx_read_field(g, group, F_PSIG_PCPU, &pcpu, err))
		return -1;
	uint64_t va = pcpu + g->pco[cpu] + lx_off(g, F_PSIGC_TASKS) + PSI_COUNT_WIDTH * PSI_NR_RUNNING;
	if (lx_read(g, va, PSI_COUNT_WIDTH, &cnt, err))
		return -1;
	return lx_txn_put_delta(&b->tx, va, PSI_COUNT_WIDTH, cnt, delta, "psi running count", err);
}

static int psi_running(struct lx_batch *b, const struct lx_target *t, bool running, struct xds_err *err)
{
	struct lx_guest *g = b->g;
	uint64_t flags, groups[XDS_MAX_PSI_GROUPS];
	if (!psi_on(g))
		return 0;
	if (lx_read_field(g, t->p.addr, F_TASK_PSI_FLAGS, &flags, err))
		return -1;
	if (!!(flags & PSI_TSK_RUNNING) == running)
		return 0;                       /* already counted as wanted */
	int n = psi_groups(g, t->p.addr, groups, err);
	if (n < 0 || lx_txn_set(&b->tx, t->p.addr, F_TASK_PSI_FLAGS, flags ^ PSI_TSK_RUNNING, err))
		return -1;
	for (int i = 0; i < n; i++)
		if (psi_count(b, groups[i], t->p.cpu, running ? 1 : -1, err))
			return -1;
	return 0;
}

int lx_psi_enqueue(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	return psi_running(b, t, true, err);
}

int lx_psi_dequeue(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	return psi_running(b, t, false, err);
}

/* The root cfs_rq's util_est.enqueued gains or loses the task's estimate. */
static int util_est(struct lx_batch *b, const struct lx_target *t, bool add, struct xds_err *err)
{
	struct lx_guest *g = b->g;
	if (!lx_has(g, F_CFS_RQ_AVG) || !lx_has(g, F_SE_AVG) || !lx_has(g, F_SA_UTIL_EST) ||
	    !lx_has(g, F_UE_ENQUEUED) || !lx_has(g, F_UE_EWMA))
		return 0;
	uint64_t enq, ewma, cfs_enq;
	uint64_t task_ue = t->p.se + lx_off(g, F_SE_AVG) + lx_off(g, F_SA_UTIL_EST);
	uint64_t cfs_ue = t->cfs_rq + lx_off(g, F_CFS_RQ_AVG) + lx_off(g, F_SA_UTIL_EST);
	if (lx_read_field(g, task_ue, F_UE_ENQUEUED, &enq, err) || lx_read_field(g, task_ue, F_UE_EWMA, &ewma, err) ||
	    lx_read_field(g, cfs_ue, F_UE_ENQUEUED, &cfs_enq, err))
		return -1;
	enq &= ~(uint64_t)UTIL_AVG_UNCHANGED;
	uint64_t mine = ewma > enq ? ewma : enq;
	uint64_t v = add ? cfs_enq + mine : cfs_enq - (mine < cfs_enq ? mine : cfs_enq);
	return lx_txn_set(&b->tx, cfs_ue, F_UE_ENQUEUED, v & 0xffffffffu, err);
}

int lx_util_est_enqueue(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	return util_est(b, t, true, err);
}

int lx_util_est_dequeue(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	return util_est(b, t, false, err);
}
