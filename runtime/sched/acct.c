/*
 * acct.c - per-task accounting over a run, from the snapshots (not ground
 * truth): CPU time at first and last sight, time waiting on a run queue,
 * time held frozen, time seen alive.
 *
 * One entry per task ever seen, keyed by (guest slot, task_struct, pid) so
 * that a reused task_struct starts a new entry; found through a tindex
 * that grows with the array.  The report and ps read the entries.
 */
#include <stdlib.h>
#include <string.h>

#include "sched/sched_int.h"

struct acct_key {
	const struct xds_sched *s;
	int guest, pid;
	uint64_t addr;
};

static bool acct_match(const void *ctx, int i)
{
	const struct acct_key *k = ctx;
	const struct xds_acct *a = &k->s->acct[i];
	return a->guest == k->guest && a->addr == k->addr && a->pid == k->pid;
}

static int acct_grow(struct xds_sched *s)
{
	int cap = s->cap_acct ? 2 * s->cap_acct : 256;
	struct xds_acct *n = realloc(s->acct, (size_t)cap * sizeof *n);
	if (!n)
		return -1;
	s->acct = n;
	s->cap_acct = cap;
	if (tindex_reset(&s->acct_idx, (size_t)cap))
		return -1;
	for (int i = 0; i < s->nr_acct; i++)
		tindex_put(&s->acct_idx, tindex_hash(s->acct[i].guest, s->acct[i].addr, s->acct[i].pid), i);
	return 0;
}

static struct xds_acct *acct_of(struct xds_sched *s, int guest, const struct lx_task *t)
{
	struct acct_key k = { s, guest, t->pid, t->addr };
	uint64_t hash = tindex_hash(guest, t->addr, t->pid);
	int i = tindex_find(&s->acct_idx, hash, acct_match, &k);
	if (i >= 0)
		return &s->acct[i];
	if (s->nr_acct == s->cap_acct && acct_grow(s))
		return NULL;
	tindex_put(&s->acct_idx, hash, s->nr_acct);
	struct xds_acct *a = &s->acct[s->nr_acct++];
	memset(a, 0, sizeof *a);
	a->guest = guest;
	snprintf(a->dom, sizeof a->dom, "%s", xds_guest_name(xds_host_guest(s->host, guest)));
	a->addr = t->addr;
	a->pid = t->pid;
	a->tgid = t->tgid;
	memcpy(a->comm, t->comm, sizeof a->comm);
	a->cpu_first = t->cputime_ns;
	return a;
}

void acct_tick(struct xds_sched *s, uint64_t dt)
{
	for (int i = 0; i < s->nr_acct; i++)
		s->acct[i].alive = false;
	for (int gi = 0; gi < xds_host_nr_guests(s->host); gi++) {
		const struct lx_snapshot *snap = xds_guest_snapshot(xds_host_guest(s->host, gi));
		for (int k = 0; k < snap->nr_tasks; k++) {
			const struct lx_task *t = &snap->tasks[k];
			struct xds_acct *a = acct_of(s, gi, t);
			if (!a)
				continue;
			a->alive = true;
			a->cpu_last = t->cputime_ns;
			a->seen_ns += dt;
			const struct xds_held *h = held_find(s, gi, t->addr);
			if (h && h->hold == XH_FROZEN)
				a->frozen_ns += dt;
			else if (t->queued && !t->running)
				a->wait_ns += dt;
		}
	}
}

void acct_name(struct xds_sched *s, int guest, const struct lx_task *t)
{
	struct xds_acct *a = acct_of(s, guest, t);
	if (a)
		a->named = true;
}

void acct_free(struct xds_sched *s)
{
	free(s->acct);
	s->acct = NULL;
	s->nr_acct = s->cap_acct = 0;
	tindex_free(&s->acct_idx);
}

int xds_sched_nr_acct(const struct xds_sched *s)
{
	return s->nr_acct;
}

const struct xds_acct *xds_sched_acct_at(const struct xds_sched *s, int i)
{
	return i >= 0 && i < s->nr_acct ? &s->acct[i] : NULL;
}
