/*
 * fuzz_vmem.c - runtime/vmem against hostile guest RAM.
 *
 * The input is a guest: a 64-byte header (CR3, flags, addresses, lengths)
 * followed by up to 16 pages of "RAM" holding page tables and data.  Each
 * page is its own 4 KiB allocation, so a read that strays outside the frame
 * vmem computed is caught by ASan.  Addresses come from the header and
 * from the RAM itself (every qword is a candidate pointer, and pointers are
 * chased a few steps, as the kernel model does).  Besides "no crash", the
 * target checks vmem's promises: a translated gpa lies inside guest RAM,
 * every error message starts with "vmem: ", a string is NUL-terminated and
 * as long as reported.
 *
 * Built with -fsanitize=fuzzer it is a libFuzzer target.  Built with
 * -DXDS_FUZZ_STANDALONE it is a TAP test that runs random guests (mostly
 * plausible page-table entries) from a fixed seed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmem/vmem.h"

#define FZ_HDR 64
#define FZ_MAX_PAGES 16
#define FZ_PG 4096u

struct fz_guest {
	uint8_t *page[FZ_MAX_PAGES];
	uint64_t npages;
	uint64_t hole;		/* a frame map() refuses, or UINT64_MAX */
};

static unsigned long fz_broken, fz_translated, fz_refused;

static void fz_violation(const char *what, uint64_t va)
{
	fprintf(stderr, "fuzz_vmem: broken promise at va 0x%llx: %s\n",
		(unsigned long long)va, what);
	fz_broken++;
#ifndef XDS_FUZZ_STANDALONE
	abort();
#endif
}

static void *fz_map(void *ctx, uint64_t gfn, int writable)
{
	struct fz_guest *g = ctx;
	(void)writable;
	if (gfn >= g->npages || gfn == g->hole)
		return NULL;
	return g->page[gfn];
}

static uint64_t fz_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void fz_check_err(const struct xds_err *err, uint64_t va)
{
	if (strncmp(err->msg, "vmem: ", 6) != 0)
		fz_violation("error message without the vmem: prefix", va);
}

/* Every operation on one address; returns the qword there, or 0. */
static uint64_t fz_probe(struct vmem *vm, const uint8_t *hdr, uint64_t va,
			 uint64_t max_gfn)
{
	struct xds_err err = { "" };
	uint64_t gpa = 0, next = 0;
	if (vmem_translate(vm, va, &gpa, &err) == 0) {
		fz_translated++;
		if (gpa >> 12 > max_gfn)
			fz_violation("gpa outside guest RAM", va);
	} else {
		fz_refused++;
		fz_check_err(&err, va);
	}
	uint8_t buf[3 * FZ_PG];
	size_t len = (size_t)(hdr[9] | hdr[10] << 8) % sizeof buf;
	if (vmem_read(vm, va, buf, len, &err) < 0)
		fz_check_err(&err, va);
	if (vmem_read_ptr(vm, va, &next, &err) < 0) {
		fz_check_err(&err, va);
		next = 0;
	}
	char str[40];
	size_t cap = 1 + hdr[11] % sizeof str;
	int n = vmem_read_str(vm, va, str, cap, &err);
	if (memchr(str, '\0', cap) == NULL)
		fz_violation("string not NUL-terminated", va);
	else if (n >= 0 && ((size_t)n >= cap || strlen(str) != (size_t)n))
		fz_violation("string length differs from the one reported", va);
	else if (n < 0)
		fz_check_err(&err, va);
	if ((hdr[8] & 4) && vmem_write_u32(vm, va + 2, 0xdeadbeef, &err) < 0)
		fz_check_err(&err, va);
	return next;
}

static void fz_run(struct vmem *vm, const uint8_t *hdr, struct fz_guest *g,
		   uint64_t max_gfn)
{
	for (int i = 0; i < 5; i++) {
		uint64_t va = fz_u64(hdr + 16 + 8 * i);
		for (int step = 0; step < 4 && va; step++)
			va = fz_probe(vm, hdr, va, max_gfn);
	}
	for (uint64_t p = 0; p < g->npages; p++)
		for (unsigned off = 0; off < 64; off += 8)
			fz_probe(vm, hdr, fz_u64(g->page[p] + off), max_gfn);
	struct xds_err err = { "" };
	uint64_t slide = 0;
	size_t elen = 1 + hdr[12] % 8;
	if (vmem_find_slide(vm, fz_u64(hdr + 16), (const char *)hdr + 56, elen,
			    FZ_PG, 64 * FZ_PG, &slide, &err) < 0)
		fz_check_err(&err, 0);
	else if (slide % FZ_PG || slide > 64 * FZ_PG)
		fz_violation("slide off the requested grid", slide);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hdr[FZ_HDR] = { 0 };
	memcpy(hdr, data, size < FZ_HDR ? size : FZ_HDR);
	size_t body = size > FZ_HDR ? size - FZ_HDR : 0;

	struct fz_guest g = { .hole = UINT64_MAX };
	g.npages = (body + FZ_PG - 1) / FZ_PG;
	if (g.npages == 0)
		g.npages = 1;
	if (g.npages > FZ_MAX_PAGES)
		g.npages = FZ_MAX_PAGES;
	for (uint64_t p = 0; p < g.npages; p++) {
		g.page[p] = calloc(1, FZ_PG);
		size_t from = p * FZ_PG;
		if (from < body) {
			size_t n = body - from < FZ_PG ? body - from : FZ_PG;
			memcpy(g.page[p], data + FZ_HDR + from, n);
		}
	}
	uint8_t flags = hdr[8];
	if (flags & 8)
		g.hole = hdr[13] % g.npages;
	/* flag 2: claim more RAM than the backend maps (map() returns NULL) */
	uint64_t max_gfn = g.npages - 1 + ((flags & 2) ? 7 : 0);
	struct vmem_phys phys = { .ctx = &g, .map = fz_map, .max_gfn = max_gfn };
	struct vmem *vm = vmem_new(&phys, NULL);
	uint64_t cr3 = fz_u64(hdr);
	if (!(flags & 16))	/* mostly a root inside RAM, keeping CR3's low bits */
		cr3 = (cr3 >> 12) % g.npages << 12 | (cr3 & 0x1fff);
	vmem_set_cr3(vm, cr3, (flags & 1) ? 1u << 12 : 0);
	fz_run(vm, hdr, &g, max_gfn);
	vmem_flush(vm);
	fz_run(vm, hdr, &g, max_gfn);
	vmem_free(vm);
	for (uint64_t p = 0; p < g.npages; p++)
		free(g.page[p]);
	return 0;
}

#ifdef XDS_FUZZ_STANDALONE
#include "tests/fuzz/rand.h"
#include "tests/tap.h"

/* A qword that is usually a plausible entry for a guest of npages frames. */
static uint64_t fz_entry(uint64_t npages)
{
	uint64_t r = fz_rand();
	switch (r % 8) {
	case 0:
		return fz_rand();
	case 1:
		return 0;
	default:
		return (fz_rand() % (npages + 1)) << 12 | (r >> 8 & 0x17f) |
			((r & (7ull << 40)) ? 0 : 1ull << 7) |
			((r & (1ull << 50)) ? 1ull << 63 : 0) | 1;
	}
}

/* A virtual address whose indices land on table slots 8 to 11 (slots 0
 * to 7 of each page hold pointer candidates). */
static uint64_t fz_vaddr(void)
{
	uint64_t r = fz_rand(), va = 0;
	for (int level = 0; level < 5; level++)
		va |= (8 + fz_rand() % 4) << (12 + 9 * level);
	va |= r & 0xfff;
	if (r & (1ull << 20))
		va |= 0xffffull << 48 | 1ull << 47;
	if ((r & (3ull << 30)) == 0)
		va ^= 1ull << (40 + r % 24);	/* sometimes non-canonical */
	return va;
}

int main(int argc, char **argv)
{
	unsigned long runs = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	static uint8_t in[FZ_HDR + FZ_MAX_PAGES * FZ_PG];

	LLVMFuzzerTestOneInput(in, 0);
	LLVMFuzzerTestOneInput(in, 1);
	for (unsigned long i = 0; i < runs; i++) {
		uint64_t npages = 1 + fz_rand() % 8;
		size_t size = FZ_HDR + npages * FZ_PG - fz_rand() % 64;
		for (size_t off = 0; off + 8 <= size; off += 8) {
			uint64_t v = fz_entry(npages);
			memcpy(in + off, &v, 8);
		}
		for (int k = 0; k < 5; k++) {
			uint64_t va = fz_vaddr();
			memcpy(in + 16 + 8 * k, &va, 8);
		}
		for (size_t off = FZ_HDR; off + 8 <= size; off += 8) {
			uint64_t va = fz_vaddr();
			if ((off - FZ_HDR) % FZ_PG < 64 && fz_rand() % 2)
				memcpy(in + off, &va, 8);
		}
		in[8] = (uint8_t)fz_rand();
		LLVMFuzzerTestOneInput(in, size);
	}
	ok(fz_broken == 0, "%lu random guest images: no promise broken (%lu)",
	   runs, fz_broken);
	ok(fz_translated > 0, "some translations succeeded (%lu)", fz_translated);
	ok(fz_refused > 0, "some translations were refused (%lu)", fz_refused);
	return done_testing();
}
#endif
