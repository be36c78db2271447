/*
 * vmem.c - the x86-64 page-table walk, its translation cache, and bounded
 * copies of guest memory (see vmem.h).
 *
 * The walk reads one 8-byte entry per level through vmem_phys.map(), so it
 * is bounded by the paging depth whatever the tables contain (a cycle just
 * resolves to some frame).  Every frame number is checked against max_gfn
 * before it is mapped, and every copy stays inside the 4 KiB frame it was
 * computed for.  The cache is direct-mapped: a page of each size lives in
 * a slot chosen from its own page number, so a lookup probes three slots.
 * Accessed and dirty bits are never set: vmem is not the guest's MMU.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmem/vmem.h"

#define VMEM_TLB_SLOTS 256

#define PTE_PRESENT	(1ull << 0)
#define PTE_PS		(1ull << 7)
#define PTE_ADDR_MASK	0x000ffffffffff000ull	/* bits 51:12 */
#define CR3_PTI_USER	(1ull << 12)
#define CR4_LA57	(1ull << 12)

struct vmem_tlb {
	uint64_t vpage;		/* virtual base of the page */
	uint64_t gpage;		/* guest-physical base of the page */
	unsigned shift;		/* 12, 21 or 30; 0 marks an empty slot */
};

struct vmem {
	struct vmem_phys phys;
	uint64_t root;		/* gpa of the top-level table */
	int levels;		/* 4 or 5; 0 until a root is set */
	struct vmem_stats stats;
	struct vmem_tlb tlb[VMEM_TLB_SLOTS];
	unsigned last_shift;	/* the page size of the last cache hit, 0 none */
};

static const char *const vmem_table_name[] = {
	"", "PT", "PD", "PDPT", "PML4", "PML5"
};
static const char *const vmem_entry_name[] = {
	"", "PTE", "PDE", "PDPTE", "PML4E", "PML5E"
};

struct vmem *vmem_new(const struct vmem_phys *phys, struct xds_err *err)
{
	if (!phys || !phys->map) {
		xds_fail(err, "vmem: no guest physical memory (map callback)");
		return NULL;
	}
	struct vmem *vm = calloc(1, sizeof *vm);
	if (!vm) {
		xds_fail(err, "vmem: out of memory");
		return NULL;
	}
	vm->phys = *phys;
	return vm;
}

void vmem_free(struct vmem *vm)
{
	free(vm);
}

void vmem_flush(struct vmem *vm)
{
	memset(vm->tlb, 0, sizeof vm->tlb);
}

static void vmem_use_root(struct vmem *vm, uint64_t root, int levels)
{
	if (vm->root != root || vm->levels != levels)
		vmem_flush(vm);
	vm->root = root;
	vm->levels = levels;
}

void vmem_set_cr3(struct vmem *vm, uint64_t cr3, uint64_t cr4)
{
	vmem_use_root(vm, cr3 & PTE_ADDR_MASK & ~CR3_PTI_USER,
		      (cr4 & CR4_LA57) ? 5 : 4);
}

int vmem_set_root(struct vmem *vm, uint64_t root_gpa, int levels,
		  struct xds_err *err)
{
	if (levels != 4 && levels != 5)
		return xds_fail(err, "vmem: %d-level paging not supported",
				levels);
	if (root_gpa & ~PTE_ADDR_MASK)
		return xds_fail(err, "vmem: root table gpa 0x%" PRIx64
				" not a frame address", root_gpa);
	vmem_use_root(vm, root_gpa, levels);
	return 0;
}

uint64_t vmem_root(const struct vmem *vm)
{
	return vm->root;
}

int vmem_levels(const struct vmem *vm)
{
	return vm->levels;
}

void vmem_get_stats(const struct vmem *vm, struct vmem_stats *st)
{
	*st = vm->stats;
}

/* One guest frame, or NULL when it is outside RAM or cannot be mapped. */
static uint8_t *vmem_frame(struct vmem *vm, uint64_t gfn, int writable)
{
	if (gfn > vm->phys.max_gfn)
		return NULL;
	return vm->phys.map(vm->phys.ctx, gfn, writable);
}

static int vmem_frame_fail(struct vmem *vm, uint64_t gpa, const char *what,
			   uint64_t va, struct xds_err *err)
{
	const char *why = (gpa >> VMEM_PAGE_SHIFT) > vm->phys.max_gfn ?
		"outside guest RAM" : "cannot be mapped";
	return xds_fail(err, "vmem: 0x%" PRIx64 ": %s at gpa 0x%" PRIx64 " %s",
			va, what, gpa, why);
}

static int vmem_canonical(const struct vmem *vm, uint64_t va)
{
	int bits = vm->levels == 5 ? 57 : 48;
	int64_t top = (int64_t)va >> (bits - 1);
	return top == 0 || top == -1;
}

static uint64_t vmem_load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static unsigned vmem_tlb_index(uint64_t va, unsigned shift)
{
	return (unsigned)(((va >> shift) + shift) % VMEM_TLB_SLOTS);
}

static int vmem_tlb_lookup(struct vmem *vm, uint64_t va, uint64_t *gpa,
			   unsigned *shift)
{
	static const unsigned shifts[] = { 12, 21, 30 };
	/* the size that answered last first: a kernel's direct map is large pages */
	unsigned first = vm->last_shift;
	for (size_t i = 0; i <= sizeof shifts / sizeof shifts[0]; i++) {
		unsigned s = i == 0 ? first : shifts[i - 1];
		if (s == 0 || (i > 0 && s == first))
			continue;
		uint64_t mask = (1ull << s) - 1;
		const struct vmem_tlb *e = &vm->tlb[vmem_tlb_index(va, s)];
		if (e->shift == s && e->vpage == (va & ~mask)) {
			*gpa = e->gpage | (va & mask);
			*shift = s;
			vm->last_shift = s;
			return 1;
		}
	}
	return 0;
}

static void vmem_tlb_insert(struct vmem *vm, uint64_t va, uint64_t gpa,
			    unsigned shift)
{
	uint64_t mask = (1ull << shift) - 1;
	struct vmem_tlb *e = &vm->tlb[vmem_tlb_index(va, shift)];
	e->vpage = va & ~mask;
	e->gpage = gpa & ~mask;
	e->shift = shift;
}

/* Reads the entry for va in the table at gpa `table` of the given level. */
static int vmem_read_entry(struct vmem *vm, uint64_t va, uint64_t table,
			   int level, uint64_t *entry, struct xds_err *err)
{
	unsigned idx = (va >> (VMEM_PAGE_SHIFT + 9 * (level - 1))) & 511;
	const uint8_t *p = vmem_frame(vm, table >> VMEM_PAGE_SHIFT, 0);
	if (!p)
		return vmem_frame_fail(vm, table, vmem_table_name[level], va,
				       err);
	*entry = vmem_load_le64(p + idx * 8);
	return 0;
}

/* The walk proper: at most vm->levels entry reads. */
static int vmem_walk(struct vmem *vm, uint64_t va, uint64_t *gpa,
		     unsigned *shift, struct xds_err *err)
{
	uint64_t table = vm->root;
	for (int level = vm->levels; level >= 1; level--) {
		uint64_t e = 0;
		if (vmem_read_entry(vm, va, table, level, &e, err) < 0)
			return -1;
		if (!(e & PTE_PRESENT))
			return xds_fail(err, "vmem: 0x%" PRIx64 ": %s not present",
					va, vmem_entry_name[level]);
		unsigned s = VMEM_PAGE_SHIFT + 9 * (level - 1);
		if (level == 1 || ((level == 2 || level == 3) && (e & PTE_PS))) {
			uint64_t mask = (1ull << s) - 1;
			*gpa = (e & PTE_ADDR_MASK & ~mask) | (va & mask);
			*shift = s;
			return 0;
		}
		if (e & PTE_PS)
			return xds_fail(err, "vmem: 0x%" PRIx64 ": %s 0x%" PRIx64
					" has the reserved PS bit set", va,
					vmem_entry_name[level], e);
		table = e & PTE_ADDR_MASK;
	}
	return xds_fail(err, "vmem: 0x%" PRIx64 ": no page-table root set", va);
}

int vmem_translate_span(struct vmem *vm, uint64_t va, uint64_t *gpa,
			uint64_t *span, struct xds_err *err)
{
	if (vm->levels == 0)
		return xds_fail(err, "vmem: 0x%" PRIx64
				": no page-table root set", va);
	if (!vmem_canonical(vm, va))
		return xds_fail(err, "vmem: 0x%" PRIx64 ": non-canonical "
				"(%d-bit)", va, vm->levels == 5 ? 57 : 48);
	uint64_t pa = 0;
	unsigned shift = VMEM_PAGE_SHIFT;
	int hit = vmem_tlb_lookup(vm, va, &pa, &shift);
	if (hit) {
		vm->stats.hits++;
	} else {
		vm->stats.walks++;
		if (vmem_walk(vm, va, &pa, &shift, err) < 0)
			return -1;
	}
	if ((pa >> VMEM_PAGE_SHIFT) > vm->phys.max_gfn)
		return xds_fail(err, "vmem: 0x%" PRIx64 ": %s maps gpa 0x%"
				PRIx64 " outside guest RAM", va,
				vmem_entry_name[(shift - VMEM_PAGE_SHIFT) / 9 + 1], pa);
	if (!hit)
		vmem_tlb_insert(vm, va, pa, shift);
	*gpa = pa;
	if (span) {
		uint64_t s = (1ull << shift) - (va & ((1ull << shift) - 1));
		uint64_t ram = ((vm->phys.max_gfn + 1) << VMEM_PAGE_SHIFT) - pa;
		*span = s < ram ? s : ram;      /* a large page may reach past RAM */
	}
	return 0;
}

int vmem_translate(struct vmem *vm, uint64_t va, uint64_t *gpa,
		   struct xds_err *err)
{
	return vmem_translate_span(vm, va, gpa, NULL, err);
}

/*
 * The copy loop shared by reads and writes, virtual or physical: one chunk
 * per 4 KiB frame, each inside the frame it was translated to.
 */
enum vmem_dir { VMEM_READ, VMEM_WRITE };

static int vmem_copy(struct vmem *vm, uint64_t addr, int is_virt,
		     uint8_t *buf, size_t len, enum vmem_dir dir,
		     struct xds_err *err)
{
	if (len == 0)
		return 0;
	if (addr + (len - 1) < addr)
		return xds_fail(err, "vmem: 0x%" PRIx64 ": %zu bytes wrap "
				"around the address space", addr, len);
	while (len > 0) {
		size_t off = addr & (VMEM_PAGE_SIZE - 1);
		size_t n = VMEM_PAGE_SIZE - off;
		if (n > len)
			n = len;
		uint64_t gpa = addr;
		if (is_virt && vmem_translate(vm, addr, &gpa, err) < 0)
			return -1;
		uint8_t *frame = vmem_frame(vm, gpa >> VMEM_PAGE_SHIFT,
					    dir == VMEM_WRITE);
		if (!frame)
			return vmem_frame_fail(vm, gpa, "data", addr, err);
		if (dir == VMEM_WRITE)
			memcpy(frame + off, buf, n);
		else
			memcpy(buf, frame + off, n);
		addr += n;
		buf += n;
		len -= n;
	}
	return 0;
}

int vmem_read(struct vmem *vm, uint64_t va, void *buf, size_t len,
	      struct xds_err *err)
{
	return vmem_copy(vm, va, 1, buf, len, VMEM_READ, err);
}

int vmem_read_phys(struct vmem *vm, uint64_t gpa, void *buf, size_t len,
		   struct xds_err *err)
{
	return vmem_copy(vm, gpa, 0, buf, len, VMEM_READ, err);
}

int vmem_write(struct vmem *vm, uint64_t va, const void *buf, size_t len,
	       struct xds_err *err)
{
	return vmem_copy(vm, va, 1, (uint8_t *)buf, len, VMEM_WRITE, err);
}

/* Little-endian integers of n bytes, whatever the host's byte order. */
static int vmem_read_le(struct vmem *vm, uint64_t va, size_t n, uint64_t *v,
			struct xds_err *err)
{
	uint8_t b[8] = { 0 };
	if (vmem_read(vm, va, b, n, err) < 0)
		return -1;
	*v = vmem_load_le64(b);
	return 0;
}

static int vmem_write_le(struct vmem *vm, uint64_t va, size_t n, uint64_t v,
			 struct xds_err *err)
{
	uint8_t b[8];
	for (size_t i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return vmem_write(vm, va, b, n, err);
}

int vmem_read_u8(struct vmem *vm, uint64_t va, uint8_t *out,
		 struct xds_err *err)
{
	uint64_t v;
	if (vmem_read_le(vm, va, 1, &v, err) < 0)
		return -1;
	*out = (uint8_t)v;
	return 0;
}

int vmem_read_u16(struct vmem *vm, uint64_t va, uint16_t *out,
		  struct xds_err *err)
{
	uint64_t v;
	if (vmem_read_le(vm, va, 2, &v, err) < 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

int vmem_read_u32(struct vmem *vm, uint64_t va, uint32_t *out,
		  struct xds_err *err)
{
	uint64_t v;
	if (vmem_read_le(vm, va, 4, &v, err) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int vmem_read_u64(struct vmem *vm, uint64_t va, uint64_t *out,
		  struct xds_err *err)
{
	return vmem_read_le(vm, va, 8, out, err);
}

int vmem_read_ptr(struct vmem *vm, uint64_t va, uint64_t *out,
		  struct xds_err *err)
{
	return vmem_read_le(vm, va, 8, out, err);
}

int vmem_write_u8(struct vmem *vm, uint64_t va, uint8_t v,
		  struct xds_err *err)
{
	return vmem_write_le(vm, va, 1, v, err);
}

int vmem_write_u16(struct vmem *vm, uint64_t va, uint16_t v,
		   struct xds_err *err)
{
	return vmem_write_le(vm, va, 2, v, err);
}

int vmem_write_u32(struct vmem *vm, uint64_t va, uint32_t v,
		   struct xds_err *err)
{
	return vmem_write_le(vm, va, 4, v, err);
}

int vmem_write_u64(struct vmem *vm, uint64_t va, uint64_t v,
		   struct xds_err *err)
{
	return vmem_write_le(vm, va, 8, v, err);
}

/* Page by page, so that a string ending before an unmapped page reads. */
int vmem_read_str(struct vmem *vm, uint64_t va, char *buf, size_t cap,
		  struct xds_err *err)
{
	if (cap == 0)
		return xds_fail(err, "vmem: 0x%" PRIx64 ": string buffer of "
				"size 0", va);
	if (cap - 1 > INT32_MAX)
		cap = (size_t)INT32_MAX + 1;
	size_t got = 0;
	buf[0] = '\0';
	while (got < cap - 1) {
		size_t n = VMEM_PAGE_SIZE - ((va + got) & (VMEM_PAGE_SIZE - 1));
		if (n > cap - 1 - got)
			n = cap - 1 - got;
		if (vmem_read(vm, va + got, buf + got, n, err) < 0) {
			buf[got] = '\0';
			return -1;
		}
		char *nul = memchr(buf + got, '\0', n);
		if (nul)
			return (int)(nul - buf);
		got += n;
	}
	buf[got] = '\0';
	return (int)got;
}

/* 1 when the len bytes at va equal expect, 0 when not or unreadable. */
static int vmem_bytes_at(struct vmem *vm, uint64_t va, const char *expect,
			 size_t len)
{
	uint8_t chunk[256];
	while (len > 0) {
		size_t n = len < sizeof chunk ? len : sizeof chunk;
		if (vmem_read(vm, va, chunk, n, NULL) < 0)
			return 0;
		if (memcmp(chunk, expect, n) != 0)
			return 0;
		va += n;
		expect += n;
		len -= n;
	}
	return 1;
}

int vmem_find_slide(struct vmem *vm, uint64_t sym_va, const char *expect,
		    size_t len, uint64_t align, uint64_t max, uint64_t *slide,
		    struct xds_err *err)
{
	if (align == 0 || len == 0)
		return xds_fail(err, "vmem: slide search at 0x%" PRIx64
				" needs a non-zero alignment and text", sym_va);
	for (uint64_t s = 0; s <= max; s += align) {
		if (sym_va + s < sym_va)
			break;
		if (vmem_bytes_at(vm, sym_va + s, expect, len)) {
			*slide = s;
			return 0;
		}
		if (s > UINT64_MAX - align)
			break;
	}
	char shown[33];
	size_t n = len < sizeof shown - 1 ? len : sizeof shown - 1;
	for (size_t i = 0; i < n; i++)
		shown[i] = (expect[i] >= 0x20 && expect[i] < 0x7f) ?
			expect[i] : '.';
	shown[n] = '\0';
	return xds_fail(err, "vmem: \"%s\" not found at 0x%" PRIx64
			" + slide 0..0x%" PRIx64 " (step 0x%" PRIx64 ")",
			shown, sym_va, max, align);
}
