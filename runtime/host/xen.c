/*
 * host_xen.c - the domUs of our Xen host as guests of struct xds_host
 * (see host_xen.h).
 *
 * One xen backend serves every Xen guest: it is found through the guests
 * already attached (their be is the xen backend) or opened anew.  Each
 * domU not yet attached is tried against every *.profile of the profile
 * directory in name order: lx_attach locates the profile's linux_banner
 * (with the KASLR slide search) in the guest, so the first profile whose
 * banner is found is the guest's kernel.  A domain no profile fits is
 * reported on stderr once per reason and tried again on the next rescan,
 * since a booting kernel fits only once it is up.  Guests whose domain left the
 * list are detached and removed.  Leaves to others: when to rescan (the
 * tick loop), freezing and the journal (a dropped guest's entries are the
 * journal's to drop).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/xen.h"
#include "sched/host.h"

struct xen_profiles {
	struct profile *p;
	int n;
	const char *dir;
};

/*
 * Each message is printed once per process: a domain left alone is tried
 * again on every rescan and would otherwise repeat its reason each tick.
 * The table of printed messages (by hash) is the one piece of state this
 * file keeps outside struct xds_host: it belongs to our stderr.
 */
static void xen_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void xen_note(const char *fmt, ...)
{
	static uint32_t printed[256];
	static unsigned next;
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	uint32_t h = 2166136261u;
	for (const char *p = msg; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h |= 1u;
	for (unsigned i = 0; i < 256; i++)
		if (printed[i] == h)
			return;
	printed[next++ % 256] = h;
	fprintf(stderr, "xds-lua: xen: %s\n", msg);
}

static int xen_is_profile_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 8 && !strcmp(d->d_name + n - 8, ".profile");
}

/* Every *.profile of dir that loads; one that does not is reported. */
static int xen_load_profiles(const char *dir, struct xen_profiles *ps,
			     struct xds_err *err)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, xen_is_profile_name, alphasort);
	memset(ps, 0, sizeof *ps);
	ps->dir = dir;
	if (n < 0)
		return xds_fail(err, "xen: profile directory %s: %s", dir,
				strerror(errno));
	ps->p = calloc(n ? (size_t)n : 1, sizeof *ps->p);
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct xds_err e;
		if (ps->p && !xds_format(&e, path, sizeof path, "%s/%s", dir,
					 names[i]->d_name) &&
		    profile_load(path, &ps->p[ps->n], &e) == 0)
			ps->n++;
		else if (ps->p)
			xen_note("profile %s/%s skipped: %s", dir,
				 names[i]->d_name, e.msg);
		free(names[i]);
	}
	free(names);
	if (!ps->p)
		return xds_fail(err, "xen: out of memory");
	return 0;
}

static struct backend *xen_backend_of(struct xds_host *h)
{
	for (int i = 0; i < h->nr_guests; i++)
		if (h->guests[i].be && !strcmp(h->guests[i].be->ops->name, "xen"))
			return h->guests[i].be;
	return NULL;
}

static int xen_guest_index(struct xds_host *h, struct backend *be, int dom)
{
	for (int i = 0; i < h->nr_guests; i++)
		if (h->guests[i].be == be && h->guests[i].dom == dom)
			return i;
	return -1;
}

static int xen_count(struct xds_host *h, struct backend *be)
{
	int n = 0;
	for (int i = 0; i < h->nr_guests; i++)
		n += h->guests[i].be == be;
	return n;
}

/* The slot stays, marked gone, so that no other guest's index moves. */
static void xen_drop_guest(struct xds_host *h, int i)
{
	struct xds_guest *g = &h->guests[i];
	lx_snapshot_free(&g->snap);
	lx_detach(g->lx);
	g->lx = NULL;
	g->be = NULL;
	g->gone = true;
	snprintf(g->error, sizeof g->error, "domain %d is gone", g->dom);
}

static void xen_left_alone(const struct be_dom *d, const char *reason)
{
	xen_note("dom %d (%s) left alone: %s", d->id, d->name, reason);
}

/* Why a domain cannot be tried now (gone, or shut down), or NULL. */
static const char *xen_unfit(struct backend *be, const struct be_dom *d,
			     char *buf, size_t n)
{
	struct xen_dom_info di;
	struct xds_err e;
	if (backend_xen_info(be, d->id, &di, &e) < 0) {
		snprintf(buf, n, "%s", e.msg);
		return buf;
	}
	if (di.shutdown) {
		snprintf(buf, n, "shut down (reason %d)", di.shutdown_reason);
		return buf;
	}
	return NULL;
}

static void xen_put_guest(struct xds_host *h, struct backend *be,
			  const struct be_dom *d, struct lx_guest *lx)
{
	struct xds_guest *g = NULL;
	for (int i = 0; i < h->nr_guests && !g; i++)
		if (h->guests[i].gone)
			g = &h->guests[i];
	uint32_t gen = g ? g->gen + 1 : 0;
	if (!g)
		g = &h->guests[h->nr_guests++];
	memset(g, 0, sizeof *g);
	g->gen = gen;
	snprintf(g->name, sizeof g->name, "%s", d->name);
	snprintf(g->spec, sizeof g->spec, "xen");       /* found again by name */
	g->be = be;
	g->dom = d->id;
	g->lx = lx;
}

/*
 * Tries every profile on domain d.  1 attached, 0 left alone (reason in
 * why).  A profile whose banner is not in the guest says so in its error;
 * any other error (paging off while the kernel boots, an unreadable
 * table) is the more telling reason and is kept.
 */
static int xen_try_attach(struct xds_host *h, struct backend *be,
			  const struct be_dom *d, const struct xen_profiles *ps,
			  char *why, size_t n)
{
	if (xds_host_guest(h, d->name)) {
		snprintf(why, n, "a guest named %s is already attached", d->name);
		return 0;
	}
	bool slot = h->nr_guests < XDS_MAX_GUESTS;
	for (int i = 0; i < h->nr_guests && !slot; i++)
		slot = h->guests[i].gone;
	if (!slot) {
		snprintf(why, n, "more than %d guests", XDS_MAX_GUESTS);
		return 0;
	}
	if (xen_unfit(be, d, why, n))
		return 0;
	snprintf(why, n, "no profile in %s matches its kernel's banner "
		 "(%d tried)", ps->dir, ps->n);
	int other = 0;
	for (int i = 0; i < ps->n; i++) {
		struct xds_err e;
		struct lx_guest *lx = lx_attach(be, d->id, &ps->p[i], &e);
		if (lx) {
			xen_put_guest(h, be, d, lx);
			return 1;
		}
		if (!other && !strstr(e.msg, "does not run the kernel of profile")) {
			snprintf(why, n, "%s", e.msg);
			other = 1;
		}
	}
	return 0;
}

/* Drops the guests of be whose domain is not in doms[0..n). */
static int xen_drop_gone(struct xds_host *h, struct backend *be,
			 const struct be_dom *doms, int n)
{
	int dropped = 0;
	for (int i = h->nr_guests - 1; i >= 0; i--) {
		if (h->guests[i].be != be || h->guests[i].gone)
			continue;
		int alive = 0;
		for (int k = 0; k < n; k++)
			alive |= doms[k].id == h->guests[i].dom;
		if (alive)
			continue;
		fprintf(stderr, "xds-lua: xen: dom %d (%s) is gone: dropped\n",
			h->guests[i].dom, h->guests[i].name);
		xen_drop_guest(h, i);
		dropped++;
	}
	return dropped;
}

static int xen_scan(struct xds_host *h, struct backend *be,
		    const struct xen_profiles *ps, int *changed,
		    struct xds_err *err)
{
	struct be_dom doms[XDS_MAX_GUESTS];
	int n = be_list(be, doms, XDS_MAX_GUESTS, err);
	if (n < 0)
		return -1;
	int delta = xen_drop_gone(h, be, doms, n);
	for (int k = 0; k < n; k++) {
		char why[512];
		if (xen_guest_index(h, be, doms[k].id) >= 0)
			continue;
		if (xen_try_attach(h, be, &doms[k], ps, why, sizeof why)) {
			fprintf(stderr, "xds-lua: xen: dom %d (%s) attached\n",
				doms[k].id, doms[k].name);
			delta++;
		} else {
			xen_left_alone(&doms[k], why);
		}
	}
	if (changed)
		*changed = delta > 0;
	return 0;
}

int xds_host_xen_rescan(struct xds_host *h, const char *profile_dir,
			int *changed, struct xds_err *err)
{
	struct xen_profiles ps;
	const char *dir = profile_dir ? profile_dir : XDS_XEN_PROFILE_DIR;
	if (changed)
		*changed = 0;
	if (xen_load_profiles(dir, &ps, err) < 0)
		return -1;
	struct backend *be = xen_backend_of(h);
	if (!be)
		be = backend_xen_new(err);
	int rc = be ? xen_scan(h, be, &ps, changed, err) : -1;
	free(ps.p);
	if (!be)
		return -1;
	int count = xen_count(h, be);
	if (count == 0)
		be_close(be);           /* no guest holds it: nothing to keep */
	return rc < 0 ? -1 : count;
}

int xds_host_attach_xen(struct xds_host *h, const char *profile_dir,
			struct xds_err *err)
{
	return xds_host_xen_rescan(h, profile_dir, NULL, err);
}
