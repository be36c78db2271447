/*
 * test_profile.c - kernel profiles from DWARF.
 *
 * Compiles tests/unit/data/profile_kernel.c (which includes sim/kernel.h)
 * with cc -g, builds a profile from the object and checks every offset and
 * size against offsetof/sizeof computed here from the same header; then the
 * errors that name what is missing, renamed fields, System.map, an
 * executable, compressed DWARF, objects and executables in turn,
 * save/load, and corrupt profiles and ELF files.
 */
#include <elf.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile/profile.h"
#include "sim/kernel.h"
#include "tests/tap.h"
#include "tests/unit/data/profile_anon.h"

static char dir[64];

static const char *src_dir(void)
{
	const char *s = getenv("XDS_SRC");
	return s ? s : ".";
}

/* cc -g [-c] FLAGS data/NAME.c -o DIR/OUT; returns the output path. */
static const char *compile(const char *name, const char *flags,
			   const char *out)
{
	static char path[8][128];
	static int n;
	char cmd[1024];
	char *o = path[n++ % 8];
	snprintf(o, 128, "%s/%s", dir, out);
	snprintf(cmd, sizeof cmd, "cc -g %s -I%s -I%s/tests/unit/data "
		 "%s/tests/unit/data/%s.c -o %s", flags, src_dir(), src_dir(),
		 src_dir(), name, o);
	if (system(cmd) != 0) {
		diag("failed: %s", cmd);
		return NULL;
	}
	return o;
}

#define MEMBER_SIZE(type, m) sizeof(((type *)0)->m)

#define FIELD_IS(p, id, type, m) do {                                      \
	const struct profile_field *f_ = profile_field(p, id);             \
	ok(f_->present, #type "." #m " is present");                       \
	is_int(f_->offset, offsetof(type, m), #type "." #m " offset");     \
	is_int(f_->size, MEMBER_SIZE(type, m), #type "." #m " size");      \
} while (0)

static void check_task_struct(const struct profile *p)
{
	FIELD_IS(p, F_TASK_STATE, struct task_struct, __state);
	FIELD_IS(p, F_TASK_ON_RQ, struct task_struct, on_rq);
	FIELD_IS(p, F_TASK_ON_CPU, struct task_struct, on_cpu);
	FIELD_IS(p, F_TASK_PRIO, struct task_struct, prio);
	FIELD_IS(p, F_TASK_STATIC_PRIO, struct task_struct, static_prio);
	FIELD_IS(p, F_TASK_NORMAL_PRIO, struct task_struct, normal_prio);
	FIELD_IS(p, F_TASK_POLICY, struct task_struct, policy);
	FIELD_IS(p, F_TASK_SE, struct task_struct, se);
	FIELD_IS(p, F_TASK_TASKS, struct task_struct, tasks);
	FIELD_IS(p, F_TASK_PID, struct task_struct, pid);
	FIELD_IS(p, F_TASK_TGID, struct task_struct, tgid);
	FIELD_IS(p, F_TASK_COMM, struct task_struct, comm);
	FIELD_IS(p, F_TASK_THREAD_INFO, struct task_struct, thread_info);
	FIELD_IS(p, F_TASK_PI_LOCK, struct task_struct, pi_lock);
	FIELD_IS(p, F_TASK_EXIT_STATE, struct task_struct, exit_state);
	FIELD_IS(p, F_TASK_CPU, struct task_struct, thread_info.cpu);
	is_str(profile_field_path(p, F_TASK_CPU), "thread_info.cpu",
	       "the vCPU number is found nested in thread_info");
	FIELD_IS(p, F_TASK_SCHED_TASK_GROUP, struct task_struct,
		 sched_task_group);
	FIELD_IS(p, F_TASK_GROUP_LEADER, struct task_struct, group_leader);
	FIELD_IS(p, F_TASK_FLAGS, struct task_struct, flags);
	ok(!profile_field(p, F_TASK_PSI_FLAGS)->present,
	   "task_struct.psi_flags absent");
}

static void check_sched(const struct profile *p)
{
	FIELD_IS(p, F_TI_FLAGS, struct thread_info, flags);
	FIELD_IS(p, F_TI_CPU, struct thread_info, cpu);
	FIELD_IS(p, F_SE_LOAD, struct sched_entity, load);
	FIELD_IS(p, F_SE_RUN_NODE, struct sched_entity, run_node);
	FIELD_IS(p, F_SE_GROUP_NODE, struct sched_entity, group_node);
	FIELD_IS(p, F_SE_ON_RQ, struct sched_entity, on_rq);
	FIELD_IS(p, F_SE_EXEC_START, struct sched_entity, exec_start);
	FIELD_IS(p, F_SE_SUM_EXEC_RUNTIME, struct sched_entity,
		 sum_exec_runtime);
	FIELD_IS(p, F_SE_PREV_SUM_EXEC_RUNTIME, struct sched_entity,
		 prev_sum_exec_runtime);
	FIELD_IS(p, F_SE_VRUNTIME, struct sched_entity, vruntime);
	FIELD_IS(p, F_SE_DEPTH, struct sched_entity, depth);
	FIELD_IS(p, F_SE_PARENT, struct sched_entity, parent);
	FIELD_IS(p, F_SE_CFS_RQ, struct sched_entity, cfs_rq);
	FIELD_IS(p, F_SE_MY_Q, struct sched_entity, my_q);
	FIELD_IS(p, F_CFS_RQ_LOAD, struct cfs_rq, load);
	FIELD_IS(p, F_CFS_RQ_NR_RUNNING, struct cfs_rq, nr_running);
	FIELD_IS(p, F_CFS_RQ_H_NR_RUNNING, struct cfs_rq, h_nr_running);
	FIELD_IS(p, F_CFS_RQ_IDLE_H_NR_RUNNING, struct cfs_rq,
		 idle_h_nr_running);
	FIELD_IS(p, F_CFS_RQ_MIN_VRUNTIME, struct cfs_rq, min_vruntime);
	FIELD_IS(p, F_CFS_RQ_TASKS_TIMELINE, struct cfs_rq, tasks_timeline);
	FIELD_IS(p, F_CFS_RQ_CURR, struct cfs_rq, curr);
	FIELD_IS(p, F_CFS_RQ_NEXT, struct cfs_rq, next);
	FIELD_IS(p, F_CFS_RQ_LAST, struct cfs_rq, last);
	FIELD_IS(p, F_CFS_RQ_SKIP, struct cfs_rq, skip);
	FIELD_IS(p, F_CFS_RQ_RQ, struct cfs_rq, rq);
	FIELD_IS(p, F_CFS_RQ_TG, struct cfs_rq, tg);
	FIELD_IS(p, F_RQ_LOCK, struct rq, __lock);
	FIELD_IS(p, F_RQ_NR_RUNNING, struct rq, nr_running);
	FIELD_IS(p, F_RQ_CFS, struct rq, cfs);
	FIELD_IS(p, F_RQ_CURR, struct rq, curr);
	FIELD_IS(p, F_RQ_IDLE, struct rq, idle);
	FIELD_IS(p, F_RQ_CFS_TASKS, struct rq, cfs_tasks);
	FIELD_IS(p, F_RQ_CPU, struct rq, cpu);
	FIELD_IS(p, F_RQ_CLOCK, struct rq, clock);
	FIELD_IS(p, F_RQ_CLOCK_TASK, struct rq, clock_task);
	FIELD_IS(p, F_RQ_NR_SWITCHES, struct rq, nr_switches);
}

static void check_small_structs(const struct profile *p)
{
	FIELD_IS(p, F_RB_PARENT_COLOR, struct rb_node, __rb_parent_color);
	FIELD_IS(p, F_RB_RIGHT, struct rb_node, rb_right);
	FIELD_IS(p, F_RB_LEFT, struct rb_node, rb_left);
	FIELD_IS(p, F_RB_ROOT_NODE, struct rb_root, rb_node);
	FIELD_IS(p, F_RBC_ROOT, struct rb_root_cached, rb_root);
	FIELD_IS(p, F_RBC_LEFTMOST, struct rb_root_cached, rb_leftmost);
	FIELD_IS(p, F_LIST_NEXT, struct list_head, next);
	FIELD_IS(p, F_LIST_PREV, struct list_head, prev);
	FIELD_IS(p, F_LW_WEIGHT, struct load_weight, weight);
	FIELD_IS(p, F_LW_INV_WEIGHT, struct load_weight, inv_weight);
	FIELD_IS(p, F_TG_SE, struct task_group, se);
	FIELD_IS(p, F_TG_CFS_RQ, struct task_group, cfs_rq);
	FIELD_IS(p, F_TG_SHARES, struct task_group, shares);
	FIELD_IS(p, F_TG_PARENT, struct task_group, parent);
}

#define STRUCT_IS(p, id, type) do {                                        \
	ok(profile_struct(p, id)->present, #type " is present");           \
	is_int(profile_struct(p, id)->size, sizeof(type), "sizeof " #type);\
} while (0)

static void check_structs(const struct profile *p)
{
	STRUCT_IS(p, T_TASK_STRUCT, struct task_struct);
	STRUCT_IS(p, T_THREAD_INFO, struct thread_info);
	STRUCT_IS(p, T_SCHED_ENTITY, struct sched_entity);
	STRUCT_IS(p, T_CFS_RQ, struct cfs_rq);
	STRUCT_IS(p, T_RQ, struct rq);
	STRUCT_IS(p, T_RB_NODE, struct rb_node);
	STRUCT_IS(p, T_RB_ROOT, struct rb_root);
	STRUCT_IS(p, T_RB_ROOT_CACHED, struct rb_root_cached);
	STRUCT_IS(p, T_LIST_HEAD, struct list_head);
	STRUCT_IS(p, T_LOAD_WEIGHT, struct load_weight);
	STRUCT_IS(p, T_RAW_SPINLOCK, raw_spinlock_t);
	STRUCT_IS(p, T_TASK_GROUP, struct task_group);
	ok(!profile_struct(p, T_SCHED_INFO)->present &&
	   !profile_struct(p, T_UTIL_EST)->present,
	   "optional structs the simulator lacks are recorded absent");
}

static void check_derived(const struct profile *p)
{
	is_str(profile_family_name(p->family), "cfs",
	       "min_vruntime and tasks_timeline, no deadline: family cfs");
	ok(p->group_sched, "sched_entity.my_q present: group scheduling");
	ok(!p->delayed_dequeue, "no sched_delayed: no delayed dequeue");
	ok(!p->psi, "no psi_flags: no PSI");
	is_str(profile_state_field(p), "__state", "state field is __state");
	is_str(profile_lock_field(p), "__lock", "rq lock field is __lock");
	is_str(p->banner, "Linux version 6.1.0-xds-fixture (test@profile) #1 SMP",
	       "banner read from the object, trimmed at the newline");
	for (int s = S_INIT_TASK; s <= S_LINUX_BANNER; s++)
		ok(profile_sym(p, s)->present, "symbol %s found",
		   profile_sym_name(s));
	ok(profile_sym(p, S_ROOT_TASK_GROUP)->present &&
	   profile_sym(p, S_PAGE_OFFSET_BASE)->present,
	   "optional symbols present when defined");
	ok(!profile_sym(p, S_PSI_SYSTEM)->present, "psi_system absent");
}

static void test_object(void)
{
	struct profile p;
	struct xds_err err = { "" };
	const char *o = compile("profile_kernel", "-c", "profile_kernel.o");
	int rc = o ? profile_build(o, NULL, &p, &err) : -1;
	if (!ok(rc == 0, "profile builds from a -g object of sim/kernel.h")) {
		diag("%s", err.msg);
		return;
	}
	is_str(p.source, "profile_kernel.o", "source is the file's name");
	check_structs(&p);
	check_task_struct(&p);
	check_sched(&p);
	check_small_structs(&p);
	check_derived(&p);
}

static void expect_build_error(const char *path, const char *want,
			       const char *what)
{
	struct profile p;
	struct xds_err err = { "" };
	int rc = path ? profile_build(path, NULL, &p, &err) : 0;
	ok(rc < 0, "%s: build fails", what);
	if (!ok(strstr(err.msg, want) != NULL, "%s: error names it", what))
		diag("got '%s', want '%s'", err.msg, want);
}

static void expect_error(const char *flags, const char *out,
			 const char *want, const char *what)
{
	expect_build_error(compile("profile_kernel", flags, out), want, what);
}

static void test_missing(void)
{
	expect_error("-c -Dpid=xpid", "profile_nopid.o",
		     "profile_nopid.o: struct task_struct has no field 'pid'",
		     "task_struct without pid");
	expect_error("-c -DPROFILE_NO_RUNQUEUES", "profile_norq.o",
		     "profile_norq.o: no symbol 'runqueues'",
		     "no runqueues symbol");
	expect_error("-c -Drb_leftmost=leftmost", "profile_norbc.o",
		     "struct rb_root_cached has no field 'rb_leftmost'",
		     "rb_root_cached without rb_leftmost");
	expect_error("-c -g0", "profile_nodwarf.o",
		     "profile_nodwarf.o: no DWARF debug information",
		     "an object compiled without -g");
	struct profile p;
	struct xds_err err = { "" };
	ok(profile_build("/nonexistent/vmlinux", NULL, &p, &err) < 0 &&
	   strstr(err.msg, "/nonexistent/vmlinux"), "a missing file is named");
	ok(profile_build("tests/unit/data/profile_anon.h", NULL, &p, &err) < 0
	   && strstr(err.msg, "not a 64-bit"), "a non-ELF file is refused");
}

static void test_renamed(void)
{
	struct profile p;
	struct xds_err err = { "" };
	const char *o = compile("profile_kernel",
				"-c -D__state=state -D__lock=lock "
				"-Dh_nr_running=h_nr_queued", "profile_old.o");
	int rc = o ? profile_build(o, NULL, &p, &err) : -1;
	if (!ok(rc == 0, "renamed fields: profile builds"))
		diag("%s", err.msg);
	is_str(profile_state_field(&p), "state", "state field is 'state'");
	is_str(profile_lock_field(&p), "lock", "rq lock field is 'lock'");
	is_int(profile_field(&p, F_TASK_STATE)->offset,
	       offsetof(struct task_struct, __state), "state offset");
	is_int(profile_field(&p, F_CFS_RQ_H_NR_RUNNING)->offset,
	       offsetof(struct cfs_rq, h_nr_running),
	       "cfs_rq.h_nr_queued offset");
	is_str(profile_field_path(&p, F_CFS_RQ_H_NR_RUNNING), "h_nr_queued",
	       "the alternative that matched is recorded");
}

static void test_sysmap_and_executable(void)
{
	char map[128];
	struct profile p;
	struct xds_err err = { "" };
	snprintf(map, sizeof map, "%s/System.map", dir);
	FILE *f = fopen(map, "w");
	fprintf(f, "ffffffff81000000 T _text\n"
		   "ffffffff82a1aa40 D init_task\n"
		   "0000000000031c40 D runqueues\n"
		   "ffffffff8241cb60 D __per_cpu_offset\n"
		   "ffffffff82c3ca10 D nr_cpu_ids\n");
	fclose(f);
	const char *o = compile("profile_kernel", "-DPROFILE_MAIN",
				"profile_kernel.elf");
	ok(o && profile_build(o, map, &p, &err) < 0 &&
	   strstr(err.msg, "no symbol 'linux_banner'"),
	   "System.map without linux_banner: error names it");
	f = fopen(map, "a");
	fprintf(f, "%016llx R linux_banner\n", 0ull);
	fclose(f);
	struct profile e;
	int rc = o ? profile_build(o, NULL, &e, &err) : -1;
	if (!ok(rc == 0, "profile builds from an executable (mmap reader)"))
		diag("%s", err.msg);
	check_structs(&e);
	check_task_struct(&e);
	is_str(e.banner, "Linux version 6.1.0-xds-fixture (test@profile) #1 SMP",
	       "executable: banner read at the symbol's address");
	/* map linux_banner to the executable's own address */
	f = fopen(map, "w");
	fprintf(f, "ffffffff82a1aa40 D init_task\n0000000000031c40 D runqueues\n"
		   "ffffffff8241cb60 D __per_cpu_offset\n"
		   "ffffffff82c3ca10 D nr_cpu_ids\n%016llx R linux_banner\n",
		(unsigned long long)e.syms[S_LINUX_BANNER].addr);
	fclose(f);
	rc = profile_build(o, map, &p, &err);
	if (!ok(rc == 0, "profile builds with a System.map"))
		diag("%s", err.msg);
	is_int(profile_sym(&p, S_RUNQUEUES)->addr, 0x31c40,
	       "runqueues from System.map");
	is_int(profile_sym(&p, S_INIT_TASK)->addr, 0xffffffff82a1aa40ull,
	       "init_task from System.map");
	ok(!profile_sym(&p, S_TEXT)->present,
	   "symbols come from System.map alone when it is given");
	is_str(p.banner, e.banner, "banner found through the map's address");
	f = fopen(map, "w");
	fprintf(f, "ffffffff82a1aa40 D init_task\ngarbage\n");
	fclose(f);
	ok(profile_build(o, map, &p, &err) < 0 &&
	   strstr(err.msg, "System.map:2:"), "a malformed map line: file:line");
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static char *slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = 0;
	if (f)
		fclose(f);
	return buf;
}

static bool same_profile(const struct profile *a, const struct profile *b)
{
	bool same = strcmp(a->source, b->source) == 0 &&
		    strcmp(a->banner, b->banner) == 0 &&
		    a->family == b->family && a->group_sched == b->group_sched &&
		    a->psi == b->psi && a->delayed_dequeue == b->delayed_dequeue;
	for (int t = 0; t < T__COUNT; t++)
		same = same && a->structs[t].present == b->structs[t].present &&
		       a->structs[t].size == b->structs[t].size;
	for (int i = 0; i < F__COUNT; i++)
		same = same && a->fields[i].present == b->fields[i].present &&
		       a->fields[i].offset == b->fields[i].offset &&
		       a->fields[i].size == b->fields[i].size &&
		       a->fields[i].alt == b->fields[i].alt;
	for (int s = 0; s < S__COUNT; s++)
		same = same && a->syms[s].present == b->syms[s].present &&
		       a->syms[s].addr == b->syms[s].addr;
	return same;
}

/* Replace the first line starting with `from` by `to`, write to path. */
static void corrupt(const char *good, const char *from, const char *to,
		    const char *path)
{
	static char buf[65536];
	snprintf(buf, sizeof buf, "%s", good);
	char *at = strstr(buf, from);
	if (at) {
		char rest[65536];
		snprintf(rest, sizeof rest, "%s", strchr(at, '\n'));
		snprintf(at, sizeof buf - (size_t)(at - buf), "%s%s", to, rest);
	}
	write_text(path, buf);
}

static int line_of(const char *text, const char *prefix)
{
	int line = 1;
	const char *at = strstr(text, prefix);
	for (const char *s = text; at && s < at; s++)
		line += *s == '\n';
	return at ? line : -1;
}

static void expect_load_error(const char *path, const char *want,
			      const char *what)
{
	struct profile p;
	struct xds_err err = { "" };
	ok(profile_load(path, &p, &err) < 0, "%s: load fails", what);
	if (!ok(strstr(err.msg, want) != NULL, "%s: error says '%s'", what,
		want))
		diag("got '%s'", err.msg);
}

static void test_save_load(void)
{
	struct profile p, q;
	struct xds_err err = { "" };
	char path[128], bad[128], want[256];
	const char *o = compile("profile_kernel", "-c", "profile_kernel.o");
	snprintf(path, sizeof path, "%s/kernel.prof", dir);
	snprintf(bad, sizeof bad, "%s/bad.prof", dir);
	if (!o || profile_build(o, NULL, &p, &err) < 0 ||
	    profile_save(&p, path, &err) < 0)
		diag("%s", err.msg);
	int rc = profile_load(path, &q, &err);
	if (!ok(rc == 0, "a saved profile loads"))
		diag("%s", err.msg);
	ok(same_profile(&p, &q), "save then load gives the same profile");
	char good[65536];
	snprintf(good, sizeof good, "%s", slurp(path));
	ok(strncmp(good, "xds-profile 1\n", 14) == 0,
	   "the file starts with 'xds-profile 1'");
	char *shown = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&shown, &len);
	profile_print(&q, m);
	fclose(m);
	is_str(shown, good, "profile_print prints exactly the file");
	free(shown);

	corrupt(good, "xds-profile 1", "xds-profile 2", bad);
	snprintf(want, sizeof want, "%s:1: profile version 2", bad);
	expect_load_error(bad, want, "wrong version");
	corrupt(good, "field task_struct.pid", "field task_struct.pid 12x 4",
		bad);
	snprintf(want, sizeof want, "%s:%d: bad field offset", bad,
		 line_of(good, "field task_struct.pid "));
	expect_load_error(bad, want, "bad number");
	corrupt(good, "sym runqueues", "frobnicate runqueues 1", bad);
	snprintf(want, sizeof want, "%s:%d: unknown keyword 'frobnicate'", bad,
		 line_of(good, "sym runqueues"));
	expect_load_error(bad, want, "unknown keyword");
	corrupt(good, "field task_struct.comm", "field task_struct.kome 1 2",
		bad);
	snprintf(want, sizeof want, "%s:%d: unknown field 'task_struct.kome'",
		 bad, line_of(good, "field task_struct.comm"));
	expect_load_error(bad, want, "unknown field");
	corrupt(good, "field task_struct.pid", "field task_struct.pid -", bad);
	expect_load_error(bad, "struct task_struct has no field 'pid'",
			  "a required field marked absent");
	corrupt(good, "family cfs", "family eevdf", bad);
	expect_load_error(bad, "family is 'eevdf' but the fields say 'cfs'",
			  "derived flag contradicting the fields");
	write_text(bad, "");
	expect_load_error(bad, "empty file", "empty file");
}

static void test_anonymous_members(void)
{
	static const char *flags[2] = { "-c", "-c -gdwarf-2 -gstrict-dwarf" };
	static const char *outs[2] = { "anon5.o", "anon2.o" };
	for (int i = 0; i < 2; i++) {
		const char *o = compile("profile_anon", flags[i], outs[i]);
		uint32_t off = 0, size = 0;
		struct xds_err err = { "" };
		if (!o)
			continue;
		int rc = profile_dwarf_member(o, "anon_probe", "d", &off, &size,
					      &err);
		ok(rc == 0 && off == offsetof(struct anon_probe, d) &&
		   size == sizeof(int), "%s: member two anonymous levels down",
		   outs[i]);
		rc = profile_dwarf_member(o, "anon_probe", "e", &off, &size,
					  &err);
		ok(rc == 0 && off == offsetof(struct anon_probe, e),
		   "%s: member of an anonymous union", outs[i]);
		rc = profile_dwarf_member(o, "anon_probe", "named.f", &off,
					  &size, &err);
		ok(rc == 0 && off == offsetof(struct anon_probe, named.f),
		   "%s: nested path named.f", outs[i]);
		rc = profile_dwarf_member(o, "anon_probe", "grid", &off, &size,
					  &err);
		ok(rc == 0 && size == sizeof(int[2][3]),
		   "%s: size of a 2-d array", outs[i]);
		rc = profile_dwarf_member(o, "anon_probe", "zz", &off, &size,
					  &err);
		ok(rc < 0 && strstr(err.msg, "struct anon_probe has no field "
				    "'zz'"), "%s: missing member named", outs[i]);
	}
}

/* -gz: libdwarf inflates the sections, in an executable and in an object
 * whose relocations apply to the inflated bytes. */
static void test_compressed(void)
{
	static const char *flags[2] = { "-gz -DPROFILE_MAIN", "-gz -c" };
	static const char *outs[2] = { "kernel_gz.elf", "kernel_gz.o" };
	for (int i = 0; i < 2; i++) {
		struct profile p;
		struct xds_err err = { "" };
		const char *o = compile("profile_kernel", flags[i], outs[i]);
		int rc = o ? profile_build(o, NULL, &p, &err) : -1;
		if (!ok(rc == 0, "%s: compressed DWARF: profile builds",
			outs[i]))
			diag("%s", err.msg);
		is_int(profile_struct(&p, T_TASK_STRUCT)->size,
		       sizeof(struct task_struct), "%s: sizeof task_struct",
		       outs[i]);
		is_int(profile_field(&p, F_TASK_PID)->offset,
		       offsetof(struct task_struct, pid),
		       "%s: task_struct.pid offset", outs[i]);
	}
}

/* libdwarf keeps process-wide state between opens: reading an object, an
 * executable and the object again must give the same answers each time. */
static void test_alternating_readers(void)
{
	const char *o = compile("profile_kernel", "-c", "alt.o");
	const char *x = compile("profile_kernel", "-DPROFILE_MAIN", "alt.elf");
	int good = 0;
	for (int i = 0; i < 4; i++) {
		struct profile p;
		struct xds_err err = { "" };
		const char *path = i % 2 ? x : o;
		if (path && profile_build(path, NULL, &p, &err) == 0 &&
		    profile_field(&p, F_RQ_CFS)->offset ==
		    offsetof(struct rq, cfs))
			good++;
		else
			diag("%s: %s", path ? path : "(compile failed)",
			     err.msg);
	}
	is_int(good, 4, "object, executable, object, executable in one "
	       "process: every build right");
}

/* The fixture executable's bytes, corrupted one way at a time. */
static unsigned char image[1 << 18];
static size_t image_len;

static const char *write_image(const unsigned char *img, size_t len)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/corrupt.elf", dir);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(img, 1, len, f) != len) {
		diag("cannot write %s", path);
		if (f)
			fclose(f);
		return NULL;
	}
	return fclose(f) == 0 ? path : NULL;
}

static Elf64_Shdr *shdrs(unsigned char *img)
{
	return (Elf64_Shdr *)(img + ((Elf64_Ehdr *)img)->e_shoff);
}

static unsigned section_index(unsigned char *img, const char *name)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh = shdrs(img);
	const char *str = (const char *)img + sh[eh->e_shstrndx].sh_offset;
	for (unsigned i = 1; i < eh->e_shnum; i++)
		if (strcmp(str + sh[i].sh_name, name) == 0)
			return i;
	return 0;
}

enum shdr_field { SH_OFFSET, SH_SIZE, SH_NAME, SH_LINK, SH__COUNT };

static void set_field(Elf64_Shdr *sh, enum shdr_field field, uint64_t v)
{
	if (field == SH_OFFSET)
		sh->sh_offset = v;
	else if (field == SH_SIZE)
		sh->sh_size = v;
	else if (field == SH_NAME)
		sh->sh_name = (uint32_t)v;
	else
		sh->sh_link = (uint32_t)v;
}

/* A copy of the image with one section header field set; NULL if none. */
static unsigned char *with_section(const char *name, enum shdr_field field,
				   uint64_t v)
{
	static unsigned char img[sizeof image];
	memcpy(img, image, image_len);
	unsigned i = section_index(img, name);
	if (i == 0)
		return NULL;
	set_field(&shdrs(img)[i], field, v);
	return img;
}

static bool load_image(void)
{
	const char *x = compile("profile_kernel", "-DPROFILE_MAIN",
				"image.elf");
	FILE *f = x ? fopen(x, "rb") : NULL;
	image_len = f ? fread(image, 1, sizeof image, f) : 0;
	if (f)
		fclose(f);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)image;
	return image_len > sizeof *eh && image_len < sizeof image &&
	       eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) <=
	       image_len;
}

static void test_corrupt_elf(void)
{
	char want[128];
	if (!ok(load_image(), "the fixture executable is read for corrupting"))
		return;
	uint64_t shoff = ((Elf64_Ehdr *)image)->e_shoff;
	expect_build_error(write_image(image, shoff + 100),
			   "section headers: file offset",
			   "an ELF cut short in its section headers");
	expect_build_error(write_image(image, sizeof(Elf64_Ehdr)),
			   "section headers: file offset",
			   "an ELF header and nothing after it");
	expect_build_error(write_image(image, 20), "not a 64-bit",
			   "an ELF cut short in its header");
	unsigned char *img = with_section(".debug_info", SH_OFFSET, image_len + 4096);
	expect_build_error(img ? write_image(img, image_len) : NULL,
			   "section .debug_info: file offset",
			   ".debug_info's offset past the end of the file");
	img = with_section(".debug_abbrev", SH_SIZE, 1ull << 40);
	expect_build_error(img ? write_image(img, image_len) : NULL,
			   "section .debug_abbrev: file offset",
			   ".debug_abbrev's size past the end of the file");
	snprintf(want, sizeof want, "section %u:",
		 section_index(image, ".debug_str"));
	img = with_section(".debug_str", SH_NAME, 0xfffffff);
	expect_build_error(img ? write_image(img, image_len) : NULL, want,
			   "a section name outside .shstrtab");
	img = with_section(".symtab", SH_LINK,
			   section_index(image, ".debug_info"));
	expect_build_error(img ? write_image(img, image_len) : NULL,
			   "no symbol 'init_task'",
			   "symbol names in a section that holds no strings");
}

/* Seeded random values in the section headers' offset, size, name and
 * link: every build either succeeds or fails with a message naming the
 * file (under ASan too: no read outside the file). */
static void test_corrupt_elf_sweep(void)
{
	if (!image_len)
		return;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)image;
	static unsigned char img[sizeof image];
	unsigned seed = 1, named = 0, failed = 0;
	const unsigned n = 400;
	for (unsigned it = 0; it < n; it++) {
		struct profile p;
		struct xds_err err = { "" };
		memcpy(img, image, image_len);
		Elf64_Shdr *sh = &shdrs(img)[1 + rand_r(&seed) %
					    (eh->e_shnum - 1)];
		uint64_t v = rand_r(&seed) % 4 ? rand_r(&seed) % (image_len + 64)
			     : (uint64_t)rand_r(&seed) << 24;
		enum shdr_field field = rand_r(&seed) % SH__COUNT;
		set_field(sh, field, field == SH_LINK ? v % 64 : v);
		const char *path = write_image(img, image_len);
		if (!path || profile_build(path, NULL, &p, &err) == 0)
			continue;
		failed++;
		if (strstr(err.msg, "corrupt.elf"))
			named++;
		else
			diag("%u: '%s'", it, err.msg);
	}
	ok(failed > 0 && named == failed, "%u corrupted section headers: "
	   "%u builds fail, each with an error naming the file", n, failed);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/xds-profile-XXXXXX");
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	test_object();
	test_missing();
	test_renamed();
	test_sysmap_and_executable();
	test_save_load();
	test_anonymous_members();
	test_compressed();
	test_alternating_readers();
	test_corrupt_elf();
	test_corrupt_elf_sweep();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
