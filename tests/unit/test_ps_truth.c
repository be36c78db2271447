/*
 * test_ps_truth.c - what xds-lua reads through guest memory is the
 * simulator's ground truth.
 *
 * `xds-lua --sim SCENARIO -e 'xds.advance(T) ps()'` must list exactly the
 * tasks `xds-sim SCENARIO --run T --json` reports alive at the same virtual
 * time (same seed: the simulator is deterministic): pid, comm, state and
 * CPU time to the microsecond that ps prints.  Checked for the paper's
 * host, for the large host (4 domains x 2 vCPUs x 500 tasks), and for a
 * guest placed at a KASLR-like slide.  Then the --qemu path: a simulator
 * started on its own, attached domain by domain with vmlinux= (the
 * simulator's binary) and sysmap=, the profile built once and cached.
 */
#include <errno.h>
#include <sys/stat.h>

#include "../tap.h"
#include "../simctl.h"

struct row {
	char dom[64], comm[32], state[4];
	int pid;
	double ms;
};

struct rows {
	struct row *r;
	int n;
};

static void add(struct rows *rs, const char *dom, int pid, const char *comm, const char *state, double ms)
{
	rs->r = realloc(rs->r, (size_t)(rs->n + 1) * sizeof *rs->r);
	struct row *r = &rs->r[rs->n++];
	snprintf(r->dom, sizeof r->dom, "%s", dom);
	snprintf(r->comm, sizeof r->comm, "%s", comm);
	snprintf(r->state, sizeof r->state, "%s", state);
	r->pid = pid;
	r->ms = ms;
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->dom, y->dom);
	return c ? c : x->pid - y->pid;
}

static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	size_t r;
	while ((r = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += r;
		if (cap - len < 4096)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = 0;
	int st = pclose(p);
	if (st != 0) {
		diag("'%s' exited with %d", cmd, st);
		free(buf);
		return NULL;
	}
	return buf;
}

/* The rows of ps(): DOM PID TGID COMM S CPU NI TIME QRF */
static struct rows parse_ps(const char *text)
{
	struct rows rs = { 0 };
	const char *line = text;
	while (line && *line) {
		char dom[64], comm[32], st[4], qr[8];
		int pid, tgid, cpu, ni;
		double ms;
		if (sscanf(line, "%63s %d %d %31s %3s %d %d %lf %7s", dom, &pid, &tgid, comm, st, &cpu, &ni,
			   &ms, qr) == 9)
			add(&rs, dom, pid, comm, st, ms);
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	qsort(rs.r, (size_t)rs.n, sizeof *rs.r, cmp_row);
	return rs;
}

static struct rows parse_truth(const json_t *tasks)
{
	struct rows rs = { 0 };
	for (size_t i = 0; i < json_array_size(tasks); i++) {
		const json_t *t = json_array_get(tasks, i);
		if (!json_is_true(json_object_get(t, "alive")))
			continue;
		add(&rs, json_string_value(json_object_get(t, "dom")), (int)simctl_int(t, "pid"),
		    json_string_value(json_object_get(t, "comm")), json_string_value(json_object_get(t, "state")),
		    (double)json_integer_value(json_object_get(t, "cputime_ns")) / 1e6);
	}
	qsort(rs.r, (size_t)rs.n, sizeof *rs.r, cmp_row);
	return rs;
}

/* Every row equal; prints the first difference. */
static void compare(const char *what, struct rows *got, struct rows *want)
{
	int bad = -1;
	if (got->n == want->n)
		for (int i = 0; i < got->n && bad < 0; i++) {
			struct row *a = &got->r[i], *b = &want->r[i];
			char fa[32], fb[32];
			snprintf(fa, sizeof fa, "%.3f", a->ms);
			snprintf(fb, sizeof fb, "%.3f", b->ms);
			if (strcmp(a->dom, b->dom) || a->pid != b->pid || strcmp(a->comm, b->comm) ||
			    strcmp(a->state, b->state) || strcmp(fa, fb))
				bad = i;
		}
	ok(got->n == want->n && bad < 0, "%s: ps lists exactly the ground truth's %d tasks (got %d)", what,
	   want->n, got->n);
	if (bad >= 0)
		diag("first difference: %s %d %s %s %.3f vs %s %d %s %s %.3f", got->r[bad].dom, got->r[bad].pid,
		     got->r[bad].comm, got->r[bad].state, got->r[bad].ms, want->r[bad].dom, want->r[bad].pid,
		     want->r[bad].comm, want->r[bad].state, want->r[bad].ms);
	free(got->r);
	free(want->r);
}

static void sim_case(const char *what, const char *scenario, const char *advance)
{
	char bin_l[256], bin_s[256], cmd[1024];
	simctl_bin("xds-lua", bin_l, sizeof bin_l);
	simctl_bin("xds-sim", bin_s, sizeof bin_s);
	snprintf(cmd, sizeof cmd, "%s --sim %s -e 'xds.advance(\"%s\") ps()'", bin_l, scenario, advance);
	char *ps = run(cmd);
	snprintf(cmd, sizeof cmd, "%s %s --run %s --json", bin_s, scenario, advance);
	char *truth = run(cmd);
	struct xds_err err;
	json_t *j = truth ? xds_json_parse(truth, strlen(truth), &err) : NULL;
	if (!ps || !j) {
		ok(0, "%s: both programs ran", what);
	} else {
		struct rows got = parse_ps(ps), want = parse_truth(json_object_get(j, "tasks"));
		compare(what, &got, &want);
	}
	json_decref(j);
	free(ps);
	free(truth);
}

/* How many rows of ps's output (DOM PID TGID COMM S ...) have this tgid and state letter. */
static int count_rows(const char *text, int tgid, char state)
{
	int n = 0;
	for (const char *line = text; line && *line;) {
		char dom[64], comm[32], st[4];
		int pid, tg;
		if (sscanf(line, "%63s %d %d %31s %3s", dom, &pid, &tg, comm, st) == 5 && tg == tgid &&
		    st[0] == state)
			n++;
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return n;
}

/*
 * threads.lua links threads as Linux does (leaders on init_task.tasks,
 * every thread on its leader's signal->thread_head) and has workers that
 * exit reaped but still queued.  ps must list every thread, the queued
 * exiting worker (state X, on no list) and the zombie leader, and a
 * freeze of the exiting worker is refused with the reason, not done.
 */
static void threads_case(void)
{
	sim_case("threads.lua after 0.5 s (threads on thread_head only)", "sim/scenarios/threads.lua", "500ms");
	sim_case("threads.lua after 1 s (the pool gone)", "sim/scenarios/threads.lua", "1s");
	/* the first millisecond after the pool's exit at which a reaped worker is still queued */
	char bin[256], cmd[1024], at[32], what[128];
	simctl_bin("xds-lua", bin, sizeof bin);
	snprintf(cmd, sizeof cmd, "%s --sim sim/scenarios/threads.lua -e 'xds.advance(\"700ms\") "
		 "for ms = 701, 800 do xds.advance(\"1ms\") local x = xds.tasks{tgid = 700, state = \"X\"}[1] "
		 "if x and x.queued and x.unlisted then print(ms, x.pid) return end end'", bin);
	char *found = run(cmd);
	int ms = 0, pid = 0, got = found ? sscanf(found, "%d %d", &ms, &pid) : 0;
	if (!ok(got == 2,
		"a reaped pool worker is seen queued and unlisted between 701 and 800 ms (at %d ms: pid %d)", ms, pid)) {
		free(found);
		return;
	}
	free(found);
	snprintf(at, sizeof at, "%dms", ms);
	snprintf(what, sizeof what, "threads.lua at %d ms (a reaped worker still queued, a zombie leader)", ms);
	sim_case(what, "sim/scenarios/threads.lua", at);
	snprintf(cmd, sizeof cmd, "%s --sim sim/scenarios/threads.lua -e 'xds.advance(\"%s\") ps()'", bin, at);
	char *ps = run(cmd);
	int db = ps ? count_rows(ps, 500, 'R') + count_rows(ps, 500, 'S') : -1, x = ps ? count_rows(ps, 700, 'X') : -1,
	    z = ps ? count_rows(ps, 700, 'Z') : -1;
	ok(db == 5, "ps lists all 5 threads of db (tgid 500), not only its leader (got %d)", db);
	ok(x >= 1 && z == 1, "ps lists the reaped, still-queued pool worker (X: %d) and the zombie leader (Z: %d)",
	   x, z);
	free(ps);
	snprintf(cmd, sizeof cmd,
		 "%s --sim sim/scenarios/threads.lua -e 'xds.advance(\"%s\") "
		 "local t = xds.tasks{pid = %d}[1] print(t.state) t:freeze() xds.step()' 2>&1", bin, at, pid);
	char *out = run(cmd), want[96];
	snprintf(want, sizeof want, "cannot freeze T1/pool[%d]: task %d is exiting", pid, pid);
	ok(out && !strncmp(out, "X\n", 2) && strstr(out, want),
	   "freezing the exiting worker is refused, saying it is exiting: %s", out ? out : "(no output)");
	free(out);
}

static void kaslr_case(void)
{
	char path[128];
	const char *text =
		"host { pcpus = 1 }\n"
		"domain { name = 'K1', vcpus = 2, ram = '128M', kaslr = true }\n"
		"domain { name = 'K2', vcpus = 1, ram = '64M', kaslr = true, pti = true }\n"
		"for i = 1, 5 do task { dom = 'K1', comm = 'busy' .. i, run = cpu() } end\n"
		"task { dom = 'K1', comm = 'nap', threads = 3, run = periodic { run = '3ms', sleep = '20ms' } }\n"
		"task { dom = 'K2', comm = 'web', run = phases { busy = '300ms', idle = '200ms' } }\n";
	if (simctl_write_scenario("kaslr.lua", text, path, sizeof path)) {
		ok(0, "kaslr scenario written");
		return;
	}
	sim_case("KASLR-like slide", path, "2s");
	char bin[256], cmd[512];
	simctl_bin("xds-lua", bin, sizeof bin);
	snprintf(cmd, sizeof cmd, "%s --sim %s -e 'for _, d in ipairs(xds.domains()) do print(d.name, d.slide) end'",
		 bin, path);
	char *out = run(cmd);
	long long s1 = 0, s2 = 0;
	int got = out ? sscanf(out, "K1 %lld\nK2 %lld", &s1, &s2) : 0;
	ok(got == 2 && s1 && s2 && s1 % (2 << 20) == 0 &&
	   s2 % (2 << 20) == 0 && s1 != s2,
	   "both guests found at non-zero, 2 MiB-aligned, different slides (%#llx, %#llx)", s1, s2);
	free(out);
	simctl_remove_scenario(path);
}

static void qemu_case(void)
{
	struct simctl sc;
	struct xds_err err;
	if (simctl_start(&sc, "sim/scenarios/paper.lua", NULL, &err)) {
		ok(0, "xds-sim starts: %s", err.msg);
		return;
	}
	simctl_step(&sc, 2500000000ULL, &err);
	json_t *truth = simctl_tasks(&sc, &err);
	char bin[256], sim[256], cache[128], cmd[2048];
	simctl_bin("xds-lua", bin, sizeof bin);
	simctl_bin("xds-sim", sim, sizeof sim);
	simctl_path(&sc, "cache", cache, sizeof cache);
	snprintf(cmd, sizeof cmd,
		 "XDG_CACHE_HOME=%s %s --qemu U1:ram=%s/U1.ram,qmp=%s/U1.qmp,vmlinux=%s,sysmap=%s/U1.System.map "
		 "--qemu U2:ram=%s/U2.ram,qmp=%s/U2.qmp,vmlinux=%s,sysmap=%s/U2.System.map -e 'ps()'",
		 cache, bin, sc.dir, sc.dir, sim, sc.dir, sc.dir, sc.dir, sim, sc.dir);
	char *ps = run(cmd);
	if (ps && truth) {
		struct rows got = parse_ps(ps), want = parse_truth(json_object_get(truth, "tasks"));
		compare("--qemu with vmlinux= and sysmap=", &got, &want);
	} else {
		ok(0, "--qemu: xds-lua ran and the truth was read");
	}
	free(ps);
	char cmdls[256];
	snprintf(cmdls, sizeof cmdls, "ls %s/xds-lua/*.profile 2>/dev/null | wc -l", cache);
	char *n = run(cmdls);
	int files = n ? atoi(n) : -1;
	ok(files == 1, "the profile built from vmlinux= is cached (%d file)", files);
	free(n);
	char rmc[256];
	snprintf(rmc, sizeof rmc, "rm -rf %s", cache);
	if (system(rmc) != 0)
		diag("could not remove %s", cache);
	json_decref(truth);
	simctl_stop(&sc);
}

int main(void)
{
	sim_case("paper.lua after 3 s", "sim/scenarios/paper.lua", "3s");
	sim_case("fig2.lua after 5 s", "sim/scenarios/fig2.lua", "5s");
	sim_case("large.lua (4 x 2 vCPUs x 500 tasks) after 1 s", "sim/scenarios/large.lua", "1s");
	threads_case();
	kaslr_case();
	qemu_case();
	return done_testing();
}
