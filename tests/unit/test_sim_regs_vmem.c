/*
 * test_sim_regs_vmem.c - a simulated guest's registers and page tables, as
 * the qemu backend and vmem see them: `info registers -a` (HMP through
 * QMP) parses with be_regs_parse into every vCPU with CR3, CR4 and CPL;
 * from that CR3 vmem walks the guest's own page tables to init_task, whose
 * comm is "swapper/0"; with kaslr = true the banner search finds a
 * non-zero slide, a multiple of 2 MiB, and init_task moves by it; with
 * pti = true a vCPU in user mode shows the user PGD (CR3 bit 12), which
 * does not map the kernel, and vmem still translates (it clears the bit).
 */
#include <stddef.h>

#include "tests/tap.h"
#include "tests/simctl.h"
#include "backend/regs.h"
#include "vmem/vmem.h"
#include "kernel.h"

#define MiB ((uint64_t)1 << 20)
#define BANNER "Linux version 6.1.0-xds-sim"

/* Busy tasks on every vCPU, so the vCPUs are in user mode between slices. */
static const char scenario[] =
	"host { pcpus = 8 }\n"
	"domain { name = \"R\", vcpus = 2, ram = \"64M\" }\n"
	"domain { name = \"K\", vcpus = 1, ram = \"128M\", kaslr = true }\n"
	"domain { name = \"P\", vcpus = 2, ram = \"64M\", pti = true }\n"
	"for _, d in ipairs { \"R\", \"K\", \"P\" } do\n"
	"  task { dom = d, comm = \"spin0\", cpu = 0, run = cpu() }\n"
	"end\n"
	"task { dom = \"R\", comm = \"spin1\", cpu = 1, run = cpu() }\n"
	"task { dom = \"P\", comm = \"spin1\", cpu = 1, run = cpu() }\n";

struct ram {
	uint8_t *p;
	size_t size;
};

static void *map_frame(void *ctx, uint64_t gfn, int writable)
{
	struct ram *r = ctx;
	(void)writable;
	return (gfn + 1) * VMEM_PAGE_SIZE <= r->size ? r->p + gfn * VMEM_PAGE_SIZE : NULL;
}

/* info registers -a of one domain, parsed; the count, or -1. */
static int regs_of(struct simctl *sc, const char *dom, struct be_regs *regs, int max, struct xds_err *err)
{
	struct qmp *q = simctl_domain(sc, dom, err);
	char *text = q ? qmp_hmp(q, "info registers -a", err) : NULL;
	int n = text ? be_regs_parse(text, regs, max, err) : -1;
	free(text);
	qmp_close(q);
	return n;
}

/* init_task's comm read through vmem at va. */
static void comm_at(struct vmem *vm, uint64_t task_va, char *comm, size_t n)
{
	struct xds_err err;
	comm[0] = 0;
	if (vmem_read_str(vm, task_va + offsetof(struct task_struct, comm), comm, n, &err) < 0) {
		diag("%s", err.msg);
		snprintf(comm, n, "(unreadable)");
	}
}

static void plain_domain(struct simctl *sc, struct vmem *vm)
{
	struct xds_err err;
	struct be_regs r[4];
	int n = regs_of(sc, "R", r, 4, &err);
	if (!ok(n == 2, "R: info registers -a parses into 2 vCPUs (%d)", n)) {
		diag("%s", n < 0 ? err.msg : "");
		return;
	}
	for (int i = 0; i < 2; i++) {
		ok(r[i].valid && r[i].cpu == i, "R: vCPU %d has a complete block", i);
		ok(r[i].cr3 && !(r[i].cr3 & 0xfff), "R: vCPU %d CR3 %#" PRIx64 " is a frame address", i, r[i].cr3);
		ok((r[i].cr4 & 0x20) && r[i].lma, "R: vCPU %d CR4 %#" PRIx64 " has PAE, long mode active", i, r[i].cr4);
		is_int(r[i].cpl, 3, "R: vCPU %d runs a task in user mode (CPL 3)", i);
	}
	uint64_t init_task = simctl_symbol(sc, "R", "init_task");
	vmem_set_cr3(vm, r[0].cr3, r[0].cr4);
	uint64_t gpa = 0;
	ok(vmem_translate(vm, init_task, &gpa, &err) == 0, "R: vmem translates init_task %#" PRIx64, init_task);
	is_int(gpa, init_task - SIMCTL_KIMG_VA + SIMCTL_KIMG_PA, "R: to its frame in the kernel image");
	char comm[17];
	comm_at(vm, init_task, comm, sizeof comm);
	is_str(comm, "swapper/0", "R: init_task's comm through the page tables");
}

static void kaslr_domain(struct simctl *sc, struct vmem *vm)
{
	struct xds_err err;
	struct be_regs r[2];
	if (!ok(regs_of(sc, "K", r, 2, &err) == 1 && r[0].valid, "K: registers of its vCPU")) {
		diag("%s", err.msg);
		return;
	}
	vmem_set_cr3(vm, r[0].cr3, r[0].cr4);
	uint64_t banner = simctl_symbol(sc, "K", "linux_banner");
	uint64_t init_task = simctl_symbol(sc, "K", "init_task");
	uint64_t gpa, slide = 0;
	ok(vmem_translate(vm, init_task, &gpa, &err) != 0, "K: init_task is not at its System.map address");
	if (!ok(vmem_find_slide(vm, banner, BANNER, strlen(BANNER), 2 * MiB, 1024 * MiB, &slide, &err) == 0,
		"K: vmem_find_slide finds linux_banner")) {
		diag("%s", err.msg);
		return;
	}
	diag("K: slide %#" PRIx64 " (%" PRIu64 " MiB)", slide, slide / MiB);
	ok(slide != 0, "K: the slide is not zero");
	is_int(slide % (2 * MiB), 0, "K: the slide is a multiple of 2 MiB");
	char comm[17];
	comm_at(vm, init_task + slide, comm, sizeof comm);
	is_str(comm, "swapper/0", "K: init_task + slide is init_task");
	uint64_t pob = 0;
	int got = vmem_read_u64(vm, simctl_symbol(sc, "K", "page_offset_base") + slide, &pob, &err) == 0;
	ok(got && pob >= SIMCTL_PAGE_OFFSET && !(pob & ((1ULL << 30) - 1)),
	   "K: page_offset_base + slide holds a GiB-aligned direct-map base (%#" PRIx64 ")", pob);
}

static void pti_domain(struct simctl *sc, struct vmem *vm)
{
	struct xds_err err;
	struct be_regs r[4];
	if (!ok(regs_of(sc, "P", r, 4, &err) == 2, "P: registers of its 2 vCPUs")) {
		diag("%s", err.msg);
		return;
	}
	int u = r[0].cpl == 3 ? 0 : r[1].cpl == 3 ? 1 : -1;
	if (!ok(u >= 0, "P: a vCPU is in user mode"))
		return;
	ok(r[u].cr3 & 0x1000, "P: its CR3 %#" PRIx64 " has bit 12 (the user PGD) set", r[u].cr3);
	ok(r[u].cr4 & (1u << 17), "P: CR4 has PCIDE");
	uint64_t init_task = simctl_symbol(sc, "P", "init_task"), gpa;
	struct xds_err e2;
	ok(vmem_set_root(vm, r[u].cr3 & 0x000ffffffffff000ULL, 4, &e2) == 0 &&
	   vmem_translate(vm, init_task, &gpa, &e2) != 0,
	   "P: the user PGD does not map init_task (so the bit matters)");
	vmem_set_cr3(vm, r[u].cr3, r[u].cr4);
	ok(!(vmem_root(vm) & 0x1000), "P: vmem_set_cr3 cleared bit 12 (root %#" PRIx64 ")", vmem_root(vm));
	char comm[17];
	comm_at(vm, init_task, comm, sizeof comm);
	is_str(comm, "swapper/0", "P: init_task's comm through the kernel PGD");
}

static struct vmem *open_vmem(struct simctl *sc, const char *dom, struct ram *r)
{
	struct xds_err err;
	if (!(r->p = simctl_map_ram(sc, dom, &r->size, &err)))
		return NULL;
	struct vmem_phys phys = { .ctx = r, .map = map_frame, .max_gfn = r->size / VMEM_PAGE_SIZE - 1 };
	return vmem_new(&phys, &err);
}

int main(void)
{
	char path[256];
	struct simctl sc;
	struct xds_err err;
	if (!ok(simctl_write_scenario("regs.lua", scenario, path, sizeof path) == 0, "scenario written") ||
	    !ok(simctl_start(&sc, path, NULL, &err) == 0, "xds-sim serves R, K (kaslr) and P (pti)") ||
	    !ok(simctl_step(&sc, 50000000, &err) > 0, "50 ms stepped")) {
		diag("%s", err.msg);
		simctl_stop(&sc);
		return done_testing();
	}
	static const char *const doms[] = { "R", "K", "P" };
	void (*const checks[])(struct simctl *, struct vmem *) = { plain_domain, kaslr_domain, pti_domain };
	for (int i = 0; i < 3; i++) {
		struct ram r = { 0 };
		struct vmem *vm = open_vmem(&sc, doms[i], &r);
		if (ok(vm != NULL, "%s.ram under vmem", doms[i]))
			checks[i](&sc, vm);
		vmem_free(vm);
		if (r.p)
			munmap(r.p, r.size);
	}
	is_int(simctl_violations(&sc, &err), 0, "no invariant violated");
	simctl_stop(&sc);
	simctl_remove_scenario(path);
	return done_testing();
}
