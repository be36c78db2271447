/*
 * linux_int.h - what the files of runtime/linux share: the guest, field
 * access through its profile, views, the task_struct reader, the batch.
 *
 * Every offset and width comes from the profile (lx_off, lx_wid): there is
 * one way to reach a field.  A struct view reads the fields of one object
 * with its pages mapped once (view.c); lx_read reads one integer through
 * the page-table walker.  txn.h is the write log, shadow.h the validated
 * copy of a tree, family.h the scheduler families.  Not for use outside
 * runtime/linux.
 */
#ifndef XDS_LINUX_INT_H
#define XDS_LINUX_INT_H

#include <stdlib.h>
#include <string.h>

#include "linux/linux.h"
#include "linux/shadow.h"
#include "linux/txn.h"
#include "util/bounds.h"
#include "vmem/vmem.h"

#define LX_CPU_WORDS (XDS_MAX_CPUS / 64)       /* a bitmap of CPUs */

struct lx_family;
struct by_addr;

/*
 * Between lx_begin and lx_commit the changes of one pause share one write
 * log and one validated shadow per cfs_rq: each tree is read once, and the
 * touched structures are verified once, at commit.  A failed operation
 * inside the batch undoes its own writes; a failed commit undoes the batch.
 */
struct lx_batch {
	struct lx_guest *g;
	struct lx_txn tx;
	struct lx_shadows trees;
	uint64_t *levels;               /* cfs_rqs to verify at commit */
	int nlev, caplev;
	uint64_t kick[LX_CPU_WORDS];    /* idle CPUs asked to reschedule */
};

/*
 * During a snapshot, the 2 MiB of a large page (the kernel's direct map,
 * where slab objects live) that the last view found, mapped whole: the
 * next objects in it need no translation.  Between lx_piece_start and
 * lx_piece_stop only, which bracket one pass with no be_flush or
 * vmem_flush inside (a retry with fresh translations starts again).
 */
#define LX_PIECE 0x200000ULL
struct lx_piece {
	bool on;
	uint64_t va0, len;
	const uint8_t *host;
};

/* Where lx_task_read finds its fields (task.c), resolved once. */
#define LX_TASK_LAYOUT_MAX 24
struct lx_task_layout {
	bool done, ok;
	bool words;                     /* ok, and an 8-byte load at each field stays inside the struct */
	uint32_t off[LX_TASK_LAYOUT_MAX];
	uint8_t wid[LX_TASK_LAYOUT_MAX];
	uint64_t mask[LX_TASK_LAYOUT_MAX];      /* the field's bytes of such a load (0: absent) */
};

struct lx_guest {
	struct backend *be;
	int dom;
	struct profile prof;
	const struct lx_family *family;
	struct vmem *vm;
	uint64_t slide;
	int nr_cpus;
	uint64_t init_task;
	uint64_t rq[XDS_MAX_CPUS];
	uint64_t pco[XDS_MAX_CPUS];     /* __per_cpu_offset[] */
	uint64_t max_gfn;
	struct lx_batch *batch;         /* between lx_begin and lx_commit */
	lx_write_log_fn write_log;      /* before each write (lx_set_write_log) */
	uint64_t deadline_ns;           /* lx_set_deadline; 0: none */
	bool past_deadline;             /* a walk stopped at it */
	void *write_log_ctx;
	/* the snapshot's tasks by address (snapshot.c), kept between snapshots,
	 * and the last snapshot's task count, to size the next one's array */
	struct lx_piece piece;
	struct lx_task_layout task_layout;
	struct by_addr *index;
	uint32_t index_slots;
	int task_hint;
	/* idle CPUs a committed change asked to reschedule: lx_kick wakes them */
	uint64_t kick[LX_CPU_WORDS];
	int tif_need_resched;           /* its bit in thread_info.flags; -1: unknown */
};

/* Every XDS_BUDGET_CHECK_EVERY nodes of a walk: -1 with err once the
 * guest's deadline passed.  Inline for the nodes in between. */
int lx_deadline_passed(struct lx_guest *g, int nodes, struct xds_err *err);
static inline int lx_check_deadline(struct lx_guest *g, int nodes, struct xds_err *err)
{
	return g->deadline_ns && nodes % XDS_BUDGET_CHECK_EVERY == 0 ? lx_deadline_passed(g, nodes, err) : 0;
}

/* The object of size bytes at va where it lies whole inside the large page
 * the last views mapped (lx_view_open's fast case), else NULL. */
static inline const uint8_t *lx_piece_at(const struct lx_guest *g, uint64_t va, uint32_t size)
{
	const struct lx_piece *pc = &g->piece;
	return pc->len && va - pc->va0 < pc->len && size <= pc->len - (va - pc->va0) ? pc->host + (va - pc->va0)
										     : NULL;
}

static inline bool lx_kernel_addr(uint64_t va)
{
	return va >= 0xff00000000000000ULL;   /* canonical upper half, kernel */
}

/* The address of per-CPU variable var (its symbol's link-time address) on
 * cpu: var + __per_cpu_offset[cpu].  Up to 6.14 a per-CPU symbol is an
 * offset from the per-CPU area's start, which KASLR leaves alone; from
 * 6.15 it is an ordinary kernel address, moved by the slide (KERNELS.md). */
static inline uint64_t lx_percpu(const struct lx_guest *g, uint64_t var, int cpu)
{
	if (var >= 0xffffffff00000000ULL)
		var += g->slide;
	return var + g->pco[cpu];
}

/* resched.c: x86's TIF_NEED_RESCHED bit for the kernel of banner, or -1;
 * the address of cpu's preempt count, or 0 when the profile has none. */
int lx_tif_need_resched_bit(const char *banner);
uint64_t lx_preempt_count_va(const struct lx_guest *g, int cpu);

/* ---- fields, through the profile ---- */

static inline uint32_t lx_off(const struct lx_guest *g, enum profile_field_id id)
{
	return g->prof.fields[id].offset;
}

static inline uint32_t lx_wid(const struct lx_guest *g, enum profile_field_id id)
{
	return g->prof.fields[id].size;
}

static inline bool lx_has(const struct lx_guest *g, enum profile_field_id id)
{
	return g->prof.fields[id].present;
}

static inline uint32_t lx_sizeof(const struct lx_guest *g, enum profile_struct_id id)
{
	return g->prof.structs[id].size;
}

/* Room for one more of the n elements of size bytes in the array at *pp
 * (a pointer to the array's pointer), whose capacity is *cap. */
static inline int lx_grow(void *pp, int *cap, int n, size_t size, struct xds_err *err)
{
	void *p;
	if (n < *cap)
		return 0;
	memcpy(&p, pp, sizeof p);
	int c = *cap ? 2 * *cap : 16;
	p = realloc(p, (size_t)c * size);
	if (!p)
		return xds_fail(err, "out of memory");
	memcpy(pp, &p, sizeof p);
	*cap = c;
	return 0;
}

/* A global symbol's address in the running guest (KASLR slide added). */
static inline uint64_t lx_sym(const struct lx_guest *g, enum profile_sym_id id)
{
	return g->prof.syms[id].addr + g->slide;
}

/* A little-endian integer of len (1..8) bytes at va. */
int lx_read(struct lx_guest *g, uint64_t va, unsigned len, uint64_t *out, struct xds_err *err);
/* Field id of the object at base, with the profile's width. */
int lx_read_field(struct lx_guest *g, uint64_t base, enum profile_field_id id, uint64_t *out,
		  struct xds_err *err);

/* sanity.c: init_task, its tasks list and each run queue's cpu agree
 * with the profile; an error names what does not. */
int lx_check_kernel(struct lx_guest *g, struct xds_err *err);

/* ---- views (view.c) ---- */

struct view {
	struct lx_guest *g;
	uint64_t va;
	uint32_t size;
	const uint8_t *base;            /* the whole object, when mapped in one piece */
	const uint8_t *page[XDS_MAX_OBJECT_PAGES];
	struct xds_err *err;
	bool failed;
};

int lx_view_open(struct view *v, struct lx_guest *g, uint64_t va, uint32_t size, struct xds_err *err);
void lx_piece_start(struct lx_guest *g);
void lx_piece_stop(struct lx_guest *g);
/* Maps what lx_view_at needs; a field that crosses a page is copied to bounce. */
const uint8_t *lx_view_map(struct view *v, uint32_t off, uint32_t size, void *bounce);

/* A pointer to size bytes at off, or NULL with v->err set (once).  Inline:
 * a snapshot reads a dozen fields of every task. */
static inline const uint8_t *lx_view_at(struct view *v, uint32_t off, uint32_t size, void *bounce)
{
	if (!v->failed && off + size <= v->size) {
		if (v->base)
			return v->base + off;
		uint64_t first = v->va + off;
		const uint8_t *page = v->page[(first >> 12) - (v->va >> 12)];
		if (page && (first & 0xfff) + size <= 0x1000)
			return page + (first & 0xfff);
	}
	return lx_view_map(v, off, size, bounce);
}

/* The little-endian integer of w (1..8) bytes at p: a load for the usual widths. */
static inline uint64_t lx_load_le(const uint8_t *p, unsigned w)
{
	uint64_t r = 0;
	switch (w) {                    /* little-endian guest and host */
	case 1: return *p;
	case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
	case 4: { uint32_t x; memcpy(&x, p, 4); return x; }
	case 8: memcpy(&r, p, 8); return r;
	default: memcpy(&r, p, w); return r;
	}
}

/* The integer of size bytes at off (the first 8 of a wider field), 0 on failure. */
static inline uint64_t lx_view_uint(struct view *v, uint32_t off, uint32_t size)
{
	uint8_t bounce[8];
	size = size > 8 ? 8 : size;
	const uint8_t *p = size ? lx_view_at(v, off, size, bounce) : NULL;
	return p ? lx_load_le(p, size) : 0;
}

static inline int64_t lx_view_int(struct view *v, uint32_t off, uint32_t size)
{
	uint64_t r = lx_view_uint(v, off, size);
	if (size && size < 8 && (r >> (8 * size - 1)) & 1)
		r |= ~0ULL << (8 * size);
	return (int64_t)r;
}

/* Field id of the viewed object, with the profile's width. */
static inline uint64_t lx_view_field(struct view *v, enum profile_field_id id)
{
	return lx_view_uint(v, lx_off(v->g, id), lx_wid(v->g, id));
}

/* ---- task_struct (task.c) ---- */

#define TASK_COMM_LEN 16

/* The fields of one task_struct that the snapshot and freeze/thaw use. */
struct lx_task_struct {
	uint64_t addr;
	uint64_t se;                    /* &p->se */
	uint64_t state;                 /* __state (5.10: state) */
	uint64_t on_rq;                 /* p->on_rq: 0, TASK_ON_RQ_QUEUED, _MIGRATING */
	uint64_t se_on_rq;              /* p->se.on_rq */
	uint64_t sum_exec_runtime, vruntime;
	uint64_t tasks_next, tasks_prev;   /* p->tasks: thread-group leaders only */
	uint64_t thread_next, thread_prev; /* p->thread_node, on signal->thread_head (0: no such field) */
	uint64_t signal, group_leader;     /* p->signal, p->group_leader (0: no such field) */
	uint64_t start_time;               /* ns of the guest's boot clock at fork (0: no such field) */
	int pid, tgid, prio, static_prio, normal_prio, exit_state;
	unsigned policy, cpu;
	uint64_t flags;                 /* PF_* (0 where the profile has no flags) */
	char comm[TASK_COMM_LEN];       /* as the guest holds it, NUL-terminated */
};

/* Reads the task_struct at va in one view of its pages. */
int lx_task_read(struct lx_guest *g, uint64_t va, struct lx_task_struct *p, struct xds_err *err);
/* LX_PROTECT_* bits of a task as read. */
unsigned lx_task_protect(const struct lx_task_struct *p);
/* exit_state set or PF_EXITING: the task is on its way out (do_exit). */
bool lx_task_exiting(const struct lx_task_struct *p);

#endif
