/*
 * linux.c - attaching to a Linux guest: page tables, KASLR, run queues,
 * the scheduler family.
 *
 * Attach reads vCPU 0's CR3 through the backend, sets up the page-table
 * walker, finds the KASLR slide by looking for the profile's banner at
 * linux_banner + slide (2 MiB steps), locates each CPU's struct rq as
 * runqueues + __per_cpu_offset[cpu], and picks the scheduler family from
 * the profile's fields (family.c).  Reading tasks and run queues is
 * snapshot.c's, writing them freeze.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "linux/family.h"

#define SLIDE_ALIGN (2ULL << 20)        /* CONFIG_PHYSICAL_ALIGN */

static void *map_frame(void *ctx, uint64_t gfn, int writable)
{
	struct lx_guest *g = ctx;
	return be_map(g->be, g->dom, gfn, 1, writable, NULL);
}

/* Point the walker at vCPU vcpu's page tables; with as_kernel, at the
 * kernel's half of a page-table-isolation pair (CR3 with bit 12 cleared:
 * a user-mode CR3 maps little of the kernel), else at CR3 as it is (a
 * kernel without PTI may put any process's tables at an odd page). */
static int root_of_vcpu(struct lx_guest *g, int vcpu, bool as_kernel, struct xds_err *err)
{
	struct be_regs regs;
	if (be_regs(g->be, g->dom, vcpu, &regs, err))
		return -1;
	if (!(regs.cr0 & 0x80000000ULL) || !regs.cr3)
		return xds_fail(err, "vCPU %d has paging off (CR0=%#llx): the guest kernel is not up yet", vcpu,
				(unsigned long long)regs.cr0);
	if (!regs.cr3_exact && as_kernel) {
		vmem_set_cr3(g->vm, regs.cr3, regs.cr4);
		return 0;
	}
	int levels = regs.cr4 & (1ULL << 12) ? 5 : 4;      /* CR4.LA57 */
	return vmem_set_root(g->vm, regs.cr3 & 0x000ffffffffff000ULL, levels, err);
}

/*
 * The slide, by the banner, through the page tables of the first vCPU
 * whose tables map it: a vCPU's CR3 may be a process's tables being torn
 * down (an idle CPU keeps the last mm's).  Then the walker is pinned to
 * the kernel's own tables (init_top_pgt), which live as long as the
 * kernel, where the profile knows them.
 */
static int find_slide(struct lx_guest *g, int nr_vcpus, struct xds_err *err)
{
	const char *banner = g->prof.banner;
	if (!*banner)
		return xds_fail(err, "profile %s has no banner", g->prof.source);
	uint64_t at = profile_sym(&g->prof, S_LINUX_BANNER)->addr;
	size_t len = strlen(banner);
	struct xds_err first = { "" };
	bool found = false;
	/* each vCPU: its kernel half first (what a PTI kernel needs), then its
	 * CR3 as it is (an odd page without PTI) */
	for (int i = 0; i < 2 * (nr_vcpus > 0 ? nr_vcpus : 1) && !found; i++) {
		struct xds_err e;
		if (i && root_of_vcpu(g, i / 2, i % 2 == 0, &e))
			continue;
		found = !vmem_find_slide(g->vm, at, banner, len, SLIDE_ALIGN, XDS_MAX_KASLR_SLIDE, &g->slide,
					 i ? &e : &first);
	}
	if (!found) {
		*err = first;
		return xds_err_wrap(err, "this guest does not run the kernel of profile %s (\"%.60s\")",
				    g->prof.source, banner);
	}
	const struct profile_sym *pgt = profile_sym(&g->prof, S_INIT_TOP_PGT);
	uint64_t root = vmem_root(g->vm), pa;
	char check[64];
	size_t n = len < sizeof check ? len : sizeof check;
	if (!pgt->present || vmem_translate(g->vm, pgt->addr + g->slide, &pa, NULL) ||
	    vmem_set_root(g->vm, pa & ~(uint64_t)(VMEM_PAGE_SIZE - 1), vmem_levels(g->vm), NULL))
		return 0;
	if (vmem_read(g->vm, at + g->slide, check, n, NULL) || memcmp(check, banner, n))
		vmem_set_root(g->vm, root, vmem_levels(g->vm), NULL);   /* not the tables it says: keep the vCPU's */
	return 0;
}

static int locate_runqueues(struct lx_guest *g, int nr_vcpus, struct xds_err *err)
{
	uint32_t ncpu;
	if (vmem_read_u32(g->vm, lx_sym(g, S_NR_CPU_IDS), &ncpu, err))
		return xds_err_wrap(err, "nr_cpu_ids");
	if (ncpu == 0 || ncpu > XDS_MAX_CPUS)
		return xds_fail(err, "nr_cpu_ids is %u: not a kernel of this profile?", ncpu);
	g->nr_cpus = (int)ncpu < nr_vcpus || nr_vcpus <= 0 ? (int)ncpu : nr_vcpus;
	for (int cpu = 0; cpu < g->nr_cpus; cpu++) {
		uint64_t pco;
		if (vmem_read_u64(g->vm, lx_sym(g, S_PER_CPU_OFFSET) + 8 * (uint64_t)cpu, &pco, err))
			return xds_err_wrap(err, "__per_cpu_offset[%d]", cpu);
		g->pco[cpu] = pco;
		g->rq[cpu] = lx_percpu(g, profile_sym(&g->prof, S_RUNQUEUES)->addr, cpu);
		if (!lx_kernel_addr(g->rq[cpu]))
			return xds_fail(err, "runqueues of CPU %d at %#llx: not a kernel address", cpu,
					(unsigned long long)g->rq[cpu]);
	}
	return 0;
}

/* The highest frame of dom, from the backend's list of domains. */
static int find_max_gfn(struct lx_guest *g, struct xds_err *err)
{
	struct be_dom doms[XDS_MAX_GUESTS];
	int n = be_list(g->be, doms, XDS_MAX_GUESTS, err);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (doms[i].id == g->dom) {
			g->max_gfn = doms[i].ram_bytes / BE_FRAME_SIZE - 1;
			return 0;
		}
	return xds_fail(err, "domain %d is not among the %d the backend lists", g->dom, n);
}

/* The page-table walker, rooted at vCPU 0's CR3 until find_slide. */
static int open_vmem(struct lx_guest *g, struct xds_err *err)
{
	struct vmem_phys phys = { .ctx = g, .map = map_frame, .max_gfn = g->max_gfn };
	g->vm = vmem_new(&phys, err);
	if (!g->vm)
		return -1;
	return root_of_vcpu(g, 0, true, err);
}

struct lx_guest *lx_attach(struct backend *be, int dom, const struct profile *prof,
			   struct xds_err *err)
{
	if (profile_check(prof, err))
		return NULL;
	const struct lx_family *family = lx_family_pick(prof, err);
	if (!family)
		return NULL;
	struct lx_guest *g = calloc(1, sizeof *g);
	if (!g) {
		xds_fail(err, "out of memory");
		return NULL;
	}
	g->be = be;
	g->dom = dom;
	g->prof = *prof;
	g->family = family;
	g->tif_need_resched = lx_tif_need_resched_bit(prof->banner);
	int nr_vcpus;
	if (find_max_gfn(g, err) || (nr_vcpus = be_nr_vcpus(be, dom, err)) < 0 || open_vmem(g, err) ||
	    find_slide(g, nr_vcpus, err) || locate_runqueues(g, nr_vcpus, err)) {
		lx_detach(g);
		return NULL;
	}
	g->init_task = lx_sym(g, S_INIT_TASK);
	if (lx_check_kernel(g, err)) {
		lx_detach(g);
		return NULL;
	}
	return g;
}

void lx_detach(struct lx_guest *g)
{
	if (!g)
		return;
	if (g->batch)
		lx_commit(g, NULL);
	vmem_free(g->vm);
	free(g->index);
	free(g);
}

uint64_t lx_slide(const struct lx_guest *g)
{
	return g->slide;
}

const char *lx_banner(const struct lx_guest *g)
{
	return g->prof.banner;
}

const char *lx_profile_source(const struct lx_guest *g)
{
	return g->prof.source;
}

int lx_jiffies(struct lx_guest *g, uint64_t *value, uint64_t *pa, struct xds_err *err)
{
	if (!g->prof.syms[S_JIFFIES].present)
		return 1;
	if (vmem_translate(g->vm, lx_sym(g, S_JIFFIES), pa, err) ||
	    vmem_read_phys(g->vm, *pa, value, sizeof *value, err))
		return xds_err_wrap(err, "jiffies");
	return 0;
}

void lx_forget(struct lx_guest *g)
{
	vmem_flush(g->vm);
}

int lx_nr_cpus(const struct lx_guest *g)
{
	return g->nr_cpus;
}
