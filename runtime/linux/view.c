/*
 * view.c - reading guest kernel objects: one integer, or one object's fields.
 *
 * lx_read goes through the page-table walker for each read.  A struct view
 * translates and maps the pages of one object once (at most
 * XDS_MAX_OBJECT_PAGES; in one piece when one large page holds it all),
 * then every field is a pointer read, so that a
 * snapshot of thousands of tasks costs a few walks per task.  Both check
 * that the address is a kernel one and the width an integer's; which
 * fields to read is the callers'.  The guest's deadline for a tick
 * (lx_set_deadline) is here too: the walks look at it as they read.
 */
#include <string.h>

#include <time.h>

#include "linux/linux_int.h"

int lx_read(struct lx_guest *g, uint64_t va, unsigned len, uint64_t *out, struct xds_err *err)
{
	uint64_t v = 0;
	if (len == 0 || len > 8)
		return xds_fail(err, "%#llx: %u bytes are not an integer", (unsigned long long)va, len);
	if (vmem_read(g->vm, va, &v, len, err))
		return -1;
	*out = v;                       /* little-endian guest and host */
	return 0;
}

int lx_read_field(struct lx_guest *g, uint64_t base, enum profile_field_id id, uint64_t *out,
		  struct xds_err *err)
{
	return lx_read(g, base + lx_off(g, id), lx_wid(g, id), out, err);
}

int lx_view_open(struct view *v, struct lx_guest *g, uint64_t va, uint32_t size, struct xds_err *err)
{
	memset(v, 0, sizeof *v);
	v->g = g;
	v->va = va;
	v->size = size;
	v->err = err;
	if (!lx_kernel_addr(va) || va + size < va)
		return xds_fail(err, "%#llx: not a kernel address", (unsigned long long)va);
	if (((va & 0xfff) + size + 0xfff) >> 12 > XDS_MAX_OBJECT_PAGES)
		return xds_fail(err, "%#llx: object of %u bytes too large", (unsigned long long)va, size);
	/* An object inside one large page (the kernel's direct map) is mapped
	 * whole, in one piece; otherwise page by page as fields ask. */
	struct lx_piece *pc = &g->piece;
	if (pc->len && va - pc->va0 < pc->len && size <= pc->len - (va - pc->va0)) {
		v->base = pc->host + (va - pc->va0);
		return 0;
	}
	uint64_t gpa, span;
	struct xds_err probe;           /* a failure here is the fields' to report */
	if (!size || vmem_translate_span(g->vm, va, &gpa, &span, &probe) || span < size)
		return 0;
	uint64_t start = gpa & ~(LX_PIECE - 1), va0 = va - (gpa - start);
	if (pc->on && span > 0x1000 && ((start + LX_PIECE) >> 12) - 1 <= g->max_gfn &&
	    va - va0 + size <= LX_PIECE) {
		/* the 2 MiB of a large page around it, kept for the next objects */
		const uint8_t *p = be_map(g->be, g->dom, start >> 12, LX_PIECE >> 12, 0, &probe);
		if (p) {
			*pc = (struct lx_piece){ .on = true, .va0 = va0, .len = LX_PIECE, .host = p };
			v->base = p + (gpa - start);
			return 0;
		}
	}
	size_t frames = (size_t)(((gpa & 0xfff) + size + 0xfff) >> 12);
	const uint8_t *p = be_map(g->be, g->dom, gpa >> 12, frames, 0, &probe);
	if (p)
		v->base = p + (gpa & 0xfff);
	return 0;
}

void lx_piece_start(struct lx_guest *g)
{
	g->piece = (struct lx_piece){ .on = true };
}

void lx_piece_stop(struct lx_guest *g)
{
	g->piece = (struct lx_piece){ 0 };
}

static bool view_map(struct view *v, uint64_t first, uint64_t last)
{
	uint64_t base = v->va & ~0xfffULL;
	for (uint64_t pva = first & ~0xfffULL; pva <= last; pva += 0x1000) {
		unsigned i = (unsigned)((pva - base) >> 12);
		uint64_t gpa;
		if (v->page[i])
			continue;
		if (vmem_translate(v->g->vm, pva, &gpa, v->err))
			return false;
		v->page[i] = be_map(v->g->be, v->g->dom, gpa >> 12, 1, 0, v->err);
		if (!v->page[i])
			return false;
	}
	return true;
}

const uint8_t *lx_view_map(struct view *v, uint32_t off, uint32_t size, void *bounce)
{
	if (v->failed)
		return NULL;
	if (v->base && off + size <= v->size)
		return v->base + off;
	if (off + size > v->size) {
		v->failed = true;
		xds_fail(v->err, "%#llx: field at +%u beyond the object", (unsigned long long)v->va, off);
		return NULL;
	}
	uint64_t first = v->va + off, last = first + size - 1;
	if (!view_map(v, first, last)) {
		v->failed = true;
		return NULL;
	}
	unsigned fi = (unsigned)(((first & ~0xfffULL) - (v->va & ~0xfffULL)) >> 12);
	const uint8_t *p = v->page[fi] + (first & 0xfff);
	if ((first & ~0xfffULL) == (last & ~0xfffULL))
		return p;
	size_t head = 0x1000 - (first & 0xfff);        /* the field crosses a page */
	memcpy(bounce, p, head);
	memcpy((uint8_t *)bounce + head, v->page[fi + 1], size - head);
	return bounce;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void lx_set_deadline(struct lx_guest *g, uint64_t deadline_ns)
{
	g->deadline_ns = deadline_ns;
	g->past_deadline = false;
}

bool lx_past_deadline(const struct lx_guest *g)
{
	return g->past_deadline;
}

int lx_deadline_passed(struct lx_guest *g, int nodes, struct xds_err *err)
{
	if (mono_ns() < g->deadline_ns)
		return 0;
	g->past_deadline = true;
	return xds_fail(err, "over its time budget (%llu ms) after %d nodes",
			(unsigned long long)(XDS_GUEST_BUDGET_NS / 1000000), nodes);
}
