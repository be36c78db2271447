/*
 * xen.h - the `xen` backend: domUs of the Xen host we run in (dom0).
 *
 * backend_xen_new opens libxenctrl, libxenforeignmemory and xenstore and
 * fills in struct backend (see backend.h); domain ids are Xen domids.
 * Beyond the common interface, the host layer needs to know what kind of
 * guest a domain is, who paused it, and to drop mapped frames; those few
 * calls are here.  Built without libxen-dev (no XDS_HAVE_XEN), every call
 * fails with a message saying so.
 *
 * Frame numbers: map() of an HVM or PVH domain takes guest frame numbers.
 * A PV domain's page tables hold machine frames, so map() of a PV domain
 * takes machine frames (MFNs) and its be_dom.ram_bytes covers the host's
 * machine frames; the page walker follows the tables unchanged.  A PV
 * vCPU's CR3 is its root table's machine address with nothing else in it,
 * so its be_regs say cr3_exact (an odd MFN's bit 12 is not a PTI bit).
 */
#ifndef XDS_BACKEND_XEN_H
#define XDS_BACKEND_XEN_H

#include <stdint.h>

#include "backend/backend.h"
#include "backend/xen_fcache.h"

enum xen_guest_type { XEN_GUEST_PV, XEN_GUEST_PVH, XEN_GUEST_HVM };

struct xen_dom_info {
	int domid;
	enum xen_guest_type type;
	int paused;             /* paused by anyone (xl pause, us, ...) */
	int paused_by_us;       /* how many of our pauses are outstanding */
	int shutdown;           /* shut down (crashed, powered off, ...) */
	int shutdown_reason;    /* SHUTDOWN_* code when shutdown */
	int dying;              /* being destroyed */
	uint8_t handle[16];     /* the domain's UUID */
	uint64_t cpu_time_ns;
	uint64_t tot_pages;
};

struct backend *backend_xen_new(struct xds_err *err);

/* 1 when this machine is a Xen control domain we could open. */
int backend_xen_available(void);

/* Fresh information about one domain; -1 with err when it is gone. */
int backend_xen_info(struct backend *be, int dom, struct xen_dom_info *out,
		     struct xds_err *err);

/* Forget every cached frame of dom (its memory may have changed hands):
 * later maps map afresh; the old mappings go at the next be_flush. */
void backend_xen_invalidate(struct backend *be, int dom);

/* Frame cache counters and size of dom (all zero for an unknown domain). */
void backend_xen_cache_stats(struct backend *be, int dom,
			     struct xen_fcache_stats *st);

const char *backend_xen_type_name(enum xen_guest_type t);

#endif
