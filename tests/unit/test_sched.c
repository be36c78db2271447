/*
 * test_sched.c - the tick loop on a simulated host, with a policy in C.
 *
 * The policy is the paper's: bkup may run only while web is not runnable.
 * Checked against the simulator's ground truth: bkup gets no CPU while it
 * is held, nothing violates the kernel's invariants, the journal lists
 * exactly what is held, and the end of the run thaws everything.  Then the
 * crash: a process running the loop is killed with SIGKILL while it holds
 * bkup, and recovery from its journal makes bkup runnable again.
 */
#include <signal.h>
#include <sys/wait.h>

#include "../tap.h"
#include "../simctl.h"
#include "backend/qmp.h"
#include "host/host_int.h"
#include "sched/sched.h"
#include "util/log.h"

static int guest_of(struct xds_host *h, const char *name)
{
	int i = -1;
	xds_host_find(h, name, &i);
	return i;
}

static const struct lx_task *task_named(struct xds_host *h, int gi, const char *comm)
{
	if (gi < 0)
		return NULL;
	const struct lx_snapshot *s = xds_guest_snapshot(xds_host_guest(h, gi));
	for (int i = 0; i < s->nr_tasks; i++)
		if (!strcmp(s->tasks[i].comm, comm))
			return &s->tasks[i];
	return NULL;
}

/* One tick of the paper's policy: hold bkup while web is runnable. */
static int policy_tick(struct xds_sched *s, struct xds_err *err)
{
	struct xds_host *h = xds_sched_host(s);
	if (xds_sched_advance(s, err) || xds_sched_snapshot(s, err))
		return -1;
	int u1 = guest_of(h, "U1"), u2 = guest_of(h, "U2");
	const struct lx_task *web = task_named(h, u2, "web"), *bkup = task_named(h, u1, "bkup");
	if (!web || !bkup)
		return xds_fail(err, "web or bkup missing");
	bool web_runnable = web->queued || web->running;
	if (xds_sched_request(s, u1, bkup, web_runnable, err))
		return -1;
	return xds_sched_apply(s, err);
}

static int64_t truth(struct xds_host *h, const char *comm, const char *field)
{
	struct xds_err err;
	json_t *j = xds_host_truth(h, &err);
	int64_t v = -1;
	for (size_t i = 0; j && i < json_array_size(json_object_get(j, "tasks")); i++) {
		json_t *t = json_array_get(json_object_get(j, "tasks"), i);
		if (!strcmp(json_string_value(json_object_get(t, "comm")), comm))
			v = simctl_int(t, field);
	}
	json_decref(j);
	return v;
}

static int64_t violations(struct xds_host *h)
{
	struct xds_err err;
	json_t *j = xds_host_truth(h, &err);
	int64_t v = j ? simctl_int(j, "violations") : -1;
	json_decref(j);
	return v;
}

static void step(struct xds_host *h, uint64_t ns)
{
	xds_host_wait_until(h, xds_host_now(h) + ns, NULL);
}

/* The paper's scenario on a simulated host of its own. */
static struct xds_host *sim_host(void)
{
	struct xds_err err;
	char sim[256];
	struct xds_attach_opts ao = { .helper = simctl_bin("xds-sim", sim, sizeof sim), .seed = 1 };
	struct xds_host *h = xds_host_new(&err);
	if (h && xds_host_attach(h, "sim", "sim/scenarios/paper.lua", &ao, &err) == 0)
		return h;
	ok(0, "simulated host: %s", err.msg);
	xds_host_free(h);
	return NULL;
}

static const struct xds_held *held0(const struct xds_sched *s)
{
	return xds_sched_nr_held(s) ? xds_sched_held_at(s, 0) : NULL;
}

static void loop_on_sim(const char *journal)
{
	struct xds_err err;
	struct xds_host *h = sim_host();
	if (!h)
		return;
	struct xds_sched_opts o = { .tick_ns = 10000000, .journal = journal };
	struct xds_sched *s = xds_sched_new(h, &o, &err);
	ok(s != NULL, "scheduler starts with a journal");
	if (!s) {
		xds_host_free(h);
		return;
	}
	ok(xds_sched_new(h, &o, &err) == NULL && strstr(err.msg, "in use by another xds-lua"),
	   "a second scheduler on the same journal is refused: %s", err.msg);
	ok(xds_sched_recover(journal, &err) < 0 && strstr(err.msg, "in use"),
	   "so is recovering a journal a live run holds");
	int bad = 0, ticks_held = 0, bkup_ran_held = 0;
	int64_t bkup_cpu = truth(h, "bkup", "cputime_ns");
	bool journal_checked = false;
	for (int t = 0; t < 1000 && !bad; t++) {         /* 10 s of virtual time */
		bool held_before = xds_sched_is_frozen(s, guest_of(h, "U1"), task_named(h, 0, "bkup") ?
						       task_named(h, 0, "bkup")->addr : 0);
		if (policy_tick(s, &err)) {
			diag("tick %d: %s", t, err.msg);
			bad++;
		}
		int64_t now = truth(h, "bkup", "cputime_ns");
		const struct xds_held *hd = held0(s);
		if (held_before && hd && hd->hold == XH_FROZEN) {
			ticks_held++;
			bkup_ran_held += now > bkup_cpu + 100000;   /* the tick it left its CPU aside */
		}
		bkup_cpu = now;
		if (!journal_checked && hd && hd->hold == XH_FROZEN) {
			FILE *f = fopen(journal, "r");
			char buf[4096] = "";
			size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
			buf[n] = 0;
			if (f)
				fclose(f);
			ok(strstr(buf, "guest U1 sim") && strstr(buf, "freeze U1 ") && strstr(buf, " bkup"),
			   "the journal names the guest and the held task before it is held");
			journal_checked = true;
		}
	}
	is_int(bad, 0, "1000 ticks without an error");
	ok(ticks_held > 100, "bkup was held in %d ticks", ticks_held);
	ok(bkup_ran_held <= 2, "bkup got no CPU while held (%d ticks with some)", bkup_ran_held);
	const struct xds_stats *st = xds_sched_stats(s);
	diag("stats: %llu freezes, %llu thaws, %llu retries, %llu refusals; pause mean %.1f us max %.1f us",
	     (unsigned long long)st->freezes, (unsigned long long)st->thaws,
	     (unsigned long long)st->retries, (unsigned long long)st->refusals,
	     st->pause.count ? st->pause.total_ns / 1e3 / st->pause.count : 0, st->pause.max_ns / 1e3);
	ok(st->freezes >= 3 && st->thaws >= 3, "bkup was frozen and thawed as web came and went");
	is_int(st->refusals, 0, "nothing refused");
	int rc = xds_sched_free(s, &err);
	ok(rc == 0, "the end thaws everything (%s)", rc ? err.msg : "ok");
	is_int(simctl_file_size(journal), 0, "a clean end empties the journal");
	int64_t before = truth(h, "bkup", "cputime_ns");
	step(h, 500000000ULL);
	ok(truth(h, "bkup", "cputime_ns") > before, "after the end bkup runs again");
	is_int(violations(h), 0, "no invariant of the guest kernels was violated");
	xds_host_free(h);
}

/* The power button (QMP system_powerdown) on U1 while bkup is held: the
 * scheduler gives U1's tasks back at once and freezes none of them for
 * 30 s, so that the guest's shutdown can reach every task; then the policy
 * holds bkup again. */
static void powerdown_releases(void)
{
	struct xds_err err;
	char path[300];
	struct xds_host *h = sim_host();
	if (!h)
		return;
	char logbuf[8192] = "";
	FILE *log = fmemopen(logbuf, sizeof logbuf - 1, "w");
	struct xds_sched_opts o = { .tick_ns = 10000000 };
	xds_log_to(log);
	struct xds_sched *s = xds_sched_new(h, &o, &err);
	if (!s) {
		ok(0, "scheduler: %s", err.msg);
		xds_host_free(h);
		return;
	}
	int u1 = guest_of(h, "U1"), t = 0, bad = 0;
	for (; t < 300 && !bad && !(held0(s) && held0(s)->hold == XH_FROZEN); t++)
		bad += policy_tick(s, &err) != 0;
	ok(!bad && xds_sched_nr_held(s) == 1 && held0(s)->hold == XH_FROZEN, "bkup is held (tick %d)", t);
	snprintf(path, sizeof path, "%s/U1.qmp", host_sim_dir(h));
	struct qmp *q = qmp_open(path, 2000, &err);
	json_t *r = q ? qmp_execute(q, "system_powerdown", NULL, &err) : NULL;
	ok(r != NULL, "system_powerdown on U1's QMP socket (%s)", r ? "ok" : err.msg);
	json_decref(r);
	int released = -1, held_again = -1;
	int64_t c0 = truth(h, "bkup", "cputime_ns"), c1 = c0;
	for (t = 0; t < 3200 && !bad; t++) {
		bad += policy_tick(s, &err) != 0;
		bool held = held0(s) && held0(s)->guest == u1;
		if (released < 0 && !held)
			released = t;
		if (released >= 0 && t == released + 100)
			c1 = truth(h, "bkup", "cputime_ns");
		if (released >= 0 && held_again < 0 && held && held0(s)->hold == XH_FROZEN)
			held_again = t;
	}
	is_int(bad, 0, "no tick failed");
	ok(released >= 0 && released <= 2, "bkup is given back within 2 ticks of the request (%d)", released);
	ok(c1 - c0 > 50000000, "and runs while web wants the CPU (%.0f ms in the next second)", (c1 - c0) / 1e6);
	ok(held_again >= 2990 && held_again <= 3010, "the policy holds it again after 30 s (tick %d)", held_again);
	fflush(log);
	ok(strstr(logbuf, "U1 is asked to shut down, reboot or suspend: its tasks are given back (1 held)") != NULL,
	   "the log says why");
	qmp_close(q);
	xds_sched_free(s, &err);
	xds_log_to(NULL);
	fclose(log);
	xds_host_free(h);
}

static char *spec(const struct simctl *sc, const char *dom, char *buf, size_t n)
{
	char sim[256];
	simctl_bin("xds-sim", sim, sizeof sim);
	snprintf(buf, n, "%s:ram=%s/%s.ram,qmp=%s/%s.qmp,vmlinux=%s,sysmap=%s/%s.System.map", dom, sc->dir, dom,
		 sc->dir, dom, sim, sc->dir, dom);
	return buf;
}

/* A scheduler process holds bkup and dies by SIGKILL; the journal brings bkup back. */
static void crash_and_recover(const char *journal)
{
	struct simctl sc;
	struct xds_err err;
	if (simctl_start(&sc, "sim/scenarios/paper.lua", NULL, &err)) {
		ok(0, "xds-sim: %s", err.msg);
		return;
	}
	simctl_step(&sc, 600000000ULL, &err);          /* web is busy from 0.5 s */
	char s1[1024], s2[1024], cache[128];
	setenv("XDG_CACHE_HOME", simctl_path(&sc, "cache", cache, sizeof cache), 1);
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		struct xds_host *h = xds_host_new(&err);
		if (!h || xds_host_attach(h, "qemu", spec(&sc, "U1", s1, sizeof s1), NULL, &err) ||
		    xds_host_attach(h, "qemu", spec(&sc, "U2", s2, sizeof s2), NULL, &err))
			_exit(2);
		struct xds_sched_opts o = { .tick_ns = 10000000, .journal = journal };
		struct xds_sched *s = xds_sched_new(h, &o, &err);
		if (!s)
			_exit(3);
		for (int t = 0; t < 200; t++) {
			if (xds_sched_snapshot(s, &err))
				_exit(4);
			const struct lx_task *bkup = task_named(h, guest_of(h, "U1"), "bkup");
			if (bkup)
				xds_sched_request(s, 0, bkup, true, &err);
			xds_sched_apply(s, &err);
			if (held0(s) && held0(s)->hold == XH_FROZEN)
				raise(SIGKILL);           /* die holding it: no cleanup at all */
			usleep(2000);
		}
		_exit(5);
	}
	int st = 0;
	waitpid(child, &st, 0);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the scheduler died by SIGKILL holding bkup (status %#x)", st);
	json_t *j = simctl_tasks(&sc, &err);
	int64_t held0 = simctl_task_int(j, "U1", "bkup", "held_ns"), cpu0 = simctl_task_int(j, "U1", "bkup", "cputime_ns");
	json_decref(j);
	simctl_step(&sc, 500000000ULL, &err);
	j = simctl_tasks(&sc, &err);
	int64_t held1 = simctl_task_int(j, "U1", "bkup", "held_ns"), cpu1 = simctl_task_int(j, "U1", "bkup", "cputime_ns");
	json_decref(j);
	ok(held1 - held0 >= 400000000 && cpu1 == cpu0, "left behind, bkup stays held (%.3f s held, %.3f s CPU)",
	   (held1 - held0) / 1e9, (cpu1 - cpu0) / 1e9);
	ok(simctl_file_size(journal) > 0, "the journal still lists it");
	char log[4096] = "";
	FILE *lf = fmemopen(log, sizeof log - 1, "w");
	xds_log_to(lf);
	int rc = xds_sched_recover(journal, &err);
	xds_log_to(NULL);
	fclose(lf);
	ok(rc == 0 && strstr(log, "thawed U1 pid 320"), "recovery thaws it: %s", rc ? err.msg : log);
	is_int(simctl_file_size(journal), 0, "and empties the journal");
	simctl_step(&sc, 500000000ULL, &err);
	j = simctl_tasks(&sc, &err);
	int64_t held2 = simctl_task_int(j, "U1", "bkup", "held_ns"), cpu2 = simctl_task_int(j, "U1", "bkup", "cputime_ns");
	json_decref(j);
	ok(cpu2 > cpu1 && held2 - held1 < 20000000, "every task is runnable again: bkup ran %.3f s",
	   (cpu2 - cpu1) / 1e9);
	is_int(simctl_violations(&sc, &err), 0, "no invariant violated");
	simctl_stop(&sc);
}

int main(void)
{
	char dir[] = "/tmp/xds-sched-test.XXXXXX", journal[128];
	if (!mkdtemp(dir))
		return 1;
	snprintf(journal, sizeof journal, "%s/state/journal", dir);
	loop_on_sim(journal);
	powerdown_releases();
	crash_and_recover(journal);
	unlink(journal);
	snprintf(journal, sizeof journal, "%s/state", dir);
	rmdir(journal);
	rmdir(dir);
	return done_testing();
}
