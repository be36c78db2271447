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
 * there for good.  The preempt count is the per-CPU __preempt_count (up to
 * 6.1, and from 6.15, where its symbol is an ordinary KASLR-moved address)
 * or pcpu_hot.preempt_count (6.2-6.14); the flag's bit comes from the
 * version (lx_tif_need_resched_bit).  Where the profile does not know the preempt count, only
 * an idle CPU, which looks at the flag itself, is asked.  Waking an idle
 * vCPU that waits for an interrupt is lx_kick's, after the domain resumes:
 * here it is only marked in the batch.
 */
#include "linux/family.h"

#define PREEMPT_NEED_RESCHED 0x80000000u
#define PREEMPT_COUNT_WIDTH  4          /* int: __preempt_count, pcpu_hot.preempt_count */

/* x86's TIF_NEED_RESCHED is bit 3 up to 6.17 and bit 4 from 6.18, where
 * x86 took the generic TIF bits (KERNELS.md).  Neither BTF nor DWARF has
 * it (a #define), so the banner's version says: -1 when it has none. */
int lx_tif_need_resched_bit(const char *banner)
{
	unsigned major, minor;
	if (sscanf(banner, "Linux version %u.%u", &major, &minor) != 2 || major < 2 || major > 99)
		return -1;
	return major > 6 || (major == 6 && minor >= 18) ? 4 : 3;
}

/* Where cpu's preempt count is: the per-CPU __preempt_count (up to 6.1,
 * and again from 6.15), or pcpu_hot.preempt_count (6.2-6.14); 0 when the
 * profile knows neither. */
uint64_t lx_preempt_count_va(const struct lx_guest *g, int cpu)
{
	const struct profile_sym *pc = profile_sym(&g->prof, S_PREEMPT_COUNT);
	const struct profile_sym *hot = profile_sym(&g->prof, S_PCPU_HOT);
	if (pc->present)
		return lx_percpu(g, pc->addr, cpu);
	if (hot->present && lx_has(g, F_PCPU_HOT_PREEMPT_COUNT) && lx_wid(g, F_PCPU_HOT_PREEMPT_COUNT) == 4)
		return lx_percpu(g, hot->addr + lx_off(g, F_PCPU_HOT_PREEMPT_COUNT), cpu);
	return 0;
}

bool lx_knows_preempt_count(const struct lx_guest *g)
{
	return lx_preempt_count_va(g, 0) != 0;
}

int lx_set_need_resched(struct lx_txn *tx, int cpu, uint64_t task, struct xds_err *err)
{
	struct lx_guest *g = tx->g;
	uint64_t ti = task + lx_off(g, F_TASK_THREAD_INFO), flags, pc;
	if (g->tif_need_resched < 0)
		return xds_fail(err, "cannot tell TIF_NEED_RESCHED's bit for the kernel \"%.60s\"", g->prof.banner);
	if (lx_read_field(g, ti, F_TI_FLAGS, &flags, err) ||
	    lx_txn_set(tx, ti, F_TI_FLAGS, flags | (1ULL << g->tif_need_resched), err))
		return -1;
	uint64_t va = lx_preempt_count_va(g, cpu);
	if (!va)
		return 0;
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
	if (!lx_knows_preempt_count(g) && curr != idle)
		return 0;               /* the next tick preempts as it should */
	if (curr == idle)
		b->kick[cpu / 64] |= 1ull << (cpu % 64);
	return lx_set_need_resched(&b->tx, cpu, curr, err);
}
