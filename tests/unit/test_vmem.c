/*
 * test_vmem.c - the page-table walk and bounded reads over synthetic guest
 * RAM.  A tiny builder here lays out x86-64 page tables in a malloc'd
 * "guest RAM" (tables in its top quarter, data below); the tests then
 * translate and read through runtime/vmem as a backend would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "vmem/vmem.h"

#define PG 4096ull
#define P_RW 3ull		/* present | writable */
#define P_PS (1ull << 7)
#define P_NX (1ull << 63)
#define ADDR_MASK 0x000ffffffffff000ull

struct gram {
	uint8_t *ram;
	uint64_t npages;
	uint64_t next_table;	/* next free table frame */
	uint64_t root;
	int levels;
	uint64_t hole_gfn;	/* map() refuses this frame (0: none) */
};

static void *gram_map_frame(void *ctx, uint64_t gfn, int writable)
{
	struct gram *g = ctx;
	(void)writable;
	if (gfn >= g->npages || (g->hole_gfn && gfn == g->hole_gfn))
		return NULL;
	return g->ram + gfn * PG;
}

static uint64_t gram_table(struct gram *g)
{
	uint64_t gpa = g->next_table++ * PG;
	memset(g->ram + gpa, 0, PG);
	return gpa;
}

/* Guest RAM of npages frames; the root table is 8 KiB aligned (PTI). */
static struct gram *gram_new(uint64_t npages, int levels)
{
	struct gram *g = calloc(1, sizeof *g);
	g->ram = calloc(npages, PG);
	g->npages = npages;
	g->next_table = (npages * 3 / 4 + 1) & ~1ull;
	g->levels = levels;
	g->root = gram_table(g);
	gram_table(g);		/* the PTI user half, left empty */
	return g;
}

static void gram_free(struct gram *g)
{
	free(g->ram);
	free(g);
}

static uint64_t *gram_slot(struct gram *g, uint64_t table, uint64_t va,
			   int level)
{
	unsigned idx = (va >> (12 + 9 * (level - 1))) & 511;
	return (uint64_t *)(g->ram + table) + idx;
}

/* The entry mapping va at `level`, creating tables above it as needed. */
static uint64_t *gram_entry(struct gram *g, uint64_t va, int level)
{
	uint64_t table = g->root;
	for (int l = g->levels; l > level; l--) {
		uint64_t *e = gram_slot(g, table, va, l);
		if (!(*e & 1))
			*e = gram_table(g) | P_RW;
		table = *e & ADDR_MASK;
	}
	return gram_slot(g, table, va, level);
}

static void gram_map(struct gram *g, uint64_t va, uint64_t gpa, int level)
{
	*gram_entry(g, va, level) = gpa | P_RW | (level > 1 ? P_PS : 0);
}

static struct vmem *gram_vmem(struct gram *g)
{
	struct vmem_phys phys = {
		.ctx = g, .map = gram_map_frame, .max_gfn = g->npages - 1,
	};
	struct xds_err err;
	struct vmem *vm = vmem_new(&phys, &err);
	vmem_set_cr3(vm, g->root, g->levels == 5 ? 1u << 12 : 0);
	return vm;
}

static void put64(struct gram *g, uint64_t gpa, uint64_t v)
{
	memcpy(g->ram + gpa, &v, 8);
}

static int has(const char *msg, const char *want)
{
	if (strstr(msg, want))
		return 1;
	diag("message: %s", msg);
	return 0;
}

static void test_page_sizes(void)
{
	struct gram *g = gram_new(4096, 4);	/* 16 MiB */
	struct vmem *vm = gram_vmem(g);
	struct xds_err err = { "" };
	uint64_t gpa = 0, v = 0;

	gram_map(g, 0xffff888001234000, 0x5000, 1);
	put64(g, 0x5008, 0x1122334455667788);
	ok(vmem_translate(vm, 0xffff888001234abc, &gpa, &err) == 0,
	   "4 KiB page translates");
	is_int(gpa, 0x5abc, "4 KiB page: gpa = frame | offset");
	ok(vmem_read_u64(vm, 0xffff888001234008, &v, &err) == 0 &&
	   v == 0x1122334455667788, "4 KiB page: u64 read sees guest bytes");
	uint32_t v32 = 0;
	uint16_t v16 = 0;
	uint8_t v8 = 0;
	ok(vmem_read_u32(vm, 0xffff888001234008, &v32, &err) == 0 &&
	   v32 == 0x55667788, "u32 read is little-endian");
	ok(vmem_read_u16(vm, 0xffff88800123400e, &v16, &err) == 0 &&
	   v16 == 0x1122, "u16 read at an odd place");
	ok(vmem_read_u8(vm, 0xffff88800123400d, &v8, &err) == 0 &&
	   v8 == 0x33, "u8 read");

	gram_map(g, 0xffffffff81000000, 0x200000, 2);
	put64(g, 0x212340, 0xfeedface);
	ok(vmem_translate(vm, 0xffffffff81012345, &gpa, &err) == 0 &&
	   gpa == 0x212345, "2 MiB page (PS in PDE): gpa = base | 21-bit offset");
	ok(vmem_read_ptr(vm, 0xffffffff81012340, &v, &err) == 0 &&
	   v == 0xfeedface, "2 MiB page: pointer read");

	gram_map(g, 0xffff880000000000, 0, 3);
	ok(vmem_translate(vm, 0xffff880000abcdef, &gpa, &err) == 0 &&
	   gpa == 0xabcdef, "1 GiB page (PS in PDPTE): gpa = base | 30-bit offset");
	ok(vmem_translate(vm, 0xffff880002000000, &gpa, &err) < 0 &&
	   has(err.msg, "gpa 0x2000000 outside guest RAM") &&
	   has(err.msg, "PDPTE") && has(err.msg, "0xffff880002000000"),
	   "1 GiB page past the end of RAM: error names gpa and level");

	/* NX, protection keys and software bits are not address bits */
	*gram_entry(g, 0xffff888001235000, 1) =
		0x6000 | P_RW | P_NX | (0xfull << 59) | (1ull << 52) | (1ull << 9);
	ok(vmem_translate(vm, 0xffff888001235010, &gpa, &err) == 0 &&
	   gpa == 0x6010, "NX and high bits 52-63 are stripped from a PTE");
	/* PAT bit 12 of a 2 MiB PDE is not an address bit either */
	*gram_entry(g, 0xffffffff81200000, 2) = 0x400000 | P_RW | P_PS | (1ull << 12);
	ok(vmem_translate(vm, 0xffffffff81200008, &gpa, &err) == 0 &&
	   gpa == 0x400008, "PAT bit in a 2 MiB PDE is stripped");

	vmem_free(vm);
	gram_free(g);
}

static void test_five_level(void)
{
	struct gram *g = gram_new(1024, 5);
	struct vmem *vm = gram_vmem(g);
	struct xds_err err = { "" };
	uint64_t gpa = 0;

	is_int(vmem_levels(vm), 5, "CR4.LA57 selects 5-level paging");
	gram_map(g, 0xff11000012345000, 0x7000, 1);
	gram_map(g, 0x0000123456789000, 0x8000, 1);
	ok(vmem_translate(vm, 0xff11000012345678, &gpa, &err) == 0 &&
	   gpa == 0x7678, "5-level: 57-bit kernel address translates");
	ok(vmem_translate(vm, 0x0000123456789001, &gpa, &err) == 0 &&
	   gpa == 0x8001, "5-level: low address translates");
	ok(vmem_translate(vm, 0xff21000012345000, &gpa, &err) < 0 &&
	   has(err.msg, "PML5E not present"), "5-level: missing PML5E named");
	ok(vmem_translate(vm, 0xfe11000012345000, &gpa, &err) < 0 &&
	   has(err.msg, "non-canonical"), "5-level: bits 63:57 must copy bit 56");

	vmem_set_cr3(vm, g->root, 0);
	ok(vmem_translate(vm, 0xff11000012345000, &gpa, &err) < 0 &&
	   has(err.msg, "non-canonical"),
	   "same address without LA57 is non-canonical (48-bit)");
	vmem_free(vm);
	gram_free(g);
}

static void test_cr3_bits(void)
{
	struct gram *g = gram_new(1024, 4);
	struct vmem *vm = gram_vmem(g);
	struct xds_err err = { "" };
	uint64_t gpa = 0;

	gram_map(g, 0xffff888000100000, 0x9000, 1);
	vmem_set_cr3(vm, g->root | (1ull << 12) | 0x5a5 | (1ull << 63), 0);
	is_int(vmem_root(vm), g->root, "PTI bit, PCID and bit 63 cleared from CR3");
	ok(vmem_translate(vm, 0xffff888000100004, &gpa, &err) == 0 &&
	   gpa == 0x9004, "CR3 with PCID and the PTI user bit still translates");
	ok(vmem_set_root(vm, g->root + 1, 4, &err) < 0,
	   "vmem_set_root refuses an unaligned root");
	ok(vmem_set_root(vm, g->root, 3, &err) < 0,
	   "vmem_set_root refuses 3-level paging");
	vmem_free(vm);
	gram_free(g);
}

static void test_crossing(void)
{
	struct gram *g = gram_new(1024, 4);
	struct vmem *vm = gram_vmem(g);
	struct xds_err err = { "" };
	const uint64_t va = 0xffffc90000010000;

	gram_map(g, va, 0x7000, 1);
	gram_map(g, va + PG, 0x3000, 1);	/* next page, lower frame */
	memcpy(g->ram + 0x7ff8, "ABCDEFGH", 8);
	memcpy(g->ram + 0x3000, "IJKLMNOP", 8);
	char buf[17] = { 0 };
	ok(vmem_read(vm, va + 0xff8, buf, 16, &err) == 0 &&
	   strcmp(buf, "ABCDEFGHIJKLMNOP") == 0,
	   "read crossing into a differently-mapped page joins both frames");
	uint64_t v = 0;
	ok(vmem_read_u64(vm, va + 0xffc, &v, &err) == 0 &&
	   memcmp(&v, "EFGHIJKL", 8) == 0, "u64 straddling two pages");

	ok(vmem_write_u32(vm, va + 0xffe, 0x64636261, &err) == 0 &&
	   memcmp(g->ram + 0x7ffe, "ab", 2) == 0 &&
	   memcmp(g->ram + 0x3000, "cd", 2) == 0,
	   "u32 write straddling two pages lands in both frames");
	ok(vmem_write(vm, va + 0x10, "xyz", 3, &err) == 0 &&
	   memcmp(g->ram + 0x7010, "xyz", 3) == 0, "plain write");
	uint8_t b = 0;
	ok(vmem_write_u8(vm, va + 1, 0x5c, &err) == 0 &&
	   vmem_read_u8(vm, va + 1, &b, &err) == 0 && b == 0x5c,
	   "u8 write reads back");
	uint16_t h = 0;
	ok(vmem_write_u16(vm, va + 2, 0xbeef, &err) == 0 &&
	   vmem_read_u16(vm, va + 2, &h, &err) == 0 && h == 0xbeef,
	   "u16 write reads back");
	ok(vmem_write_u64(vm, va + 0x20, 0x0102030405060708, &err) == 0 &&
	   vmem_read_u64(vm, va + 0x20, &v, &err) == 0 &&
	   v == 0x0102030405060708, "u64 write reads back");

	memset(buf, '#', sizeof buf);
	ok(vmem_read(vm, va + PG + 0xff8, buf, 16, &err) < 0 &&
	   has(err.msg, "PTE not present") &&
	   memcmp(buf, "\0\0\0\0\0\0\0\0", 8) == 0,
	   "read running into an unmapped page fails naming the page");
	ok(has(err.msg, "0xffffc90000012000"),
	   "error names the first unmapped address");

	char phys[9] = { 0 };
	ok(vmem_read_phys(vm, 0x3000, phys, 8, &err) == 0 &&
	   strcmp(phys, "cdKLMNOP") == 0, "physical read");
	ok(vmem_read_phys(vm, 1024 * PG, phys, 8, &err) < 0 &&
	   has(err.msg, "outside guest RAM"), "physical read past RAM refused");
	vmem_free(vm);
	gram_free(g);
}

static void test_not_present(void)
{
	struct gram *g = gram_new(1024, 4);
	struct vmem *vm = gram_vmem(g);
	struct xds_err err = { "" };
	uint64_t gpa = 0;
	const uint64_t va = 0xffff888001000000;

	gram_map(g, va, 0x5000, 1);
	ok(vmem_translate(vm, 0xffff890001000000, &gpa, &err) < 0 &&
	   has(err.msg, "PML4E not present"), "missing PML4E named");
	ok(vmem_translate(vm, 0xffff888041000000, &gpa, &err) < 0 &&
	   has(err.msg, "PDPTE not present"), "missing PDPTE named");
	ok(vmem_translate(vm, 0xffff888001234000, &gpa, &err) < 0,
	   "missing PDE fails");
	is_str(err.msg, "vmem: 0xffff888001234000: PDE not present",
	       "missing PDE: message names address and level");
	ok(vmem_translate(vm, 0xffff888001001000, &gpa, &err) < 0 &&
	   has(err.msg, "PTE not present"), "missing PTE named");

	gram_map(g, 0xffff888001002000, 0x10000000000, 1);
	ok(vmem_translate(vm, 0xffff888001002000, &gpa, &err) < 0 &&
	   has(err.msg, "PTE maps gpa 0x10000000000 outside guest RAM"),
	   "PTE pointing beyond RAM is an error");
	char buf[8];
	ok(vmem_read(vm, 0xffff888001002000, buf, 8, &err) < 0 &&
	   has(err.msg, "outside guest RAM"), "read through it fails too");

	*gram_entry(g, 0xffff888001400000, 2) = 0x20000000 | P_RW;
	ok(vmem_translate(vm, 0xffff888001400000, &gpa, &err) < 0 &&
	   has(err.msg, "PT at gpa 0x20000000 outside guest RAM"),
	   "PDE pointing to a table beyond RAM names the table");

	g->hole_gfn = 0x5;
	ok(vmem_read(vm, va, buf, 8, &err) < 0 &&
	   has(err.msg, "cannot be mapped"),
	   "a frame the backend cannot map is an error");
	g->hole_gfn = 0;

	*gram_entry(g, 0xffff8a0000000000, 4) = 0x6000 | P_RW | P_PS;
	ok(vmem_translate(vm, 0xffff8a0000000000, &gpa, &err) < 0 &&
	   has(err.msg, "reserved PS"), "PS in a PML4E is refused");

	ok(vmem_translate(vm, 0x0000800000000000, &gpa, &err) < 0 &&
	   has(err.msg, "0x800000000000: non-canonical"),
	   "non-canonical address refused (low side)");
	ok(vmem_translate(vm, 0xffff7fffffffffff, &gpa, &err) < 0 &&
	   has(err.msg, "non-canonical"), "non-canonical address refused (high side)");
	ok(vmem_read(vm, 0xfffffffffffffff8, buf, 16, &err) < 0 &&
	   has(err.msg, "wrap"), "read wrapping around 2^64 refused");
	vmem_free(vm);
	gram_free(g);
}

static void test_cycle(void)
{
	struct gram *g = gram_new(1024, 4);
	struct vmem *vm = gram_vmem(g);
	struct xds_err err = { "" };
	uint64_t gpa = 0;

	/* PML4[0x1ed] points at the PML4 itself: a recursive mapping */
	*gram_slot(g, g->root, 0xfffff68000000000, 4) = g->root | P_RW;
	int r = vmem_translate(vm, 0xfffff6fb7dbed000, &gpa, &err);
	ok(r == 0 && gpa == g->root,
	   "self-referencing table: the walk ends after 4 levels (at the root)");
	r = vmem_translate(vm, 0xfffff6fb7dbee000, &gpa, &err);
	ok(r < 0, "self-referencing table, empty slot: returns an error");
	char buf[64];
	ok(vmem_read(vm, 0xfffff6fb7dbed000, buf, sizeof buf, &err) == 0,
	   "reading through the cycle stays inside the root frame");
	vmem_free(vm);
	gram_free(g);
}

static void test_cache(void)
{
	struct gram *g = gram_new(1024, 4);
	struct vmem *vm = gram_vmem(g);
	struct xds_err err = { "" };
	struct vmem_stats st;
	uint64_t a = 0, b = 0;
	const uint64_t va = 0xffff888000300000;

	gram_map(g, va, 0x5000, 1);
	vmem_translate(vm, va + 8, &a, &err);
	vmem_get_stats(vm, &st);
	is_int(st.walks, 1, "first translation walks the tables");
	ok(vmem_translate(vm, va + 8, &b, &err) == 0 && a == b,
	   "cache hit returns the same gpa as the miss");
	vmem_get_stats(vm, &st);
	ok(st.hits == 1 && st.walks == 1, "second translation is a cache hit");

	gram_map(g, va, 0x6000, 1);
	vmem_translate(vm, va + 8, &b, &err);
	is_int(b, 0x5008, "without a flush the cached translation stays");
	vmem_flush(vm);
	vmem_translate(vm, va + 8, &b, &err);
	is_int(b, 0x6008, "after vmem_flush the edited PTE is seen");

	gram_map(g, 0xffffffff81000000, 0x200000, 2);
	vmem_translate(vm, 0xffffffff81000010, &a, &err);
	vmem_get_stats(vm, &st);
	uint64_t walks = st.walks;
	vmem_translate(vm, 0xffffffff811ff010, &b, &err);
	vmem_get_stats(vm, &st);
	ok(st.walks == walks && b == 0x3ff010,
	   "a 2 MiB page is cached as one: another 4 KiB inside it hits");

	gram_map(g, va, 0x7000, 1);
	vmem_set_cr3(vm, g->root | 0x1000, 0);
	vmem_translate(vm, va, &b, &err);
	is_int(b, 0x6000, "same root (PTI bit differs): cache kept");
	vmem_set_cr3(vm, gram_table(g), 0);
	ok(vmem_translate(vm, va, &b, &err) < 0,
	   "a new CR3 drops the cache (empty root: not present)");

	/* a failed walk caches nothing */
	vmem_set_cr3(vm, g->root, 0);
	ok(vmem_translate(vm, 0xffff888000400000, &b, &err) < 0, "miss fails");
	gram_map(g, 0xffff888000400000, 0x8000, 1);
	ok(vmem_translate(vm, 0xffff888000400000, &b, &err) == 0 && b == 0x8000,
	   "a failed translation is not cached");
	vmem_free(vm);
	gram_free(g);
}

static void test_strings(void)
{
	struct gram *g = gram_new(1024, 4);
	struct vmem *vm = gram_vmem(g);
	struct xds_err err = { "" };
	const uint64_t va = 0xffff888000500000;
	char buf[32];

	gram_map(g, va, 0x5000, 1);
	memcpy(g->ram + 0x5000, "hello\0world", 12);
	is_int(vmem_read_str(vm, va, buf, 16, &err), 5, "string length returned");
	is_str(buf, "hello", "string stops at its NUL");
	memcpy(g->ram + 0x5100, "abcdefghijklmnopqrst", 20);
	is_int(vmem_read_str(vm, va + 0x100, buf, 8, &err), 7,
	       "unterminated string truncated to cap-1");
	is_str(buf, "abcdefg", "truncated string is NUL-terminated");
	memcpy(g->ram + 0x5ffc, "end", 4);
	is_int(vmem_read_str(vm, va + 0xffc, buf, 32, &err), 3,
	       "string ending before an unmapped page reads");
	memcpy(g->ram + 0x5ffc, "more", 4);
	ok(vmem_read_str(vm, va + 0xffc, buf, 32, &err) < 0 &&
	   strcmp(buf, "more") == 0 && has(err.msg, "PTE not present"),
	   "string running into an unmapped page: error, partial and terminated");
	ok(vmem_read_str(vm, va, buf, 0, &err) < 0, "cap 0 refused");
	vmem_free(vm);
	gram_free(g);
}

static void test_slide(void)
{
	struct gram *g = gram_new(4096, 4);
	struct vmem *vm = gram_vmem(g);
	struct xds_err err = { "" };
	const uint64_t sym = 0xffffffff81e00ff0;	/* unslid linux_banner */
	const uint64_t base = 0xffffffff81e00000;
	const char banner[] = "Linux version 6.1.0-xds (test@host) #1 SMP";
	const uint64_t M2 = 2ull << 20;
	uint64_t slide = 0;

	gram_map(g, base, 1 * M2, 2);		/* slide 0: zeros */
	gram_map(g, base + M2, 2 * M2, 2);	/* slide 1: a decoy */
	/* slide 2: unmapped; slide 3: the banner, across a 4 KiB boundary */
	gram_map(g, base + 3 * M2, 3 * M2, 2);
	memcpy(g->ram + 2 * M2 + 0xff0, "Linux version 5.10", 18);
	memcpy(g->ram + 3 * M2 + 0xff0, banner, sizeof banner);

	ok(vmem_find_slide(vm, sym, banner, sizeof banner - 1, M2, 1ull << 30,
			   &slide, &err) == 0, "banner found at a slide");
	is_int(slide, 3 * M2, "slide is the 2 MiB-aligned one holding the banner");
	ok(vmem_find_slide(vm, sym, banner, sizeof banner - 1, M2, 2 * M2,
			   &slide, &err) < 0 && has(err.msg, "not found"),
	   "search bounded by max: not found below it");
	ok(vmem_find_slide(vm, sym, "Linux version 9", 15, M2, 1ull << 30,
			   &slide, &err) < 0 && has(err.msg, "not found") &&
	   has(err.msg, "Linux version 9"), "absent banner: not found, named");
	ok(vmem_find_slide(vm, sym, banner, 10, 0, M2, &slide, &err) < 0,
	   "zero alignment refused");
	ok(vmem_find_slide(vm, 0xfffffffffff00000, banner, 10, M2, UINT64_MAX,
			   &slide, &err) < 0, "search stops at the top of memory");
	vmem_free(vm);
	gram_free(g);
}

int main(void)
{
	test_page_sizes();
	test_five_level();
	test_cr3_bits();
	test_crossing();
	test_not_present();
	test_cycle();
	test_cache();
	test_strings();
	test_slide();
	return done_testing();
}
