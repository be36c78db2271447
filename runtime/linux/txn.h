/*
 * txn.h - the write transaction of one batch (txn.c).
 *
 * Every word the runtime writes into a guest goes through a struct lx_txn:
 * the old value is read and logged first, then the new one is written.
 * lx_txn_readback checks that every word reads back as last written;
 * lx_txn_undo puts the old values back, newest first, byte for byte.
 */
#ifndef XDS_LINUX_TXN_H
#define XDS_LINUX_TXN_H

#include <stdint.h>

#include "profile/profile.h"
#include "util/err.h"

struct lx_guest;

struct lx_write {
	uint64_t va, old, val;
	unsigned len;                   /* 1..8 bytes */
};

struct lx_txn {
	struct lx_guest *g;
	struct lx_write *w;
	int n, cap;
};

void lx_txn_init(struct lx_txn *tx, struct lx_guest *g);
void lx_txn_free(struct lx_txn *tx);

/* Log the len bytes at va, then write val there. */
int lx_txn_put(struct lx_txn *tx, uint64_t va, unsigned len, uint64_t val, struct xds_err *err);
/* Field id of the object at base, with the profile's width. */
int lx_txn_set(struct lx_txn *tx, uint64_t base, enum profile_field_id id, uint64_t val,
	       struct xds_err *err);
/* cur + delta; a count already 0 is not decremented (what names it). */
int lx_txn_put_delta(struct lx_txn *tx, uint64_t va, unsigned len, uint64_t cur, int64_t delta,
		     const char *what, struct xds_err *err);
int lx_txn_add(struct lx_txn *tx, uint64_t base, enum profile_field_id id, uint64_t cur, int64_t delta,
	       const char *what, struct xds_err *err);

int lx_txn_readback(const struct lx_txn *tx, struct xds_err *err);
/* Undo the writes logged after the first mark (0: all), newest first. */
void lx_txn_undo(struct lx_txn *tx, int mark);

/* list_head surgery through the log: the kernel's list_del_init, list_add. */
int lx_list_del_init(struct lx_txn *tx, uint64_t node, struct xds_err *err);
int lx_list_add(struct lx_txn *tx, uint64_t node, uint64_t head, struct xds_err *err);

#endif
