/*
 * family.h - the seam between freeze/thaw and a scheduler family.
 *
 * freeze.c does what the kernel's core does around a class's dequeue and
 * enqueue (locks, state, p->on_rq, PSI, rescheduling); a struct lx_family
 * does what the class does (fair.c of one era: CFS, later EEVDF): the
 * tree, the counts at every group level, the key of an entity that leaves
 * and comes back, and the invariants a cfs_rq must keep.  The family is
 * chosen at attach from the fields the profile has (family.c's table),
 * never from a version string.  A new family is a new file and one entry
 * in that table.  Also here: the services every family calls (acct.c,
 * resched.c, freeze.c's batch).
 */
#ifndef XDS_LINUX_FAMILY_H
#define XDS_LINUX_FAMILY_H

#include <stddef.h>

#include "linux/linux_int.h"

/* The task an operation acts on: its task_struct and its CPU's run queue. */
struct lx_target {
	struct lx_task_struct p;
	uint64_t rq;                    /* task_rq(p) */
	uint64_t cfs_rq;                /* &rq->cfs, the root level */
	bool running;                   /* rq->curr == p */
};

struct lx_family {
	const char *name;               /* as profile_family_name() spells it */
	enum profile_field_id key;      /* the entity field its tree is ordered by */
	bool writes;                    /* false: reads only (lx_can_write) */
	/* true when p has what the family needs; else why not, in why */
	bool (*match)(const struct profile *p, char *why, size_t n);
	/* Take a queued task that is not running off every level of its
	 * queues / put a dequeued one back, rq->nr_running included. */
	int (*dequeue)(struct lx_batch *b, const struct lx_target *t, struct xds_err *err);
	int (*enqueue)(struct lx_batch *b, const struct lx_target *t, struct xds_err *err);
	/* A task that left its CPU through the guest's own schedule() in our
	 * sleep state: make its entity look as our dequeue leaves one. */
	int (*settle)(struct lx_batch *b, const struct lx_target *t, struct xds_err *err);
	/* The invariants of one cfs_rq the batch touched, at commit. */
	int (*verify)(struct lx_batch *b, uint64_t cfs_rq, struct xds_err *err);
};

/* The family that matches p, or NULL with err naming what p declares and
 * what each family misses. */
const struct lx_family *lx_family_pick(const struct profile *p, struct xds_err *err);

extern const struct lx_family lx_cfs;           /* cfs.c */
extern const struct lx_family lx_eevdf;         /* eevdf.c: reads only */

/* freeze.c: cfs_rq is to be verified at commit. */
int lx_batch_touch(struct lx_batch *b, uint64_t cfs_rq, struct xds_err *err);

/* acct.c: the bookkeeping beside the class's own (util_est is fair.c's,
 * PSI core's), where the profile has it. */
int lx_util_est_enqueue(struct lx_batch *b, const struct lx_target *t, struct xds_err *err);
int lx_util_est_dequeue(struct lx_batch *b, const struct lx_target *t, struct xds_err *err);
int lx_psi_enqueue(struct lx_batch *b, const struct lx_target *t, struct xds_err *err);
int lx_psi_dequeue(struct lx_batch *b, const struct lx_target *t, struct xds_err *err);

/* resched.c: TIF_NEED_RESCHED on task and the fold into cpu's preempt
 * count; and the kernel's resched_curr() for the CPU of t. */
int lx_set_need_resched(struct lx_txn *tx, int cpu, uint64_t task, struct xds_err *err);
bool lx_knows_preempt_count(const struct lx_guest *g);
int lx_resched_curr(struct lx_batch *b, const struct lx_target *t, struct xds_err *err);

#endif
