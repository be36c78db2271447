/*
 * simguest.h - a simulated guest in the test's own process.
 *
 * Loads a scenario with the simulator's library (build/sim-lib.a), lays its
 * first domain's RAM out in a temporary directory, runs it for a while, and
 * attaches the runtime to that RAM through the image backend, with the
 * profile built from this very binary's DWARF (it links the simulator's
 * kernel, compiled with -g).  Tests and fuzzers then corrupt the RAM and
 * check what the runtime does.  Header-only: each test includes it once.
 */
#ifndef XDS_TEST_SIMGUEST_H
#define XDS_TEST_SIMGUEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "linux/linux.h"
#include "profile/profile.h"
#include "simk.h"

struct simguest {
	struct sim *s;
	struct sdom *d;
	char dir[64], scenario[96];
	struct profile prof;
	struct backend *be;
	struct lx_guest *lx;
};

/* Host pointer for a guest VA of d, or NULL when outside RAM. */
static inline uint8_t *simguest_host(struct simguest *g, uint64_t va, size_t n)
{
	uint64_t pa;
	return simk_pa(g->d, va, n, &pa) ? g->d->ram + pa : NULL;
}

static inline int simguest_open(struct simguest *g, const char *scenario_text, uint64_t run_ns,
				struct xds_err *err)
{
	memset(g, 0, sizeof *g);
	strcpy(g->dir, "/tmp/xds-simguest.XXXXXX");
	if (!mkdtemp(g->dir))
		return xds_fail(err, "mkdtemp failed");
	snprintf(g->scenario, sizeof g->scenario, "%s/scenario.lua", g->dir);
	FILE *f = fopen(g->scenario, "w");
	if (!f)
		return xds_fail(err, "%s: cannot write", g->scenario);
	fputs(scenario_text, f);
	fclose(f);
	char msg[512], map[128];
	g->s = sim_load(g->scenario, 1, msg, sizeof msg);
	if (!g->s)
		return xds_fail(err, "%s", msg);
	g->d = g->s->doms[0];
	for (int i = 0; i < g->s->nr_doms; i++)
		if (sim_mem_create(g->s->doms[i], g->dir, msg, sizeof msg))
			return xds_fail(err, "%s", msg);
	snprintf(map, sizeof map, "%s/System.map", g->dir);
	if (sim_write_system_map(map))
		return xds_fail(err, "%s: cannot write", map);
	sim_start(g->s);
	sim_step(g->s, run_ns);
	if (profile_build("/proc/self/exe", map, &g->prof, err))
		return -1;
	struct be_regs regs[SIM_MAX_VCPUS];
	memset(regs, 0, sizeof regs);
	for (int i = 0; i < g->d->nr_vcpus; i++) {
		regs[i].valid = 1;
		regs[i].cpu = i;
		regs[i].cr0 = 0x80050033;
		regs[i].cr3 = g->d->cr3;
		regs[i].cr4 = 0x3406f0;
		regs[i].lma = 1;
	}
	g->be = backend_image_new(g->d->ram, g->d->ram_size, g->d->nr_vcpus, regs, err);
	if (!g->be)
		return -1;
	g->lx = lx_attach(g->be, 0, &g->prof, err);
	return g->lx ? 0 : -1;
}

/* The image backend's registers follow the simulated vCPUs (CPL, CR3). */
static inline void simguest_sync_regs(struct simguest *g)
{
	for (int i = 0; i < g->d->nr_vcpus; i++) {
		struct be_regs r = { .valid = 1, .cpu = i, .cr0 = 0x80050033, .cr4 = 0x3406f0, .lma = 1 };
		r.cr3 = g->d->cr3;
		r.cpl = g->d->vcpu[i].cpl;
		r.hlt = g->d->vcpu[i].halted;
		backend_image_set_regs(g->be, i, &r, NULL);
	}
}

/* Ground truth of the task with this pid. */
static inline struct stask *simguest_task(struct simguest *g, int pid)
{
	for (int i = 0; i < g->s->nr_tasks; i++)
		if (g->s->tasks[i].d == g->d && g->s->tasks[i].pid == pid)
			return &g->s->tasks[i];
	return NULL;
}

static inline void simguest_close(struct simguest *g)
{
	char path[160];
	lx_detach(g->lx);
	be_close(g->be);
	for (int i = 0; g->s && i < g->s->nr_doms; i++) {
		snprintf(path, sizeof path, "%s/%s.ram", g->dir, g->s->doms[i]->name);
		unlink(path);
	}
	sim_free(g->s);
	snprintf(path, sizeof path, "%s/System.map", g->dir);
	unlink(path);
	unlink(g->scenario);
	rmdir(g->dir);
}

#endif
