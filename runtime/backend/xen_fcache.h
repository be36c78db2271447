/*
 * xen_fcache.h - a cache of mapped guest frames for the xen backend.
 *
 * Foreign mapping costs a hypercall and an mmap per call, so the xen
 * backend maps each frame once and keeps the pointer across ticks: an
 * open-addressing hash from frame number to its read-only and (on first
 * demand) writable mapping.  The cache is bounded: when max_frames are
 * held it unmaps everything and starts again (a tick touches far fewer
 * frames than that).  The cache knows nothing of Xen: the mapper and
 * unmapper are callbacks, so it is tested without a hypervisor.  It
 * leaves to the backend when to clear it (domain gone, reuse of a domid,
 * an explicit invalidate).
 */
#ifndef XDS_XEN_FCACHE_H
#define XDS_XEN_FCACHE_H

#include <stddef.h>
#include <stdint.h>

struct xen_fcache_ops {
	void *ctx;
	/* One 4 KiB frame mapped read-only or writable, or NULL. */
	void *(*map)(void *ctx, uint64_t frame, int writable);
	void (*unmap)(void *ctx, void *addr);
};

struct xen_fcache_stats {
	uint64_t hits;          /* answered from the cache */
	uint64_t maps;          /* successful map calls */
	uint64_t failures;      /* map calls that returned NULL */
	uint64_t clears;        /* whole-cache clears (full, or asked) */
	size_t held;            /* frames currently mapped */
};

struct xen_fcache;

/* NULL when out of memory.  max_frames > 0. */
struct xen_fcache *xen_fcache_new(const struct xen_fcache_ops *ops,
				  size_t max_frames);
/* Unmaps everything and frees the cache (NULL is fine). */
void xen_fcache_free(struct xen_fcache *c);

/* The frame's mapping, from the cache or mapped now; NULL when the
 * mapper fails (nothing is cached then). */
void *xen_fcache_get(struct xen_fcache *c, uint64_t frame, int writable);

/* Unmap every frame (the guest's frames may have changed owner). */
void xen_fcache_clear(struct xen_fcache *c);

void xen_fcache_get_stats(const struct xen_fcache *c,
			  struct xen_fcache_stats *st);

#endif
