/*
 * test_sim_dwarf_walk.c - the simulator's guest can be read the way
 * xds-lua reads a real one, knowing nothing of its sources: the offsets of
 * task_struct.tasks, .pid, .comm, .se and sched_entity.sum_exec_runtime
 * come from the xds-sim binary's DWARF (through pahole's output), init_task
 * and page_offset_base from NAME.System.map, the direct-map base from
 * page_offset_base's contents.  Walking the task lists (leaders, then each
 * leader's signal->thread_head) in NAME.ram must give
 * exactly the ground truth's alive tasks of that domain (pid, comm, CPU
 * time), at the same virtual time, after tasks have started and exited.
 * This file deliberately does not include sim/kernel.h.
 */
#include <ctype.h>

#include "tests/tap.h"
#include "tests/simctl.h"

#define MAX_WALK 4096

/* Tasks come and go: some exit, one starts late, two vCPUs. */
static const char scenario[] =
	"host { pcpus = 2 }\n"
	"domain { name = \"W\", vcpus = 2, ram = \"64M\" }\n"
	"domain { name = \"X\", vcpus = 1, ram = \"64M\" }\n"
	"task { dom = \"W\", comm = \"busy\", pid = 700, run = cpu() }\n"
	"task { dom = \"W\", comm = \"tick\", pid = 701, run = periodic { run = \"2ms\", sleep = \"9ms\" } }\n"
	"task { dom = \"W\", comm = \"quitter\", pid = 702, exit = \"300ms\" }\n"
	"task { dom = \"W\", comm = \"late\", pid = 703, start = \"400ms\", run = bursty { run = \"1ms\", sleep = \"5ms\" } }\n"
	"task { dom = \"W\", comm = \"pool\", pid = 800, threads = 5, run = periodic { run = \"1ms\", sleep = \"20ms\" } }\n"
	"task { dom = \"W\", comm = \"brief\", pid = 900, start = \"100ms\", exit = \"200ms\" }\n"
	"task { dom = \"X\", comm = \"elsewhere\", pid = 700, run = cpu() }\n";

struct layout {
	long tasks, pid, comm, se, sum_exec_runtime, signal, thread_node, thread_head;
};

/* Offset of member `name` at the top level of pahole -C `type`'s output:
 * lines like "	struct list_head tasks; /+ 288 16 +/". */
static long pahole_offset(const char *bin, const char *type, const char *name, struct xds_err *err)
{
	char cmd[512], line[512];
	snprintf(cmd, sizeof cmd, "pahole -C %s %s 2>/dev/null", type, bin);
	FILE *p = popen(cmd, "r");
	long found = -1;
	int depth = 0;
	while (p && fgets(line, sizeof line, p)) {
		int at_top = depth == 1;
		depth += (int)(strchr(line, '{') != NULL) - (int)(strchr(line, '}') != NULL);
		char *semi = strchr(line, ';'), *cm = strstr(line, "/*");
		long off, size;
		if (!at_top || !semi || !cm || cm < semi || sscanf(cm, "/* %ld %ld */", &off, &size) != 2)
			continue;
		*semi = 0;
		char *attr = strstr(line, "__attribute__");
		if (attr)
			*attr = 0;
		char *br = strchr(line, '[');
		if (br)
			*br = 0;
		char *end = line + strlen(line);
		while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = 0;
		char *start = end;
		while (start > line && (isalnum((unsigned char)start[-1]) || start[-1] == '_'))
			start--;
		if (!strcmp(start, name) && found < 0)
			found = off;
	}
	int st = p ? pclose(p) : -1;
	if (found < 0)
		xds_fail(err, "pahole -C %s %s: no member '%s' (status %d)", type, bin, name, st);
	return found;
}

static int read_layout(struct layout *l, struct xds_err *err)
{
	char bin[256];
	simctl_bin("xds-sim", bin, sizeof bin);
	l->tasks = pahole_offset(bin, "task_struct", "tasks", err);
	l->pid = pahole_offset(bin, "task_struct", "pid", err);
	l->comm = pahole_offset(bin, "task_struct", "comm", err);
	l->se = pahole_offset(bin, "task_struct", "se", err);
	l->sum_exec_runtime = pahole_offset(bin, "sched_entity", "sum_exec_runtime", err);
	l->signal = pahole_offset(bin, "task_struct", "signal", err);
	l->thread_node = pahole_offset(bin, "task_struct", "thread_node", err);
	l->thread_head = pahole_offset(bin, "signal_struct", "thread_head", err);
	return l->tasks < 0 || l->pid < 0 || l->comm < 0 || l->se < 0 || l->sum_exec_runtime < 0 ||
	       l->signal < 0 || l->thread_node < 0 || l->thread_head < 0 ? -1 : 0;
}

struct guest {
	uint8_t *ram;
	size_t size;
	uint64_t page_offset;
};

/* Kernel image: _text at 0xffffffff81000000 in frame 16 MiB (no KASLR);
 * direct map: at the base the guest keeps in page_offset_base. */
static const void *gptr(const struct guest *g, uint64_t va, size_t len)
{
	uint64_t pa;
	if (va >= SIMCTL_KIMG_VA)
		pa = va - SIMCTL_KIMG_VA + SIMCTL_KIMG_PA;
	else if (va >= g->page_offset && va - g->page_offset < g->size)
		pa = va - g->page_offset;
	else
		return NULL;
	return pa + len <= g->size ? g->ram + pa : NULL;
}

static int rd(const struct guest *g, uint64_t va, void *out, size_t len)
{
	const void *p = gptr(g, va, len);
	if (p)
		memcpy(out, p, len);
	return p ? 0 : -1;
}

struct found {
	int pid;
	char comm[17];
	uint64_t cpu;
};

static int found_at(const struct guest *g, const struct layout *l, uint64_t task, struct found *f)
{
	memset(f, 0, sizeof *f);
	return rd(g, task + (uint64_t)l->pid, &f->pid, 4) || rd(g, task + (uint64_t)l->comm, f->comm, 16) ||
	       rd(g, task + (uint64_t)(l->se + l->sum_exec_runtime), &f->cpu, 8);
}

/* Linux's way: the leaders from init_task.tasks (every task but init_task
 * itself), and each leader's threads from its signal->thread_head. */
static int walk(const struct guest *g, const struct layout *l, uint64_t init_task, struct found *out,
		int max, struct xds_err *err)
{
	uint64_t head = init_task + (uint64_t)l->tasks, cur;
	int n = 0;
	if (rd(g, head, &cur, 8))
		return xds_fail(err, "init_task.tasks at %#" PRIx64 " is outside RAM", head);
	while (cur != head) {
		uint64_t task = cur - (uint64_t)l->tasks, sig, th, node;
		if (n == max)
			return xds_fail(err, "task list longer than %d", max);
		if (found_at(g, l, task, &out[n++]) || rd(g, cur, &cur, 8) || rd(g, task + (uint64_t)l->signal, &sig, 8))
			return xds_fail(err, "task_struct at %#" PRIx64 " is outside RAM", task);
		th = sig + (uint64_t)l->thread_head;
		if (rd(g, th, &node, 8))
			return xds_fail(err, "signal_struct at %#" PRIx64 " is outside RAM", sig);
		for (int k = 0; node != th; k++) {
			uint64_t t = node - (uint64_t)l->thread_node;
			if (n == max || k == max)
				return xds_fail(err, "thread list longer than %d", max);
			if (t != task && found_at(g, l, t, &out[n++]))
				return xds_fail(err, "task_struct at %#" PRIx64 " is outside RAM", t);
			if (rd(g, node, &node, 8))
				return xds_fail(err, "thread_node at %#" PRIx64 " is outside RAM", node);
		}
	}
	return n;
}

static void compare(const json_t *truth, const char *dom, const struct found *f, int n)
{
	int alive = 0, matched = 0, same_cpu = 0;
	const json_t *arr = json_object_get(truth, "tasks");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *t = json_array_get(arr, i);
		const char *d = json_string_value(json_object_get(t, "dom"));
		if (!d || strcmp(d, dom) || !json_is_true(json_object_get(t, "alive")))
			continue;
		alive++;
		int pid = (int)simctl_int(t, "pid");
		const char *comm = json_string_value(json_object_get(t, "comm"));
		for (int k = 0; k < n; k++) {
			if (f[k].pid != pid || !comm || strcmp(f[k].comm, comm))
				continue;
			matched++;
			if ((int64_t)f[k].cpu == simctl_int(t, "cputime_ns"))
				same_cpu++;
			else
				diag("%s pid %d (%s): sum_exec_runtime %" PRIu64 ", truth %" PRId64, dom, pid, comm,
				     f[k].cpu, simctl_int(t, "cputime_ns"));
			break;
		}
	}
	diag("%s: %d tasks in the list, %d alive in the truth", dom, n, alive);
	ok(alive > 0 && n == alive, "%s: the task list holds as many tasks as the truth's alive ones (%d)", dom, alive);
	is_int(matched, alive, "%s: every alive task is in the list with its pid and comm", dom);
	is_int(same_cpu, alive, "%s: se.sum_exec_runtime equals the truth's CPU time for each", dom);
}

static void check_domain(struct simctl *sc, const struct layout *l, const char *dom, const json_t *truth)
{
	struct xds_err err;
	struct guest g = { 0 };
	uint64_t init_task = simctl_symbol(sc, dom, "init_task");
	uint64_t pob = simctl_symbol(sc, dom, "page_offset_base");
	if (!ok(init_task && pob, "%s.System.map has init_task and page_offset_base", dom))
		return;
	if (!ok((g.ram = simctl_map_ram(sc, dom, &g.size, &err)) != NULL, "%s.ram maps", dom)) {
		diag("%s", err.msg);
		return;
	}
	int pob_ok = rd(&g, pob, &g.page_offset, 8) == 0;
	ok(pob_ok && g.page_offset >> 47 == 0x1ffff,
	   "%s: page_offset_base holds a kernel address (%#" PRIx64 ")", dom, g.page_offset);
	struct found f[MAX_WALK];
	int n = walk(&g, l, init_task, f, MAX_WALK, &err);
	if (ok(n >= 0, "%s: the task list walk ends at init_task", dom))
		compare(truth, dom, f, n);
	else
		diag("%s", err.msg);
	munmap(g.ram, g.size);
}

int main(void)
{
	struct layout l;
	struct xds_err err;
	if (system("pahole --version >/dev/null 2>&1") != 0) {
		ok(1, "# SKIP pahole is not installed");
		return done_testing();
	}
	if (!ok(read_layout(&l, &err) == 0, "offsets from xds-sim's DWARF via pahole")) {
		diag("%s", err.msg);
		return done_testing();
	}
	diag("task_struct.tasks %ld pid %ld comm %ld se %ld; sched_entity.sum_exec_runtime %ld",
	     l.tasks, l.pid, l.comm, l.se, l.sum_exec_runtime);
	char path[256];
	struct simctl sc;
	if (!ok(simctl_write_scenario("walk.lua", scenario, path, sizeof path) == 0, "scenario written") ||
	    !ok(simctl_start(&sc, path, NULL, &err) == 0, "xds-sim serves it")) {
		diag("%s", err.msg);
		return done_testing();
	}
	static const uint64_t at[] = { 150000000, 350000000, 1000000000 };
	uint64_t now = 0;
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		json_t *truth = NULL;
		if (!ok(simctl_step(&sc, at[i] - now, &err) == (int64_t)at[i] && (truth = simctl_tasks(&sc, &err)),
			"stepped to %.2f s, ground truth read", at[i] / 1e9)) {
			diag("%s", err.msg);
			break;
		}
		now = at[i];
		check_domain(&sc, &l, "W", truth);
		check_domain(&sc, &l, "X", truth);
		json_decref(truth);
	}
	is_int(simctl_violations(&sc, &err), 0, "no invariant violated");
	simctl_stop(&sc);
	simctl_remove_scenario(path);
	return done_testing();
}
