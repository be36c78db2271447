/*
 * guest.c - the host's guest slots and what a guest is to the layers
 * above: its name, generation, snapshot, kernel, and its pauses.
 *
 * A slot is filled by a kind (host_put_guest) and emptied by it or at the
 * end (host_drop_guest): an emptied slot stays, marked gone, and is
 * reused with its generation bumped, so that no other guest's index
 * moves.  The host's core (host.c) and every kind call here; this file
 * calls no kind.
 */
#include <stdlib.h>
#include <string.h>

#include "host/host_int.h"

void host_drop_guest(struct xds_guest *g, const char *why)
{
	lx_snapshot_free(&g->snap);
	lx_snapshot_free(&g->fixed);
	lx_detach(g->lx);
	g->lx = NULL;
	g->be = NULL;
	g->gone = true;
	snprintf(g->error, sizeof g->error, "%s", why);
}

struct xds_guest *xds_host_find(struct xds_host *h, const char *name, int *index)
{
	for (int i = 0; i < h->nr_guests; i++)
		if (!h->guests[i].gone && !strcmp(h->guests[i].name, name)) {
			if (index)
				*index = i;
			return &h->guests[i];
		}
	return NULL;
}

bool host_uses_backend(const struct xds_host *h, const struct backend *be)
{
	for (int i = 0; i < h->nr_guests; i++)
		if (!h->guests[i].gone && h->guests[i].be == be)
			return true;
	return false;
}

struct xds_guest *host_put_guest(struct xds_host *h, const struct host_kind *kind,
				 const char *name, struct backend *be, int dom,
				 struct lx_guest *lx, const char *spec, struct xds_err *err)
{
	if (xds_host_find(h, name, NULL)) {
		xds_fail(err, "%s: a guest of that name is already attached", name);
		return NULL;
	}
	if (strlen(name) >= XDS_MAX_GUEST_NAME) {
		xds_fail(err, "%.64s...: a guest name is at most %d bytes", name, XDS_MAX_GUEST_NAME - 1);
		return NULL;
	}
	struct xds_guest *g = NULL;
	for (int i = 0; i < h->nr_guests && !g; i++)
		if (h->guests[i].gone)
			g = &h->guests[i];
	if (!g && h->nr_guests == XDS_MAX_GUESTS) {
		xds_fail(err, "%s: more than %d guests", name, XDS_MAX_GUESTS);
		return NULL;
	}
	uint32_t gen = g ? g->gen + 1 : 0;
	if (!g)
		g = &h->guests[h->nr_guests++];
	memset(g, 0, sizeof *g);
	g->gen = gen;
	g->kind = kind;
	snprintf(g->name, sizeof g->name, "%s", name);
	snprintf(g->spec, sizeof g->spec, "%s", spec ? spec : "");
	g->be = be;
	g->dom = dom;
	g->lx = lx;
	return g;
}

/* ---- guests ---- */

int xds_host_nr_guests(const struct xds_host *h)
{
	return h->nr_guests;
}

struct xds_guest *xds_host_guest(const struct xds_host *h, int i)
{
	return i >= 0 && i < h->nr_guests ? (struct xds_guest *)&h->guests[i] : NULL;
}

const char *xds_guest_name(const struct xds_guest *g)
{
	return g->name;
}

bool xds_guest_gone(const struct xds_guest *g)
{
	return g->gone;
}

uint32_t xds_guest_gen(const struct xds_guest *g)
{
	return g->gen;
}

const struct lx_snapshot *xds_guest_snapshot(const struct xds_guest *g)
{
	return &g->snap;
}

const char *xds_guest_error(const struct xds_guest *g)
{
	return g->error;
}

struct lx_guest *xds_guest_lx(struct xds_guest *g)
{
	return g->gone ? NULL : g->lx;
}

int xds_guest_vcpus(const struct xds_guest *g)
{
	return g->lx && !g->gone ? lx_nr_cpus(g->lx) : g->snap.nr_cpus;
}

uint64_t xds_guest_slide(const struct xds_guest *g)
{
	return g->lx && !g->gone ? lx_slide(g->lx) : 0;
}

const char *xds_guest_banner(const struct xds_guest *g)
{
	return g->lx && !g->gone ? lx_banner(g->lx) : "";
}

const char *xds_guest_profile_source(const struct xds_guest *g)
{
	return g->lx && !g->gone ? lx_profile_source(g->lx) : "";
}

const char *xds_guest_family(const struct xds_guest *g, bool *writes)
{
	const char *family = "";
	bool w = g->lx && !g->gone && lx_can_write(g->lx, &family);
	if (writes)
		*writes = w;
	return family;
}

const char *xds_guest_spec(const struct xds_guest *g)
{
	return g->spec;
}

int xds_guest_pause(struct xds_guest *g, bool *was_paused, struct xds_err *err)
{
	int paused = 0;
	if (!g->be)
		return xds_fail(err, "%s: no domain to pause", g->name);
	if (be_pause_unless_paused(g->be, g->dom, &paused, err)) {
		if (g->kind->lost && g->kind->lost(g))
			return xds_fail(err, "%s: %s", g->name, g->error);
		return -1;
	}
	*was_paused = paused;
	if (g->kind->paused && g->kind->paused(g, err)) {
		if (!paused)
			be_resume(g->be, g->dom, NULL);
		return -1;
	}
	return 0;
}

int xds_guest_resume(struct xds_guest *g, struct xds_err *err)
{
	if (!g->be)
		return xds_fail(err, "%s: no domain to resume", g->name);
	return be_resume(g->be, g->dom, err);
}

int xds_guest_stop_asked(struct xds_guest *g, struct xds_err *err)
{
	int rc = g->be && !g->gone ? be_stop_asked(g->be, g->dom, err) : 0;
	if (rc < 0 && g->kind->lost && g->kind->lost(g))
		return 0;               /* gone: dropped, said once by its kind */
	return rc;
}

