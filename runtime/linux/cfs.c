/*
 * cfs.c - the CFS family (Linux 2.6.23-6.5): fair.c's part of taking a
 * task off its run queue and putting it back, and what it keeps true.
 *
 * Dequeue goes level by level up the group hierarchy, as the kernel's
 * dequeue_task_fair does: the entity is erased from its cfs_rq's tree
 * (through the shadow), buddies that name it cleared, se.on_rq cleared,
 * its weight taken from the cfs_rq's load, nr_running and h_nr_running
 * decremented; at the task's own level it leaves rq->cfs_tasks and its
 * vruntime is made relative to min_vruntime.  A group entity whose cfs_rq
 * empties is dequeued from its parent too; the levels above only lose one
 * from h_nr_running; then rq->nr_running and util_est.  Enqueue is the
 * mirror.  Verify checks a cfs_rq after a batch: its tree sound, and
 * nr_running and load.weight agreeing with the tree and curr.  Locks,
 * __state, p->on_rq, PSI and rescheduling are core's, in freeze.c.
 */
#include <stdio.h>
#include <string.h>

#include "linux/family.h"

#define SCHED_IDLE 5                    /* uapi policy: counted in idle_h_nr_running */

/* The fields of a sched_entity that CFS reads. */
struct se_copy {
	uint64_t addr, cfs_rq, parent, my_q, load_weight, vruntime, on_rq;
};

/* The fields of a cfs_rq that CFS reads. */
struct cfs_rq_copy {
	uint64_t addr, nr_running, h_nr_running, idle_h_nr_running, load_weight, min_vruntime;
	uint64_t curr, next, last, skip, throttled;
};

/* Read field id at base into *out when the profile has it; 0 stays 0 otherwise. */
static int read_opt(struct lx_guest *g, uint64_t base, enum profile_field_id id, uint64_t *out,
		    struct xds_err *err)
{
	return lx_has(g, id) ? lx_read_field(g, base, id, out, err) : 0;
}

static int read_se(struct lx_guest *g, uint64_t se, uint64_t root_cfs_rq, struct se_copy *e, struct xds_err *err)
{
	memset(e, 0, sizeof *e);
	e->addr = se;
	e->cfs_rq = root_cfs_rq;        /* without group scheduling, every entity is the root's */
	if (!lx_kernel_addr(se))
		return xds_fail(err, "sched_entity %#llx: not a kernel address", (unsigned long long)se);
	if (lx_read_field(g, se + lx_off(g, F_SE_LOAD), F_LW_WEIGHT, &e->load_weight, err) ||
	    lx_read_field(g, se, F_SE_VRUNTIME, &e->vruntime, err) || lx_read_field(g, se, F_SE_ON_RQ, &e->on_rq, err) ||
	    read_opt(g, se, F_SE_CFS_RQ, &e->cfs_rq, err) || read_opt(g, se, F_SE_PARENT, &e->parent, err) ||
	    read_opt(g, se, F_SE_MY_Q, &e->my_q, err))
		return xds_err_wrap(err, "sched_entity %#llx", (unsigned long long)se);
	if (!lx_kernel_addr(e->cfs_rq) || (e->parent && !lx_kernel_addr(e->parent)))
		return xds_fail(err, "sched_entity %#llx: bad cfs_rq %#llx or parent %#llx", (unsigned long long)se,
				(unsigned long long)e->cfs_rq, (unsigned long long)e->parent);
	return 0;
}

static int read_cfs_rq(struct lx_guest *g, uint64_t cfs, struct cfs_rq_copy *c, struct xds_err *err)
{
	memset(c, 0, sizeof *c);
	c->addr = cfs;
	if (lx_read_field(g, cfs, F_CFS_RQ_NR_RUNNING, &c->nr_running, err) ||
	    lx_read_field(g, cfs, F_CFS_RQ_H_NR_RUNNING, &c->h_nr_running, err) ||
	    lx_read_field(g, cfs + lx_off(g, F_CFS_RQ_LOAD), F_LW_WEIGHT, &c->load_weight, err) ||
	    lx_read_field(g, cfs, F_CFS_RQ_MIN_VRUNTIME, &c->min_vruntime, err) ||
	    lx_read_field(g, cfs, F_CFS_RQ_CURR, &c->curr, err) || lx_read_field(g, cfs, F_CFS_RQ_NEXT, &c->next, err) ||
	    read_opt(g, cfs, F_CFS_RQ_LAST, &c->last, err) || read_opt(g, cfs, F_CFS_RQ_SKIP, &c->skip, err) ||
	    read_opt(g, cfs, F_CFS_RQ_IDLE_H_NR_RUNNING, &c->idle_h_nr_running, err) ||
	    read_opt(g, cfs, F_CFS_RQ_THROTTLED, &c->throttled, err))
		return xds_err_wrap(err, "cfs_rq %#llx", (unsigned long long)cfs);
	if (c->throttled)
		return xds_fail(err, "cfs_rq %#llx is throttled (CFS bandwidth): refused", (unsigned long long)cfs);
	return 0;
}

/* One level's entity and queue, read afresh (earlier writes of the batch included). */
static int read_level(struct lx_batch *b, const struct lx_target *t, uint64_t se, int depth, struct se_copy *e,
		      struct cfs_rq_copy *c, struct xds_err *err)
{
	if (depth > XDS_MAX_GROUP_DEPTH)
		return xds_fail(err, "task groups nested deeper than %d", XDS_MAX_GROUP_DEPTH);
	return read_se(b->g, se, t->cfs_rq, e, err) || read_cfs_rq(b->g, e->cfs_rq, c, err) ? -1 : 0;
}

/* h_nr_running (and idle_h_nr_running for a SCHED_IDLE task) of one level. */
static int count_level(struct lx_batch *b, const struct lx_target *t, const struct cfs_rq_copy *c, int delta,
		       struct xds_err *err)
{
	if (lx_txn_add(&b->tx, c->addr, F_CFS_RQ_H_NR_RUNNING, c->h_nr_running, delta, "h_nr_running", err))
		return -1;
	if (t->p.policy == SCHED_IDLE && lx_has(b->g, F_CFS_RQ_IDLE_H_NR_RUNNING) &&
	    lx_txn_add(&b->tx, c->addr, F_CFS_RQ_IDLE_H_NR_RUNNING, c->idle_h_nr_running, delta, "idle_h_nr_running",
		       err))
		return -1;
	return 0;
}

/* The levels from se up, which stay queued, gain or lose one task. */
static int count_above(struct lx_batch *b, const struct lx_target *t, uint64_t se, int depth, int delta,
		       struct xds_err *err)
{
	for (; se; depth++) {
		struct se_copy e;
		struct cfs_rq_copy c;
		if (read_level(b, t, se, depth, &e, &c, err) || count_level(b, t, &c, delta, err))
			return -1;
		se = e.parent;
	}
	return 0;
}

static int add_nr_running(struct lx_batch *b, const struct lx_target *t, int delta, struct xds_err *err)
{
	uint64_t nr;
	if (lx_read_field(b->g, t->rq, F_RQ_NR_RUNNING, &nr, err))
		return -1;
	return lx_txn_add(&b->tx, t->rq, F_RQ_NR_RUNNING, nr, delta, "rq->nr_running", err);
}

static int clear_buddies(struct lx_batch *b, const struct cfs_rq_copy *c, uint64_t se, struct xds_err *err)
{
	const struct { uint64_t v; enum profile_field_id f; } buddy[] = {
		{ c->next, F_CFS_RQ_NEXT }, { c->last, F_CFS_RQ_LAST }, { c->skip, F_CFS_RQ_SKIP },
	};
	for (size_t i = 0; i < sizeof buddy / sizeof buddy[0]; i++)
		if (lx_has(b->g, buddy[i].f) && buddy[i].v == se && lx_txn_set(&b->tx, c->addr, buddy[i].f, 0, err))
			return -1;
	return 0;
}

/* A cfs_rq's load.weight changes: inv_weight is recomputed lazily by the kernel. */
static int set_load(struct lx_batch *b, const struct cfs_rq_copy *c, int64_t delta, struct xds_err *err)
{
	uint64_t load = c->addr + lx_off(b->g, F_CFS_RQ_LOAD);
	return lx_txn_add(&b->tx, load, F_LW_WEIGHT, c->load_weight, delta, "load.weight", err) ||
	       lx_txn_set(&b->tx, load, F_LW_INV_WEIGHT, 0, err) ? -1 : 0;
}

/* dequeue_entity's part for one level: se leaves c. */
static int dequeue_entity(struct lx_batch *b, const struct lx_target *t, const struct se_copy *e,
			  const struct cfs_rq_copy *c, struct xds_err *err)
{
	struct lx_guest *g = b->g;
	if (c->curr == e->addr)
		return xds_fail(err, "entity %#llx is its cfs_rq's current: refused", (unsigned long long)e->addr);
	if (!e->on_rq)
		return xds_fail(err, "entity %#llx is not queued", (unsigned long long)e->addr);
	if (e->load_weight > c->load_weight)
		return xds_fail(err, "cfs_rq %#llx: load %llu below the entity's %llu", (unsigned long long)c->addr,
				(unsigned long long)c->load_weight, (unsigned long long)e->load_weight);
	if (lx_batch_touch(b, c->addr, err) ||
	    lx_shadow_erase(&b->trees, &b->tx, c->addr, e->addr + lx_off(g, F_SE_RUN_NODE), err) ||
	    clear_buddies(b, c, e->addr, err) || lx_txn_set(&b->tx, e->addr, F_SE_ON_RQ, 0, err) ||
	    set_load(b, c, -(int64_t)e->load_weight, err) ||
	    lx_txn_add(&b->tx, c->addr, F_CFS_RQ_NR_RUNNING, c->nr_running, -1, "nr_running", err))
		return -1;
	return count_level(b, t, c, -1, err);
}

static int cfs_dequeue(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	uint64_t se = t->p.se;
	int depth = 0;
	for (; se; depth++) {
		struct se_copy e;
		struct cfs_rq_copy c;
		if (read_level(b, t, se, depth, &e, &c, err) || dequeue_entity(b, t, &e, &c, err))
			return -1;
		if (depth == 0 && lx_list_del_init(&b->tx, se + lx_off(b->g, F_SE_GROUP_NODE), err))
			return xds_err_wrap(err, "rq->cfs_tasks");
		if (depth == 0 && lx_txn_set(&b->tx, se, F_SE_VRUNTIME, e.vruntime - c.min_vruntime, err))
			return -1;
		se = e.parent;
		if (c.load_weight != e.load_weight)
			break;          /* the group still has work: stays queued */
	}
	if (count_above(b, t, se, depth, -1, err) || add_nr_running(b, t, -1, err))
		return -1;
	return lx_util_est_dequeue(b, t, err);
}

/* enqueue_entity's part for one level: se joins c at vruntime v. */
static int enqueue_entity(struct lx_batch *b, const struct lx_target *t, const struct se_copy *e,
			  const struct cfs_rq_copy *c, uint64_t v, struct xds_err *err)
{
	struct lx_guest *g = b->g;
	if (lx_batch_touch(b, c->addr, err) || lx_txn_set(&b->tx, e->addr, F_SE_VRUNTIME, v, err) ||
	    lx_shadow_insert(&b->trees, &b->tx, c->addr, e->addr + lx_off(g, F_SE_RUN_NODE), v, e->load_weight, err) ||
	    lx_txn_set(&b->tx, e->addr, F_SE_ON_RQ, 1, err) || set_load(b, c, (int64_t)e->load_weight, err) ||
	    lx_txn_add(&b->tx, c->addr, F_CFS_RQ_NR_RUNNING, c->nr_running, 1, "nr_running", err))
		return -1;
	return count_level(b, t, c, 1, err);
}

static int cfs_enqueue(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	uint64_t se = t->p.se, rq_cfs_tasks = t->rq + lx_off(b->g, F_RQ_CFS_TASKS);
	int depth = 0;
	for (struct se_copy e; se; depth++, se = e.parent) {
		struct cfs_rq_copy c;
		if (read_level(b, t, se, depth, &e, &c, err))
			return -1;
		if (e.on_rq)
			break;          /* a group already queued */
		/* the task's vruntime was made relative; a group's is kept, not below min_vruntime */
		uint64_t v = depth == 0 ? e.vruntime + c.min_vruntime
			: ((int64_t)(e.vruntime - c.min_vruntime) < 0 ? c.min_vruntime : e.vruntime);
		if (enqueue_entity(b, t, &e, &c, v, err))
			return -1;
		if (depth == 0 && lx_list_add(&b->tx, se + lx_off(b->g, F_SE_GROUP_NODE), rq_cfs_tasks, err))
			return xds_err_wrap(err, "rq->cfs_tasks");
	}
	if (count_above(b, t, se, depth, 1, err) || add_nr_running(b, t, 1, err))
		return -1;
	return lx_util_est_enqueue(b, t, err);
}

/* schedule() dequeued it for a sleep, which keeps vruntime absolute: make it relative. */
static int cfs_settle(struct lx_batch *b, const struct lx_target *t, struct xds_err *err)
{
	struct se_copy e;
	struct cfs_rq_copy c;
	if (read_level(b, t, t->p.se, 0, &e, &c, err))
		return -1;
	return lx_txn_set(&b->tx, t->p.se, F_SE_VRUNTIME, e.vruntime - c.min_vruntime, err);
}

/* nr_running and load.weight of cfs agree with its tree and curr. */
static int check_counts(struct lx_batch *b, const struct lx_shadow *sh, const struct cfs_rq_copy *c,
			struct xds_err *err)
{
	struct lx_guest *g = b->g;
	uint64_t load = 0, w;
	for (int i = 0; i < sh->n; i++)
		load += sh->v[i].weight;
	if (c->curr) {
		if (lx_read_field(g, c->curr + lx_off(g, F_SE_LOAD), F_LW_WEIGHT, &w, err))
			return -1;
		load += w;
	}
	if (c->nr_running != (uint64_t)sh->n + (c->curr != 0))
		return xds_fail(err, "cfs_rq %#llx: nr_running %llu, tree %d + curr %d", (unsigned long long)c->addr,
				(unsigned long long)c->nr_running, sh->n, c->curr != 0);
	if (c->load_weight != load)
		return xds_fail(err, "cfs_rq %#llx: load %llu, entities weigh %llu", (unsigned long long)c->addr,
				(unsigned long long)c->load_weight, (unsigned long long)load);
	return 0;
}

/*
 * In a batch the tree is the batch's shadow: read and validated whole when
 * the batch first touched it, changed only by our writes, confirmed word
 * by word by the read-back, while the domain stays paused.  A level whose
 * shadow was dropped (an operation after it was undone) is read again.
 */
static int cfs_verify(struct lx_batch *b, uint64_t cfs, struct xds_err *err)
{
	struct lx_shadow own = { 0 }, *sh = lx_shadows_find(&b->trees, cfs);
	struct cfs_rq_copy c;
	int rc = -1;
	if (!sh) {
		if (lx_shadow_load(&own, b->g, cfs, b->trees.key, err))
			return -1;
		sh = &own;
	}
	if (!lx_shadow_validate(sh, err) && !read_cfs_rq(b->g, cfs, &c, err))
		rc = check_counts(b, sh, &c, err);
	lx_shadow_free(&own);
	return rc;
}

static bool cfs_match(const struct profile *p, char *why, size_t n)
{
	const struct profile_field *f = p->fields;
	if (f[F_SE_DEADLINE].present) {
		snprintf(why, n, "sched_entity has 'deadline' (EEVDF places by lag and deadline)");
		return false;
	}
	if (!f[F_CFS_RQ_MIN_VRUNTIME].present) {
		snprintf(why, n, "cfs_rq has no 'min_vruntime'");
		return false;
	}
	return true;
}

const struct lx_family lx_cfs = {
	.name = "cfs",
	.key = F_SE_VRUNTIME,
	.writes = true,
	.match = cfs_match,
	.dequeue = cfs_dequeue,
	.enqueue = cfs_enqueue,
	.settle = cfs_settle,
	.verify = cfs_verify,
};
