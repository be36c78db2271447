/*
 * sim.c - the "sim" kind of host: a simulated host, xds-sim on a private
 * directory.
 *
 * Attaching starts xds-sim on the scenario in a fresh temporary directory
 * (it dies with us: a parent-death signal, and a process group of its own
 * so that a terminal's Ctrl-C reaches us, who thaw first), waits for its
 * "ready" line, asks host.qmp which domains exist, builds one profile from
 * the simulator binary's DWARF and the guests' System.map, and attaches
 * each domain through the qemu backend, exactly as a real QEMU guest is
 * attached.  Unless it runs in real time, the simulator keeps the host's
 * clock: virtual time moves only when we step it.  Its controls (step,
 * tasks, status) and its ground truth are host.qmp's x-sim-* commands.
 * Its guests die with the run, so nothing of theirs is ever recovered.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/qmp.h"
#include "host/host_int.h"

/* xds-sim builds its guests before "ready": 16 domains x 2,000 tasks took
 * 50 s of wall time on a loaded 2-core host (5 s of CPU). */
#define SIM_READY_MS 120000

struct sim_host {
	pid_t pid;
	char dir[256];
	struct qmp *qmp;            /* host.qmp */
	uint64_t time_ns;           /* virtual time, as of the last reply */
	bool realtime;              /* xds-sim --realtime: no virtual clock */
	struct backend *be;         /* every simulated domain's */
	char names[XDS_MAX_GUESTS][XDS_MAX_GUEST_NAME];
	int nr_names;
};

static void remove_dir(struct sim_host *s)
{
	if (!s->dir[0])
		return;
	char path[PATH_MAX];
	for (int i = 0; i < s->nr_names; i++) {
		snprintf(path, sizeof path, "%s/%s.ram", s->dir, s->names[i]);
		unlink(path);
		snprintf(path, sizeof path, "%s/%s.System.map", s->dir, s->names[i]);
		unlink(path);
	}
	rmdir(s->dir);
	s->dir[0] = 0;
}

static void stop_sim(struct sim_host *s)
{
	if (s->qmp) {
		json_decref(qmp_execute(s->qmp, "quit", NULL, NULL));
		qmp_close(s->qmp);
		s->qmp = NULL;
	}
	if (s->pid > 0) {
		for (int i = 0; i < 200; i++) {       /* 2 s to leave by itself */
			if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
				s->pid = -1;
				break;
			}
			nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
		}
		if (s->pid > 0) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
		}
		s->pid = -1;
	}
}

static void sim_close(void *priv)
{
	struct sim_host *s = priv;
	if (!s)
		return;
	be_close(s->be);
	stop_sim(s);
	remove_dir(s);
	free(s);
}

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

static int spawn_sim(struct sim_host *s, const char *sim, const char *scenario, uint64_t seed,
		     struct xds_err *err)
{
	if (access(sim, X_OK))
		return xds_fail(err, "%s: %s (build it with make, or set XDS_SIM)", sim, strerror(errno));
	if (access(scenario, R_OK))
		return xds_fail(err, "%s: %s", scenario, strerror(errno));
	snprintf(s->dir, sizeof s->dir, "%s/xds-lua-sim.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(s->dir)) {
		s->dir[0] = 0;
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
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		dup2(pfd[1], 1);
		if (s->realtime)
			execl(sim, sim, scenario, "--dir", s->dir, "--seed", seedbuf, "--realtime", (char *)NULL);
		else
			execl(sim, sim, scenario, "--dir", s->dir, "--seed", seedbuf, (char *)NULL);
		fprintf(stderr, "xds-lua: %s: %s\n", sim, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	s->pid = pid;
	int rc = wait_ready(pfd[0], err);
	close(pfd[0]);
	return rc;
}

static int sim_domains(struct sim_host *s, struct xds_err *err)
{
	json_t *st = qmp_execute(s->qmp, "x-sim-status", NULL, err);
	if (!st)
		return -1;
	json_t *doms = json_object_get(st, "domains");
	s->nr_names = 0;
	for (size_t i = 0; i < json_array_size(doms) && s->nr_names < XDS_MAX_GUESTS; i++) {
		const char *name = json_string_value(json_object_get(json_array_get(doms, i), "name"));
		if (name)
			snprintf(s->names[s->nr_names++], XDS_MAX_GUEST_NAME, "%s", name);
	}
	s->time_ns = (uint64_t)json_integer_value(json_object_get(st, "time_ns"));
	json_decref(st);
	return s->nr_names;
}

static int attach_domains(struct xds_host *h, struct sim_host *s, const char *sim,
			  const char *scenario, struct xds_err *err)
{
	char path[PATH_MAX], ram[PATH_MAX], qmp[PATH_MAX];
	int n = sim_domains(s, err);
	if (n <= 0)
		return n == 0 ? xds_fail(err, "%s: the simulator has no domains", scenario) : -1;
	snprintf(path, sizeof path, "%s/%s.System.map", s->dir, s->names[0]);
	struct profile *prof = malloc(sizeof *prof);
	if (!prof || profile_build(sim, path, prof, err)) {
		free(prof);
		return prof ? -1 : xds_fail(err, "out of memory");
	}
	int rc = (s->be = backend_qemu_new(err)) ? 0 : -1;
	for (int i = 0; i < n && !rc; i++) {
		int dom = -1;
		struct lx_guest *lx = NULL;
		if (!xds_format(err, ram, sizeof ram, "%s/%s.ram", s->dir, s->names[i]) &&
		    !xds_format(err, qmp, sizeof qmp, "%s/%s.qmp", s->dir, s->names[i]))
			dom = backend_qemu_add(s->be, s->names[i], ram, qmp, err);
		if (dom >= 0 && !(lx = lx_attach(s->be, dom, prof, err)))
			xds_err_wrap(err, "%s", s->names[i]);
		if (!lx || !host_put_guest(h, &host_kind_sim, s->names[i], s->be, dom, lx, "sim", err)) {
			lx_detach(lx);
			rc = -1;
		}
	}
	free(prof);
	return rc;
}

static void drop_guests(struct xds_host *h)
{
	for (int i = 0; i < xds_host_nr_guests(h); i++) {
		struct xds_guest *g = xds_host_guest(h, i);
		if (!g->gone && g->kind == &host_kind_sim)
			host_drop_guest(g, "its simulator stopped");
	}
}

static int sim_attach(struct xds_host *h, void **priv, const char *scenario,
		      const struct xds_attach_opts *o, struct xds_err *err)
{
	char sim[PATH_MAX] = "", path[PATH_MAX];
	if (*priv)
		return xds_fail(err, "--sim %s: a simulator is already running", scenario);
	struct sim_host *s = calloc(1, sizeof *s);
	if (!s)
		return xds_fail(err, "out of memory");
	s->pid = -1;
	s->realtime = o->realtime;
	if (o->helper)
		snprintf(sim, sizeof sim, "%s", o->helper);
	else if (default_sim_path(sim, sizeof sim)) {
		sim[0] = 0;
		xds_fail(err, "cannot find xds-sim beside this program; set XDS_SIM");
	}
	if (sim[0] && !spawn_sim(s, sim, scenario, o->seed ? o->seed : 1, err)) {
		snprintf(path, sizeof path, "%s/host.qmp", s->dir);
		s->qmp = qmp_open(path, 5000, err);
		if (s->qmp && !attach_domains(h, s, sim, scenario, err)) {
			*priv = s;
			return 0;
		}
	}
	drop_guests(h);
	sim_close(s);
	return xds_err_wrap(err, "--sim %s", scenario);
}

static uint64_t sim_now(const void *priv)
{
	const struct sim_host *s = priv;
	if (s->realtime) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	}
	return s->time_ns;
}

/* The virtual time a reply of x-sim-step gives, if it gives one. */
static void note_time(struct sim_host *s, json_t *reply)
{
	json_t *t = json_object_get(reply, "time_ns");
	if (json_is_integer(t))
		s->time_ns = (uint64_t)json_integer_value(t);
}

static int sim_advance(void *priv, uint64_t ns, struct xds_err *err)
{
	struct sim_host *s = priv;
	if (s->realtime) {
		struct timespec ts = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };
		return nanosleep(&ts, NULL) ? xds_fail(err, "interrupted") : 0;
	}
	json_t *args = json_pack("{s:I}", "ns", (json_int_t)ns);
	json_t *r = qmp_execute(s->qmp, "x-sim-step", args, err);
	json_decref(args);
	if (!r)
		return -1;
	note_time(s, r);
	json_decref(r);
	return 0;
}

static bool sim_realtime(const void *priv)
{
	return ((const struct sim_host *)priv)->realtime;
}

static const char *const sim_controls[] = { "step", "tasks", "status", NULL };

static json_t *sim_control(void *priv, const char *name, json_t *args, struct xds_err *err)
{
	struct sim_host *s = priv;
	char cmd[32];
	snprintf(cmd, sizeof cmd, "x-sim-%s", name);
	json_t *r = qmp_execute(s->qmp, cmd, args, err);
	if (r && !strcmp(name, "step"))
		note_time(s, r);
	return r;
}

static json_t *sim_truth(void *priv, struct xds_err *err)
{
	struct sim_host *s = priv;
	return qmp_execute(s->qmp, "x-sim-tasks", NULL, err);
}

static bool sim_claims(const char *spec)
{
	return !strcmp(spec, "sim");
}

/* A private simulated guest died with the run that started it; a guest
 * of the same name now is another one. */
static int sim_reattach(struct xds_host *h, void **priv, const char *name, const char *spec,
			struct xds_err *err)
{
	(void)h;
	(void)priv;
	(void)spec;
	xds_fail(err, "%s was a private simulated guest: it died with the run that started it", name);
	return 0;
}

static void sim_kill_helpers(const void *priv)
{
	const struct sim_host *s = priv;
	if (s && s->pid > 0)
		kill(s->pid, SIGKILL);
}

const char *host_sim_dir(const struct xds_host *h)
{
	for (int i = 0; i < h->nr_src; i++)
		if (h->src[i].kind == &host_kind_sim && h->src[i].priv)
			return ((const struct sim_host *)h->src[i].priv)->dir;
	return NULL;
}

const struct host_kind host_kind_sim = {
	.name = "sim",
	.attach = sim_attach,
	.now = sim_now,
	.advance = sim_advance,
	.realtime = sim_realtime,
	.controls = sim_controls,
	.control = sim_control,
	.truth = sim_truth,
	.claims = sim_claims,
	.reattach = sim_reattach,
	.ephemeral = true,
	.kill_helpers = sim_kill_helpers,
	.close = sim_close,
};
