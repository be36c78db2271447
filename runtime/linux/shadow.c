/*
 * shadow.c - one cfs_rq's tree, read whole, validated, changed, written back.
 *
 * Load reads every node reachable from tasks_timeline (bounded in depth
 * and count), each with its three rb_node words and its entity's key and
 * weight, and refuses the tree unless it obeys every red-black rule, its
 * order and its leftmost cache.  Erase and insert then run util/rbtree on
 * the shadow, so the algorithm touches only nodes known to be the tree's,
 * and the words that changed are written through the batch's txn.  Which
 * field is the key, and what the counts beside the tree must be, is the
 * scheduler family's; an augmented tree (EEVDF) would add its own step.
 */
#include <stdlib.h>
#include <string.h>

#include "linux/linux_int.h"
#include "util/rbtree.h"

static const enum profile_field_id rb_field[3] = {
	[RB_PARENT_COLOR] = F_RB_PARENT_COLOR, [RB_RIGHT] = F_RB_RIGHT, [RB_LEFT] = F_RB_LEFT,
};

static bool is_black(const struct lx_snode *s)
{
	return s->w[RB_PARENT_COLOR] & 1;
}

static uint64_t parent_of(const struct lx_snode *s)
{
	return s->w[RB_PARENT_COLOR] & ~3ULL;
}

static uint32_t slot_hash(uint64_t addr, uint32_t mask)
{
	return (uint32_t)((addr >> 3) * 0x9E3779B97F4A7C15ULL >> 32) & mask;
}

/* v[i] into the index: false when its address is there already. */
static bool index_put(struct lx_shadow *sh, int i)
{
	uint32_t h = slot_hash(sh->v[i].addr, sh->mask);
	for (; sh->slot[h] >= 0; h = (h + 1) & sh->mask)
		if (sh->v[sh->slot[h]].addr == sh->v[i].addr)
			return false;
	sh->slot[h] = i;
	return true;
}

/* The hash index of v, kept at most half full; without memory, find
 * searches v one by one.  false when an address is in v twice. */
static bool reindex(struct lx_shadow *sh)
{
	uint32_t slots = 16;
	while (slots < 2u * (uint32_t)sh->n)
		slots *= 2;
	if (slots - 1 > sh->mask || !sh->slot) {
		free(sh->slot);
		sh->indexed = -1;
		if (!(sh->slot = malloc(slots * sizeof *sh->slot)))
			return true;
		sh->mask = slots - 1;
	}
	memset(sh->slot, 0xff, (sh->mask + 1) * sizeof *sh->slot);
	for (int i = 0; i < sh->n; i++)
		if (!index_put(sh, i))
			return false;
	sh->indexed = sh->n;
	return true;
}

static struct lx_snode *find(const struct lx_shadow *sh, uint64_t addr)
{
	if (sh->slot && sh->indexed == sh->n) {
		for (uint32_t h = slot_hash(addr, sh->mask); sh->slot[h] >= 0; h = (h + 1) & sh->mask)
			if (sh->v[sh->slot[h]].addr == addr)
				return &sh->v[sh->slot[h]];
		return NULL;
	}
	for (int i = 0; i < sh->n; i++)
		if (sh->v[i].addr == addr)
			return &sh->v[i];
	return NULL;
}

/* A node of address addr, new to v (indexed as it comes: a node met twice
 * is an error, found here and not by sorting v). */
static struct lx_snode *add(struct lx_shadow *sh, uint64_t addr, struct xds_err *err)
{
	if (!(sh->slot && sh->indexed == sh->n) && find(sh, addr))
		goto twice;
	if (lx_grow(&sh->v, &sh->cap, sh->n, sizeof *sh->v, err))
		return NULL;
	struct lx_snode *s = &sh->v[sh->n++];
	memset(s, 0, sizeof *s);
	s->addr = addr;
	if (sh->slot && sh->indexed == sh->n - 1 && 2u * (uint32_t)sh->n <= sh->mask + 1) {
		if (!index_put(sh, sh->n - 1))
			goto twice_added;
		sh->indexed = sh->n;
	} else if (!reindex(sh)) {
		goto twice_added;
	}
	return s;
twice_added:
	sh->n--;
	reindex(sh);
twice:
	xds_fail(err, "cfs_rq %#llx: node %#llx is reached twice", (unsigned long long)sh->cfs,
		 (unsigned long long)addr);
	return NULL;
}

/* ---- load ---- */

/* What collect reads of each entity, from se + lo: its rb_node's three
 * words, its key and its load weight, in one view. */
struct span {
	uint32_t lo, size, key, weight, rb[3];
};

static void entity_span(const struct lx_guest *g, enum profile_field_id key, struct span *sp)
{
	uint32_t rn = lx_off(g, F_SE_RUN_NODE), o[5], w[5];
	for (int i = 0; i < 3; i++) {
		o[i] = rn + lx_off(g, rb_field[i]);
		w[i] = 8;
	}
	o[3] = lx_off(g, key);
	w[3] = lx_wid(g, key);
	o[4] = lx_off(g, F_SE_LOAD) + lx_off(g, F_LW_WEIGHT);
	w[4] = lx_wid(g, F_LW_WEIGHT);
	uint32_t lo = o[0], hi = o[0] + w[0];
	for (int i = 1; i < 5; i++) {
		lo = o[i] < lo ? o[i] : lo;
		hi = o[i] + w[i] > hi ? o[i] + w[i] : hi;
	}
	sp->lo = lo;
	sp->size = hi - lo;
	for (int i = 0; i < 3; i++)
		sp->rb[i] = o[i] - lo;
	sp->key = o[3] - lo;
	sp->weight = o[4] - lo;
}

/* Every node reachable from node, in no particular order. */
static int collect(struct lx_shadow *sh, const struct span *sp, enum profile_field_id key, uint64_t node,
		   int depth, struct xds_err *err)
{
	struct lx_guest *g = sh->g;
	if (!node)
		return 0;
	if (depth > XDS_MAX_RB_HEIGHT || sh->n >= XDS_MAX_TREE_NODES)
		return xds_fail(err, "cfs_rq %#llx: tree deeper than %d or larger than %d (a cycle?)",
				(unsigned long long)sh->cfs, XDS_MAX_RB_HEIGHT, XDS_MAX_TREE_NODES);
	if (lx_check_deadline(g, sh->n + 1, err))
		return xds_err_wrap(err, "cfs_rq %#llx", (unsigned long long)sh->cfs);
	if (!lx_kernel_addr(node))
		return xds_fail(err, "cfs_rq %#llx: tree node %#llx is not a kernel address",
				(unsigned long long)sh->cfs, (unsigned long long)node);
	uint64_t se = node - lx_off(g, F_SE_RUN_NODE);
	struct lx_snode *s;
	const uint8_t *b = lx_piece_at(g, se + sp->lo, sp->size);
	if (b) {                        /* in the large page the last views mapped */
		if (!(s = add(sh, node, err)))
			return -1;
		for (int i = 0; i < 3; i++)
			s->w[i] = lx_load_le(b + sp->rb[i], 8);
		s->key = lx_load_le(b + sp->key, lx_wid(g, key) > 8 ? 8 : lx_wid(g, key));
		s->weight = lx_load_le(b + sp->weight, lx_wid(g, F_LW_WEIGHT) > 8 ? 8 : lx_wid(g, F_LW_WEIGHT));
	} else {
		struct view v;
		if (lx_view_open(&v, g, se + sp->lo, sp->size, err) || !(s = add(sh, node, err)))
			return -1;
		for (int i = 0; i < 3; i++)
			s->w[i] = lx_view_uint(&v, sp->rb[i], 8);
		s->key = lx_view_uint(&v, sp->key, lx_wid(g, key));
		s->weight = lx_view_uint(&v, sp->weight, lx_wid(g, F_LW_WEIGHT));
		if (v.failed)
			return xds_err_wrap(err, "cfs_rq %#llx: tree node", (unsigned long long)sh->cfs);
	}
	memcpy(s->orig, s->w, sizeof s->w);
	uint64_t left = s->w[RB_LEFT], right = s->w[RB_RIGHT];      /* s moves as v grows */
	return collect(sh, sp, key, left, depth + 1, err) || collect(sh, sp, key, right, depth + 1, err)
		? -1 : 0;
}

int lx_shadow_load(struct lx_shadow *sh, struct lx_guest *g, uint64_t cfs, enum profile_field_id key,
		   struct xds_err *err)
{
	memset(sh, 0, sizeof *sh);
	sh->g = g;
	sh->cfs = cfs;
	uint64_t base = cfs + lx_off(g, F_CFS_RQ_TASKS_TIMELINE);
	if (lx_read_field(g, base + lx_off(g, F_RBC_ROOT), F_RB_ROOT_NODE, &sh->root, err) ||
	    lx_read_field(g, base, F_RBC_LEFTMOST, &sh->leftmost, err))
		goto fail;
	struct span sp;
	entity_span(g, key, &sp);
	if (collect(sh, &sp, key, sh->root, 0, err))
		goto fail;
	if (!lx_shadow_validate(sh, err))
		return 0;
fail:
	lx_shadow_free(sh);
	return -1;
}

void lx_shadow_free(struct lx_shadow *sh)
{
	free(sh->v);
	free(sh->slot);
	sh->v = NULL;
	sh->slot = NULL;
	sh->n = sh->cap = 0;
	sh->mask = 0;
	sh->indexed = -1;
}

/* ---- validation ---- */

struct walk {
	const struct lx_shadow *sh;
	uint64_t prev;                  /* the key before, in order */
	bool have;
	int count;
	struct xds_err *err;
};

static int walk_fail(struct walk *w, uint64_t node, const char *what)
{
	return xds_fail(w->err, "cfs_rq %#llx: node %#llx %s", (unsigned long long)w->sh->cfs,
			(unsigned long long)node, what);
}

/* In order; returns the black height of the subtree, or -1.  s is node's
 * entry (NULL: not in the shadow); each child is looked up once, for the
 * red rule and for the descent. */
static int walk(struct walk *w, const struct lx_snode *s, uint64_t node, uint64_t parent, int depth)
{
	const struct lx_shadow *sh = w->sh;
	if (!node)
		return 1;
	if (!s || depth > XDS_MAX_RB_HEIGHT || w->count >= sh->n)
		return walk_fail(w, node, "is not a sound part of the tree");
	if (parent_of(s) != parent)
		return walk_fail(w, node, "has a wrong parent link");
	uint64_t l = s->w[RB_LEFT], r = s->w[RB_RIGHT];
	const struct lx_snode *ls = l ? find(sh, l) : NULL, *rs = r ? find(sh, r) : NULL;
	if (!is_black(s) && ((ls && !is_black(ls)) || (rs && !is_black(rs))))
		return walk_fail(w, node, "is red and has a red child");
	int lh = walk(w, ls, l, node, depth + 1);
	if (lh < 0)
		return -1;
	if (!w->have && sh->leftmost != node)
		return xds_fail(w->err, "cfs_rq %#llx: leftmost cache %#llx, first node %#llx",
				(unsigned long long)sh->cfs, (unsigned long long)sh->leftmost,
				(unsigned long long)node);
	if (w->have && (int64_t)(s->key - w->prev) < 0)
		return walk_fail(w, node, "is out of order");
	w->prev = s->key;
	w->have = true;
	w->count++;
	int rh = walk(w, rs, r, node, depth + 1);
	if (rh < 0)
		return -1;
	if (lh != rh)
		return walk_fail(w, node, "has subtrees of different black heights");
	return lh + is_black(s);
}

int lx_shadow_validate(const struct lx_shadow *sh, struct xds_err *err)
{
	struct walk w = { .sh = sh, .err = err };
	const struct lx_snode *root = sh->root ? find(sh, sh->root) : NULL;
	if (sh->root && !(root && is_black(root)))
		return xds_fail(err, "cfs_rq %#llx: the root is missing or red", (unsigned long long)sh->cfs);
	if (walk(&w, root, sh->root, 0, 0) < 0)
		return -1;
	if (!sh->root && sh->leftmost)
		return xds_fail(err, "cfs_rq %#llx: leftmost cache %#llx of an empty tree", (unsigned long long)sh->cfs,
				(unsigned long long)sh->leftmost);
	if (w.count != sh->n)
		return xds_fail(err, "cfs_rq %#llx: %d nodes reachable of %d", (unsigned long long)sh->cfs, w.count,
				sh->n);
	return 0;
}

/* ---- the set of one batch ---- */

void lx_shadows_init(struct lx_shadows *set, struct lx_guest *g, enum profile_field_id key)
{
	*set = (struct lx_shadows){ .g = g, .key = key };
}

void lx_shadows_drop(struct lx_shadows *set)
{
	for (int i = 0; i < set->n; i++)
		lx_shadow_free(&set->sh[i]);
	set->n = 0;
}

void lx_shadows_free(struct lx_shadows *set)
{
	lx_shadows_drop(set);
	free(set->sh);
	set->sh = NULL;
	set->cap = 0;
}

struct lx_shadow *lx_shadows_find(struct lx_shadows *set, uint64_t cfs)
{
	for (int i = 0; i < set->n; i++)
		if (set->sh[i].cfs == cfs)
			return &set->sh[i];
	return NULL;
}

/* cfs's shadow, loaded the first time the batch touches it. */
static struct lx_shadow *get(struct lx_shadows *set, uint64_t cfs, struct xds_err *err)
{
	struct lx_shadow *sh = lx_shadows_find(set, cfs);
	if (sh)
		return sh;
	if (lx_grow(&set->sh, &set->cap, set->n, sizeof *set->sh, err))
		return NULL;
	sh = &set->sh[set->n];
	if (lx_shadow_load(sh, set->g, cfs, set->key, err))
		return NULL;
	set->n++;
	return sh;
}

/* ---- surgery ---- */

static uint64_t sh_get(void *ctx, uint64_t node, enum rb_word w)
{
	struct lx_shadow *sh = ctx;
	struct lx_snode *s = find(sh, node);
	if (!s) {
		sh->bad = true;
		return 0;
	}
	return s->w[w];
}

static void sh_set(void *ctx, uint64_t node, enum rb_word w, uint64_t v)
{
	struct lx_shadow *sh = ctx;
	struct lx_snode *s = find(sh, node);
	if (!s)
		sh->bad = true;
	else
		s->w[w] = v;
}

static bool sh_less(void *ctx, uint64_t a, uint64_t b)
{
	struct lx_shadow *sh = ctx;
	struct lx_snode *x = find(sh, a), *y = find(sh, b);
	if (!x || !y) {
		sh->bad = true;
		return false;
	}
	return (int64_t)(x->key - y->key) < 0;
}

static const struct rb_ops shadow_ops = { sh_get, sh_set, sh_less };

/* Write the nodes the operation changed, and the root and leftmost. */
static int write_back(struct lx_shadow *sh, struct lx_txn *tx, uint64_t root0, uint64_t left0,
		      struct xds_err *err)
{
	struct lx_guest *g = sh->g;
	for (int i = 0; i < sh->n; i++) {
		struct lx_snode *s = &sh->v[i];
		for (int w = 0; w < 3; w++)
			if ((s->fresh || s->w[w] != s->orig[w]) && lx_txn_set(tx, s->addr, rb_field[w], s->w[w], err))
				return -1;
	}
	uint64_t base = sh->cfs + lx_off(g, F_CFS_RQ_TASKS_TIMELINE);
	if (sh->root != root0 && lx_txn_set(tx, base + lx_off(g, F_RBC_ROOT), F_RB_ROOT_NODE, sh->root, err))
		return -1;
	if (sh->leftmost != left0 && lx_txn_set(tx, base, F_RBC_LEFTMOST, sh->leftmost, err))
		return -1;
	return 0;
}

/* After a write-back the shadow mirrors the guest: later operations diff from here. */
static void settle_shadow(struct lx_shadow *sh, uint64_t erased)
{
	if (erased) {                   /* the last node takes its place in v */
		struct lx_snode *gone = find(sh, erased);
		*gone = sh->v[--sh->n];
		reindex(sh);
	}
	for (int i = 0; i < sh->n; i++) {
		memcpy(sh->v[i].orig, sh->v[i].w, sizeof sh->v[i].w);
		sh->v[i].fresh = false;
	}
}

static int run(struct lx_shadow *sh, struct lx_txn *tx, uint64_t node, bool insert, struct xds_err *err)
{
	struct rb_tree t = { .ops = &shadow_ops, .ctx = sh, .root = sh->root, .leftmost = sh->leftmost };
	uint64_t root0 = sh->root, left0 = sh->leftmost;
	if (insert)
		rb_insert(&t, node);
	else
		rb_erase(&t, node);
	if (t.broken || sh->bad)
		return xds_fail(err, "cfs_rq %#llx: tree operation failed", (unsigned long long)sh->cfs);
	sh->root = t.root;
	sh->leftmost = t.leftmost;
	if (write_back(sh, tx, root0, left0, err))
		return -1;
	settle_shadow(sh, insert ? 0 : node);
	return 0;
}

static int presence(const struct lx_shadow *sh, uint64_t node, bool want, struct xds_err *err)
{
	bool present = find(sh, node) != NULL;
	if (present == want)
		return 0;
	return xds_fail(err, "cfs_rq %#llx: node %#llx is %s the tree", (unsigned long long)sh->cfs,
			(unsigned long long)node, present ? "already in" : "not in");
}

int lx_shadow_erase(struct lx_shadows *set, struct lx_txn *tx, uint64_t cfs, uint64_t node,
		    struct xds_err *err)
{
	struct lx_shadow *sh = get(set, cfs, err);
	if (!sh || presence(sh, node, true, err))
		return -1;
	return run(sh, tx, node, false, err);
}

int lx_shadow_insert(struct lx_shadows *set, struct lx_txn *tx, uint64_t cfs, uint64_t node, uint64_t key,
		     uint64_t weight, struct xds_err *err)
{
	struct lx_shadow *sh = get(set, cfs, err);
	struct lx_snode *s;
	if (!sh || presence(sh, node, false, err) || !(s = add(sh, node, err)))
		return -1;
	s->key = key;
	s->weight = weight;
	s->fresh = true;
	return run(sh, tx, node, true, err);
}
