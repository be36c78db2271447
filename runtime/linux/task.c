/*
 * task.c - the one reader of task_struct, and ps's letter for a state.
 *
 * lx_task_protect says which tasks must not be frozen by default.
 * lx_task_read reads every field of a task_struct that the snapshot or a
 * freeze or thaw needs, in one view of its pages, each with the width the
 * profile gives it.  What the values mean is the callers': the snapshot
 * turns them into a struct lx_task, freeze.c checks them before it writes.
 */
#include <string.h>

#include "linux/linux_int.h"

static int64_t view_sfield(struct view *v, enum profile_field_id id)
{
	return lx_view_int(v, lx_off(v->g, id), lx_wid(v->g, id));
}

static uint64_t view_se_field(struct view *v, enum profile_field_id id)
{
	return lx_view_uint(v, lx_off(v->g, F_TASK_SE) + lx_off(v->g, id), lx_wid(v->g, id));
}

/* The fields lx_task_read takes, offsets from the task_struct, resolved
 * once per guest; ok when every one lies inside the struct. */
enum { TL_STATE, TL_ON_RQ, TL_PID, TL_TGID, TL_PRIO, TL_STATIC_PRIO, TL_NORMAL_PRIO, TL_FLAGS,
       TL_EXIT_STATE, TL_POLICY, TL_CPU, TL_NEXT, TL_PREV, TL_SE_ON_RQ, TL_RUNTIME, TL_VRUNTIME, TL_COMM,
       TL_SIGNAL, TL_LEADER, TL_THREAD_NEXT, TL_THREAD_PREV, TL_START, TL_N };
_Static_assert(TL_N <= LX_TASK_LAYOUT_MAX, "struct lx_task_layout holds every field");

/* An optional 8-byte field at off within the task (absent: width 0, read as 0). */
static void opt_u64(struct lx_task_layout *l, int i, bool present, uint32_t off)
{
	l->off[i] = present ? off : 0;
	l->wid[i] = present ? 8 : 0;
}

static bool optional(int i)
{
	return i == TL_FLAGS || i >= TL_SIGNAL;
}

static void layout(struct lx_guest *g)
{
	static const enum profile_field_id task[] = {
		[TL_STATE] = F_TASK_STATE, [TL_ON_RQ] = F_TASK_ON_RQ, [TL_PID] = F_TASK_PID, [TL_TGID] = F_TASK_TGID,
		[TL_PRIO] = F_TASK_PRIO, [TL_STATIC_PRIO] = F_TASK_STATIC_PRIO,
		[TL_NORMAL_PRIO] = F_TASK_NORMAL_PRIO, [TL_FLAGS] = F_TASK_FLAGS, [TL_EXIT_STATE] = F_TASK_EXIT_STATE,
		[TL_POLICY] = F_TASK_POLICY, [TL_CPU] = F_TASK_CPU,
	};
	static const enum profile_field_id se[] = {
		[TL_SE_ON_RQ] = F_SE_ON_RQ, [TL_RUNTIME] = F_SE_SUM_EXEC_RUNTIME, [TL_VRUNTIME] = F_SE_VRUNTIME,
	};
	struct lx_task_layout *l = &g->task_layout;
	uint32_t size = lx_sizeof(g, T_TASK_STRUCT);
	for (int i = 0; i < TL_N; i++) {
		if (i == TL_FLAGS && !lx_has(g, F_TASK_FLAGS)) {
			l->off[i] = 0;          /* a profile without flags: read as 0 */
			l->wid[i] = 0;
		} else if (i <= TL_CPU) {
			l->off[i] = lx_off(g, task[i]);
			l->wid[i] = (uint8_t)(lx_wid(g, task[i]) > 8 ? 8 : lx_wid(g, task[i]));
		} else if (i >= TL_SE_ON_RQ && i <= TL_VRUNTIME) {
			l->off[i] = lx_off(g, F_TASK_SE) + lx_off(g, se[i]);
			l->wid[i] = (uint8_t)(lx_wid(g, se[i]) > 8 ? 8 : lx_wid(g, se[i]));
		}
	}
	l->off[TL_NEXT] = lx_off(g, F_TASK_TASKS) + lx_off(g, F_LIST_NEXT);
	l->off[TL_PREV] = lx_off(g, F_TASK_TASKS) + lx_off(g, F_LIST_PREV);
	l->wid[TL_NEXT] = l->wid[TL_PREV] = 8;
	l->off[TL_COMM] = lx_off(g, F_TASK_COMM);
	l->wid[TL_COMM] = TASK_COMM_LEN;
	opt_u64(l, TL_SIGNAL, lx_has(g, F_TASK_SIGNAL), lx_off(g, F_TASK_SIGNAL));
	opt_u64(l, TL_LEADER, lx_has(g, F_TASK_GROUP_LEADER), lx_off(g, F_TASK_GROUP_LEADER));
	bool tn = lx_has(g, F_TASK_THREAD_NODE);
	opt_u64(l, TL_THREAD_NEXT, tn, lx_off(g, F_TASK_THREAD_NODE) + lx_off(g, F_LIST_NEXT));
	opt_u64(l, TL_THREAD_PREV, tn, lx_off(g, F_TASK_THREAD_NODE) + lx_off(g, F_LIST_PREV));
	opt_u64(l, TL_START, lx_has(g, F_TASK_START_TIME), lx_off(g, F_TASK_START_TIME));
	l->ok = true;
	l->words = true;
	for (int i = 0; i < TL_N; i++) {
		l->ok &= (l->wid[i] > 0 || optional(i)) && (uint64_t)l->off[i] + l->wid[i] <= size;
		l->mask[i] = l->wid[i] >= 8 ? ~0ULL : (1ULL << (8 * l->wid[i])) - 1;
		l->words &= i == TL_COMM || (uint64_t)l->off[i] + 8 <= size;
	}
	l->words &= l->ok;
	l->done = true;
}

/* The whole task_struct is mapped in one piece and every field has 8
 * bytes of it from its offset: each field one 8-byte load, masked to its
 * width (signed ones sign-extended).  Sets every member of p. */
static uint64_t word(const struct lx_task_layout *l, const uint8_t *b, int i)
{
	uint64_t r;
	memcpy(&r, b + l->off[i], 8);
	return r & l->mask[i];
}

static int64_t sword(const struct lx_task_layout *l, const uint8_t *b, int i)
{
	unsigned sh = 64 - 8 * (unsigned)l->wid[i];        /* wid 1..8: a required field */
	return (int64_t)(word(l, b, i) << sh) >> sh;
}

static void read_words(const struct lx_task_layout *l, const uint8_t *b, struct lx_task_struct *p)
{
	p->state = word(l, b, TL_STATE);
	p->on_rq = word(l, b, TL_ON_RQ);
	p->pid = (int)sword(l, b, TL_PID);
	p->tgid = (int)sword(l, b, TL_TGID);
	p->prio = (int)sword(l, b, TL_PRIO);
	p->static_prio = (int)sword(l, b, TL_STATIC_PRIO);
	p->normal_prio = (int)sword(l, b, TL_NORMAL_PRIO);
	p->flags = word(l, b, TL_FLAGS);
	p->exit_state = (int)sword(l, b, TL_EXIT_STATE);
	p->policy = (unsigned)word(l, b, TL_POLICY);
	p->cpu = (unsigned)word(l, b, TL_CPU);
	p->tasks_next = word(l, b, TL_NEXT);
	p->tasks_prev = word(l, b, TL_PREV);
	p->se_on_rq = word(l, b, TL_SE_ON_RQ);
	p->sum_exec_runtime = word(l, b, TL_RUNTIME);
	p->vruntime = word(l, b, TL_VRUNTIME);
	p->signal = word(l, b, TL_SIGNAL);
	p->group_leader = word(l, b, TL_LEADER);
	p->thread_next = word(l, b, TL_THREAD_NEXT);
	p->thread_prev = word(l, b, TL_THREAD_PREV);
	p->start_time = word(l, b, TL_START);
	memcpy(p->comm, b + l->off[TL_COMM], TASK_COMM_LEN - 1);
	p->comm[TASK_COMM_LEN - 1] = 0;
}

int lx_task_read(struct lx_guest *g, uint64_t va, struct lx_task_struct *p, struct xds_err *err)
{
	struct view v;
	uint8_t bounce[TASK_COMM_LEN];
	if (!g->task_layout.done)
		layout(g);
	/* mapped whole: most tasks in the large page of the last one, else in one view */
	bool words = g->task_layout.words;
	const uint8_t *whole = words ? lx_piece_at(g, va, lx_sizeof(g, T_TASK_STRUCT)) : NULL;
	if (!whole) {
		if (lx_view_open(&v, g, va, lx_sizeof(g, T_TASK_STRUCT), err))
			return -1;
		whole = words ? v.base : NULL;
	}
	if (whole) {
		p->addr = va;
		p->se = va + lx_off(g, F_TASK_SE);
		read_words(&g->task_layout, whole, p);
		return 0;
	}
	memset(p, 0, sizeof *p);
	p->addr = va;
	p->se = va + lx_off(g, F_TASK_SE);
	p->state = lx_view_field(&v, F_TASK_STATE);
	p->on_rq = lx_view_field(&v, F_TASK_ON_RQ);
	p->pid = (int)view_sfield(&v, F_TASK_PID);
	p->tgid = (int)view_sfield(&v, F_TASK_TGID);
	p->prio = (int)view_sfield(&v, F_TASK_PRIO);
	p->static_prio = (int)view_sfield(&v, F_TASK_STATIC_PRIO);
	p->normal_prio = (int)view_sfield(&v, F_TASK_NORMAL_PRIO);
	if (lx_has(g, F_TASK_FLAGS))
		p->flags = lx_view_field(&v, F_TASK_FLAGS);
	p->exit_state = (int)view_sfield(&v, F_TASK_EXIT_STATE);
	p->policy = (unsigned)lx_view_field(&v, F_TASK_POLICY);
	p->cpu = (unsigned)lx_view_field(&v, F_TASK_CPU);
	p->tasks_next = lx_view_uint(&v, lx_off(g, F_TASK_TASKS) + lx_off(g, F_LIST_NEXT), 8);
	p->tasks_prev = lx_view_uint(&v, lx_off(g, F_TASK_TASKS) + lx_off(g, F_LIST_PREV), 8);
	p->se_on_rq = view_se_field(&v, F_SE_ON_RQ);
	p->sum_exec_runtime = view_se_field(&v, F_SE_SUM_EXEC_RUNTIME);
	p->vruntime = view_se_field(&v, F_SE_VRUNTIME);
	if (lx_has(g, F_TASK_SIGNAL))
		p->signal = lx_view_uint(&v, lx_off(g, F_TASK_SIGNAL), 8);
	if (lx_has(g, F_TASK_GROUP_LEADER))
		p->group_leader = lx_view_uint(&v, lx_off(g, F_TASK_GROUP_LEADER), 8);
	if (lx_has(g, F_TASK_THREAD_NODE)) {
		p->thread_next = lx_view_uint(&v, lx_off(g, F_TASK_THREAD_NODE) + lx_off(g, F_LIST_NEXT), 8);
		p->thread_prev = lx_view_uint(&v, lx_off(g, F_TASK_THREAD_NODE) + lx_off(g, F_LIST_PREV), 8);
	}
	if (lx_has(g, F_TASK_START_TIME))
		p->start_time = lx_view_uint(&v, lx_off(g, F_TASK_START_TIME), 8);
	const uint8_t *comm = lx_view_at(&v, lx_off(g, F_TASK_COMM), TASK_COMM_LEN, bounce);
	if (v.failed)
		return xds_err_wrap(err, "task_struct at %#llx", (unsigned long long)va);
	memcpy(p->comm, comm, TASK_COMM_LEN - 1);
	return 0;
}

/* include/linux/sched.h, the same values from 5.10 to 7.x */
#define PF_IDLE          0x00000002u
#define PF_EXITING       0x00000004u
#define PF_KTHREAD       0x00200000u
#define TASK_RTLOCK_WAIT 0x00001000u

unsigned lx_task_protect(const struct lx_task_struct *p)
{
	unsigned m = 0;
	if (p->pid == 1)
		m |= LX_PROTECT_INIT;
	if (p->flags & PF_KTHREAD)
		m |= LX_PROTECT_KTHREAD;
	if (p->pid == 0 || (p->flags & PF_IDLE))
		m |= LX_PROTECT_IDLE;
	if (p->state & TASK_RTLOCK_WAIT)
		m |= LX_PROTECT_RTLOCK;
	if (p->prio < p->normal_prio)
		m |= LX_PROTECT_PI;
	return m;
}

bool lx_task_exiting(const struct lx_task_struct *p)
{
	return p->exit_state != 0 || (p->flags & PF_EXITING);
}

const char *lx_protect_reason(unsigned protect)
{
	return protect & LX_PROTECT_IDLE ? "an idle task"
		: protect & LX_PROTECT_INIT ? "the guest's init (pid 1)"
		: protect & LX_PROTECT_KTHREAD ? "a kernel thread"
		: protect & LX_PROTECT_RTLOCK ? "waiting on an RT lock"
		: protect & LX_PROTECT_PI ? "boosted by priority inheritance"
		: NULL;
}

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
