/*
 * resched.c - asking a CPU of the guest to reschedule, as the kernel does.
 *
 * TIF_NEED_RESCHED on its current task, and on x86 the same need folded
 * into the CPU's preempt count (PREEMPT_NEED_RESCHED, an inverted bit:
 * cleared means "reschedule").  The kernel's own resched_curr() folds it
 * locally and an IPI folds it remotely; a flag set from outside without
 * the fold leaves resched_curr() returning early on every tick after (the
 * flag is set already) and cond_resched() never firing, so a task looping
 * in the kernel on need_resched() (the zap loop of an exiting task) spins
 * there for good.  Where the profile does not know the preempt count, only
 * an idle CPU, which looks at the flag itself, is asked.  Waking an idle
 * vCPU that waits for an interrupt is lx_kick's, after the domain resumes:
 * here it is only marked in the batch.
 */
#include "linux/family.h"

#define TIF_NEED_RESCHED     3          /* x86, up to 6.17 (KERNELS.md) */
#define PREEMPT_NEED_RESCHED 0x80000000u
#define PREEMPT_COUNT_WIDTH  4          /* int __preempt_count */

int lx_set_need_resched(struct lx_txn *tx, int cpu, uint64_t task, struct xds_err *err)
{
	struct lx_guest *g = tx->g;
	uint64_t ti = task + lx_off(g, F_TASK_THREAD_INFO), flags, pc;
	if (lx_read_field(g, ti, F_TI_FLAGS, &flags, err) ||
	    lx_txn_set(tx, ti, F_TI_FLAGS, flags | (1ULL << TIF_NEED_RESCHED), err))
		return -1;
	if (!g->prof.syms[S_PREEMPT_COUNT].present)
		return 0;
	/* a per-CPU variable: its symbol is an offset into each CPU's area */
	uint64_t va = g->prof.syms[S_PREEMPT_COUNT].addr + g->pco[cpu];
	if (lx_read(g, va, PREEMPT_COUNT_WIDTH, &pc, err))
		return -1;
	return lx_txn_put(tx, va, PREEMPT_COUNT_WIDTH, pc & ~(uint64_t)PREEMPT_NEED_RESCHED, err);
}

int lx_resched_curr(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	struct lx_guest *g = b->g;
	uint64_t curr, idle;
	int cpu = (int)t->p.cpu;
	if (lx_read_field(g, t->rq, F_RQ_CURR, &curr, err) || !lx_kernel_addr(curr) ||
	    lx_read_field(g, t->rq, F_RQ_IDLE, &idle, err))
		return xds_fail(err, "CPU %d: cannot read rq->curr", cpu);
	if (!g->prof.syms[S_PREEMPT_COUNT].present && curr != idle)
		return 0;               /* the next tick preempts as it should */
	if (curr == idle)
		b->kick[cpu / 64] |= 1ull << (cpu % 64);
	return lx_set_need_resched(&b->tx, cpu, curr, err);
}
