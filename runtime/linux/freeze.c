/*
 * freeze.c - taking a task off its CFS run queue and putting it back.
 *
 * The rules are DESIGN.md's "Safety" section.  Every function here runs
 * with the domain paused, and first checks that every run-queue lock of the
 * guest and the task's pi_lock are free; otherwise it answers LX_RETRY.
 *
 * A queued task that is not running is dequeued as the kernel's own
 * dequeue does it, level by level up the group hierarchy: erased from its
 * cfs_rq's tree (colours and leftmost right), buddies that name it cleared,
 * se.on_rq cleared, its weight taken from the cfs_rq's load, its node
 * taken off rq->cfs_tasks, nr_running and h_nr_running decremented, its
 * vruntime made relative to min_vruntime; a group entity whose cfs_rq
 * empties is dequeued from its parent too; the levels above only lose one
 * from h_nr_running; rq->nr_running and p->on_rq last.  Its state stays
 * TASK_RUNNING, so no wake-up or signal touches it.  Thaw is the mirror.
 * A running task is never unlinked: in user mode it gets TASK_FROZEN and
 * TIF_NEED_RESCHED and the guest's own schedule() takes it off; the next
 * freeze call settles it into the same state as a dequeued one.
 *
 * The red-black surgery runs on a shadow of the tree, read and validated
 * whole first (links, colours, black heights, order, leftmost), so the
 * algorithm touches only nodes known to be the tree's.  Every word is
 * written through a log that remembers the old value; after the writes the
 * touched structures are read back and checked, and a failed check puts
 * every old value back before the caller resumes the domain.
 */
#include <stdlib.h>
#include <string.h>

#include "linux/linux_int.h"
#include "util/rbtree.h"

#define LX_TASK_RUNNING   0x0000
#define LX_TASK_FROZEN    0x8000    /* sleeping; no signal or wake-up ends it */
#define LX_ON_RQ_QUEUED   1
#define LX_TIF_NEED_RESCHED 3       /* x86 */
#define LX_SCHED_IDLE     5
#define MAX_LEVELS        8

#define OFF(g, id) ((g)->prof.fields[id].offset)
#define WID(g, id) ((g)->prof.fields[id].size)
#define HAS(g, id) ((g)->prof.fields[id].present)

/* ---- reads and logged writes ---- */

static int rd(struct lx_guest *g, uint64_t va, unsigned len, uint64_t *out, struct xds_err *err)
{
	uint64_t v = 0;
	if (len > 8 || vmem_read(g->vm, va, &v, len, err))
		return -1;
	*out = v;
	return 0;
}

struct txw {
	uint64_t va, old, new;
	unsigned len;
};

struct tx {
	struct lx_guest *g;
	struct txw *w;
	int n, cap;
};

static int tx_put(struct tx *tx, uint64_t va, unsigned len, uint64_t val, struct xds_err *err)
{
	uint64_t old;
	if (rd(tx->g, va, len, &old, err))
		return -1;
	if (tx->n == tx->cap) {
		int cap = tx->cap ? 2 * tx->cap : 64;
		struct txw *w = realloc(tx->w, (size_t)cap * sizeof *w);
		if (!w)
			return xds_fail(err, "out of memory");
		tx->w = w;
		tx->cap = cap;
	}
	tx->w[tx->n++] = (struct txw){ va, old, val, len };
	return vmem_write(tx->g->vm, va, &val, len, err);
}

static void tx_undo(struct tx *tx)
{
	for (int i = tx->n - 1; i >= 0; i--)
		vmem_write(tx->g->vm, tx->w[i].va, &tx->w[i].old, tx->w[i].len, NULL);
	tx->n = 0;
}

/* Every word written reads back as written. */
static int tx_readback(struct tx *tx, struct xds_err *err)
{
	for (int i = 0; i < tx->n; i++) {
		uint64_t v;
		if (rd(tx->g, tx->w[i].va, tx->w[i].len, &v, err))
			return -1;
		uint64_t mask = tx->w[i].len >= 8 ? ~0ULL : (1ULL << (8 * tx->w[i].len)) - 1;
		/* a later write to the same word wins */
		uint64_t want = tx->w[i].new;
		for (int j = i + 1; j < tx->n; j++)
			if (tx->w[j].va == tx->w[i].va)
				want = tx->w[j].new;
		if ((v & mask) != (want & mask))
			return xds_fail(err, "read-back of %#llx: %#llx, wrote %#llx",
					(unsigned long long)tx->w[i].va, (unsigned long long)v,
					(unsigned long long)want);
	}
	return 0;
}

/* ---- objects ---- */

struct ent {
	uint64_t se, cfs, parent, my_q, weight, vruntime;
	unsigned on_rq;
};

struct cfsv {
	uint64_t addr, nr, h_nr, idle_h, load, minv, curr, next, last, skip, throttled;
};

static uint32_t se_w(struct lx_guest *g)
{
	return OFF(g, F_SE_LOAD) + OFF(g, F_LW_WEIGHT);
}

static int read_ent(struct lx_guest *g, uint64_t se, uint64_t root_cfs, struct ent *e, struct xds_err *err)
{
	memset(e, 0, sizeof *e);
	e->se = se;
	e->cfs = root_cfs;
	uint64_t on_rq;
	if (!lx_kernel_addr(se))
		return xds_fail(err, "sched_entity %#llx: not a kernel address", (unsigned long long)se);
	if (rd(g, se + se_w(g), WID(g, F_LW_WEIGHT), &e->weight, err) ||
	    rd(g, se + OFF(g, F_SE_VRUNTIME), 8, &e->vruntime, err) ||
	    rd(g, se + OFF(g, F_SE_ON_RQ), WID(g, F_SE_ON_RQ), &on_rq, err) ||
	    (HAS(g, F_SE_CFS_RQ) && rd(g, se + OFF(g, F_SE_CFS_RQ), 8, &e->cfs, err)) ||
	    (HAS(g, F_SE_PARENT) && rd(g, se + OFF(g, F_SE_PARENT), 8, &e->parent, err)) ||
	    (HAS(g, F_SE_MY_Q) && rd(g, se + OFF(g, F_SE_MY_Q), 8, &e->my_q, err)))
		return xds_err_wrap(err, "sched_entity %#llx", (unsigned long long)se);
	e->on_rq = (unsigned)on_rq;
	if (!lx_kernel_addr(e->cfs) || (e->parent && !lx_kernel_addr(e->parent)))
		return xds_fail(err, "sched_entity %#llx: bad cfs_rq %#llx or parent %#llx",
				(unsigned long long)se, (unsigned long long)e->cfs, (unsigned long long)e->parent);
	return 0;
}

static uint32_t cfs_off(struct lx_guest *g, enum profile_field_id id)
{
	return OFF(g, id);
}

static int read_cfs(struct lx_guest *g, uint64_t cfs, struct cfsv *c, struct xds_err *err)
{
	memset(c, 0, sizeof *c);
	c->addr = cfs;
	if (rd(g, cfs + cfs_off(g, F_CFS_RQ_NR_RUNNING), WID(g, F_CFS_RQ_NR_RUNNING), &c->nr, err) ||
	    rd(g, cfs + cfs_off(g, F_CFS_RQ_H_NR_RUNNING), WID(g, F_CFS_RQ_H_NR_RUNNING), &c->h_nr, err) ||
	    rd(g, cfs + cfs_off(g, F_CFS_RQ_LOAD) + OFF(g, F_LW_WEIGHT), WID(g, F_LW_WEIGHT), &c->load, err) ||
	    rd(g, cfs + cfs_off(g, F_CFS_RQ_MIN_VRUNTIME), 8, &c->minv, err) ||
	    rd(g, cfs + cfs_off(g, F_CFS_RQ_CURR), 8, &c->curr, err) ||
	    rd(g, cfs + cfs_off(g, F_CFS_RQ_NEXT), 8, &c->next, err) ||
	    (HAS(g, F_CFS_RQ_LAST) && rd(g, cfs + cfs_off(g, F_CFS_RQ_LAST), 8, &c->last, err)) ||
	    (HAS(g, F_CFS_RQ_SKIP) && rd(g, cfs + cfs_off(g, F_CFS_RQ_SKIP), 8, &c->skip, err)) ||
	    (HAS(g, F_CFS_RQ_IDLE_H_NR_RUNNING) &&
	     rd(g, cfs + cfs_off(g, F_CFS_RQ_IDLE_H_NR_RUNNING), WID(g, F_CFS_RQ_IDLE_H_NR_RUNNING), &c->idle_h, err)) ||
	    (HAS(g, F_CFS_RQ_THROTTLED) &&
	     rd(g, cfs + cfs_off(g, F_CFS_RQ_THROTTLED), WID(g, F_CFS_RQ_THROTTLED), &c->throttled, err)))
		return xds_err_wrap(err, "cfs_rq %#llx", (unsigned long long)cfs);
	if (c->throttled)
		return xds_fail(err, "cfs_rq %#llx is throttled (CFS bandwidth): refused",
				(unsigned long long)cfs);
	return 0;
}

/* ---- the shadow tree ---- */

struct snode {
	uint64_t addr, key, weight;     /* the entity's vruntime and load weight */
	uint64_t w[3], orig[3];         /* enum rb_word order */
	bool fresh;                     /* not in the guest's tree yet */
};

struct shadow {
	struct lx_guest *g;
	uint64_t cfs, root, leftmost;
	struct snode *v;
	int n, cap;
	bool bad;
};

static uint32_t rb_off(struct lx_guest *g, enum rb_word w)
{
	return w == RB_PARENT_COLOR ? OFF(g, F_RB_PARENT_COLOR) : w == RB_RIGHT ? OFF(g, F_RB_RIGHT)
		: OFF(g, F_RB_LEFT);
}

static uint32_t timeline(struct lx_guest *g)
{
	return OFF(g, F_CFS_RQ_TASKS_TIMELINE);
}

static int sh_add(struct shadow *sh, uint64_t addr, struct xds_err *err)
{
	if (sh->n == sh->cap) {
		int cap = sh->cap ? 2 * sh->cap : 64;
		struct snode *v = realloc(sh->v, (size_t)cap * sizeof *v);
		if (!v)
			return xds_fail(err, "out of memory");
		sh->v = v;
		sh->cap = cap;
	}
	memset(&sh->v[sh->n], 0, sizeof sh->v[0]);
	sh->v[sh->n++].addr = addr;
	return 0;
}

static uint64_t node_key_va(struct lx_guest *g, uint64_t node)
{
	return node - OFF(g, F_SE_RUN_NODE) + OFF(g, F_SE_VRUNTIME);
}

/* The three words of an rb_node, in one read when they are adjacent. */
static int read_node(struct lx_guest *g, uint64_t node, uint64_t w[3], struct xds_err *err)
{
	uint32_t lo = rb_off(g, 0), hi = lo;
	for (int i = 1; i < 3; i++) {
		uint32_t o = rb_off(g, (enum rb_word)i);
		lo = o < lo ? o : lo;
		hi = o > hi ? o : hi;
	}
	if (hi - lo != 16) {
		for (int i = 0; i < 3; i++)
			if (rd(g, node + rb_off(g, (enum rb_word)i), 8, &w[i], err))
				return -1;
		return 0;
	}
	uint64_t buf[3];
	if (vmem_read(g->vm, node + lo, buf, sizeof buf, err))
		return -1;
	for (int i = 0; i < 3; i++)
		w[i] = buf[(rb_off(g, (enum rb_word)i) - lo) / 8];
	return 0;
}

/* Read one subtree; returns its black height, or -1. */
static int sh_walk(struct shadow *sh, uint64_t node, uint64_t parent, int depth, uint64_t *prev_key,
		   bool *have_prev, int limit, struct xds_err *err)
{
	struct lx_guest *g = sh->g;
	if (!node)
		return 1;
	if (depth > RB_MAX_HEIGHT || sh->n >= limit)
		return xds_fail(err, "cfs_rq %#llx: tree deeper than %d or larger than %d (a cycle?)",
				(unsigned long long)sh->cfs, RB_MAX_HEIGHT, limit);
	if (!lx_kernel_addr(node))
		return xds_fail(err, "cfs_rq %#llx: tree node %#llx is not a kernel address",
				(unsigned long long)sh->cfs, (unsigned long long)node);
	uint64_t w[3], key, weight;
	if (read_node(g, node, w, err) || rd(g, node_key_va(g, node), 8, &key, err) ||
	    rd(g, node - OFF(g, F_SE_RUN_NODE) + se_w(g), WID(g, F_LW_WEIGHT), &weight, err))
		return -1;
	if ((w[RB_PARENT_COLOR] & ~3ULL) != parent)
		return xds_fail(err, "cfs_rq %#llx: node %#llx has parent %#llx, expected %#llx",
				(unsigned long long)sh->cfs, (unsigned long long)node,
				(unsigned long long)(w[RB_PARENT_COLOR] & ~3ULL), (unsigned long long)parent);
	bool red = !(w[RB_PARENT_COLOR] & 1);     /* red-red is checked once sorted */
	int lh = sh_walk(sh, w[RB_LEFT], node, depth + 1, prev_key, have_prev, limit, err);
	if (lh < 0)
		return -1;
	if (*have_prev && (int64_t)(key - *prev_key) < 0)
		return xds_fail(err, "cfs_rq %#llx: node %#llx out of vruntime order",
				(unsigned long long)sh->cfs, (unsigned long long)node);
	*prev_key = key;
	*have_prev = true;
	if (sh_add(sh, node, err))
		return -1;
	struct snode *s = &sh->v[sh->n - 1];
	s->key = key;
	s->weight = weight;
	memcpy(s->w, w, sizeof w);
	memcpy(s->orig, w, sizeof w);
	int rh = sh_walk(sh, w[RB_RIGHT], node, depth + 1, prev_key, have_prev, limit, err);
	if (rh < 0)
		return -1;
	if (lh != rh)
		return xds_fail(err, "cfs_rq %#llx: black heights differ under %#llx",
				(unsigned long long)sh->cfs, (unsigned long long)node);
	return lh + (red ? 0 : 1);
}

static int cmp_snode(const void *a, const void *b)
{
	uint64_t x = ((const struct snode *)a)->addr, y = ((const struct snode *)b)->addr;
	return x < y ? -1 : x > y;
}

static struct snode *sh_find(struct shadow *sh, uint64_t addr)
{
	struct snode key = { .addr = addr };
	return sh->n ? bsearch(&key, sh->v, (size_t)sh->n, sizeof key, cmp_snode) : NULL;
}

/* No red node has a red child (checked after sorting, on the shadow). */
static int sh_check_red(struct shadow *sh, struct xds_err *err)
{
	for (int i = 0; i < sh->n; i++) {
		struct snode *s = &sh->v[i];
		uint64_t p = s->w[RB_PARENT_COLOR] & ~3ULL;
		if (!p && !(s->w[RB_PARENT_COLOR] & 1))
			return xds_fail(err, "cfs_rq %#llx: red root", (unsigned long long)sh->cfs);
		struct snode *ps = p ? sh_find(sh, p) : NULL;
		if (ps && !(s->w[RB_PARENT_COLOR] & 1) && !(ps->w[RB_PARENT_COLOR] & 1))
			return xds_fail(err, "cfs_rq %#llx: red node %#llx under red %#llx",
					(unsigned long long)sh->cfs, (unsigned long long)s->addr,
					(unsigned long long)p);
	}
	return 0;
}

/* Reads and validates cfs's whole tree into sh. */
static int sh_load(struct shadow *sh, struct lx_guest *g, uint64_t cfs, struct xds_err *err)
{
	free(sh->v);
	memset(sh, 0, sizeof *sh);
	sh->g = g;
	sh->cfs = cfs;
	uint64_t base = cfs + timeline(g);
	if (rd(g, base + OFF(g, F_RBC_ROOT) + OFF(g, F_RB_ROOT_NODE), 8, &sh->root, err) ||
	    rd(g, base + OFF(g, F_RBC_LEFTMOST), 8, &sh->leftmost, err))
		return -1;
	uint64_t prev = 0;
	bool have_prev = false;
	if (sh_walk(sh, sh->root, 0, 0, &prev, &have_prev, LX_MAX_TASKS, err) < 0)
		return -1;
	uint64_t first = sh->n ? sh->v[0].addr : 0;   /* in-order: v[0] is leftmost */
	if (sh->leftmost != first)
		return xds_fail(err, "cfs_rq %#llx: leftmost cache %#llx, first node %#llx",
				(unsigned long long)cfs, (unsigned long long)sh->leftmost,
				(unsigned long long)first);
	if (sh->n)
		qsort(sh->v, (size_t)sh->n, sizeof *sh->v, cmp_snode);
	return sh_check_red(sh, err);
}

static uint64_t sh_get(void *ctx, uint64_t node, enum rb_word w)
{
	struct shadow *sh = ctx;
	struct snode *s = sh_find(sh, node);
	if (!s) {
		sh->bad = true;
		return 0;
	}
	return s->w[w];
}

static void sh_set(void *ctx, uint64_t node, enum rb_word w, uint64_t v)
{
	struct shadow *sh = ctx;
	struct snode *s = sh_find(sh, node);
	if (!s)
		sh->bad = true;
	else
		s->w[w] = v;
}

static bool sh_less(void *ctx, uint64_t a, uint64_t b)
{
	struct shadow *sh = ctx;
	struct snode *x = sh_find(sh, a), *y = sh_find(sh, b);
	if (!x || !y) {
		sh->bad = true;
		return false;
	}
	return (int64_t)(x->key - y->key) < 0;
}

static const struct rb_ops shadow_ops = { sh_get, sh_set, sh_less };

/* Write the nodes the operation changed, and the root and leftmost. */
static int sh_commit(struct shadow *sh, struct tx *tx, uint64_t root0, uint64_t left0, struct xds_err *err)
{
	struct lx_guest *g = sh->g;
	for (int i = 0; i < sh->n; i++) {
		struct snode *s = &sh->v[i];
		for (int w = 0; w < 3; w++)
			if (s->fresh || s->w[w] != s->orig[w])
				if (tx_put(tx, s->addr + rb_off(g, (enum rb_word)w), 8, s->w[w], err))
					return -1;
	}
	uint64_t base = sh->cfs + timeline(g);
	if (sh->root != root0 && tx_put(tx, base + OFF(g, F_RBC_ROOT) + OFF(g, F_RB_ROOT_NODE), 8, sh->root, err))
		return -1;
	if (sh->leftmost != left0 && tx_put(tx, base + OFF(g, F_RBC_LEFTMOST), 8, sh->leftmost, err))
		return -1;
	return 0;
}

/* Erase (node in tree) or insert (key given) on cfs's tree, written through tx. */
static int tree_op(struct lx_guest *g, struct tx *tx, uint64_t cfs, uint64_t node, bool insert, uint64_t key,
		   uint64_t weight, struct xds_err *err);

/* ---- batches ---- */

/*
 * Between lx_begin and lx_commit the changes of one pause share one write
 * log and one validated shadow per cfs_rq: each tree is read once, and the
 * touched structures are verified once, at commit.  A failed operation
 * inside the batch undoes its own writes; a failed commit undoes the batch.
 */
struct lx_batch {
	struct tx tx;
	uint64_t kick[LX_MAX_CPUS / 64];        /* idle CPUs asked to reschedule */
	struct shadow *sh;
	int nsh, capsh;
	uint64_t levels[64];
	int nlev;
};

static struct shadow *cached_shadow(struct lx_guest *g, uint64_t cfs, struct xds_err *err, bool *fresh)
{
	struct lx_batch *b = g->batch;
	*fresh = false;
	for (int i = 0; b && i < b->nsh; i++)
		if (b->sh[i].cfs == cfs)
			return &b->sh[i];
	if (b && b->nsh == b->capsh) {
		int cap = b->capsh ? 2 * b->capsh : 8;
		struct shadow *n = realloc(b->sh, (size_t)cap * sizeof *n);
		if (!n) {
			xds_fail(err, "out of memory");
			return NULL;
		}
		b->sh = n;
		b->capsh = cap;
	}
	struct shadow *sh = b ? &b->sh[b->nsh] : calloc(1, sizeof *sh);
	if (!sh) {
		xds_fail(err, "out of memory");
		return NULL;
	}
	memset(sh, 0, sizeof *sh);
	if (sh_load(sh, g, cfs, err)) {
		free(sh->v);
		if (!b)
			free(sh);
		return NULL;
	}
	if (b)
		b->nsh++;
	*fresh = !b;
	return sh;
}

static void drop_shadows(struct lx_batch *b)
{
	for (int i = 0; i < b->nsh; i++)
		free(b->sh[i].v);
	b->nsh = 0;
}

static void add_level(struct lx_batch *b, uint64_t cfs)
{
	for (int i = 0; i < b->nlev; i++)
		if (b->levels[i] == cfs)
			return;
	if (b->nlev < (int)(sizeof b->levels / sizeof b->levels[0]))
		b->levels[b->nlev++] = cfs;
}

static int tree_op(struct lx_guest *g, struct tx *tx, uint64_t cfs, uint64_t node, bool insert, uint64_t key,
		   uint64_t weight, struct xds_err *err)
{
	bool owned;
	struct shadow *sh = cached_shadow(g, cfs, err, &owned);
	if (!sh)
		return -1;
	int rc = -1;
	bool present = sh_find(sh, node) != NULL;
	if (present == insert) {
		xds_fail(err, "cfs_rq %#llx: node %#llx is %s the tree", (unsigned long long)cfs,
			 (unsigned long long)node, present ? "already in" : "not in");
		goto out;
	}
	if (insert) {
		if (sh_add(sh, node, err))
			goto out;
		sh->v[sh->n - 1].key = key;
		sh->v[sh->n - 1].weight = weight;
		sh->v[sh->n - 1].fresh = true;
		qsort(sh->v, (size_t)sh->n, sizeof *sh->v, cmp_snode);
	}
	struct rb_tree t = { .ops = &shadow_ops, .ctx = sh, .root = sh->root, .leftmost = sh->leftmost };
	uint64_t root0 = sh->root, left0 = sh->leftmost;
	if (insert)
		rb_insert(&t, node);
	else
		rb_erase(&t, node);
	if (t.broken || sh->bad) {
		xds_fail(err, "cfs_rq %#llx: tree operation failed", (unsigned long long)cfs);
		goto out;
	}
	sh->root = t.root;
	sh->leftmost = t.leftmost;
	rc = sh_commit(sh, tx, root0, left0, err);
	if (!rc) {
		/* the shadow now mirrors the guest: later operations diff from here */
		if (!insert) {
			struct snode *gone = sh_find(sh, node);
			*gone = sh->v[--sh->n];
			if (sh->n)
				qsort(sh->v, (size_t)sh->n, sizeof *sh->v, cmp_snode);
		}
		for (int i = 0; i < sh->n; i++) {
			memcpy(sh->v[i].orig, sh->v[i].w, sizeof sh->v[i].w);
			sh->v[i].fresh = false;
		}
	}
out:
	if (owned) {
		free(sh->v);
		free(sh);
	}
	return rc;
}

/* ---- checks ---- */

static int locks_free(struct lx_guest *g, uint64_t task, struct xds_err *err)
{
	unsigned lw = g->prof.structs[T_RAW_SPINLOCK].size;
	lw = lw > 4 || !lw ? 4 : lw;
	for (int cpu = 0; cpu < g->nr_cpus; cpu++) {
		uint64_t v;
		if (rd(g, g->rq[cpu] + OFF(g, F_RQ_LOCK), lw, &v, err))
			return -1;
		if (v) {
			xds_fail(err, "the run-queue lock of CPU %d is held", cpu);
			return LX_RETRY;
		}
	}
	uint64_t v;
	if (rd(g, task + OFF(g, F_TASK_PI_LOCK), lw, &v, err))
		return -1;
	if (v) {
		xds_fail(err, "the task's pi_lock is held");
		return LX_RETRY;
	}
	return LX_OK;
}

struct taskv {
	uint64_t addr, se, state, on_rq, pid, cpu, exit_state, policy;
	bool running;
	uint64_t rq, root_cfs;
};

static int read_task(struct lx_guest *g, uint64_t task, int pid, struct taskv *t, struct xds_err *err)
{
	memset(t, 0, sizeof *t);
	t->addr = task;
	t->se = task + OFF(g, F_TASK_SE);
	if (!lx_kernel_addr(task) ||
	    rd(g, task + OFF(g, F_TASK_PID), 4, &t->pid, err) ||
	    rd(g, task + OFF(g, F_TASK_STATE), WID(g, F_TASK_STATE) > 8 ? 8 : WID(g, F_TASK_STATE), &t->state, err) ||
	    rd(g, task + OFF(g, F_TASK_ON_RQ), 4, &t->on_rq, err) ||
	    rd(g, task + OFF(g, F_TASK_CPU), 4, &t->cpu, err) ||
	    rd(g, task + OFF(g, F_TASK_EXIT_STATE), 4, &t->exit_state, err) ||
	    rd(g, task + OFF(g, F_TASK_POLICY), 4, &t->policy, err))
		return xds_err_wrap(err, "task_struct %#llx", (unsigned long long)task);
	if ((int)t->pid != pid)
		return xds_fail(err, "task_struct %#llx now holds pid %d, not %d", (unsigned long long)task,
				(int)t->pid, pid);
	if (t->cpu >= (uint64_t)g->nr_cpus)
		return xds_fail(err, "task %d: CPU %llu out of range", pid, (unsigned long long)t->cpu);
	t->rq = g->rq[t->cpu];
	t->root_cfs = t->rq + OFF(g, F_RQ_CFS);
	uint64_t curr;
	if (rd(g, t->rq + OFF(g, F_RQ_CURR), 8, &curr, err))
		return -1;
	t->running = curr == task;
	return 0;
}

/* The red-black rules, order and leftmost cache, checked on a shadow. */
static int sv_walk(struct shadow *sh, uint64_t node, uint64_t parent, int depth, uint64_t *prev, bool *have,
		   int *count, struct xds_err *err)
{
	if (!node)
		return 1;
	struct snode *s = sh_find(sh, node);
	if (!s || depth > RB_MAX_HEIGHT || *count >= sh->n)
		return xds_fail(err, "cfs_rq %#llx: node %#llx is not a sound part of the tree",
				(unsigned long long)sh->cfs, (unsigned long long)node);
	if ((s->w[RB_PARENT_COLOR] & ~3ULL) != parent)
		return xds_fail(err, "cfs_rq %#llx: node %#llx has a wrong parent link", (unsigned long long)sh->cfs,
				(unsigned long long)node);
	bool red = !(s->w[RB_PARENT_COLOR] & 1);
	struct snode *l = s->w[RB_LEFT] ? sh_find(sh, s->w[RB_LEFT]) : NULL;
	struct snode *r = s->w[RB_RIGHT] ? sh_find(sh, s->w[RB_RIGHT]) : NULL;
	if (red && ((l && !(l->w[RB_PARENT_COLOR] & 1)) || (r && !(r->w[RB_PARENT_COLOR] & 1))))
		return xds_fail(err, "cfs_rq %#llx: red node %#llx has a red child", (unsigned long long)sh->cfs,
				(unsigned long long)node);
	int lh = sv_walk(sh, s->w[RB_LEFT], node, depth + 1, prev, have, count, err);
	if (lh < 0)
		return -1;
	if (!*have && sh->leftmost != node)
		return xds_fail(err, "cfs_rq %#llx: leftmost cache is wrong", (unsigned long long)sh->cfs);
	if (*have && (int64_t)(s->key - *prev) < 0)
		return xds_fail(err, "cfs_rq %#llx: node %#llx out of vruntime order", (unsigned long long)sh->cfs,
				(unsigned long long)node);
	*prev = s->key;
	*have = true;
	(*count)++;
	int rh = sv_walk(sh, s->w[RB_RIGHT], node, depth + 1, prev, have, count, err);
	if (rh < 0)
		return -1;
	if (lh != rh)
		return xds_fail(err, "cfs_rq %#llx: black heights differ under %#llx", (unsigned long long)sh->cfs,
				(unsigned long long)node);
	return lh + !red;
}

static int sh_validate(struct shadow *sh, struct xds_err *err)
{
	uint64_t prev = 0;
	bool have = false;
	int count = 0;
	if (sh->root && !(sh_find(sh, sh->root) && (sh_find(sh, sh->root)->w[RB_PARENT_COLOR] & 1)))
		return xds_fail(err, "cfs_rq %#llx: the root is missing or red", (unsigned long long)sh->cfs);
	if (sv_walk(sh, sh->root, 0, 0, &prev, &have, &count, err) < 0)
		return -1;
	if (count != sh->n || (!sh->root && sh->leftmost))
		return xds_fail(err, "cfs_rq %#llx: %d nodes reachable of %d", (unsigned long long)sh->cfs, count, sh->n);
	return 0;
}

/*
 * After the writes, with every word read back as written: the touched
 * trees obey the red-black rules, order and leftmost cache, and each
 * cfs_rq's nr_running and load.weight agree with its tree and curr.  In a
 * batch the tree is the batch's shadow: read and validated whole when the
 * batch first touched it, changed only by our writes, confirmed word by
 * word by the read-back, while the domain stays paused.
 */
static int verify_level(struct lx_guest *g, uint64_t cfs, struct xds_err *err)
{
	struct shadow own = { 0 }, *sh = NULL;
	for (int i = 0; g->batch && i < g->batch->nsh && !sh; i++)
		if (g->batch->sh[i].cfs == cfs)
			sh = &g->batch->sh[i];
	int rc = -1;
	struct cfsv c;
	if (!sh) {
		if (sh_load(&own, g, cfs, err))
			goto out;
		sh = &own;
	}
	if (sh_validate(sh, err) || read_cfs(g, cfs, &c, err))
		goto out;
	uint64_t load = 0, w;
	for (int i = 0; i < sh->n; i++)
		load += sh->v[i].weight;
	if (c.curr) {
		if (rd(g, c.curr + se_w(g), WID(g, F_LW_WEIGHT), &w, err))
			goto out;
		load += w;
	}
	if (c.nr != (uint64_t)sh->n + (c.curr != 0)) {
		xds_fail(err, "cfs_rq %#llx: nr_running %llu, tree %d + curr %d", (unsigned long long)cfs,
			 (unsigned long long)c.nr, sh->n, c.curr != 0);
		goto out;
	}
	if (c.load != load) {
		xds_fail(err, "cfs_rq %#llx: load %llu, entities weigh %llu", (unsigned long long)cfs,
			 (unsigned long long)c.load, (unsigned long long)load);
		goto out;
	}
	rc = 0;
out:
	free(own.v);
	return rc;
}

static int verify(struct lx_guest *g, struct tx *tx, const uint64_t *levels, int n, struct xds_err *err)
{
	if (tx_readback(tx, err))
		return -1;
	for (int i = 0; i < n; i++)
		if (verify_level(g, levels[i], err))
			return -1;
	return 0;
}

static int put_delta(struct tx *tx, uint64_t va, unsigned len, uint64_t cur, int delta, const char *what,
		     struct xds_err *err)
{
	if (delta < 0 && cur == 0)
		return xds_fail(err, "%s at %#llx is already 0", what, (unsigned long long)va);
	return tx_put(tx, va, len, cur + (uint64_t)(int64_t)delta, err);
}

/* ---- PSI and util_est, where the kernel has them ---- */

/*
 * PSI counts, per CPU and per pressure group, the tasks in each state; a
 * task's psi_flags say which counts it is in.  Taking a task off its queue
 * takes it out of the running count (TSK_RUNNING) of every group it
 * belongs to (its cgroup's and their parents', or psi_system alone), and
 * putting it back puts it in; a kernel that finds flags and counts
 * disagreeing warns "psi: inconsistent task state".  Only the counts and
 * flags are kept: the per-CPU state times catch up at the next change.
 * util_est is the same idea for the root cfs_rq's estimated utilisation.
 */
#define PSI_NR_RUNNING  2               /* enum psi_task_count, since 4.20 */
#define PSI_TSK_RUNNING (1u << PSI_NR_RUNNING)
#define PSI_MAX_GROUPS  16
#define UTIL_AVG_UNCHANGED 0x80000000u

static bool key_enabled(struct lx_guest *g, enum profile_sym_id key, struct xds_err *err, int *out)
{
	uint64_t v = 0;
	if (rd(g, g->prof.syms[key].addr + g->slide, 4, &v, err))
		return false;
	*out = (int)(uint32_t)v > 0;
	return true;
}

static bool psi_on(struct lx_guest *g)
{
	if (!g->prof.psi || !HAS(g, F_PSIG_PCPU) || !HAS(g, F_PSIGC_TASKS) || WID(g, F_PSIGC_TASKS) < 4 * 3)
		return false;
	int disabled = 0;
	if (g->prof.syms[S_PSI_DISABLED].present && !key_enabled(g, S_PSI_DISABLED, NULL, &disabled))
		return false;
	return !disabled;
}

/* The pressure groups a task is accounted in, innermost first. */
static int psi_groups(struct lx_guest *g, uint64_t task, uint64_t *out, struct xds_err *err)
{
	uint64_t group = g->prof.syms[S_PSI_SYSTEM].addr + g->slide;
	int cg = 0;
	if (g->prof.syms[S_PSI_CGROUPS_ENABLED].present && HAS(g, F_TASK_CGROUPS) && HAS(g, F_CSS_SET_DFL_CGRP) &&
	    HAS(g, F_CGROUP_PSI) && !key_enabled(g, S_PSI_CGROUPS_ENABLED, err, &cg))
		return -1;
	if (cg) {
		uint64_t css, cgrp, level;
		if (rd(g, task + OFF(g, F_TASK_CGROUPS), 8, &css, err) || !lx_kernel_addr(css) ||
		    rd(g, css + OFF(g, F_CSS_SET_DFL_CGRP), 8, &cgrp, err) || !lx_kernel_addr(cgrp) ||
		    rd(g, cgrp + OFF(g, F_CGROUP_LEVEL), 4, &level, err))
			return xds_fail(err, "task %#llx: cannot find its cgroup", (unsigned long long)task);
		if (level && rd(g, cgrp + OFF(g, F_CGROUP_PSI), 8, &group, err))
			return -1;
	}
	int n = 0;
	while (group && n < PSI_MAX_GROUPS) {
		if (!lx_kernel_addr(group))
			return xds_fail(err, "psi group %#llx: not a kernel address", (unsigned long long)group);
		out[n++] = group;
		if (!HAS(g, F_PSIG_PARENT) || rd(g, group + OFF(g, F_PSIG_PARENT), 8, &group, err))
			break;
	}
	return n;
}

static int psi_running(struct lx_guest *g, struct tx *tx, const struct taskv *t, bool running,
		       struct xds_err *err)
{
	if (!psi_on(g))
		return 0;
	uint64_t flags, groups[PSI_MAX_GROUPS];
	uint64_t fva = t->addr + OFF(g, F_TASK_PSI_FLAGS);
	if (rd(g, fva, 4, &flags, err))
		return -1;
	if (!!(flags & PSI_TSK_RUNNING) == running)
		return 0;                       /* already counted as wanted */
	int n = psi_groups(g, t->addr, groups, err);
	if (n < 0 || tx_put(tx, fva, 4, flags ^ PSI_TSK_RUNNING, err))
		return -1;
	for (int i = 0; i < n; i++) {
		uint64_t pcpu, cnt;
		if (rd(g, groups[i] + OFF(g, F_PSIG_PCPU), 8, &pcpu, err))
			return -1;
		uint64_t va = pcpu + g->pco[t->cpu] + OFF(g, F_PSIGC_TASKS) + 4 * PSI_NR_RUNNING;
		if (rd(g, va, 4, &cnt, err))
			return -1;
		if (put_delta(tx, va, 4, cnt, running ? 1 : -1, "psi running count", err))
			return -1;
	}
	return 0;
}

static int util_est(struct lx_guest *g, struct tx *tx, const struct taskv *t, bool add, struct xds_err *err)
{
	if (!HAS(g, F_CFS_RQ_AVG) || !HAS(g, F_SE_AVG) || !HAS(g, F_SA_UTIL_EST))
		return 0;
	uint32_t ue = OFF(g, F_SA_UTIL_EST);
	uint64_t enq, ewma, cfs_enq;
	uint64_t task_ue = t->se + OFF(g, F_SE_AVG) + ue, cfs_ue = t->root_cfs + OFF(g, F_CFS_RQ_AVG) + ue;
	if (rd(g, task_ue + OFF(g, F_UE_ENQUEUED), 4, &enq, err) || rd(g, task_ue + OFF(g, F_UE_EWMA), 4, &ewma, err) ||
	    rd(g, cfs_ue + OFF(g, F_UE_ENQUEUED), 4, &cfs_enq, err))
		return -1;
	enq &= ~(uint64_t)UTIL_AVG_UNCHANGED;
	uint64_t mine = ewma > enq ? ewma : enq;
	uint64_t v = add ? cfs_enq + mine : cfs_enq - (mine < cfs_enq ? mine : cfs_enq);
	return tx_put(tx, cfs_ue + OFF(g, F_UE_ENQUEUED), 4, v & 0xffffffffu, err);
}

/*
 * Asking a CPU to reschedule the way the kernel does: TIF_NEED_RESCHED on
 * its current task, and on x86 the same need folded into the CPU's
 * preempt count (PREEMPT_NEED_RESCHED, an inverted bit: cleared means
 * "reschedule").  The kernel's own resched_curr() folds it locally and an
 * IPI folds it remotely; a flag set from outside without the fold leaves
 * resched_curr() returning early on every tick after (the flag is set
 * already) and cond_resched() never firing, so a task looping in the
 * kernel on need_resched() (the zap loop of an exiting task) spins there
 * for good.  Where the profile does not know the preempt count, only an
 * idle CPU, which looks at the flag itself, is asked.
 */
#define PREEMPT_NEED_RESCHED 0x80000000u

static int set_need_resched(struct lx_guest *g, struct tx *tx, int cpu, uint64_t task, struct xds_err *err)
{
	uint32_t fo = OFF(g, F_TASK_THREAD_INFO) + OFF(g, F_TI_FLAGS);
	uint64_t flags, pc;
	if (rd(g, task + fo, WID(g, F_TI_FLAGS), &flags, err) ||
	    tx_put(tx, task + fo, WID(g, F_TI_FLAGS), flags | (1ULL << LX_TIF_NEED_RESCHED), err))
		return -1;
	if (!g->prof.syms[S_PREEMPT_COUNT].present)
		return 0;
	uint64_t va = g->prof.syms[S_PREEMPT_COUNT].addr + g->pco[cpu];
	if (rd(g, va, 4, &pc, err))
		return -1;
	return tx_put(tx, va, 4, pc & ~(uint64_t)PREEMPT_NEED_RESCHED, err);
}

static int ask_resched(struct lx_guest *g, struct tx *tx, int cpu, uint64_t task, bool idle, struct xds_err *err)
{
	if (!g->prof.syms[S_PREEMPT_COUNT].present && !idle)
		return 0;               /* the next tick preempts as it should */
	/* an idle CPU may be waiting for an interrupt: it needs a kick too */
	if (idle && g->batch && cpu >= 0 && cpu < LX_MAX_CPUS)
		g->batch->kick[cpu / 64] |= 1ull << (cpu % 64);
	return set_need_resched(g, tx, cpu, task, err);
}

/* ---- dequeue and enqueue ---- */

static int count_level(struct lx_guest *g, struct tx *tx, const struct cfsv *c, int delta, bool idle,
		       struct xds_err *err)
{
	if (put_delta(tx, c->addr + OFF(g, F_CFS_RQ_H_NR_RUNNING), WID(g, F_CFS_RQ_H_NR_RUNNING), c->h_nr, delta,
		      "h_nr_running", err))
		return -1;
	if (idle && HAS(g, F_CFS_RQ_IDLE_H_NR_RUNNING) &&
	    put_delta(tx, c->addr + OFF(g, F_CFS_RQ_IDLE_H_NR_RUNNING), WID(g, F_CFS_RQ_IDLE_H_NR_RUNNING),
		      c->idle_h, delta, "idle_h_nr_running", err))
		return -1;
	return 0;
}

static int list_del_init(struct lx_guest *g, struct tx *tx, uint64_t node, struct xds_err *err)
{
	uint64_t next, prev, back;
	uint32_t on = OFF(g, F_LIST_NEXT), op = OFF(g, F_LIST_PREV);
	if (rd(g, node + on, 8, &next, err) || rd(g, node + op, 8, &prev, err))
		return -1;
	if (!lx_kernel_addr(next) || !lx_kernel_addr(prev) || rd(g, next + op, 8, &back, err) || back != node)
		return xds_fail(err, "rq->cfs_tasks entry %#llx: broken links", (unsigned long long)node);
	if (tx_put(tx, prev + on, 8, next, err) || tx_put(tx, next + op, 8, prev, err) ||
	    tx_put(tx, node + on, 8, node, err) || tx_put(tx, node + op, 8, node, err))
		return -1;
	return 0;
}

static int list_add(struct lx_guest *g, struct tx *tx, uint64_t node, uint64_t head, struct xds_err *err)
{
	uint64_t first;
	uint32_t on = OFF(g, F_LIST_NEXT), op = OFF(g, F_LIST_PREV);
	if (rd(g, head + on, 8, &first, err) || !lx_kernel_addr(first))
		return xds_fail(err, "rq->cfs_tasks head %#llx: broken", (unsigned long long)head);
	if (tx_put(tx, first + op, 8, node, err) || tx_put(tx, node + on, 8, first, err) ||
	    tx_put(tx, node + op, 8, head, err) || tx_put(tx, head + on, 8, node, err))
		return -1;
	return 0;
}

static int clear_buddies(struct lx_guest *g, struct tx *tx, const struct cfsv *c, uint64_t se,
			 struct xds_err *err)
{
	const struct { uint64_t v; enum profile_field_id f; } b[] = {
		{ c->next, F_CFS_RQ_NEXT }, { c->last, F_CFS_RQ_LAST }, { c->skip, F_CFS_RQ_SKIP },
	};
	for (int i = 0; i < 3; i++)
		if (HAS(g, b[i].f) && b[i].v == se && tx_put(tx, c->addr + OFF(g, b[i].f), 8, 0, err))
			return -1;
	return 0;
}

static int rq_nr_running(struct lx_guest *g, struct tx *tx, uint64_t rq, int delta, struct xds_err *err)
{
	uint64_t nr;
	if (rd(g, rq + OFF(g, F_RQ_NR_RUNNING), WID(g, F_RQ_NR_RUNNING), &nr, err))
		return -1;
	return put_delta(tx, rq + OFF(g, F_RQ_NR_RUNNING), WID(g, F_RQ_NR_RUNNING), nr, delta, "rq->nr_running", err);
}

/* The levels from se up, which stay queued, gain or lose one task. */
static int count_above(struct lx_guest *g, struct tx *tx, const struct taskv *t, uint64_t se, int delta, bool idle,
		       struct xds_err *err)
{
	for (int depth = 0; se; depth++) {
		struct ent e;
		struct cfsv c;
		if (depth >= MAX_LEVELS)
			return xds_fail(err, "task groups nested deeper than %d", MAX_LEVELS);
		if (read_ent(g, se, t->root_cfs, &e, err) || read_cfs(g, e.cfs, &c, err) ||
		    count_level(g, tx, &c, delta, idle, err))
			return -1;
		se = e.parent;
	}
	return 0;
}

/* Remove a queued, not running task, level by level; levels[] gets the cfs_rqs touched. */
static int dequeue(struct lx_guest *g, struct tx *tx, const struct taskv *t, uint64_t *levels, int *nlev,
		   struct xds_err *err)
{
	bool idle = t->policy == LX_SCHED_IDLE;
	uint64_t se = t->se;
	bool task_level = true;
	*nlev = 0;
	while (se) {
		struct ent e;
		struct cfsv c;
		if (*nlev >= MAX_LEVELS)
			return xds_fail(err, "task groups nested deeper than %d", MAX_LEVELS);
		if (read_ent(g, se, t->root_cfs, &e, err) || read_cfs(g, e.cfs, &c, err))
			return -1;
		if (c.curr == se)
			return xds_fail(err, "entity %#llx is its cfs_rq's current: refused", (unsigned long long)se);
		if (!e.on_rq)
			return xds_fail(err, "entity %#llx is not queued", (unsigned long long)se);
		levels[(*nlev)++] = e.cfs;
		if (e.weight > c.load)
			return xds_fail(err, "cfs_rq %#llx: load %llu below the entity's %llu", (unsigned long long)c.addr,
					(unsigned long long)c.load, (unsigned long long)e.weight);
		if (tree_op(g, tx, e.cfs, se + OFF(g, F_SE_RUN_NODE), false, 0, 0, err) ||
		    clear_buddies(g, tx, &c, se, err) ||
		    tx_put(tx, se + OFF(g, F_SE_ON_RQ), WID(g, F_SE_ON_RQ), 0, err) ||
		    put_delta(tx, c.addr + OFF(g, F_CFS_RQ_LOAD) + OFF(g, F_LW_WEIGHT), WID(g, F_LW_WEIGHT), c.load,
			      -(int)e.weight, "load.weight", err) ||
		    tx_put(tx, c.addr + OFF(g, F_CFS_RQ_LOAD) + OFF(g, F_LW_INV_WEIGHT), WID(g, F_LW_INV_WEIGHT), 0, err) ||
		    put_delta(tx, c.addr + OFF(g, F_CFS_RQ_NR_RUNNING), WID(g, F_CFS_RQ_NR_RUNNING), c.nr, -1,
			      "nr_running", err) ||
		    count_level(g, tx, &c, -1, idle, err))
			return -1;
		if (task_level && (list_del_init(g, tx, se + OFF(g, F_SE_GROUP_NODE), err) ||
				   tx_put(tx, se + OFF(g, F_SE_VRUNTIME), 8, e.vruntime - c.minv, err)))
			return -1;
		task_level = false;
		se = e.parent;
		if (c.load != e.weight)
			break;          /* the group still has work: stays queued */
	}
	if (count_above(g, tx, t, se, -1, idle, err) || rq_nr_running(g, tx, t->rq, -1, err) || util_est(g, tx, t, false, err) ||
	    psi_running(g, tx, t, false, err))
		return -1;
	return tx_put(tx, t->addr + OFF(g, F_TASK_ON_RQ), 4, 0, err);
}

static int enqueue(struct lx_guest *g, struct tx *tx, const struct taskv *t, uint64_t *levels, int *nlev,
		   struct xds_err *err)
{
	bool idle = t->policy == LX_SCHED_IDLE;
	uint64_t se = t->se;
	bool task_level = true;
	*nlev = 0;
	while (se) {
		struct ent e;
		struct cfsv c;
		if (*nlev >= MAX_LEVELS)
			return xds_fail(err, "task groups nested deeper than %d", MAX_LEVELS);
		if (read_ent(g, se, t->root_cfs, &e, err) || read_cfs(g, e.cfs, &c, err))
			return -1;
		if (e.on_rq)
			break;          /* a group already queued */
		levels[(*nlev)++] = e.cfs;
		uint64_t v = task_level ? e.vruntime + c.minv
			: ((int64_t)(e.vruntime - c.minv) < 0 ? c.minv : e.vruntime);
		if (tx_put(tx, se + OFF(g, F_SE_VRUNTIME), 8, v, err) ||
		    tree_op(g, tx, e.cfs, se + OFF(g, F_SE_RUN_NODE), true, v, e.weight, err) ||
		    tx_put(tx, se + OFF(g, F_SE_ON_RQ), WID(g, F_SE_ON_RQ), 1, err) ||
		    tx_put(tx, c.addr + OFF(g, F_CFS_RQ_LOAD) + OFF(g, F_LW_WEIGHT), WID(g, F_LW_WEIGHT),
			   c.load + e.weight, err) ||
		    tx_put(tx, c.addr + OFF(g, F_CFS_RQ_LOAD) + OFF(g, F_LW_INV_WEIGHT), WID(g, F_LW_INV_WEIGHT), 0, err) ||
		    put_delta(tx, c.addr + OFF(g, F_CFS_RQ_NR_RUNNING), WID(g, F_CFS_RQ_NR_RUNNING), c.nr, 1,
			      "nr_running", err) ||
		    count_level(g, tx, &c, 1, idle, err))
			return -1;
		if (task_level && list_add(g, tx, se + OFF(g, F_SE_GROUP_NODE), t->rq + OFF(g, F_RQ_CFS_TASKS), err))
			return -1;
		task_level = false;
		se = e.parent;
	}
	if (count_above(g, tx, t, se, 1, idle, err) || rq_nr_running(g, tx, t->rq, 1, err) || util_est(g, tx, t, true, err) ||
	    psi_running(g, tx, t, true, err) ||
	    tx_put(tx, t->addr + OFF(g, F_TASK_ON_RQ), 4, LX_ON_RQ_QUEUED, err))
		return -1;
	/* ask the CPU to look again: its current task (or idle) must reschedule */
	uint64_t curr, idle_task;
	if (rd(g, t->rq + OFF(g, F_RQ_CURR), 8, &curr, err) || !lx_kernel_addr(curr) ||
	    rd(g, t->rq + OFF(g, F_RQ_IDLE), 8, &idle_task, err))
		return xds_fail(err, "CPU %llu: cannot read rq->curr", (unsigned long long)t->cpu);
	return ask_resched(g, tx, (int)t->cpu, curr, curr == idle_task, err);
}

/* Apply op; on any failure, put every old value back.  Outside a batch the
 * operation is a batch of its own; inside one, verification waits for
 * lx_commit. */
static int transact(struct lx_guest *g, const struct taskv *t,
		    int (*op)(struct lx_guest *, struct tx *, const struct taskv *, uint64_t *, int *, struct xds_err *),
		    struct xds_err *err)
{
	bool own = !g->batch;
	if (own)
		lx_begin(g);
	struct lx_batch *b = g->batch;
	if (!b) {
		xds_fail(err, "out of memory");
		return LX_FAIL;
	}
	int mark = b->tx.n;
	uint64_t levels[MAX_LEVELS], kick[LX_MAX_CPUS / 64];
	memcpy(kick, b->kick, sizeof kick);
	int nlev = 0;
	int rc = op(g, &b->tx, t, levels, &nlev, err);
	if (rc) {
		struct tx part = { .g = g, .w = b->tx.n > mark ? b->tx.w + mark : NULL, .n = b->tx.n - mark };
		tx_undo(&part);
		b->tx.n = mark;
		memcpy(b->kick, kick, sizeof kick);
		drop_shadows(b);        /* they may hold the undone state */
		xds_err_wrap(err, "undone");
	} else {
		for (int i = 0; i < nlev; i++)
			add_level(b, levels[i]);
	}
	if (own) {
		struct xds_err cerr;
		int crc = lx_commit(g, rc ? NULL : &cerr);
		if (!rc && crc) {
			*err = cerr;
			rc = -1;
		}
	}
	return rc ? LX_FAIL : LX_OK;
}

void lx_begin(struct lx_guest *g)
{
	if (!g->batch)
		g->batch = calloc(1, sizeof *g->batch);
	if (g->batch)
		g->batch->tx.g = g;
}

int lx_commit(struct lx_guest *g, struct xds_err *err)
{
	struct lx_batch *b = g->batch;
	if (!b)
		return LX_OK;
	int rc = verify(g, &b->tx, b->levels, b->nlev, err);
	g->batch = NULL;
	drop_shadows(b);
	if (rc) {
		tx_undo(&b->tx);
		xds_err_wrap(err, "the tick's changes were undone");
	} else {
		for (size_t i = 0; i < LX_MAX_CPUS / 64; i++)
			g->kick[i] |= b->kick[i];
	}
	free(b->tx.w);
	free(b->sh);
	free(b);
	return rc ? LX_FAIL : LX_OK;
}

static int set_state(struct lx_guest *g, const struct taskv *t, uint64_t state, struct xds_err *err)
{
	unsigned w = WID(g, F_TASK_STATE) > 8 ? 8 : WID(g, F_TASK_STATE);
	return vmem_write(g->vm, t->addr + OFF(g, F_TASK_STATE), &state, w, err) ? LX_FAIL : LX_OK;
}

/* A task we told to leave the CPU has left: make it look dequeued by us. */
static int settle(struct lx_guest *g, const struct taskv *t, struct xds_err *err)
{
	struct ent e;
	struct cfsv c;
	if (read_ent(g, t->se, t->root_cfs, &e, err) || read_cfs(g, e.cfs, &c, err))
		return LX_FAIL;
	struct tx tx = { .g = g };
	int rc = tx_put(&tx, t->se + OFF(g, F_SE_VRUNTIME), 8, e.vruntime - c.minv, err);
	unsigned w = WID(g, F_TASK_STATE) > 8 ? 8 : WID(g, F_TASK_STATE);
	if (!rc)
		rc = tx_put(&tx, t->addr + OFF(g, F_TASK_STATE), w, LX_TASK_RUNNING, err);
	if (!rc)
		rc = tx_readback(&tx, err);
	if (rc)
		tx_undo(&tx);
	free(tx.w);
	return rc ? LX_FAIL : LX_OK;
}

int lx_freeze(struct lx_guest *g, uint64_t task, int pid, enum lx_hold *hold, struct xds_err *err)
{
	struct taskv t;
	if (read_task(g, task, pid, &t, err))
		return LX_FAIL;
	if (t.exit_state) {
		xds_fail(err, "task %d is exiting", pid);
		return LX_FAIL;
	}
	int lk = locks_free(g, task, err);
	if (lk != LX_OK)
		return lk < 0 ? LX_FAIL : LX_RETRY;
	if (t.running) {
		if (t.state == LX_TASK_FROZEN) {        /* told already; not gone yet */
			*hold = LX_HOLD_DESCHED;
			xds_fail(err, "task %d has not left its CPU yet", pid);
			return LX_RETRY;
		}
		if (t.state != LX_TASK_RUNNING) {
			xds_fail(err, "task %d is running in state %#llx (going to sleep)", pid,
				 (unsigned long long)t.state);
			return LX_RETRY;
		}
		struct be_regs regs;
		if (be_regs(g->be, g->dom, (int)t.cpu, &regs, err))
			return LX_FAIL;
		if (regs.cpl != 3) {
			xds_fail(err, "task %d is running in kernel mode on CPU %llu", pid, (unsigned long long)t.cpu);
			return LX_RETRY;
		}
		struct tx tx = { .g = g };
		unsigned w = WID(g, F_TASK_STATE) > 8 ? 8 : WID(g, F_TASK_STATE);
		/* in user mode, the flag alone sends it to schedule() on its way back
		 * to user space; the fold keeps a system call it makes first from
		 * spinning on need_resched() */
		int rc = tx_put(&tx, task + OFF(g, F_TASK_STATE), w, LX_TASK_FROZEN, err) ||
			 set_need_resched(g, &tx, (int)t.cpu, task, err) ||
			 tx_readback(&tx, err);
		if (rc)
			tx_undo(&tx);
		free(tx.w);
		*hold = LX_HOLD_DESCHED;
		return rc ? LX_FAIL : LX_OK;
	}
	if (t.state == LX_TASK_FROZEN && !t.on_rq) {            /* left its CPU: ours now */
		if (settle(g, &t, err))
			return LX_FAIL;
		*hold = LX_HOLD_DEQUEUED;
		return LX_OK;
	}
	if (t.state == LX_TASK_RUNNING && !t.on_rq) {
		uint64_t se_on_rq;
		if (rd(g, t.se + OFF(g, F_SE_ON_RQ), WID(g, F_SE_ON_RQ), &se_on_rq, err))
			return LX_FAIL;
		if (!se_on_rq) {                                /* already off: held */
			*hold = LX_HOLD_DEQUEUED;
			return LX_OK;
		}
	}
	if (t.state != LX_TASK_RUNNING || t.on_rq != LX_ON_RQ_QUEUED) {
		xds_fail(err, "task %d is not queued (state %#llx, on_rq %llu)", pid, (unsigned long long)t.state,
			 (unsigned long long)t.on_rq);
		return LX_RETRY;
	}
	if (transact(g, &t, dequeue, err))
		return LX_FAIL;
	*hold = LX_HOLD_DEQUEUED;
	return LX_OK;
}

int lx_kick(struct lx_guest *g, int *sent, struct xds_err *err)
{
	int rc = 0;
	*sent = 0;
	for (int cpu = 0; cpu < LX_MAX_CPUS; cpu++) {
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

int lx_thaw(struct lx_guest *g, uint64_t task, int pid, struct xds_err *err)
{
	struct taskv t;
	if (read_task(g, task, pid, &t, err))
		return LX_FAIL;
	int lk = locks_free(g, task, err);
	if (lk != LX_OK)
		return lk < 0 ? LX_FAIL : LX_RETRY;
	if (t.state == LX_TASK_FROZEN && t.running)     /* never left: just cancel */
		return set_state(g, &t, LX_TASK_RUNNING, err);
	if (t.state == LX_TASK_FROZEN && !t.on_rq) {
		if (settle(g, &t, err))
			return LX_FAIL;
		t.state = LX_TASK_RUNNING;
	}
	if (t.on_rq || t.state != LX_TASK_RUNNING || t.exit_state)
		return LX_OK;           /* queued, asleep or exiting: not held, nothing to undo */
	return transact(g, &t, enqueue, err);
}
