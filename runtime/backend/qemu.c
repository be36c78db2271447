/*
 * qemu.c - the `qemu` backend: guests whose RAM is a shared file and
 * whose QMP socket we hold (see backend.h).
 *
 * Each guest's RAM file is mmapped once, whole and MAP_SHARED (read-write
 * when the file allows it), so map() is pointer arithmetic with a bounds
 * check and a GB-sized guest costs address space, not reads.  Pause,
 * resume and status are QMP stop, cont and query-status.  Registers come
 * from HMP `info registers -a`, parsed by regs.c: read fresh on every
 * call while the guest may run, and once per pause while we hold it
 * stopped.  The same backend drives the simulator, which serves the same
 * QMP commands over the same kind of files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/qmp.h"

struct qemu_guest {
	char name[64];
	char ram_path[256];
	struct qmp *qmp;
	uint8_t *ram;           /* whole RAM file, MAP_SHARED */
	uint64_t ram_bytes;
	int writable;           /* the mapping allows writes */
	int nr_vcpus;
	int paused_by_us;       /* between our stop and our cont */
	int regs_cached;        /* regs hold this pause's registers */
	uint64_t stop_seen;     /* stop events taken in by stop_asked */
	struct be_regs *regs;   /* nr_vcpus entries */
};

struct qemu_backend {
	struct backend be;      /* first: struct backend * casts to us */
	struct qemu_guest *guests;
	int nr_guests;
};

static struct qemu_backend *qb(struct backend *be)
{
	return (struct qemu_backend *)be;
}

static struct qemu_guest *guest(struct backend *be, int dom,
				struct xds_err *err)
{
	struct qemu_backend *q = qb(be);
	if (dom < 0 || dom >= q->nr_guests) {
		xds_fail(err, "qemu: no domain %d (%d guests)", dom, q->nr_guests);
		return NULL;
	}
	return &q->guests[dom];
}

static int fail_dom(struct xds_err *err, int dom, const struct qemu_guest *g)
{
	return xds_err_wrap(err, "qemu dom %d (%s)", dom, g->name);
}

static int qemu_list(struct backend *be, struct be_dom *out, int max,
		     struct xds_err *err)
{
	(void)err;
	struct qemu_backend *q = qb(be);
	int n = 0;
	for (; n < q->nr_guests && n < max; n++) {
		struct qemu_guest *g = &q->guests[n];
		out[n].id = n;
		snprintf(out[n].name, sizeof out[n].name, "%s", g->name);
		out[n].nr_vcpus = g->nr_vcpus;
		out[n].ram_bytes = g->ram_bytes;
	}
	return n;
}

static int qemu_pause(struct backend *be, int dom, struct xds_err *err)
{
	struct qemu_guest *g = guest(be, dom, err);
	if (!g)
		return -1;
	g->regs_cached = 0;
	if (qmp_stop(g->qmp, err) < 0)
		return fail_dom(err, dom, g);
	g->paused_by_us = 1;
	return 0;
}

static int qemu_pause_unless_paused(struct backend *be, int dom, int *was_paused,
				    struct xds_err *err)
{
	struct qemu_guest *g = guest(be, dom, err);
	int running = 0;
	if (!g)
		return -1;
	g->regs_cached = 0;
	if (qmp_stop_if_running(g->qmp, &running, err) < 0)
		return fail_dom(err, dom, g);
	*was_paused = !running;
	if (running)
		g->paused_by_us = 1;
	return 0;
}

static int qemu_resume(struct backend *be, int dom, struct xds_err *err)
{
	struct qemu_guest *g = guest(be, dom, err);
	if (!g)
		return -1;
	g->regs_cached = 0;
	g->paused_by_us = 0;
	if (qmp_cont(g->qmp, err) < 0)
		return fail_dom(err, dom, g);
	return 0;
}

static int qemu_status(struct backend *be, int dom, int *paused,
		       struct xds_err *err)
{
	struct qemu_guest *g = guest(be, dom, err);
	if (!g)
		return -1;
	int running;
	if (qmp_query_status(g->qmp, &running, NULL, 0, err) < 0)
		return fail_dom(err, dom, g);
	*paused = !running;
	return 0;
}

static void *qemu_map(struct backend *be, int dom, uint64_t gfn,
		      size_t nr_frames, int writable, struct xds_err *err)
{
	struct qemu_guest *g = guest(be, dom, err);
	if (!g)
		return NULL;
	uint64_t frames = g->ram_bytes / BE_FRAME_SIZE;
	if (nr_frames == 0 || gfn >= frames || nr_frames > frames - gfn) {
		xds_fail(err, "qemu dom %d (%s): frames 0x%llx+%zu outside guest "
			 "RAM of 0x%llx frames (%s)", dom, g->name,
			 (unsigned long long)gfn, nr_frames,
			 (unsigned long long)frames, g->ram_path);
		return NULL;
	}
	if (writable && !g->writable) {
		xds_fail(err, "qemu dom %d (%s): RAM file %s is read-only",
			 dom, g->name, g->ram_path);
		return NULL;
	}
	return g->ram + gfn * BE_FRAME_SIZE;
}

static int fetch_regs(struct qemu_guest *g, struct xds_err *err)
{
	char *text = qmp_hmp(g->qmp, "info registers -a", err);
	if (!text)
		return -1;
	int n = be_regs_parse(text, g->regs, g->nr_vcpus, err);
	free(text);
	if (n < 0)
		return -1;
	g->regs_cached = g->paused_by_us;
	return 0;
}

static int qemu_regs(struct backend *be, int dom, int vcpu,
		     struct be_regs *out, struct xds_err *err)
{
	struct qemu_guest *g = guest(be, dom, err);
	if (!g)
		return -1;
	if (vcpu < 0 || vcpu >= g->nr_vcpus)
		return xds_fail(err, "qemu dom %d (%s): no vCPU %d (%d vCPUs)",
				dom, g->name, vcpu, g->nr_vcpus);
	if (!g->regs_cached && fetch_regs(g, err) < 0)
		return fail_dom(err, dom, g);
	if (!g->regs[vcpu].valid)
		return xds_fail(err, "qemu dom %d (%s): vCPU %d missing from "
				"info registers", dom, g->name, vcpu);
	*out = g->regs[vcpu];
	return 0;
}

static int qemu_nr_vcpus(struct backend *be, int dom, struct xds_err *err)
{
	struct qemu_guest *g = guest(be, dom, err);
	return g ? g->nr_vcpus : -1;
}

static void guest_release(struct qemu_guest *g)
{
	if (g->ram)
		munmap(g->ram, g->ram_bytes);
	qmp_close(g->qmp);
	free(g->regs);
	memset(g, 0, sizeof *g);
}

static void qemu_close(struct backend *be)
{
	struct qemu_backend *q = qb(be);
	for (int k = 0; k < q->nr_guests; k++)
		guest_release(&q->guests[k]);
	free(q->guests);
	free(q);
}

/* QEMU says POWERDOWN (an ACPI power button: virsh shutdown), SUSPEND,
 * RESET or SHUTDOWN on the guest's QMP socket. */
static int qemu_stop_asked(struct backend *be, int dom, struct xds_err *err)
{
	struct qemu_guest *g = guest(be, dom, err);
	if (!g || qmp_poll(g->qmp, err) < 0)
		return -1;
	uint64_t n = qmp_stop_events(g->qmp);
	int asked = n > g->stop_seen;
	g->stop_seen = n;
	return asked;
}

static const struct backend_ops qemu_ops = {
	.name = "qemu",
	.list = qemu_list,
	.pause = qemu_pause,
	.pause_unless_paused = qemu_pause_unless_paused,
	.resume = qemu_resume,
	.status = qemu_status,
	.map = qemu_map,
	.regs = qemu_regs,
	.nr_vcpus = qemu_nr_vcpus,
	.stop_asked = qemu_stop_asked,
	.close = qemu_close,
};

struct backend *backend_qemu_new(struct xds_err *err)
{
	struct qemu_backend *q = calloc(1, sizeof *q);
	if (!q) {
		xds_fail(err, "qemu: out of memory");
		return NULL;
	}
	q->be.ops = &qemu_ops;
	return &q->be;
}

static int count_vcpus(struct qemu_guest *g, struct xds_err *err)
{
	json_t *cpus = qmp_execute(g->qmp, "query-cpus-fast", NULL, err);
	if (!cpus)
		return -1;
	size_t n = json_array_size(cpus);
	json_decref(cpus);
	if (n == 0 || n > 4096)
		return xds_fail(err, "query-cpus-fast: %zu vCPUs", n);
	g->nr_vcpus = (int)n;
	g->regs = calloc(n, sizeof *g->regs);
	return g->regs ? 0 : xds_fail(err, "out of memory");
}

static int map_ram(struct qemu_guest *g, struct xds_err *err)
{
	int fd = open(g->ram_path, O_RDWR | O_CLOEXEC);
	g->writable = fd >= 0;
	if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM))
		fd = open(g->ram_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xds_fail(err, "RAM file %s: %s", g->ram_path,
				strerror(errno));
	struct stat st;
	int r = fstat(fd, &st);
	if (r < 0 || st.st_size < (off_t)BE_FRAME_SIZE) {
		close(fd);
		return xds_fail(err, "RAM file %s: %s", g->ram_path,
				r < 0 ? strerror(errno) : "smaller than one frame");
	}
	g->ram_bytes = (uint64_t)st.st_size;
	int prot = PROT_READ | (g->writable ? PROT_WRITE : 0);
	void *p = mmap(NULL, g->ram_bytes, prot, MAP_SHARED | MAP_NORESERVE, fd, 0);
	int e = errno;
	close(fd);
	if (p == MAP_FAILED)
		return xds_fail(err, "RAM file %s: mmap of %llu bytes: %s",
				g->ram_path, (unsigned long long)g->ram_bytes,
				strerror(e));
	g->ram = p;
	return 0;
}

static int guest_open(struct qemu_guest *g, const char *qmp_path,
		      struct xds_err *err)
{
	g->qmp = qmp_open(qmp_path, 0, err);
	if (!g->qmp || count_vcpus(g, err) < 0 || map_ram(g, err) < 0)
		return -1;
	return 0;
}

int backend_qemu_add(struct backend *be, const char *name,
		     const char *ram_path, const char *qmp_path,
		     struct xds_err *err)
{
	struct qemu_backend *q = qb(be);
	struct qemu_guest g = {0};
	if (strlen(name) >= sizeof g.name || strlen(ram_path) >= sizeof g.ram_path)
		return xds_fail(err, "qemu: guest name or RAM path too long: %s",
				name);
	strcpy(g.name, name);
	strcpy(g.ram_path, ram_path);
	struct qemu_guest *gs = realloc(q->guests,
					(size_t)(q->nr_guests + 1) * sizeof *gs);
	if (!gs)
		return xds_fail(err, "qemu: out of memory");
	q->guests = gs;
	if (guest_open(&g, qmp_path, err) < 0) {
		guest_release(&g);
		return xds_err_wrap(err, "qemu: adding guest %s", name);
	}
	q->guests[q->nr_guests] = g;
	return q->nr_guests++;
}

int backend_qemu_lost(struct backend *be, int dom)
{
	struct qemu_guest *g = guest(be, dom, NULL);
	return g && qmp_peer_closed(g->qmp);
}

char *backend_qemu_hmp(struct backend *be, int dom, const char *command_line,
		       struct xds_err *err)
{
	struct qemu_guest *g = guest(be, dom, err);
	if (!g)
		return NULL;
	char *out = qmp_hmp(g->qmp, command_line, err);
	if (!out)
		fail_dom(err, dom, g);
	return out;
}
