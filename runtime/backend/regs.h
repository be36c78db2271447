/*
 * regs.h - a vCPU's registers as a backend reports them, and the parser of
 * QEMU's HMP `info registers [-a]` text.
 *
 * Owns struct be_regs (what the layers above need of a vCPU: CR3 and CR4
 * for the page walk, CPL for "user or kernel", RIP/RSP, the GS base that
 * holds a 64-bit kernel's per-CPU offset, HLT) and be_regs_parse.
 * The text is QEMU 7.2's x86 dump: a "CPU#N" line opens each vCPU's block
 * (a dump without one is CPU 0), then NAME=hex pairs; 64-bit mode prints
 * RAX..R15/RIP/RFL with 16 digits, 32- and 16-bit modes EAX../EIP/EFL with
 * 8; segment lines are "CS =sel base limit flags".  The simulator prints
 * the same format.  Leaves to callers: fetching the text (qmp_hmp) and
 * deciding what the values mean.
 */
#ifndef XDS_BE_REGS_H
#define XDS_BE_REGS_H

#include <stdint.h>

#include "util/err.h"

#define BE_EFER_LMA (1u << 10)   /* long mode active */

struct be_regs {
	int valid;              /* the block had RIP/EIP, CR0, CR3 and CR4 */
	int cpu;                /* N of "CPU#N" */
	uint64_t rip, rsp, rflags;
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t cr0, cr2, cr3, cr4, efer;
	uint64_t cs, ss;        /* selectors */
	uint64_t fs_base, gs_base;
	int cpl;                /* current privilege level: 0 kernel, 3 user */
	int hlt;                /* halted (idle) */
	int lma;                /* EFER.LMA: 64-bit paging */
	int cr3_exact;          /* CR3's frame is the root table itself: no PCID
				 * or page-table-isolation bits (Xen PV) */
};

/*
 * Parse an `info registers` dump into out[0..max), indexed by vCPU number;
 * entries not present in the text have valid == 0.  Returns the number of
 * entries filled (highest vCPU number + 1, at most max), or -1 with err on
 * text that has no complete vCPU block or is malformed (a repeated CPU#,
 * a value longer than 16 hex digits, a vCPU number >= max).
 */
int be_regs_parse(const char *text, struct be_regs *out, int max,
		  struct xds_err *err);

#endif
