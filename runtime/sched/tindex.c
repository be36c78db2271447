/*
 * tindex.c - one open-addressing index from a task's key to an entry
 * number, shared by the held set (held.c) and the accounting (acct.c).
 *
 * Linear probing over a power-of-two table kept under half full.  Entries
 * are only added; an owner whose entries move (a drop swaps the last one
 * in) resets and refills it.  The caller's match function tells entries
 * with the same hash apart, so the index stores numbers only.
 */
#include <stdlib.h>

#include "sched/sched_int.h"

#define TINDEX_MIN 64

uint64_t tindex_hash(int guest, uint64_t addr, int pid)
{
	uint64_t h = addr ^ ((uint64_t)guest << 56) ^ ((uint64_t)(unsigned)pid << 20);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

int tindex_reset(struct tindex *ix, size_t n)
{
	size_t cap = TINDEX_MIN;
	while (cap < 2 * n + 1)
		cap *= 2;
	if (cap != ix->cap) {
		int *slot = malloc(cap * sizeof *slot);
		if (!slot)
			return -1;
		free(ix->slot);
		ix->slot = slot;
		ix->cap = cap;
	}
	for (size_t i = 0; i < ix->cap; i++)
		ix->slot[i] = -1;
	return 0;
}

void tindex_put(struct tindex *ix, uint64_t hash, int entry)
{
	size_t mask = ix->cap - 1, k = hash & mask;
	while (ix->slot[k] >= 0)
		k = (k + 1) & mask;
	ix->slot[k] = entry;
}

int tindex_find(const struct tindex *ix, uint64_t hash,
		bool (*match)(const void *ctx, int entry), const void *ctx)
{
	if (!ix->slot)
		return -1;
	size_t mask = ix->cap - 1;
	for (size_t k = hash & mask; ix->slot[k] >= 0; k = (k + 1) & mask)
		if (match(ctx, ix->slot[k]))
			return ix->slot[k];
	return -1;
}

void tindex_free(struct tindex *ix)
{
	free(ix->slot);
	ix->slot = NULL;
	ix->cap = 0;
}
