/*
 * rbtree.h - red-black tree insert and erase over nodes that live elsewhere.
 *
 * Linux's CFS tree keeps its nodes in guest memory: the simulator's kernel
 * reaches them through its own address translation, the runtime through a
 * shadow copy it writes back.  So the algorithm here sees a node only as a
 * non-zero 64-bit name and reads and writes its three words through
 * callbacks: __rb_parent_color (colour in bit 0: 0 red, 1 black; parent in
 * the rest), rb_right, rb_left, as in Linux.  The caller holds the root
 * and the cached leftmost node.  Equal keys go right.  Every loop is
 * bounded by XDS_MAX_RB_HEIGHT (util/bounds.h); a tree that breaks the
 * bound sets t->broken and the operation stops (the caller's verification
 * then refuses it).
 */
#ifndef XDS_RBTREE_H
#define XDS_RBTREE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/bounds.h"

#define RB_RED   0ULL
#define RB_BLACK 1ULL
#define RB_MAX_HEIGHT XDS_MAX_RB_HEIGHT    /* the simulator's kernel uses this name */

enum rb_word { RB_PARENT_COLOR, RB_RIGHT, RB_LEFT };

struct rb_ops {
	uint64_t (*get)(void *ctx, uint64_t node, enum rb_word w);
	void (*set)(void *ctx, uint64_t node, enum rb_word w, uint64_t v);
	bool (*less)(void *ctx, uint64_t a, uint64_t b);   /* for insert */
};

struct rb_tree {
	const struct rb_ops *ops;
	void *ctx;
	uint64_t root;          /* rb_root.rb_node */
	uint64_t leftmost;      /* rb_root_cached.rb_leftmost */
	bool broken;
};

void rb_insert(struct rb_tree *t, uint64_t node);
void rb_erase(struct rb_tree *t, uint64_t node);
uint64_t rb_next(struct rb_tree *t, uint64_t node);
uint64_t rb_first(struct rb_tree *t);

#endif
