/*
 * xen_ps.c - a driver of the xen backend inside the nested dom0, for what
 * `xds-lua --xen` does not print: attaches every domU through
 * the host layer's "xen" kind, snapshots them `--count` times, and prints each
 * task of the last snapshot as "XPS DOMAIN PID TGID STATE COMM", with
 * the time each phase took (bench/xen_map.sh), the frame-cache counters
 * and a check of each PV guest's root table (ROOT-CHECK).  With
 * `--watch N` it runs N ticks `--interval` ms apart instead, each a rescan
 * (domains that came or went) and a snapshot, printing one TICK line per
 * tick, and checks on a domain paused by someone else that we neither
 * resume it nor let our own pause/resume pair do so (PAUSE-CHECK).
 * `--build-profile VMLINUX SYSTEM.MAP OUT` builds a profile with the same
 * code (scripts/xen-host runs it on the host, so that the profile's format
 * is the one this driver reads).  scripts/xen-host compiles it against
 * the runtime's sources.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/xen.h"
#include "host/host_int.h"        /* a white-box driver: the guests' backends */

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void print_tasks(const struct xds_guest *g)
{
	for (int i = 0; i < g->snap.nr_tasks; i++) {
		const struct lx_task *t = &g->snap.tasks[i];
		printf("XPS %s %d %d %c %s\n", g->name, t->pid, t->tgid,
		       t->state, t->comm);
	}
}

/*
 * A PV vCPU's CR3 names its root table by machine frame, bit 12 included
 * (cr3_exact): the frame map() gives for it must be a kernel's root table,
 * its upper half holding the kernel's mappings (the direct map and, in
 * the last slot, the kernel image), and it must differ from the frame
 * with bit 12 cleared, which a PTI-style reading would have walked.
 */
static void root_check(struct xds_guest *g, const struct be_regs *r)
{
	struct xds_err err;
	struct xen_dom_info di;
	if (backend_xen_info(g->be, g->dom, &di, &err) || di.type != XEN_GUEST_PV)
		return;
	uint64_t mfn = r->cr3 >> 12;
	const uint64_t *root = be_map(g->be, g->dom, mfn, 1, 0, &err);
	int upper = 0, last = 0, same = -1;
	if (root) {
		for (int i = 256; i < 512; i++)
			upper += root[i] & 1;
		last = root[511] & 1;
	}
	if (root && (mfn & 1)) {
		static uint64_t copy[512];
		memcpy(copy, root, sizeof copy);
		const void *even = be_map(g->be, g->dom, mfn & ~1ull, 1, 0, &err);
		same = even && !memcmp(copy, even, sizeof copy);
	}
	printf("ROOT-CHECK %s mfn %#llx %s exact=%d mapped=%d upper-present=%d "
	       "last-present=%d even-twin-same=%d\n", g->name, (unsigned long long)mfn,
	       mfn & 1 ? "odd" : "even", r->cr3_exact, root != NULL, upper, last, same);
}

/* Our pause and resume must leave someone else's pause in place. */
static void pause_check(struct xds_guest *g)
{
	struct xds_err err;
	struct xen_dom_info before, after;
	if (backend_xen_info(g->be, g->dom, &before, &err))
		return;
	int refused = be_resume(g->be, g->dom, &err) < 0;
	int paired = be_pause(g->be, g->dom, &err) == 0 &&
		be_resume(g->be, g->dom, &err) == 0;
	int still = backend_xen_info(g->be, g->dom, &after, &err) == 0 && after.paused;
	printf("PAUSE-CHECK %s resume-refused=%d pair-ok=%d still-paused=%d\n",
	       g->name, refused, paired, still);
}

static int watch(struct xds_host *h, const char *dir, int ticks, int interval_ms)
{
	struct xds_err err;
	int checked[XDS_MAX_GUESTS] = { 0 }, failures = 0;
	for (int k = 1; k <= ticks; k++) {
		int changed = 0;
		struct xds_attach_opts ao = { .profile_dir = dir };
		if ((k == 1 ? xds_host_attach(h, "xen", NULL, &ao, &err)
		     : xds_host_rescan(h, &changed, &err)) < 0) {
			printf("TICK %d rescan-error %s\n", k, err.msg);
			failures++;
		}
		xds_host_snapshot(h, &err);
		printf("TICK %d%s guests", k, changed ? " changed" : "");
		for (int i = 0; i < h->nr_guests; i++) {
			struct xds_guest *g = &h->guests[i];
			struct xen_dom_info di;
			int others = backend_xen_info(g->be, g->dom, &di, &err) == 0 &&
				di.paused && !di.paused_by_us;
			printf(" %s:%d%s%s", g->name, g->snap.nr_tasks,
			       others ? ":paused-by-others" : "", g->error[0] ? ":error" : "");
		}
		printf("\n");
		for (int i = 0; i < h->nr_guests; i++) {
			struct xds_guest *g = &h->guests[i];
			struct xen_dom_info di;
			if (backend_xen_info(g->be, g->dom, &di, &err) == 0 && di.paused &&
			    !di.paused_by_us && !checked[g->dom % XDS_MAX_GUESTS]++)
				pause_check(g);
		}
		for (int i = 0; i < h->nr_guests; i++)
			if (h->guests[i].error[0])
				printf("TICK %d error %s: %s\n", k, h->guests[i].name,
				       h->guests[i].error);
		fflush(stdout);
		usleep((useconds_t)interval_ms * 1000);
	}
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	int count = 3, ticks = 0, interval = 500;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--profile-dir"))
			dir = argv[i + 1];
		else if (!strcmp(argv[i], "--count"))
			count = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--watch"))
			ticks = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--interval"))
			interval = atoi(argv[i + 1]);
	}
	struct xds_host *h;
	struct xds_err err;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && !strcmp(argv[1], "--build-profile")) {
		static struct profile p;
		if (profile_build(argv[2], argv[3], &p, &err) || profile_save(&p, argv[4], &err)) {
			fprintf(stderr, "xen-ps: %s\n", err.msg);
			return 2;
		}
		return 0;
	}
	if (!(h = xds_host_new(&err))) {
		fprintf(stderr, "xen-ps: %s\n", err.msg);
		return 2;
	}
	if (ticks > 0) {
		int rc = watch(h, dir, ticks, interval);
		xds_host_free(h);
		return rc;
	}
	double t0 = now_ms();
	struct xds_attach_opts ao = { .profile_dir = dir };
	int n = xds_host_attach(h, "xen", NULL, &ao, &err) < 0 ? -1 : xds_host_nr_guests(h);
	double t1 = now_ms();
	if (n < 0) {
		fprintf(stderr, "xen-ps: %s\n", err.msg);
		return 2;
	}
	printf("xen-ps: attached %d guests in %.1f ms\n", n, t1 - t0);
	double *ms = calloc(count > 0 ? (size_t)count : 1, sizeof *ms);
	for (int k = 0; ms && k < count; k++) {
		double s0 = now_ms();
		int rc = xds_host_snapshot(h, &err);
		ms[k] = now_ms() - s0;
		if (k < 3 || rc)
			printf("xen-ps: snapshot %d: %.2f ms%s%s\n", k + 1, ms[k],
			       rc ? ": " : "", rc ? err.msg : "");
	}
	if (ms && count > 1) {
		qsort(ms + 1, (size_t)count - 1, sizeof *ms, cmp_double);
		printf("xen-ps: tick first %.2f ms, steady median %.2f ms, max %.2f ms "
		       "(%d ticks)\n", ms[0], ms[1 + (count - 1) / 2], ms[count - 1], count);
	}
	free(ms);
	for (int i = 0; i < h->nr_guests; i++) {
		struct xds_guest *g = &h->guests[i];
		struct xen_fcache_stats st;
		backend_xen_cache_stats(g->be, g->dom, &st);
		printf("xen-ps: dom %d (%s): %d tasks, %d cpus%s%s; frames held %zu "
		       "(peak %zu, bound %zu, trims %llu), maps %llu, hits %llu, failed %llu\n",
		       g->dom, g->name, g->snap.nr_tasks, g->snap.nr_cpus,
		       g->error[0] ? ", error: " : "", g->error, st.held, st.peak,
		       st.max_frames, (unsigned long long)st.trims, (unsigned long long)st.maps,
		       (unsigned long long)st.hits, (unsigned long long)st.failures);
		struct be_regs r;
		if (be_regs(g->be, g->dom, 0, &r, &err) == 0) {
			printf("xen-ps: dom %d (%s): vCPU 0 cr3 %#llx cpl %d\n", g->dom,
			       g->name, (unsigned long long)r.cr3, r.cpl);
			root_check(g, &r);
		}
		print_tasks(g);
	}
	double c0 = now_ms();
	xds_host_free(h);
	printf("xen-ps: report %.1f ms, close %.1f ms\n", c0 - t1, now_ms() - c0);
	return n > 0 ? 0 : 1;
}
