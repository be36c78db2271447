/*
 * hv.c - the simulated host: hypervisor, virtual time, the guests' programs.
 *
 * Time moves in slices (host { slice = "1ms" }).  At each slice boundary
 * due timers fire (wake-ups, task starts and exits, scenario events); then
 * the hypervisor gives each physical CPU to the runnable vCPU with the
 * least weighted virtual time (a credit-like proportional share: a vCPU's
 * hv_vt grows by time / weight), and each chosen vCPU runs its guest kernel
 * for the slice: the current task consumes CPU, the guest tick (HZ 250)
 * preempts, programs block at the end of their bursts.  A paused or crashed
 * domain gets no CPU and its kernel does not move; its timers wait.
 *
 * Ground truth (CPU time, time queued but not running, time held off the
 * run queue while wanting CPU) is counted here, on the host side, so that
 * it does not depend on what the guest's memory says.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simk.h"
#include "util/json.h"
#include "util/utf8.h"

static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rng_unit(uint64_t *state)
{
	return (double)(rng_next(state) >> 11) / (double)(1ULL << 53);
}

static uint64_t jittered(uint64_t *rng, uint64_t base, uint64_t jitter)
{
	if (!jitter)
		return base;
	int64_t j = (int64_t)(rng_unit(rng) * (double)(2 * jitter)) - (int64_t)jitter;
	return (int64_t)base + j > 0 ? (uint64_t)((int64_t)base + j) : 1;
}

static uint64_t exponential(uint64_t *rng, uint64_t mean)
{
	double u = rng_unit(rng);
	return (uint64_t)(-log(1.0 - u) * (double)mean) + 1;
}

/* --- timers: a binary min-heap on (at, seq) --- */

static bool timer_before(const struct timer *a, const struct timer *b)
{
	return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

void sim_timer_add(struct sim *s, uint64_t at, int kind, struct sdom *d, int arg)
{
	if (s->nr_heap == s->cap_heap) {
		s->cap_heap = s->cap_heap ? 2 * s->cap_heap : 256;
		s->heap = realloc(s->heap, (size_t)s->cap_heap * sizeof *s->heap);
		if (!s->heap)
			abort();
	}
	int i = s->nr_heap++;
	struct timer t = { .at = at, .seq = s->timer_seq++, .kind = kind, .arg = arg, .d = d };
	while (i > 0 && timer_before(&t, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = t;
}

static struct timer timer_pop(struct sim *s)
{
	struct timer top = s->heap[0], last = s->heap[--s->nr_heap];
	int i = 0;
	for (;;) {
		int c = 2 * i + 1;
		if (c >= s->nr_heap)
			break;
		if (c + 1 < s->nr_heap && timer_before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!timer_before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nr_heap)
		s->heap[i] = last;
	return top;
}

/* --- the guests' programs --- */

static void begin_burst(struct stask *t)
{
	t->want_cpu = true;
	switch (t->b.kind) {
	case BH_CPU:
	case BH_PHASES:
		t->burst_left = -1;
		break;
	case BH_PERIODIC:
		t->burst_left = (int64_t)jittered(&t->rng, t->b.run_ns, t->b.jitter_ns);
		break;
	case BH_BURSTY:
		t->burst_left = (int64_t)exponential(&t->rng, t->b.run_ns);
		break;
	case BH_SLEEPER:
		t->burst_left = 0;
		break;
	}
}

/* How long the program sleeps after a burst; 0 means forever. */
static uint64_t sleep_length(struct stask *t, uint64_t now)
{
	switch (t->b.kind) {
	case BH_PERIODIC:
		return jittered(&t->rng, t->b.sleep_ns, t->b.jitter_ns);
	case BH_BURSTY:
		return exponential(&t->rng, t->b.sleep_ns);
	case BH_PHASES: {
		uint64_t cycle = t->b.busy_ns + t->b.idle_ns;
		uint64_t into = (now - t->start_ns + cycle - t->b.offset_ns % cycle) % cycle;
		return into < t->b.busy_ns ? t->b.idle_ns : cycle - into;
	}
	default:
		return 0;
	}
}

typedef void (*kfn)(struct sdom *d, void *arg);

/* Run guest-kernel code; an oops stops the domain, not the host. */
static bool kcall(struct sdom *d, kfn fn, void *arg)
{
	if (d->crashed)
		return false;
	jmp_buf jb;
	jmp_buf *outer = d->oops_jmp;
	d->oops_jmp = &jb;
	if (setjmp(jb)) {
		d->oops_jmp = outer;
		d->crashed = true;
		fprintf(stderr, "xds-sim: %s: kernel oops at %.3f s: %s\n", d->name,
			(double)d->sim->now / 1e9, d->oops);
		sim_violation(d->sim, "%.60s: oops: %.180s", d->name, d->oops);
		return false;
	}
	fn(d, arg);
	d->oops_jmp = outer;
	return true;
}

static void do_wake(struct sdom *d, void *arg)
{
	struct stask *t = arg;
	if (t->ts && simk_try_to_wake_up(d, t, TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE))
		begin_burst(t);
}

static void do_start(struct sdom *d, void *arg)
{
	struct stask *t = arg;
	simk_new_task(d, t);
	t->life = LF_ALIVE;
	if (t->b.offset_ns) {
		/* born asleep: the first phase starts offset_ns later */
		struct task_struct *p = (struct task_struct *)(uintptr_t)t->ts;
		G(d, p)->__state = TASK_INTERRUPTIBLE;
		t->want_cpu = false;
		sim_timer_add(d->sim, d->sim->now + t->b.offset_ns, TM_WAKE, d, t->id);
	} else {
		simk_wake_up_new_task(d, t);
		begin_burst(t);
	}
	if (t->b.kind == BH_PHASES)
		sim_timer_add(d->sim, d->sim->now + t->b.offset_ns + t->b.busy_ns,
			      TM_PHASE, d, t->id);
}

static void do_kill(struct sdom *d, void *arg)
{
	struct stask *t = arg;
	if (!t->ts)
		return;
	t->kill_pending = true;
	if (simk_try_to_wake_up(d, t, TASK_WAKEKILL | TASK_INTERRUPTIBLE))
		t->want_cpu = true;
}

static void do_nice(struct sdom *d, void *arg)
{
	struct stask *t = arg;
	if (t->ts)
		simk_set_nice(d, t, t->nice);
}

static struct stask *find_task(struct sdom *d, int pid)
{
	for (int i = 0; i < d->sim->nr_tasks; i++)
		if (d->sim->tasks[i].d == d && d->sim->tasks[i].pid == pid)
			return &d->sim->tasks[i];
	return NULL;
}

static void fire_event(struct sim *s, struct sevent *e)
{
	struct stask *t = e->pid ? find_task(e->d, e->pid) : NULL;
	switch (e->kind) {
	case EV_PAUSE:
		sim_pause(e->d);
		break;
	case EV_RESUME:
		sim_resume(e->d);
		break;
	case EV_WEIGHT:
		e->d->weight = (unsigned)e->value;
		break;
	case EV_KILL:
		if (t)
			kcall(e->d, do_kill, t);
		break;
	case EV_NICE:
		if (t) {
			t->nice = e->value;
			kcall(e->d, do_nice, t);
		}
		break;
	case EV_WAKE:
		if (t)
			kcall(e->d, do_wake, t);
		break;
	}
	(void)s;
}

static void fire_timer(struct sim *s, struct timer *tm)
{
	if (tm->kind == TM_EVENT) {
		fire_event(s, &s->events[tm->arg]);
		return;
	}
	struct sdom *d = tm->d;
	if (d->crashed)
		return;
	if (d->paused) {   /* the guest's clock interrupt waits for cont */
		sim_timer_add(s, s->now + s->slice_ns, tm->kind, d, tm->arg);
		return;
	}
	struct stask *t = &s->tasks[tm->arg];
	switch (tm->kind) {
	case TM_WAKE:
		kcall(d, do_wake, t);
		break;
	case TM_START:
		kcall(d, do_start, t);
		break;
	case TM_EXIT:
		kcall(d, do_kill, t);
		break;
	case TM_PHASE:
		if (t->life != LF_ALIVE)
			break;
		if (t->want_cpu && t->burst_left < 0)
			t->burst_left = 0;    /* the busy phase is over: block when next run */
		sim_timer_add(s, s->now + t->b.busy_ns + t->b.idle_ns, TM_PHASE, d, t->id);
		break;
	}
}

/* --- running a vCPU for part of a slice --- */

struct vrun {
	int cpu;
	uint64_t start, len, used;
};

static bool need_resched(struct sdom *d, struct task_struct *p)
{
	return G(d, p)->thread_info.flags & (1UL << TIF_NEED_RESCHED);
}

static void program_blocks(struct sdom *d, struct stask *t, uint64_t at, uint64_t slice_end)
{
	uint64_t sleep = sleep_length(t, at);
	t->want_cpu = false;
	t->slept_in_slice = slice_end - at;
	simk_block(d, t, TASK_INTERRUPTIBLE);
	if (sleep)
		sim_timer_add(d->sim, at + sleep, TM_WAKE, d, t->id);
}

static void program_exits(struct sdom *d, struct stask *t, uint64_t at, uint64_t slice_end)
{
	if (t->exit_queued && !t->exiting) {
		simk_exit_reaped(d, t);
		return;
	}
	t->want_cpu = false;
	t->slept_in_slice = slice_end - at;
	t->life = LF_DEAD;
	simk_exit(d, t);
}

static void vcpu_run(struct sdom *d, void *arg)
{
	struct vrun *vr = arg;
	struct svcpu *v = &d->vcpu[vr->cpu];
	struct rq *rq = simk_rq(d, vr->cpu);
	uint64_t t = vr->start, end = vr->start + vr->len;
	G(d, rq)->clock = t;
	if (vr->cpu == 0)
		simk_update_jiffies(d, t);
	if (v->next_tick <= t) {
		v->next_tick = (t / SIM_TICK_NS + 1) * SIM_TICK_NS;
		simk_tick(d, vr->cpu);
	}
	for (int guard = 0; t < end; guard++) {
		if (guard > 100000)
			simk_oops(d, "watchdog: CPU#%d stuck in the scheduler", vr->cpu);
		struct task_struct *curr = G(d, rq)->curr;
		if (need_resched(d, curr)) {
			simk_schedule(d, vr->cpu);
			continue;
		}
		if (curr == G(d, rq)->idle) {
			if (!G(d, rq)->nr_running)
				break;                   /* idle: the vCPU halts */
			simk_schedule(d, vr->cpu);
			if (G(d, rq)->curr == curr)
				break;
			continue;
		}
		struct stask *st = simk_stask(d, curr);
		if (st->kill_pending) {
			program_exits(d, st, t, end);
			continue;
		}
		if (st->burst_left == 0) {
			program_blocks(d, st, t, end);
			continue;
		}
		uint64_t stop = end < v->next_tick ? end : v->next_tick;
		if (st->burst_left > 0 && t + (uint64_t)st->burst_left < stop)
			stop = t + (uint64_t)st->burst_left;
		uint64_t ran = stop - t;
		v->clock_task += ran;
		G(d, rq)->clock_task = v->clock_task;
		G(d, rq)->clock = stop;
		simk_update_curr(d, vr->cpu);
		st->cpu_ns += ran;
		st->ran_in_slice += ran;
		if (st->burst_left > 0)
			st->burst_left -= (int64_t)ran;
		t = stop;
		if (t == v->next_tick) {
			v->next_tick += SIM_TICK_NS;
			simk_tick(d, vr->cpu);
		}
	}
	vr->used = t - vr->start;
}

struct vsel {
	struct sdom *d;
	int cpu;
};

static void probe_runnable(struct sdom *d, void *arg)
{
	bool *out = arg;
	for (int c = 0; c < d->nr_vcpus; c++) {
		struct rq *rq = simk_rq(d, c);
		out[c] = G(d, rq)->nr_running > 0 || G(d, rq)->curr != G(d, rq)->idle;
	}
}

static void release_held_locks(struct sdom *d, void *arg)
{
	(void)arg;
	for (int c = 0; c < d->nr_vcpus; c++) {
		if (d->vcpu[c].lock_held)
			simk_unlock(d, &simk_rq(d, c)->__lock);
		d->vcpu[c].lock_held = false;
	}
}

/* What an observer sees between slices: which vCPUs are in the kernel,
 * which hold their run-queue lock (paused in the middle of a section). */
static void observation_state(struct sdom *d, void *arg)
{
	uint64_t *rng = arg;
	for (int c = 0; c < d->nr_vcpus; c++) {
		struct svcpu *v = &d->vcpu[c];
		struct rq *rq = simk_rq(d, c);
		v->halted = G(d, rq)->curr == G(d, rq)->idle;
		v->cpl = v->halted ? 0 : 3;
		if (!v->halted && d->kernel_frac > 0 && rng_unit(rng) < d->kernel_frac)
			v->cpl = 0;
		if (d->lock_frac > 0 && rng_unit(rng) < d->lock_frac) {
			simk_lock(d, &rq->__lock);
			v->lock_held = true;
			v->cpl = 0;
		}
	}
}

static void account_domain(struct sdom *d, void *arg)
{
	uint64_t len = *(uint64_t *)arg;
	struct sim *s = d->sim;
	for (int k = 0; k < d->nr_tids; k++) {
		struct stask *t = &s->tasks[d->tids[k]];
		if (t->life == LF_ALIVE || t->ran_in_slice || t->slept_in_slice) {
			bool queued = t->ts && G(d, (struct task_struct *)(uintptr_t)t->ts)->se.on_rq;
			uint64_t busy = t->ran_in_slice + t->slept_in_slice;
			if ((queued || t->ran_in_slice) && busy < len)
				t->wait_ns += len - busy;
			else if (!queued && t->want_cpu && t->life == LF_ALIVE)
				t->held_ns += len;
		}
		t->ran_in_slice = t->slept_in_slice = 0;
	}
}

static void one_slice(struct sim *s, uint64_t len)
{
	for (int i = 0; i < s->nr_doms; i++)
		if (!s->doms[i]->paused)
			kcall(s->doms[i], release_held_locks, NULL);
	while (s->nr_heap && s->heap[0].at <= s->now) {
		struct timer tm = timer_pop(s);
		fire_timer(s, &tm);
	}
	/* the hypervisor: the pCPUs go to the runnable vCPUs of least hv_vt */
	struct vsel cand[SIM_MAX_DOMAINS * 8];
	int n = 0;
	uint64_t min_vt = UINT64_MAX;
	for (int i = 0; i < s->nr_doms; i++) {
		struct sdom *d = s->doms[i];
		bool runnable[SIM_MAX_VCPUS] = { 0 };
		if (d->paused || d->crashed || !kcall(d, probe_runnable, runnable))
			continue;
		for (int c = 0; c < d->nr_vcpus && n < (int)(sizeof cand / sizeof cand[0]); c++) {
			if (!runnable[c])
				continue;
			cand[n++] = (struct vsel){ d, c };
			if (d->vcpu[c].on_pcpu && d->vcpu[c].hv_vt < min_vt)
				min_vt = d->vcpu[c].hv_vt;
		}
	}
	for (int i = 0; i < n; i++) {
		struct svcpu *v = &cand[i].d->vcpu[cand[i].cpu];
		if (min_vt != UINT64_MAX && v->hv_vt + s->slice_ns < min_vt)
			v->hv_vt = min_vt - s->slice_ns;      /* no credit banked while idle */
	}
	for (int i = 0; i < s->nr_doms; i++)
		for (int c = 0; c < s->doms[i]->nr_vcpus; c++)
			s->doms[i]->vcpu[c].on_pcpu = false;
	for (int p = 0; p < s->pcpus && n > 0; p++) {
		int best = 0;
		for (int i = 1; i < n; i++)
			if (cand[i].d->vcpu[cand[i].cpu].hv_vt < cand[best].d->vcpu[cand[best].cpu].hv_vt)
				best = i;
		struct vsel sel = cand[best];
		cand[best] = cand[--n];
		struct vrun vr = { .cpu = sel.cpu, .start = s->now, .len = len };
		struct svcpu *v = &sel.d->vcpu[sel.cpu];
		v->on_pcpu = true;
		kcall(sel.d, vcpu_run, &vr);
		uint64_t charge = vr.used ? vr.used : len / 4;
		v->hv_vt += charge * 256 / (sel.d->weight ? sel.d->weight : 1);
	}
	for (int i = 0; i < s->nr_doms; i++)
		kcall(s->doms[i], account_domain, &len);
	s->now += len;
	for (int i = 0; i < s->nr_doms; i++) {
		struct sdom *d = s->doms[i];
		if (!d->paused && !d->crashed) {
			sim_check_domain(d);
			kcall(d, observation_state, &s->obs_rng);
		}
	}
}

void sim_step(struct sim *s, uint64_t ns)
{
	for (int i = 0; i < s->nr_doms; i++)
		if (!s->doms[i]->paused && !s->doms[i]->crashed)
			sim_check_domain(s->doms[i]);
	uint64_t end = s->now + ns;
	while (s->now < end && !s->halted) {
		uint64_t len = s->slice_ns - s->now % s->slice_ns;
		if (len > end - s->now)
			len = end - s->now;
		one_slice(s, len);
	}
}

void sim_pause(struct sdom *d)
{
	d->paused = true;
	for (int c = 0; c < d->nr_vcpus; c++)
		d->vcpu[c].on_pcpu = false;
}

/* What was written while paused is checked at the start of the next step. */
void sim_resume(struct sdom *d)
{
	d->paused = false;
}

static void boot_domain(struct sdom *d, void *arg)
{
	(void)arg;
	simk_init_kernel(d);
	for (int i = 0; i < d->nr_groups; i++)
		d->groups[i].tg = simk_create_group(d, d->groups[i].name, d->groups[i].shares);
}

void sim_start(struct sim *s)
{
	for (int i = 0; i < s->nr_tasks; i++) {
		struct sdom *d = s->tasks[i].d;
		int *n = realloc(d->tids, (size_t)(d->nr_tids + 1) * sizeof *n);
		if (!n)
			abort();
		d->tids = n;
		d->tids[d->nr_tids++] = i;
	}
	for (int i = 0; i < s->nr_doms; i++)
		kcall(s->doms[i], boot_domain, NULL);
	/* init (pid 1) first, so that it heads the task list as in Linux */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < s->nr_tasks; i++) {
			struct stask *t = &s->tasks[i];
			if ((t->pid == 1) != (pass == 0))
				continue;
			t->rng = s->seed * 0x100000001b3ULL + (uint64_t)i * 0x9e3779b97f4a7c15ULL + 1;
			sim_timer_add(s, t->start_ns, TM_START, t->d, i);
			if (t->exit_ns)
				sim_timer_add(s, t->exit_ns, TM_EXIT, t->d, i);
		}
	}
	for (int i = 0; i < s->nr_events; i++)
		sim_timer_add(s, s->events[i].at, TM_EVENT, s->events[i].d, i);
	/* tasks created at time 0 exist before anyone looks */
	while (s->nr_heap && s->heap[0].at == 0 && s->heap[0].kind == TM_START) {
		struct timer tm = timer_pop(s);
		fire_timer(s, &tm);
	}
}

struct sdom *sim_domain(struct sim *s, const char *name)
{
	for (int i = 0; i < s->nr_doms; i++)
		if (!strcmp(s->doms[i]->name, name))
			return s->doms[i];
	return NULL;
}

static const char *task_state(struct stask *t)
{
	if (t->life == LF_DEAD && !t->zombie)
		return "X";
	unsigned st;
	int ex;
	struct task_struct *p = (struct task_struct *)(uintptr_t)t->ts;
	if (!simk_peek(t->d, (uint64_t)(uintptr_t)&p->__state, &st, sizeof st) ||
	    !simk_peek(t->d, (uint64_t)(uintptr_t)&p->exit_state, &ex, sizeof ex))
		return "?";
	return sim_state_name(st, ex);
}

/* Every task born so far; comms and names under util/json.h's byte rule. */
json_t *sim_truth_json(struct sim *s)
{
	json_t *tasks = json_array();
	for (int i = 0; i < s->nr_tasks; i++) {
		struct stask *t = &s->tasks[i];
		if (t->life == LF_UNBORN)
			continue;
		json_array_append_new(tasks, json_pack(
			"{s:o,s:i,s:i,s:o,s:s,s:i,s:i,s:b,s:I,s:I,s:I}",
			"dom", xds_json_bytes(t->d->name, strlen(t->d->name)), "pid", t->pid,
			"tgid", t->tgid, "comm", xds_json_bytes(t->comm, strnlen(t->comm, sizeof t->comm)),
			"state", task_state(t), "cpu", t->cpu, "nice", t->nice, "alive", t->life == LF_ALIVE || t->zombie,
			"cputime_ns", (json_int_t)t->cpu_ns, "wait_ns", (json_int_t)t->wait_ns,
			"held_ns", (json_int_t)t->held_ns));
	}
	return json_pack("{s:I,s:I,s:o}", "time_ns", (json_int_t)s->now,
			 "violations", (json_int_t)s->violations, "tasks", tasks);
}

void sim_print_truth(struct sim *s, FILE *out, bool json)
{
	if (json) {
		json_t *t = sim_truth_json(s);
		if (t)
			json_dumpf(t, out, 0);
		fputc('\n', out);
		json_decref(t);
		return;
	}
	fprintf(out, "virtual time %.3f s\n", (double)s->now / 1e9);
	fprintf(out, "%-8s %7s %7s %-16s %-5s %3s %12s %12s %12s\n", "DOM", "PID", "TGID",
		"COMM", "STATE", "CPU", "CPU_MS", "WAIT_MS", "HELD_MS");
	for (int i = 0; i < s->nr_tasks; i++) {
		struct stask *t = &s->tasks[i];
		if (t->life == LF_UNBORN)
			continue;
		struct utf8_shown comm = utf8_shown(t->comm, sizeof t->comm);
		fprintf(out, "%-8s %7d %7d %s%*s %-5s %3d %12.3f %12.3f %12.3f\n", t->d->name,
			t->pid, t->tgid, comm.s, utf8_pad(comm.s, 16), "", task_state(t), t->cpu,
			(double)t->cpu_ns / 1e6, (double)t->wait_ns / 1e6, (double)t->held_ns / 1e6);
	}
	fprintf(out, "invariant violations: %llu\n", (unsigned long long)s->violations);
}
