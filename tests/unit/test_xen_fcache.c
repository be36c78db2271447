/*
 * test_xen_fcache.c - the xen backend's mapped-frame cache, with a fake
 * mapper that hands out distinct pointers and counts live mappings, so
 * every map is checked to be reused and every unmap to be paired.
 */
#include <stdint.h>
#include <stdlib.h>

#include "backend/xen_fcache.h"
#include "tests/tap.h"

struct fake {
	long live;              /* mappings handed out and not unmapped */
	long calls;
	uint64_t refuse;        /* frames >= this fail to map */
	uintptr_t base;         /* pointers are base + 2 * frame + writable */
};

static void *fake_map(void *ctx, uint64_t frame, int writable)
{
	struct fake *f = ctx;
	f->calls++;
	if (frame >= f->refuse)
		return NULL;
	f->live++;
	return (void *)(f->base + 2 * (uintptr_t)frame + (writable ? 1 : 0));
}

static void fake_unmap(void *ctx, void *addr)
{
	struct fake *f = ctx;
	(void)addr;
	f->live--;
}

static struct xen_fcache *make(struct fake *f, size_t max)
{
	f->live = f->calls = 0;
	f->refuse = UINT64_MAX;
	f->base = 0x10000;
	struct xen_fcache_ops ops = { f, fake_map, fake_unmap };
	return xen_fcache_new(&ops, max);
}

static void frame_is_mapped_once_and_reused(void)
{
	struct fake f;
	struct xen_fcache *c = make(&f, 64);
	void *a = xen_fcache_get(c, 7, 0);
	void *b = xen_fcache_get(c, 7, 0);
	struct xen_fcache_stats st;
	xen_fcache_get_stats(c, &st);
	ok(a && a == b, "the same frame gives the same mapping");
	is_int(f.calls, 1, "a frame read twice is mapped once");
	is_int(st.hits, 1, "the second read is a hit");
	void *w = xen_fcache_get(c, 7, 1);
	ok(w && w != a, "a writable map of a cached frame is a mapping of its own");
	ok(xen_fcache_get(c, 7, 0) == a && xen_fcache_get(c, 7, 1) == w,
	   "both mappings stay cached");
	is_int(f.calls, 2, "two maps in all for one frame read and written");
	xen_fcache_free(c);
	is_int(f.live, 0, "free unmaps both");
}

static void failed_map_is_not_cached(void)
{
	struct fake f;
	struct xen_fcache *c = make(&f, 64);
	f.refuse = 100;
	ok(!xen_fcache_get(c, 100, 0), "a frame the mapper refuses gives NULL");
	ok(!xen_fcache_get(c, 100, 0), "and again");
	struct xen_fcache_stats st;
	xen_fcache_get_stats(c, &st);
	is_int(st.failures, 2, "each attempt is tried and counted");
	is_int(st.held, 0, "nothing is held for it");
	f.refuse = UINT64_MAX;
	ok(xen_fcache_get(c, 100, 0) != NULL, "it maps once the mapper agrees");
	xen_fcache_free(c);
	is_int(f.live, 0, "no mapping left behind");
}

static void cache_stays_within_its_bound(void)
{
	struct fake f;
	struct xen_fcache *c = make(&f, 100);
	long worst = 0;
	for (uint64_t fr = 0; fr < 1000; fr++) {
		xen_fcache_get(c, fr * 4099, 0);
		if (f.live > worst)
			worst = f.live;
	}
	struct xen_fcache_stats st;
	xen_fcache_get_stats(c, &st);
	ok(worst <= 101, "never more than max_frames (+ the one being added) "
	   "mapped: %ld", worst);
	ok(st.clears >= 9, "full cache cleared %llu times for 1000 frames",
	   (unsigned long long)st.clears);
	is_int(f.live, (long)st.held, "held counts exactly the live mappings");
	xen_fcache_clear(c);
	is_int(f.live, 0, "clear unmaps everything");
	xen_fcache_free(c);
}

static void many_frames_survive_growth(void)
{
	struct fake f;
	struct xen_fcache *c = make(&f, 1u << 20);
	int same = 1;
	for (uint64_t fr = 0; fr < 20000; fr++)
		xen_fcache_get(c, fr * 7919, 0);
	long maps = f.calls;
	for (uint64_t fr = 0; fr < 20000; fr++)
		same &= (uintptr_t)xen_fcache_get(c, fr * 7919, 0) == f.base + 2 * fr * 7919;
	ok(same, "20000 frames keep their mappings through table growth");
	is_int(f.calls, maps, "rereading them maps nothing");
	xen_fcache_free(c);
	is_int(f.live, 0, "free unmaps all 20000");
}

int main(void)
{
	frame_is_mapped_once_and_reused();
	failed_map_is_not_cached();
	cache_stays_within_its_bound();
	many_frames_survive_growth();
	return done_testing();
}
