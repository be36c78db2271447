/*
 * simctl.h - driving a simulated host (xds-sim) from a C test.
 *
 * Owns the test side of the simulator's life: start $XDS_BUILD/xds-sim
 * (default build/) on a scenario with --dir in a fresh mkdtemp directory,
 * wait for its "ready" line, talk to DIR/host.qmp (step, status, tasks),
 * open a domain's own QMP socket, map a domain's RAM file and read its
 * System.map, and stop it: quit, waitpid, kill on every error path, the
 * directory removed.  The simulator's stderr goes to DIR/sim.log.
 * Leaves to the tests what they assert; it checks nothing about the sim.
 * Header-only: everything is static inline.
 */
#ifndef XDS_TESTS_SIMCTL_H
#define XDS_TESTS_SIMCTL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/qmp.h"
#include "util/err.h"
#include "util/json.h"

#define SIMCTL_READY_MS 20000       /* for "ready" (ASan builds start slowly) */
#define SIMCTL_QMP_MS   120000      /* for one command, x-sim-step included */
#define SIMCTL_MAX_ARGS 16

struct simctl {
	pid_t pid;                  /* 0 once reaped */
	int status;                 /* waitpid status once reaped */
	char dir[64];
	struct qmp *host;
};

/* Path of a binary under $XDS_BUILD (default "build"). */
static inline const char *simctl_bin(const char *name, char *buf, size_t n)
{
	const char *b = getenv("XDS_BUILD");
	snprintf(buf, n, "%s/%s", b && *b ? b : "build", name);
	return buf;
}

/* DIR/NAME (a file in the simulator's directory). */
static inline const char *simctl_path(const struct simctl *sc, const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", sc->dir, name);
	return buf;
}

static inline void simctl_rmdir(const char *dir)
{
	DIR *dh = opendir(dir);
	if (!dh)
		return;
	struct dirent *e;
	char path[512];
	while ((e = readdir(dh))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(dh);
	rmdir(dir);
}

/* Reap the simulator within timeout_ms; SIGKILL it after that.  Returns its
 * exit status, 128+signal if killed, -1 if it was already reaped. */
static inline int simctl_wait(struct simctl *sc, int timeout_ms)
{
	if (sc->pid <= 0)
		return -1;
	for (int waited = 0;; waited += 10) {
		pid_t r = waitpid(sc->pid, &sc->status, WNOHANG);
		if (r == sc->pid)
			break;
		if (r < 0 || waited >= timeout_ms) {
			kill(sc->pid, SIGKILL);
			waitpid(sc->pid, &sc->status, 0);
			break;
		}
		usleep(10000);
	}
	sc->pid = 0;
	return WIFEXITED(sc->status) ? WEXITSTATUS(sc->status)
		: WIFSIGNALED(sc->status) ? 128 + WTERMSIG(sc->status) : -1;
}

/* Quit (politely if the host socket is open), reap, remove the directory.
 * Returns the simulator's exit status as simctl_wait does. */
static inline int simctl_stop(struct simctl *sc)
{
	int rc = -1;
	if (sc->host) {
		struct xds_err err;
		json_decref(qmp_execute(sc->host, "quit", NULL, &err));
		qmp_close(sc->host);
		sc->host = NULL;
	}
	if (sc->pid > 0)
		rc = simctl_wait(sc, 5000);
	else if (WIFEXITED(sc->status))
		rc = WEXITSTATUS(sc->status);
	if (sc->dir[0])
		simctl_rmdir(sc->dir);
	sc->dir[0] = 0;
	return rc;
}

/* Reads the child's stdout until "ready DIR" or the deadline. */
static inline int simctl_wait_ready(struct simctl *sc, int fd, struct xds_err *err)
{
	char line[256];
	size_t len = 0;
	for (int waited = 0; waited < SIMCTL_READY_MS; waited += 50) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 50) > 0) {
			ssize_t r = read(fd, line + len, sizeof line - 1 - len);
			if (r <= 0)
				return xds_fail(err, "xds-sim exited before 'ready' (see %s/sim.log)", sc->dir);
			len += (size_t)r;
			line[len] = 0;
			if (strchr(line, '\n'))
				return strncmp(line, "ready ", 6) ? xds_fail(err, "xds-sim said '%s'", line) : 0;
			if (len == sizeof line - 1)
				return xds_fail(err, "xds-sim: line too long before 'ready'");
		}
	}
	return xds_fail(err, "xds-sim: no 'ready' within %d ms", SIMCTL_READY_MS);
}

/*
 * Start xds-sim on scenario with --dir in a fresh directory, plus extra
 * arguments (NULL-terminated list, may be NULL), and connect host.qmp.
 * 0, or -1 with err and nothing left behind.
 */
static inline int simctl_start(struct simctl *sc, const char *scenario, const char *const *extra,
			       struct xds_err *err)
{
	memset(sc, 0, sizeof *sc);
	snprintf(sc->dir, sizeof sc->dir, "/tmp/xds-simctl.XXXXXX");
	if (!mkdtemp(sc->dir)) {
		sc->dir[0] = 0;
		return xds_fail(err, "mkdtemp: %s", strerror(errno));
	}
	char bin[256], logp[128];
	simctl_bin("xds-sim", bin, sizeof bin);
	simctl_path(sc, "sim.log", logp, sizeof logp);
	const char *argv[SIMCTL_MAX_ARGS + 6] = { bin, scenario, "--dir", sc->dir };
	int argc = 4;
	for (int i = 0; extra && extra[i] && i < SIMCTL_MAX_ARGS; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;
	int pfd[2];
	if (pipe(pfd) < 0) {
		simctl_stop(sc);
		return xds_fail(err, "pipe: %s", strerror(errno));
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int log = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(pfd[1], 1);
		if (log >= 0)
			dup2(log, 2);
		close(pfd[0]);
		execv(bin, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		simctl_stop(sc);
		return xds_fail(err, "fork: %s", strerror(errno));
	}
	sc->pid = pid;
	int rc = simctl_wait_ready(sc, pfd[0], err);
	close(pfd[0]);
	char path[128];
	if (!rc && !(sc->host = qmp_open(simctl_path(sc, "host.qmp", path, sizeof path), 0, err)))
		rc = xds_err_wrap(err, "%s", path);
	if (rc) {
		simctl_stop(sc);
		return -1;
	}
	qmp_set_timeout(sc->host, SIMCTL_QMP_MS);
	return 0;
}

/* --qemu NAME:... for domain dom of the simulator, its profile from the
 * simulator binary's DWARF and the domain's System.map. */
static inline const char *simctl_qemu_spec(const struct simctl *sc, const char *name, const char *dom,
					   char *buf, size_t n)
{
	char sim[256];
	simctl_bin("xds-sim", sim, sizeof sim);
	snprintf(buf, n, "%s:ram=%s/%s.ram,qmp=%s/%s.qmp,vmlinux=%s,sysmap=%s/%s.System.map", name, sc->dir, dom,
		 sc->dir, dom, sim, sc->dir, dom);
	return buf;
}

/* A domain's own QMP socket (stop, cont, query-status, HMP); caller closes. */
static inline struct qmp *simctl_domain(struct simctl *sc, const char *name, struct xds_err *err)
{
	char file[96], path[192];
	snprintf(file, sizeof file, "%s.qmp", name);
	struct qmp *q = qmp_open(simctl_path(sc, file, path, sizeof path), 0, err);
	if (!q)
		xds_err_wrap(err, "%s", path);
	return q;
}

/* An integer member of an object (NULL is fine), or -1. */
static inline int64_t simctl_int(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* Advance virtual time by ns.  Returns the new time in ns, or -1. */
static inline int64_t simctl_step(struct simctl *sc, uint64_t ns, struct xds_err *err)
{
	json_t *args = json_pack("{s:I}", "ns", (json_int_t)ns);
	json_t *r = qmp_execute(sc->host, "x-sim-step", args, err);
	json_decref(args);
	if (!r)
		return -1;
	int64_t t = simctl_int(r, "time_ns");
	json_decref(r);
	if (t < 0)
		return xds_fail(err, "x-sim-step: reply without time_ns");
	return t;
}

/* x-sim-tasks: {"time_ns", "violations", "tasks": [...]}; caller frees. */
static inline json_t *simctl_tasks(struct simctl *sc, struct xds_err *err)
{
	return qmp_execute(sc->host, "x-sim-tasks", NULL, err);
}

/* x-sim-status: {"time_ns", "violations", "domains", "messages"}. */
static inline json_t *simctl_status(struct simctl *sc, struct xds_err *err)
{
	return qmp_execute(sc->host, "x-sim-status", NULL, err);
}

/* Violations so far, or -1. */
static inline int64_t simctl_violations(struct simctl *sc, struct xds_err *err)
{
	json_t *st = simctl_status(sc, err);
	int64_t v = simctl_int(st, "violations");
	json_decref(st);
	return v;
}

/* The task of dom with that comm (first match) in an x-sim-tasks reply. */
static inline json_t *simctl_task(const json_t *tasks, const char *dom, const char *comm)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(tasks, "tasks"), i, t) {
		const char *d = json_string_value(json_object_get(t, "dom"));
		const char *c = json_string_value(json_object_get(t, "comm"));
		if (d && c && !strcmp(d, dom) && !strcmp(c, comm))
			return t;
	}
	return NULL;
}

/* A field of a task as an integer (cputime_ns, wait_ns, pid...), or -1. */
static inline int64_t simctl_task_int(const json_t *tasks, const char *dom, const char *comm,
				      const char *field)
{
	return simctl_int(simctl_task(tasks, dom, comm), field);
}

/* One field of one task of the ground truth now, or -1. */
static inline int64_t simctl_truth(struct simctl *sc, const char *dom, const char *comm, const char *field)
{
	struct xds_err err;
	json_t *j = simctl_tasks(sc, &err);
	int64_t v = j ? simctl_task_int(j, dom, comm, field) : -1;
	json_decref(j);
	return v;
}

/* 1 when one of x-sim-status's messages contains every one of the strings
 * (NULL-terminated); the message is copied to out (may be NULL). */
static inline int simctl_has_message(const json_t *status, const char *const *want, char *out,
				     size_t n)
{
	size_t i;
	json_t *msg;
	json_array_foreach(json_object_get(status, "messages"), i, msg) {
		const char *m = json_string_value(msg);
		int all = m != NULL;
		for (int k = 0; all && want[k]; k++)
			all = strstr(m, want[k]) != NULL;
		if (all) {
			if (out)
				snprintf(out, n, "%s", m);
			return 1;
		}
	}
	return 0;
}

/* A symbol's address from DIR/NAME.System.map, 0 if absent. */
static inline uint64_t simctl_symbol(const struct simctl *sc, const char *dom, const char *sym)
{
	char file[96], path[192], line[256], name[128], type;
	snprintf(file, sizeof file, "%s.System.map", dom);
	FILE *f = fopen(simctl_path(sc, file, path, sizeof path), "r");
	unsigned long long va;
	uint64_t found = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "%llx %c %127s", &va, &type, name) == 3 && !strcmp(name, sym)) {
			found = va;
			break;
		}
	if (f)
		fclose(f);
	return found;
}

/* DIR/NAME.ram mapped shared (reads and writes reach the guest); NULL on
 * error.  Unmap with munmap(ram, *size). */
static inline uint8_t *simctl_map_ram(const struct simctl *sc, const char *dom, size_t *size,
				      struct xds_err *err)
{
	char file[96], path[192];
	snprintf(file, sizeof file, "%s.ram", dom);
	simctl_path(sc, file, path, sizeof path);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		xds_fail(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		xds_fail(err, "%s: mmap: %s", path, strerror(errno));
		return NULL;
	}
	*size = (size_t)st.st_size;
	return p;
}

/* Guest-physical address (= RAM file offset) of va in a guest that is not
 * KASLR'd: the direct map at 0xffff888000000000, the kernel image's _text
 * at 0xffffffff81000000 in frame 16 MiB.  -1 outside both or past size. */
#define SIMCTL_PAGE_OFFSET 0xffff888000000000ULL
#define SIMCTL_KIMG_VA     0xffffffff81000000ULL
#define SIMCTL_KIMG_PA     0x1000000ULL

static inline int64_t simctl_pa(uint64_t va, size_t len, size_t ram_size)
{
	uint64_t pa;
	if (va >= SIMCTL_KIMG_VA)
		pa = va - SIMCTL_KIMG_VA + SIMCTL_KIMG_PA;
	else if (va >= SIMCTL_PAGE_OFFSET && va - SIMCTL_PAGE_OFFSET < ram_size)
		pa = va - SIMCTL_PAGE_OFFSET;
	else
		return -1;
	return pa + len <= ram_size ? (int64_t)pa : -1;
}

/* Everything f (may be NULL) has left to read, NUL-terminated; caller
 * frees.  NULL when out of memory. */
static inline char *simctl_slurp(FILE *f)
{
	char *text = NULL, buf[4096];
	size_t len = 0, n;
	FILE *m = open_memstream(&text, &len);
	while (m && f && (n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, m);
	if (m)
		fclose(m);
	return text;
}

/* The contents of the file at path, NUL-terminated ("" if it cannot be
 * read); caller frees. */
static inline char *simctl_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = simctl_slurp(f);
	if (f)
		fclose(f);
	return text;
}

/* The contents of DIR/sim.log (the simulator's stderr); caller frees. */
static inline char *simctl_log(const struct simctl *sc)
{
	char path[128];
	return simctl_read(simctl_path(sc, "sim.log", path, sizeof path));
}

/* Write a scenario file into a fresh temp dir; path to out.  0 or -1.
 * Remove it with simctl_rmdir on the dirname. */
static inline int simctl_write_scenario(const char *name, const char *text, char *out, size_t n)
{
	char dir[] = "/tmp/xds-scen.XXXXXX";
	if (!mkdtemp(dir))
		return -1;
	snprintf(out, n, "%s/%s", dir, name);
	FILE *f = fopen(out, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) ? -1 : 0;
}

/* Remove a scenario written by simctl_write_scenario, and its directory. */
static inline void simctl_remove_scenario(const char *path)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && !strncmp(dir, "/tmp/xds-scen.", 14)) {
		*slash = 0;
		simctl_rmdir(dir);
	}
}

/* Size of a file in bytes, or -1 when it cannot be opened. */
static inline long simctl_file_size(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fclose(f);
	return n;
}

#endif
