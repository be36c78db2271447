/*
 * xen.c - the `xen` backend: the domUs of the Xen host whose dom0 we run
 * in, through libxenctrl, libxenforeignmemory and xenstore (see xen.h).
 *
 * Domains come from xc_domain_getinfolist (dom0 and dying domains are
 * left out), names from xenstore's /local/domain/ID/name.  Each domain we
 * touch gets a small state, keyed by domid and checked against the
 * domain's UUID so that a reused domid starts afresh: its type (PV, PVH,
 * HVM), how many pauses we hold, and a cache of mapped frames
 * (xen_fcache.c), so a frame is mapped once and reused across ticks.
 * Pause and resume are xc_domain_pause/unpause, which Xen counts: we only
 * ever unpause what we paused, so a domain paused by xl stays paused.
 * Registers: a PV vCPU's from xc_vcpu_getcontext (CR3 is the kernel's
 * root table as a machine address, reported with cr3_exact set since an
 * odd MFN's bit 12 is not a PTI bit; kernel mode is VGCF_in_kernel, since
 * a 64-bit PV kernel runs in ring 3); an HVM/PVH vCPU's from the CPU record
 * of its HVM context (CR0/3/4, EFER, CPL as SS.DPL).
 * Mappings live as backend.h's "Mapped frames" says: nothing is unmapped
 * before be_flush.  The cache forgets its frames when the domain's page
 * count changes (balloon), when its domid is reused, and on
 * backend_xen_invalidate; a domain that is gone leaves its state on a
 * list; flush then releases what was forgotten, trims caches over their
 * bound, unmaps the multi-frame maps and frees the states of gone
 * domains (whose pages Xen keeps until they are unmapped).
 * Kicks (an idle vCPU woken after a thaw) are events on the toolstack's
 * xenstore or console channel, sent with EVTCHNOP_send through libxencall;
 * XDS_XEN_NO_KICK=1 turns them off (bench/xen_reaction.sh measures both).
 * Leaves to others: what the frames contain (vmem, linux).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/xen.h"

#define XEN_PRIVCMD "/dev/xen/privcmd"

const char *backend_xen_type_name(enum xen_guest_type t)
{
	return t == XEN_GUEST_PV ? "pv" : t == XEN_GUEST_PVH ? "pvh" : "hvm";
}

int backend_xen_available(void)
{
#ifdef XDS_HAVE_XEN
	return access(XEN_PRIVCMD, R_OK | W_OK) == 0;
#else
	return 0;
#endif
}

#ifndef XDS_HAVE_XEN

struct backend *backend_xen_new(struct xds_err *err)
{
	xds_fail(err, "xen: this xds-lua was built without libxen-dev "
		 "(install it and rebuild for the xen backend)");
	return NULL;
}

int backend_xen_info(struct backend *be, int dom, struct xen_dom_info *out,
		     struct xds_err *err)
{
	(void)be;
	(void)out;
	return xds_fail(err, "xen dom %d: built without libxen-dev", dom);
}

void backend_xen_invalidate(struct backend *be, int dom)
{
	(void)be;
	(void)dom;
}


void backend_xen_cache_stats(struct backend *be, int dom,
			     struct xen_fcache_stats *st)
{
	(void)be;
	(void)dom;
	memset(st, 0, sizeof *st);
}

#else /* XDS_HAVE_XEN */

#include <sys/mman.h>
/* Xen's public headers use GNU C (anonymous unions, aligned attributes)
 * and refuse a strict -std=c11; both compilers we use accept them. */
#undef __STRICT_ANSI__
#include <xencall.h>
#include <xenctrl.h>
#include <xenforeignmemory.h>
#include <xenstore.h>
#include <xen/hvm/save.h>

#define XEN_MAX_DOMS      256
#define XEN_MAX_DOM0_PORTS 65536        /* bound on the scan of dom0's ports */
#define XEN_KICK_CHANS    2             /* xenstore's, the console's */
#define XEN_KICK_RELOOK_S 5             /* seconds before looking again for none */
#define XEN_CACHE_FRAMES  (1u << 18)    /* a flush leaves 1 GiB mapped per domain */
#define XEN_CR0_PE        0x1ull
#define XEN_CR0_PG        0x80000000ull
#define XEN_CR4_LA57      (1ull << 12)
#define XEN_EFER_LME      (1ull << 8)
#define XEN_EFER_LMA      (1ull << 10)

struct xen_backend;

/* A mapping of several frames at once (map with nr_frames > 1), never
 * reused: unmapped at the next flush. */
struct xen_multi {
	void *addr;
	size_t nr_frames;
};

struct xen_dom_state {
	struct xen_backend *xb;
	int domid;
	uint8_t handle[16];
	enum xen_guest_type type;
	int width;              /* guest word size in bytes (PV: 8 or 4) */
	char name[64];
	int nr_vcpus;
	uint64_t max_frame;     /* highest frame map() accepts (PV: MFN) */
	int paused_by_us;
	int known;              /* handle and type were taken in */
	int named;              /* name read from xenstore (not domN) */
	uint64_t tot_pages;     /* at the last look: a change drops the cache */
	struct xen_fcache *cache;
	struct xen_multi *multi;
	size_t nr_multi;
	/* dom0's ends of the toolstack's channels to this domain (xenstore,
	 * console), found on the first kick: an event on one wakes the vCPU
	 * the domain has it notify */
	/* the watch on control/shutdown: the toolstack asks the guest to
	 * shut down, reboot or suspend there (the guest then clears it) */
	char watch_token[32];   /* "" until the first stop_asked */
	int watch_fired;        /* events seen (the first: the registration) */
	int stop_asked;         /* a request since the last stop_asked */
	int chans_known;
	time_t chans_looked;    /* when none was found: look again later */
	int nr_chans;
	struct { evtchn_port_t local, remote; } chan[XEN_KICK_CHANS];
	struct xen_dom_state *next_gone;        /* on xen_backend.gone */
};

struct xen_backend {
	struct backend be;      /* first: struct backend * casts to us */
	xc_interface *xch;
	xenforeignmemory_handle *fmem;
	struct xs_handle *xsh;  /* NULL without xenstored: names are domN */
	xencall_handle *xcall;  /* NULL: no kicks */
	unsigned watch_serial;  /* tokens of our watches, never reused */
	evtchn_send_t *send;    /* hypercall buffer for EVTCHNOP_send */
	uint64_t max_mfn;       /* highest machine frame of the host */
	struct xen_dom_state *doms[XEN_MAX_DOMS];
	int nr_doms;
	struct xen_dom_state *gone;     /* left the list: freed at the flush */
};

static struct xen_backend *xbe(struct backend *be)
{
	return (struct xen_backend *)be;
}

/* libxenctrl logs its own errors to stderr; ours carry them instead. */
static void xen_log_drop(struct xentoollog_logger *l, xentoollog_level level,
			 int errnoval, const char *context, const char *format,
			 va_list al)
{
	(void)l;
	(void)level;
	(void)errnoval;
	(void)context;
	(void)format;
	(void)al;
}

static void xen_log_destroy(struct xentoollog_logger *l)
{
	(void)l;
}

static struct xentoollog_logger xen_quiet_logger = {
	.vmessage = xen_log_drop,
	.destroy = xen_log_destroy,
};

/* ---- domain information and state ---- */

static int xen_getinfo(struct xen_backend *xb, int domid, xc_domaininfo_t *info,
		       struct xds_err *err)
{
	if (domid <= 0 || domid >= (int)DOMID_FIRST_RESERVED)
		return xds_fail(err, "xen: no domain %d (domUs only)", domid);
	int n = xc_domain_getinfolist(xb->xch, (uint32_t)domid, 1, info);
	if (n < 0)
		return xds_fail(err, "xen dom %d: getdomaininfo: %s", domid,
				strerror(errno));
	if (n == 0 || info->domain != domid)
		return xds_fail(err, "xen dom %d: no such domain (destroyed?)",
				domid);
	return 0;
}

static enum xen_guest_type xen_type_of(const xc_domaininfo_t *info)
{
	if (!(info->flags & XEN_DOMINF_hvm_guest))
		return XEN_GUEST_PV;
	/* PVH has no emulated platform devices beyond the local APIC */
	if (!(info->arch_config.emulation_flags & ~XEN_X86_EMU_LAPIC))
		return XEN_GUEST_PVH;
	return XEN_GUEST_HVM;
}

/* The name from xenstore, or domN until xl has written it there. */
static void xen_read_name(struct xen_dom_state *st)
{
	if (!st->named)
		snprintf(st->name, sizeof st->name, "dom%d", st->domid);
	if (!st->xb->xsh)
		return;
	char path[64];
	unsigned int len = 0;
	snprintf(path, sizeof path, "/local/domain/%d/name", st->domid);
	char *name = xs_read(st->xb->xsh, XBT_NULL, path, &len);
	if (name && len > 0 && len < sizeof st->name) {
		snprintf(st->name, sizeof st->name, "%.*s", (int)len, name);
		st->named = 1;
	}
	free(name);
}

static uint64_t xen_max_frame(struct xen_dom_state *st)
{
	if (st->type == XEN_GUEST_PV)
		return st->xb->max_mfn;
	xen_pfn_t gpfn = 0;
	if (xc_domain_maximum_gpfn(st->xb->xch, (uint32_t)st->domid, &gpfn) < 0)
		return st->max_frame;
	return gpfn;
}

static void *xen_map_one(void *ctx, uint64_t frame, int writable)
{
	struct xen_dom_state *st = ctx;
	xen_pfn_t pfn = (xen_pfn_t)frame;
	int e = 0;
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	void *p = xenforeignmemory_map(st->xb->fmem, (uint32_t)st->domid, prot,
				       1, &pfn, &e);
	if (p && e) {
		xenforeignmemory_unmap(st->xb->fmem, p, 1);
		p = NULL;
	}
	return p;
}

static void xen_unmap_one(void *ctx, void *addr)
{
	struct xen_dom_state *st = ctx;
	xenforeignmemory_unmap(st->xb->fmem, addr, 1);
}

static void xen_drop_multi(struct xen_dom_state *st)
{
	for (size_t i = 0; i < st->nr_multi; i++)
		xenforeignmemory_unmap(st->xb->fmem, st->multi[i].addr,
				       st->multi[i].nr_frames);
	free(st->multi);
	st->multi = NULL;
	st->nr_multi = 0;
}

static void xen_unwatch(struct xen_dom_state *st)
{
	char path[64];
	if (!st->watch_token[0] || !st->xb->xsh)
		return;
	snprintf(path, sizeof path, "/local/domain/%d/control/shutdown", st->domid);
	xs_unwatch(st->xb->xsh, path, st->watch_token);
	st->watch_token[0] = '\0';
	st->watch_fired = 0;
	st->stop_asked = 0;
}

static void xen_state_free(struct xen_dom_state *st)
{
	if (!st)
		return;
	xen_unwatch(st);
	xen_fcache_free(st->cache);
	xen_drop_multi(st);
	free(st);
}

/* Takes in what info says of the domain; a new UUID means a new domain
 * under an old domid: nothing of the old one is kept. */
static void xen_state_update(struct xen_dom_state *st, const xc_domaininfo_t *info)
{
	if (!st->known || memcmp(st->handle, info->handle, sizeof st->handle)) {
		st->known = 1;
		memcpy(st->handle, info->handle, sizeof st->handle);
		xen_fcache_clear(st->cache);
		st->paused_by_us = 0;
		st->type = xen_type_of(info);
		unsigned int width = 8;
		if (st->type == XEN_GUEST_PV &&
		    xc_domain_get_guest_width(st->xb->xch, (uint32_t)st->domid, &width) < 0)
			width = 8;
		st->width = (int)width;
		st->named = 0;
		st->chans_known = 0;
		xen_unwatch(st);
	}
	if (!st->named)
		xen_read_name(st);
	/* pages given back or added (balloon): cached frames may be stale */
	if (st->tot_pages != info->tot_pages) {
		xen_fcache_clear(st->cache);
		st->tot_pages = info->tot_pages;
	}
	st->nr_vcpus = info->max_vcpu_id == XEN_INVALID_MAX_VCPU_ID ? 0 :
		(int)info->max_vcpu_id + 1;
	st->max_frame = xen_max_frame(st);
}

static struct xen_dom_state *xen_state_new(struct xen_backend *xb, int domid,
					   struct xds_err *err)
{
	if (xb->nr_doms == XEN_MAX_DOMS) {
		xds_fail(err, "xen dom %d: more than %d domains", domid, XEN_MAX_DOMS);
		return NULL;
	}
	struct xen_dom_state *st = calloc(1, sizeof *st);
	if (!st) {
		xds_fail(err, "xen dom %d: out of memory", domid);
		return NULL;
	}
	st->xb = xb;
	st->domid = domid;
	struct xen_fcache_ops ops = { st, xen_map_one, xen_unmap_one };
	st->cache = xen_fcache_new(&ops, XEN_CACHE_FRAMES);
	if (!st->cache) {
		free(st);
		xds_fail(err, "xen dom %d: out of memory", domid);
		return NULL;
	}
	xb->doms[xb->nr_doms++] = st;
	return st;
}

static struct xen_dom_state *xen_state_find(struct xen_backend *xb, int domid)
{
	for (int i = 0; i < xb->nr_doms; i++)
		if (xb->doms[i]->domid == domid)
			return xb->doms[i];
	return NULL;
}

/* Out of the lookup at once; its mappings stay until the flush. */
static void xen_state_remove(struct xen_backend *xb, int domid)
{
	for (int i = 0; i < xb->nr_doms; i++)
		if (xb->doms[i]->domid == domid) {
			struct xen_dom_state *st = xb->doms[i];
			xen_unwatch(st);
			st->next_gone = xb->gone;
			xb->gone = st;
			xb->doms[i] = xb->doms[--xb->nr_doms];
			return;
		}
}

static void xen_free_gone(struct xen_backend *xb)
{
	while (xb->gone) {
		struct xen_dom_state *st = xb->gone;
		xb->gone = st->next_gone;
		xen_state_free(st);
	}
}

/* The state of domid, created or refreshed from fresh domain info. */
static struct xen_dom_state *xen_state_fresh(struct xen_backend *xb, int domid,
					     xc_domaininfo_t *info,
					     struct xds_err *err)
{
	if (xen_getinfo(xb, domid, info, err) < 0) {
		xen_state_remove(xb, domid);
		return NULL;
	}
	struct xen_dom_state *st = xen_state_find(xb, domid);
	if (!st && !(st = xen_state_new(xb, domid, err)))
		return NULL;
	xen_state_update(st, info);
	return st;
}

/* The state for a hot path (map, regs): no hypercall when known. */
static struct xen_dom_state *xen_state(struct xen_backend *xb, int domid,
				       struct xds_err *err)
{
	struct xen_dom_state *st = xen_state_find(xb, domid);
	if (st)
		return st;
	xc_domaininfo_t info;
	return xen_state_fresh(xb, domid, &info, err);
}

static int xen_fail_dom(struct xds_err *err, const struct xen_dom_state *st)
{
	return xds_err_wrap(err, "xen dom %d (%s)", st->domid, st->name);
}

/* ---- the backend operations ---- */

static int xen_list(struct backend *be, struct be_dom *out, int max,
		    struct xds_err *err)
{
	struct xen_backend *xb = xbe(be);
	xc_domaininfo_t info[XEN_MAX_DOMS];
	int n = xc_domain_getinfolist(xb->xch, 1, XEN_MAX_DOMS, info);
	if (n < 0)
		return xds_fail(err, "xen: getdomaininfolist: %s", strerror(errno));
	int filled = 0;
	for (int i = 0; i < n && filled < max; i++) {
		if (info[i].domain == 0 || (info[i].flags & XEN_DOMINF_dying))
			continue;
		struct xen_dom_state *st = xen_state_find(xb, info[i].domain);
		if (!st && !(st = xen_state_new(xb, info[i].domain, err)))
			return -1;
		xen_state_update(st, &info[i]);
		struct be_dom *d = &out[filled++];
		memset(d, 0, sizeof *d);
		d->id = st->domid;
		snprintf(d->name, sizeof d->name, "%s", st->name);
		d->nr_vcpus = st->nr_vcpus;
		d->ram_bytes = (st->max_frame + 1) * BE_FRAME_SIZE;
	}
	/* forget domains that no longer exist */
	for (int k = xb->nr_doms - 1; k >= 0; k--) {
		int alive = 0;
		for (int i = 0; i < n; i++)
			alive |= info[i].domain == xb->doms[k]->domid &&
				!(info[i].flags & XEN_DOMINF_dying);
		if (!alive)
			xen_state_remove(xb, xb->doms[k]->domid);
	}
	return filled;
}

static int xen_pause(struct backend *be, int dom, struct xds_err *err)
{
	struct xen_dom_state *st = xen_state(xbe(be), dom, err);
	if (!st)
		return -1;
	if (xc_domain_pause(st->xb->xch, (uint32_t)dom) < 0) {
		xds_fail(err, "xc_domain_pause: %s", strerror(errno));
		return xen_fail_dom(err, st);
	}
	st->paused_by_us++;
	return 0;
}

static int xen_resume(struct backend *be, int dom, struct xds_err *err)
{
	struct xen_dom_state *st = xen_state(xbe(be), dom, err);
	if (!st)
		return -1;
	if (st->paused_by_us == 0) {
		xds_fail(err, "not paused by us: left as it is");
		return xen_fail_dom(err, st);
	}
	if (xc_domain_unpause(st->xb->xch, (uint32_t)dom) < 0) {
		xds_fail(err, "xc_domain_unpause: %s", strerror(errno));
		return xen_fail_dom(err, st);
	}
	st->paused_by_us--;
	return 0;
}

int backend_xen_info(struct backend *be, int dom, struct xen_dom_info *out,
		     struct xds_err *err)
{
	xc_domaininfo_t info;
	struct xen_dom_state *st = xen_state_fresh(xbe(be), dom, &info, err);
	if (!st)
		return -1;
	memset(out, 0, sizeof *out);
	out->domid = dom;
	out->type = st->type;
	out->paused = !!(info.flags & XEN_DOMINF_paused);
	out->paused_by_us = st->paused_by_us;
	out->shutdown = !!(info.flags & XEN_DOMINF_shutdown);
	out->shutdown_reason = (int)((info.flags >> XEN_DOMINF_shutdownshift) &
				     XEN_DOMINF_shutdownmask);
	out->dying = !!(info.flags & XEN_DOMINF_dying);
	memcpy(out->handle, info.handle, sizeof out->handle);
	out->cpu_time_ns = info.cpu_time;
	out->tot_pages = info.tot_pages;
	return 0;
}

static int xen_status(struct backend *be, int dom, int *paused,
		      struct xds_err *err)
{
	struct xen_dom_info di;
	if (backend_xen_info(be, dom, &di, err) < 0)
		return -1;
	*paused = di.paused || di.shutdown || di.dying;
	return 0;
}

static void *xen_map_multi(struct xen_dom_state *st, uint64_t frame,
			   size_t nr_frames, int writable, struct xds_err *err)
{
	struct xen_multi *m = realloc(st->multi, (st->nr_multi + 1) * sizeof *m);
	xen_pfn_t *pfns = calloc(nr_frames, sizeof *pfns);
	int *errs = calloc(nr_frames, sizeof *errs);
	void *p = NULL;
	if (m)
		st->multi = m;
	if (m && pfns && errs) {
		for (size_t i = 0; i < nr_frames; i++)
			pfns[i] = (xen_pfn_t)(frame + i);
		p = xenforeignmemory_map(st->xb->fmem, (uint32_t)st->domid,
					 PROT_READ | (writable ? PROT_WRITE : 0),
					 nr_frames, pfns, errs);
		for (size_t i = 0; p && i < nr_frames; i++)
			if (errs[i]) {
				xenforeignmemory_unmap(st->xb->fmem, p, nr_frames);
				p = NULL;
			}
	}
	free(pfns);
	free(errs);
	if (!p) {
		xds_fail(err, "frames 0x%llx+%zu cannot be mapped",
			 (unsigned long long)frame, nr_frames);
		return NULL;
	}
	st->multi[st->nr_multi++] = (struct xen_multi){ p, nr_frames };
	return p;
}

static void *xen_map(struct backend *be, int dom, uint64_t gfn,
		     size_t nr_frames, int writable, struct xds_err *err)
{
	struct xen_dom_state *st = xen_state(xbe(be), dom, err);
	if (!st)
		return NULL;
	if (nr_frames == 0 || gfn > st->max_frame || nr_frames > st->max_frame - gfn + 1) {
		xds_fail(err, "frames 0x%llx+%zu outside the domain's frames "
			 "(highest 0x%llx)", (unsigned long long)gfn, nr_frames,
			 (unsigned long long)st->max_frame);
		xen_fail_dom(err, st);
		return NULL;
	}
	void *p;
	if (nr_frames > 1) {
		p = xen_map_multi(st, gfn, nr_frames, writable, err);
	} else {
		p = xen_fcache_get(st->cache, gfn, writable);
		if (!p)
			xds_fail(err, "%s frame 0x%llx cannot be mapped%s",
				 st->type == XEN_GUEST_PV ? "machine" : "guest",
				 (unsigned long long)gfn, writable ? " writable" : "");
	}
	if (!p)
		xen_fail_dom(err, st);
	return p;
}

/* The GS base that holds the kernel's per-CPU offset: the one of the two
 * (active, other) that is a kernel address. */
static uint64_t xen_kernel_gs(uint64_t a, uint64_t b)
{
	return (a >> 63) || !(b >> 63) ? a : b;
}

static int xen_regs_pv(struct xen_dom_state *st, int vcpu, struct be_regs *out,
		       struct xds_err *err)
{
	if (st->width != 8)
		return xds_fail(err, "%d-bit PV guests are not supported", st->width * 8);
	vcpu_guest_context_any_t ctx;
	if (xc_vcpu_getcontext(st->xb->xch, (uint32_t)st->domid, (uint32_t)vcpu, &ctx) < 0)
		return xds_fail(err, "xc_vcpu_getcontext(vCPU %d): %s", vcpu,
				strerror(errno));
	const struct vcpu_guest_context_x86_64 *c = &ctx.x64;
	const struct cpu_user_regs_x86_64 *r = &c->user_regs;
	out->valid = !!(c->flags & VGCF_online);
	out->rip = r->rip;
	out->rsp = r->rsp;
	out->rflags = r->rflags;
	out->rax = r->rax;
	out->rbx = r->rbx;
	out->rcx = r->rcx;
	out->rdx = r->rdx;
	out->rsi = r->rsi;
	out->rdi = r->rdi;
	out->rbp = r->rbp;
	out->cs = r->cs;
	out->ss = r->ss;
	/* a PV guest always runs paged, in long mode, on 4-level tables */
	out->cr0 = c->ctrlreg[0] | XEN_CR0_PG | XEN_CR0_PE;
	out->cr2 = c->ctrlreg[2];
	out->cr3 = c->ctrlreg[3];
	out->cr3_exact = 1;
	out->cr4 = c->ctrlreg[4] & ~XEN_CR4_LA57;
	out->efer = XEN_EFER_LME | XEN_EFER_LMA;
	out->lma = 1;
	out->fs_base = c->fs_base;
	out->gs_base = xen_kernel_gs(c->gs_base_kernel, c->gs_base_user);
	out->cpl = (c->flags & VGCF_in_kernel) ? 0 : 3;
	return 0;
}

static int xen_regs_hvm(struct xen_dom_state *st, int vcpu, struct be_regs *out,
			struct xds_err *err)
{
	struct hvm_hw_cpu c;
	if (xc_domain_hvm_getcontext_partial(st->xb->xch, (uint32_t)st->domid,
					     HVM_SAVE_CODE(CPU), (uint16_t)vcpu,
					     &c, sizeof c) < 0)
		return xds_fail(err, "HVM CPU context of vCPU %d: %s", vcpu,
				strerror(errno));
	out->valid = 1;
	out->rip = c.rip;
	out->rsp = c.rsp;
	out->rflags = c.rflags;
	out->rax = c.rax;
	out->rbx = c.rbx;
	out->rcx = c.rcx;
	out->rdx = c.rdx;
	out->rsi = c.rsi;
	out->rdi = c.rdi;
	out->rbp = c.rbp;
	out->cs = c.cs_sel;
	out->ss = c.ss_sel;
	out->cr0 = c.cr0;
	out->cr2 = c.cr2;
	out->cr3 = c.cr3;
	out->cr4 = c.cr4;
	out->efer = c.msr_efer;
	out->lma = !!(c.msr_efer & XEN_EFER_LMA);
	out->fs_base = c.fs_base;
	out->gs_base = xen_kernel_gs(c.gs_base, c.shadow_gs);
	out->cpl = (int)((c.ss_arbytes >> 5) & 3);   /* SS.DPL is the CPL */
	return 0;
}

static int xen_regs(struct backend *be, int dom, int vcpu, struct be_regs *out,
		    struct xds_err *err)
{
	struct xen_dom_state *st = xen_state(xbe(be), dom, err);
	if (!st)
		return -1;
	if (vcpu < 0 || vcpu >= st->nr_vcpus) {
		xds_fail(err, "no vCPU %d (%d vCPUs)", vcpu, st->nr_vcpus);
		return xen_fail_dom(err, st);
	}
	memset(out, 0, sizeof *out);
	out->cpu = vcpu;
	int rc = st->type == XEN_GUEST_PV ? xen_regs_pv(st, vcpu, out, err) :
		xen_regs_hvm(st, vcpu, out, err);
	if (rc == 0) {
		xc_vcpuinfo_t vi;
		if (xc_vcpu_getinfo(st->xb->xch, (uint32_t)dom, (uint32_t)vcpu, &vi) == 0)
			out->hlt = vi.blocked;
		return 0;
	}
	return xen_fail_dom(err, st);
}

static int xen_nr_vcpus(struct backend *be, int dom, struct xds_err *err)
{
	struct xen_dom_state *st = xen_state(xbe(be), dom, err);
	return st ? st->nr_vcpus : -1;
}

void backend_xen_invalidate(struct backend *be, int dom)
{
	struct xen_dom_state *st = xen_state_find(xbe(be), dom);
	if (st)
		xen_fcache_clear(st->cache);
}

static void xen_flush(struct backend *be)
{
	struct xen_backend *xb = xbe(be);
	for (int i = 0; i < xb->nr_doms; i++) {
		xen_fcache_trim(xb->doms[i]->cache);
		xen_drop_multi(xb->doms[i]);
	}
	xen_free_gone(xb);
}

void backend_xen_cache_stats(struct backend *be, int dom,
			     struct xen_fcache_stats *out)
{
	struct xen_dom_state *st = xen_state_find(xbe(be), dom);
	if (st)
		xen_fcache_get_stats(st->cache, out);
	else
		memset(out, 0, sizeof *out);
}

/* ---- requests to stop ---- */

/* Takes in every watch event waiting: each after a watch's first (which
 * xenstored sends when the watch is set) is a request to its domain. */
static void xen_drain_watches(struct xen_backend *xb)
{
	char **ev;
	while ((ev = xs_check_watch(xb->xsh)) != NULL) {
		for (int i = 0; i < xb->nr_doms; i++) {
			struct xen_dom_state *st = xb->doms[i];
			if (!st->watch_token[0] || strcmp(ev[XS_WATCH_TOKEN], st->watch_token))
				continue;
			if (st->watch_fired++ > 0)
				st->stop_asked = 1;
		}
		free(ev);
	}
}

/*
 * The toolstack asks a guest to shut down, reboot or suspend (xl shutdown,
 * reboot, save, migrate) by writing control/shutdown, which the guest
 * clears when it takes the request in: any write after the watch is set
 * counts, as the value may be gone by the time we read it.  The guest can
 * write there too; it can only make us give its own tasks back.
 */
static int xen_stop_asked(struct backend *be, int dom, struct xds_err *err)
{
	struct xen_backend *xb = xbe(be);
	struct xen_dom_state *st = xen_state_find(xb, dom);
	if (!st || !xb->xsh)
		return 0;
	if (!st->watch_token[0]) {
		char path[64];
		snprintf(path, sizeof path, "/local/domain/%d/control/shutdown", dom);
		snprintf(st->watch_token, sizeof st->watch_token, "xds-stop-%u", ++xb->watch_serial);
		st->watch_fired = 0;
		if (!xs_watch(xb->xsh, path, st->watch_token)) {
			st->watch_token[0] = '\0';
			return xds_fail(err, "xen dom %d: cannot watch %s: %s", dom, path, strerror(errno));
		}
	}
	xen_drain_watches(xb);
	int asked = st->stop_asked;
	st->stop_asked = 0;
	return asked;
}

/* ---- kicks ---- */

/* A port number this domain's xenstore entry KEY holds (store/port ...). */
static int xen_read_port(struct xen_dom_state *st, const char *key, evtchn_port_t *out)
{
	char path[96];
	unsigned int len = 0;
	snprintf(path, sizeof path, "/local/domain/%d/%s", st->domid, key);
	char *v = st->xb->xsh ? xs_read(st->xb->xsh, XBT_NULL, path, &len) : NULL;
	char *end = NULL;
	unsigned long port = v && len ? strtoul(v, &end, 10) : 0;
	int ok = v && len && end == v + len && port > 0 && port < XEN_MAX_DOM0_PORTS;
	free(v);
	if (ok)
		*out = (evtchn_port_t)port;
	return ok ? 0 : -1;
}

static int xen_chan_status(struct xen_backend *xb, domid_t dom, evtchn_port_t port,
			   xc_evtchn_status_t *s)
{
	memset(s, 0, sizeof *s);
	s->dom = dom;
	s->port = port;
	return xc_evtchn_status(xb->xch, s);
}

/* dom0's ports that are connected to the domain's xenstore and console
 * ports: the scan stops where dom0's ports end (status says EINVAL). */
static void xen_find_chans(struct xen_dom_state *st)
{
	evtchn_port_t want[XEN_KICK_CHANS];
	int nw = 0;
	st->chans_known = 1;
	st->nr_chans = 0;
	if (xen_read_port(st, "store/port", &want[nw]) == 0)
		nw++;
	if (xen_read_port(st, "console/port", &want[nw]) == 0)
		nw++;
	evtchn_port_t found[XEN_KICK_CHANS] = {0};
	int nf = 0;
	for (evtchn_port_t p = 1; p < XEN_MAX_DOM0_PORTS && nf < nw; p++) {
		xc_evtchn_status_t s;
		if (xen_chan_status(st->xb, DOMID_SELF, p, &s) < 0)
			break;
		if (s.status != EVTCHNSTAT_interdomain || s.u.interdomain.dom != st->domid)
			continue;
		for (int i = 0; i < nw; i++)
			if (!found[i] && s.u.interdomain.port == want[i]) {
				found[i] = p;
				nf++;
			}
	}
	for (int i = 0; i < nw; i++)
		if (found[i]) {
			st->chan[st->nr_chans].local = found[i];
			st->chan[st->nr_chans++].remote = want[i];
		}
}

/*
 * A vCPU of a Xen guest that idles waits in the hypervisor for an event;
 * only the guest's own CPUs can send it an IPI.  What dom0 can send is an
 * event on a channel it shares with the guest: the toolstack's xenstore
 * and console channels, whose protocols take a notification with nothing
 * new in the ring as spurious (the guest's driver looks at the ring and
 * finds nothing to do).  The channel must still connect dom0's port to
 * this domain's (ports are reused) and notify the wanted vCPU; a guest
 * binds them to vCPU 0 unless it moved their interrupts.  The port
 * numbers come from the guest's xenstore entries, which a guest may be
 * able to write: a lie only makes us notify another of that same guest's
 * channels to dom0, since both ends are checked.
 */
static int xen_kick(struct backend *be, int dom, int vcpu, struct xds_err *err)
{
	struct xen_backend *xb = xbe(be);
	struct xen_dom_state *st = xen_state_find(xb, dom);
	if (!st || !xb->xcall || !xb->send)
		return 1;
	if (st->chans_known && !st->nr_chans && time(NULL) - st->chans_looked >= XEN_KICK_RELOOK_S)
		st->chans_known = 0;    /* none yet (a guest still booting?): look again */
	if (!st->chans_known) {
		xen_find_chans(st);
		st->chans_looked = time(NULL);
	}
	for (int i = 0; i < st->nr_chans; i++) {
		xc_evtchn_status_t l, r;
		if (xen_chan_status(xb, DOMID_SELF, st->chan[i].local, &l) < 0 ||
		    l.status != EVTCHNSTAT_interdomain || l.u.interdomain.dom != dom ||
		    l.u.interdomain.port != st->chan[i].remote) {
			st->chans_known = 0;    /* closed or reused: look again next time */
			continue;
		}
		if (xen_chan_status(xb, (domid_t)dom, st->chan[i].remote, &r) < 0 ||
		    r.status != EVTCHNSTAT_interdomain || (int)r.vcpu != vcpu)
			continue;
		xb->send->port = st->chan[i].local;
		if (xencall2(xb->xcall, __HYPERVISOR_event_channel_op, EVTCHNOP_send,
			     (uint64_t)(uintptr_t)xb->send) < 0)
			return xds_fail(err, "xen dom %d: EVTCHNOP_send on dom0's port %u: %s", dom,
					(unsigned)st->chan[i].local, strerror(errno));
		return 0;
	}
	return 1;
}

static void xen_close(struct backend *be)
{
	struct xen_backend *xb = xbe(be);
	if (xb->send)
		xencall_free_buffer(xb->xcall, xb->send);
	if (xb->xcall)
		xencall_close(xb->xcall);
	for (int i = 0; i < xb->nr_doms; i++)
		xen_state_free(xb->doms[i]);
	xen_free_gone(xb);
	if (xb->fmem)
		xenforeignmemory_close(xb->fmem);
	xs_close(xb->xsh);
	if (xb->xch)
		xc_interface_close(xb->xch);
	free(xb);
}

static const struct backend_ops xen_ops = {
	.name = "xen",
	.list = xen_list,
	.pause = xen_pause,
	.resume = xen_resume,
	.status = xen_status,
	.map = xen_map,
	.flush = xen_flush,
	.regs = xen_regs,
	.nr_vcpus = xen_nr_vcpus,
	.kick = xen_kick,
	.stop_asked = xen_stop_asked,
	.close = xen_close,
};

static int xen_open(struct xen_backend *xb, struct xds_err *err)
{
	if (access(XEN_PRIVCMD, R_OK | W_OK) < 0)
		return xds_fail(err, "xen: %s: %s (not a Xen dom0, or the "
				"xen-privcmd module and xenfs are not loaded)",
				XEN_PRIVCMD, strerror(errno));
	xb->xch = xc_interface_open(&xen_quiet_logger, &xen_quiet_logger, 0);
	if (!xb->xch)
		return xds_fail(err, "xen: xc_interface_open: %s", strerror(errno));
	xb->fmem = xenforeignmemory_open(&xen_quiet_logger, 0);
	if (!xb->fmem)
		return xds_fail(err, "xen: xenforeignmemory_open: %s", strerror(errno));
	unsigned long max_mfn = 0;
	if (xc_maximum_ram_page(xb->xch, &max_mfn) < 0)
		return xds_fail(err, "xen: xc_maximum_ram_page: %s", strerror(errno));
	xb->max_mfn = max_mfn;
	xb->xsh = xs_open(XS_OPEN_READONLY);     /* optional: names, kicks */
	/* optional: kicks (XDS_XEN_NO_KICK=1 turns them off, to measure them) */
	const char *nokick = getenv("XDS_XEN_NO_KICK");
	if (!nokick || !*nokick || !strcmp(nokick, "0"))
		xb->xcall = xencall_open(&xen_quiet_logger, 0);
	if (xb->xcall)
		xb->send = xencall_alloc_buffer(xb->xcall, sizeof *xb->send);
	return 0;
}

struct backend *backend_xen_new(struct xds_err *err)
{
	struct xen_backend *xb = calloc(1, sizeof *xb);
	if (!xb) {
		xds_fail(err, "xen: out of memory");
		return NULL;
	}
	xb->be.ops = &xen_ops;
	if (xen_open(xb, err) < 0) {
		xen_close(&xb->be);
		return NULL;
	}
	return &xb->be;
}

#endif /* XDS_HAVE_XEN */
