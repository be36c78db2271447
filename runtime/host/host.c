/*
 * host.c - every guest of one run, by name (see host.h).
 *
 * --sim starts xds-sim on a private directory (it dies with us: parent-
 * death signal), waits for its "ready" line, asks host.qmp which domains
 * exist, builds one profile from the simulator binary's DWARF and the
 * guests' System.map, and attaches each domain through the qemu backend,
 * exactly as a real QEMU guest is attached.  --qemu parses a guest spec,
 * loads or builds (and caches) its profile, and attaches it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/qmp.h"
#include "sched/host.h"
#include "util/json.h"

#define SIM_READY_MS 10000

void xds_host_init(struct xds_host *h)
{
	memset(h, 0, sizeof *h);
	h->sim_pid = -1;
}

static void remove_sim_dir(struct xds_host *h)
{
	if (!h->sim_dir[0])
		return;
	char path[PATH_MAX];
	for (int i = 0; i < h->nr_guests; i++) {
		snprintf(path, sizeof path, "%s/%s.ram", h->sim_dir, h->guests[i].name);
		unlink(path);
		snprintf(path, sizeof path, "%s/%s.System.map", h->sim_dir, h->guests[i].name);
		unlink(path);
	}
	rmdir(h->sim_dir);
	h->sim_dir[0] = 0;
}

static void stop_sim(struct xds_host *h)
{
	if (h->sim_qmp) {
		json_decref(qmp_execute(h->sim_qmp, "quit", NULL, NULL));
		qmp_close(h->sim_qmp);
		h->sim_qmp = NULL;
	}
	if (h->sim_pid > 0) {
		for (int i = 0; i < 200; i++) {       /* 2 s to leave by itself */
			if (waitpid(h->sim_pid, NULL, WNOHANG) == h->sim_pid) {
				h->sim_pid = -1;
				break;
			}
			nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
		}
		if (h->sim_pid > 0) {
			kill(h->sim_pid, SIGKILL);
			waitpid(h->sim_pid, NULL, 0);
		}
		h->sim_pid = -1;
	}
}

void xds_host_close(struct xds_host *h)
{
	struct backend *closed[XDS_MAX_GUESTS];
	int nclosed = 0;
	for (int i = 0; i < h->nr_guests; i++) {
		struct xds_guest *g = &h->guests[i];
		lx_snapshot_free(&g->snap);
		lx_detach(g->lx);
		g->lx = NULL;
		bool seen = false;
		for (int j = 0; j < nclosed; j++)
			seen |= closed[j] == g->be;
		if (!seen && g->be)
			closed[nclosed++] = g->be;
	}
	for (int j = 0; j < nclosed; j++)
		be_close(closed[j]);
	stop_sim(h);
	remove_sim_dir(h);
	h->nr_guests = 0;
}

struct xds_guest *xds_host_guest(struct xds_host *h, const char *name)
{
	for (int i = 0; i < h->nr_guests; i++)
		if (!h->guests[i].gone && !strcmp(h->guests[i].name, name))
			return &h->guests[i];
	return NULL;
}

static int add_guest(struct xds_host *h, const char *name, struct backend *be, int dom,
		     const struct profile *prof, struct xds_err *err)
{
	if (h->nr_guests == XDS_MAX_GUESTS)
		return xds_fail(err, "%s: more than %d guests", name, XDS_MAX_GUESTS);
	if (xds_host_guest(h, name))
		return xds_fail(err, "%s: a guest of that name is already attached", name);
	struct lx_guest *lx = lx_attach(be, dom, prof, err);
	if (!lx)
		return xds_err_wrap(err, "%s", name);
	struct xds_guest *g = &h->guests[h->nr_guests++];
	memset(g, 0, sizeof *g);
	snprintf(g->name, sizeof g->name, "%s", name);
	g->be = be;
	g->dom = dom;
	g->lx = lx;
	return 0;
}

/* ---- --sim ---- */

static int default_sim_path(char *out, size_t n)
{
	const char *env = getenv("XDS_SIM");
	if (env && *env) {
		snprintf(out, n, "%s", env);
		return 0;
	}
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len < 0)
		return -1;
	self[len] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = 0;
	return xds_format(NULL, out, n, "%s/xds-sim", self);
}

/* Waits for xds-sim's "ready DIR" line on fd. */
static int wait_ready(int fd, struct xds_err *err)
{
	char buf[1024];
	size_t len = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > SIM_READY_MS)
			return xds_fail(err, "xds-sim did not become ready in %d s", SIM_READY_MS / 1000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)(SIM_READY_MS - ms)) <= 0)
			continue;
		ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
		if (r <= 0)
			return xds_fail(err, "xds-sim exited before it was ready (see its message above)");
		len += (size_t)r;
		buf[len] = 0;
		if (strstr(buf, "ready "))
			return 0;
		if (len == sizeof buf - 1)
			return xds_fail(err, "xds-sim said something unexpected: %.80s", buf);
	}
}

static int spawn_sim(struct xds_host *h, const char *sim, const char *scenario, uint64_t seed,
		     struct xds_err *err)
{
	if (access(sim, X_OK))
		return xds_fail(err, "%s: %s (build it with make, or set XDS_SIM)", sim, strerror(errno));
	if (access(scenario, R_OK))
		return xds_fail(err, "%s: %s", scenario, strerror(errno));
	snprintf(h->sim_dir, sizeof h->sim_dir, "%s/xds-lua-sim.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(h->sim_dir)) {
		h->sim_dir[0] = 0;
		return xds_fail(err, "mkdtemp: %s", strerror(errno));
	}
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC))
		return xds_fail(err, "pipe: %s", strerror(errno));
	char seedbuf[32];
	snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)seed);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return xds_fail(err, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* the simulator must not outlive us, whatever way we go; and a
		 * group of its own keeps a terminal's Ctrl-C for us, who thaw
		 * first and then stop it */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		dup2(pfd[1], 1);
		if (h->sim_realtime)
			execl(sim, sim, scenario, "--dir", h->sim_dir, "--seed", seedbuf, "--realtime", (char *)NULL);
		else
			execl(sim, sim, scenario, "--dir", h->sim_dir, "--seed", seedbuf, (char *)NULL);
		fprintf(stderr, "xds-lua: %s: %s\n", sim, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	h->sim_pid = pid;
	int rc = wait_ready(pfd[0], err);
	close(pfd[0]);
	return rc;
}

static int sim_domains(struct xds_host *h, char names[][64], int max, struct xds_err *err)
{
	json_t *st = qmp_execute(h->sim_qmp, "x-sim-status", NULL, err);
	if (!st)
		return -1;
	json_t *doms = json_object_get(st, "domains");
	int n = 0;
	for (size_t i = 0; i < json_array_size(doms) && n < max; i++) {
		const char *name = json_string_value(json_object_get(json_array_get(doms, i), "name"));
		if (name)
			snprintf(names[n++], 64, "%s", name);
	}
	h->sim_time_ns = (uint64_t)json_integer_value(json_object_get(st, "time_ns"));
	json_decref(st);
	return n;
}

int xds_host_start_sim(struct xds_host *h, const char *scenario, const char *sim_path,
		       uint64_t seed, struct xds_err *err)
{
	char sim[PATH_MAX], path[PATH_MAX], ram[PATH_MAX], qmp[PATH_MAX];
	if (sim_path)
		snprintf(sim, sizeof sim, "%s", sim_path);
	else if (default_sim_path(sim, sizeof sim))
		return xds_fail(err, "cannot find xds-sim beside this program; set XDS_SIM");
	if (h->sim_pid > 0)
		return xds_fail(err, "--sim: a simulator is already running");
	if (spawn_sim(h, sim, scenario, seed, err))
		goto fail;
	snprintf(path, sizeof path, "%s/host.qmp", h->sim_dir);
	h->sim_qmp = qmp_open(path, 5000, err);
	if (!h->sim_qmp)
		goto fail;
	char names[XDS_MAX_GUESTS][64];
	int n = sim_domains(h, names, XDS_MAX_GUESTS, err);
	if (n <= 0) {
		if (n == 0)
			xds_fail(err, "%s: the simulator has no domains", scenario);
		goto fail;
	}
	snprintf(path, sizeof path, "%s/%s.System.map", h->sim_dir, names[0]);
	struct profile *prof = malloc(sizeof *prof);
	if (!prof || profile_build(sim, path, prof, err)) {
		free(prof);
		goto fail;
	}
	struct backend *be = backend_qemu_new(err);
	if (!be) {
		free(prof);
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		int dom = -1;
		if (!xds_format(err, ram, sizeof ram, "%s/%s.ram", h->sim_dir, names[i]) &&
		    !xds_format(err, qmp, sizeof qmp, "%s/%s.qmp", h->sim_dir, names[i]))
			dom = backend_qemu_add(be, names[i], ram, qmp, err);
		if (dom < 0 || add_guest(h, names[i], be, dom, prof, err)) {
			free(prof);
			if (!h->nr_guests || h->guests[0].be != be)
				be_close(be);
			goto fail;
		}
	}
	free(prof);
	return 0;
fail:
	xds_err_wrap(err, "--sim %s", scenario);
	xds_host_close(h);
	return -1;
}

json_t *xds_host_sim_tasks(struct xds_host *h, struct xds_err *err)
{
	if (!h->sim_qmp) {
		xds_fail(err, "not running a simulated host (--sim)");
		return NULL;
	}
	return qmp_execute(h->sim_qmp, "x-sim-tasks", NULL, err);
}

int64_t xds_host_sim_violations(struct xds_host *h, struct xds_err *err)
{
	if (!h->sim_qmp)
		return xds_fail(err, "not running a simulated host (--sim)");
	json_t *st = qmp_execute(h->sim_qmp, "x-sim-status", NULL, err);
	if (!st)
		return -1;
	json_t *v = json_object_get(st, "violations");
	int64_t n = json_is_integer(v) ? json_integer_value(v) : -1;
	json_decref(st);
	return n;
}

int xds_host_sim_step(struct xds_host *h, uint64_t ns, struct xds_err *err)
{
	if (!h->sim_qmp)
		return xds_fail(err, "not running a simulated host (--sim)");
	json_t *args = json_pack("{s:I}", "ns", (json_int_t)ns);
	json_t *r = qmp_execute(h->sim_qmp, "x-sim-step", args, err);
	json_decref(args);
	if (!r)
		return -1;
	json_t *t = json_object_get(r, "time_ns");
	if (json_is_integer(t))
		h->sim_time_ns = (uint64_t)json_integer_value(t);
	json_decref(r);
	return 0;
}

/* ---- --qemu ---- */

struct qemu_spec {
	char name[64], ram[PATH_MAX], qmp[PATH_MAX], profile[PATH_MAX], vmlinux[PATH_MAX],
		sysmap[PATH_MAX];
};

static int parse_spec(const char *spec, struct qemu_spec *q, struct xds_err *err)
{
	memset(q, 0, sizeof *q);
	const char *colon = strchr(spec, ':');
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof q->name)
		return xds_fail(err, "'%s': expected NAME:ram=PATH,qmp=PATH[,profile=FILE]"
				"[,vmlinux=ELF,sysmap=MAP]", spec);
	memcpy(q->name, spec, (size_t)(colon - spec));
	char *rest = strdup(colon + 1), *save = NULL;
	if (!rest)
		return xds_fail(err, "out of memory");
	int rc = 0;
	for (char *kv = strtok_r(rest, ",", &save); kv && !rc; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq) {
			rc = xds_fail(err, "'%s': '%s' is not key=value", spec, kv);
			break;
		}
		*eq = 0;
		const char *v = eq + 1;
		char *slot = !strcmp(kv, "ram") ? q->ram : !strcmp(kv, "qmp") ? q->qmp
			: !strcmp(kv, "profile") ? q->profile : !strcmp(kv, "vmlinux") ? q->vmlinux
			: !strcmp(kv, "sysmap") ? q->sysmap : NULL;
		if (!slot)
			rc = xds_fail(err, "'%s': unknown key '%s' (ram, qmp, profile, vmlinux, sysmap)", spec, kv);
		else
			snprintf(slot, PATH_MAX, "%s", v);
	}
	free(rest);
	if (!rc && (!q->ram[0] || !q->qmp[0]))
		rc = xds_fail(err, "'%s': ram= and qmp= are both needed", spec);
	return rc;
}

/* A profile built from a vmlinux is kept in the cache, keyed by the file. */
static void cache_path(const char *vmlinux, const char *sysmap, char *out, size_t n)
{
	struct stat st = { 0 }, sm = { 0 };
	stat(vmlinux, &st);
	if (sysmap[0])
		stat(sysmap, &sm);
	const char *base = strrchr(vmlinux, '/') ? strrchr(vmlinux, '/') + 1 : vmlinux;
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char dir[PATH_MAX];
	if (xdg && *xdg)
		snprintf(dir, sizeof dir, "%s/xds-lua", xdg);
	else if (home && *home)
		snprintf(dir, sizeof dir, "%s/.cache/xds-lua", home);
	else
		snprintf(dir, sizeof dir, "/tmp/xds-lua-cache");
	if (xds_format(NULL, out, n, "%s/%s-%llx-%llx-%llx.profile", dir, base,
		       (unsigned long long)st.st_size, (unsigned long long)st.st_mtime,
		       (unsigned long long)sm.st_mtime))
		out[0] = 0;
	char mk[PATH_MAX];
	snprintf(mk, sizeof mk, "%s", dir);
	for (char *p = mk + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(mk, 0755);
			*p = '/';
		}
	mkdir(mk, 0755);
}

static int spec_profile(const struct qemu_spec *q, const char *default_profile, struct profile *p,
			struct xds_err *err)
{
	if (q->profile[0])
		return profile_load(q->profile, p, err);
	if (q->vmlinux[0]) {
		char cached[PATH_MAX];
		cache_path(q->vmlinux, q->sysmap, cached, sizeof cached);
		if (cached[0] && !access(cached, R_OK) && !profile_load(cached, p, NULL))
			return 0;
		if (profile_build(q->vmlinux, q->sysmap[0] ? q->sysmap : NULL, p, err))
			return -1;
		if (cached[0])
			profile_save(p, cached, NULL);   /* a cache that cannot be written is no error */
		return 0;
	}
	if (default_profile)
		return profile_load(default_profile, p, err);
	return xds_fail(err, "no profile: give profile=FILE, vmlinux=ELF[,sysmap=MAP] or --profile");
}

int xds_host_add_qemu(struct xds_host *h, const char *spec, const char *default_profile,
		      struct xds_err *err)
{
	struct qemu_spec *q = malloc(sizeof *q);
	struct profile *p = malloc(sizeof *p);
	struct backend *be = NULL;
	int rc = -1;
	if (!q || !p) {
		xds_fail(err, "out of memory");
		goto out;
	}
	if (parse_spec(spec, q, err) || spec_profile(q, default_profile, p, err))
		goto out;
	be = backend_qemu_new(err);
	if (!be)
		goto out;
	int dom = backend_qemu_add(be, q->name, q->ram, q->qmp, err);
	if (dom < 0 || add_guest(h, q->name, be, dom, p, err))
		goto out;
	be = NULL;           /* the guest owns it now */
	struct xds_guest *g = &h->guests[h->nr_guests - 1];
	if (!q->profile[0] && !q->vmlinux[0] && default_profile)
		snprintf(g->spec, sizeof g->spec, "%.500s,profile=%.500s", spec, default_profile);
	else
		snprintf(g->spec, sizeof g->spec, "%s", spec);
	rc = 0;
out:
	if (rc && q)
		xds_err_wrap(err, "--qemu %s", q->name[0] ? q->name : spec);
	be_close(be);
	free(q);
	free(p);
	return rc;
}

int xds_host_snapshot(struct xds_host *h, struct xds_err *err)
{
	h->epoch++;
	int ok = 0, live = 0;
	for (int i = 0; i < h->nr_guests; i++) {
		struct xds_guest *g = &h->guests[i];
		struct xds_err e;
		lx_snapshot_free(&g->snap);
		g->snap_epoch = h->epoch;
		if (g->gone)
			continue;
		if (lx_snapshot(g->lx, &g->snap, &e)) {
			snprintf(g->error, sizeof g->error, "%s", e.msg);
			continue;
		}
		g->error[0] = 0;
		ok++;
	}
	for (int i = 0; i < h->nr_guests; i++)
		live += !h->guests[i].gone;
	if (live && !ok)
		return xds_fail(err, "%s: %s", h->guests[0].name, h->guests[0].error);
	return 0;
}
