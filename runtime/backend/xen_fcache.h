/*
 * xen_fcache.h - a cache of mapped guest frames for the xen backend.
 *
 * Foreign mapping costs a hypercall and an mmap per call, so the xen
 * backend maps each frame once and keeps the pointer across ticks: an
 * open-addressing hash from frame number to its read-only and (on first
 * demand) writable mapping.  Pointers it hands out live as backend.h says
 * ("Mapped frames"): nothing is unmapped until xen_fcache_trim, which the
 * backend calls from be_flush.  A get never unmaps: past max_frames the
 * cache goes on mapping, and the next trim, finding more than max_frames
 * held, unmaps them all (a tick touches far fewer frames than that).  A
 * clear only forgets: later gets map afresh, the old mappings stay valid
 * until that trim.  The cache knows nothing of Xen: the mapper and
 * unmapper are callbacks, so it is tested without a hypervisor.  It leaves
 * to the backend when to clear it (domain gone, reuse of a domid, an
 * explicit invalidate) and when to trim it.
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
	uint64_t failures;      /* map calls that returned NULL, or no room */
	uint64_t clears;        /* xen_fcache_clear calls (frames forgotten) */
	uint64_t trims;         /* trims that unmapped every frame */
	size_t held;            /* frames mapped now, forgotten ones included */
	size_t stale;           /* of those, forgotten: unmapped at the next trim */
	size_t peak;            /* the most frames held at once */
	size_t max_frames;      /* what a trim leaves at the most */
};

struct xen_fcache;

/* NULL when out of memory.  max_frames > 0. */
struct xen_fcache *xen_fcache_new(const struct xen_fcache_ops *ops,
				  size_t max_frames);
/* Unmaps everything and frees the cache (NULL is fine). */
void xen_fcache_free(struct xen_fcache *c);

/* The frame's mapping, from the cache or mapped now; NULL when the
 * mapper fails or the table cannot grow (nothing is cached then). */
void *xen_fcache_get(struct xen_fcache *c, uint64_t frame, int writable);

/* Forget every frame (the guest's frames may have changed owner): later
 * gets map afresh; what was handed out is unmapped at the next trim. */
void xen_fcache_clear(struct xen_fcache *c);

/* The flush point: unmap every frame when some were forgotten or more
 * than max_frames are held; else keep them all for the next tick. */
void xen_fcache_trim(struct xen_fcache *c);

void xen_fcache_get_stats(const struct xen_fcache *c,
			  struct xen_fcache_stats *st);

#endif
