/*
 * sched.c - the tick loop's machinery (see sched.h).
 *
 * The held set (held.c) is the scheduler's memory of what it did: one
 * entry per task it froze or is about to, with the policy's latest wish.
 * apply() walks it guest by guest: a guest with nothing to change is not
 * touched; one with changes is paused once, every change is tried
 * (freeze: journal first, then lx_freeze; thaw: lx_thaw, then journal) as
 * one batch, and it is resumed (unless someone else had paused it).  What
 * the guest refuses now (a lock held, kernel mode, asleep) is retried on
 * the next tick.  The journal is journal.c's, recovery recover.c's, the
 * per-task figures acct.c's; guests, their pauses and the clock belong to
 * the host layer, the run-queue surgery to the linux layer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sched/sched_int.h"
#include "util/log.h"
#include "util/utf8.h"

#define THAW_ALL_TRIES 200
#define THAW_ALL_STEP_NS 1000000ULL     /* guest time between two thaw-all tries */
/* A guest asked to shut down or suspend gets its tasks back for this long:
 * its freezer (suspend: save, migration) and its shutdown (SIGKILL to
 * every task) need every task able to run; 20 s is the freezer's limit. */
#define RELEASE_NS (30ULL * 1000000000ULL)
/* Guests come and go (a hypervisor's domains): look for them about once a second. */
#define RESCAN_NS 1000000000ULL

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

const uint64_t xds_hist_le_ns[XDS_HIST_BUCKETS] = {
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
	50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000,
};

static void phase_add(struct xds_phase *p, uint64_t ns)
{
	for (int i = 0; i < XDS_HIST_BUCKETS; i++)
		p->le[i] += ns <= xds_hist_le_ns[i];
	p->count++;
	p->total_ns += ns;
	if (ns > p->max_ns)
		p->max_ns = ns;
}

/* One line on f (NULL: none): prefix, then fmt. */
static void vline(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
	if (!f)
		return;
	fputs(prefix, f);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	fflush(f);
}

/* One --trace line: "T MS TICK ...", MS since the scheduler started (host
 * time), TICK the tick's number. */
static void tracef_(struct xds_sched *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tracef_(struct xds_sched *s, const char *fmt, ...)
{
	char prefix[64];
	snprintf(prefix, sizeof prefix, "T %.3f %llu ", (double)(s->now_ns - s->start_ns) / 1e6,
		 (unsigned long long)s->stats.ticks);
	va_list ap;
	va_start(ap, fmt);
	vline(s->opt.trace, prefix, fmt, ap);
	va_end(ap);
}

static const char *gname(const struct xds_sched *s, int gi)
{
	return xds_guest_name(xds_host_guest(s->host, gi));
}

/* A held task's comm as a log, trace or journal line shows it. */
static struct utf8_shown comm_of(const struct xds_held *h)
{
	return utf8_shown(h->comm, sizeof h->comm);
}

/* "OP DOM/COMM[PID] OUTCOME[: WHY]" */
static void trace_(struct xds_sched *s, const struct xds_held *h, const char *op,
		   const char *outcome, const char *why)
{
	tracef_(s, "%s %s/%s[%d] %s%s%s", op, gname(s, h->guest), comm_of(h).s, h->pid, outcome,
		why ? ": " : "", why ? why : "");
}

/* ---- the tick ---- */

struct xds_sched *xds_sched_new(struct xds_host *h, const struct xds_sched_opts *o,
				struct xds_err *err)
{
	struct xds_sched *s = calloc(1, sizeof *s);
	if (!s) {
		xds_fail(err, "out of memory");
		return NULL;
	}
	s->host = h;
	s->opt = *o;
	if (!s->opt.tick_ns)
		s->opt.tick_ns = 10000000ULL;
	s->journal_fd = -1;
	s->undo_fd = -1;
	if (o->journal && !o->dry_run) {
		s->journal_fd = journal_open(o->journal, err);
		if (s->journal_fd < 0)
			goto fail;
		struct stat st;
		if (!fstat(s->journal_fd, &st) && st.st_size > 0) {
			/* a run that crashed left tasks frozen: thaw them first */
			xds_log(XDS_LOG_NOTICE, "journal %s lists tasks a previous run left; recovering", o->journal);
			if (recover_journal(h, o->journal, err)) {
				xds_err_wrap(err, "recovery from %s", o->journal);
				goto fail;
			}
		}
		if (journal_empty(s, err) || journal_guests(s, err))
			goto fail;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);     /* batch numbers no earlier run used */
		s->batch_seq = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
		journal_undo_open(s);
	}
	s->start_ns = s->now_ns = xds_host_now(h);
	s->rescanned_ns = mono_ns();
	if (o->dry_run && o->plan)
		fprintf(o->plan, "# dry run: nothing is changed in any guest.  The changes the policy asks for,\n"
			"# at seconds since the start (%s time), with the reason it gave:\n",
			xds_host_clock_virtual(h) ? "virtual" : "wall");
	return s;
fail:
	if (s->journal_fd >= 0)
		close(s->journal_fd);
	free(s);
	return NULL;
}

int xds_sched_advance(struct xds_sched *s, struct xds_err *err)
{
	uint64_t due = s->start_ns + (s->stats.ticks + 1) * s->opt.tick_ns;
	if (xds_host_wait_until(s->host, due, err))
		return -1;
	uint64_t now = xds_host_now(s->host);
	phase_add(&s->stats.late, now > due ? now - due : 0);
	s->stats.ticks++;
	return 0;
}

static void rescan(struct xds_sched *s)
{
	uint64_t now = mono_ns();
	if (now - s->rescanned_ns < RESCAN_NS)
		return;
	s->rescanned_ns = now;
	struct xds_err e;
	int changed = 0;
	if (xds_host_rescan(s->host, &changed, &e) < 0)
		xds_log(XDS_LOG_WARNING, "%s", e.msg);
	if (changed)
		journal_guests(s, NULL);
}

/* Guests asked to shut down, reboot or suspend get their tasks back. */
static void release_stopping(struct xds_sched *s)
{
	for (int gi = 0; gi < xds_host_nr_guests(s->host); gi++) {
		struct xds_guest *g = xds_host_guest(s->host, gi);
		struct xds_err e;
		int asked = xds_guest_stop_asked(g, &e);
		if (asked < 0) {
			xds_log(XDS_LOG_WARNING, "%s: %s", xds_guest_name(g), e.msg);
			continue;
		}
		if (!asked)
			continue;
		int n = 0;
		for (int i = 0; i < s->nr_held; i++)
			if (s->held[i].guest == gi && s->held[i].want) {
				s->held[i].want = false;
				snprintf(s->held[i].why, sizeof s->held[i].why, "its guest is asked to stop");
				n++;
			}
		s->released_until[gi] = s->now_ns + RELEASE_NS;
		s->released_gen[gi] = xds_guest_gen(g);
		xds_log(XDS_LOG_NOTICE, "%s is asked to shut down, reboot or suspend: its tasks are given back "
			  "(%d held) and none is frozen for %llu s", xds_guest_name(g), n,
			  (unsigned long long)(RELEASE_NS / 1000000000ULL));
		tracef_(s, "release %s: asked to stop; %d held given back", xds_guest_name(g), n);
	}
}

/* Held tasks that are gone (exited, or their guest is) are forgotten. */
static void forget_gone(struct xds_sched *s)
{
	for (int i = 0; i < s->nr_held; i++) {
		struct xds_held *hd = &s->held[i];
		struct xds_guest *g = xds_host_guest(s->host, hd->guest);
		const char *name = xds_guest_name(g);
		if (xds_guest_gone(g) || xds_guest_gen(g) != hd->gen) {
			xds_log(XDS_LOG_INFO, "%s/%s[%d]: its domain is gone; forgetting it", name, comm_of(hd).s, hd->pid);
			journal_line(s, NULL, "gone %s %#llx %d", name, (unsigned long long)hd->addr, hd->pid);
			held_drop(s, hd);
			i--;
			continue;
		}
		if (xds_guest_error(g)[0])
			continue;          /* cannot tell this tick */
		const struct lx_snapshot *snap = xds_guest_snapshot(g);
		bool found = false;
		for (int k = 0; k < snap->nr_tasks && !found; k++)
			found = snap->tasks[k].addr == hd->addr && snap->tasks[k].pid == hd->pid;
		if (!found) {
			xds_log(XDS_LOG_INFO, "%s/%s[%d] is gone; forgetting it", name, comm_of(hd).s, hd->pid);
			journal_line(s, NULL, "thaw %s %#llx %d", name, (unsigned long long)hd->addr, hd->pid);
			held_drop(s, hd);
			i--;
		}
	}
}

int xds_sched_snapshot(struct xds_sched *s, struct xds_err *err)
{
	rescan(s);
	release_stopping(s);
	uint64_t t0 = mono_ns();
	int rc = xds_host_snapshot(s->host, err);
	phase_add(&s->stats.snapshot, mono_ns() - t0);
	uint64_t now = xds_host_now(s->host), dt = now - s->now_ns;
	s->now_ns = now;
	forget_gone(s);
	acct_tick(s, dt);
	return rc;
}

/* The wish for t, recorded: held entries carry it to apply(). */
static int wish(struct xds_sched *s, int guest, const struct lx_task *t, bool freeze,
		const char *why, struct xds_err *err)
{
	acct_name(s, guest, t);
	if (freeze && s->now_ns < s->released_until[guest] &&
	    s->released_gen[guest] == xds_guest_gen(xds_host_guest(s->host, guest)))
		freeze = false;         /* asked to stop: it keeps its tasks */
	struct xds_held *h = held_find(s, guest, t->addr);
	if (!h && !freeze)
		return 0;
	if (!h && !(h = held_add(s, guest, t, err)))
		return -1;
	if (h->want != freeze || !h->why[0])
		snprintf(h->why, sizeof h->why, "%s", why ? why : "");
	h->want = freeze;
	return 0;
}

int xds_sched_request(struct xds_sched *s, int guest, const struct lx_task *t, bool freeze,
		      struct xds_err *err)
{
	return xds_sched_request_why(s, guest, t, freeze, NULL, err);
}

/* A wish, unless refused: a protected task (unless forced), or a guest
 * whose scheduler family reads only (always); a refusal is said once. */
static int request(struct xds_sched *s, int guest, const struct lx_task *t, bool freeze, const char *why,
		   bool force, struct xds_err *err)
{
	if (guest < 0 || guest >= xds_host_nr_guests(s->host))
		return xds_fail(err, "no guest %d", guest);
	int refused = freeze && !force ? protect_check(s, guest, t, err) : 0;
	if (!refused && freeze)
		refused = protect_family(s, guest, t, err);
	if (refused == 2)
		xds_log(XDS_LOG_WARNING, "%s", err->msg);
	if (refused)
		return 1;
	return wish(s, guest, t, freeze, why, err);
}

int xds_sched_request_why(struct xds_sched *s, int guest, const struct lx_task *t, bool freeze,
			  const char *why, struct xds_err *err)
{
	return request(s, guest, t, freeze, why, false, err);
}

int xds_sched_force(struct xds_sched *s, int guest, const struct lx_task *t, bool freeze,
		    struct xds_err *err)
{
	return request(s, guest, t, freeze, NULL, true, err);
}

static bool needs_work(const struct xds_held *h)
{
	return h->want ? h->hold != XH_FROZEN : true;
}

static void do_freeze(struct xds_sched *s, struct lx_guest *lx, struct xds_held *h)
{
	struct xds_err e;
	const char *name = gname(s, h->guest);
	if (h->hold == XH_NONE)         /* journaled before the pause (journal_batch) */
		h->hold = XH_PENDING;
	enum lx_hold kind = LX_HOLD_DEQUEUED;
	int rc = lx_freeze(lx, h->addr, h->pid, &kind, &e);
	if (rc == LX_OK) {
		h->hold = kind == LX_HOLD_DESCHED ? XH_DESCHED : XH_FROZEN;
		s->stats.freezes += h->hold == XH_FROZEN;
		if (h->hold == XH_FROZEN)
			xds_log(XDS_LOG_INFO, "froze %s/%s[%d]", name, comm_of(h).s, h->pid);
		trace_(s, h, "freeze", h->hold == XH_FROZEN ? "frozen" : "told to leave its CPU", NULL);
	} else if (rc == LX_RETRY) {
		if (kind == LX_HOLD_DESCHED)
			h->hold = XH_DESCHED;
		s->stats.retries++;
		trace_(s, h, "freeze", "retry", e.msg);
	} else if (lx_past_deadline(lx)) {
		s->stats.retries++;     /* the guest's time budget: next tick */
		trace_(s, h, "freeze", "retry", e.msg);
	} else {
		s->stats.refusals++;
		trace_(s, h, "freeze", "refused", e.msg);
		xds_log(XDS_LOG_WARNING, "cannot freeze %s/%s[%d]: %s", name, comm_of(h).s, h->pid, e.msg);
		h->want = false;       /* give the task back to the guest's scheduler */
	}
}

/* Returns true when the entry is done with (thawed, or never held). */
static bool do_thaw(struct xds_sched *s, struct lx_guest *lx, struct xds_held *h)
{
	struct xds_err e;
	if (h->hold == XH_NONE)
		return true;
	int rc = lx_thaw(lx, h->addr, h->pid, h->start, &e);
	if (rc == LX_RETRY || (rc == LX_FAIL && lx_past_deadline(lx))) {
		s->stats.retries++;
		trace_(s, h, "thaw", "retry", e.msg);
		return false;
	}
	if (rc == LX_FAIL) {
		s->stats.refusals++;
		trace_(s, h, "thaw", "refused", e.msg);
		xds_log(XDS_LOG_WARNING, "cannot thaw %s/%s[%d]: %s", gname(s, h->guest), comm_of(h).s, h->pid, e.msg);
		return false;
	}
	if (rc == LX_GONE)              /* its task_struct holds another task now */
		xds_log(XDS_LOG_NOTICE, "%s/%s[%d] is gone (%s); forgetting it", gname(s, h->guest),
			comm_of(h).s, h->pid, e.msg);
	return true;
}

/* "SECONDS s  tick N  freeze DOM/COMM[PID]  # why", seconds of host time
 * since the start. */
static void plan_line(struct xds_sched *s, const struct xds_held *h)
{
	if (!s->opt.plan)
		return;
	fprintf(s->opt.plan, "%10.3f s  tick %llu  %s %s/%s[%d]%s%s\n",
		(double)(s->now_ns - s->start_ns) / 1e9, (unsigned long long)s->stats.ticks,
		h->want ? "freeze" : "thaw", gname(s, h->guest), comm_of(h).s, h->pid,
		h->why[0] ? "  # " : "", utf8_shown(h->why, sizeof h->why).s);
	fflush(s->opt.plan);
}

/* After a committed batch: thawed entries leave the set. */
static void drop_thawed(struct xds_sched *s, const bool *thawed)
{
	for (int i = s->nr_held - 1; i >= 0; i--) {
		if (!thawed[i])
			continue;
		struct xds_held *h = &s->held[i];
		if (h->hold != XH_NONE) {
			s->stats.thaws++;
			xds_log(XDS_LOG_INFO, "thawed %s/%s[%d]", gname(s, h->guest), comm_of(h).s, h->pid);
			trace_(s, h, "thaw", "thawed", NULL);
			journal_put(s, NULL, "thaw %s %#llx %d", gname(s, h->guest),
				    (unsigned long long)h->addr, h->pid);
		}
		held_drop(s, h);
	}
}

/* One batch of guest gi's changes, the guest paused; undone whole if the
 * read-back check fails, the held set then as it was. */
static void apply_batch(struct xds_sched *s, int gi, struct lx_guest *lx,
			enum xds_hold *before, bool *thawed)
{
	uint64_t freezes = s->stats.freezes;
	lx_begin(lx);
	lx_set_deadline(lx, mono_ns() + XDS_GUEST_BUDGET_NS);
	for (int i = 0; i < s->nr_held; i++) {
		struct xds_held *h = &s->held[i];
		before[i] = h->hold;
		if (h->guest != gi || !needs_work(h) || lx_past_deadline(lx))
			continue;       /* past the budget: the rest waits for the next tick */
		if (h->want)
			do_freeze(s, lx, h);
		else
			thawed[i] = do_thaw(s, lx, h);
	}
	if (lx_past_deadline(lx))
		xds_log(XDS_LOG_WARNING, "%s: over its time budget (%llu ms) while paused; the rest of its changes "
			"wait for the next tick", gname(s, gi), (unsigned long long)(XDS_GUEST_BUDGET_NS / 1000000));
	lx_set_deadline(lx, 0);
	struct xds_err e;
	if (lx_commit(lx, &e) == LX_OK) {
		drop_thawed(s, thawed);
		return;
	}
	/* the read-back check failed: the guest is as it was before the batch */
	xds_log(XDS_LOG_WARNING, "%s: %s", gname(s, gi), e.msg);
	tracef_(s, "undo %s: %s", gname(s, gi), e.msg);
	s->stats.undone++;
	s->stats.freezes = freezes;
	for (int i = 0; i < s->nr_held; i++)
		if (s->held[i].guest == gi)
			s->held[i].hold = before[i];
}

/* Before the pause, one sync when the batch freezes: its new freezes, then
 * "pause" (a batch that only thaws needs no sync: what a crash would leave
 * of it is a thaw not made, and the undo records of write(2)'s kind); then
 * the undo area starts anew.  A new freeze the journal cannot take is not
 * tried. */
static void journal_batch(struct xds_sched *s, int gi)
{
	struct xds_err e = {""};
	const char *name = gname(s, gi);
	int rc = 0;
	bool froze = false;
	for (int i = 0; i < s->nr_held && !rc; i++) {
		struct xds_held *h = &s->held[i];
		if (h->guest == gi && h->want && h->hold == XH_NONE) {
			rc = journal_put(s, &e, "freeze %s %#llx %d %llu %s", name, (unsigned long long)h->addr,
					 h->pid, (unsigned long long)h->start, comm_of(h).s);
			froze = true;
		}
	}
	/* the guest's jiffies, which a reboot sets back: what recovery tells a
	 * batch of this boot from memory of the next by (0: not known) */
	uint64_t seq = ++s->batch_seq, jiffies = 0, pa;
	struct lx_guest *lx = xds_guest_lx(xds_host_guest(s->host, gi));
	struct xds_err je;
	if (!lx || lx_jiffies(lx, &jiffies, &pa, &je))
		jiffies = 0;
	if (rc || journal_put(s, &e, "pause %s %llu %llu", name, (unsigned long long)seq,
			      (unsigned long long)jiffies) ||
	    (froze && journal_sync(s, &e)))
		for (int i = 0; i < s->nr_held; i++) {
			struct xds_held *h = &s->held[i];
			if (h->guest != gi || !h->want || h->hold != XH_NONE)
				continue;
			xds_log(XDS_LOG_ERR, "%s; not freezing %s/%s[%d]", e.msg, name, comm_of(h).s, h->pid);
			s->stats.refusals++;
			h->want = false;
		}
	journal_undo_begin(s, name, seq);
}

/* The undo log of a batch: one journal line before each write. */
struct undo_log {
	struct xds_sched *s;
	const char *name;
	bool failed;
};

/* A line that cannot be written is said once and does not stop the write:
 * a thaw must not wait for the journal; only a kill at that very moment
 * would then leave the batch half done. */
static int undo_line(void *ctx, uint64_t va, unsigned len, uint64_t old, uint64_t val)
{
	struct undo_log *u = ctx;
	struct xds_err e;
	if (journal_undo_put(u->s, u->name, va, len, old, val, &e) && !u->failed) {
		u->failed = true;
		xds_log(XDS_LOG_ERR, "%s: %s (a crash now could not be undone)", u->name, e.msg);
	}
	return 0;
}

/* One pause of one guest: every change it needs, as one batch. */
static int apply_guest(struct xds_sched *s, int gi, struct xds_err *err)
{
	struct xds_guest *g = xds_host_guest(s->host, gi);
	struct lx_guest *lx = xds_guest_lx(g);
	if (!lx)
		return xds_fail(err, "no kernel to change");
	size_t n = (size_t)(s->nr_held ? s->nr_held : 1);
	enum xds_hold *before = malloc(n * sizeof *before);
	bool *thawed = calloc(n, sizeof *thawed);
	bool paused_before = false;
	uint64_t t0 = mono_ns();
	int rc = -1;
	if (!before || !thawed)
		xds_fail(err, "out of memory");
	else if (journal_batch(s, gi), !xds_guest_pause(g, &paused_before, err)) {
		struct undo_log ul = { s, xds_guest_name(g), false };
		lx_set_write_log(lx, s->journal_fd >= 0 ? undo_line : NULL, &ul);
		apply_batch(s, gi, lx, before, thawed);
		lx_set_write_log(lx, NULL, NULL);
		journal_put(s, NULL, "end %s", xds_guest_name(g));
		rc = paused_before ? 0 : xds_guest_resume(g, err);
		phase_add(&s->stats.pause, mono_ns() - t0);
		phase_add(&s->stats.guest_pause[gi], mono_ns() - t0);
	}
	journal_put(s, NULL, "resume %s", xds_guest_name(g));   /* the pause is no longer ours */
	free(before);
	free(thawed);
	if (rc)
		return rc;
	/* a CPU that idles waits for an interrupt before it looks at what we
	 * queued there: wake it as an IPI from another CPU would */
	int sent = 0;
	struct xds_err e;
	if (lx_kick(lx, &sent, &e) < 0)
		xds_log(XDS_LOG_WARNING, "%s: %s", xds_guest_name(g), e.msg);
	s->stats.kicks += (uint64_t)sent;
	if (sent)
		tracef_(s, "kick %s: %d idle vCPU%s", xds_guest_name(g), sent, sent == 1 ? "" : "s");
	return 0;
}

/* Dry run: print the changes of the plan, once each; a wish to thaw is
 * then forgotten. */
static void plan_guest(struct xds_sched *s, int gi)
{
	for (int i = 0; i < s->nr_held; i++) {
		struct xds_held *h = &s->held[i];
		if (h->guest != gi || !needs_work(h))
			continue;
		if (h->want != h->planned) {
			plan_line(s, h);
			if (h->want)
				s->stats.planned_freezes++;
			else
				s->stats.planned_thaws++;
		}
		h->planned = h->want;
		if (!h->want) {
			held_drop(s, h);
			i--;
		}
	}
}

static bool has_work(const struct xds_sched *s, int gi)
{
	for (int i = 0; i < s->nr_held; i++)
		if (s->held[i].guest == gi && needs_work(&s->held[i]))
			return true;
	return false;
}

int xds_sched_apply(struct xds_sched *s, struct xds_err *err)
{
	uint64_t t0 = mono_ns();
	int rc = 0;
	for (int gi = 0; gi < xds_host_nr_guests(s->host); gi++) {
		if (!has_work(s, gi))
			continue;
		if (s->opt.dry_run) {
			plan_guest(s, gi);
			continue;
		}
		if (xds_guest_error(xds_host_guest(s->host, gi))[0])
			continue;
		struct xds_err e;
		if (apply_guest(s, gi, &e)) {
			xds_log(XDS_LOG_ERR, "%s: %s", gname(s, gi), e.msg);
			rc = xds_fail(err, "%s: %s", gname(s, gi), e.msg);
		}
	}
	phase_add(&s->stats.apply, mono_ns() - t0);
	return rc;
}

int xds_sched_thaw_all(struct xds_sched *s, struct xds_err *err)
{
	for (int i = 0; i < s->nr_held; i++) {
		s->held[i].want = false;
		snprintf(s->held[i].why, sizeof s->held[i].why, "every task is given back");
	}
	for (int tries = 0; s->nr_held && tries < THAW_ALL_TRIES; tries++) {
		xds_sched_apply(s, NULL);
		if (!s->nr_held)
			break;
		/* locks held or a task mid-switch: let the guest move a little */
		xds_host_wait_until(s->host, xds_host_now(s->host) + THAW_ALL_STEP_NS, NULL);
	}
	if (s->nr_held)
		return xds_fail(err, "%d task(s) could not be thawed; the journal %s keeps them", s->nr_held,
				s->opt.journal ? s->opt.journal : "(none)");
	return 0;
}

int xds_sched_free(struct xds_sched *s, struct xds_err *err)
{
	if (!s)
		return 0;
	int rc = xds_sched_thaw_all(s, err);
	journal_undo_close(s, !rc);
	if (s->journal_fd >= 0) {
		if (!rc && journal_empty(s, err))
			rc = -1;
		close(s->journal_fd);
	}
	held_free(s);
	acct_free(s);
	protect_free(s);
	free(s);
	return rc;
}

/* ---- what the layers above may read and tell ---- */

const struct xds_stats *xds_sched_stats(const struct xds_sched *s)
{
	return &s->stats;
}

void xds_sched_add_policy_ns(struct xds_sched *s, uint64_t ns)
{
	phase_add(&s->stats.policy, ns);
}

void xds_sched_add_tick_ns(struct xds_sched *s, uint64_t ns)
{
	phase_add(&s->stats.tick, ns);
}

void xds_sched_set_tick(struct xds_sched *s, uint64_t tick_ns)
{
	if (tick_ns)
		s->opt.tick_ns = tick_ns;
}

uint64_t xds_sched_now(const struct xds_sched *s)
{
	return s->now_ns;
}

uint64_t xds_sched_elapsed(const struct xds_sched *s)
{
	return s->now_ns > s->start_ns ? s->now_ns - s->start_ns : 0;
}

struct xds_host *xds_sched_host(const struct xds_sched *s)
{
	return s->host;
}
