/*
 * sched.c - the tick loop's machinery (see sched.h).
 *
 * The held set is the scheduler's memory of what it did: one entry per
 * task it froze or is about to, with the policy's latest wish.  apply()
 * walks it guest by guest: a guest with nothing to change is not touched;
 * one with changes is paused once, every change is tried (freeze: journal
 * first, then lx_freeze; thaw: lx_thaw, then journal), and it is resumed
 * (unless someone else had paused it).  What the guest refuses now (a lock
 * held, kernel mode, asleep) is retried on the next tick.
 *
 * The journal is a text file, one line per event, synced before the
 * change it announces: "guest NAME SPEC", "freeze NAME ADDR PID COMM",
 * "thaw NAME ADDR PID" (COMM shown by util/utf8.h: never a newline).  A
 * clean end empties it; whatever a crash leaves is thawed by
 * xds_sched_recover.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sched/sched.h"
#include "util/utf8.h"

#define THAW_ALL_TRIES 200
/* A guest asked to shut down or suspend gets its tasks back for this long:
 * its freezer (suspend: save, migration) and its shutdown (SIGKILL to
 * every task) need every task able to run; 20 s is the freezer's limit. */
#define RELEASE_NS (30ULL * 1000000000ULL)

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

static void logf_(struct xds_sched *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct xds_sched *s, const char *fmt, ...)
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

/* A held task's comm as a log, trace or journal line shows it. */
static struct utf8_shown comm_of(const struct xds_held *h)
{
	return utf8_shown(h->comm, sizeof h->comm);
}

/* "OP DOM/COMM[PID] OUTCOME[: WHY]" */
static void trace_(struct xds_sched *s, const struct xds_guest *g, const struct xds_held *h,
		   const char *op, const char *outcome, const char *why)
{
	tracef_(s, "%s %s/%s[%d] %s%s%s", op, g->name, comm_of(h).s, h->pid, outcome, why ? ": " : "",
		why ? why : "");
}

static uint64_t host_now(struct xds_sched *s)
{
	return s->host->sim_qmp && !s->host->sim_realtime ? s->host->sim_time_ns : mono_ns();
}

/* ---- journal ---- */

static int journal_line(struct xds_sched *s, struct xds_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int journal_line(struct xds_sched *s, struct xds_err *err, const char *fmt, ...)
{
	if (s->journal_fd < 0)
		return 0;
	char line[1400];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof line - 1)
		return xds_fail(err, "journal: line too long");
	line[n++] = '\n';
	if (write(s->journal_fd, line, (size_t)n) != n || fdatasync(s->journal_fd))
		return xds_fail(err, "journal %s: %s", s->opt.journal, strerror(errno));
	return 0;
}

static int mkdirs_for(const char *path)
{
	char dir[1024];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = 0;
	for (char *p = dir + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(dir, 0700);
			*p = '/';
		}
	return mkdir(dir, 0700) && errno != EEXIST ? -1 : 0;
}

/* The journal is ours alone while we run: a second xds-lua on the same
 * journal would overwrite the record of what the first holds. */
static int open_journal(const char *path, struct xds_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return xds_fail(err, "journal %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return xds_fail(err, "journal %s is in use by another xds-lua; give this one its own "
					"(--journal PATH) or stop the other", path);
		return xds_fail(err, "journal %s: lock: %s", path, strerror(e));
	}
	return fd;
}

static int recover(struct xds_host *attached, const char *path, FILE *log, struct xds_err *err);

/* ---- the held set and accounting ---- */

/* The held set and the accounting are found through open-addressing
 * indexes on a task's (guest, address, pid); this mixes the three. */
static uint64_t task_hash(int guest, uint64_t addr, int pid)
{
	uint64_t h = addr ^ ((uint64_t)guest << 56) ^ ((uint64_t)(unsigned)pid << 20);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

/* The held set's index (keyed without pid) is rebuilt after the set changes. */

static void held_reindex(struct xds_sched *s)
{
	size_t cap = 64;
	while (cap < 2 * (size_t)s->nr_held)
		cap *= 2;
	if (cap != s->held_idx_cap) {
		free(s->held_idx);
		s->held_idx = malloc(cap * sizeof *s->held_idx);
		s->held_idx_cap = s->held_idx ? cap : 0;
	}
	for (size_t i = 0; i < s->held_idx_cap; i++)
		s->held_idx[i] = -1;
	for (int i = 0; i < s->nr_held && s->held_idx; i++) {
		size_t k = task_hash(s->held[i].guest, s->held[i].addr, 0) & (cap - 1);
		while (s->held_idx[k] >= 0)
			k = (k + 1) & (cap - 1);
		s->held_idx[k] = i;
	}
	s->held_dirty = false;
}

static struct xds_held *find_held(struct xds_sched *s, int guest, uint64_t addr)
{
	if (s->held_dirty || !s->held_idx)
		held_reindex(s);
	if (!s->held_idx) {                     /* no memory for the index: scan */
		for (int i = 0; i < s->nr_held; i++)
			if (s->held[i].guest == guest && s->held[i].addr == addr)
				return &s->held[i];
		return NULL;
	}
	size_t mask = s->held_idx_cap - 1;
	for (size_t k = task_hash(guest, addr, 0) & mask; s->held_idx[k] >= 0; k = (k + 1) & mask) {
		struct xds_held *h = &s->held[s->held_idx[k]];
		if (h->guest == guest && h->addr == addr)
			return h;
	}
	return NULL;
}

const struct xds_held *xds_sched_held(const struct xds_sched *s, int guest, uint64_t addr)
{
	return find_held((struct xds_sched *)s, guest, addr);
}

bool xds_sched_is_frozen(const struct xds_sched *s, int guest, uint64_t addr)
{
	const struct xds_held *h = xds_sched_held(s, guest, addr);
	return h && (h->want || h->hold == XH_FROZEN);
}

static void drop_held(struct xds_sched *s, struct xds_held *h)
{
	*h = s->held[--s->nr_held];
	s->held_dirty = true;
}

/* The accounting's index is rebuilt when it fills. */

static int acct_reindex(struct xds_sched *s)
{
	size_t cap = 1024;
	while (cap < 2 * (size_t)s->cap_acct)
		cap *= 2;
	int *idx = malloc(cap * sizeof *idx);
	if (!idx)
		return -1;
	for (size_t i = 0; i < cap; i++)
		idx[i] = -1;
	for (int i = 0; i < s->nr_acct; i++) {
		struct xds_acct *a = &s->acct[i];
		size_t k = task_hash(a->guest, a->addr, a->pid) & (cap - 1);
		while (idx[k] >= 0)
			k = (k + 1) & (cap - 1);
		idx[k] = i;
	}
	free(s->acct_idx);
	s->acct_idx = idx;
	s->acct_idx_cap = cap;
	return 0;
}

static struct xds_acct *acct_of(struct xds_sched *s, int guest, const struct lx_task *t)
{
	size_t mask = s->acct_idx_cap - 1, k = task_hash(guest, t->addr, t->pid) & mask;
	for (; s->acct_idx && s->acct_idx[k] >= 0; k = (k + 1) & mask) {
		struct xds_acct *a = &s->acct[s->acct_idx[k]];
		if (a->guest == guest && a->addr == t->addr && a->pid == t->pid)
			return a;
	}
	if (s->nr_acct == s->cap_acct) {
		int cap = s->cap_acct ? 2 * s->cap_acct : 256;
		struct xds_acct *n = realloc(s->acct, (size_t)cap * sizeof *n);
		if (!n)
			return NULL;
		s->acct = n;
		s->cap_acct = cap;
		if (acct_reindex(s))
			return NULL;
		mask = s->acct_idx_cap - 1;
		for (k = task_hash(guest, t->addr, t->pid) & mask; s->acct_idx[k] >= 0; k = (k + 1) & mask)
			;
	}
	s->acct_idx[k] = s->nr_acct;
	struct xds_acct *a = &s->acct[s->nr_acct++];
	memset(a, 0, sizeof *a);
	a->guest = guest;
	snprintf(a->dom, sizeof a->dom, "%s", s->host->guests[guest].name);
	a->addr = t->addr;
	a->pid = t->pid;
	a->tgid = t->tgid;
	memcpy(a->comm, t->comm, sizeof a->comm);
	a->cpu_first = t->cputime_ns;
	return a;
}

static void account(struct xds_sched *s, uint64_t dt)
{
	for (int i = 0; i < s->nr_acct; i++)
		s->acct[i].alive = false;
	for (int gi = 0; gi < s->host->nr_guests; gi++) {
		struct lx_snapshot *snap = &s->host->guests[gi].snap;
		for (int k = 0; k < snap->nr_tasks; k++) {
			const struct lx_task *t = &snap->tasks[k];
			struct xds_acct *a = acct_of(s, gi, t);
			if (!a)
				continue;
			a->alive = true;
			a->cpu_last = t->cputime_ns;
			a->seen_ns += dt;
			const struct xds_held *h = xds_sched_held(s, gi, t->addr);
			if (h && h->hold == XH_FROZEN)
				a->frozen_ns += dt;
			else if (t->queued && !t->running)
				a->wait_ns += dt;
		}
	}
}

/* ---- the tick ---- */

int xds_sched_init(struct xds_sched *s, struct xds_host *h, const struct xds_sched_opts *o,
		   struct xds_err *err)
{
	memset(s, 0, sizeof *s);
	s->host = h;
	s->opt = *o;
	if (!s->opt.tick_ns)
		s->opt.tick_ns = 10000000ULL;
	s->journal_fd = -1;
	if (o->journal && !o->dry_run) {
		if (mkdirs_for(o->journal))
			return xds_fail(err, "journal %s: cannot create its folder: %s", o->journal, strerror(errno));
		s->journal_fd = open_journal(o->journal, err);
		if (s->journal_fd < 0)
			return -1;
		struct stat st;
		if (!fstat(s->journal_fd, &st) && st.st_size > 0) {
			/* a run that crashed left tasks frozen: thaw them first */
			logf_(s, "xds-lua: journal %s lists tasks a previous run left; recovering", o->journal);
			if (recover(h, o->journal, o->log, err))
				return xds_err_wrap(err, "recovery from %s", o->journal);
		}
		if (ftruncate(s->journal_fd, 0))
			return xds_fail(err, "journal %s: %s", o->journal, strerror(errno));
		for (int i = 0; i < h->nr_guests; i++)
			if (journal_line(s, err, "guest %s %s", h->guests[i].name,
					 h->guests[i].spec[0] ? h->guests[i].spec : "sim"))
				return -1;
	}
	s->start_ns = s->now_ns = host_now(s);
	return 0;
}

int xds_sched_advance(struct xds_sched *s, struct xds_err *err)
{
	struct xds_host *h = s->host;
	if (h->sim_qmp && !h->sim_realtime) {
		if (xds_host_sim_step(h, s->opt.tick_ns, err))
			return -1;
	} else {
		uint64_t next = s->start_ns + (s->stats.ticks + 1) * s->opt.tick_ns;
		struct timespec ts = { (time_t)(next / 1000000000ULL), (long)(next % 1000000000ULL) };
		if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			return xds_fail(err, "interrupted");    /* a signal: the caller decides */
	}
	s->stats.ticks++;
	return 0;
}

/* Xen domains come and go: look for them about once a second. */
static void rescan(struct xds_sched *s)
{
	struct xds_host *h = s->host;
	uint64_t now = mono_ns();
	if (!h->xen || now - h->xen_scanned_ns < 1000000000ULL)
		return;
	h->xen_scanned_ns = now;
	struct xds_err e;
	int changed = 0;
	if (xds_host_xen_rescan(h, h->xen_profile_dir[0] ? h->xen_profile_dir : NULL, &changed, &e) < 0)
		logf_(s, "xds-lua: xen: %s", e.msg);
	for (int i = 0; changed && s->journal_fd >= 0 && i < h->nr_guests; i++)
		if (!h->guests[i].gone)
			journal_line(s, NULL, "guest %s %s", h->guests[i].name,
				     h->guests[i].spec[0] ? h->guests[i].spec : "xen");
}

/* Guests asked to shut down, reboot or suspend get their tasks back. */
static void release_stopping(struct xds_sched *s)
{
	for (int gi = 0; gi < s->host->nr_guests; gi++) {
		struct xds_guest *g = &s->host->guests[gi];
		struct xds_err e;
		if (g->gone || !g->be)
			continue;
		int asked = be_stop_asked(g->be, g->dom, &e);
		if (asked < 0) {
			logf_(s, "xds-lua: %s: %s", g->name, e.msg);
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
		g->released_until_ns = s->now_ns + RELEASE_NS;
		logf_(s, "xds-lua: %s is asked to shut down, reboot or suspend: its tasks are given back "
		      "(%d held) and none is frozen for %llu s", g->name, n,
		      (unsigned long long)(RELEASE_NS / 1000000000ULL));
		tracef_(s, "release %s: asked to stop; %d held given back", g->name, n);
	}
}

int xds_sched_snapshot(struct xds_sched *s, struct xds_err *err)
{
	rescan(s);
	release_stopping(s);
	uint64_t t0 = mono_ns();
	int rc = xds_host_snapshot(s->host, err);
	phase_add(&s->stats.snapshot, mono_ns() - t0);
	uint64_t now = host_now(s), dt = now - s->now_ns;
	s->now_ns = now;
	/* held tasks that are gone (exited, or their guest is) are forgotten */
	for (int i = 0; i < s->nr_held; i++) {
		struct xds_held *hd = &s->held[i];
		struct xds_guest *g = &s->host->guests[hd->guest];
		if (g->gone || g->gen != hd->gen) {
			logf_(s, "xds-lua: %s/%s[%d]: its domain is gone; forgetting it", g->name, comm_of(hd).s, hd->pid);
			journal_line(s, NULL, "gone %s %#llx %d", g->name, (unsigned long long)hd->addr, hd->pid);
			drop_held(s, hd);
			i--;
			continue;
		}
		if (g->error[0])
			continue;          /* cannot tell this tick */
		bool found = false;
		for (int k = 0; k < g->snap.nr_tasks && !found; k++)
			found = g->snap.tasks[k].addr == hd->addr && g->snap.tasks[k].pid == hd->pid;
		if (!found) {
			logf_(s, "xds-lua: %s/%s[%d] is gone; forgetting it", g->name, comm_of(hd).s, hd->pid);
			journal_line(s, NULL, "thaw %s %#llx %d", g->name, (unsigned long long)hd->addr, hd->pid);
			drop_held(s, hd);
			i--;
		}
	}
	account(s, dt);
	return rc;
}

int xds_sched_request(struct xds_sched *s, int guest, const struct lx_task *t, bool freeze,
		      struct xds_err *err)
{
	if (guest < 0 || guest >= s->host->nr_guests)
		return xds_fail(err, "no guest %d", guest);
	if (freeze && s->now_ns < s->host->guests[guest].released_until_ns)
		freeze = false;         /* asked to stop: it keeps its tasks */
	struct xds_held *h = find_held(s, guest, t->addr);
	if (h) {
		h->want = freeze;
		return 0;
	}
	if (!freeze)
		return 0;
	if (s->nr_held == s->cap_held) {
		int cap = s->cap_held ? 2 * s->cap_held : 64;
		struct xds_held *n = realloc(s->held, (size_t)cap * sizeof *n);
		if (!n)
			return xds_fail(err, "out of memory");
		s->held = n;
		s->cap_held = cap;
	}
	h = &s->held[s->nr_held++];
	s->held_dirty = true;
	memset(h, 0, sizeof *h);
	h->guest = guest;
	h->gen = s->host->guests[guest].gen;
	h->addr = t->addr;
	h->pid = t->pid;
	memcpy(h->comm, t->comm, sizeof h->comm);
	h->want = true;
	h->hold = XH_NONE;
	return 0;
}

static bool needs_work(const struct xds_held *h)
{
	return h->want ? h->hold != XH_FROZEN : true;
}

static void do_freeze(struct xds_sched *s, struct xds_guest *g, struct xds_held *h)
{
	struct xds_err e;
	if (h->hold == XH_NONE &&
	    journal_line(s, &e, "freeze %s %#llx %d %s", g->name, (unsigned long long)h->addr, h->pid, comm_of(h).s)) {
		logf_(s, "xds-lua: %s; not freezing %s/%s[%d]", e.msg, g->name, comm_of(h).s, h->pid);
		s->stats.refusals++;
		return;
	}
	if (h->hold == XH_NONE)
		h->hold = XH_PENDING;
	enum lx_hold kind = LX_HOLD_DEQUEUED;
	int rc = lx_freeze(g->lx, h->addr, h->pid, &kind, &e);
	if (rc == LX_OK) {
		h->hold = kind == LX_HOLD_DESCHED ? XH_DESCHED : XH_FROZEN;
		s->stats.freezes += h->hold == XH_FROZEN;
		trace_(s, g, h, "freeze", h->hold == XH_FROZEN ? "frozen" : "told to leave its CPU", NULL);
	} else if (rc == LX_RETRY) {
		if (kind == LX_HOLD_DESCHED)
			h->hold = XH_DESCHED;
		s->stats.retries++;
		trace_(s, g, h, "freeze", "retry", e.msg);
	} else {
		s->stats.refusals++;
		trace_(s, g, h, "freeze", "refused", e.msg);
		logf_(s, "xds-lua: cannot freeze %s/%s[%d]: %s", g->name, comm_of(h).s, h->pid, e.msg);
		h->want = false;       /* give the task back to the guest's scheduler */
	}
}

/* Returns true when the entry is done with (thawed, or never held). */
static bool do_thaw(struct xds_sched *s, struct xds_guest *g, struct xds_held *h)
{
	struct xds_err e;
	if (h->hold == XH_NONE)
		return true;
	int rc = lx_thaw(g->lx, h->addr, h->pid, &e);
	if (rc == LX_RETRY) {
		s->stats.retries++;
		trace_(s, g, h, "thaw", "retry", e.msg);
		return false;
	}
	if (rc == LX_FAIL) {
		s->stats.refusals++;
		trace_(s, g, h, "thaw", "refused", e.msg);
		logf_(s, "xds-lua: cannot thaw %s/%s[%d]: %s", g->name, comm_of(h).s, h->pid, e.msg);
		return false;
	}
	return true;
}

static void plan_line(struct xds_sched *s, struct xds_guest *g, const struct xds_held *h)
{
	logf_(s, "tick %llu: %s %s/%s[%d]", (unsigned long long)s->stats.ticks, h->want ? "freeze" : "thaw",
	      g->name, comm_of(h).s, h->pid);
}

/* One pause of one guest: every change it needs, as one batch. */
static int apply_guest(struct xds_sched *s, int gi, struct xds_err *err)
{
	struct xds_guest *g = &s->host->guests[gi];
	int paused_before = 0;
	if (be_status(g->be, g->dom, &paused_before, err))
		return -1;
	uint64_t t0 = mono_ns();
	if (!paused_before && be_pause(g->be, g->dom, err))
		return -1;
	enum xds_hold *before = malloc((size_t)(s->nr_held ? s->nr_held : 1) * sizeof *before);
	bool *thawed = calloc((size_t)(s->nr_held ? s->nr_held : 1), sizeof *thawed);
	if (!before || !thawed) {
		free(before);
		free(thawed);
		if (!paused_before)
			be_resume(g->be, g->dom, NULL);
		return xds_fail(err, "out of memory");
	}
	uint64_t freezes = s->stats.freezes;
	lx_begin(g->lx);
	for (int i = 0; i < s->nr_held; i++) {
		struct xds_held *h = &s->held[i];
		before[i] = h->hold;
		if (h->guest != gi || !needs_work(h))
			continue;
		if (h->want)
			do_freeze(s, g, h);
		else
			thawed[i] = do_thaw(s, g, h);
	}
	struct xds_err e;
	if (lx_commit(g->lx, &e) != LX_OK) {
		/* the read-back check failed: the guest is as it was before the batch */
		logf_(s, "xds-lua: %s: %s", g->name, e.msg);
		tracef_(s, "undo %s: %s", g->name, e.msg);
		s->stats.undone++;
		s->stats.freezes = freezes;
		for (int i = 0; i < s->nr_held; i++)
			if (s->held[i].guest == gi)
				s->held[i].hold = before[i];
	} else {
		for (int i = s->nr_held - 1; i >= 0; i--)
			if (thawed[i]) {
				struct xds_held *h = &s->held[i];
				if (h->hold != XH_NONE) {
					s->stats.thaws++;
					trace_(s, g, h, "thaw", "thawed", NULL);
					journal_line(s, NULL, "thaw %s %#llx %d", g->name, (unsigned long long)h->addr,
						     h->pid);
				}
				drop_held(s, h);
			}
	}
	free(before);
	free(thawed);
	int rc = 0;
	if (!paused_before)
		rc = be_resume(g->be, g->dom, err);
	phase_add(&s->stats.pause, mono_ns() - t0);
	/* a CPU that idles waits for an interrupt before it looks at what we
	 * queued there: wake it as an IPI from another CPU would */
	int sent = 0;
	if (lx_kick(g->lx, &sent, &e) < 0)
		logf_(s, "xds-lua: %s: %s", g->name, e.msg);
	s->stats.kicks += (uint64_t)sent;
	if (sent)
		tracef_(s, "kick %s: %d idle vCPU%s", g->name, sent, sent == 1 ? "" : "s");
	return rc;
}

int xds_sched_apply(struct xds_sched *s, struct xds_err *err)
{
	uint64_t t0 = mono_ns();
	int rc = 0;
	for (int gi = 0; gi < s->host->nr_guests; gi++) {
		bool work = false;
		for (int i = 0; i < s->nr_held; i++) {
			struct xds_held *h = &s->held[i];
			if (h->guest != gi || !needs_work(h))
				continue;
			work = true;
			if (s->opt.dry_run)
				plan_line(s, &s->host->guests[gi], h);
		}
		if (!work || s->host->guests[gi].error[0])
			continue;
		if (s->opt.dry_run) {
			/* nothing is written: a wish to thaw is simply forgotten */
			for (int i = 0; i < s->nr_held; i++)
				if (s->held[i].guest == gi && !s->held[i].want) {
					drop_held(s, &s->held[i]);
					i--;
				}
			continue;
		}
		struct xds_err e;
		if (apply_guest(s, gi, &e)) {
			logf_(s, "xds-lua: %s: %s", s->host->guests[gi].name, e.msg);
			rc = xds_fail(err, "%s: %s", s->host->guests[gi].name, e.msg);
		}
	}
	uint64_t dt = mono_ns() - t0;
	phase_add(&s->stats.apply, dt);
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
		if (s->host->sim_qmp && !s->host->sim_realtime)
			xds_host_sim_step(s->host, 1000000, NULL);
		else
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	if (s->nr_held)
		return xds_fail(err, "%d task(s) could not be thawed; the journal %s keeps them", s->nr_held,
				s->opt.journal ? s->opt.journal : "(none)");
	return 0;
}

int xds_sched_fini(struct xds_sched *s, struct xds_err *err)
{
	int rc = xds_sched_thaw_all(s, err);
	if (s->journal_fd >= 0) {
		if (!rc && ftruncate(s->journal_fd, 0))
			rc = xds_fail(err, "journal %s: %s", s->opt.journal, strerror(errno));
		close(s->journal_fd);
		s->journal_fd = -1;
	}
	free(s->held);
	free(s->held_idx);
	free(s->acct);
	free(s->acct_idx);
	s->held = NULL;
	s->held_idx = NULL;
	s->held_idx_cap = 0;
	s->acct = NULL;
	s->acct_idx = NULL;
	s->nr_held = s->nr_acct = 0;
	return rc;
}

/* ---- recovery ---- */

struct jentry {
	char guest[64];
	uint64_t addr;
	int pid;
	bool frozen;
};

struct journal {
	char names[XDS_MAX_GUESTS][64], specs[XDS_MAX_GUESTS][1024];
	int nr_guests;
	struct jentry *e;
	int n;
};

static int read_journal(const char *path, struct journal *j, struct xds_err *err)
{
	memset(j, 0, sizeof *j);
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : xds_fail(err, "%s: %s", path, strerror(errno));
	char line[1400];
	for (int lineno = 1; fgets(line, sizeof line, f); lineno++) {
		line[strcspn(line, "\n")] = 0;
		char name[64];
		unsigned long long addr;
		int pid, off = 0;
		if (sscanf(line, "guest %63s %n", name, &off) == 1 && off && j->nr_guests < XDS_MAX_GUESTS) {
			snprintf(j->names[j->nr_guests], 64, "%s", name);
			snprintf(j->specs[j->nr_guests++], 1024, "%s", line + off);
		} else if (sscanf(line, "freeze %63s %llx %d", name, &addr, &pid) == 3 ||
			   sscanf(line, "thaw %63s %llx %d", name, &addr, &pid) == 3 ||
			   sscanf(line, "gone %63s %llx %d", name, &addr, &pid) == 3) {
			bool frz = line[0] == 'f';
			struct jentry *e = NULL;
			for (int i = 0; i < j->n && !e; i++)
				if (!strcmp(j->e[i].guest, name) && j->e[i].addr == addr && j->e[i].pid == pid)
					e = &j->e[i];
			if (!e) {
				j->e = realloc(j->e, (size_t)(j->n + 1) * sizeof *j->e);
				e = &j->e[j->n++];
				snprintf(e->guest, sizeof e->guest, "%s", name);
				e->addr = addr;
				e->pid = pid;
			}
			e->frozen = frz;
		} else if (line[0]) {
			fclose(f);
			free(j->e);
			return xds_fail(err, "%s:%d: not a journal line: %.60s", path, lineno, line);
		}
	}
	fclose(f);
	return 0;
}

/* Thaw the journal's tasks of guest g (attached in h), paused. */
static int thaw_listed(struct xds_guest *g, struct journal *j, FILE *log, int *left)
{
	struct xds_err e;
	int paused = 0;
	if (be_status(g->be, g->dom, &paused, &e) || (!paused && be_pause(g->be, g->dom, &e))) {
		if (log)
			fprintf(log, "xds-lua: recover: %s: %s\n", g->name, e.msg);
		return -1;
	}
	for (int i = 0; i < j->n; i++) {
		struct jentry *je = &j->e[i];
		if (!je->frozen || strcmp(je->guest, g->name))
			continue;
		int rc = LX_RETRY;
		for (int tries = 0; tries < 50 && rc == LX_RETRY; tries++) {
			rc = lx_thaw(g->lx, je->addr, je->pid, &e);
			if (rc == LX_RETRY) {          /* a lock held: let the guest run a moment */
				be_resume(g->be, g->dom, NULL);
				nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
				be_pause(g->be, g->dom, NULL);
			}
		}
		if (rc == LX_OK) {
			je->frozen = false;
			if (log)
				fprintf(log, "xds-lua: recover: thawed %s pid %d\n", g->name, je->pid);
		} else {
			(*left)++;
			if (log)
				fprintf(log, "xds-lua: recover: %s pid %d: %s\n", g->name, je->pid, e.msg);
		}
	}
	if (!paused)
		be_resume(g->be, g->dom, NULL);
	int sent;
	if (lx_kick(g->lx, &sent, &e) < 0 && log)
		fprintf(log, "xds-lua: recover: %s: %s\n", g->name, e.msg);
	return 0;
}

/* How many of the journal's tasks of guest name are still held. */
static int nr_listed(const struct journal *j, const char *name)
{
	int n = 0;
	for (int i = 0; i < j->n; i++)
		n += j->e[i].frozen && !strcmp(j->e[i].guest, name);
	return n;
}

/* Guest gi of the journal attached to the empty host tmp, or NULL with e:
 * a Xen domU found again by name, a QEMU guest by its --qemu spec. */
static struct xds_guest *attach_listed(struct xds_host *tmp, const struct journal *j, int gi,
				       struct xds_err *e)
{
	if (strcmp(j->specs[gi], "xen"))
		return xds_host_add_qemu(tmp, j->specs[gi], NULL, e) ? NULL : &tmp->guests[0];
	if (xds_host_attach_xen(tmp, NULL, e) < 0)
		return NULL;
	struct xds_guest *g = xds_host_guest(tmp, j->names[gi]);
	if (!g)
		xds_fail(e, "not found on this Xen host");
	return g;
}

static int recover(struct xds_host *attached, const char *path, FILE *log, struct xds_err *err)
{
	struct journal *j = malloc(sizeof *j);
	if (!j)
		return xds_fail(err, "out of memory");
	if (read_journal(path, j, err)) {
		free(j);
		return -1;
	}
	int left = 0;
	for (int gi = 0; gi < j->nr_guests; gi++) {
		int listed = nr_listed(j, j->names[gi]);
		if (!listed)
			continue;
		/* a private simulated guest died with the run that started it; a
		 * guest of the same name now is another one */
		if (!strcmp(j->specs[gi], "sim")) {
			if (log)
				fprintf(log, "xds-lua: recover: %s was a private simulated guest; it is gone\n",
					j->names[gi]);
			continue;
		}
		struct xds_guest *g = attached ? xds_host_guest(attached, j->names[gi]) : NULL;
		if (g) {
			thaw_listed(g, j, log, &left);
			continue;
		}
		struct xds_host *tmp = malloc(sizeof *tmp);
		struct xds_err e;
		if (!tmp) {
			left += listed;
			continue;
		}
		xds_host_init(tmp);
		if ((g = attach_listed(tmp, j, gi, &e))) {
			thaw_listed(g, j, log, &left);
		} else {
			/* a Xen domain that is gone took its tasks with it */
			if (strcmp(j->specs[gi], "xen"))
				left += listed;
			if (log)
				fprintf(log, "xds-lua: recover: cannot attach %s: %s\n", j->names[gi], e.msg);
		}
		xds_host_close(tmp);
		free(tmp);
	}
	free(j->e);
	free(j);
	if (left)
		return xds_fail(err, "%d task(s) in %s could not be thawed", left, path);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return 0;
}

int xds_sched_recover(const char *journal, FILE *log, struct xds_err *err)
{
	if (access(journal, F_OK))
		return 0;                       /* no journal: nothing left frozen */
	int fd = open_journal(journal, err);
	if (fd < 0)
		return -1;
	int rc = recover(NULL, journal, log, err);
	close(fd);
	return rc;
}
