/*
 * protect.c - the scheduler's refusal to freeze a protected task (the
 * guest's init, kernel threads, idle tasks, tasks that hold up an RT lock
 * chain: linux.h's LX_PROTECT_*) unless the run or the wish says so.
 *
 * A refused wish is said once per task and run on the scheduler's log
 * (sched.c), not once per tick: this file remembers which were said.  Which tasks are protected is the linux layer's
 * (lx_task.protect); the wishes themselves are sched.c's.
 */
#include <stdlib.h>

#include "sched/sched_int.h"

/* Was this task's refusal said already; note it if not. */
static bool noted(struct xds_sched *s, int guest, uint64_t addr, int pid)
{
	for (int i = 0; i < s->nr_refused; i++)
		if (s->refused[i].guest == guest && s->refused[i].addr == addr && s->refused[i].pid == pid)
			return true;
	if (s->nr_refused == XDS_MAX_REFUSAL_NOTES)
		return true;            /* said enough: a guest of only kernel threads */
	if (s->nr_refused == s->cap_refused) {
		int cap = s->cap_refused ? 2 * s->cap_refused : 16;
		void *n = realloc(s->refused, (size_t)cap * sizeof *s->refused);
		if (!n)
			return false;
		s->refused = n;
		s->cap_refused = cap;
	}
	s->refused[s->nr_refused].guest = guest;
	s->refused[s->nr_refused].addr = addr;
	s->refused[s->nr_refused++].pid = pid;
	return false;
}

const char *xds_sched_protected(const struct xds_sched *s, const struct lx_task *t)
{
	return s->opt.allow_protected ? NULL : lx_protect_reason(t->protect);
}

int protect_check(struct xds_sched *s, int guest, const struct lx_task *t, struct xds_err *err)
{
	const char *why = xds_sched_protected(s, t);
	if (!why)
		return 0;
	const struct xds_guest *g = xds_host_guest(s->host, guest);
	xds_fail(err, "%s/%s[%d] is %s: not frozen (task:freeze{force = true} or "
		 "--allow-protected to override)", g ? xds_guest_name(g) : "?", t->comm, t->pid, why);
	s->stats.refusals++;
	return noted(s, guest, t->addr, t->pid) ? 1 : 2;
}

int protect_family(struct xds_sched *s, int guest, const struct lx_task *t, struct xds_err *err)
{
	struct xds_guest *g = xds_host_guest(s->host, guest);
	struct lx_guest *lx = g ? xds_guest_lx(g) : NULL;
	const char *family;
	if (!lx || lx_can_write(lx, &family))
		return 0;
	xds_fail(err, "%s/%s[%d]: not frozen: this kernel's scheduler family (%s) is read only in xds-lua so far",
		 xds_guest_name(g), t->comm, t->pid, family);
	s->stats.refusals++;
	return noted(s, guest, t->addr, t->pid) ? 1 : 2;
}

void protect_free(struct xds_sched *s)
{
	free(s->refused);
	s->refused = NULL;
	s->nr_refused = s->cap_refused = 0;
}
