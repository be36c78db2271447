/*
 * held.c - the held set: one entry per task the scheduler froze or is
 * about to, with the policy's latest wish for it.
 *
 * Entries live in an array (dropping one moves the last into its place)
 * and are found by (guest slot, task_struct address) through a tindex
 * that is rebuilt on the next look-up after the array changed.  What an
 * entry means to the guest is sched.c's business; this file only keeps
 * the set.
 */
#include <stdlib.h>
#include <string.h>

#include "sched/sched_int.h"

struct held_key {
	const struct xds_sched *s;
	int guest;
	uint64_t addr;
};

static bool held_match(const void *ctx, int i)
{
	const struct held_key *k = ctx;
	return k->s->held[i].guest == k->guest && k->s->held[i].addr == k->addr;
}

static int held_reindex(struct xds_sched *s)
{
	if (tindex_reset(&s->held_idx, (size_t)s->nr_held))
		return -1;
	for (int i = 0; i < s->nr_held; i++)
		tindex_put(&s->held_idx, tindex_hash(s->held[i].guest, s->held[i].addr, 0), i);
	s->held_dirty = false;
	return 0;
}

struct xds_held *held_find(struct xds_sched *s, int guest, uint64_t addr)
{
	if ((s->held_dirty || !s->held_idx.slot) && held_reindex(s)) {
		for (int i = 0; i < s->nr_held; i++)    /* no memory for the index: scan */
			if (s->held[i].guest == guest && s->held[i].addr == addr)
				return &s->held[i];
		return NULL;
	}
	struct held_key k = { s, guest, addr };
	int i = tindex_find(&s->held_idx, tindex_hash(guest, addr, 0), held_match, &k);
	return i < 0 ? NULL : &s->held[i];
}

struct xds_held *held_add(struct xds_sched *s, int guest, const struct lx_task *t,
			  struct xds_err *err)
{
	if (s->nr_held == s->cap_held) {
		int cap = s->cap_held ? 2 * s->cap_held : 64;
		struct xds_held *n = realloc(s->held, (size_t)cap * sizeof *n);
		if (!n) {
			xds_fail(err, "out of memory");
			return NULL;
		}
		s->held = n;
		s->cap_held = cap;
	}
	struct xds_held *h = &s->held[s->nr_held++];
	s->held_dirty = true;
	memset(h, 0, sizeof *h);
	h->guest = guest;
	h->gen = xds_guest_gen(xds_host_guest(s->host, guest));
	h->addr = t->addr;
	h->pid = t->pid;
	h->start = t->start_ns;
	memcpy(h->comm, t->comm, sizeof h->comm);
	h->hold = XH_NONE;
	return h;
}

void held_drop(struct xds_sched *s, struct xds_held *h)
{
	*h = s->held[--s->nr_held];
	s->held_dirty = true;
}

void held_free(struct xds_sched *s)
{
	free(s->held);
	s->held = NULL;
	s->nr_held = s->cap_held = 0;
	tindex_free(&s->held_idx);
}

const struct xds_held *xds_sched_held(const struct xds_sched *s, int guest, uint64_t addr)
{
	return held_find((struct xds_sched *)s, guest, addr);
}

bool xds_sched_is_frozen(const struct xds_sched *s, int guest, uint64_t addr)
{
	const struct xds_held *h = xds_sched_held(s, guest, addr);
	return h && (h->want || h->hold == XH_FROZEN);
}

int xds_sched_nr_held(const struct xds_sched *s)
{
	return s->nr_held;
}

const struct xds_held *xds_sched_held_at(const struct xds_sched *s, int i)
{
	return i >= 0 && i < s->nr_held ? &s->held[i] : NULL;
}
