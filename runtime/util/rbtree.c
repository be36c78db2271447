/*
 * rbtree.c - red-black insert and erase through node callbacks (rbtree.h).
 *
 * The textbook algorithms: insert as a red leaf, then recolour and rotate
 * upward; erase by splicing out the node or its successor, then fix the
 * double black.  The leftmost cache is kept on both paths.
 */
#include "util/rbtree.h"

static uint64_t get(struct rb_tree *t, uint64_t n, enum rb_word w)
{
	return t->ops->get(t->ctx, n, w);
}

static void set(struct rb_tree *t, uint64_t n, enum rb_word w, uint64_t v)
{
	t->ops->set(t->ctx, n, w, v);
}

static uint64_t parent_of(struct rb_tree *t, uint64_t n)
{
	return get(t, n, RB_PARENT_COLOR) & ~3ULL;
}

static uint64_t colour_of(struct rb_tree *t, uint64_t n)
{
	return n ? get(t, n, RB_PARENT_COLOR) & 1 : RB_BLACK;
}

static bool is_red(struct rb_tree *t, uint64_t n)
{
	return n && colour_of(t, n) == RB_RED;
}

static void set_parent(struct rb_tree *t, uint64_t n, uint64_t p)
{
	set(t, n, RB_PARENT_COLOR, (get(t, n, RB_PARENT_COLOR) & 1) | p);
}

static void set_colour(struct rb_tree *t, uint64_t n, uint64_t c)
{
	set(t, n, RB_PARENT_COLOR, (get(t, n, RB_PARENT_COLOR) & ~1ULL) | c);
}

static uint64_t child(struct rb_tree *t, uint64_t n, bool left)
{
	return get(t, n, left ? RB_LEFT : RB_RIGHT);
}

/* Make the link that pointed at old point at new. */
static void replace_child(struct rb_tree *t, uint64_t p, uint64_t old, uint64_t new)
{
	if (!p)
		t->root = new;
	else if (get(t, p, RB_LEFT) == old)
		set(t, p, RB_LEFT, new);
	else
		set(t, p, RB_RIGHT, new);
}

/* Rotate x down to the left (left) or right: its other child takes its place. */
static void rotate(struct rb_tree *t, uint64_t x, bool left)
{
	enum rb_word near = left ? RB_LEFT : RB_RIGHT, far = left ? RB_RIGHT : RB_LEFT;
	uint64_t y = get(t, x, far), p = parent_of(t, x);
	uint64_t inner = get(t, y, near);
	set(t, x, far, inner);
	if (inner)
		set_parent(t, inner, x);
	set_parent(t, y, p);
	replace_child(t, p, x, y);
	set(t, y, near, x);
	set_parent(t, x, y);
}

static void insert_fixup(struct rb_tree *t, uint64_t n)
{
	for (int guard = 0;; guard++) {
		if (guard > XDS_MAX_RB_HEIGHT) {
			t->broken = true;
			return;
		}
		uint64_t p = parent_of(t, n);
		if (!p || !is_red(t, p))
			break;
		uint64_t g = parent_of(t, p);
		if (!g) {
			t->broken = true;       /* a red root */
			return;
		}
		bool left = get(t, g, RB_LEFT) == p;
		uint64_t u = child(t, g, !left);
		if (is_red(t, u)) {
			set_colour(t, p, RB_BLACK);
			set_colour(t, u, RB_BLACK);
			set_colour(t, g, RB_RED);
			n = g;
			continue;
		}
		if (n == child(t, p, !left)) {
			rotate(t, p, left);
			n = p;
			p = parent_of(t, n);
		}
		set_colour(t, p, RB_BLACK);
		set_colour(t, g, RB_RED);
		rotate(t, g, !left);
	}
	set_colour(t, t->root, RB_BLACK);
}

void rb_insert(struct rb_tree *t, uint64_t node)
{
	uint64_t parent = 0, cur = t->root;
	bool leftmost = true, go_left = false;
	for (int depth = 0; cur; depth++) {
		if (depth >= XDS_MAX_RB_HEIGHT) {
			t->broken = true;
			return;
		}
		parent = cur;
		go_left = t->ops->less(t->ctx, node, cur);
		if (!go_left)
			leftmost = false;
		cur = child(t, cur, go_left);
	}
	set(t, node, RB_PARENT_COLOR, parent | RB_RED);
	set(t, node, RB_LEFT, 0);
	set(t, node, RB_RIGHT, 0);
	if (!parent)
		t->root = node;
	else
		set(t, parent, go_left ? RB_LEFT : RB_RIGHT, node);
	if (leftmost)
		t->leftmost = node;
	insert_fixup(t, node);
}

static uint64_t subtree_min(struct rb_tree *t, uint64_t n)
{
	for (int depth = 0; get(t, n, RB_LEFT); depth++) {
		if (depth >= XDS_MAX_RB_HEIGHT) {
			t->broken = true;
			return n;
		}
		n = get(t, n, RB_LEFT);
	}
	return n;
}

uint64_t rb_first(struct rb_tree *t)
{
	return t->root ? subtree_min(t, t->root) : 0;
}

uint64_t rb_next(struct rb_tree *t, uint64_t n)
{
	if (get(t, n, RB_RIGHT))
		return subtree_min(t, get(t, n, RB_RIGHT));
	for (int depth = 0; depth < XDS_MAX_RB_HEIGHT; depth++) {
		uint64_t p = parent_of(t, n);
		if (!p || get(t, p, RB_LEFT) == n)
			return p;
		n = p;
	}
	t->broken = true;
	return 0;
}

static void erase_fixup(struct rb_tree *t, uint64_t x, uint64_t xp)
{
	for (int guard = 0; guard <= XDS_MAX_RB_HEIGHT; guard++) {
		if (x == t->root || is_red(t, x) || !xp)
			break;
		bool left = get(t, xp, RB_LEFT) == x;
		uint64_t w = child(t, xp, !left);
		if (!w) {
			t->broken = true;       /* black heights were already wrong */
			return;
		}
		if (is_red(t, w)) {
			set_colour(t, w, RB_BLACK);
			set_colour(t, xp, RB_RED);
			rotate(t, xp, left);
			w = child(t, xp, !left);
		}
		uint64_t near = child(t, w, left), far = child(t, w, !left);
		if (!is_red(t, near) && !is_red(t, far)) {
			set_colour(t, w, RB_RED);
			x = xp;
			xp = parent_of(t, x);
			continue;
		}
		if (!is_red(t, far)) {
			set_colour(t, near, RB_BLACK);
			set_colour(t, w, RB_RED);
			rotate(t, w, !left);
			w = child(t, xp, !left);
			far = child(t, w, !left);
		}
		set_colour(t, w, colour_of(t, xp));
		set_colour(t, xp, RB_BLACK);
		set_colour(t, far, RB_BLACK);
		rotate(t, xp, left);
		x = t->root;
		break;
	}
	if (x)
		set_colour(t, x, RB_BLACK);
}

void rb_erase(struct rb_tree *t, uint64_t z)
{
	if (t->leftmost == z)
		t->leftmost = rb_next(t, z);
	uint64_t x, xp, y = z;
	uint64_t removed = colour_of(t, y);
	uint64_t zl = get(t, z, RB_LEFT), zr = get(t, z, RB_RIGHT);
	if (!zl || !zr) {
		x = zl ? zl : zr;
		xp = parent_of(t, z);
		replace_child(t, xp, z, x);
		if (x)
			set_parent(t, x, xp);
	} else {
		y = subtree_min(t, zr);
		removed = colour_of(t, y);
		x = get(t, y, RB_RIGHT);
		if (parent_of(t, y) == z) {
			xp = y;
		} else {
			xp = parent_of(t, y);
			replace_child(t, xp, y, x);
			if (x)
				set_parent(t, x, xp);
			set(t, y, RB_RIGHT, zr);
			set_parent(t, zr, y);
		}
		uint64_t zp = parent_of(t, z);
		replace_child(t, zp, z, y);
		set(t, y, RB_LEFT, zl);
		set_parent(t, zl, y);
		set(t, y, RB_PARENT_COLOR, zp | colour_of(t, z));
	}
	if (removed == RB_BLACK)
		erase_fixup(t, x, xp);
}
