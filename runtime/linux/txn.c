/*
 * txn.c - logged writes into a paused guest, their read-back and undo.
 *
 * A write is logged (address, width, old value, new value) before it is
 * made, with the width the profile gives the field, so that undo restores
 * exactly the bytes it changed and nothing beside them.  The read-back is
 * the first check at commit: each write's value must be what the next
 * write to that word found there, or what the guest holds at the end.
 * The checks of what the words mean (trees, counts) are the scheduler
 * family's, and which words to write is the callers'; this file knows no
 * kernel object but list_head.
 *
 * Fault injection (tests/unit/test_fault_kill.c; inert unless set):
 * XDS_FAULT_KILL_AFTER_WRITES=N makes the process raise SIGKILL right
 * after its N-th write into a guest (undo writes included), so that a
 * crash at any point of a batch, between a write and its read-back
 * included, can be tried; XDS_FAULT_LOSE_WRITE=N drops the N-th write
 * (undo writes not counted), which only the read-back can catch.
 */
#include <signal.h>
#include <stdlib.h>

#include "linux/linux_int.h"

void lx_txn_init(struct lx_txn *tx, struct lx_guest *g)
{
	*tx = (struct lx_txn){ .g = g };
}

void lx_txn_free(struct lx_txn *tx)
{
	free(tx->w);
	tx->w = NULL;
	tx->n = tx->cap = 0;
}

static int txn_log(struct lx_txn *tx, const struct lx_write *w, struct xds_err *err)
{
	if (lx_grow(&tx->w, &tx->cap, tx->n, sizeof *tx->w, err))
		return -1;
	tx->w[tx->n++] = *w;
	return 0;
}

/* A positive number from the environment, else 0 (read once per name). */
static long fault_env(const char *name, long *cache)
{
	if (*cache == -1) {
		const char *v = getenv(name);
		*cache = v && *v ? strtol(v, NULL, 10) : 0;
		if (*cache < 0)
			*cache = 0;
	}
	return *cache;
}

/* Fault injection: XDS_FAULT_LOSE_WRITE=N drops the N-th write a batch
 * makes (not its undo), as a hypervisor that lost it would; after each
 * write XDS_FAULT_KILL_AFTER_WRITES=N raises SIGKILL at the N-th. */
static int guest_write(struct lx_txn *tx, uint64_t va, const uint64_t *val, unsigned len, bool undo,
		       struct xds_err *err)
{
	static long kill_at = -1, lose_at = -1, writes, made;
	int rc = 0;
	made++;
	if (undo || fault_env("XDS_FAULT_LOSE_WRITE", &lose_at) != ++writes)
		rc = vmem_write(tx->g->vm, va, val, len, err);    /* little-endian guest and host */
	if (fault_env("XDS_FAULT_KILL_AFTER_WRITES", &kill_at) == made)
		raise(SIGKILL);
	return rc;
}

int lx_txn_put(struct lx_txn *tx, uint64_t va, unsigned len, uint64_t val, struct xds_err *err)
{
	struct lx_write w = { .va = va, .val = val, .len = len };
	if (lx_read(tx->g, va, len, &w.old, err) || txn_log(tx, &w, err))
		return -1;
	if (tx->g->write_log && tx->g->write_log(tx->g->write_log_ctx, va, len, w.old, val) < 0) {
		tx->n--;
		return xds_fail(err, "the undo log cannot be written: not writing %#llx", (unsigned long long)va);
	}
	return guest_write(tx, va, &val, len, false, err);
}

void lx_set_write_log(struct lx_guest *g, lx_write_log_fn fn, void *ctx)
{
	g->write_log = fn;
	g->write_log_ctx = ctx;
}

static uint64_t mask_of(unsigned len)
{
	return len >= 8 ? ~0ULL : (1ULL << (8 * len)) - 1;
}

int lx_restore(struct lx_guest *g, uint64_t va, unsigned len, uint64_t old, bool check, uint64_t expect,
	       struct xds_err *err)
{
	if (len < 1 || len > 8)
		return xds_fail(err, "restore of %#llx: width %u", (unsigned long long)va, len);
	uint64_t now;
	if (check && lx_read(g, va, len, &now, err))
		return -1;
	if (check && now != (expect & mask_of(len)))
		return 1;
	return vmem_write(g->vm, va, &old, len, err) ? -1 : 0;
}

int lx_txn_set(struct lx_txn *tx, uint64_t base, enum profile_field_id id, uint64_t val,
	       struct xds_err *err)
{
	return lx_txn_put(tx, base + lx_off(tx->g, id), lx_wid(tx->g, id), val, err);
}

int lx_txn_put_delta(struct lx_txn *tx, uint64_t va, unsigned len, uint64_t cur, int64_t delta,
		     const char *what, struct xds_err *err)
{
	if (delta < 0 && cur == 0)
		return xds_fail(err, "%s at %#llx is already 0", what, (unsigned long long)va);
	return lx_txn_put(tx, va, len, cur + (uint64_t)delta, err);
}

int lx_txn_add(struct lx_txn *tx, uint64_t base, enum profile_field_id id, uint64_t cur, int64_t delta,
	       const char *what, struct xds_err *err)
{
	return lx_txn_put_delta(tx, base + lx_off(tx->g, id), lx_wid(tx->g, id), cur, delta, what, err);
}

/* The value found in w's word after w: what the next write to the same
 * word logged as its old value, or, for the last, what the guest holds. */
static int after(const struct lx_txn *tx, int i, uint64_t *v, struct xds_err *err)
{
	for (int j = i + 1; j < tx->n; j++)
		if (tx->w[j].va == tx->w[i].va) {
			*v = tx->w[j].old;
			return 0;
		}
	return lx_read(tx->g, tx->w[i].va, tx->w[i].len, v, err) ? xds_err_wrap(err, "read-back") : 0;
}

/* Every word written read back as written: a write that did not land is
 * caught even when a later write to the same word, made from a stale
 * read, covered it. */
int lx_txn_readback(const struct lx_txn *tx, struct xds_err *err)
{
	for (int i = 0; i < tx->n; i++) {
		const struct lx_write *w = &tx->w[i];
		uint64_t v;
		if (after(tx, i, &v, err))
			return -1;
		if ((v & mask_of(w->len)) != (w->val & mask_of(w->len)))
			return xds_fail(err, "read-back of %#llx: %#llx, wrote %#llx", (unsigned long long)w->va,
					(unsigned long long)v, (unsigned long long)w->val);
	}
	return 0;
}

void lx_txn_undo(struct lx_txn *tx, int mark)
{
	for (int i = tx->n - 1; i >= mark; i--)
		guest_write(tx, tx->w[i].va, &tx->w[i].old, tx->w[i].len, true, NULL);
	tx->n = mark < tx->n ? mark : tx->n;
}

int lx_list_del_init(struct lx_txn *tx, uint64_t node, struct xds_err *err)
{
	struct lx_guest *g = tx->g;
	uint64_t next, prev, back;
	if (lx_read_field(g, node, F_LIST_NEXT, &next, err) || lx_read_field(g, node, F_LIST_PREV, &prev, err))
		return -1;
	if (!lx_kernel_addr(next) || !lx_kernel_addr(prev) || lx_read_field(g, next, F_LIST_PREV, &back, err) ||
	    back != node)
		return xds_fail(err, "list entry %#llx: broken links", (unsigned long long)node);
	bool bad = lx_txn_set(tx, prev, F_LIST_NEXT, next, err) || lx_txn_set(tx, next, F_LIST_PREV, prev, err) ||
		   lx_txn_set(tx, node, F_LIST_NEXT, node, err) || lx_txn_set(tx, node, F_LIST_PREV, node, err);
	return bad ? -1 : 0;
}

int lx_list_add(struct lx_txn *tx, uint64_t node, uint64_t head, struct xds_err *err)
{
	uint64_t first;
	if (lx_read_field(tx->g, head, F_LIST_NEXT, &first, err) || !lx_kernel_addr(first))
		return xds_fail(err, "list head %#llx: broken", (unsigned long long)head);
	bool bad = lx_txn_set(tx, first, F_LIST_PREV, node, err) || lx_txn_set(tx, node, F_LIST_NEXT, first, err) ||
		   lx_txn_set(tx, node, F_LIST_PREV, head, err) || lx_txn_set(tx, head, F_LIST_NEXT, node, err);
	return bad ? -1 : 0;
}
