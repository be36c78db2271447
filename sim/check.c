/*
 * check.c - the kernel's invariants, checked after every step.
 *
 * This is the oracle for run-queue surgery.  For every vCPU it walks the
 * CFS tree of the root cfs_rq and of every queued group, and checks what
 * Linux relies on: the binary-search order by vruntime, the red-black
 * rules and parent links, the leftmost cache, nr_running / h_nr_running /
 * load.weight against the tree plus curr, that entities and tasks agree on
 * on_rq, that buddies point at queued entities, that no task is both
 * queued in the tree and current, that rq->cfs_tasks holds exactly the
 * queued tasks, that min_vruntime never goes back and no counter wrapped;
 * and it walks the task list.  It reads with simk_peek, never G(): a
 * corrupt guest is reported, not trusted.  It changes nothing.  It also
 * names a task's state (ps's letter), for its reports and hv.c's truth
 * table.  hv.c calls it after every step; it calls nothing of hv.c.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "simk.h"

#define MAX_HEIGHT 128
#define MAX_NODES  (1 << 20)

struct chk {
	struct sdom *d;
	int cpu;
	uint64_t rq_va, curr_task;
	uint64_t *queued;               /* task addresses found queued */
	int nq, capq;
	int found;
};

const char *sim_state_name(unsigned state, int exit_state)
{
	if (exit_state & EXIT_DEAD)
		return "X";
	if (exit_state & EXIT_ZOMBIE)
		return "Z";
	if (state == TASK_RUNNING)
		return "R";
	if (state & TASK_INTERRUPTIBLE)
		return "S";
	if (state & TASK_UNINTERRUPTIBLE)
		return "D";
	if (state & __TASK_STOPPED)
		return "T";
	if (state & TASK_DEAD)
		return "X";
	if (state & TASK_FROZEN)
		return "D";
	return "?";
}

void sim_violation(struct sim *s, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (int i = 0; i < 8; i++)
		if (!strcmp(s->last_violation[i], msg))
			return;              /* the same broken state, seen again */
	s->violations++;
	snprintf(s->last_violation[s->nr_last++ % 8], sizeof s->last_violation[0], "%s", msg);
	fprintf(stderr, "xds-sim: invariant violated at %.3f s: %s\n", (double)s->now / 1e9, msg);
	if (s->strict && !s->halted) {
		fprintf(stderr, "xds-sim: --strict: stopping\n");
		s->halted = true;
	}
}

#define REPORT(c, ...) report(c, __VA_ARGS__)

static void report(struct chk *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report(struct chk *c, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->found++;
	sim_violation(c->d->sim, "%s cpu %d: %s", c->d->name, c->cpu, msg);
}

static bool rd(struct chk *c, uint64_t va, void *out, size_t n, const char *what)
{
	if (simk_peek(c->d, va, out, n))
		return true;
	REPORT(c, "%s: bad pointer %#llx", what, (unsigned long long)va);
	return false;
}

static uint64_t se_of_node(uint64_t node)
{
	return node - offsetof(struct sched_entity, run_node);
}

static uint64_t task_of_se(uint64_t se)
{
	return se - offsetof(struct task_struct, se);
}

static void add_queued(struct chk *c, uint64_t task)
{
	if (c->nq == c->capq) {
		c->capq = c->capq ? 2 * c->capq : 64;
		c->queued = realloc(c->queued, (size_t)c->capq * sizeof *c->queued);
		if (!c->queued)
			abort();
	}
	c->queued[c->nq++] = task;
}

/* What one cfs_rq's walk adds up to. */
struct level {
	uint64_t cfs;
	unsigned count, h;
	unsigned long load;
	uint64_t first, prev_vr;
	bool have_prev;
	uint64_t *ents;
	int nents, capents;
};

static unsigned check_cfs_rq(struct chk *c, uint64_t cfs, int depth);

static void describe_task(struct chk *c, uint64_t task, char *buf, size_t n)
{
	struct task_struct p;
	if (simk_peek(c->d, task, &p, sizeof p))
		snprintf(buf, n, "task %d (%.16s)", p.pid, p.comm);
	else
		snprintf(buf, n, "task at %#llx", (unsigned long long)task);
}

static const char *who(struct chk *c, uint64_t se_va, bool task, char *buf, size_t n)
{
	if (task)
		describe_task(c, task_of_se(se_va), buf, n);
	else
		snprintf(buf, n, "entity %#llx", (unsigned long long)se_va);
	return buf;
}

/* Checks one queued (or current) entity; returns its tasks for h_nr_running. */
/* se is the entity at se_va as read by the caller (one copy per entity). */
static unsigned check_entity(struct chk *c, struct level *lv, uint64_t se_va, const struct sched_entity *sep,
			     bool is_curr, int depth)
{
	const struct sched_entity se = *sep;
	char w[64];
	bool task = !se.my_q;
	if (se.on_rq != 1)
		REPORT(c, "%s: %s with se.on_rq=%u", who(c, se_va, task, w, sizeof w),
		       is_curr ? "cfs_rq->curr" : "in the tree", se.on_rq);
	if ((uint64_t)(uintptr_t)se.cfs_rq != lv->cfs)
		REPORT(c, "%s: se.cfs_rq %#llx but queued on cfs_rq %#llx", who(c, se_va, task, w, sizeof w),
		       (unsigned long long)(uintptr_t)se.cfs_rq, (unsigned long long)lv->cfs);
	lv->load += se.load.weight;
	lv->count++;
	if (lv->nents == lv->capents) {
		lv->capents = lv->capents ? 2 * lv->capents : 32;
		lv->ents = realloc(lv->ents, (size_t)lv->capents * sizeof *lv->ents);
		if (!lv->ents)
			abort();
	}
	lv->ents[lv->nents++] = se_va;
	if (!task) {
		unsigned h = check_cfs_rq(c, (uint64_t)(uintptr_t)se.my_q, depth + 1);
		if (h == 0)
			REPORT(c, "%s: queued group entity with an empty cfs_rq", who(c, se_va, task, w, sizeof w));
		return h;
	}
	uint64_t t = task_of_se(se_va);
	struct { int on_rq; unsigned state; int exit_state; u32 cpu; } p;
	if (!rd(c, t + offsetof(struct task_struct, on_rq), &p.on_rq, sizeof p.on_rq, "task_struct") ||
	    !rd(c, t + offsetof(struct task_struct, __state), &p.state, sizeof p.state, "task_struct") ||
	    !rd(c, t + offsetof(struct task_struct, exit_state), &p.exit_state, sizeof p.exit_state, "task_struct") ||
	    !rd(c, t + offsetof(struct task_struct, thread_info.cpu), &p.cpu, sizeof p.cpu, "task_struct"))
		return 1;
	if (p.on_rq != TASK_ON_RQ_QUEUED)
		REPORT(c, "%s: queued entity but p->on_rq=%d", who(c, se_va, task, w, sizeof w), p.on_rq);
	if (!is_curr && t == c->curr_task)
		REPORT(c, "%s: both in the tree and current (rq->curr)", who(c, se_va, task, w, sizeof w));
	if (!is_curr && p.state != TASK_RUNNING)
		REPORT(c, "%s: queued in state %s", who(c, se_va, task, w, sizeof w),
		       sim_state_name(p.state, p.exit_state));
	if ((int)p.cpu != c->cpu)
		REPORT(c, "%s: queued here but thread_info.cpu=%u", who(c, se_va, task, w, sizeof w), p.cpu);
	add_queued(c, t);
	return 1;
}

/* In-order walk with the red-black checks; returns the black height, or -1. */
static int walk(struct chk *c, struct level *lv, uint64_t node, uint64_t parent, int depth, unsigned *h,
		int cdepth)
{
	if (!node)
		return 1;
	if (depth > MAX_HEIGHT) {
		REPORT(c, "cfs_rq %#llx: tree deeper than %d (a cycle?)", (unsigned long long)lv->cfs, MAX_HEIGHT);
		return -1;
	}
	struct rb_node n;
	if (!rd(c, node, &n, sizeof n, "rb_node"))
		return -1;
	uint64_t p = n.__rb_parent_color & ~3UL;
	bool red = !(n.__rb_parent_color & 1);
	if (p != parent)
		REPORT(c, "rb_node %#llx: parent link %#llx, but its parent is %#llx",
		       (unsigned long long)node, (unsigned long long)p, (unsigned long long)parent);
	if (red && !parent)
		REPORT(c, "cfs_rq %#llx: red root %#llx", (unsigned long long)lv->cfs, (unsigned long long)node);
	if (red && parent) {
		struct rb_node pn;
		if (simk_peek(c->d, parent, &pn, sizeof pn) && !(pn.__rb_parent_color & 1))
			REPORT(c, "rb_node %#llx: red child of red node %#llx",
			       (unsigned long long)node, (unsigned long long)parent);
	}
	int lh = walk(c, lv, (uint64_t)(uintptr_t)n.rb_left, node, depth + 1, h, cdepth);
	if (lh < 0)
		return -1;
	if (lv->count >= MAX_NODES)
		return -1;
	uint64_t se = se_of_node(node);
	struct sched_entity e;
	if (!rd(c, se, &e, sizeof e, "sched_entity"))
		return -1;
	if (!lv->first)
		lv->first = node;
	if (lv->have_prev && (int64_t)(e.vruntime - lv->prev_vr) < 0)
		REPORT(c, "cfs_rq %#llx: entity %#llx out of vruntime order (%lld after %lld)",
		       (unsigned long long)lv->cfs, (unsigned long long)se,
		       (long long)e.vruntime, (long long)lv->prev_vr);
	lv->prev_vr = e.vruntime;
	lv->have_prev = true;
	*h += check_entity(c, lv, se, &e, false, cdepth);
	int rh = walk(c, lv, (uint64_t)(uintptr_t)n.rb_right, node, depth + 1, h, cdepth);
	if (rh < 0)
		return -1;
	if (lh != rh)
		REPORT(c, "rb_node %#llx: black heights %d left, %d right", (unsigned long long)node, lh, rh);
	return lh + (red ? 0 : 1);
}

static bool in_level(struct level *lv, uint64_t se)
{
	for (int i = 0; i < lv->nents; i++)
		if (lv->ents[i] == se)
			return true;
	return false;
}

static void check_counter(struct chk *c, uint64_t cfs, const char *name, unsigned v)
{
	if (v > 0x7fffffffU)
		REPORT(c, "cfs_rq %#llx: %s wrapped (%u)", (unsigned long long)cfs, name, v);
}

static int group_slot(struct sdom *d, uint64_t tg)
{
	for (int i = 0; i < d->nr_groups; i++)
		if (d->groups[i].tg == tg)
			return i + 1;
	return 0;
}

static unsigned check_cfs_rq(struct chk *c, uint64_t cfs, int depth)
{
	struct cfs_rq cr;
	if (depth > 8) {
		REPORT(c, "cfs_rq %#llx: group nesting deeper than 8", (unsigned long long)cfs);
		return 0;
	}
	if (!rd(c, cfs, &cr, sizeof cr, "cfs_rq"))
		return 0;
	struct level lv = { .cfs = cfs };
	unsigned h = 0;
	walk(c, &lv, (uint64_t)(uintptr_t)cr.tasks_timeline.rb_root.rb_node, 0, 0, &h, depth);
	if ((uint64_t)(uintptr_t)cr.tasks_timeline.rb_leftmost != lv.first)
		REPORT(c, "cfs_rq %#llx: leftmost cache %#llx, but the first node is %#llx",
		       (unsigned long long)cfs, (unsigned long long)(uintptr_t)cr.tasks_timeline.rb_leftmost,
		       (unsigned long long)lv.first);
	unsigned in_tree = lv.count;
	struct sched_entity ce;
	if (cr.curr && rd(c, (uint64_t)(uintptr_t)cr.curr, &ce, sizeof ce, "sched_entity"))
		h += check_entity(c, &lv, (uint64_t)(uintptr_t)cr.curr, &ce, true, depth);
	if (cr.nr_running != lv.count)
		REPORT(c, "cfs_rq %#llx: nr_running %u, but %u in the tree + %d current",
		       (unsigned long long)cfs, cr.nr_running, in_tree, cr.curr ? 1 : 0);
	if (cr.h_nr_running != h)
		REPORT(c, "cfs_rq %#llx: h_nr_running %u, but %u tasks queued at and below it",
		       (unsigned long long)cfs, cr.h_nr_running, h);
	if (cr.load.weight != lv.load)
		REPORT(c, "cfs_rq %#llx: load.weight %lu, but queued entities weigh %lu",
		       (unsigned long long)cfs, cr.load.weight, lv.load);
	check_counter(c, cfs, "nr_running", cr.nr_running);
	check_counter(c, cfs, "h_nr_running", cr.h_nr_running);
	const struct { const char *name; struct sched_entity *se; } buddies[] = {
		{ "next", cr.next }, { "last", cr.last }, { "skip", cr.skip },
	};
	for (int i = 0; i < 3; i++)
		if (buddies[i].se && !in_level(&lv, (uint64_t)(uintptr_t)buddies[i].se))
			REPORT(c, "cfs_rq %#llx: buddy %s %#llx is not queued here",
			       (unsigned long long)cfs, buddies[i].name,
			       (unsigned long long)(uintptr_t)buddies[i].se);
	int slot = group_slot(c->d, (uint64_t)(uintptr_t)cr.tg);
	uint64_t *last = &c->d->last_min_vruntime[c->cpu][slot];
	if (*last && (int64_t)(cr.min_vruntime - *last) < 0)
		REPORT(c, "cfs_rq %#llx: min_vruntime went back from %llu to %llu",
		       (unsigned long long)cfs, (unsigned long long)*last, (unsigned long long)cr.min_vruntime);
	*last = cr.min_vruntime;
	free(lv.ents);
	return h;
}

/* The queued tasks as an open-addressed set (built once per check, no sort). */
struct qset {
	uint64_t *slot;
	uint32_t mask;
};

static uint32_t qhash(uint64_t a, uint32_t mask)
{
	return (uint32_t)((a >> 6) * 0x9E3779B97F4A7C15ULL >> 32) & mask;
}

static void qset_build(struct qset *q, const uint64_t *v, int n)
{
	uint32_t slots = 64;
	while (slots < 2u * (uint32_t)n)
		slots *= 2;
	q->slot = calloc(slots, sizeof *q->slot);
	if (!q->slot)
		abort();
	q->mask = slots - 1;
	for (int i = 0; i < n; i++) {
		uint32_t h = qhash(v[i], q->mask);
		while (q->slot[h] && q->slot[h] != v[i])
			h = (h + 1) & q->mask;
		q->slot[h] = v[i];
	}
}

static bool qset_has(const struct qset *q, uint64_t a)
{
	for (uint32_t h = qhash(a, q->mask); q->slot[h]; h = (h + 1) & q->mask)
		if (q->slot[h] == a)
			return true;
	return false;
}

static void check_cfs_tasks(struct chk *c, struct rq *rq)
{
	struct qset qs;
	qset_build(&qs, c->queued, c->nq);
	uint64_t head = c->rq_va + offsetof(struct rq, cfs_tasks);
	uint64_t prev = head, cur = (uint64_t)(uintptr_t)rq->cfs_tasks.next;
	int n = 0;
	while (cur != head) {
		if (n > c->nq + 16 || n >= MAX_NODES) {
			REPORT(c, "rq->cfs_tasks: more than %d entries (a cycle?)", n);
			goto out;
		}
		struct list_head l;
		if (!rd(c, cur, &l, sizeof l, "rq->cfs_tasks entry"))
			goto out;
		if ((uint64_t)(uintptr_t)l.prev != prev)
			REPORT(c, "rq->cfs_tasks: entry %#llx has prev %#llx, expected %#llx",
			       (unsigned long long)cur, (unsigned long long)(uintptr_t)l.prev,
			       (unsigned long long)prev);
		uint64_t task = cur - offsetof(struct task_struct, se.group_node);
		if (!task || !qset_has(&qs, task)) {
			char who[64];
			describe_task(c, task, who, sizeof who);
			REPORT(c, "rq->cfs_tasks lists %s, which is not queued", who);
		}
		n++;
		prev = cur;
		cur = (uint64_t)(uintptr_t)l.next;
	}
	if (n != c->nq)
		REPORT(c, "rq->cfs_tasks has %d entries, but %d tasks are queued", n, c->nq);
out:
	free(qs.slot);
}

static void check_rq(struct sdom *d, int cpu)
{
	struct chk c = { .d = d, .cpu = cpu, .rq_va = (uint64_t)(uintptr_t)simk_rq(d, cpu) };
	struct rq rq;
	if (!rd(&c, c.rq_va, &rq, sizeof rq, "runqueues"))
		return;
	c.curr_task = (uint64_t)(uintptr_t)rq.curr;
	if (rq.curr != rq.idle) {
		struct task_struct p;
		if (rd(&c, c.curr_task, &p, sizeof p, "rq->curr")) {
			if (!p.on_cpu)
				REPORT(&c, "rq->curr task %d has on_cpu=0", p.pid);
			struct cfs_rq cr;
			if (p.se.cfs_rq && rd(&c, (uint64_t)(uintptr_t)p.se.cfs_rq, &cr, sizeof cr, "se.cfs_rq") &&
			    (uint64_t)(uintptr_t)cr.curr != c.curr_task + offsetof(struct task_struct, se))
				REPORT(&c, "rq->curr task %d (%.16s) is not its cfs_rq's curr", p.pid, p.comm);
		}
	}
	unsigned h = check_cfs_rq(&c, c.rq_va + offsetof(struct rq, cfs), 0);
	if (rq.nr_running != h)
		REPORT(&c, "rq->nr_running %u, but %u tasks are queued", rq.nr_running, h);
	if (rq.nr_running > 0x7fffffffU)
		REPORT(&c, "rq->nr_running wrapped (%u)", rq.nr_running);
	check_cfs_tasks(&c, &rq);
	free(c.queued);
}

static void check_task_list(struct sdom *d)
{
	struct chk c = { .d = d, .cpu = -1 };
	uint64_t head = (uint64_t)(uintptr_t)&simk_init_task(d)->tasks;
	uint64_t prev = head, cur;
	struct list_head l;
	if (!rd(&c, head, &l, sizeof l, "init_task.tasks"))
		return;
	cur = (uint64_t)(uintptr_t)l.next;
	int n = 0, bound = d->sim->nr_tasks + 16;
	while (cur != head) {
		if (n > bound) {
			REPORT(&c, "task list longer than %d (a cycle?)", bound);
			return;
		}
		if (!rd(&c, cur, &l, sizeof l, "task list entry"))
			return;
		if ((uint64_t)(uintptr_t)l.prev != prev)
			REPORT(&c, "task list: entry %#llx has prev %#llx, expected %#llx",
			       (unsigned long long)cur, (unsigned long long)(uintptr_t)l.prev,
			       (unsigned long long)prev);
		uint64_t task = cur - offsetof(struct task_struct, tasks);
		int on_rq;
		unsigned se_on_rq;
		if (rd(&c, task + offsetof(struct task_struct, on_rq), &on_rq, sizeof on_rq, "task_struct") &&
		    rd(&c, task + offsetof(struct task_struct, se.on_rq), &se_on_rq, sizeof se_on_rq, "task_struct") &&
		    (on_rq == TASK_ON_RQ_QUEUED) != (se_on_rq == 1)) {
			char w[64];
			describe_task(&c, task, w, sizeof w);
			REPORT(&c, "%s: p->on_rq=%d but se.on_rq=%u", w, on_rq, se_on_rq);
		}
		n++;
		prev = cur;
		cur = (uint64_t)(uintptr_t)l.next;
	}
}

int sim_check_domain(struct sdom *d)
{
	uint64_t before = d->sim->violations;
	for (int cpu = 0; cpu < d->nr_vcpus; cpu++)
		check_rq(d, cpu);
	check_task_list(d);
	return (int)(d->sim->violations - before);
}
