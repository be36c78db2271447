/*
 * linux.c - reading a Linux guest: attach, KASLR, tasks and run queues.
 *
 * Attach reads vCPU 0's CR3 through the backend, sets up the page-table
 * walker, finds the KASLR slide by looking for the profile's banner at
 * linux_banner + slide (2 MiB steps), and locates each CPU's struct rq as
 * runqueues + __per_cpu_offset[cpu].  A snapshot then walks init_task's
 * task list and each run queue's CFS tree.
 *
 * Field reads go through a struct view: the pages of one object are
 * translated and mapped once, then every field is a pointer read, so that
 * a snapshot of thousands of tasks costs a few walks per task.  Every
 * list and tree walk is bounded, every pointer must be a canonical kernel
 * address, and list links must agree both ways; a guest that changes
 * under us (reads do not pause it) is retried, a corrupt one is an error.
 */
#include <stdlib.h>
#include <string.h>

#include "linux/linux_int.h"

#define SLIDE_ALIGN   (2ULL << 20)
#define SLIDE_MAX     (1ULL << 30)
#define TREE_MAX_DEPTH 128
#define SNAP_TRIES    3

/* ---- reading objects ---- */

int lx_view_open(struct view *v, struct lx_guest *g, uint64_t va, uint32_t size,
		     struct xds_err *err)
{
	memset(v, 0, sizeof *v);
	v->g = g;
	v->va = va;
	v->size = size;
	v->err = err;
	if (!lx_kernel_addr(va) || va + size < va)
		return xds_fail(err, "%#llx: not a kernel address", (unsigned long long)va);
	if (((va & 0xfff) + size + 0xfff) >> 12 > VIEW_PAGES)
		return xds_fail(err, "%#llx: object of %u bytes too large", (unsigned long long)va, size);
	return 0;
}

/* A pointer to size bytes at off, or NULL with v->err set (once). */
const uint8_t *lx_view_at(struct view *v, uint32_t off, uint32_t size, void *bounce)
{
	if (v->failed)
		return NULL;
	if (off + size > v->size) {
		v->failed = true;
		xds_fail(v->err, "%#llx: field at +%u beyond the object", (unsigned long long)v->va, off);
		return NULL;
	}
	uint64_t base = v->va & ~0xfffULL;
	uint64_t first = v->va + off, last = first + size - 1;
	for (uint64_t pva = first & ~0xfffULL; pva <= last; pva += 0x1000) {
		unsigned i = (unsigned)((pva - base) >> 12);
		if (v->page[i])
			continue;
		uint64_t gpa;
		if (vmem_translate(v->g->vm, pva, &gpa, v->err)) {
			v->failed = true;
			return NULL;
		}
		v->page[i] = be_map(v->g->be, v->g->dom, gpa >> 12, 1, 0, v->err);
		if (!v->page[i]) {
			v->failed = true;
			return NULL;
		}
	}
	unsigned fi = (unsigned)(((first & ~0xfffULL) - base) >> 12);
	const uint8_t *p = v->page[fi] + (first & 0xfff);
	if ((first & ~0xfffULL) == (last & ~0xfffULL))
		return p;
	size_t head = 0x1000 - (first & 0xfff);        /* the field crosses a page */
	memcpy(bounce, p, head);
	memcpy((uint8_t *)bounce + head, v->page[fi + 1], size - head);
	return bounce;
}

uint64_t lx_view_uint(struct view *v, uint32_t off, uint32_t size)
{
	uint8_t bounce[8];
	const uint8_t *p = lx_view_at(v, off, size, bounce);
	if (!p)
		return 0;
	uint64_t r = 0;
	memcpy(&r, p, size > 8 ? 8 : size);      /* little-endian guest */
	return size >= 8 ? r : r & ((1ULL << (8 * size)) - 1);
}

int64_t lx_view_int(struct view *v, uint32_t off, uint32_t size)
{
	uint64_t r = lx_view_uint(v, off, size);
	if (size < 8 && (r >> (8 * size - 1)) & 1)
		r |= ~0ULL << (8 * size);
	return (int64_t)r;
}

/* ---- attach ---- */

static void *map_frame(void *ctx, uint64_t gfn, int writable)
{
	struct lx_guest *g = ctx;
	return be_map(g->be, g->dom, gfn, 1, writable, NULL);
}

static uint32_t off(const struct profile *p, enum profile_field_id id)
{
	return profile_field(p, id)->offset;
}

static void take_layout(struct lx_guest *g)
{
	const struct profile *p = &g->prof;
	struct layout *l = &g->lo;
	l->t_state = off(p, F_TASK_STATE);
	l->t_state_sz = profile_field(p, F_TASK_STATE)->size;
	l->t_on_rq = off(p, F_TASK_ON_RQ);
	l->t_prio = off(p, F_TASK_PRIO);
	l->t_static_prio = off(p, F_TASK_STATIC_PRIO);
	l->t_se = off(p, F_TASK_SE);
	l->t_tasks = off(p, F_TASK_TASKS);
	l->t_pid = off(p, F_TASK_PID);
	l->t_tgid = off(p, F_TASK_TGID);
	l->t_comm = off(p, F_TASK_COMM);
	l->t_exit_state = off(p, F_TASK_EXIT_STATE);
	l->t_cpu = off(p, F_TASK_CPU);
	l->t_size = profile_struct(p, T_TASK_STRUCT)->size;
	l->se_on_rq = off(p, F_SE_ON_RQ);
	l->se_sum = off(p, F_SE_SUM_EXEC_RUNTIME);
	l->se_vruntime = off(p, F_SE_VRUNTIME);
	l->se_run_node = off(p, F_SE_RUN_NODE);
	l->has_my_q = profile_field(p, F_SE_MY_Q)->present;
	l->se_my_q = off(p, F_SE_MY_Q);
	l->rq_lock = off(p, F_RQ_LOCK);
	l->rq_nr_running = off(p, F_RQ_NR_RUNNING);
	l->rq_cfs = off(p, F_RQ_CFS);
	l->rq_curr = off(p, F_RQ_CURR);
	l->rq_idle = off(p, F_RQ_IDLE);
	l->rq_size = profile_struct(p, T_RQ)->size;
	l->cfs_min_vruntime = off(p, F_CFS_RQ_MIN_VRUNTIME);
	l->cfs_timeline = off(p, F_CFS_RQ_TASKS_TIMELINE) + off(p, F_RBC_ROOT) + off(p, F_RB_ROOT_NODE);
	l->cfs_curr = off(p, F_CFS_RQ_CURR);
	l->cfs_size = profile_struct(p, T_CFS_RQ)->size;
	l->rb_left = off(p, F_RB_LEFT);
	l->rb_right = off(p, F_RB_RIGHT);
}

static uint64_t sym(const struct lx_guest *g, enum profile_sym_id id)
{
	return profile_sym(&g->prof, id)->addr + g->slide;
}

static int find_slide(struct lx_guest *g, struct xds_err *err)
{
	const char *banner = g->prof.banner;
	if (!*banner)
		return xds_fail(err, "profile %s has no banner", g->prof.source);
	uint64_t at = profile_sym(&g->prof, S_LINUX_BANNER)->addr;
	if (vmem_find_slide(g->vm, at, banner, strlen(banner), SLIDE_ALIGN, SLIDE_MAX, &g->slide, err))
		return xds_err_wrap(err, "this guest does not run the kernel of profile %s (\"%.60s\")",
				    g->prof.source, banner);
	return 0;
}

static int locate_runqueues(struct lx_guest *g, int nr_vcpus, struct xds_err *err)
{
	uint32_t ncpu;
	if (vmem_read_u32(g->vm, sym(g, S_NR_CPU_IDS), &ncpu, err))
		return xds_err_wrap(err, "nr_cpu_ids");
	if (ncpu == 0 || ncpu > LX_MAX_CPUS)
		return xds_fail(err, "nr_cpu_ids is %u: not a kernel of this profile?", ncpu);
	g->nr_cpus = (int)ncpu < nr_vcpus || nr_vcpus <= 0 ? (int)ncpu : nr_vcpus;
	/* per-cpu symbols are offsets into each CPU's area; KASLR leaves them */
	uint64_t rq_off = profile_sym(&g->prof, S_RUNQUEUES)->addr;
	if (rq_off >= 0xffffffff00000000ULL)
		rq_off += g->slide;
	for (int cpu = 0; cpu < g->nr_cpus; cpu++) {
		uint64_t pco;
		if (vmem_read_u64(g->vm, sym(g, S_PER_CPU_OFFSET) + 8 * (uint64_t)cpu, &pco, err))
			return xds_err_wrap(err, "__per_cpu_offset[%d]", cpu);
		g->pco[cpu] = pco;
		g->rq[cpu] = rq_off + pco;
		if (!lx_kernel_addr(g->rq[cpu]))
			return xds_fail(err, "runqueues of CPU %d at %#llx: not a kernel address", cpu,
					(unsigned long long)g->rq[cpu]);
	}
	return 0;
}

struct lx_guest *lx_attach(struct backend *be, int dom, const struct profile *prof,
			   struct xds_err *err)
{
	if (profile_check(prof, err))
		return NULL;
	if (prof->family != PROFILE_FAMILY_CFS) {
		xds_fail(err, "%s: scheduler family '%s' is not supported yet (cfs only)",
			 prof->source, profile_family_name(prof->family));
		return NULL;
	}
	struct lx_guest *g = calloc(1, sizeof *g);
	if (!g) {
		xds_fail(err, "out of memory");
		return NULL;
	}
	g->be = be;
	g->dom = dom;
	g->prof = *prof;
	take_layout(g);
	struct be_dom doms[64];
	int n = be_list(be, doms, 64, err);
	for (int i = 0; i < n; i++)
		if (doms[i].id == dom)
			g->max_gfn = doms[i].ram_bytes / 4096 - 1;
	int nr_vcpus = be_nr_vcpus(be, dom, err);
	struct be_regs regs;
	if (n < 0 || nr_vcpus < 0 || be_regs(be, dom, 0, &regs, err))
		goto fail;
	if (!(regs.cr0 & 0x80000000ULL) || !regs.cr3) {
		xds_fail(err, "vCPU 0 has paging off (CR0=%#llx): the guest kernel is not up yet",
			 (unsigned long long)regs.cr0);
		goto fail;
	}
	struct vmem_phys phys = { .ctx = g, .map = map_frame, .max_gfn = g->max_gfn };
	g->vm = vmem_new(&phys, err);
	if (!g->vm)
		goto fail;
	if (regs.cr3_exact) {
		int levels = regs.cr4 & (1ULL << 12) ? 5 : 4;      /* CR4.LA57 */
		if (vmem_set_root(g->vm, regs.cr3 & 0x000ffffffffff000ULL, levels, err))
			goto fail;
	} else {
		vmem_set_cr3(g->vm, regs.cr3, regs.cr4);
	}
	if (find_slide(g, err) || locate_runqueues(g, nr_vcpus, err))
		goto fail;
	g->init_task = sym(g, S_INIT_TASK);
	return g;
fail:
	lx_detach(g);
	return NULL;
}

void lx_detach(struct lx_guest *g)
{
	if (!g)
		return;
	if (g->batch)
		lx_commit(g, NULL);
	vmem_free(g->vm);
	free(g);
}

uint64_t lx_slide(const struct lx_guest *g)
{
	return g->slide;
}

void lx_forget(struct lx_guest *g)
{
	vmem_flush(g->vm);
}

int lx_nr_cpus(const struct lx_guest *g)
{
	return g->nr_cpus;
}

/* ---- snapshot ---- */

char lx_state_letter(unsigned state, int exit_state)
{
	if (exit_state & 0x10)
		return 'X';
	if (exit_state & 0x20)
		return 'Z';
	if (state == 0)
		return 'R';
	if ((state & 0x402) == 0x402)
		return 'I';
	if (state & 0x1)
		return 'S';
	if (state & 0x2)
		return 'D';
	if (state & 0x4)
		return 'T';
	if (state & 0x8)
		return 't';
	if (state & 0x40)
		return 'P';
	if (state & 0x80)
		return 'X';
	if (state & 0x8000)
		return 'D';          /* TASK_FROZEN */
	return '?';
}

static int read_task(struct lx_guest *g, uint64_t va, struct lx_task *t, uint64_t *next, uint64_t *prev,
		     struct xds_err *err)
{
	const struct layout *l = &g->lo;
	struct view v;
	if (lx_view_open(&v, g, va, l->t_size, err))
		return -1;
	uint8_t bounce[16];
	*next = lx_view_uint(&v, l->t_tasks, 8);
	*prev = lx_view_uint(&v, l->t_tasks + 8, 8);
	t->addr = va;
	t->pid = (int)lx_view_int(&v, l->t_pid, 4);
	t->tgid = (int)lx_view_int(&v, l->t_tgid, 4);
	t->raw_state = (unsigned)lx_view_uint(&v, l->t_state, l->t_state_sz > 8 ? 8 : l->t_state_sz);
	int exit_state = (int)lx_view_int(&v, l->t_exit_state, 4);
	t->cpu = (int)lx_view_uint(&v, l->t_cpu, 4);
	t->prio = (int)lx_view_int(&v, l->t_prio, 4);
	t->nice = (int)(lx_view_int(&v, l->t_static_prio, 4) - 120);   /* hostile: 64-bit math */
	t->cputime_ns = lx_view_uint(&v, l->t_se + l->se_sum, 8);
	t->vruntime = lx_view_uint(&v, l->t_se + l->se_vruntime, 8);
	t->queued = lx_view_uint(&v, l->t_se + l->se_on_rq, 4) != 0;
	t->running = false;
	const uint8_t *comm = lx_view_at(&v, l->t_comm, 16, bounce);
	if (v.failed)
		return xds_err_wrap(err, "task_struct at %#llx", (unsigned long long)va);
	memcpy(t->comm, comm, 15);      /* bytes as the guest has them: shown with util/utf8.h */
	t->comm[15] = 0;
	t->state = lx_state_letter(t->raw_state, exit_state);
	return 0;
}

static int walk_tasks(struct lx_guest *g, struct lx_snapshot *s, struct xds_err *err)
{
	uint64_t head = g->init_task + g->lo.t_tasks;
	uint64_t next, prev, expect_prev = head;
	struct lx_task init;
	if (read_task(g, g->init_task, &init, &next, &prev, err))
		return xds_err_wrap(err, "init_task");
	int cap = 256;
	s->tasks = malloc((size_t)cap * sizeof *s->tasks);
	if (!s->tasks)
		return xds_fail(err, "out of memory");
	while (next != head) {
		if (s->nr_tasks >= LX_MAX_TASKS)
			return xds_fail(err, "task list longer than %d entries (a cycle?)", LX_MAX_TASKS);
		if (!lx_kernel_addr(next))
			return xds_fail(err, "task list: entry after %#llx points to %#llx",
					(unsigned long long)expect_prev, (unsigned long long)next);
		if (s->nr_tasks == cap) {
			cap *= 2;
			struct lx_task *n = realloc(s->tasks, (size_t)cap * sizeof *n);
			if (!n)
				return xds_fail(err, "out of memory");
			s->tasks = n;
		}
		uint64_t node = next;
		struct lx_task *t = &s->tasks[s->nr_tasks];
		if (read_task(g, node - g->lo.t_tasks, t, &next, &prev, err))
			return -1;
		if (prev != expect_prev)
			return xds_fail(err, "task list: entry %#llx has prev %#llx, expected %#llx",
					(unsigned long long)node, (unsigned long long)prev,
					(unsigned long long)expect_prev);
		expect_prev = node;
		s->nr_tasks++;
	}
	return 0;
}

static int cmp_addr(const void *a, const void *b)
{
	uint64_t x = ((const struct lx_task *)a)->addr, y = ((const struct lx_task *)b)->addr;
	return x < y ? -1 : x > y;
}

static int task_index(const struct lx_snapshot *s, const int *by_addr, uint64_t addr)
{
	int lo = 0, hi = s->nr_tasks - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		uint64_t a = s->tasks[by_addr[mid]].addr;
		if (a == addr)
			return by_addr[mid];
		if (a < addr)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

struct tree_walk {
	struct lx_guest *g;
	struct lx_snapshot *s;
	struct lx_rq *rq;
	const int *by_addr;
	int visited, cap;
	struct xds_err *err;
};

static int walk_cfs_rq(struct tree_walk *w, uint64_t cfs, int depth);

static int tree_push(struct tree_walk *w, int idx)
{
	if (w->rq->nr_tree == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 16;
		int *n = realloc(w->rq->tree, (size_t)w->cap * sizeof *n);
		if (!n)
			return xds_fail(w->err, "out of memory");
		w->rq->tree = n;
	}
	w->rq->tree[w->rq->nr_tree++] = idx;
	return 0;
}

/* In-order: left subtree, the entity (a task, or a group's queue), right. */
static int walk_node(struct tree_walk *w, uint64_t node, int depth, int level)
{
	if (!node)
		return 0;
	const struct layout *l = &w->g->lo;
	if (depth > TREE_MAX_DEPTH)
		return xds_fail(w->err, "CPU %d: CFS tree deeper than %d at %#llx (a cycle?)",
				w->rq->cpu, TREE_MAX_DEPTH, (unsigned long long)node);
	if (++w->visited > w->s->nr_tasks + 64)
		return xds_fail(w->err, "CPU %d: CFS tree has more nodes than tasks", w->rq->cpu);
	uint64_t left, right;
	if (!lx_kernel_addr(node) || vmem_read_u64(w->g->vm, node + l->rb_left, &left, w->err) ||
	    vmem_read_u64(w->g->vm, node + l->rb_right, &right, w->err))
		return xds_fail(w->err, "CPU %d: bad rb_node %#llx", w->rq->cpu, (unsigned long long)node);
	if (walk_node(w, left, depth + 1, level))
		return -1;
	uint64_t se = node - l->se_run_node;
	uint64_t my_q = 0;
	if (l->has_my_q && vmem_read_u64(w->g->vm, se + l->se_my_q, &my_q, w->err))
		return -1;
	if (my_q) {
		if (walk_cfs_rq(w, my_q, level + 1))
			return -1;
	} else {
		int idx = task_index(w->s, w->by_addr, se - l->t_se);
		if (idx < 0)
			return xds_fail(w->err, "CPU %d: queued entity %#llx is not a task on the task list",
					w->rq->cpu, (unsigned long long)se);
		if (tree_push(w, idx))
			return -1;
	}
	return walk_node(w, right, depth + 1, level);
}

static int walk_cfs_rq(struct tree_walk *w, uint64_t cfs, int level)
{
	if (level > 8)
		return xds_fail(w->err, "CPU %d: task groups nested deeper than 8", w->rq->cpu);
	const struct layout *l = &w->g->lo;
	uint64_t root, curr, my_q = 0;
	if (!lx_kernel_addr(cfs) || vmem_read_u64(w->g->vm, cfs + l->cfs_timeline, &root, w->err) ||
	    vmem_read_u64(w->g->vm, cfs + l->cfs_curr, &curr, w->err))
		return xds_fail(w->err, "CPU %d: bad cfs_rq %#llx", w->rq->cpu, (unsigned long long)cfs);
	if (walk_node(w, root, 0, level))
		return -1;
	/* a running group entity is out of the tree; its queue is not */
	if (curr && l->has_my_q && vmem_read_u64(w->g->vm, curr + l->se_my_q, &my_q, w->err))
		return -1;
	return my_q ? walk_cfs_rq(w, my_q, level + 1) : 0;
}

static int read_rq(struct lx_guest *g, struct lx_snapshot *s, const int *by_addr, int cpu,
		   struct xds_err *err)
{
	const struct layout *l = &g->lo;
	struct lx_rq *rq = &s->rqs[cpu];
	rq->cpu = cpu;
	rq->addr = g->rq[cpu];
	rq->curr = -1;
	struct view v;
	if (lx_view_open(&v, g, rq->addr, l->rq_size, err))
		return -1;
	rq->nr_running = (unsigned)lx_view_uint(&v, l->rq_nr_running, 4);
	rq->locked = lx_view_uint(&v, l->rq_lock, 4) != 0;
	uint64_t curr = lx_view_uint(&v, l->rq_curr, 8), idle = lx_view_uint(&v, l->rq_idle, 8);
	rq->min_vruntime = lx_view_uint(&v, l->rq_cfs + l->cfs_min_vruntime, 8);
	if (v.failed)
		return xds_err_wrap(err, "runqueues of CPU %d", cpu);
	if (curr != idle) {
		rq->curr = task_index(s, by_addr, curr);
		if (rq->curr >= 0)
			s->tasks[rq->curr].running = true;
	}
	struct tree_walk w = { .g = g, .s = s, .rq = rq, .by_addr = by_addr, .err = err };
	return walk_cfs_rq(&w, rq->addr + l->rq_cfs, 0);
}

static int take(struct lx_guest *g, struct lx_snapshot *s, struct xds_err *err)
{
	if (walk_tasks(g, s, err))
		return -1;
	s->rqs = calloc((size_t)g->nr_cpus, sizeof *s->rqs);
	int *by_addr = malloc(((size_t)s->nr_tasks + 1) * sizeof *by_addr);
	if (!s->rqs || !by_addr) {
		free(by_addr);
		return xds_fail(err, "out of memory");
	}
	s->nr_cpus = g->nr_cpus;
	struct lx_task *sorted = malloc(((size_t)s->nr_tasks + 1) * sizeof *sorted);
	if (!sorted) {
		free(by_addr);
		return xds_fail(err, "out of memory");
	}
	/* an index sorted by address, to map tree entities to tasks */
	memcpy(sorted, s->tasks, (size_t)s->nr_tasks * sizeof *sorted);
	for (int i = 0; i < s->nr_tasks; i++)
		sorted[i].pid = i;
	qsort(sorted, (size_t)s->nr_tasks, sizeof *sorted, cmp_addr);
	for (int i = 0; i < s->nr_tasks; i++)
		by_addr[i] = sorted[i].pid;
	free(sorted);
	int rc = 0;
	for (int cpu = 0; cpu < g->nr_cpus && !rc; cpu++)
		rc = read_rq(g, s, by_addr, cpu, err);
	free(by_addr);
	return rc;
}

int lx_snapshot(struct lx_guest *g, struct lx_snapshot *out, struct xds_err *err)
{
	memset(out, 0, sizeof *out);
	be_flush(g->be);        /* no view, no mapped frame is held between snapshots */
	/* The guest runs while we read: a list that changed under us is read
	 * again, with fresh translations. */
	for (int attempt = 0; attempt < SNAP_TRIES; attempt++) {
		if (!take(g, out, err))
			return 0;
		lx_snapshot_free(out);
		vmem_flush(g->vm);
	}
	return -1;
}

void lx_snapshot_free(struct lx_snapshot *s)
{
	for (int i = 0; i < s->nr_cpus; i++)
		free(s->rqs[i].tree);
	free(s->rqs);
	free(s->tasks);
	memset(s, 0, sizeof *s);
}
