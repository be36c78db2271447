/*
 * host.h - the host as xds-lua sees it: every attached guest, by name, and
 * the host's clock.
 *
 * A struct xds_host gathers the guests of one run.  Guests come from one
 * or more kinds of host, each a table of its own (host_int.h): "sim" (a
 * simulated host, xds-sim on a private directory, stopped at exit),
 * "qemu" (a QEMU guest given by its RAM file and QMP socket), "xen" (the
 * domUs of the Xen host we run in, found again on every rescan) and
 * "static" (guests given as snapshots: tests, recordings).  The host owns
 * the backends, the profiles and one lx_guest per domain; it takes
 * snapshots, keeps the clock (the wall clock, or a kind's virtual one),
 * pauses and resumes guests, and offers a kind's own controls by name.
 *
 * Nothing above this layer asks which kind a guest is: the scheduler and
 * the Lua module see guests, a clock and named controls.  Both structs are
 * opaque; their fields are this layer's alone.
 */
#ifndef XDS_HOST_H
#define XDS_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "linux/linux.h"
#include "util/bounds.h"
#include "util/err.h"
#include "util/json.h"

struct xds_host;
struct xds_guest;

/* What attaching a kind may need; each kind reads the fields it knows. */
struct xds_attach_opts {
	const char *profile;        /* qemu: profile for guests that give none */
	const char *profile_dir;    /* xen: where profiles are (NULL: the default) */
	uint64_t seed;              /* sim: random seed (0: 1) */
	bool realtime;              /* sim: the simulator follows the wall clock */
	const char *helper;         /* sim: the xds-sim binary (NULL: beside us) */
};

struct xds_host *xds_host_new(struct xds_err *err);
/* Detaches every guest and stops what the kinds started (NULL is fine). */
void xds_host_free(struct xds_host *h);

/*
 * Attach the guests that arg names on a host of kind ("sim": a scenario
 * file; "qemu": NAME:ram=PATH,qmp=PATH[,profile=FILE][,vmlinux=ELF,
 * sysmap=MAP]; "xen": every domU with a profile, arg unused).  The error
 * says the kind and the argument.
 */
int xds_host_attach(struct xds_host *h, const char *kind, const char *arg,
		    const struct xds_attach_opts *o, struct xds_err *err);
/* Whether this machine can host guests of kind (xen: we run in a dom0). */
bool xds_host_kind_available(const char *kind);
/* The kinds compiled in, for --version: "sim qemu xen static". */
const char *xds_host_kinds(void);

/*
 * Look for guests that came or went (kinds that can tell: xen, about once
 * a second).  A gone guest keeps its slot, marked gone, so that indexes of
 * the others do not move; a slot reused later has its generation bumped.
 * *changed (may be NULL) is set when any guest came or went.
 */
int xds_host_rescan(struct xds_host *h, int *changed, struct xds_err *err);

/* Snapshot every live guest.  A guest that fails keeps an empty snapshot
 * and its error; the call fails only if every guest failed. */
int xds_host_snapshot(struct xds_host *h, struct xds_err *err);
/* Bumped by every xds_host_snapshot. */
uint64_t xds_host_epoch(const struct xds_host *h);

/*
 * The clock.  now: host time in ns, virtual where a kind keeps a virtual
 * clock, else CLOCK_MONOTONIC; wait_until lets host time reach t (steps a
 * virtual clock, sleeps on a real one; -1 with "interrupted" on a signal).
 * time_of_day: seconds since the epoch on a real clock, virtual seconds
 * on a virtual one (xds.time()).
 */
uint64_t xds_host_now(const struct xds_host *h);
int xds_host_wait_until(struct xds_host *h, uint64_t t_ns, struct xds_err *err);
double xds_host_time_of_day(const struct xds_host *h);
/* Host time moves only when it is advanced (a simulator's virtual time). */
bool xds_host_clock_virtual(const struct xds_host *h);
/* Every guest dies with this run (a private simulator): nothing could be
 * recovered by a later one, so a run needs no journal. */
bool xds_host_ephemeral(const struct xds_host *h);

/*
 * Controls a kind offers beyond this API (the simulator's step, ground
 * truth and status), by name.  xds_host_controls gives the table's name
 * ("sim") and a NULL-terminated list of control names, or NULL if no
 * attached kind has controls.  A control takes a JSON object (or NULL;
 * the caller keeps its reference) and returns a JSON value the caller
 * frees.
 */
const char *xds_host_controls(const struct xds_host *h, const char *const **names);
json_t *xds_host_control(struct xds_host *h, const char *name, json_t *args,
			 struct xds_err *err);
/* The host's own account of its tasks ({"time_ns", "violations", "tasks":
 * [{dom, pid, comm, cputime_ns, wait_ns, ...}]}), where a kind keeps one
 * (a simulator does); NULL with err otherwise.  has_truth tells first. */
bool xds_host_has_truth(const struct xds_host *h);
json_t *xds_host_truth(struct xds_host *h, struct xds_err *err);

/* From a signal handler, before _exit: stop what must not outlive us
 * (async-signal-safe; a simulator is killed). */
void xds_host_kill_helpers(const struct xds_host *h);

/* ---- guests ---- */

/* Guest slots 0..n-1, gone ones included. */
int xds_host_nr_guests(const struct xds_host *h);
struct xds_guest *xds_host_guest(const struct xds_host *h, int i);
/* The live guest of that name, or NULL; its index in *index if not NULL. */
struct xds_guest *xds_host_find(struct xds_host *h, const char *name, int *index);

const char *xds_guest_name(const struct xds_guest *g);
bool xds_guest_gone(const struct xds_guest *g);
uint32_t xds_guest_gen(const struct xds_guest *g);
/* The latest snapshot (empty when it failed or the guest is gone). */
const struct lx_snapshot *xds_guest_snapshot(const struct xds_guest *g);
/* Why the latest snapshot failed, or "". */
const char *xds_guest_error(const struct xds_guest *g);
/* The guest's kernel (NULL for a guest without one: static, gone). */
struct lx_guest *xds_guest_lx(struct xds_guest *g);
/* Its vCPUs, and its kernel's KASLR slide (0 without a kernel). */
int xds_guest_vcpus(const struct xds_guest *g);
uint64_t xds_guest_slide(const struct xds_guest *g);
/* Its kernel's linux_banner ("" for a static snapshot). */
const char *xds_guest_banner(const struct xds_guest *g);
/* The source its kernel's profile came from ("" without a kernel). */
const char *xds_guest_profile_source(const struct xds_guest *g);
/* Its kernel's scheduler family ("cfs", "eevdf"; "" when not attached),
 * and whether xds-lua can change its run queues (*writes). */
const char *xds_guest_family(const struct xds_guest *g, bool *writes);
/* How to find this guest again in a later run (the journal keeps it). */
const char *xds_guest_spec(const struct xds_guest *g);

/* Pause (unless someone else had: *was_paused), resume.  Writes to the
 * guest happen only between the two. */
int xds_guest_pause(struct xds_guest *g, bool *was_paused, struct xds_err *err);
int xds_guest_resume(struct xds_guest *g, struct xds_err *err);
/* 1 when the guest was asked to shut down, reboot or suspend since the
 * last call, 0 if not (or the kind cannot tell), -1 with err. */
int xds_guest_stop_asked(struct xds_guest *g, struct xds_err *err);

/* Whether g (of the same name) can be the guest an earlier run journaled
 * under spec: never for a guest that dies with its run. */
bool xds_guest_may_be(const struct xds_guest *g, const char *spec);

/*
 * A guest of an earlier run, found again from its name and the spec the
 * journal kept (recovery).  1: attached (*g set); 0: it is gone for good
 * and its tasks with it (a private simulator, a destroyed domain), with
 * the reason in err; -1: it could not be attached now, with err.
 */
int xds_host_reattach(struct xds_host *h, const char *name, const char *spec,
		      struct xds_guest **g, struct xds_err *err);

/* A guest given as a snapshot (copied) or an error: tests, recordings. */
int xds_host_add_static(struct xds_host *h, const char *name, const struct lx_snapshot *snap,
			const char *error, struct xds_err *err);

#endif
