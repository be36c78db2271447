/*
 * eevdf.c - the EEVDF family (6.6 and later), read only for now.
 *
 * A kernel whose sched_entity has a deadline places tasks by lag and
 * deadline, keeps sums over the tree (avg_vruntime/avg_load, or
 * sum_w_vruntime/sum_weight from 7.0), an augmented tree and, from 6.12,
 * delayed dequeues (KERNELS.md).  Reading such a guest (its tasks, their
 * states and CPU times, what is queued) needs none of that, so the family
 * attaches and lists; its dequeue, enqueue and settle are not written yet,
 * and lx_can_write() says so before anything is asked of them.  Every
 * operation here refuses, so that no path can edit an EEVDF run queue
 * with CFS's rules.
 */
#include <stdio.h>

#include "linux/family.h"

static bool eevdf_match(const struct profile *p, char *why, size_t n)
{
	const struct profile_field *f = p->fields;
	if (!f[F_SE_DEADLINE].present) {
		snprintf(why, n, "sched_entity has no 'deadline'");
		return false;
	}
	return true;
}

static int refuse(struct xds_err *err)
{
	return xds_fail(err, "the eevdf family cannot change a run queue yet (reads only)");
}

static int eevdf_dequeue(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	(void)b, (void)t;
	return refuse(err);
}

static int eevdf_verify(struct lx_batch *b, uint64_t cfs_rq, struct xds_err *err)
{
	(void)b, (void)cfs_rq;
	return refuse(err);
}

const struct lx_family lx_eevdf = {
	.name = "eevdf",
	.key = F_SE_DEADLINE,
	.writes = false,
	.match = eevdf_match,
	.dequeue = eevdf_dequeue,
	.enqueue = eevdf_dequeue,
	.settle = eevdf_dequeue,
	.verify = eevdf_verify,
};
