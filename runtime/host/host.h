/*
 * host.h - the host as xds-lua sees it: every attached guest, by name.
 *
 * A struct xds_host gathers the guests of one run: the domains of a
 * simulated host started with --sim (xds-sim on a private directory,
 * stopped at exit), and real QEMU guests given with --qemu.  It owns the
 * backends, the profiles (built from a vmlinux and cached, or loaded) and
 * one lx_guest per domain, and takes snapshots of all of them.  The tick
 * loop (policies, freeze and thaw) is built on it.
 */
#ifndef XDS_HOST_H
#define XDS_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "linux/linux.h"
#include "util/err.h"

#define XDS_MAX_GUESTS 64

struct xds_guest {
	char name[64];
	bool gone;                  /* its domain went away: a free slot */
	uint32_t gen;               /* bumped when the slot is reused */
	struct backend *be;         /* owned by the host */
	int dom;                    /* domain id within be */
	struct lx_guest *lx;
	struct lx_snapshot snap;    /* the latest snapshot */
	uint64_t snap_epoch;        /* host epoch it was taken in */
	char error[512];            /* why the latest snapshot failed, or "" */
	char spec[1024];            /* how to attach it again (--qemu spec), "" for --sim */
	uint64_t released_until_ns; /* asked to shut down or suspend: none of its
				     * tasks is frozen until then (scheduler time) */
};

struct xds_host {
	struct xds_guest guests[XDS_MAX_GUESTS];
	int nr_guests;
	uint64_t epoch;             /* bumped by every xds_host_snapshot */
	/* --sim: the simulator we started */
	int sim_pid;
	char sim_dir[256];
	struct qmp *sim_qmp;        /* host.qmp */
	uint64_t sim_time_ns;
	bool sim_realtime;          /* set before start: xds-sim --realtime */
	/* --xen: the domUs of the Xen host we run in */
	bool xen;
	char xen_profile_dir[256];
	uint64_t xen_scanned_ns;    /* when the last rescan ran */
};

void xds_host_init(struct xds_host *h);
void xds_host_close(struct xds_host *h);     /* detaches; stops the sim */

/* Start build/xds-sim on scenario in a private temporary directory and
 * attach every domain, with the profile built from the simulator's own
 * DWARF.  sim_path: the xds-sim binary (NULL: beside this program). */
int xds_host_start_sim(struct xds_host *h, const char *scenario, const char *sim_path,
		       uint64_t seed, struct xds_err *err);

/* --qemu NAME:ram=PATH,qmp=PATH[,profile=FILE][,vmlinux=ELF,sysmap=MAP] */
int xds_host_add_qemu(struct xds_host *h, const char *spec, const char *default_profile,
		      struct xds_err *err);

/* Snapshot every guest.  A guest that fails keeps an empty snapshot and its
 * error in guests[i].error; the call fails only if every guest failed. */
int xds_host_snapshot(struct xds_host *h, struct xds_err *err);

/* With --sim: advance virtual time by ns (x-sim-step). */
int xds_host_sim_step(struct xds_host *h, uint64_t ns, struct xds_err *err);

struct xds_guest *xds_host_guest(struct xds_host *h, const char *name);

/*
 * Xen (host_xen.c): every running domU whose kernel has a profile in
 * profile_dir (NULL: XDS_XEN_PROFILE_DIR), matched by banner, becomes a
 * guest under its domain name; the others are reported once, with the
 * reason, and left alone.  A rescan attaches domains that appeared (or
 * finished booting) and marks guests whose domain is gone: their slot is
 * kept (indexes of the others do not move) and reused later with its
 * generation bumped.  Both return the number of Xen guests, or -1.
 */
#define XDS_XEN_PROFILE_DIR "/etc/xds/profiles"
int xds_host_attach_xen(struct xds_host *h, const char *profile_dir, struct xds_err *err);
int xds_host_xen_rescan(struct xds_host *h, const char *profile_dir, int *changed,
			struct xds_err *err);

/* With --sim: the simulator's ground truth (x-sim-tasks' return value:
 * {"time_ns", "violations", "tasks": [...]}; caller frees) and its count
 * of invariant violations (-1 on error). */
struct json_t *xds_host_sim_tasks(struct xds_host *h, struct xds_err *err);
int64_t xds_host_sim_violations(struct xds_host *h, struct xds_err *err);

#endif
