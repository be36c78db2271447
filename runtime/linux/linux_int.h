/*
 * linux_int.h - what linux.c and freeze.c share: the guest, its layout.
 *
 * struct layout holds the offsets and widths the readers and the
 * run-queue surgery use, copied from the profile at attach time; struct
 * view reads the fields of one object with its pages mapped once.  Not
 * for use outside runtime/linux.
 */
#ifndef XDS_LINUX_INT_H
#define XDS_LINUX_INT_H

#include "linux/linux.h"
#include "vmem/vmem.h"

#define VIEW_PAGES 4

struct lx_batch;

/* Offsets the hot path needs, taken from the profile once. */
struct layout {
	uint32_t t_state, t_state_sz, t_on_rq, t_prio, t_static_prio, t_se, t_tasks, t_pid,
		t_tgid, t_comm, t_exit_state, t_cpu, t_size;
	uint32_t se_on_rq, se_sum, se_vruntime, se_run_node, se_my_q;
	bool has_my_q;
	uint32_t rq_lock, rq_nr_running, rq_cfs, rq_curr, rq_idle, rq_size;
	uint32_t cfs_min_vruntime, cfs_timeline, cfs_curr, cfs_size;
	uint32_t rb_left, rb_right;
};

struct lx_guest {
	struct backend *be;
	int dom;
	struct profile prof;
	struct layout lo;
	struct vmem *vm;
	uint64_t slide;
	int nr_cpus;
	uint64_t init_task;
	uint64_t rq[LX_MAX_CPUS];
	uint64_t pco[LX_MAX_CPUS];      /* __per_cpu_offset[] */
	uint64_t max_gfn;
	struct lx_batch *batch;         /* between lx_begin and lx_commit */
	/* idle CPUs a committed change asked to reschedule: lx_kick wakes them */
	uint64_t kick[LX_MAX_CPUS / 64];
};

struct view {
	struct lx_guest *g;
	uint64_t va;
	uint32_t size;
	const uint8_t *page[VIEW_PAGES];
	struct xds_err *err;
	bool failed;
};

static inline bool lx_kernel_addr(uint64_t va)
{
	return va >= 0xff00000000000000ULL;   /* canonical upper half, kernel */
}

int lx_view_open(struct view *v, struct lx_guest *g, uint64_t va, uint32_t size, struct xds_err *err);
const uint8_t *lx_view_at(struct view *v, uint32_t off, uint32_t size, void *bounce);
uint64_t lx_view_uint(struct view *v, uint32_t off, uint32_t size);
int64_t lx_view_int(struct view *v, uint32_t off, uint32_t size);

#endif
