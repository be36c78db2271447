/*
 * vmem.h - guest virtual memory: the x86-64 page-table walk and bounded
 * reads and writes of guest memory.
 *
 * vmem translates a guest-virtual address through the guest's own page
 * tables (4-level, or 5-level under CR4.LA57) from the root named by CR3,
 * keeps a small translation cache, and copies guest memory one 4 KiB frame
 * at a time.  It reaches guest physical memory only through struct
 * vmem_phys, which a backend fills in; it knows no hypervisor and nothing
 * of the kernel it reads (the KASLR slide search only compares bytes).
 * Guest memory is hostile: every failure is an error value naming the
 * address and the paging level, never a crash.
 */
#ifndef XDS_VMEM_H
#define XDS_VMEM_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define VMEM_PAGE_SHIFT 12
#define VMEM_PAGE_SIZE  4096u

/*
 * Guest physical memory as a backend offers it.  map() returns one 4 KiB
 * guest frame, or NULL when the frame cannot be mapped (a hole, a failed
 * foreign map).  The pointer's lifetime is be_map's (backend.h, "Mapped
 * frames"): vmem keeps none beyond the read or write that mapped it.
 * vmem never asks for a frame above max_gfn, the highest guest frame
 * number (inclusive).
 */
struct vmem_phys {
	void *ctx;
	void *(*map)(void *ctx, uint64_t gfn, int writable);
	uint64_t max_gfn;
};

struct vmem;

struct vmem_stats {
	uint64_t hits;		/* translations answered by the cache */
	uint64_t walks;		/* page-table walks (cache misses) */
};

/* A walker over `phys` (copied).  No root yet: call vmem_set_cr3 first. */
struct vmem *vmem_new(const struct vmem_phys *phys, struct xds_err *err);
void vmem_free(struct vmem *vm);

/*
 * The root table from a vCPU's CR3: bits 51:12, with the PTI bit (12, the
 * user PGD) cleared; PCID bits 11:0 and bit 63 are ignored.  5-level
 * paging when CR4.LA57 (bit 12) is set.  Flushes the cache if the root or
 * the paging depth changed.
 */
void vmem_set_cr3(struct vmem *vm, uint64_t cr3, uint64_t cr4);

/* The root table given exactly (no PTI bit clearing); levels is 4 or 5. */
int vmem_set_root(struct vmem *vm, uint64_t root_gpa, int levels,
		  struct xds_err *err);
uint64_t vmem_root(const struct vmem *vm);
int vmem_levels(const struct vmem *vm);

/* Drop every cached translation (after the guest ran or its tables changed). */
void vmem_flush(struct vmem *vm);
void vmem_get_stats(const struct vmem *vm, struct vmem_stats *st);

/* Guest-virtual to guest-physical; the gpa is inside guest RAM. */
int vmem_translate(struct vmem *vm, uint64_t va, uint64_t *gpa,
		   struct xds_err *err);

/* The same, and *span: the bytes from va to the end of the page (4 KiB,
 * 2 MiB or 1 GiB) that maps it, never past the end of guest RAM; they are
 * contiguous in guest-physical memory. */
int vmem_translate_span(struct vmem *vm, uint64_t va, uint64_t *gpa,
			uint64_t *span, struct xds_err *err);

/* Copies crossing pages as the guest maps them.  0 or -1; on error buf
 * holds the bytes before the failing page. */
int vmem_read(struct vmem *vm, uint64_t va, void *buf, size_t len,
	      struct xds_err *err);
int vmem_read_phys(struct vmem *vm, uint64_t gpa, void *buf, size_t len,
		   struct xds_err *err);
int vmem_read_u8(struct vmem *vm, uint64_t va, uint8_t *out,
		 struct xds_err *err);
int vmem_read_u16(struct vmem *vm, uint64_t va, uint16_t *out,
		  struct xds_err *err);
int vmem_read_u32(struct vmem *vm, uint64_t va, uint32_t *out,
		  struct xds_err *err);
int vmem_read_u64(struct vmem *vm, uint64_t va, uint64_t *out,
		  struct xds_err *err);
/* A guest pointer (8 bytes on x86-64). */
int vmem_read_ptr(struct vmem *vm, uint64_t va, uint64_t *out,
		  struct xds_err *err);

/*
 * A C string of at most cap-1 bytes (a fixed field such as comm[16] is
 * read with cap = its size + 1 or its size).  buf is always NUL-terminated
 * when cap > 0.  Returns the string's length, or -1 when a page before its
 * end cannot be read (buf then holds the part that could).
 */
int vmem_read_str(struct vmem *vm, uint64_t va, char *buf, size_t cap,
		  struct xds_err *err);

/* Writes, for use while the guest is paused.  0 or -1. */
int vmem_write(struct vmem *vm, uint64_t va, const void *buf, size_t len,
	       struct xds_err *err);
int vmem_write_u8(struct vmem *vm, uint64_t va, uint8_t v,
		  struct xds_err *err);
int vmem_write_u16(struct vmem *vm, uint64_t va, uint16_t v,
		   struct xds_err *err);
int vmem_write_u32(struct vmem *vm, uint64_t va, uint32_t v,
		   struct xds_err *err);
int vmem_write_u64(struct vmem *vm, uint64_t va, uint64_t v,
		   struct xds_err *err);

/*
 * The first slide in 0, align, 2*align, ... <= max at which the len bytes
 * of `expect` lie at sym_va + slide (KASLR: sym_va from System.map, expect
 * the banner from the profile).  An unmapped candidate is simply skipped.
 * 0 with *slide set, or -1 "not found".
 */
int vmem_find_slide(struct vmem *vm, uint64_t sym_va, const char *expect,
		    size_t len, uint64_t align, uint64_t max, uint64_t *slide,
		    struct xds_err *err);

#endif
