/*
 * test_xen_fcache.c - the xen backend's mapped-frame cache, and the one
 * lifetime of mapped frames (backend.h, "Mapped frames") on it.
 *
 * Two fake mappers stand in for libxenforeignmemory.  One hands out
 * distinct made-up pointers and counts live mappings, so every map is
 * checked to be reused and every unmap to be paired.  The other maps real
 * guest memory (a RAM file, one mmap per frame, as a foreign map does)
 * and poisons what is unmapped (0xdd over the same address, kept mapped),
 * so a pointer used after its frame was let go reads poison, not the
 * guest.  On that one a frame is held across an overflow of the cache,
 * and a simulated guest is read through a cache bounded to one frame,
 * views and all, against the same guest read through the image backend.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "backend/xen_fcache.h"
#include "tests/tap.h"
#include "tests/simguest.h"

#define POISON 0xdd

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

static void over_its_bound_it_maps_on_until_a_trim(void)
{
	struct fake f;
	struct xen_fcache *c = make(&f, 100);
	for (uint64_t fr = 0; fr < 1000; fr++)
		xen_fcache_get(c, fr * 4099, 0);
	struct xen_fcache_stats st;
	xen_fcache_get_stats(c, &st);
	is_int(f.live, 1000, "1000 frames over a bound of 100: none unmapped by a get");
	ok(st.held == 1000 && st.peak == 1000 && st.max_frames == 100,
	   "the stats say so: held %zu, peak %zu, bound %zu", st.held, st.peak, st.max_frames);
	xen_fcache_trim(c);
	xen_fcache_get_stats(c, &st);
	ok(f.live == 0 && st.held == 0 && st.trims == 1, "the trim after it unmaps them all");
	for (uint64_t fr = 0; fr < 50; fr++)
		xen_fcache_get(c, fr, 0);
	xen_fcache_trim(c);
	long maps = f.calls;
	for (uint64_t fr = 0; fr < 50; fr++)
		xen_fcache_get(c, fr, 0);
	xen_fcache_get_stats(c, &st);
	ok(f.live == 50 && f.calls == maps && st.trims == 1,
	   "within the bound a trim keeps every frame for the next tick");
	xen_fcache_free(c);
	is_int(f.live, 0, "free unmaps them");
}

static void clear_forgets_and_the_trim_unmaps(void)
{
	struct fake f;
	struct xen_fcache *c = make(&f, 1u << 20);
	void *a = xen_fcache_get(c, 5, 0);
	xen_fcache_clear(c);
	is_int(f.live, 1, "a clear unmaps nothing");
	void *b = xen_fcache_get(c, 5, 0);
	is_int(f.calls, 2, "a cleared frame is mapped afresh");
	ok(a && b, "both mappings are handed out");
	/* enough frames beside the forgotten ones to double the table */
	for (uint64_t fr = 100; fr < 2100; fr++)
		xen_fcache_get(c, fr, 0);
	xen_fcache_clear(c);
	for (uint64_t fr = 100; fr < 2100; fr++)
		xen_fcache_get(c, fr, 0);
	long maps = f.calls;
	int same = 1;
	for (uint64_t fr = 100; fr < 2100; fr++)
		same &= xen_fcache_get(c, fr, 0) != NULL;
	struct xen_fcache_stats st;
	xen_fcache_get_stats(c, &st);
	ok(same && f.calls == maps, "after a clear and growth, frames are answered from the fresh entries");
	ok(st.held == 4002 && st.stale == 2002 && f.live == 4002,
	   "forgotten entries stay mapped until the trim: held %zu, stale %zu", st.held, st.stale);
	xen_fcache_trim(c);
	is_int(f.live, 0, "the trim after a clear unmaps everything, under the bound too");
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

/* ---- real guest memory, poisoned when unmapped ---- */

struct ram {
	int fd;
	uint64_t nr_frames;
	long live;
	void **graves;          /* poisoned pages, unmapped at the end */
	size_t nr_graves;
};

static void *ram_map(void *ctx, uint64_t frame, int writable)
{
	struct ram *r = ctx;
	if (frame >= r->nr_frames)
		return NULL;
	void *p = mmap(NULL, 4096, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, r->fd,
		       (off_t)(frame * 4096));
	if (p == MAP_FAILED)
		return NULL;
	r->live++;
	return p;
}

/* The frame goes; the address stays mapped, to poison, so that nothing
 * else lands there and a late read sees 0xdd. */
static void ram_unmap(void *ctx, void *addr)
{
	struct ram *r = ctx;
	r->live--;
	void *p = mmap(addr, 4096, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	memset(p, POISON, 4096);
	mprotect(p, 4096, PROT_READ);
	void **g = realloc(r->graves, (r->nr_graves + 1) * sizeof *g);
	if (g) {
		r->graves = g;
		r->graves[r->nr_graves++] = p;
	}
}

static void ram_close(struct ram *r)
{
	for (size_t i = 0; i < r->nr_graves; i++)
		munmap(r->graves[i], 4096);
	free(r->graves);
	close(r->fd);
}

static struct xen_fcache *ram_cache(struct ram *r, size_t max)
{
	struct xen_fcache_ops ops = { r, ram_map, ram_unmap };
	return xen_fcache_new(&ops, max);
}

static int all_bytes(const uint8_t *p, uint8_t v)
{
	for (int i = 0; i < 4096; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static void a_frame_held_across_an_overflow_reads_its_bytes(void)
{
	struct ram r = { .fd = memfd_create("guest", 0), .nr_frames = 64 };
	uint8_t frame[4096];
	for (uint64_t fr = 0; fr < r.nr_frames; fr++) {
		memset(frame, (int)(0x40 + fr), sizeof frame);
		pwrite(r.fd, frame, sizeof frame, (off_t)(fr * 4096));
	}
	struct xen_fcache *c = ram_cache(&r, 4);
	const uint8_t *held = xen_fcache_get(c, 3, 0);
	ok(held && all_bytes(held, 0x43), "frame 3 is mapped and reads frame 3");
	for (uint64_t fr = 10; fr < 60; fr++)
		xen_fcache_get(c, fr, 0);
	ok(all_bytes(held, 0x43), "50 frames later, over a bound of 4, it still reads frame 3");
	xen_fcache_clear(c);
	ok(all_bytes(held, 0x43), "and after a clear, until the trim");
	xen_fcache_trim(c);
	ok(all_bytes(held, POISON), "after the trim it reads poison: the fake unmaps for real");
	is_int(r.live, 0, "nothing left mapped");
	xen_fcache_free(c);
	ram_close(&r);
}

/* A backend whose frames come through the xen frame cache, over the
 * simulated guest's RAM file; the rest is the image backend's. */
struct cached_backend {
	struct backend be;
	struct backend *image;
	struct xen_fcache *c;
};

static struct cached_backend *cb(struct backend *be)
{
	return (struct cached_backend *)be;
}

static int cb_list(struct backend *be, struct be_dom *out, int max, struct xds_err *err)
{
	return be_list(cb(be)->image, out, max, err);
}

static int cb_pause(struct backend *be, int dom, struct xds_err *err)
{
	return be_pause(cb(be)->image, dom, err);
}

static int cb_resume(struct backend *be, int dom, struct xds_err *err)
{
	return be_resume(cb(be)->image, dom, err);
}

static int cb_status(struct backend *be, int dom, int *paused, struct xds_err *err)
{
	return be_status(cb(be)->image, dom, paused, err);
}

static void *cb_map(struct backend *be, int dom, uint64_t gfn, size_t nr, int writable,
		    struct xds_err *err)
{
	void *p = dom == 0 && nr == 1 ? xen_fcache_get(cb(be)->c, gfn, writable) : NULL;
	if (!p)
		xds_fail(err, "cached: frames %#llx+%zu cannot be mapped", (unsigned long long)gfn, nr);
	return p;
}

static void cb_flush(struct backend *be)
{
	xen_fcache_trim(cb(be)->c);
}

static int cb_regs(struct backend *be, int dom, int vcpu, struct be_regs *out, struct xds_err *err)
{
	return be_regs(cb(be)->image, dom, vcpu, out, err);
}

static int cb_nr_vcpus(struct backend *be, int dom, struct xds_err *err)
{
	return be_nr_vcpus(cb(be)->image, dom, err);
}

static void cb_close(struct backend *be)
{
	xen_fcache_free(cb(be)->c);
}

static const struct backend_ops cached_ops = {
	.name = "cached",
	.list = cb_list,
	.pause = cb_pause,
	.resume = cb_resume,
	.status = cb_status,
	.map = cb_map,
	.flush = cb_flush,
	.regs = cb_regs,
	.nr_vcpus = cb_nr_vcpus,
	.close = cb_close,
};

static const char guest_scenario[] =
	"host { pcpus = 2 }\n"
	"domain { name = 'F', vcpus = 2, ram = '32M' }\n"
	"for i = 1, 24 do task { dom = 'F', comm = 'busy' .. i, run = cpu() } end\n"
	"for i = 1, 16 do task { dom = 'F', comm = 'nap' .. i, run = periodic { run = '2ms', sleep = '30ms' } } end\n";

static int same_snapshot(const struct lx_snapshot *a, const struct lx_snapshot *b)
{
	if (a->nr_tasks != b->nr_tasks || a->nr_cpus != b->nr_cpus)
		return 0;
	for (int i = 0; i < a->nr_tasks; i++) {
		const struct lx_task *x = &a->tasks[i], *y = &b->tasks[i];
		if (x->addr != y->addr || x->pid != y->pid || x->tgid != y->tgid ||
		    strcmp(x->comm, y->comm) || x->raw_state != y->raw_state ||
		    x->cputime_ns != y->cputime_ns || x->vruntime != y->vruntime ||
		    x->queued != y->queued || x->running != y->running)
			return 0;
	}
	for (int i = 0; i < a->nr_cpus; i++) {
		const struct lx_rq *x = &a->rqs[i], *y = &b->rqs[i];
		if (x->curr != y->curr || x->nr_running != y->nr_running || x->nr_tree != y->nr_tree ||
		    x->min_vruntime != y->min_vruntime ||
		    memcmp(x->tree, y->tree, (size_t)x->nr_tree * sizeof *x->tree))
			return 0;
	}
	return 1;
}

static void views_read_through_a_one_frame_cache(void)
{
	struct simguest g;
	struct xds_err err = {""};
	if (simguest_open(&g, guest_scenario, 100000000ULL, &err)) {
		ok(0, "simulated guest: %s", err.msg);
		return;
	}
	char path[160];
	snprintf(path, sizeof path, "%s/%s.ram", g.dir, g.d->name);
	struct ram r = { .fd = open(path, O_RDWR), .nr_frames = g.d->ram_size / 4096 };
	struct cached_backend b = { .be.ops = &cached_ops, .image = g.be, .c = ram_cache(&r, 1) };
	struct lx_snapshot truth, s1, s2;
	struct lx_guest *lx = r.fd >= 0 && b.c ? lx_attach(&b.be, 0, &g.prof, &err) : NULL;
	ok(lx != NULL, "the guest attaches through a cache bounded to one frame%s%s",
	   lx ? "" : ": ", lx ? "" : err.msg);
	int rc = lx_snapshot(g.lx, &truth, &err);
	ok(rc == 0 && truth.nr_tasks > 40, "the image backend reads %d tasks", truth.nr_tasks);
	struct xen_fcache_stats st0, st;
	xen_fcache_get_stats(b.c, &st0);
	int rc1 = lx ? lx_snapshot(lx, &s1, &err) : -1;
	ok(rc1 == 0 && same_snapshot(&truth, &s1),
	   "every task and run queue read through views over the cache is the image's%s%s",
	   rc1 ? ": " : "", rc1 ? err.msg : "");
	xen_fcache_get_stats(b.c, &st);
	ok(st.peak > 4 && st.trims > st0.trims,
	   "the views held frames over the bound (peak %zu), trimmed at the snapshot's start", st.peak);
	int rc2 = lx ? lx_snapshot(lx, &s2, &err) : -1;
	ok(rc2 == 0 && same_snapshot(&truth, &s2), "and again after that trim%s%s",
	   rc2 ? ": " : "", rc2 ? err.msg : "");
	if (!rc)
		lx_snapshot_free(&truth);
	if (!rc1)
		lx_snapshot_free(&s1);
	if (!rc2)
		lx_snapshot_free(&s2);
	lx_detach(lx);
	cb_close(&b.be);
	is_int(r.live, 0, "closing the backend unmaps every frame");
	if (r.fd >= 0)
		ram_close(&r);
	simguest_close(&g);
}

int main(void)
{
	frame_is_mapped_once_and_reused();
	failed_map_is_not_cached();
	over_its_bound_it_maps_on_until_a_trim();
	clear_forgets_and_the_trim_unmaps();
	many_frames_survive_growth();
	a_frame_held_across_an_overflow_reads_its_bytes();
	views_read_through_a_one_frame_cache();
	return done_testing();
}
