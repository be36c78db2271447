/*
 * rbtree.c - the guest's red-black tree (CFS's tasks_timeline).
 *
 * The algorithm is the runtime's generic one (runtime/util/rbtree.c); this
 * file only gives it the guest's nodes: an rb_node in guest memory, reached
 * through G(), so a corrupt pointer oopses the guest instead of the host.
 * The tree's invariants are checked independently, in check.c.
 */
#include <stddef.h>

#include "simk.h"
#include "util/rbtree.h"

struct sim_rb {
	struct sdom *d;
	bool (*less)(struct sdom *, struct rb_node *, struct rb_node *);
};

static uint64_t *word(struct sdom *d, uint64_t node, enum rb_word w)
{
	struct rb_node *n = G(d, (struct rb_node *)(uintptr_t)node);
	return w == RB_PARENT_COLOR ? (uint64_t *)&n->__rb_parent_color
		: w == RB_RIGHT ? (uint64_t *)&n->rb_right : (uint64_t *)&n->rb_left;
}

static uint64_t sim_get(void *ctx, uint64_t node, enum rb_word w)
{
	return *word(((struct sim_rb *)ctx)->d, node, w);
}

static void sim_set(void *ctx, uint64_t node, enum rb_word w, uint64_t v)
{
	*word(((struct sim_rb *)ctx)->d, node, w) = v;
}

static bool sim_less(void *ctx, uint64_t a, uint64_t b)
{
	struct sim_rb *r = ctx;
	return r->less(r->d, (struct rb_node *)(uintptr_t)a, (struct rb_node *)(uintptr_t)b);
}

static const struct rb_ops sim_rb_ops = { sim_get, sim_set, sim_less };

static struct rb_tree open_tree(struct sim_rb *r, struct rb_root_cached *root)
{
	return (struct rb_tree){
		.ops = &sim_rb_ops, .ctx = r,
		.root = (uint64_t)(uintptr_t)root->rb_root.rb_node,
		.leftmost = (uint64_t)(uintptr_t)root->rb_leftmost,
	};
}

static void close_tree(struct sdom *d, struct rb_tree *t, struct rb_root_cached *root)
{
	root->rb_root.rb_node = (struct rb_node *)(uintptr_t)t->root;
	root->rb_leftmost = (struct rb_node *)(uintptr_t)t->leftmost;
	if (t->broken)
		simk_oops(d, "rbtree: corrupt tree (deeper than %d levels or unbalanced)", RB_MAX_HEIGHT);
}

void simk_rb_insert(struct sdom *d, struct rb_root_cached *root, struct rb_node *node,
		    bool (*less)(struct sdom *, struct rb_node *, struct rb_node *))
{
	struct sim_rb r = { d, less };
	struct rb_tree t = open_tree(&r, root);
	rb_insert(&t, (uint64_t)(uintptr_t)node);
	close_tree(d, &t, root);
}

void simk_rb_erase(struct sdom *d, struct rb_root_cached *root, struct rb_node *node)
{
	struct sim_rb r = { d, NULL };
	struct rb_tree t = open_tree(&r, root);
	rb_erase(&t, (uint64_t)(uintptr_t)node);
	close_tree(d, &t, root);
}

struct rb_node *simk_rb_next(struct sdom *d, struct rb_node *node)
{
	struct sim_rb r = { d, NULL };
	struct rb_tree t = { .ops = &sim_rb_ops, .ctx = &r };
	uint64_t n = rb_next(&t, (uint64_t)(uintptr_t)node);
	if (t.broken)
		simk_oops(d, "rbtree: parent chain longer than %d", RB_MAX_HEIGHT);
	return (struct rb_node *)(uintptr_t)n;
}
