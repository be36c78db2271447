/*
 * timeline.c - --timeline FILE.json: what the scheduler saw and did, as a
 * Chrome/Perfetto trace (the Trace Event Format: {"traceEvents": [...]}),
 * for ui.perfetto.dev, chrome://tracing and `xds-lua plot`.
 *
 * One process per guest (pid = slot + 1, named by "M" events), one thread
 * per task (tid = a number of our own, named "comm[pid]").  Each task's
 * track is a row of "X" spans named running, queued, frozen or asleep, in
 * microseconds of host time since the scheduler started.  A span covers
 * the interval before the snapshot that showed it, the way the
 * scheduler's accounting charges it (runtime/sched/acct.c: frozen if held
 * frozen when the snapshot was taken, else queued-but-not-running, ...),
 * so the spans add up to the report's figures.  "i" instants mark freezes
 * and thaws (on the task's track) and policy reloads and errors (pid 0,
 * the xds-lua process); "C" counters give each guest's tasks' CPU shares.
 * Events are written as they end, so memory stays bounded by the number
 * of tracks (MAX_TRACKS) whatever the length of the run.  Encoding is
 * jansson's; the figures come from the scheduler and the host.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/observe.h"
#include "host/host.h"
#include "lua/run.h"
#include "sched/sched.h"
#include "util/json.h"
#include "util/log.h"

/* Tasks get a track up to this many; a guest that forks without end must
 * not grow the timeline without end (later tasks are left out, and said). */
#define MAX_TRACKS 4096
#define HASH_SLOTS (4 * MAX_TRACKS)
/* The CPU share counters: one sample per guest this often (host time). */
#define SHARE_EVERY_NS 100000000ull

enum tstate { TS_NONE, TS_RUNNING, TS_QUEUED, TS_FROZEN, TS_ASLEEP };
static const char *const state_name[] = { "none", "running", "queued", "frozen", "asleep" };

struct track {
	int guest, pid, tid;
	uint32_t gen;
	uint64_t addr;
	enum tstate state;
	uint64_t since;                 /* start of the open span */
	bool frozen_next;               /* held frozen after this tick's apply */
	uint64_t seen;                  /* the last tick that showed it */
	uint64_t cpu_mark;              /* se.sum_exec_runtime at the last share sample */
	uint64_t cpu_now;
};

struct cli_timeline {
	FILE *f;
	char *path;
	bool first;                     /* no event written yet */
	struct track *tr;
	int nr;
	int slot[HASH_SLOTS];           /* track numbers, -1 empty */
	bool full_said, named[XDS_MAX_GUESTS];
	uint64_t tick, last_now, share_mark;
	uint64_t reloads, errors;       /* the driver's counts at the last tick */
};

static void emit(struct cli_timeline *t, json_t *ev)
{
	char *s = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	if (s) {
		fputs(t->first ? "\n" : ",\n", t->f);
		fputs(s, t->f);
		t->first = false;
	}
	free(s);
	json_decref(ev);
}

static json_int_t us(uint64_t ns)
{
	return (json_int_t)(ns / 1000);
}

static void meta(struct cli_timeline *t, const char *what, int pid, int tid, json_t *name)
{
	emit(t, json_pack("{s:s,s:s,s:I,s:i,s:i,s:{s:o}}", "name", what, "ph", "M", "ts", (json_int_t)0,
			  "pid", pid, "tid", tid, "args", "name", name));
}

static void instant(struct cli_timeline *t, const char *name, int pid, int tid, uint64_t ns,
		    const char *scope)
{
	emit(t, json_pack("{s:s,s:s,s:s,s:I,s:i,s:i,s:s}", "name", name, "cat", "xds", "ph", "i",
			  "ts", us(ns), "pid", pid, "tid", tid, "s", scope));
}

static void close_span(struct cli_timeline *t, struct track *k, uint64_t end)
{
	if (k->state != TS_NONE && end > k->since && us(end) > us(k->since))
		emit(t, json_pack("{s:s,s:s,s:s,s:I,s:I,s:i,s:i}", "name", state_name[k->state],
				  "cat", "state", "ph", "X", "ts", us(k->since),
				  "dur", us(end) - us(k->since), "pid", k->guest + 1, "tid", k->tid));
	k->since = end;
}

static unsigned hash(int guest, uint64_t addr, int pid)
{
	uint64_t h = (addr ^ ((uint64_t)guest << 56) ^ (uint64_t)pid * 0x9E3779B97F4A7C15ull) * 0xff51afd7ed558ccdull;
	return (unsigned)(h >> 32) % HASH_SLOTS;
}

static struct track *track_of(struct cli_timeline *t, int gi, struct xds_guest *g,
			      const struct lx_task *task)
{
	unsigned i = hash(gi, task->addr, task->pid);
	for (; t->slot[i] >= 0; i = (i + 1) % HASH_SLOTS) {
		struct track *k = &t->tr[t->slot[i]];
		if (k->guest == gi && k->addr == task->addr && k->pid == task->pid && k->gen == xds_guest_gen(g))
			return k;
	}
	if (t->nr == MAX_TRACKS) {
		if (!t->full_said)
			xds_log(XDS_LOG_WARNING, "--timeline: more than %d tasks; later ones are left out", MAX_TRACKS);
		t->full_said = true;
		return NULL;
	}
	struct track *k = &t->tr[t->nr];
	*k = (struct track){ .guest = gi, .pid = task->pid, .tid = t->nr + 1, .gen = xds_guest_gen(g),
			     .addr = task->addr, .since = t->last_now, .cpu_mark = task->cputime_ns };
	t->slot[i] = t->nr++;
	if (!t->named[gi]) {
		meta(t, "process_name", gi + 1, 0, json_string(xds_guest_name(g)));
		t->named[gi] = true;
	}
	char name[64];
	snprintf(name, sizeof name, "%.16s[%d]", task->comm, task->pid);
	meta(t, "thread_name", gi + 1, k->tid, xds_json_bytes(name, strlen(name)));
	return k;
}

struct cli_timeline *cli_timeline_new(const char *path, struct xds_err *err)
{
	struct cli_timeline *t = calloc(1, sizeof *t);
	if (t)
		t->tr = calloc(MAX_TRACKS, sizeof *t->tr);
	if (!t || !t->tr || !(t->path = strdup(path))) {
		if (t)
			free(t->tr);
		free(t);
		xds_fail(err, "out of memory");
		return NULL;
	}
	if (!(t->f = fopen(path, "w"))) {
		xds_fail(err, "--timeline %s: %s", path, strerror(errno));
		free(t->path);
		free(t->tr);
		free(t);
		return NULL;
	}
	memset(t->slot, -1, sizeof t->slot);
	t->first = true;
	fputs("{\"displayTimeUnit\":\"ms\",\"otherData\":{\"clock\":\"host time since the start, us\"},"
	      "\"traceEvents\":[", t->f);
	meta(t, "process_name", 0, 0, json_string("xds-lua"));
	return t;
}

/* The state of the interval that ends at this snapshot, as acct.c charges it. */
static enum tstate state_of(const struct track *k, const struct lx_task *task)
{
	return k->frozen_next ? TS_FROZEN : task->running ? TS_RUNNING
		: task->queued ? TS_QUEUED : TS_ASLEEP;
}

static void task_tick(struct cli_timeline *t, struct xds_sched *s, int gi, struct xds_guest *g,
		      const struct lx_task *task, uint64_t now)
{
	struct track *k = track_of(t, gi, g, task);
	if (!k)
		return;
	enum tstate st = state_of(k, task);
	if (t->tick > 1 && st != k->state) {
		close_span(t, k, t->last_now);
		k->state = st;
	}
	if (k->state == TS_NONE)
		k->state = st;
	k->seen = t->tick;
	k->cpu_now = task->cputime_ns;
	const struct xds_held *h = xds_sched_held(s, gi, task->addr);
	bool frozen = h && h->pid == task->pid && h->hold == XH_FROZEN;
	if (frozen != k->frozen_next)
		instant(t, frozen ? "freeze" : "thaw", gi + 1, k->tid, now, "t");
	k->frozen_next = frozen;
}

/* One "C" event per guest: each task's share of a CPU since the last. */
static void shares(struct cli_timeline *t, struct xds_host *h, uint64_t now)
{
	uint64_t dt = now - t->share_mark;
	for (int gi = 0; gi < xds_host_nr_guests(h) && gi < XDS_MAX_GUESTS; gi++) {
		json_t *args = json_object();
		for (int i = 0; i < t->nr; i++) {
			struct track *k = &t->tr[i];
			if (k->guest != gi || k->seen != t->tick)
				continue;
			double share = dt ? (double)(k->cpu_now - k->cpu_mark) / (double)dt : 0;
			k->cpu_mark = k->cpu_now;
			if (share > 0) {
				char name[16];
				snprintf(name, sizeof name, "%d", k->pid);
				json_object_set_new(args, name, json_real(share));
			}
		}
		if (json_object_size(args))
			emit(t, json_pack("{s:s,s:s,s:I,s:i,s:i,s:o}", "name", "cpu share", "ph", "C",
					  "ts", us(now), "pid", gi + 1, "tid", 0, "args", args));
		else
			json_decref(args);
	}
	t->share_mark = now;
}

void cli_timeline_tick(struct cli_timeline *t, struct xds_run *r)
{
	struct xds_sched *s = r->sched;
	if (!s)
		return;
	uint64_t now = xds_sched_elapsed(s);
	t->tick++;
	for (int gi = 0; gi < xds_host_nr_guests(r->host) && gi < XDS_MAX_GUESTS; gi++) {
		struct xds_guest *g = xds_host_guest(r->host, gi);
		if (xds_guest_gone(g) || xds_guest_error(g)[0])
			continue;
		const struct lx_snapshot *snap = xds_guest_snapshot(g);
		for (int i = 0; i < snap->nr_tasks; i++)
			task_tick(t, s, gi, g, &snap->tasks[i], now);
	}
	for (int i = 0; i < t->nr; i++)         /* gone, or its guest unreadable */
		if (t->tr[i].seen != t->tick && t->tr[i].state != TS_NONE) {
			close_span(t, &t->tr[i], t->last_now);
			t->tr[i].state = TS_NONE;
			t->tr[i].frozen_next = false;
		}
	if (r->reloads != t->reloads)
		instant(t, "policy reload", 0, 0, now, "g");
	if (r->policy_errors != t->errors)
		instant(t, "policy error", 0, 0, now, "g");
	t->reloads = r->reloads;
	t->errors = r->policy_errors;
	if (t->tick == 1)
		t->share_mark = now;
	else if (now - t->share_mark >= SHARE_EVERY_NS)
		shares(t, r->host, now);
	t->last_now = now;
}

int cli_timeline_free(struct cli_timeline *t, struct xds_run *r, struct xds_err *err)
{
	if (!t)
		return 0;
	if (r && r->policy_errors != t->errors)     /* the failed tick ran no hook */
		instant(t, "policy error", 0, 0, t->last_now, "g");
	for (int i = 0; i < t->nr; i++)
		close_span(t, &t->tr[i], t->last_now);
	fputs("\n]}\n", t->f);
	int rc = ferror(t->f) | fclose(t->f) ? xds_fail(err, "--timeline %s: cannot write it", t->path) : 0;
	free(t->path);
	free(t->tr);
	free(t);
	return rc;
}
