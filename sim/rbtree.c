/*
 * rbtree.c - the guest's red-black tree (CFS's tasks_timeline).
 *
 * Nodes live in guest memory and link by guest-virtual address, so every
 * access goes through G().  The colour is bit 0 of __rb_parent_color
 * (0 red, 1 black) and the parent pointer the rest, as in Linux; the
 * leftmost node is cached in rb_root_cached.  Equal keys go right, so the
 * in-order walk is stable.  Every loop is bounded by a height no valid
 * tree reaches: a corrupt tree oopses the guest instead of hanging the host.
 *
 * The algorithms are the textbook ones (insert with recolouring and
 * rotations, erase with the double-black fix-up); invariants are checked
 * separately, in check.c.
 */
#include "simk.h"

#define RB_RED   0UL
#define RB_BLACK 1UL
#define RB_MAX_HEIGHT 128

typedef struct rb_node *node_t;

static node_t parent_of(struct sdom *d, node_t n)
{
	return (node_t)(uintptr_t)(G(d, n)->__rb_parent_color & ~3UL);
}

static bool is_red(struct sdom *d, node_t n)
{
	return n && (G(d, n)->__rb_parent_color & 1) == RB_RED;
}

static void set_parent(struct sdom *d, node_t n, node_t p)
{
	unsigned long *pc = &G(d, n)->__rb_parent_color;
	*pc = (*pc & 1) | (unsigned long)(uintptr_t)p;
}

static void set_colour(struct sdom *d, node_t n, unsigned long c)
{
	unsigned long *pc = &G(d, n)->__rb_parent_color;
	*pc = (*pc & ~1UL) | c;
}

static unsigned long colour_of(struct sdom *d, node_t n)
{
	return n ? (G(d, n)->__rb_parent_color & 1) : RB_BLACK;
}

/* Make the link that pointed at old point at new. */
static void replace_child(struct sdom *d, struct rb_root_cached *root, node_t p,
			  node_t old, node_t new)
{
	if (!p)
		root->rb_root.rb_node = new;
	else if (G(d, p)->rb_left == old)
		G(d, p)->rb_left = new;
	else
		G(d, p)->rb_right = new;
}

static void rotate_left(struct sdom *d, struct rb_root_cached *root, node_t x)
{
	node_t y = G(d, x)->rb_right;
	node_t p = parent_of(d, x);
	G(d, x)->rb_right = G(d, y)->rb_left;
	if (G(d, y)->rb_left)
		set_parent(d, G(d, y)->rb_left, x);
	set_parent(d, y, p);
	replace_child(d, root, p, x, y);
	G(d, y)->rb_left = x;
	set_parent(d, x, y);
}

static void rotate_right(struct sdom *d, struct rb_root_cached *root, node_t x)
{
	node_t y = G(d, x)->rb_left;
	node_t p = parent_of(d, x);
	G(d, x)->rb_left = G(d, y)->rb_right;
	if (G(d, y)->rb_right)
		set_parent(d, G(d, y)->rb_right, x);
	set_parent(d, y, p);
	replace_child(d, root, p, x, y);
	G(d, y)->rb_right = x;
	set_parent(d, x, y);
}

static void insert_fixup(struct sdom *d, struct rb_root_cached *root, node_t n)
{
	for (int guard = 0; guard < RB_MAX_HEIGHT; guard++) {
		node_t p = parent_of(d, n);
		if (!p || !is_red(d, p))
			break;
		node_t g = parent_of(d, p);
		if (!g)
			simk_oops(d, "rbtree: red root at %#lx", (unsigned long)(uintptr_t)p);
		bool left = G(d, g)->rb_left == p;
		node_t u = left ? G(d, g)->rb_right : G(d, g)->rb_left;
		if (is_red(d, u)) {
			set_colour(d, p, RB_BLACK);
			set_colour(d, u, RB_BLACK);
			set_colour(d, g, RB_RED);
			n = g;
			continue;
		}
		if (left && n == G(d, p)->rb_right) {
			rotate_left(d, root, p);
			n = p;
			p = parent_of(d, n);
		} else if (!left && n == G(d, p)->rb_left) {
			rotate_right(d, root, p);
			n = p;
			p = parent_of(d, n);
		}
		set_colour(d, p, RB_BLACK);
		set_colour(d, g, RB_RED);
		if (left)
			rotate_right(d, root, g);
		else
			rotate_left(d, root, g);
	}
	set_colour(d, root->rb_root.rb_node, RB_BLACK);
}

void simk_rb_insert(struct sdom *d, struct rb_root_cached *root, node_t node,
		    bool (*less)(struct sdom *, node_t, node_t))
{
	node_t parent = NULL, cur = root->rb_root.rb_node;
	bool leftmost = true, go_left = false;
	for (int depth = 0; cur; depth++) {
		if (depth >= RB_MAX_HEIGHT)
			simk_oops(d, "rbtree: insert descends past %d levels", RB_MAX_HEIGHT);
		parent = cur;
		go_left = less(d, node, cur);
		if (go_left) {
			cur = G(d, cur)->rb_left;
		} else {
			cur = G(d, cur)->rb_right;
			leftmost = false;
		}
	}
	struct rb_node *n = G(d, node);
	n->__rb_parent_color = (unsigned long)(uintptr_t)parent | RB_RED;
	n->rb_left = n->rb_right = NULL;
	if (!parent)
		root->rb_root.rb_node = node;
	else if (go_left)
		G(d, parent)->rb_left = node;
	else
		G(d, parent)->rb_right = node;
	if (leftmost)
		root->rb_leftmost = node;
	insert_fixup(d, root, node);
}

static node_t subtree_min(struct sdom *d, node_t n)
{
	for (int depth = 0; G(d, n)->rb_left; depth++) {
		if (depth >= RB_MAX_HEIGHT)
			simk_oops(d, "rbtree: left spine longer than %d", RB_MAX_HEIGHT);
		n = G(d, n)->rb_left;
	}
	return n;
}

node_t simk_rb_next(struct sdom *d, node_t n)
{
	if (G(d, n)->rb_right)
		return subtree_min(d, G(d, n)->rb_right);
	for (int depth = 0; depth < RB_MAX_HEIGHT; depth++) {
		node_t p = parent_of(d, n);
		if (!p || G(d, p)->rb_left == n)
			return p;
		n = p;
	}
	simk_oops(d, "rbtree: parent chain longer than %d", RB_MAX_HEIGHT);
}

static void erase_fixup(struct sdom *d, struct rb_root_cached *root, node_t x, node_t xp)
{
	for (int guard = 0; guard < RB_MAX_HEIGHT; guard++) {
		if (x == root->rb_root.rb_node || is_red(d, x) || !xp)
			break;
		bool left = G(d, xp)->rb_left == x;
		node_t w = left ? G(d, xp)->rb_right : G(d, xp)->rb_left;
		if (!w)
			simk_oops(d, "rbtree: black-height broken at %#lx", (unsigned long)(uintptr_t)xp);
		if (is_red(d, w)) {
			set_colour(d, w, RB_BLACK);
			set_colour(d, xp, RB_RED);
			if (left)
				rotate_left(d, root, xp);
			else
				rotate_right(d, root, xp);
			w = left ? G(d, xp)->rb_right : G(d, xp)->rb_left;
		}
		node_t near = left ? G(d, w)->rb_left : G(d, w)->rb_right;
		node_t far = left ? G(d, w)->rb_right : G(d, w)->rb_left;
		if (!is_red(d, near) && !is_red(d, far)) {
			set_colour(d, w, RB_RED);
			x = xp;
			xp = parent_of(d, x);
			continue;
		}
		if (!is_red(d, far)) {
			set_colour(d, near, RB_BLACK);
			set_colour(d, w, RB_RED);
			if (left)
				rotate_right(d, root, w);
			else
				rotate_left(d, root, w);
			w = left ? G(d, xp)->rb_right : G(d, xp)->rb_left;
			far = left ? G(d, w)->rb_right : G(d, w)->rb_left;
		}
		set_colour(d, w, colour_of(d, xp));
		set_colour(d, xp, RB_BLACK);
		set_colour(d, far, RB_BLACK);
		if (left)
			rotate_left(d, root, xp);
		else
			rotate_right(d, root, xp);
		x = root->rb_root.rb_node;
		break;
	}
	if (x)
		set_colour(d, x, RB_BLACK);
}

void simk_rb_erase(struct sdom *d, struct rb_root_cached *root, node_t z)
{
	if (root->rb_leftmost == z)
		root->rb_leftmost = simk_rb_next(d, z);
	node_t x, xp, y = z;
	unsigned long removed = colour_of(d, y);
	node_t zl = G(d, z)->rb_left, zr = G(d, z)->rb_right;
	if (!zl || !zr) {
		x = zl ? zl : zr;
		xp = parent_of(d, z);
		replace_child(d, root, xp, z, x);
		if (x)
			set_parent(d, x, xp);
	} else {
		y = subtree_min(d, zr);
		removed = colour_of(d, y);
		x = G(d, y)->rb_right;
		if (parent_of(d, y) == z) {
			xp = y;
		} else {
			xp = parent_of(d, y);
			replace_child(d, root, xp, y, x);
			if (x)
				set_parent(d, x, xp);
			G(d, y)->rb_right = zr;
			set_parent(d, zr, y);
		}
		node_t zp = parent_of(d, z);
		replace_child(d, root, zp, z, y);
		G(d, y)->rb_left = zl;
		set_parent(d, zl, y);
		G(d, y)->__rb_parent_color = (unsigned long)(uintptr_t)zp | colour_of(d, z);
	}
	if (removed == RB_BLACK)
		erase_fixup(d, root, x, xp);
}
