/*
 * cfs.c - the simulated guest's scheduler: CFS as Linux 6.1 runs it.
 *
 * One run queue per vCPU (no load balancing).  Entities are ordered by
 * vruntime in rq->cfs.tasks_timeline; the running entity (cfs_rq->curr) is
 * kept out of the tree; vruntime grows by delta * NICE_0 / weight;
 * min_vruntime only moves forward.  Task groups add a level: a group entity
 * owns a cfs_rq (my_q) and is queued on its parent's while it has work.
 * A wake-up leaves a TASK_RUNNING task alone; schedule() deactivates a
 * previous task whose state is not TASK_RUNNING and never puts back an
 * entity whose on_rq is 0.  rq->__lock and p->pi_lock are real words in
 * guest memory, taken around every change.
 *
 * Everything here runs on guest memory through G(); the behaviour of the
 * guests' programs is hv.c's, the checks are check.c's.
 */
#include <stddef.h>
#include <string.h>

#include "simk.h"

#define NICE_0_LOAD       1024UL
#define SCHED_LATENCY     6000000ULL
#define SCHED_MIN_GRAN    750000ULL
#define SCHED_WAKEUP_GRAN 1000000ULL
#define SCHED_NR_LATENCY  8
#define MAX_DEPTH         8

#define SE(p)        (&(p)->se)
#define TASK_OF(se)  ((struct task_struct *)((uintptr_t)(se) - offsetof(struct task_struct, se)))
#define NODE_SE(n)   ((struct sched_entity *)((uintptr_t)(n) - offsetof(struct sched_entity, run_node)))

typedef struct sched_entity *se_t;
typedef struct cfs_rq *cfs_t;

enum { ENQ_WAKEUP = 1, ENQ_NEW = 2, DEQ_SLEEP = 1 };

unsigned long simk_nice_weight(int nice)
{
	/* 1024 / 1.25^nice, rounded: about 10% CPU per nice level. */
	double w = 1024.0;
	for (int i = 0; i < (nice < 0 ? -nice : nice); i++)
		w = nice < 0 ? w * 1.25 : w / 1.25;
	unsigned long r = (unsigned long)(w + 0.5);
	return r < 3 ? 3 : r;
}

void simk_lock(struct sdom *d, raw_spinlock_t *lock)
{
	int *word = &G(d, lock)->raw_lock.val.counter;
	int expected = 0;
	if (!__atomic_compare_exchange_n(word, &expected, 1, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		simk_oops(d, "BUG: spinlock lockup on %#lx (value %d)",
			  (unsigned long)(uintptr_t)lock, expected);
}

void simk_unlock(struct sdom *d, raw_spinlock_t *lock)
{
	__atomic_store_n(&G(d, lock)->raw_lock.val.counter, 0, __ATOMIC_RELEASE);
}

static bool entity_before(struct sdom *d, se_t a, se_t b)
{
	return (int64_t)(G(d, a)->vruntime - G(d, b)->vruntime) < 0;
}

static bool node_less(struct sdom *d, struct rb_node *a, struct rb_node *b)
{
	return entity_before(d, NODE_SE(a), NODE_SE(b));
}

static se_t leftmost(struct sdom *d, cfs_t cfs)
{
	struct rb_node *n = G(d, cfs)->tasks_timeline.rb_leftmost;
	return n ? NODE_SE(n) : NULL;
}

static bool entity_is_task(struct sdom *d, se_t se)
{
	return G(d, se)->my_q == NULL;
}

static struct rq *rq_of(struct sdom *d, cfs_t cfs)
{
	return G(d, cfs)->rq;
}

static uint64_t calc_delta_fair(struct sdom *d, uint64_t delta, se_t se)
{
	unsigned long w = G(d, se)->load.weight;
	if (!w)
		simk_oops(d, "divide error: entity %#lx has weight 0", (unsigned long)(uintptr_t)se);
	return w == NICE_0_LOAD ? delta : delta * NICE_0_LOAD / w;
}

static void update_min_vruntime(struct sdom *d, cfs_t cfs)
{
	struct cfs_rq *c = G(d, cfs);
	se_t curr = c->curr, left = leftmost(d, cfs);
	uint64_t v = c->min_vruntime;
	if (curr && G(d, curr)->on_rq)
		v = G(d, curr)->vruntime;
	else
		curr = NULL;
	if (left) {
		uint64_t lv = G(d, left)->vruntime;
		v = (!curr || (int64_t)(lv - v) < 0) ? lv : v;
	}
	if ((int64_t)(v - c->min_vruntime) > 0)
		c->min_vruntime = v;
}

static void update_curr(struct sdom *d, cfs_t cfs)
{
	struct cfs_rq *c = G(d, cfs);
	se_t curr = c->curr;
	if (!curr)
		return;
	uint64_t now = G(d, rq_of(d, cfs))->clock_task;
	struct sched_entity *s = G(d, curr);
	int64_t delta = (int64_t)(now - s->exec_start);
	if (delta <= 0)
		return;
	s->exec_start = now;
	s->sum_exec_runtime += (uint64_t)delta;
	c->exec_clock += (uint64_t)delta;
	s->vruntime += calc_delta_fair(d, (uint64_t)delta, curr);
	update_min_vruntime(d, cfs);
}

void simk_update_curr(struct sdom *d, int cpu)
{
	struct rq *rq = simk_rq(d, cpu);
	struct task_struct *curr = G(d, rq)->curr;
	if (curr == G(d, rq)->idle)
		return;
	se_t se = SE(curr);
	for (int i = 0; se && i < MAX_DEPTH; i++, se = G(d, se)->parent)
		update_curr(d, G(d, se)->cfs_rq);
}

static void list_add(struct sdom *d, struct list_head *new, struct list_head *head)
{
	struct list_head *next = G(d, head)->next;
	G(d, next)->prev = new;
	G(d, new)->next = next;
	G(d, new)->prev = head;
	G(d, head)->next = new;
}

static void list_del_init(struct sdom *d, struct list_head *e)
{
	struct list_head *prev = G(d, e)->prev, *next = G(d, e)->next;
	G(d, next)->prev = prev;
	G(d, prev)->next = next;
	G(d, e)->next = e;
	G(d, e)->prev = e;
}

static void clear_buddy(struct sdom *d, se_t se, size_t which)
{
	for (int i = 0; se && i < MAX_DEPTH; i++, se = G(d, se)->parent) {
		se_t *slot = (se_t *)((char *)G(d, G(d, se)->cfs_rq) + which);
		if (*slot != se)
			break;
		*slot = NULL;
	}
}

static void clear_buddies(struct sdom *d, cfs_t cfs, se_t se)
{
	struct cfs_rq *c = G(d, cfs);
	if (c->last == se)
		clear_buddy(d, se, offsetof(struct cfs_rq, last));
	if (c->next == se)
		clear_buddy(d, se, offsetof(struct cfs_rq, next));
	if (c->skip == se)
		clear_buddy(d, se, offsetof(struct cfs_rq, skip));
}

static void set_buddy(struct sdom *d, se_t se, size_t which)
{
	for (int i = 0; se && i < MAX_DEPTH; i++, se = G(d, se)->parent)
		*(se_t *)((char *)G(d, G(d, se)->cfs_rq) + which) = se;
}

static uint64_t sched_slice(struct sdom *d, cfs_t cfs, se_t se)
{
	unsigned nr = G(d, cfs)->nr_running + !G(d, se)->on_rq;
	uint64_t slice = nr > SCHED_NR_LATENCY ? nr * SCHED_MIN_GRAN : SCHED_LATENCY;
	for (int i = 0; se && i < MAX_DEPTH; i++, se = G(d, se)->parent) {
		struct cfs_rq *c = G(d, G(d, se)->cfs_rq);
		unsigned long load = c->load.weight;
		if (!G(d, se)->on_rq)
			load += G(d, se)->load.weight;
		if (load)
			slice = slice * G(d, se)->load.weight / load;
	}
	return slice;
}

static void place_entity(struct sdom *d, cfs_t cfs, se_t se, bool initial)
{
	uint64_t v = G(d, cfs)->min_vruntime;
	if (initial) {
		G(d, se)->vruntime = v + calc_delta_fair(d, sched_slice(d, cfs, se), se);
		return;
	}
	v -= SCHED_LATENCY / 2;
	if ((int64_t)(G(d, se)->vruntime - v) < 0)
		G(d, se)->vruntime = v;
}

static void enqueue_entity(struct sdom *d, cfs_t cfs, se_t se, int flags)
{
	struct cfs_rq *c = G(d, cfs);
	bool is_curr = c->curr == se;
	update_curr(d, cfs);
	if (flags & ENQ_WAKEUP)
		place_entity(d, cfs, se, false);
	c->load.weight += G(d, se)->load.weight;
	if (entity_is_task(d, se))
		list_add(d, &se->group_node, &rq_of(d, cfs)->cfs_tasks);
	c->nr_running++;
	if (!is_curr)
		simk_rb_insert(d, &c->tasks_timeline, &se->run_node, node_less);
	G(d, se)->on_rq = 1;
}

static void dequeue_entity(struct sdom *d, cfs_t cfs, se_t se, int flags)
{
	struct cfs_rq *c = G(d, cfs);
	update_curr(d, cfs);
	clear_buddies(d, cfs, se);
	if (c->curr != se)
		simk_rb_erase(d, &c->tasks_timeline, &se->run_node);
	G(d, se)->on_rq = 0;
	c->load.weight -= G(d, se)->load.weight;
	if (entity_is_task(d, se))
		list_del_init(d, &se->group_node);
	c->nr_running--;
	if (!(flags & DEQ_SLEEP))
		G(d, se)->vruntime -= c->min_vruntime;
	update_min_vruntime(d, cfs);
}

static void enqueue_task(struct sdom *d, struct rq *rq, struct task_struct *p, int flags)
{
	se_t se = SE(p);
	int i = 0;
	for (; se && i < MAX_DEPTH; i++, se = G(d, se)->parent) {
		if (G(d, se)->on_rq)
			break;
		cfs_t cfs = G(d, se)->cfs_rq;
		enqueue_entity(d, cfs, se, flags);
		G(d, cfs)->h_nr_running++;
		flags = ENQ_WAKEUP;
	}
	for (; se && i < MAX_DEPTH; i++, se = G(d, se)->parent)
		G(d, G(d, se)->cfs_rq)->h_nr_running++;
	G(d, rq)->nr_running++;
}

static void dequeue_task(struct sdom *d, struct rq *rq, struct task_struct *p, int flags)
{
	se_t se = SE(p);
	int i = 0;
	for (; se && i < MAX_DEPTH; i++) {
		cfs_t cfs = G(d, se)->cfs_rq;
		dequeue_entity(d, cfs, se, flags);
		G(d, cfs)->h_nr_running--;
		se = G(d, se)->parent;
		if (G(d, cfs)->load.weight)
			break;
		flags |= DEQ_SLEEP;
	}
	for (; se && i < MAX_DEPTH; i++, se = G(d, se)->parent)
		G(d, G(d, se)->cfs_rq)->h_nr_running--;
	G(d, rq)->nr_running--;
}

static void resched_curr(struct sdom *d, struct rq *rq)
{
	G(d, G(d, rq)->curr)->thread_info.flags |= 1UL << TIF_NEED_RESCHED;
}

/* 1: se should preempt curr; 0: close; -1: no. */
static int wakeup_preempt_entity(struct sdom *d, se_t curr, se_t se)
{
	int64_t vdiff = (int64_t)(G(d, curr)->vruntime - G(d, se)->vruntime);
	if (vdiff <= 0)
		return -1;
	return vdiff > (int64_t)calc_delta_fair(d, SCHED_WAKEUP_GRAN, se) ? 1 : 0;
}

static int depth_of(struct sdom *d, se_t se)
{
	return G(d, se)->depth;
}

static void check_preempt_wakeup(struct sdom *d, struct rq *rq, struct task_struct *p)
{
	struct task_struct *curr = G(d, rq)->curr;
	if (curr == G(d, rq)->idle) {
		resched_curr(d, rq);
		return;
	}
	se_t se = SE(curr), pse = SE(p);
	for (int i = 0; i < MAX_DEPTH && G(d, se)->cfs_rq != G(d, pse)->cfs_rq; i++) {
		int ds = depth_of(d, se), dp = depth_of(d, pse);
		if (ds >= dp)
			se = G(d, se)->parent;
		if (dp >= ds)
			pse = G(d, pse)->parent;
		if (!se || !pse)
			return;
	}
	update_curr(d, G(d, se)->cfs_rq);
	if (wakeup_preempt_entity(d, se, pse) == 1) {
		set_buddy(d, pse, offsetof(struct cfs_rq, next));
		resched_curr(d, rq);
		if (G(d, G(d, se)->cfs_rq)->nr_running >= SCHED_NR_LATENCY && entity_is_task(d, se))
			set_buddy(d, se, offsetof(struct cfs_rq, last));
	}
}

static void activate(struct sdom *d, struct task_struct *p, int flags)
{
	struct rq *rq = simk_rq(d, (int)G(d, p)->thread_info.cpu);
	simk_lock(d, &rq->__lock);
	enqueue_task(d, rq, p, flags);
	G(d, p)->on_rq = TASK_ON_RQ_QUEUED;
	G(d, p)->__state = TASK_RUNNING;
	check_preempt_wakeup(d, rq, p);
	simk_unlock(d, &rq->__lock);
}

bool simk_try_to_wake_up(struct sdom *d, struct stask *t, unsigned state_mask)
{
	struct task_struct *p = (struct task_struct *)(uintptr_t)t->ts;
	simk_lock(d, &p->pi_lock);
	bool woken = false;
	if (G(d, p)->__state & state_mask) {
		woken = true;
		if (G(d, p)->on_rq)
			G(d, p)->__state = TASK_RUNNING;   /* not yet descheduled */
		else
			activate(d, p, ENQ_WAKEUP);
	}
	simk_unlock(d, &p->pi_lock);
	return woken;
}

void simk_wake_up_new_task(struct sdom *d, struct stask *t)
{
	struct task_struct *p = (struct task_struct *)(uintptr_t)t->ts;
	simk_lock(d, &p->pi_lock);
	se_t se = SE(p);
	cfs_t cfs = G(d, se)->cfs_rq;
	update_curr(d, cfs);
	place_entity(d, cfs, se, true);
	activate(d, p, ENQ_NEW);
	simk_unlock(d, &p->pi_lock);
}

static void put_prev_entity(struct sdom *d, cfs_t cfs, se_t prev)
{
	struct cfs_rq *c = G(d, cfs);
	if (G(d, prev)->on_rq) {
		update_curr(d, cfs);
		simk_rb_insert(d, &c->tasks_timeline, &prev->run_node, node_less);
	}
	c->curr = NULL;
}

static void set_next_entity(struct sdom *d, cfs_t cfs, se_t se)
{
	struct cfs_rq *c = G(d, cfs);
	if (G(d, se)->on_rq)
		simk_rb_erase(d, &c->tasks_timeline, &se->run_node);
	c->curr = se;
	G(d, se)->exec_start = G(d, rq_of(d, cfs))->clock_task;
	G(d, se)->prev_sum_exec_runtime = G(d, se)->sum_exec_runtime;
}

static se_t pick_next_entity(struct sdom *d, cfs_t cfs)
{
	struct cfs_rq *c = G(d, cfs);
	se_t left = leftmost(d, cfs), se = left;
	if (!left)
		simk_oops(d, "BUG: kernel NULL pointer dereference in pick_next_entity "
			  "(cfs_rq %#lx nr_running %u, empty tree)",
			  (unsigned long)(uintptr_t)cfs, c->nr_running);
	if (c->skip == se) {
		struct rb_node *second = simk_rb_next(d, &se->run_node);
		if (second && wakeup_preempt_entity(d, NODE_SE(second), left) < 1)
			se = NODE_SE(second);
	}
	if (c->last && wakeup_preempt_entity(d, c->last, left) < 1)
		se = c->last;
	if (c->next && wakeup_preempt_entity(d, c->next, left) < 1)
		se = c->next;
	clear_buddies(d, cfs, se);
	return se;
}

void simk_schedule(struct sdom *d, int cpu)
{
	struct rq *rq = simk_rq(d, cpu);
	simk_lock(d, &rq->__lock);
	struct task_struct *prev = G(d, rq)->curr, *idle = G(d, rq)->idle, *next = idle;
	G(d, prev)->thread_info.flags &= ~(1UL << TIF_NEED_RESCHED);
	if (prev != idle) {
		if (G(d, prev)->__state != TASK_RUNNING && G(d, prev)->on_rq) {
			dequeue_task(d, rq, prev, DEQ_SLEEP);
			G(d, prev)->on_rq = 0;
		}
		se_t se = SE(prev);
		for (int i = 0; se && i < MAX_DEPTH; i++, se = G(d, se)->parent)
			put_prev_entity(d, G(d, se)->cfs_rq, se);
	}
	if (G(d, rq)->cfs.nr_running) {
		cfs_t cfs = &rq->cfs;
		se_t se = NULL;
		for (int i = 0; cfs; i++) {
			if (i >= MAX_DEPTH)
				simk_oops(d, "BUG: task group nesting deeper than %d", MAX_DEPTH);
			se = pick_next_entity(d, cfs);
			set_next_entity(d, cfs, se);
			cfs = G(d, se)->my_q;
		}
		next = TASK_OF(se);
	}
	if (next != prev) {
		G(d, rq)->nr_switches++;
		G(d, prev)->on_cpu = 0;
		G(d, next)->on_cpu = 1;
		G(d, rq)->curr = next;
	}
	simk_unlock(d, &rq->__lock);
}

static void check_preempt_tick(struct sdom *d, struct rq *rq, cfs_t cfs, se_t curr)
{
	uint64_t ideal = sched_slice(d, cfs, curr);
	uint64_t ran = G(d, curr)->sum_exec_runtime - G(d, curr)->prev_sum_exec_runtime;
	if (ran > ideal) {
		resched_curr(d, rq);
		clear_buddies(d, cfs, curr);
		return;
	}
	if (ran < SCHED_MIN_GRAN)
		return;
	se_t left = leftmost(d, cfs);
	if (!left)
		return;
	int64_t delta = (int64_t)(G(d, curr)->vruntime - G(d, left)->vruntime);
	if (delta > (int64_t)ideal)
		resched_curr(d, rq);
}

void simk_tick(struct sdom *d, int cpu)
{
	struct rq *rq = simk_rq(d, cpu);
	simk_lock(d, &rq->__lock);
	struct task_struct *curr = G(d, rq)->curr;
	if (curr != G(d, rq)->idle) {
		se_t se = SE(curr);
		for (int i = 0; se && i < MAX_DEPTH; i++, se = G(d, se)->parent) {
			cfs_t cfs = G(d, se)->cfs_rq;
			update_curr(d, cfs);
			if (G(d, cfs)->nr_running > 1)
				check_preempt_tick(d, rq, cfs, se);
		}
	}
	simk_unlock(d, &rq->__lock);
}

/* The current task on its CPU sets its state and calls schedule(). */
void simk_block(struct sdom *d, struct stask *t, unsigned state)
{
	struct task_struct *p = (struct task_struct *)(uintptr_t)t->ts;
	G(d, p)->__state = state;
	simk_schedule(d, (int)G(d, p)->thread_info.cpu);
}

static void free_task(struct sdom *d, struct task_struct *p)
{
	G(d, p)->__sim_id = UINT32_MAX;
	G(d, p)->tasks.next = (struct list_head *)(uintptr_t)d->free_tasks;
	d->free_tasks = (uint64_t)(uintptr_t)p;
}

/* Only the leader is left on its group's thread_head. */
static bool group_empty(struct sdom *d, struct task_struct *leader)
{
	struct list_head *head = &G(d, leader)->signal->thread_head;
	return G(d, head)->next == &leader->thread_node && G(d, head)->prev == &leader->thread_node;
}

/* __unhash_process: off its group's thread list; a leader (whose group is
 * dead by then) off init_task.tasks too. */
static void unhash(struct sdom *d, struct task_struct *p)
{
	list_del_init(d, &p->thread_node);
	G(d, G(d, p)->signal)->nr_threads--;
	if (G(d, p)->group_leader == p)
		list_del_init(d, &p->tasks);
}

/* exit_notify and release_task: a thread is reaped at once (and with the
 * last one, a leader that waits as a zombie); a leader whose threads still
 * live stays listed as a zombie until then. */
static void release(struct sdom *d, struct stask *t)
{
	struct task_struct *p = (struct task_struct *)(uintptr_t)t->ts, *leader = G(d, p)->group_leader;
	if (leader == p && !group_empty(d, p)) {
		G(d, p)->exit_state = EXIT_ZOMBIE;
		t->zombie = true;
		return;
	}
	unhash(d, p);
	if (leader != p && G(d, leader)->exit_state == EXIT_ZOMBIE && group_empty(d, leader)) {
		struct stask *lt = simk_stask(d, leader);
		unhash(d, leader);
		free_task(d, leader);
		lt->zombie = false;
		lt->ts = 0;
	}
}

void simk_exit_reaped(struct sdom *d, struct stask *t)
{
	struct task_struct *p = (struct task_struct *)(uintptr_t)t->ts;
	release(d, t);
	G(d, p)->flags |= PF_EXITING;
	if (!t->zombie)
		G(d, p)->exit_state = EXIT_DEAD;
	t->exiting = true;
	G(d, p)->thread_info.flags |= 1UL << TIF_NEED_RESCHED;      /* preempted, still TASK_RUNNING */
}

void simk_exit(struct sdom *d, struct stask *t)
{
	struct task_struct *p = (struct task_struct *)(uintptr_t)t->ts;
	G(d, p)->flags |= PF_EXITING;
	if (!t->exiting)
		release(d, t);
	if (!t->zombie)
		G(d, p)->exit_state = EXIT_DEAD;
	simk_block(d, t, TASK_DEAD);
	if (t->zombie)
		return;                 /* freed with its group's last thread */
	free_task(d, p);
	t->ts = 0;
}

void simk_set_nice(struct sdom *d, struct stask *t, int nice)
{
	struct task_struct *p = (struct task_struct *)(uintptr_t)t->ts;
	struct rq *rq = simk_rq(d, (int)G(d, p)->thread_info.cpu);
	simk_lock(d, &rq->__lock);
	unsigned long w = simk_nice_weight(nice);
	se_t se = SE(p);
	if (G(d, se)->on_rq) {
		cfs_t cfs = G(d, se)->cfs_rq;
		update_curr(d, cfs);
		G(d, cfs)->load.weight += w - G(d, se)->load.weight;
	}
	G(d, se)->load.weight = w;
	G(d, se)->load.inv_weight = (u32)(0xffffffffUL / w);
	G(d, p)->static_prio = G(d, p)->prio = G(d, p)->normal_prio = 120 + nice;
	simk_unlock(d, &rq->__lock);
}

struct stask *simk_stask(struct sdom *d, struct task_struct *p)
{
	u32 id = G(d, p)->__sim_id;
	struct sim *s = d->sim;
	if (id >= (u32)s->nr_tasks || s->tasks[id].ts != (uint64_t)(uintptr_t)p)
		simk_oops(d, "BUG: task_struct %#lx is not a live task", (unsigned long)(uintptr_t)p);
	return &s->tasks[id];
}

static void init_cfs_rq(struct sdom *d, cfs_t cfs, struct rq *rq, struct task_group *tg)
{
	struct cfs_rq *c = G(d, cfs);
	memset(c, 0, sizeof *c);
	c->min_vruntime = (uint64_t)(-(1LL << 20));
	c->rq = rq;
	c->tg = tg;
}

static void init_task_common(struct sdom *d, struct task_struct *p, int pid, int tgid,
			     const char *comm, int cpu, int nice)
{
	struct task_struct *h = G(d, p);
	memset(h, 0, sizeof *h);
	h->pid = pid;
	h->tgid = tgid;
	strncpy(h->comm, comm, sizeof h->comm - 1);
	h->thread_info.cpu = (u32)cpu;
	h->static_prio = h->prio = h->normal_prio = 120 + nice;
	h->se.load.weight = simk_nice_weight(nice);
	h->se.load.inv_weight = (u32)(0xffffffffUL / h->se.load.weight);
	h->se.group_node.next = h->se.group_node.prev = &p->se.group_node;
	h->group_leader = p;
	h->thread_node.next = h->thread_node.prev = &p->thread_node;
	h->tasks.next = h->tasks.prev = &p->tasks;
	h->sched_task_group = (struct task_group *)(uintptr_t)(d->kimg_va + SYM_ROOT_TASK_GROUP);
	h->se.cfs_rq = &simk_rq(d, cpu)->cfs;
}

static struct task_struct *idle_task(struct sdom *d, int cpu)
{
	struct task_struct *p = cpu == 0 ? simk_init_task(d)
		: (struct task_struct *)(uintptr_t)simk_alloc(d, sizeof(struct task_struct));
	char comm[16];
	snprintf(comm, sizeof comm, "swapper/%d", cpu);
	init_task_common(d, p, 0, 0, comm, cpu, 0);
	G(d, p)->on_cpu = 1;
	G(d, p)->policy = 5;          /* SCHED_IDLE class stands in for idle */
	G(d, p)->__sim_id = UINT32_MAX;
	G(d, p)->flags = PF_IDLE | PF_KTHREAD;
	return p;
}

/* The guest's uptime when the simulation started, in ticks: up to 400 s,
 * from its name and the seed.  Like a real boot's, it differs from one boot
 * (a run with another --seed) to the next, and so do the tasks' start_time. */
static uint64_t booted_ticks(const struct sdom *d)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const char *c = d->name; *c; c++)
		h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
	if (d->sim->seed != 1)          /* the default seed keeps the uptimes it always had */
		h = (h ^ d->sim->seed) * 0x100000001b3ULL;
	return h % 100000;
}

void simk_update_jiffies(struct sdom *d, uint64_t t)
{
	*(u64 *)simk_host(d, d->kimg_va + SYM_JIFFIES, 8) = SIM_INITIAL_JIFFIES + booted_ticks(d) + t / SIM_TICK_NS;
}

void simk_init_kernel(struct sdom *d)
{
	struct task_struct *init = simk_init_task(d);
	u64 *pco = (u64 *)simk_host(d, d->kimg_va + SYM_PER_CPU_OFFSET, 8 * SIM_MAX_VCPUS);
	*(u32 *)simk_host(d, d->kimg_va + SYM_NR_CPU_IDS, 4) = (u32)d->nr_vcpus;
	*(u64 *)simk_host(d, d->kimg_va + SYM_PAGE_OFFSET_BASE, 8) = d->page_offset;
	simk_update_jiffies(d, 0);
	struct task_group *root = (struct task_group *)(uintptr_t)(d->kimg_va + SYM_ROOT_TASK_GROUP);
	G(d, root)->shares = NICE_0_LOAD;
	G(d, root)->se = (se_t *)(uintptr_t)simk_alloc(d, 8 * (size_t)d->nr_vcpus);
	G(d, root)->cfs_rq = (cfs_t *)(uintptr_t)simk_alloc(d, 8 * (size_t)d->nr_vcpus);
	G(d, root)->list.next = G(d, root)->list.prev = &root->list;
	strcpy(G(d, root)->__sim_name, "root");
	for (int cpu = 0; cpu < d->nr_vcpus; cpu++) {
		/* percpu areas are direct-map memory; runqueues is an offset */
		uint64_t area = simk_alloc(d, SIM_PERCPU_SIZE);
		d->percpu[cpu] = area;
		pco[cpu] = area;
		struct rq *rq = simk_rq(d, cpu);
		struct rq *h = G(d, rq);
		memset(h, 0, sizeof *h);
		h->cpu = cpu;
		h->online = 1;
		h->cfs_tasks.next = h->cfs_tasks.prev = &rq->cfs_tasks;
		init_cfs_rq(d, &rq->cfs, rq, root);
		((cfs_t *)simk_host(d, (uint64_t)(uintptr_t)G(d, root)->cfs_rq, 8 * (size_t)d->nr_vcpus))[cpu] = &rq->cfs;
		h->idle = h->curr = idle_task(d, cpu);
	}
	G(d, init)->tasks.next = G(d, init)->tasks.prev = &init->tasks;
}

uint64_t simk_create_group(struct sdom *d, const char *name, unsigned long shares)
{
	struct task_group *tg = (struct task_group *)(uintptr_t)simk_alloc(d, sizeof *tg);
	struct task_group *root = (struct task_group *)(uintptr_t)(d->kimg_va + SYM_ROOT_TASK_GROUP);
	size_t n = (size_t)d->nr_vcpus;
	G(d, tg)->shares = shares;
	G(d, tg)->parent = root;
	strncpy(G(d, tg)->__sim_name, name, sizeof G(d, tg)->__sim_name - 1);
	G(d, tg)->se = (se_t *)(uintptr_t)simk_alloc(d, 8 * n);
	G(d, tg)->cfs_rq = (cfs_t *)(uintptr_t)simk_alloc(d, 8 * n);
	list_add(d, &tg->list, &root->list);
	se_t *ses = (se_t *)simk_host(d, (uint64_t)(uintptr_t)G(d, tg)->se, 8 * n);
	cfs_t *cfss = (cfs_t *)simk_host(d, (uint64_t)(uintptr_t)G(d, tg)->cfs_rq, 8 * n);
	for (int cpu = 0; cpu < d->nr_vcpus; cpu++) {
		struct rq *rq = simk_rq(d, cpu);
		cfs_t cfs = (cfs_t)(uintptr_t)simk_alloc(d, sizeof(struct cfs_rq));
		init_cfs_rq(d, cfs, rq, tg);
		se_t se = (se_t)(uintptr_t)simk_alloc(d, sizeof(struct sched_entity));
		G(d, se)->load.weight = shares;
		G(d, se)->load.inv_weight = (u32)(0xffffffffUL / shares);
		G(d, se)->cfs_rq = &rq->cfs;
		G(d, se)->my_q = cfs;
		G(d, se)->group_node.next = G(d, se)->group_node.prev = &se->group_node;
		ses[cpu] = se;
		cfss[cpu] = cfs;
	}
	return (uint64_t)(uintptr_t)tg;
}

static struct task_struct *alloc_task(struct sdom *d)
{
	if (d->free_tasks) {
		struct task_struct *p = (struct task_struct *)(uintptr_t)d->free_tasks;
		d->free_tasks = (uint64_t)(uintptr_t)G(d, p)->tasks.next;
		return p;
	}
	return (struct task_struct *)(uintptr_t)simk_alloc(d, sizeof(struct task_struct));
}

uint64_t simk_new_task(struct sdom *d, struct stask *t)
{
	struct task_struct *p = alloc_task(d);
	init_task_common(d, p, t->pid, t->tgid, t->comm, t->cpu, t->nice);
	struct task_struct *h = G(d, p);
	h->__sim_id = (u32)t->id;
	h->__state = TASK_NEW;
	h->flags = t->kthread ? PF_KTHREAD : 0;
	h->start_time = booted_ticks(d) * SIM_TICK_NS + d->sim->now;
	for (int i = 0; i < d->nr_groups; i++) {
		if (strcmp(d->groups[i].name, t->group))
			continue;
		struct task_group *tg = (struct task_group *)(uintptr_t)d->groups[i].tg;
		se_t gse = ((se_t *)simk_host(d, (uint64_t)(uintptr_t)G(d, tg)->se, 8 * (size_t)d->nr_vcpus))[t->cpu];
		h->sched_task_group = tg;
		h->se.parent = gse;
		h->se.cfs_rq = G(d, gse)->my_q;
		h->se.depth = G(d, gse)->depth + 1;
	}
	/* The thread-group leader is the task whose pid is the tgid. */
	for (int i = 0; i < d->sim->nr_tasks; i++) {
		struct stask *o = &d->sim->tasks[i];
		if (o->d == d && o->pid == t->tgid && o->ts)
			h->group_leader = (struct task_struct *)(uintptr_t)o->ts;
	}
	/* copy_process: a new group's leader gets a signal_struct whose
	 * thread_head holds it, and joins init_task.tasks; a thread shares
	 * its leader's signal and joins only its thread_head. */
	struct task_struct *init = simk_init_task(d), *leader = h->group_leader;
	if (leader == p) {
		struct signal_struct *sig = (struct signal_struct *)(uintptr_t)simk_alloc(d, sizeof *sig);
		G(d, sig)->nr_threads = 1;
		G(d, sig)->thread_head.next = G(d, sig)->thread_head.prev = &p->thread_node;
		h->thread_node.next = h->thread_node.prev = &sig->thread_head;
		h->signal = sig;
		list_add(d, &p->tasks, G(d, init)->tasks.prev);
	} else {
		struct signal_struct *sig = G(d, leader)->signal;
		h->signal = sig;
		G(d, sig)->nr_threads++;
		list_add(d, &p->thread_node, G(d, sig)->thread_head.prev);
	}
	t->ts = (uint64_t)(uintptr_t)p;
	return t->ts;
}
