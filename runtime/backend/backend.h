/*
 * backend.h - the one interface every hypervisor backend fills in.
 *
 * A backend is a table of a handful of functions (LibVMI's driver idea,
 * kept small): list domains, pause, resume, ask whether paused, map guest
 * frames, let mappings go, read a vCPU's registers, count vCPUs, wake an
 * idle vCPU (where the hypervisor lets us), tell that a domain was asked
 * to stop, close.  Layers above call the be_* wrappers below and never
 * learn which hypervisor they run on.  Each implementation lives in its
 * own file here (qemu.c; xen.c; image.c) and embeds struct backend at the
 * start of its own state.
 *
 * Domains are numbered by the backend (qemu: 0..n-1 in the order added;
 * xen: domids).  Every function returns -1 (or NULL) with err on failure.
 *
 * Mapped frames, the one lifetime rule of every backend and every layer
 * above: a pointer from be_map stays valid, mapping the frames it was
 * asked for, until the next be_flush on that backend, or be_close.  No
 * other call ends it: not more maps (a cache over its bound keeps
 * mapping), not list, pause, status or regs (a domain that is gone, or
 * reborn under its id, or whose pages changed, has its mappings forgotten
 * for later maps but released only at the flush).  A backend that must
 * let mappings go does it in flush.  Layers above call be_flush only
 * where nothing can hold such a pointer: linux calls it at the start of
 * each snapshot (lx_snapshot), between ticks, never inside a read, a
 * freeze or a batch.  The bytes behind the pointer are the guest's and
 * change while it runs; only the mapping is kept.
 */
#ifndef XDS_BACKEND_H
#define XDS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "backend/regs.h"
#include "util/err.h"

#define BE_FRAME_SIZE 4096u

struct backend;

struct be_dom {
	int id;
	char name[64];
	int nr_vcpus;
	uint64_t ram_bytes;     /* guest-physical bytes the backend can map */
};

struct backend_ops {
	const char *name;       /* "qemu", "xen" */
	/* Fill out[0..max) with the domains; returns how many were filled. */
	int (*list)(struct backend *be, struct be_dom *out, int max,
		    struct xds_err *err);
	/* Stop every vCPU of dom / let them run again.  pause returns when
	 * the domain no longer runs. */
	int (*pause)(struct backend *be, int dom, struct xds_err *err);
	int (*resume)(struct backend *be, int dom, struct xds_err *err);
	/* Optional: pause dom unless it is not running already, *was_paused
	 * set to which (status then pause, in fewer round trips). */
	int (*pause_unless_paused)(struct backend *be, int dom, int *was_paused,
				   struct xds_err *err);
	/* *paused = 1 when the domain is not running (for any reason). */
	int (*status)(struct backend *be, int dom, int *paused,
		      struct xds_err *err);
	/* Pointer to nr_frames contiguous 4 KiB guest frames from gfn, or
	 * NULL with err (frames outside guest RAM, a write map of a read-only
	 * guest).  Valid until the next flush or close (above); write through
	 * it only while paused. */
	void *(*map)(struct backend *be, int dom, uint64_t gfn,
		     size_t nr_frames, int writable, struct xds_err *err);
	/* Release what map handed out that the backend does not mean to
	 * keep (every pointer from map may be invalid after).  NULL: map's
	 * pointers live until close. */
	void (*flush)(struct backend *be);
	/* Registers of one vCPU, read now (or in the current pause). */
	int (*regs)(struct backend *be, int dom, int vcpu, struct be_regs *out,
		    struct xds_err *err);
	int (*nr_vcpus)(struct backend *be, int dom, struct xds_err *err);
	/* Wake vCPU vcpu if it waits, idle, for an interrupt: send it an event
	 * the guest takes as spurious, so that its idle loop looks at
	 * need_resched again (the IPI a CPU of the guest would have sent).
	 * 0: sent; 1: no way to reach that vCPU; -1: err.  NULL: no way. */
	int (*kick)(struct backend *be, int dom, int vcpu, struct xds_err *err);
	/* 1 when the domain has been asked to shut down, reboot or suspend
	 * (a save, a migration) since the last call, else 0; -1: err.  The
	 * first call starts watching.  NULL: the backend cannot tell. */
	int (*stop_asked)(struct backend *be, int dom, struct xds_err *err);
	void (*close)(struct backend *be);
};

struct backend {
	const struct backend_ops *ops;
};

static inline int be_list(struct backend *be, struct be_dom *out, int max,
			  struct xds_err *err)
{
	return be->ops->list(be, out, max, err);
}

static inline int be_pause(struct backend *be, int dom, struct xds_err *err)
{
	return be->ops->pause(be, dom, err);
}

static inline int be_resume(struct backend *be, int dom, struct xds_err *err)
{
	return be->ops->resume(be, dom, err);
}

/* Pause dom unless it is not running; *was_paused says which. */
static inline int be_pause_unless_paused(struct backend *be, int dom, int *was_paused,
					 struct xds_err *err)
{
	if (be->ops->pause_unless_paused)
		return be->ops->pause_unless_paused(be, dom, was_paused, err);
	if (be->ops->status(be, dom, was_paused, err))
		return -1;
	return *was_paused ? 0 : be->ops->pause(be, dom, err);
}

static inline int be_status(struct backend *be, int dom, int *paused,
			    struct xds_err *err)
{
	return be->ops->status(be, dom, paused, err);
}

static inline void *be_map(struct backend *be, int dom, uint64_t gfn,
			   size_t nr_frames, int writable, struct xds_err *err)
{
	return be->ops->map(be, dom, gfn, nr_frames, writable, err);
}

/* The one point where pointers from be_map end (see "Mapped frames"). */
static inline void be_flush(struct backend *be)
{
	if (be->ops->flush)
		be->ops->flush(be);
}

static inline int be_regs(struct backend *be, int dom, int vcpu,
			  struct be_regs *out, struct xds_err *err)
{
	return be->ops->regs(be, dom, vcpu, out, err);
}

static inline int be_nr_vcpus(struct backend *be, int dom, struct xds_err *err)
{
	return be->ops->nr_vcpus(be, dom, err);
}

/* 0: the vCPU was sent a wake-up event; 1: the backend cannot; -1: err. */
static inline int be_kick(struct backend *be, int dom, int vcpu, struct xds_err *err)
{
	return be->ops->kick ? be->ops->kick(be, dom, vcpu, err) : 1;
}

/* 1: the domain was asked to shut down or suspend since the last call. */
static inline int be_stop_asked(struct backend *be, int dom, struct xds_err *err)
{
	return be->ops->stop_asked ? be->ops->stop_asked(be, dom, err) : 0;
}

/* Releases everything the backend holds (NULL is fine). */
static inline void be_close(struct backend *be)
{
	if (be)
		be->ops->close(be);
}

/*
 * The qemu backend: guests whose RAM is a shared file
 * (-object memory-backend-file,...,share=on; file offset = guest physical
 * address, true for the pc machine below the PCI hole) and whose QMP
 * socket we may use.  backend_qemu_new makes an empty backend;
 * backend_qemu_add connects one guest and returns its domain id (0, 1, ...
 * in order), or -1 with err.  Each RAM file is mapped whole when its
 * guest is added, so map's pointers live until close (no flush).
 */
struct backend *backend_qemu_new(struct xds_err *err);
int backend_qemu_add(struct backend *be, const char *name,
		     const char *ram_path, const char *qmp_path,
		     struct xds_err *err);
/* The guest's QEMU is gone: its QMP socket was closed by the other end. */
int backend_qemu_lost(struct backend *be, int dom);
/* Text of an HMP command on a qemu backend's guest (caller frees): for the
 * REPL and for tests ("xp /1xg 0x1000" shows the guest's own view). */
char *backend_qemu_hmp(struct backend *be, int dom, const char *command_line,
		       struct xds_err *err);

/*
 * The image backend: one domain (id 0) over RAM the caller holds (a dump,
 * a copy, a simulator in the same process), with fixed registers for
 * nr_vcpus vCPUs.  The caller keeps ram alive until close; map points
 * into it, so be_flush has nothing to do.
 */
struct backend *backend_image_new(void *ram, uint64_t size, int nr_vcpus,
				  const struct be_regs *regs, struct xds_err *err);
/* How many times vCPU vcpu was kicked (be_kick). */
uint64_t backend_image_kicks(struct backend *be, int vcpu);
/* Replace one vCPU's registers (an image of a guest that moves on). */
int backend_image_set_regs(struct backend *be, int vcpu, const struct be_regs *regs,
			   struct xds_err *err);

#endif
