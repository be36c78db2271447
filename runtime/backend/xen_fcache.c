/*
 * xen_fcache.c - the mapped-frame cache of the xen backend (see
 * xen_fcache.h).
 *
 * Linear probing over a power-of-two table that doubles before it is half
 * full.  Entries are never removed one by one, so no tombstones are
 * needed: a clear marks every entry stale (a lookup passes over it, its
 * mappings stay), a trim unmaps every entry and empties the table.  The
 * table always keeps an empty slot, so a probe always ends.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "backend/xen_fcache.h"

#define XEN_FCACHE_MIN_SLOTS 1024u

struct xen_fcache_slot {
	uint64_t frame;
	void *ro, *rw;          /* both NULL: the slot is empty */
	bool stale;             /* forgotten by a clear, mapped until a trim */
};

struct xen_fcache {
	struct xen_fcache_ops ops;
	size_t nr_slots;        /* power of two, > 2 * held */
	struct xen_fcache_slot *slots;
	struct xen_fcache_stats st;
};

static size_t xen_fcache_hash(uint64_t frame, size_t nr_slots)
{
	frame *= 0x9e3779b97f4a7c15ull;
	return (size_t)(frame >> 32) & (nr_slots - 1);
}

static bool xen_fcache_empty(const struct xen_fcache_slot *s)
{
	return !s->ro && !s->rw;
}

struct xen_fcache *xen_fcache_new(const struct xen_fcache_ops *ops,
				  size_t max_frames)
{
	if (!ops || !ops->map || !ops->unmap || max_frames == 0)
		return NULL;
	struct xen_fcache *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->ops = *ops;
	c->st.max_frames = max_frames;
	c->nr_slots = XEN_FCACHE_MIN_SLOTS;
	c->slots = calloc(c->nr_slots, sizeof *c->slots);
	if (!c->slots) {
		free(c);
		return NULL;
	}
	return c;
}

static void xen_fcache_unmap_all(struct xen_fcache *c)
{
	for (size_t i = 0; i < c->nr_slots; i++) {
		struct xen_fcache_slot *s = &c->slots[i];
		if (s->ro)
			c->ops.unmap(c->ops.ctx, s->ro);
		if (s->rw)
			c->ops.unmap(c->ops.ctx, s->rw);
		memset(s, 0, sizeof *s);
	}
	c->st.held = 0;
	c->st.stale = 0;
}

void xen_fcache_clear(struct xen_fcache *c)
{
	for (size_t i = 0; i < c->nr_slots; i++)
		if (!xen_fcache_empty(&c->slots[i]))
			c->slots[i].stale = true;
	c->st.stale = c->st.held;
	c->st.clears++;
}

void xen_fcache_trim(struct xen_fcache *c)
{
	if (c->st.stale == 0 && c->st.held <= c->st.max_frames)
		return;
	xen_fcache_unmap_all(c);
	c->st.trims++;
}

void xen_fcache_free(struct xen_fcache *c)
{
	if (!c)
		return;
	xen_fcache_unmap_all(c);
	free(c->slots);
	free(c);
}

/* The live entry of frame, or the empty slot where it would go. */
static struct xen_fcache_slot *xen_fcache_find(struct xen_fcache *c,
					       uint64_t frame)
{
	size_t i = xen_fcache_hash(frame, c->nr_slots);
	for (;;) {
		struct xen_fcache_slot *s = &c->slots[i];
		if (xen_fcache_empty(s) || (s->frame == frame && !s->stale))
			return s;
		i = (i + 1) & (c->nr_slots - 1);
	}
}

/* The first empty slot on frame's probe path. */
static struct xen_fcache_slot *xen_fcache_free_slot(struct xen_fcache *c,
						    uint64_t frame)
{
	size_t i = xen_fcache_hash(frame, c->nr_slots);
	while (!xen_fcache_empty(&c->slots[i]))
		i = (i + 1) & (c->nr_slots - 1);
	return &c->slots[i];
}

/* Doubles the table (stale entries move too); on allocation failure the
 * old one stays (still correct, only fuller). */
static void xen_fcache_grow(struct xen_fcache *c)
{
	size_t n = c->nr_slots * 2;
	struct xen_fcache_slot *slots = calloc(n, sizeof *slots);
	if (!slots)
		return;
	struct xen_fcache_slot *old = c->slots;
	size_t old_n = c->nr_slots;
	c->slots = slots;
	c->nr_slots = n;
	for (size_t i = 0; i < old_n; i++)
		if (!xen_fcache_empty(&old[i]))
			*xen_fcache_free_slot(c, old[i].frame) = old[i];
	free(old);
}

/* Room for one more entry: grow when half full; 0 when an empty slot
 * would be left after it. */
static int xen_fcache_make_room(struct xen_fcache *c)
{
	if (2 * (c->st.held + 1) > c->nr_slots)
		xen_fcache_grow(c);
	return c->st.held + 2 <= c->nr_slots ? 0 : -1;
}

static void *xen_fcache_map(struct xen_fcache *c, uint64_t frame, int writable)
{
	void *addr = c->ops.map(c->ops.ctx, frame, writable);
	c->st.maps += addr != NULL;
	c->st.failures += addr == NULL;
	return addr;
}

void *xen_fcache_get(struct xen_fcache *c, uint64_t frame, int writable)
{
	struct xen_fcache_slot *s = xen_fcache_find(c, frame);
	if (!xen_fcache_empty(s)) {
		void **p = writable ? &s->rw : &s->ro;
		if (*p) {
			c->st.hits++;
			return *p;
		}
		return *p = xen_fcache_map(c, frame, writable);
	}
	if (xen_fcache_make_room(c) < 0) {
		c->st.failures++;
		return NULL;
	}
	void *addr = xen_fcache_map(c, frame, writable);
	if (!addr)
		return NULL;
	s = xen_fcache_free_slot(c, frame);
	s->frame = frame;
	if (writable)
		s->rw = addr;
	else
		s->ro = addr;
	if (++c->st.held > c->st.peak)
		c->st.peak = c->st.held;
	return addr;
}

void xen_fcache_get_stats(const struct xen_fcache *c,
			  struct xen_fcache_stats *st)
{
	*st = c->st;
}
