/*
 * snapshot.c - every task and run queue of a guest, read without a pause.
 *
 * init_task.tasks links the thread-group leaders only; each leader's
 * threads (itself included) hang off its signal->thread_head through
 * task->thread_node, and both lists are walked (each task_struct read once
 * by lx_task_read).  A profile without thread_head or thread_node gives
 * the leaders alone.  Then each CPU's struct rq: its current task, and its
 * CFS tree in order, descending into group entities' queues.  A task met
 * there but on no list (exiting: unhashed, not yet off its CPU; or linked
 * while we read) is read from the queue, checked as a task_struct and
 * added, marked unlisted.  Every list and tree walk is bounded
 * (util/bounds.h), every pointer must be a canonical kernel address, and
 * list links must agree both ways; a guest that changes under us is read
 * again, a corrupt one is an error.  Writing is freeze.c's; nothing here
 * changes the guest.
 */
#include <stdlib.h>
#include <string.h>

#include "linux/linux_int.h"

static void task_from(struct lx_task *t, const struct lx_task_struct *p, int leader)
{
	memset(t, 0, sizeof *t);
	t->addr = p->addr;
	t->pid = p->pid;
	t->tgid = p->tgid;
	memcpy(t->comm, p->comm, sizeof t->comm);      /* bytes as the guest has them: */
	t->comm[sizeof t->comm - 1] = 0;              /* shown with util/utf8.h */
	t->raw_state = (unsigned)p->state;
	t->state = lx_state_letter(t->raw_state, p->exit_state);
	t->cpu = (int)p->cpu;
	t->prio = p->prio;
	t->nice = (int)((int64_t)p->static_prio - 120);        /* hostile: 64-bit math */
	t->cputime_ns = p->sum_exec_runtime;
	t->vruntime = p->vruntime;
	t->start_ns = p->start_time;
	t->queued = p->se_on_rq != 0;
	t->protect = lx_task_protect(p);
	t->leader = leader;
	t->exiting = lx_task_exiting(p);
}

/* The snapshot's task array and its capacity while it grows. */
struct task_walk {
	struct lx_guest *g;
	struct lx_snapshot *s;
	int cap;
	struct xds_err *err;
};

static int add_task(struct task_walk *w, const struct lx_task_struct *p, int leader)
{
	if (lx_grow(&w->s->tasks, &w->cap, w->s->nr_tasks, sizeof *w->s->tasks, w->err))
		return -1;
	int idx = w->s->nr_tasks++;
	task_from(&w->s->tasks[idx], p, leader < 0 ? idx : leader);
	return idx;
}

static bool threads_known(const struct lx_guest *g)
{
	return lx_has(g, F_TASK_SIGNAL) && lx_has(g, F_TASK_THREAD_NODE) && lx_has(g, F_SIGNAL_THREAD_HEAD);
}

/* The threads of the leader lp (at index li) other than itself, from its
 * signal->thread_head: each must name the leader's tgid. */
static int walk_threads(struct task_walk *w, const struct lx_task_struct *lp, int li)
{
	struct lx_guest *g = w->g;
	uint32_t tn = lx_off(g, F_TASK_THREAD_NODE);
	uint64_t head, own = lp->addr + tn, node, prev;
	struct lx_task_struct p;
	if (!lx_kernel_addr(lp->signal))
		return xds_fail(w->err, "task %d: signal %#llx is not a kernel address", lp->pid,
				(unsigned long long)lp->signal);
	head = lp->signal + lx_off(g, F_SIGNAL_THREAD_HEAD);
	if (lp->thread_next == head && lp->thread_prev == head)
		return 0;               /* alone on its list, as most are: nothing to read */
	if (lx_read(g, head + lx_off(g, F_LIST_NEXT), 8, &node, w->err))
		return xds_err_wrap(w->err, "thread list of task %d", lp->pid);
	int n = 0;
	for (prev = head; node != head; prev = node, node = p.thread_next) {
		if (++n > XDS_MAX_TASKS || w->s->nr_tasks >= XDS_MAX_TASKS)
			return xds_fail(w->err, "task lists longer than %d entries (a cycle?)", XDS_MAX_TASKS);
		if (lx_check_deadline(g, n, w->err))
			return xds_err_wrap(w->err, "thread list of task %d", lp->pid);
		if (!lx_kernel_addr(node))
			return xds_fail(w->err, "thread list of task %d: entry after %#llx points to %#llx", lp->pid,
					(unsigned long long)prev, (unsigned long long)node);
		if (node == own)
			p = *lp;
		else if (lx_task_read(g, node - tn, &p, w->err))
			return xds_err_wrap(w->err, "thread list of task %d", lp->pid);
		if (p.thread_prev != prev)
			return xds_fail(w->err, "thread list of task %d: entry %#llx has prev %#llx, expected %#llx",
					lp->pid, (unsigned long long)node, (unsigned long long)p.thread_prev,
					(unsigned long long)prev);
		if (node == own)
			continue;
		if (p.tgid != lp->tgid)
			return xds_fail(w->err, "thread list of task %d: task %d at %#llx has tgid %d", lp->pid, p.pid,
					(unsigned long long)p.addr, p.tgid);
		if (add_task(w, &p, li) < 0)
			return -1;
	}
	return 0;
}

static int walk_tasks(struct task_walk *w)
{
	struct lx_guest *g = w->g;
	uint64_t head = g->init_task + lx_off(g, F_TASK_TASKS), expect_prev = head;
	struct lx_task_struct p;
	bool threads = threads_known(g);
	if (lx_task_read(g, g->init_task, &p, w->err))
		return xds_err_wrap(w->err, "init_task");
	if (g->task_hint > 0 && g->task_hint < XDS_MAX_TASKS) {        /* one allocation, usually */
		w->cap = g->task_hint + g->task_hint / 8 + 16;
		if (!(w->s->tasks = malloc((size_t)w->cap * sizeof *w->s->tasks)))
			return xds_fail(w->err, "out of memory");
	}
	while (p.tasks_next != head) {
		uint64_t node = p.tasks_next;
		if (w->s->nr_tasks >= XDS_MAX_TASKS)
			return xds_fail(w->err, "task list longer than %d entries (a cycle?)", XDS_MAX_TASKS);
		if (lx_check_deadline(g, w->s->nr_tasks + 1, w->err))
			return xds_err_wrap(w->err, "task list");
		if (!lx_kernel_addr(node))
			return xds_fail(w->err, "task list: entry after %#llx points to %#llx",
					(unsigned long long)expect_prev, (unsigned long long)node);
		if (lx_task_read(g, node - lx_off(g, F_TASK_TASKS), &p, w->err))
			return -1;
		if (p.tasks_prev != expect_prev)
			return xds_fail(w->err, "task list: entry %#llx has prev %#llx, expected %#llx",
					(unsigned long long)node, (unsigned long long)p.tasks_prev,
					(unsigned long long)expect_prev);
		int li = add_task(w, &p, -1);
		if (li < 0 || (threads && walk_threads(w, &p, li)))
			return -1;
		expect_prev = node;
	}
	g->task_hint = w->s->nr_tasks;
	return 0;
}

/* ---- run queues ---- */

/* The snapshot's tasks by address, to map tree entities to tasks: an
 * open-addressed table of at least twice as many slots as tasks, kept in
 * the guest between snapshots (built in one pass, no sort). */
struct by_addr {
	uint64_t addr;
	int idx;
};

struct tree_walk {
	struct task_walk *tw;
	struct lx_guest *g;
	struct lx_snapshot *s;
	struct lx_rq *rq;
	int visited, cap, listed;       /* listed: tasks found on the lists */
	uint32_t lo, span;              /* the words of an entity the walk reads, from se + lo */
	struct xds_err *err;
};

static uint32_t addr_hash(uint64_t addr, uint32_t mask)
{
	return (uint32_t)((addr >> 6) * 0x9E3779B97F4A7C15ULL >> 32) & mask;
}

static void index_put(struct lx_guest *g, uint64_t addr, int idx)
{
	struct by_addr *t = g->index;
	uint32_t mask = g->index_slots - 1;
	uint32_t h = addr_hash(addr, mask);
	while (t[h].addr && t[h].addr != addr)
		h = (h + 1) & mask;
	t[h] = (struct by_addr){ addr, idx };
}

/* The table for the snapshot's tasks, kept at most half full. */
static int index_build(struct lx_guest *g, const struct lx_snapshot *s, struct xds_err *err)
{
	uint32_t slots = 64;
	while (slots < 2u * (uint32_t)s->nr_tasks)
		slots *= 2;
	if (slots > g->index_slots) {
		free(g->index);
		g->index_slots = 0;
		if (!(g->index = malloc(slots * sizeof *g->index)))
			return xds_fail(err, "out of memory");
		g->index_slots = slots;
	}
	memset(g->index, 0, g->index_slots * sizeof *g->index);       /* addr 0: an empty slot */
	for (int i = 0; i < s->nr_tasks; i++)
		index_put(g, s->tasks[i].addr, i);
	return 0;
}

static int task_index(const struct lx_guest *g, uint64_t addr)
{
	const struct by_addr *t = g->index;
	uint32_t mask = g->index_slots - 1;
	for (uint32_t h = addr_hash(addr, mask); t[h].addr; h = (h + 1) & mask)
		if (t[h].addr == addr)
			return t[h].idx;
	return -1;
}

/*
 * The task at addr, met on CPU cpu's run queue (queued: in its tree, else
 * its curr), but on no list: read from there and added, unlisted, once it
 * reads as a task_struct would (a pid and tgid in range, on this CPU, and
 * queued if it was found in the tree).  Otherwise the queue is corrupt.
 */
static int adopt(struct tree_walk *w, uint64_t addr, bool queued)
{
	struct lx_guest *g = w->g;
	struct lx_task_struct p;
	int cpu = w->rq->cpu;
	if (w->s->nr_tasks - w->listed >= XDS_MAX_UNLISTED_TASKS)
		return xds_fail(w->err, "CPU %d: more than %d queued tasks on no task list", cpu,
				XDS_MAX_UNLISTED_TASKS);
	if (!lx_kernel_addr(addr) || lx_task_read(g, addr, &p, w->err))
		return xds_fail(w->err, "CPU %d: queued entity of %#llx is not a readable task_struct", cpu,
				(unsigned long long)addr);
	if (p.pid <= 0 || p.pid > XDS_MAX_PID || p.tgid <= 0 || p.tgid > XDS_MAX_PID || p.cpu != (unsigned)cpu ||
	    (queued && !p.se_on_rq))
		return xds_fail(w->err, "CPU %d: queued entity of %#llx is not a task (pid %d, tgid %d, cpu %u, "
				"se.on_rq %llu)", cpu, (unsigned long long)addr, p.pid, p.tgid, p.cpu,
				(unsigned long long)p.se_on_rq);
	int leader = p.group_leader && p.group_leader != addr ? task_index(g, p.group_leader) : -1;
	int idx = add_task(w->tw, &p, leader);
	if (idx < 0)
		return -1;
	w->s->tasks[idx].unlisted = true;
	if (2u * (uint32_t)w->s->nr_tasks > g->index_slots)
		return index_build(g, w->s, w->err) ? -1 : idx;
	index_put(g, addr, idx);
	return idx;
}

/* The snapshot's index of the task at addr, adopted if it is on no list. */
static int queued_task(struct tree_walk *w, uint64_t addr, bool queued)
{
	int idx = task_index(w->g, addr);
	return idx >= 0 ? idx : adopt(w, addr, queued);
}

static int tree_push(struct tree_walk *w, int idx)
{
	if (lx_grow(&w->rq->tree, &w->cap, w->rq->nr_tree, sizeof *w->rq->tree, w->err))
		return -1;
	w->rq->tree[w->rq->nr_tree++] = idx;
	return 0;
}

static int walk_cfs_rq(struct tree_walk *w, uint64_t cfs, int level);

static int read_ptr(struct tree_walk *w, uint64_t base, enum profile_field_id id, uint64_t *out)
{
	return lx_read_field(w->g, base, id, out, w->err);
}

/* The entity of a tree node: its rb_node's children and its my_q, read in
 * one view of the words between them. */
static int read_entity(struct tree_walk *w, uint64_t node, uint64_t *left, uint64_t *right, uint64_t *my_q)
{
	struct lx_guest *g = w->g;
	uint64_t se = node - lx_off(g, F_SE_RUN_NODE);
	uint32_t rn = lx_off(g, F_SE_RUN_NODE) - w->lo;
	const uint8_t *b = lx_piece_at(g, se + w->lo, w->span);
	if (b) {                        /* in the large page the last views mapped */
		uint32_t l = rn + lx_off(g, F_RB_LEFT), r = rn + lx_off(g, F_RB_RIGHT);   /* rn may be "negative" */
		*left = lx_load_le(b + l, 8);
		*right = lx_load_le(b + r, 8);
		*my_q = lx_has(g, F_SE_MY_Q) ? lx_load_le(b + (lx_off(g, F_SE_MY_Q) - w->lo), 8) : 0;
		return 0;
	}
	struct view v;
	if (lx_view_open(&v, g, se + w->lo, w->span, w->err))
		return -1;
	*left = lx_view_uint(&v, rn + lx_off(g, F_RB_LEFT), 8);
	*right = lx_view_uint(&v, rn + lx_off(g, F_RB_RIGHT), 8);
	*my_q = lx_has(g, F_SE_MY_Q) ? lx_view_uint(&v, lx_off(g, F_SE_MY_Q) - w->lo, 8) : 0;
	return v.failed ? -1 : 0;
}

/* A tree node's entity: a task, or a group whose own queue is walked in its place. */
static int visit_entity(struct tree_walk *w, uint64_t node, uint64_t my_q, int level)
{
	struct lx_guest *g = w->g;
	uint64_t se = node - lx_off(g, F_SE_RUN_NODE);
	if (my_q)
		return walk_cfs_rq(w, my_q, level + 1);
	int idx = queued_task(w, se - lx_off(g, F_TASK_SE), true);
	return idx < 0 ? -1 : tree_push(w, idx);
}

/* In order: left subtree, the entity, right. */
static int walk_node(struct tree_walk *w, uint64_t node, int depth, int level)
{
	uint64_t left, right, my_q;
	if (!node)
		return 0;
	if (depth > XDS_MAX_RB_HEIGHT)
		return xds_fail(w->err, "CPU %d: CFS tree deeper than %d at %#llx (a cycle?)", w->rq->cpu,
				XDS_MAX_RB_HEIGHT, (unsigned long long)node);
	if (++w->visited > w->listed + XDS_MAX_UNLISTED_TASKS + XDS_MAX_TREE_GROUP_NODES)
		return xds_fail(w->err, "CPU %d: CFS tree has more nodes than tasks", w->rq->cpu);
	if (lx_check_deadline(w->g, w->visited, w->err))
		return xds_err_wrap(w->err, "CPU %d: CFS tree", w->rq->cpu);
	if (!lx_kernel_addr(node) || read_entity(w, node, &left, &right, &my_q))
		return xds_fail(w->err, "CPU %d: bad rb_node %#llx", w->rq->cpu, (unsigned long long)node);
	if (walk_node(w, left, depth + 1, level) || visit_entity(w, node, my_q, level))
		return -1;
	return walk_node(w, right, depth + 1, level);
}

/* The span of a sched_entity that read_entity needs: rb_left, rb_right, my_q. */
static void entity_span(const struct lx_guest *g, uint32_t *lo, uint32_t *span)
{
	uint32_t rn = lx_off(g, F_SE_RUN_NODE), o[3] = { rn + lx_off(g, F_RB_LEFT), rn + lx_off(g, F_RB_RIGHT),
							  lx_has(g, F_SE_MY_Q) ? lx_off(g, F_SE_MY_Q) : rn };
	uint32_t a = o[0], b = o[0];
	for (int i = 1; i < 3; i++) {
		a = o[i] < a ? o[i] : a;
		b = o[i] > b ? o[i] : b;
	}
	*lo = a;
	*span = b - a + 8;
}

static int walk_cfs_rq(struct tree_walk *w, uint64_t cfs, int level)
{
	struct lx_guest *g = w->g;
	uint64_t root, curr, my_q = 0, timeline = cfs + lx_off(g, F_CFS_RQ_TASKS_TIMELINE) + lx_off(g, F_RBC_ROOT);
	if (level > XDS_MAX_GROUP_DEPTH)
		return xds_fail(w->err, "CPU %d: task groups nested deeper than %d", w->rq->cpu, XDS_MAX_GROUP_DEPTH);
	if (!lx_kernel_addr(cfs) || read_ptr(w, timeline, F_RB_ROOT_NODE, &root) || read_ptr(w, cfs, F_CFS_RQ_CURR, &curr))
		return xds_fail(w->err, "CPU %d: bad cfs_rq %#llx", w->rq->cpu, (unsigned long long)cfs);
	if (walk_node(w, root, 0, level))
		return -1;
	/* a running group entity is out of the tree; its queue is not */
	if (curr && lx_has(g, F_SE_MY_Q) && read_ptr(w, curr, F_SE_MY_Q, &my_q))
		return -1;
	return my_q ? walk_cfs_rq(w, my_q, level + 1) : 0;
}

static int read_rq(struct task_walk *tw, int cpu, int listed)
{
	struct lx_guest *g = tw->g;
	struct lx_snapshot *s = tw->s;
	struct lx_rq *rq = &s->rqs[cpu];
	struct view v;
	rq->cpu = cpu;
	rq->addr = g->rq[cpu];
	rq->curr = -1;
	if (lx_view_open(&v, g, rq->addr, lx_sizeof(g, T_RQ), tw->err))
		return -1;
	rq->nr_running = (unsigned)lx_view_field(&v, F_RQ_NR_RUNNING);
	rq->locked = lx_view_uint(&v, lx_off(g, F_RQ_LOCK), 4) != 0;   /* the lock word */
	uint64_t curr = lx_view_field(&v, F_RQ_CURR), idle = lx_view_field(&v, F_RQ_IDLE);
	rq->min_vruntime = lx_view_uint(&v, lx_off(g, F_RQ_CFS) + lx_off(g, F_CFS_RQ_MIN_VRUNTIME),
					lx_wid(g, F_CFS_RQ_MIN_VRUNTIME));
	if (v.failed)
		return xds_err_wrap(tw->err, "runqueues of CPU %d", cpu);
	struct tree_walk w = { .tw = tw, .g = g, .s = s, .rq = rq, .listed = listed, .err = tw->err };
	if (curr != idle) {
		if ((rq->curr = queued_task(&w, curr, false)) < 0)
			return -1;
		s->tasks[rq->curr].running = true;
	}
	entity_span(g, &w.lo, &w.span);
	return walk_cfs_rq(&w, rq->addr + lx_off(g, F_RQ_CFS), 0);
}

static int take(struct lx_guest *g, struct lx_snapshot *s, struct xds_err *err)
{
	struct task_walk tw = { .g = g, .s = s, .err = err };
	if (walk_tasks(&tw))
		return -1;
	if (!(s->rqs = calloc((size_t)g->nr_cpus, sizeof *s->rqs)))
		return xds_fail(err, "out of memory");
	s->nr_cpus = g->nr_cpus;
	if (index_build(g, s, err))
		return -1;
	int listed = s->nr_tasks;
	for (int cpu = 0; cpu < g->nr_cpus; cpu++)
		if (read_rq(&tw, cpu, listed))
			return -1;
	return 0;
}

int lx_snapshot(struct lx_guest *g, struct lx_snapshot *out, struct xds_err *err)
{
	memset(out, 0, sizeof *out);
	be_flush(g->be);        /* no view, no mapped frame is held between snapshots */
	/* The guest runs while we read: a list that changed under us is read
	 * again, with fresh translations. */
	for (int attempt = 0; attempt < XDS_MAX_SNAPSHOT_TRIES; attempt++) {
		lx_piece_start(g);
		int rc = take(g, out, err);
		lx_piece_stop(g);
		if (!rc)
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
