/*
 * shadow.h - a validated copy of one cfs_rq's tree (shadow.c).
 *
 * Red-black surgery never runs on guest memory directly: the tree is read
 * whole into a shadow and validated first (links, colours, black heights,
 * order, leftmost), the algorithm (util/rbtree) runs on the shadow, and
 * only the words it changed are written back, through the batch's txn.
 */
#ifndef XDS_LINUX_SHADOW_H
#define XDS_LINUX_SHADOW_H

#include <stdbool.h>
#include <stdint.h>

#include "profile/profile.h"
#include "util/err.h"

struct lx_guest;
struct lx_txn;

/* One rb_node of the tree and its entity's key and load weight. */
struct lx_snode {
	uint64_t addr, key, weight;
	uint64_t w[3], orig[3];         /* enum rb_word order */
	bool fresh;                     /* not in the guest's tree yet */
};

struct lx_shadow {
	struct lx_guest *g;
	uint64_t cfs, root, leftmost;   /* the cfs_rq; tasks_timeline's words */
	struct lx_snode *v;             /* in the order read (then added) */
	int n, cap;
	int32_t *slot;                  /* v's indices by address hash, when indexed == n */
	uint32_t mask;
	int indexed;
	bool bad;                       /* the algorithm asked for a node not in v */
};

/* The shadows of one batch, one per cfs_rq, in the order loaded.  key is
 * the entity field the family orders its tree by. */
struct lx_shadows {
	struct lx_guest *g;
	enum profile_field_id key;
	struct lx_shadow *sh;
	int n, cap;
};

int lx_shadow_load(struct lx_shadow *sh, struct lx_guest *g, uint64_t cfs, enum profile_field_id key,
		   struct xds_err *err);
void lx_shadow_free(struct lx_shadow *sh);
/* The red-black rules, order and leftmost cache hold on the shadow. */
int lx_shadow_validate(const struct lx_shadow *sh, struct xds_err *err);

void lx_shadows_init(struct lx_shadows *set, struct lx_guest *g, enum profile_field_id key);
/* Forget every shadow (they may hold undone state); the set stays usable. */
void lx_shadows_drop(struct lx_shadows *set);
void lx_shadows_free(struct lx_shadows *set);
struct lx_shadow *lx_shadows_find(struct lx_shadows *set, uint64_t cfs);

/* Erase node from cfs's tree / insert it with its key and weight, and write
 * the changed words through tx.  The shadow then mirrors the guest. */
int lx_shadow_erase(struct lx_shadows *set, struct lx_txn *tx, uint64_t cfs, uint64_t node,
		    struct xds_err *err);
int lx_shadow_insert(struct lx_shadows *set, struct lx_txn *tx, uint64_t cfs, uint64_t node, uint64_t key,
		     uint64_t weight, struct xds_err *err);

#endif
