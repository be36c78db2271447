/*
 * mem.c - a simulated guest's RAM and address space.
 *
 * The RAM is a file (file offset = guest physical address) mapped shared,
 * so xds-lua maps the same bytes a real QEMU guest would expose.  This file
 * lays out the guest: real x86-64 4-level page tables at 1 MiB, the kernel
 * image (banner, init_task, __per_cpu_offset, ...) at 16 MiB mapped with
 * 4 KiB pages at _text, a direct map of all RAM with 2 MiB and 1 GiB pages,
 * per-cpu areas and a heap for kernel objects.  With KASLR the image's
 * virtual and physical places and the direct map's base move.
 *
 * It also owns address translation for the simulator's own kernel code
 * (simk_host) and the guest's System.map.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "simk.h"

/* The banner the profile reads from this binary's DWARF/ELF, as a kernel's. */
const char linux_banner[] =
	"Linux version 6.1.0-xds-sim (xds-lua simulator) #1 SMP PREEMPT_DYNAMIC\n";

#define PTE_P   0x1ULL
#define PTE_RW  0x2ULL
#define PTE_PS  0x80ULL
#define PTE_G   0x100ULL
#define PTE_NX  (1ULL << 63)

void simk_oops(struct sdom *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->oops, sizeof d->oops, fmt, ap);
	va_end(ap);
	if (d->oops_jmp)
		longjmp(*d->oops_jmp, 1);
	fprintf(stderr, "xds-sim: %s: oops outside the kernel: %s\n", d->name, d->oops);
	abort();
}

/* Guest-physical address of [va, va+size) in the direct map or the kernel
 * image; false when it is neither or runs past the end of RAM. */
bool simk_pa(const struct sdom *d, uint64_t va, size_t size, uint64_t *pa)
{
	if (va - d->page_offset < d->ram_size)
		*pa = va - d->page_offset;
	else if (va - d->kimg_va < SIM_KIMG_SIZE)
		*pa = d->kimg_pa + (va - d->kimg_va);
	else
		return false;
	return *pa + size <= d->ram_size && *pa + size >= *pa;
}

void *simk_host(struct sdom *d, uint64_t va, size_t size)
{
	uint64_t pa;
	if (!simk_pa(d, va, size, &pa))
		simk_oops(d, "BUG: unable to handle page fault for address %#llx", (unsigned long long)va);
	return d->ram + pa;
}

/* A read that cannot oops, for the checker and for printing. */
bool simk_peek(struct sdom *d, uint64_t va, void *out, size_t n)
{
	uint64_t pa;
	if (!simk_pa(d, va, n, &pa))
		return false;
	memcpy(out, d->ram + pa, n);
	return true;
}

/* Objects in the kernel image have their image address, like &init_task;
 * everything else is reached through the direct map. */
uint64_t simk_gva(struct sdom *d, const void *host)
{
	uint64_t pa = (uint64_t)((const uint8_t *)host - d->ram);
	if (pa - d->kimg_pa < SIM_KIMG_SIZE)
		return d->kimg_va + (pa - d->kimg_pa);
	return d->page_offset + pa;
}

uint64_t simk_alloc(struct sdom *d, size_t size)
{
	uint64_t pa = (d->heap_next + 63) & ~63ULL;
	if (pa + size > d->heap_end)
		simk_oops(d, "Out of memory: cannot allocate %zu bytes", size);
	d->heap_next = pa + size;
	memset(d->ram + pa, 0, size);
	return d->page_offset + pa;
}

struct task_struct *simk_init_task(struct sdom *d)
{
	return (struct task_struct *)(uintptr_t)(d->kimg_va + SYM_INIT_TASK);
}

struct rq *simk_rq(struct sdom *d, int cpu)
{
	return (struct rq *)(uintptr_t)(d->percpu[cpu] + SYM_RUNQUEUES);
}

static uint64_t *pt_entry(struct sdom *d, uint64_t table_pa, unsigned idx)
{
	return (uint64_t *)(d->ram + table_pa) + idx;
}

/* Page-table pages come from a fixed region at 1 MiB. */
static uint64_t pt_page(unsigned *used)
{
	if (*used >= SIM_PT_PAGES)
		return 0;
	return SIM_PT_PA + 0x2000 + (uint64_t)(*used)++ * 0x1000;
}

/* The table the entry at idx points to, created if absent. */
static uint64_t pt_next(struct sdom *d, uint64_t table_pa, unsigned idx, unsigned *used)
{
	uint64_t *e = pt_entry(d, table_pa, idx);
	if (!(*e & PTE_P)) {
		uint64_t pa = pt_page(used);
		if (!pa)
			return 0;
		*e = pa | PTE_P | PTE_RW;
	}
	return *e & 0x000ffffffffff000ULL;
}

static int map_page(struct sdom *d, uint64_t va, uint64_t pa, uint64_t size, unsigned *used)
{
	uint64_t pml4 = d->cr3;
	uint64_t pdpt = pt_next(d, pml4, (va >> 39) & 511, used);
	if (!pdpt)
		return -1;
	if (size == (1ULL << 30)) {
		*pt_entry(d, pdpt, (va >> 30) & 511) = pa | PTE_P | PTE_RW | PTE_PS | PTE_G | PTE_NX;
		return 0;
	}
	uint64_t pd = pt_next(d, pdpt, (va >> 30) & 511, used);
	if (!pd)
		return -1;
	if (size == (2ULL << 20)) {
		*pt_entry(d, pd, (va >> 21) & 511) = pa | PTE_P | PTE_RW | PTE_PS | PTE_G | PTE_NX;
		return 0;
	}
	uint64_t pt = pt_next(d, pd, (va >> 21) & 511, used);
	if (!pt)
		return -1;
	*pt_entry(d, pt, (va >> 12) & 511) = pa | PTE_P | PTE_RW | PTE_G;
	return 0;
}

static int build_page_tables(struct sdom *d)
{
	unsigned used = 0;
	/* An 8 KiB PGD: kernel half first, the PTI user copy (empty of the
	 * kernel) in the second page, as Linux lays them out. */
	d->cr3 = SIM_PT_PA;
	memset(d->ram + SIM_PT_PA, 0, 0x2000);
	uint64_t pa = 0;
	while (pa < d->ram_size) {
		uint64_t left = d->ram_size - pa;
		uint64_t size = (left >= (1ULL << 30) && !(pa & ((1ULL << 30) - 1)))
			? (1ULL << 30) : (2ULL << 20);
		if (map_page(d, d->page_offset + pa, pa, size, &used))
			return -1;
		pa += size;
	}
	for (uint64_t off = 0; off < SIM_KIMG_SIZE; off += 0x1000)
		if (map_page(d, d->kimg_va + off, d->kimg_pa + off, 0x1000, &used))
			return -1;
	return 0;
}

static uint64_t slide_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void choose_layout(struct sdom *d)
{
	d->page_offset = SIM_PAGE_OFFSET;
	d->kimg_va = SIM_KIMG_VA;
	d->kimg_pa = SIM_KIMG_PA;
	if (!d->kaslr)
		return;
	uint64_t r = d->sim->seed * 131 + (uint64_t)d->idx * 7919 + 1;
	d->kimg_va += (slide_rand(&r) % 480) << 21;           /* < 1 GiB - 40 MiB */
	d->page_offset += (slide_rand(&r) % 64) << 30;
	uint64_t room = (d->ram_size / 2 - SIM_KIMG_PA) >> 21;
	if (room > 1)
		d->kimg_pa += (slide_rand(&r) % room) << 21;
}

int sim_mem_create(struct sdom *d, const char *dir, char *err, size_t errlen)
{
	snprintf(d->ram_path, sizeof d->ram_path, "%s/%s.ram", dir, d->name);
	d->ram_fd = open(d->ram_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (d->ram_fd < 0 || ftruncate(d->ram_fd, (off_t)d->ram_size) < 0) {
		snprintf(err, errlen, "%s: %s", d->ram_path, strerror(errno));
		return -1;
	}
	d->ram = mmap(NULL, d->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, d->ram_fd, 0);
	if (d->ram == MAP_FAILED) {
		d->ram = NULL;
		snprintf(err, errlen, "%s: mmap: %s", d->ram_path, strerror(errno));
		return -1;
	}
	choose_layout(d);
	if (build_page_tables(d)) {
		snprintf(err, errlen, "%s: page tables do not fit", d->name);
		return -1;
	}
	d->heap_next = d->kimg_pa + SIM_KIMG_SIZE;
	d->heap_end = d->ram_size;
	if (d->kimg_pa > SIM_KIMG_PA) {   /* the heap also takes the gap below the image */
		d->heap_next = SIM_PT_PA + 0x2000 + SIM_PT_PAGES * 0x1000ULL;
		d->heap_end = d->kimg_pa;
		if (d->ram_size - (d->kimg_pa + SIM_KIMG_SIZE) > d->heap_end - d->heap_next) {
			d->heap_next = d->kimg_pa + SIM_KIMG_SIZE;
			d->heap_end = d->ram_size;
		}
	}
	memcpy(d->ram + d->kimg_pa + SYM_LINUX_BANNER, linux_banner, sizeof linux_banner);
	return 0;
}

int sim_write_system_map(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%016llx D runqueues\n", (unsigned long long)SYM_RUNQUEUES);
	static const struct { uint64_t off; char type; const char *name; } syms[] = {
		{ 0, 'T', "_text" },
		{ 0x1000, 'T', "schedule" },
		{ SYM_LINUX_BANNER, 'D', "linux_banner" },
		{ SYM_INIT_TASK, 'D', "init_task" },
		{ SYM_PER_CPU_OFFSET, 'D', "__per_cpu_offset" },
		{ SYM_NR_CPU_IDS, 'D', "nr_cpu_ids" },
		{ SYM_ROOT_TASK_GROUP, 'D', "root_task_group" },
		{ SYM_PAGE_OFFSET_BASE, 'D', "page_offset_base" },
		{ SYM_JIFFIES, 'D', "jiffies" },
	};
	for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++)
		fprintf(f, "%016llx %c %s\n", (unsigned long long)(SIM_KIMG_VA + syms[i].off),
			syms[i].type, syms[i].name);
	return fclose(f);
}

void sim_mem_release(struct sdom *d)
{
	if (d->ram)
		munmap(d->ram, d->ram_size);
	if (d->ram_fd >= 0)
		close(d->ram_fd);
	d->ram = NULL;
	d->ram_fd = -1;
}
