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

static void phase_add(struct xds_phase *p, uint64_t ns)
{
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

void sched_log(struct xds_sched *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(s->opt.log, "", fmt, ap);
	va_end(ap);
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
	if (o->journal && !o->dry_run) {
		s->journal_fd = journal_open(o->journal, err);
		if (s->journal_fd < 0)
			goto fail;
		struct stat st;
		if (!fstat(s->journal_fd, &st) && st.st_size > 0) {
			/* a run that crashed left tasks frozen: thaw them first */
			sched_log(s, "xds-lua: journal %s lists tasks a previous run left; recovering", o->journal);
			if (recover_journal(h, o->journal, o->log, err)) {
				xds_err_wrap(err, "recovery from %s", o->journal);
				goto fail;
			}
		}
		if (journal_empty(s, err) || journal_guests(s, err))
			goto fail;
	}
	s->start_ns = s->now_ns = xds_host_now(h);
	s->rescanned_ns = mono_ns();
	return s;
fail:
	if (s->journal_fd >= 0)
		close(s->journal_fd);
	free(s);
	return NULL;
}

int xds_sched_advance(struct xds_sched *s, struct xds_err *err)
{
	if (xds_host_wait_until(s->host, s->start_ns + (s->stats.ticks + 1) * s->opt.tick_ns, err))
		return -1;
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
		sched_log(s, "xds-lua: %s", e.msg);
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
			sched_log(s, "xds-lua: %s: %s", xds_guest_name(g), e.msg);
			continue;
		}
		if (!asked)
			continue;
		int n = 0;
		for (int i = 0; i < s->nr_held; i++)
			if (s->held[i].guest == gi && s->held[i].want) {
				s->held[i].want = false;
				n++;
			}
		s->released_until[gi] = s->now_ns + RELEASE_NS;
		sched_log(s, "xds-lua: %s is asked to shut down, reboot or suspend: its tasks are given back "
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
			sched_log(s, "xds-lua: %s/%s[%d]: its domain is gone; forgetting it", name, comm_of(hd).s, hd->pid);
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
			sched_log(s, "xds-lua: %s/%s[%d] is gone; forgetting it", name, comm_of(hd).s, hd->pid);
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

int xds_sched_request(struct xds_sched *s, int guest, const struct lx_task *t, bool freeze,
		      struct xds_err *err)
{
	if (guest < 0 || guest >= xds_host_nr_guests(s->host))
		return xds_fail(err, "no guest %d", guest);
	int refused = freeze ? protect_check(s, guest, t, err) : 0;
	if (refused == 2)
		sched_log(s, "xds-lua: %s", err->msg);
	if (refused)
		return 1;
	return xds_sched_force(s, guest, t, freeze, err);
}

int xds_sched_force(struct xds_sched *s, int guest, const struct lx_task *t, bool freeze,
		    struct xds_err *err)
{
	if (guest < 0 || guest >= xds_host_nr_guests(s->host))
		return xds_fail(err, "no guest %d", guest);
	if (freeze && s->now_ns < s->released_until[guest])
		freeze = false;         /* asked to stop: it keeps its tasks */
	struct xds_held *h = held_find(s, guest, t->addr);
	if (h) {
		h->want = freeze;
		return 0;
	}
	if (!freeze)
		return 0;
	if (!(h = held_add(s, guest, t, err)))
		return -1;
	h->want = true;
	return 0;
}

static bool needs_work(const struct xds_held *h)
{
	return h->want ? h->hold != XH_FROZEN : true;
}

static void do_freeze(struct xds_sched *s, struct lx_guest *lx, struct xds_held *h)
{
	struct xds_err e;
	const char *name = gname(s, h->guest);
	if (h->hold == XH_NONE &&
	    journal_line(s, &e, "freeze %s %#llx %d %s", name, (unsigned long long)h->addr, h->pid, comm_of(h).s)) {
		sched_log(s, "xds-lua: %s; not freezing %s/%s[%d]", e.msg, name, comm_of(h).s, h->pid);
		s->stats.refusals++;
		return;
	}
	if (h->hold == XH_NONE)
		h->hold = XH_PENDING;
	enum lx_hold kind = LX_HOLD_DEQUEUED;
	int rc = lx_freeze(lx, h->addr, h->pid, &kind, &e);
	if (rc == LX_OK) {
		h->hold = kind == LX_HOLD_DESCHED ? XH_DESCHED : XH_FROZEN;
		s->stats.freezes += h->hold == XH_FROZEN;
		trace_(s, h, "freeze", h->hold == XH_FROZEN ? "frozen" : "told to leave its CPU", NULL);
	} else if (rc == LX_RETRY) {
		if (kind == LX_HOLD_DESCHED)
			h->hold = XH_DESCHED;
		s->stats.retries++;
		trace_(s, h, "freeze", "retry", e.msg);
	} else {
		s->stats.refusals++;
		trace_(s, h, "freeze", "refused", e.msg);
		sched_log(s, "xds-lua: cannot freeze %s/%s[%d]: %s", name, comm_of(h).s, h->pid, e.msg);
		h->want = false;       /* give the task back to the guest's scheduler */
	}
}

/* Returns true when the entry is done with (thawed, or never held). */
static bool do_thaw(struct xds_sched *s, struct lx_guest *lx, struct xds_held *h)
{
	struct xds_err e;
	if (h->hold == XH_NONE)
		return true;
	int rc = lx_thaw(lx, h->addr, h->pid, &e);
	if (rc == LX_RETRY) {
		s->stats.retries++;
		trace_(s, h, "thaw", "retry", e.msg);
		return false;
	}
	if (rc == LX_FAIL) {
		s->stats.refusals++;
		trace_(s, h, "thaw", "refused", e.msg);
		sched_log(s, "xds-lua: cannot thaw %s/%s[%d]: %s", gname(s, h->guest), comm_of(h).s, h->pid, e.msg);
		return false;
	}
	if (rc == LX_GONE)              /* its task_struct holds another task now */
		sched_log(s, "xds-lua: %s/%s[%d] is gone (%s); forgetting it", gname(s, h->guest),
			  comm_of(h).s, h->pid, e.msg);
	return true;
}

static void plan_line(struct xds_sched *s, const struct xds_held *h)
{
	sched_log(s, "tick %llu: %s %s/%s[%d]", (unsigned long long)s->stats.ticks,
		  h->want ? "freeze" : "thaw", gname(s, h->guest), comm_of(h).s, h->pid);
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
			trace_(s, h, "thaw", "thawed", NULL);
			journal_line(s, NULL, "thaw %s %#llx %d", gname(s, h->guest),
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
	for (int i = 0; i < s->nr_held; i++) {
		struct xds_held *h = &s->held[i];
		before[i] = h->hold;
		if (h->guest != gi || !needs_work(h))
			continue;
		if (h->want)
			do_freeze(s, lx, h);
		else
			thawed[i] = do_thaw(s, lx, h);
	}
	struct xds_err e;
	if (lx_commit(lx, &e) == LX_OK) {
		drop_thawed(s, thawed);
		return;
	}
	/* the read-back check failed: the guest is as it was before the batch */
	sched_log(s, "xds-lua: %s: %s", gname(s, gi), e.msg);
	tracef_(s, "undo %s: %s", gname(s, gi), e.msg);
	s->stats.undone++;
	s->stats.freezes = freezes;
	for (int i = 0; i < s->nr_held; i++)
		if (s->held[i].guest == gi)
			s->held[i].hold = before[i];
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
	else if (!xds_guest_pause(g, &paused_before, err)) {
		apply_batch(s, gi, lx, before, thawed);
		rc = paused_before ? 0 : xds_guest_resume(g, err);
		phase_add(&s->stats.pause, mono_ns() - t0);
	}
	free(before);
	free(thawed);
	if (rc)
		return rc;
	/* a CPU that idles waits for an interrupt before it looks at what we
	 * queued there: wake it as an IPI from another CPU would */
	int sent = 0;
	struct xds_err e;
	if (lx_kick(lx, &sent, &e) < 0)
		sched_log(s, "xds-lua: %s: %s", xds_guest_name(g), e.msg);
	s->stats.kicks += (uint64_t)sent;
	if (sent)
		tracef_(s, "kick %s: %d idle vCPU%s", xds_guest_name(g), sent, sent == 1 ? "" : "s");
	return 0;
}

/* Dry run: print the plan; a wish to thaw is simply forgotten. */
static void plan_guest(struct xds_sched *s, int gi)
{
	for (int i = 0; i < s->nr_held; i++) {
		struct xds_held *h = &s->held[i];
		if (h->guest != gi || !needs_work(h))
			continue;
		plan_line(s, h);
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
			sched_log(s, "xds-lua: %s: %s", gname(s, gi), e.msg);
			rc = xds_fail(err, "%s: %s", gname(s, gi), e.msg);
		}
	}
	phase_add(&s->stats.apply, mono_ns() - t0);
	return rc;
}

int xds_sched_thaw_all(struct xds_sched *s, struct xds_err *err)
{
	for (int i = 0; i < s->nr_held; i++)
		s->held[i].want = false;
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
